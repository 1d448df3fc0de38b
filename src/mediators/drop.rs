//! `<drop/>`: the flow ends here; a client still waiting gets `202 Accepted` (or the fault's
//! answer when a fault handler ran).

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::MessageContext;
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct Drop;

impl Mediate for Drop {
    fn compile(_: &mut impl Compile, _: &Element, _: &Origin) -> Option<Self> {
        Some(Drop)
    }

    async fn run(&self, _: &impl Runtime, _: &mut MessageContext) -> Result<Flow> {
        Ok(Flow::Stop)
    }
}
