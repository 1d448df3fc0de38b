//! `<send>`: delivers the message to its endpoint (a proxy's target endpoint when it names none,
//! else the `To` address) and ends the flow; the response runs `receive` or the out sequence. In
//! the out-flow, a `send` without an endpoint sends the response back to the client.

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::{EpId, MessageContext, SeqId};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;

#[derive(Debug, Clone)]
pub struct Send {
    pub endpoint: Option<EpId>,
    /// `receive="seqKey"`: where the response goes instead of the out sequence.
    pub receive: Option<SeqId>,
}

/// The one `<endpoint>` child of send/call, compiled (an extra one is an error).
pub(super) fn endpoint_child(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<EpId> {
    let mut endpoints = el.elements().filter(|e| is_synapse(e, "endpoint"));
    let first = endpoints.next()?;
    if let Some(extra) = endpoints.next() {
        c.error(
            &super::at(extra, at),
            format!("<{}> may have only one <endpoint>", el.local),
        );
    }
    c.endpoint(first, &super::at(first, at))
}

impl Mediate for Send {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let endpoint = endpoint_child(c, el, at);
        let receive = el.attr("receive").and_then(|k| c.sequence_key(k, at));
        Some(Send { endpoint, receive })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        if ctx.is_response && self.endpoint.is_none() {
            ctx.responded = true;
            return Ok(Flow::Stop);
        }
        // A proxy's `<send/>` without an endpoint goes to the proxy's target endpoint.
        let endpoint = self.endpoint.or(if ctx.is_response {
            None
        } else {
            ctx.target_endpoint
        });
        rt.send(ctx, endpoint, self.receive).await;
        Ok(Flow::Stop)
    }
}
