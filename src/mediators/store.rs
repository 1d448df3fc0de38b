//! `<store messageStore="name|{expression}" [sequence="key"]/>`: puts a copy of the message into
//! a message store, for a message processor to deliver later. The flow goes on after it. A flow
//! that ends without answering gets 202, as always in mint; Synapse then leaves the client waiting
//! unless `FORCE_SC_ACCEPTED` is set (which WSO2's examples always set before a store).
//!
//! As Synapse's `StoreMediator`: the `sequence` runs on the message first (the message stored is
//! what it leaves); a store that is not deployed or that refuses the message is a fault, never a
//! message dropped silently, unless the store has a failover store (guaranteed delivery) that
//! takes it.

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{MessageContext, SeqId, Value};
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct Store {
    /// The store's name: literal, or an expression evaluated per message.
    pub store: Value,
    /// `sequence`: run on the message before it is stored.
    pub on_store: Option<SeqId>,
}

impl Mediate for Store {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        c.reader(&at.file)
            .known_attrs(el, &["messageStore", "sequence", "description"]);
        let name = c.reader(&at.file).required(el, "messageStore")?.to_string();
        let store = super::dynamic_value(c, &name, el, at);
        let on_store = match el.attr("sequence") {
            Some(key) => Some(c.sequence_key(key.trim(), at)?),
            None => None,
        };
        for child in el.elements() {
            c.warn(
                &super::at(child, at),
                format!("unknown element <{}> in <store> is ignored", child.qname()),
            );
        }
        Some(Store { store, on_store })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        // Boxed: a stored message is large, and this future would otherwise sit in the frame of
        // every mediator list, however deep.
        Box::pin(self.store(rt, ctx)).await
    }
}

impl Store {
    async fn store(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let name = rt.eval(ctx, &self.store).await?;
        let Some(store) = rt.stores().get(&name) else {
            // Synapse's words (the store's name is not in them).
            return Err(Error::mediation("Message Store does not exist."));
        };
        if let Some(seq) = self.on_store {
            // As in Synapse, how the sequence ends does not matter (even a `drop` in it stores),
            // but a fault in it does: its fault handler has run, and nothing is stored.
            let before = ctx.fault.clone();
            rt.run_sequence(ctx, seq).await;
            if ctx.fault.is_some() && ctx.fault != before {
                return Ok(Flow::Stop);
            }
        }
        let message = ctx.to_stored().await?;
        let id = message.id.clone();
        let failed = |ctx: &mut MessageContext, text: String| {
            ctx.axis2.insert("HTTP_SC".into(), "500".into());
            ctx.props
                .insert("ERROR_DETAIL".into(), "Failed to store message.".into());
            Err(Error::mediation(text))
        };
        let Err(e) = store.put(message.clone()).await else {
            return Ok(Flow::Continue);
        };
        tracing::error!(store = %name, error = %e, "cannot store a message");
        // The store's failover store (guaranteed delivery) takes what it refuses.
        let Some(failover) = &store.failover else {
            return failed(ctx, format!("Failed to store message [{id}] in store [{name}]."));
        };
        let put = match rt.stores().get(failover) {
            Some(f) => f.put(message).await,
            None => Err(format!("message store '{failover}' is not deployed")),
        };
        match put {
            Ok(()) => Ok(Flow::Continue),
            Err(e) => {
                tracing::error!(store = %failover, error = %e, "cannot store a message in the failover store");
                failed(
                    ctx,
                    format!("Failed to store message [{id}] in failover store [{failover}]."),
                )
            }
        }
    }
}
