//! A message processor at work, as Synapse's `ForwardingService`, `FailoverForwardingService`
//! and `SamplingService` run:
//! - forwarding: the oldest message is sent to the endpoint, again and again (`client.retry.interval`
//!   apart, each attempt with the message as it was stored) until it is delivered or
//!   `max.delivery.attempts` is spent; then it is dropped (`max.delivery.drop`), moved to the
//!   `failMessagesStore`, or the processor deactivates itself and the message stays first in
//!   line. Delivered is a 2xx or a `non.retry.status.codes` status, and, unless the message is
//!   OUT_ONLY, a reply sequence that runs to its end. One message per `interval` (with a cron
//!   expression: each time it names drains the store, a message every `interval`).
//! - failover forwarding: the same, into another store.
//! - sampling: up to `concurrency` messages per `interval` are taken out of the store and each
//!   runs the sequence (a message whose mediation fails is not retried, as in Synapse).

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::{until_next, Switch};
use crate::error::{Error, ErrorKind, Side};
use crate::mediation::{Engine, EngineSlot};
use crate::mediators::Flow;
use crate::message::MessageContext;
use crate::program::scheduled::{Failover, Forward, Processor, ProcessorKind};
use crate::stores::{Store, StoredMessage, Stores};

/// How often an inactive processor looks at its switch again.
const PAUSED: Duration = Duration::from_millis(100);

/// The shortest wait before an empty store is read again.
const EMPTY: Duration = Duration::from_millis(100);

/// The pause after a message: `interval` (0: only a yield to the shard's other work).
async fn pause(interval: Duration) {
    if interval.is_zero() {
        futures_lite::future::yield_now().await;
    } else {
        glommio::timer::sleep(interval).await;
    }
}

pub(super) async fn run(
    def: Processor,
    slot: Rc<EngineSlot>,
    stores: Arc<Stores>,
    switch: Rc<Switch>,
) {
    let p = Worker {
        def: &def,
        slot: &slot,
        stores: &stores,
        switch: &switch,
    };
    loop {
        if !switch.is_active() {
            glommio::timer::sleep(PAUSED).await;
            continue;
        }
        match &def.cron {
            Some(cron) => {
                if !until_next(&cron.schedule).await {
                    tracing::warn!(processor = %def.name, "the cron expression names no further time: the processor stops");
                    return;
                }
                while switch.is_active() && p.one().await {
                    pause(def.interval).await;
                }
            }
            None => {
                if p.one().await {
                    pause(def.interval).await;
                } else {
                    // An empty store is looked at again after the interval (at most every
                    // EMPTY, so that an interval of 0 does not spin).
                    glommio::timer::sleep(def.interval.max(EMPTY)).await;
                }
            }
        }
    }
}

struct Worker<'a> {
    def: &'a Processor,
    slot: &'a Rc<EngineSlot>,
    stores: &'a Arc<Stores>,
    switch: &'a Switch,
}

/// What became of a message.
enum Outcome {
    Delivered,
    Failed,
}

impl Worker<'_> {
    /// Handles what is next in the store; false when there was nothing to do.
    async fn one(&self) -> bool {
        let Some(store) = self.stores.get(&self.def.store) else {
            return false;
        };
        match &self.def.kind {
            ProcessorKind::Forward(f) => match self.fetch(&store, false).await {
                Some(m) => {
                    self.forward(f, &store, m).await;
                    true
                }
                None => false,
            },
            ProcessorKind::Failover(f) => match self.fetch(&store, false).await {
                Some(m) => {
                    self.failover(f, &store, m).await;
                    true
                }
                None => false,
            },
            ProcessorKind::Sample {
                sequence,
                concurrency,
            } => {
                // Up to `concurrency` messages at once, each mediated on its own; the next
                // round starts when they have all finished.
                let mut running = Vec::new();
                for _ in 0..*concurrency {
                    let Some(m) = self.fetch(&store, true).await else {
                        break;
                    };
                    let engine = self.slot.get();
                    let sequence = sequence.clone();
                    running.push(glommio::spawn_local(async move {
                        let mut ctx = message(&engine, m);
                        match engine.config.named_sequences.get(&sequence) {
                            Some(&seq) => {
                                ctx.fault_stack.push(engine.config.fault);
                                engine.run_seq(&mut ctx, seq).await;
                            }
                            None => tracing::warn!(sequence = %sequence, "sampling processor: sequence not deployed; the message is lost, as in Synapse"),
                        }
                    })
                    // Detached: a processor stopped by a redeployment lets them finish.
                    .detach());
                }
                let any = !running.is_empty();
                for task in running {
                    task.await;
                }
                any
            }
        }
    }

    /// The oldest message (taken out when `poll`), with `max.store.connection.attempts` reads of
    /// a failing store before the processor deactivates.
    async fn fetch(&self, store: &Store, poll: bool) -> Option<StoredMessage> {
        let mut failures = 0u32;
        loop {
            let read = if poll {
                store.poll().await
            } else {
                store.peek().await
            };
            match read {
                Ok(m) => return m,
                Err(e) => {
                    failures += 1;
                    tracing::warn!(processor = %self.def.name, store = %store.name, attempt = failures, error = %e, "cannot read the message store");
                    if self.def.max_store_attempts.is_some_and(|m| failures >= m) {
                        self.deactivate();
                        return None;
                    }
                    glommio::timer::sleep(self.def.store_retry_interval).await;
                    if !self.switch.is_active() {
                        return None;
                    }
                }
            }
        }
    }

    fn deactivate(&self) {
        self.switch.set(false);
        tracing::warn!(
            processor = %self.def.name,
            "Successfully deactivated the message processor [{}]",
            self.def.name
        );
    }

    /// Runs the sequence `name` (when deployed) on `ctx`; whether it ran to its end.
    async fn sequence(&self, engine: &Engine, ctx: &mut MessageContext, name: &str) -> bool {
        let Some(&seq) = engine.config.named_sequences.get(name) else {
            tracing::warn!(processor = %self.def.name, sequence = %name, "sequence not deployed");
            return false;
        };
        ctx.fault_stack.push(engine.config.fault);
        let flow = engine.run_seq(ctx, seq).await;
        ctx.fault_stack.clear();
        flow == Flow::Continue && ctx.fault.is_none()
    }

    async fn forward(&self, f: &Forward, store: &Store, m: StoredMessage) {
        let name = &self.def.name;
        let mut attempts = 0u32;
        loop {
            let engine = self.slot.get();
            let mut ctx = message(&engine, m.clone());
            let target = f.endpoint.clone().or_else(|| {
                ctx.props
                    .get("target.endpoint")
                    .map(|v| v.as_str().to_owned())
            });
            let Some(endpoint) = target
                .as_ref()
                .and_then(|n| engine.config.named_endpoints.get(n).copied())
            else {
                tracing::error!(processor = %name, endpoint = target.as_deref().unwrap_or(""), "no such endpoint to forward to; the message stays in the store");
                self.deactivate();
                return;
            };
            let out_only = ctx.prop_true("OUT_ONLY");
            let outcome = match engine.call(&mut ctx, Some(endpoint)).await {
                Err(e) => {
                    tracing::warn!(processor = %name, error = %e, "Message forwarding failed.");
                    if let Some(fault) = &f.fault {
                        if let Some(&seq) = engine.config.named_sequences.get(fault) {
                            ctx.fault_stack = smallvec::smallvec![seq];
                            engine.run_fault(&mut ctx, e).await;
                        }
                    }
                    Outcome::Failed
                }
                Ok(()) => {
                    let sc = ctx.status.as_u16();
                    let accepted = ctx.status.is_success() || f.non_retry.contains(&sc);
                    if !accepted {
                        tracing::warn!(processor = %name, "Message processor [{name}] received a response with HTTP_SC: {sc} from backend. Message forwarding failed.");
                    }
                    if out_only {
                        if accepted {
                            Outcome::Delivered
                        } else {
                            Outcome::Failed
                        }
                    } else if accepted {
                        let Some(reply) = f.reply.as_deref() else {
                            // As Synapse: a response with nowhere to go deactivates the
                            // processor, the message left first in line.
                            tracing::error!(processor = %name, "a message that is not OUT_ONLY needs a reply sequence (message.processor.reply.sequence); the message stays in the store");
                            self.deactivate();
                            return;
                        };
                        if self.sequence(&engine, &mut ctx, reply).await {
                            Outcome::Delivered
                        } else {
                            Outcome::Failed
                        }
                    } else {
                        if let Some(fault) = &f.fault {
                            self.sequence(&engine, &mut ctx, fault).await;
                        }
                        Outcome::Failed
                    }
                }
            };
            if let Outcome::Delivered = outcome {
                remove(store, &m.id).await;
                return;
            }
            attempts += 1;
            if f.max_attempts.is_some_and(|max| attempts >= max) {
                if f.drop_after_max {
                    tracing::warn!(processor = %name, message = %m.id, attempts, "maximum delivery attempts reached: the message is dropped");
                    remove(store, &m.id).await;
                } else if let Some(fail) = &f.fail_store {
                    let moved = match self.stores.get(fail) {
                        Some(s) => s.put(m.clone()).await,
                        None => Err(format!("message store '{fail}' is not deployed")),
                    };
                    match moved {
                        Ok(()) => {
                            tracing::warn!(processor = %name, message = %m.id, store = %fail, "maximum delivery attempts reached: the message moved to the fail-messages store");
                            remove(store, &m.id).await;
                        }
                        Err(e) => {
                            tracing::error!(processor = %name, error = %e, "cannot move the message to the fail-messages store");
                            self.deactivate();
                        }
                    }
                } else {
                    self.deactivate();
                    if let Some(seq) = &f.deactivate {
                        let mut ctx = message(&engine, m.clone());
                        self.sequence(&engine, &mut ctx, seq).await;
                    }
                }
                glommio::timer::sleep(f.retry_interval).await;
                return;
            }
            glommio::timer::sleep(f.retry_interval).await;
            if !self.switch.is_active() {
                return;
            }
        }
    }

    async fn failover(&self, f: &Failover, store: &Store, m: StoredMessage) {
        let name = &self.def.name;
        let Some(target) = &f.target_store else {
            tracing::warn!(processor = %name, message = %m.id, "no message.target.store.name: the message is dropped");
            remove(store, &m.id).await;
            return;
        };
        let mut attempts = 0u32;
        loop {
            let moved = match self.stores.get(target) {
                Some(s) => s.put(m.clone()).await,
                None => Err(format!("message store '{target}' is not deployed")),
            };
            match moved {
                Ok(()) => {
                    remove(store, &m.id).await;
                    return;
                }
                Err(e) => {
                    tracing::warn!(processor = %name, error = %e, "cannot forward the message to the target store");
                }
            }
            attempts += 1;
            if f.max_attempts.is_some_and(|max| attempts >= max) {
                if f.drop_after_max {
                    remove(store, &m.id).await;
                } else {
                    let engine = self.slot.get();
                    if let Some(seq) = &f.deactivate {
                        let mut ctx = message(&engine, m.clone());
                        self.sequence(&engine, &mut ctx, seq).await;
                    }
                    self.deactivate();
                }
                return;
            }
            glommio::timer::sleep(f.retry_interval).await;
            if !self.switch.is_active() {
                return;
            }
        }
    }
}

/// A stored message as a message context of `engine`'s configuration.
fn message(engine: &Engine, m: StoredMessage) -> MessageContext {
    MessageContext::from_stored(
        m,
        engine.settings.http.max_body_size,
        Duration::from_millis(engine.settings.http.body_read_timeout_ms),
    )
}

/// Removes a delivered message; a store that fails to, or no longer holds it as read (its
/// connection was replaced meanwhile), is logged: the message will be delivered again.
async fn remove(store: &Store, id: &str) {
    match store.remove(id).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(store = %store.name, message = %id, "a delivered message was no longer held by the store (its connection was replaced): it will be delivered again")
        }
        Err(e) => {
            let e = Error::new(
                ErrorKind::Io,
                Side::Internal,
                format!("removing a delivered message from '{}': {e}", store.name),
            );
            tracing::error!("{e}");
        }
    }
}
