//! `<sequence key="…"/>` as a mediator: runs the named sequence (or the registry's), with its
//! `onError` handler; the flow goes on when the sequence's did. `key="{expression}"` names the
//! sequence per message: a named sequence, or one of the registry's (every `<sequence>` resource
//! is compiled at deployment, and a change to one redeploys; mint does not compile while
//! serving).

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{MessageContext, SeqId, Value};
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub enum Sequence {
    /// Named when written.
    Named(SeqId),
    /// `key="{expression}"`.
    Computed(Box<Value>),
}

impl Mediate for Sequence {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        match el.attr("key").map(str::trim) {
            Some(key) if key.starts_with('{') && key.ends_with('}') => {
                let v = super::dynamic_value(c, key, el, at);
                Some(Sequence::Computed(Box::new(v)))
            }
            Some(key) if !key.is_empty() => c.sequence_key(key, at).map(Sequence::Named),
            _ => {
                c.error(at, "<sequence> used as a mediator needs a key attribute");
                None
            }
        }
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let id = match self {
            Sequence::Named(id) => *id,
            // Boxed: every mediator's future is as large as the largest one's.
            Sequence::Computed(key) => Box::pin(named(rt, ctx, key)).await?,
        };
        Ok(rt.run_sequence(ctx, id).await)
    }
}

/// The deployed sequence an expression names for this message.
pub(super) async fn named(rt: &impl Runtime, ctx: &mut MessageContext, key: &Value) -> Result<SeqId> {
    let name = rt.eval(ctx, key).await?;
    rt.named_sequence(name.trim())
        .ok_or_else(|| Error::mediation(format!("Sequence named {} cannot be found", name.trim())))
}
