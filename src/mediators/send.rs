//! `<send>`: delivers the message to its endpoint (a proxy's target endpoint when it names none,
//! else the `To` address) and ends the flow; the response runs `receive` or the out sequence. In
//! the out-flow, a `send` without an endpoint sends the response back to the client.
//!
//! In the in-flow, as Synapse's non-blocking send with its control properties:
//! - `OUT_ONLY` (true): the message goes to the backend and nobody waits for an answer; the
//!   client gets 202 at once;
//! - `FORCE_SC_ACCEPTED` (axis2, true): the client gets 202 at once, and the exchange with the
//!   backend and its response's sequence run on after it (their answer goes nowhere).

use super::{Compile, Detached, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::{EpId, MessageContext};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;

#[derive(Debug, Clone)]
pub struct Send {
    pub endpoint: Option<EpId>,
    /// `receive="seqKey"` (or `receive="{expression}"`, evaluated when the message is sent, as
    /// Synapse's SendMediator does): where the response goes instead of the out sequence.
    pub receive: Option<Box<super::sequence::Sequence>>,
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
        let receive = match el.attr("receive").map(str::trim) {
            Some(key) if key.starts_with('{') && key.ends_with('}') => {
                let v = super::dynamic_value(c, key, el, at);
                Some(Box::new(super::sequence::Sequence::Computed(Box::new(v))))
            }
            Some(key) => c
                .sequence_key(key, at)
                .map(|id| Box::new(super::sequence::Sequence::Named(id))),
            None => None,
        };
        Some(Send { endpoint, receive })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        if ctx.is_response && self.endpoint.is_none() {
            ctx.responded = true;
            return Ok(Flow::Stop);
        }
        let receive = match self.receive.as_deref() {
            None => None,
            Some(super::sequence::Sequence::Named(id)) => Some(*id),
            // Boxed, with everything after it, and built outside this frame: nested sends'
            // frames stay as small as before.
            Some(super::sequence::Sequence::Computed(key)) => {
                return self.receiving(rt, ctx, key).await;
            }
        };
        // A proxy's `<send/>` without an endpoint goes to the proxy's target endpoint.
        let endpoint = endpoint_of(self, ctx);
        if let Some(job) = detached_job(ctx, endpoint, receive) {
            // Boxed: this future sits in every nested send's frame otherwise.
            Box::pin(detach(rt, ctx, job)).await?;
            // The client's answer: 202 (nothing responded).
            return Ok(Flow::Stop);
        }
        rt.send(ctx, endpoint, receive).await;
        Ok(Flow::Stop)
    }
}

/// The work left running after the flow when `OUT_ONLY` (the backend only) or
/// `FORCE_SC_ACCEPTED` (the exchange and the response's sequence) is set in the in-flow; `None`
/// for a plain send.
fn detached_job(
    ctx: &MessageContext,
    endpoint: Option<EpId>,
    receive: Option<crate::message::SeqId>,
) -> Option<Detached> {
    if ctx.is_response || !ctx.controls {
        return None;
    }
    if ctx.prop_true("OUT_ONLY") {
        return Some(Detached::Call { endpoint });
    }
    ctx.axis2_true("FORCE_SC_ACCEPTED")
        .then_some(Detached::Send { endpoint, receive })
}

/// The endpoint a `send` goes to: its own, else (in the in-flow) the proxy's target endpoint.
fn endpoint_of(send: &Send, ctx: &MessageContext) -> Option<EpId> {
    send.endpoint.or(if ctx.is_response {
        None
    } else {
        ctx.target_endpoint
    })
}

impl Send {
    #[inline(never)]
    fn receiving<'a>(
        &'a self,
        rt: &'a impl Runtime,
        ctx: &'a mut MessageContext,
        key: &'a crate::message::Value,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Flow>> + 'a>> {
        let endpoint = endpoint_of(self, ctx);
        Box::pin(self.send_receiving(rt, ctx, endpoint, key))
    }

    /// `receive="{expression}"`: the sequence named for this message, then the send.
    async fn send_receiving(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        endpoint: Option<EpId>,
        key: &crate::message::Value,
    ) -> Result<Flow> {
        let receive = Some(super::sequence::named(rt, ctx, key).await?);
        if let Some(job) = detached_job(ctx, endpoint, receive) {
            detach(rt, ctx, job).await?;
            return Ok(Flow::Stop);
        }
        rt.send(ctx, endpoint, receive).await;
        Ok(Flow::Stop)
    }
}

/// A copy of the message for work left running after the flow: the whole body, the headers,
/// properties and fault handlers; the client's connection stays with the original.
pub(super) async fn detached_copy(ctx: &mut MessageContext) -> Result<MessageContext> {
    let body = ctx.body_bytes().await?;
    let mut copy = ctx.fork(body, ctx.body_type);
    copy.body_replaced = ctx.body_replaced;
    copy.payload_only = ctx.payload_only;
    Ok(copy)
}

/// Leaves `job` running on a copy of the message.
pub(super) async fn detach(
    rt: &impl Runtime,
    ctx: &mut MessageContext,
    job: Detached,
) -> Result<()> {
    let copy = detached_copy(ctx).await?;
    rt.detach(copy, job).await;
    Ok(())
}
