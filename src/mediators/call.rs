//! `<call>`: sends the message to its endpoint and goes on with the response as the current
//! message. A timeout whose endpoint says `responseAction=discard` ends the flow without a fault
//! handler (the client gets the timeout answer).

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, ErrorKind, Result};
use crate::message::{EpId, MessageContext};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;

#[derive(Debug, Clone)]
pub struct Call {
    pub endpoint: Option<EpId>,
    /// MI 4.4's `<source>`/`<target>` form, which mint does not run yet (warned at deployment):
    /// where it was written, for the fault it raises.
    pub source_or_target: Option<Origin>,
}

impl Mediate for Call {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        if el
            .elements()
            .any(|e| is_synapse(e, "source") || is_synapse(e, "target"))
        {
            // Not read further: nothing of it is compiled until mint runs this form.
            c.warn(
                at,
                "mediator <call> with <source> or <target> is not supported yet",
            );
            return Some(Call {
                endpoint: None,
                source_or_target: Some(at.clone()),
            });
        }
        // `blocking` changes how WSO2 waits for the response, not what the flow sees.
        c.reader(&at.file).bool_attr(el, "blocking", false);
        Some(Call {
            endpoint: super::send::endpoint_child(c, el, at),
            source_or_target: None,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        if let Some(origin) = &self.source_or_target {
            return Err(Error::mediation(format!(
                "mediator 'call' ({origin}) is not supported by mint yet"
            )));
        }
        match rt.call(ctx, self.endpoint).await {
            Ok(()) => Ok(Flow::Continue),
            Err(e) if e.is_discarded() => {
                ctx.fault = Some((ErrorKind::Timeout, 101504, e.to_string()));
                Ok(Flow::Stop)
            }
            Err(e) => Err(e),
        }
    }
}
