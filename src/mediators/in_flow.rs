//! `<in>`: runs its children when the message is a request (the legacy, main-sequence style of
//! Synapse configurations: `<in>…</in><out>…</out>`); on a response it does nothing.

use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::MessageContext;
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct In(pub Vec<Mediator>);

impl Mediate for In {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        Some(In(super::list(c, el, at)))
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        if ctx.is_response {
            return Ok(Flow::Continue);
        }
        Ok(rt.run_list(ctx, &self.0).await)
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        vec![&self.0]
    }
}
