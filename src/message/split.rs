//! What the parts of one split request share (iterate, clone, aggregate), and where a part
//! resumes after its target (the continuation frames).
//!
//! mint runs every part of a split on the shard that owns the request, inside the request's own
//! future: there is no lock and no cross-core traffic, and when that future is dropped (the
//! client left: `http::watch` notices a reset within a tick) everything the request started goes
//! with it. The parts of one request (and the parts of parts) share one
//! [`SplitGroup`]: the message that answers the client, the open aggregations and the fan-out
//! count. Synapse keeps aggregations per mediator across all requests; mint keeps them per request,
//! which is the same thing for the correlation Synapse's splitters set (the parent's message id).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Waker;
use std::time::Instant;

use bytes::Bytes;

use super::context::MessageContext;
use super::SeqId;
use crate::error::{Error, ErrorKind};

/// Where a flow is in a list of mediators: the continuation a split part resumes from after its
/// target (Synapse's continuation stack). Kept only when the program has a mediator that needs it
/// (`Program::continuations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub list: ListRef,
    /// The index of the mediator after the one running now.
    pub next: u32,
    /// The sequence of this frame put its `onError` handler on the fault stack.
    pub handler: bool,
}

/// A list of mediators, found again from the program: a sequence's list, or a branch of the
/// mediator at the enclosing frame's position, known by its address (never dereferenced: the
/// branch is looked up among that mediator's branches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListRef {
    Sequence(SeqId),
    Branch(usize),
}

/// One request's split state, shared by its parts.
#[derive(Default)]
pub struct SplitGroup {
    /// The message that answers the client, once a part has answered.
    reply: RefCell<Option<MessageContext>>,
    /// Open aggregations, by aggregate mediator and correlation (a request has a few: a list
    /// looked up without building a key).
    open: RefCell<Vec<(usize, String, Aggregation)>>,
    /// Aggregations already completed: a part arriving later is dropped (Synapse's shared
    /// "completed" flag).
    completed: RefCell<Vec<(usize, String)>>,
    /// Parts created for this request so far (bounded by `[mediation] max_split_parts`); shared
    /// with the groups that branches of MI 4.4's foreach and scatter-gather start.
    parts: Rc<Cell<usize>>,
    /// Parts that only wait for an aggregation's timeout (they do not count as running).
    parked: Cell<usize>,
    /// Split loops waiting for a part to finish or park.
    wakers: RefCell<Vec<Waker>>,
    /// The first fault a part ran into without answering the client.
    fault: RefCell<Option<(ErrorKind, i64, String)>>,
}

impl SplitGroup {
    /// Offers a message that answered the client: the first one wins.
    pub fn offer_reply(&self, ctx: MessageContext) {
        let mut reply = self.reply.borrow_mut();
        if reply.is_none() {
            *reply = Some(ctx);
        }
    }

    pub fn has_reply(&self) -> bool {
        self.reply.borrow().is_some()
    }

    pub fn take_reply(&self) -> Option<MessageContext> {
        self.reply.borrow_mut().take()
    }

    /// Keeps the first fault a part ran into (the client's answer if no part answers).
    pub fn note_fault(&self, fault: (ErrorKind, i64, String)) {
        self.fault.borrow_mut().get_or_insert(fault);
    }

    pub fn take_fault(&self) -> Option<(ErrorKind, i64, String)> {
        self.fault.borrow_mut().take()
    }

    /// A group counting its parts in `budget` (the request's count, when this group is started
    /// by a branch of a foreach or scatter-gather) or from zero.
    pub fn counting_in(budget: Option<Rc<Cell<usize>>>) -> SplitGroup {
        SplitGroup {
            parts: budget.unwrap_or_default(),
            ..SplitGroup::default()
        }
    }

    /// The request's part count, for branches that start groups of their own.
    pub fn budget(&self) -> Rc<Cell<usize>> {
        self.parts.clone()
    }

    /// Counts `n` more parts; false when that would exceed `limit`.
    pub fn admit_parts(&self, n: usize, limit: usize) -> bool {
        let total = self.parts.get().saturating_add(n);
        if total > limit {
            return false;
        }
        self.parts.set(total);
        true
    }

    pub fn parked(&self) -> usize {
        self.parked.get()
    }

    /// A part starts or stops waiting only for a timeout; split loops may start another part.
    pub fn set_parked(&self, parked: bool) {
        let n = self.parked.get();
        self.parked
            .set(if parked { n + 1 } else { n.saturating_sub(1) });
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// Registers a split loop to be woken when a part parks.
    pub fn wait_for_parking(&self, waker: &Waker) {
        let mut wakers = self.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }

    /// Whether the aggregation `(owner, key)` has completed.
    pub fn is_completed(&self, owner: usize, key: &str) -> bool {
        self.completed
            .borrow()
            .iter()
            .any(|(o, k)| *o == owner && k == key)
    }

    /// The open aggregation, to read or change (None when there is none).
    pub fn with_open<T>(
        &self,
        owner: usize,
        key: &str,
        f: impl FnOnce(Option<&mut Aggregation>) -> T,
    ) -> T {
        let mut open = self.open.borrow_mut();
        f(open
            .iter_mut()
            .find(|(o, k, _)| *o == owner && k == key)
            .map(|(_, _, a)| a))
    }

    pub fn insert_open(&self, owner: usize, key: String, agg: Aggregation) {
        self.open.borrow_mut().push((owner, key, agg));
    }

    /// Closes an aggregation: it is marked completed (later parts are dropped) and its waiting
    /// part, if any, is woken. None when it was closed already.
    pub fn close(&self, owner: usize, key: &str) -> Option<Aggregation> {
        let mut open = self.open.borrow_mut();
        let i = open.iter().position(|(o, k, _)| *o == owner && k == key)?;
        let (_, _, mut agg) = open.swap_remove(i);
        drop(open);
        self.completed.borrow_mut().push((owner, key.to_string()));
        if let Some(w) = agg.waiter.take() {
            w.wake();
        }
        Some(agg)
    }
}

/// The parts an aggregate mediator has collected for one correlation.
pub struct Aggregation {
    /// The first part to arrive: the aggregated message is built on it (its properties and
    /// envelope), as Synapse does.
    pub first: Option<MessageContext>,
    /// What each part contributed, in arrival order.
    pub collected: Vec<Collected>,
    /// Parts expected: `n` of the first part's `messageSequence` (`i/n`).
    pub total: Option<usize>,
    /// `messageCount min` / `max` (≤ 0: not used).
    pub min: i64,
    pub max: i64,
    /// When `completeCondition timeout` ends the wait.
    pub deadline: Option<Instant>,
    /// The part waiting for the timeout.
    pub waiter: Option<Waker>,
}

impl Aggregation {
    /// Whether the aggregation is complete by count (the timeout is checked by its waiter).
    pub fn is_complete(&self) -> bool {
        let n = self.collected.len();
        self.total.is_some_and(|t| n >= t)
            || (self.min > 0 && n as i64 >= self.min)
            || (self.max > 0 && n as i64 >= self.max)
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// One part's contribution to an aggregation: the onComplete expression's result on it.
pub enum Collected {
    /// The matched elements, each as standalone XML.
    Xml(Vec<Bytes>),
    /// A `json-eval` result (None: no match).
    Json(Option<serde_json::Value>),
    /// Evaluating the expression on this part failed: the aggregation fails when it completes.
    Failed(Error),
}
