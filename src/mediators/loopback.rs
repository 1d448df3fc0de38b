//! `<loopback/>`: the message turns into a response without leaving mint; the service's out
//! sequence runs on it, else it goes back to the client as it is.

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::MessageContext;
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct Loopback;

impl Mediate for Loopback {
    fn compile(_: &mut impl Compile, _: &Element, _: &Origin) -> Option<Self> {
        Some(Loopback)
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        ctx.is_response = true;
        ctx.to = None;
        match ctx.out_seq {
            Some(out) => {
                rt.run_sequence(ctx, out).await;
            }
            None => ctx.responded = true,
        }
        Ok(Flow::Stop)
    }
}
