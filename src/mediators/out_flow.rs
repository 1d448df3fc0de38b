//! `<out>`: runs its children when the message is a response (the legacy, main-sequence style of
//! Synapse configurations: `<in>…</in><out>…</out>`); on a request it does nothing.

use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::MessageContext;
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct Out(pub Vec<Mediator>);

impl Mediate for Out {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        Some(Out(super::list(c, el, at)))
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        if !ctx.is_response {
            return Ok(Flow::Continue);
        }
        Ok(rt.run_list(ctx, &self.0).await)
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        vec![&self.0]
    }
}
