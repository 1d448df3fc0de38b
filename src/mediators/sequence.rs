//! `<sequence key="…"/>` as a mediator: runs the named sequence (or the registry's), with its
//! `onError` handler; the flow goes on when the sequence's did.

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::{MessageContext, SeqId};
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct Sequence(pub SeqId);

impl Mediate for Sequence {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        match el.attr("key").map(str::trim) {
            Some(key) if !key.is_empty() => c.sequence_key(key, at).map(Sequence),
            _ => {
                c.error(at, "<sequence> used as a mediator needs a key attribute");
                None
            }
        }
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        Ok(rt.run_sequence(ctx, self.0).await)
    }
}
