//! `<respond/>`: the current message goes back to the client and the flow ends.

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::MessageContext;
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct Respond;

impl Mediate for Respond {
    fn compile(_: &mut impl Compile, _: &Element, _: &Origin) -> Option<Self> {
        Some(Respond)
    }

    async fn run(&self, _: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        ctx.responded = true;
        Ok(Flow::Stop)
    }
}
