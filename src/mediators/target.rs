//! What iterate and clone share: Synapse's `<target>` (where one part goes) and the loop that
//! runs a split's parts.
//!
//! The parts of a split run as futures inside the splitter's own run, on the request's shard: at
//! most `[mediation] split_concurrency` at once (one at a time, in order, for
//! `sequential="true"`), a part waiting only for an aggregation's timeout not counted. A part
//! runs its target; when the target made a `call` and ended without stopping, the part goes on
//! after the splitter, through the rest of every enclosing list (Synapse's continuation). The
//! first part that answers the client ends the split: the parts still running are dropped, as
//! Synapse drops parts that arrive after their aggregation completed.

use std::rc::Rc;
use std::task::Poll;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::{Compile, Flow, LocalFuture, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::split::SplitGroup;
use crate::message::{EpId, MessageContext, SeqId};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;

/// A split target: what runs on each part.
#[derive(Debug, Clone)]
pub struct Target {
    /// `soapAction`: the part's SOAP action.
    pub soap_action: Option<String>,
    /// `to`: the part's To address (where an endpoint-less send goes).
    pub to: Option<String>,
    pub action: TargetAction,
}

/// What a target runs: one of these, in Synapse's order of precedence.
#[derive(Debug, Clone)]
pub enum TargetAction {
    /// An inline `<sequence>`.
    Sequence(Vec<Mediator>),
    /// `sequence="key"`.
    SequenceKey(SeqId),
    /// An inline `<endpoint>` or `endpoint="key"`: the part is sent there.
    Endpoint(EpId),
    /// A sequence or endpoint key that names nothing: raises this fault on the part.
    Missing(String),
    /// Nothing: the part ends (Synapse drops it).
    Nothing,
}

impl Target {
    /// Reads a `<target>` element.
    pub fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Target {
        c.reader(&at.file)
            .known_attrs(el, &["to", "soapAction", "sequence", "endpoint"]);
        let inline_seq = el.elements().find(|e| is_synapse(e, "sequence"));
        let inline_ep = el.elements().find(|e| is_synapse(e, "endpoint"));
        for child in el.elements() {
            if !is_synapse(child, "sequence") && !is_synapse(child, "endpoint") {
                c.reader(&at.file).unknown_child(child, "target");
            }
        }
        let seq_key = el.attr("sequence").map(str::trim);
        let ep_key = el.attr("endpoint").map(str::trim);
        let given: Vec<&str> = [
            inline_seq.map(|_| "an inline <sequence>"),
            seq_key.map(|_| "sequence=\"…\""),
            inline_ep.map(|_| "an inline <endpoint>"),
            ep_key.map(|_| "endpoint=\"…\""),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() > 1 {
            c.warn(
                at,
                format!(
                    "<target> has {}: only {} runs, as in WSO2",
                    given.join(" and "),
                    given[0]
                ),
            );
        }
        let action = if let Some(s) = inline_seq {
            TargetAction::Sequence(super::list(c, s, &super::at(s, at)))
        } else if let Some(key) = seq_key {
            match c.sequence_key(key, at) {
                Some(id) => TargetAction::SequenceKey(id),
                None => TargetAction::Missing(format!("Couldn't find the sequence named : {key}")),
            }
        } else if let Some(e) = inline_ep {
            match c.endpoint(e, &super::at(e, at)) {
                Some(id) => TargetAction::Endpoint(id),
                None => TargetAction::Missing("the target's endpoint is not valid".into()),
            }
        } else if let Some(key) = ep_key {
            match c.endpoint_by_key(key, at) {
                Some(id) => TargetAction::Endpoint(id),
                None => TargetAction::Missing(format!("Couldn't find the endpoint named : {key}")),
            }
        } else {
            c.warn(
                at,
                "<target> has no sequence and no endpoint: its parts are dropped, as in WSO2",
            );
            TargetAction::Nothing
        };
        Target {
            soap_action: el.attr("soapAction").map(str::to_string),
            to: el.attr("to").map(str::to_string),
            action,
        }
    }

    /// The target's inline sequence, if any (for resuming a part inside it).
    pub fn branch(&self) -> Option<&[Mediator]> {
        match &self.action {
            TargetAction::Sequence(list) => Some(list),
            _ => None,
        }
    }

    /// Runs the target on one part; Continue when the part may go on after the splitter.
    pub async fn run(&self, rt: &impl Runtime, part: &mut MessageContext) -> Flow {
        if let Some(a) = &self.soap_action {
            part.action = Some(a.clone());
        }
        if let Some(to) = &self.to {
            part.to = Some(to.clone());
        }
        match &self.action {
            TargetAction::Sequence(list) => rt.run_list(part, list).await,
            TargetAction::SequenceKey(id) => rt.run_sequence(part, *id).await,
            TargetAction::Endpoint(ep) => {
                rt.send(part, Some(*ep), None).await;
                Flow::Stop
            }
            TargetAction::Missing(msg) => {
                // Raised inside the part, so the part's fault handler runs.
                rt.run_list(part, &[Mediator::Raise(msg.clone())]).await
            }
            TargetAction::Nothing => Flow::Stop,
        }
    }
}

/// Starts a split of `ctx` into `n` parts: the request's split group (made when `ctx` starts the
/// request's first split; the bool says whether it did: that split owns the client's answer),
/// with the parts counted against `[mediation] max_split_parts`. Beyond the limit, nothing is
/// left behind and the split is a fault.
pub fn begin(
    rt: &impl Runtime,
    ctx: &mut MessageContext,
    n: usize,
) -> Result<(Rc<SplitGroup>, bool)> {
    let (group, root) = match &ctx.split {
        Some(g) => (g.clone(), false),
        None => {
            let g = Rc::new(SplitGroup::counting_in(ctx.split_budget.clone()));
            ctx.split = Some(g.clone());
            (g, true)
        }
    };
    let limit = rt.split_limits().max_parts;
    if group.admit_parts(n, limit) {
        return Ok((group, root));
    }
    if root {
        ctx.split = None;
    }
    Err(Error::mediation(format!(
        "the message would split into more than {limit} parts ([mediation] max_split_parts)"
    )))
}

/// Starts the `n` branches of an MI 4.4 foreach or scatter-gather: they are counted as parts, and
/// run outside any split group (they answer into the gathering mediator, never the client), but
/// splits they start count their parts with the request's: the returned count is for
/// [`MessageContext::split_budget`] of each branch.
pub fn begin_branches(
    rt: &impl Runtime,
    ctx: &mut MessageContext,
    n: usize,
) -> Result<Rc<std::cell::Cell<usize>>> {
    let (group, root) = begin(rt, ctx, n)?;
    let budget = group.budget();
    if root {
        ctx.split = None;
        ctx.split_budget = Some(budget.clone());
    }
    Ok(budget)
}

/// Runs the parts `parts` yields, each through its target (see the module docs). Returns once
/// every part has ended or one has answered the client.
pub async fn run_parts<'t, I>(rt: &impl Runtime, group: &Rc<SplitGroup>, parts: I, sequential: bool)
where
    I: Iterator<Item = (MessageContext, &'t Target)> + ExactSizeIterator,
{
    let limit = if sequential {
        1
    } else {
        rt.split_limits().concurrency
    };
    let mut waiting = parts;
    let mut running: FuturesUnordered<LocalFuture<'_, ()>> = FuturesUnordered::new();
    std::future::poll_fn(|cx| loop {
        let active = running.len().saturating_sub(group.parked());
        if active < limit {
            if let Some((part, target)) = waiting.next() {
                running.push(Box::pin(run_part(rt, group.clone(), part, target)));
                continue;
            }
        }
        match running.poll_next_unpin(cx) {
            Poll::Ready(Some(())) => {
                if group.has_reply() {
                    return Poll::Ready(());
                }
            }
            Poll::Ready(None) if waiting.len() == 0 => return Poll::Ready(()),
            Poll::Ready(None) => {}
            Poll::Pending => {
                group.wait_for_parking(cx.waker());
                let active = running.len().saturating_sub(group.parked());
                if active < limit && waiting.len() > 0 {
                    continue;
                }
                return Poll::Pending;
            }
        }
    })
    .await;
}

/// One part: its target, then on after the splitter when the target made a `call`.
async fn run_part(
    rt: &impl Runtime,
    group: Rc<SplitGroup>,
    mut part: MessageContext,
    target: &Target,
) {
    let flow = target.run(rt, &mut part).await;
    if flow == Flow::Continue && part.called && !part.responded {
        rt.resume(&mut part).await;
    }
    if part.responded {
        group.offer_reply(part);
    } else if let Some(fault) = part.fault.take() {
        group.note_fault(fault);
    }
}

/// Ends a split on the message that started it: when a part answered the client, that answer
/// becomes the message (keeping the parent's place in its flow), and the flow stops. Otherwise,
/// when the parent does not continue, a part's fault (if one ran) is what the client is told.
pub fn finish(
    ctx: &mut MessageContext,
    group: &SplitGroup,
    root: bool,
    continue_parent: bool,
) -> Flow {
    if !root {
        return if group.has_reply() || !continue_parent {
            Flow::Stop
        } else {
            Flow::Continue
        };
    }
    ctx.split = None;
    if let Some(mut reply) = group.take_reply() {
        reply.frames = std::mem::take(&mut ctx.frames);
        reply.fault_stack = std::mem::take(&mut ctx.fault_stack);
        reply.depth = ctx.depth;
        reply.split = None;
        *ctx = reply;
        return Flow::Stop;
    }
    if continue_parent {
        return Flow::Continue;
    }
    // Synapse leaves the client waiting here (RESPONSE_WRITTEN=SKIP); mint answers as for any
    // flow that ends without a response: with the fault a part ran into, else 202.
    if ctx.fault.is_none() {
        ctx.fault = group.take_fault();
    }
    Flow::Stop
}
