//! Timeouts that almost never fire, at the cost of a queue push: the header-read timeout of every
//! request and the timeout of every backend exchange.
//!
//! A glommio timer costs a reactor timer-tree insert and remove and an allocation (about 1,900
//! instructions per request for the two above). Here a shard keeps one FIFO queue per duration,
//! rounded to the millisecond: deadlines of the same duration are created in time order, so a
//! new one goes at the back and the queue stays sorted (one that a caller computed itself, as
//! hyper's `now + timeout`, may come a little out of order and is sorted in). One driver task sleeps on a single glommio timer until the
//! earliest front, wakes the futures whose deadline passed, and sleeps again. A deadline that is
//! dropped first only marks its slot free; its queue entry is skipped when reached, and a queue
//! with many such entries is compacted.
//!
//! A [`Deadline`] registers nothing until it is first polled, and reads no clock when polled:
//! the driver tells a queued one that it is due. More than
//! [`MAX_QUEUES`] distinct durations in use at once fall back to a plain glommio timer.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Distinct durations with a queue of their own.
pub const MAX_QUEUES: usize = 32;
/// Dropped entries a queue keeps before it is compacted (beyond twice its live ones).
const COMPACT_AFTER: usize = 1024;

struct Slot {
    gen: u32,
    waker: Option<Waker>,
    /// Its entry is still in a queue (not yet reached by the driver).
    queued: bool,
}

struct Queue {
    /// The duration of its deadlines, rounded to the millisecond.
    duration: Duration,
    entries: VecDeque<(Instant, u32, u32)>,
    /// Entries whose deadline was dropped.
    stale: usize,
}

#[derive(Default)]
struct Shard {
    slots: Vec<Slot>,
    free: Vec<u32>,
    queues: Vec<Queue>,
    /// The driver task runs on this executor (a thread can run several executors in turn).
    driver: Option<usize>,
    /// The deadline the driver sleeps until (None: it waits to be kicked).
    armed: Option<Instant>,
    /// Set when a deadline earlier than `armed` was queued; the driver then looks again.
    kicked: bool,
    kick: Option<Waker>,
}

thread_local! {
    static SHARD: RefCell<Shard> = RefCell::default();
}

impl Shard {
    /// The queue for deadlines of `duration`: its own, or one that holds no live deadline.
    fn queue(&mut self, duration: Duration) -> Option<usize> {
        // Rounded to the millisecond in 64 bits (`as_nanos` is a u128).
        let ms = duration
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from((duration.subsec_nanos() + 500_000) / 1_000_000));
        let duration = Duration::from_millis(ms);
        if let Some(i) = self.queues.iter().position(|q| q.duration == duration) {
            return Some(i);
        }
        if let Some(i) = self.queues.iter().position(|q| q.entries.len() == q.stale) {
            let q = &mut self.queues[i];
            q.entries.clear();
            q.stale = 0;
            q.duration = duration;
            return Some(i);
        }
        if self.queues.len() >= MAX_QUEUES {
            return None;
        }
        self.queues.push(Queue {
            duration,
            entries: VecDeque::new(),
            stale: 0,
        });
        Some(self.queues.len() - 1)
    }

    fn insert(&mut self, waker: Waker) -> (u32, u32) {
        match self.free.pop() {
            Some(i) => {
                let s = &mut self.slots[i as usize];
                s.waker = Some(waker);
                s.queued = true;
                (i, s.gen)
            }
            None => {
                self.slots.push(Slot {
                    gen: 0,
                    waker: Some(waker),
                    queued: true,
                });
                ((self.slots.len() - 1) as u32, 0)
            }
        }
    }

    /// Takes the wakers of what is due into `due`; returns the earliest deadline left in a queue.
    fn expire(&mut self, now: Instant, due: &mut Vec<Waker>) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for q in &mut self.queues {
            while let Some(&(at, slot, gen)) = q.entries.front() {
                let s = &mut self.slots[slot as usize];
                if s.gen != gen {
                    q.stale = q.stale.saturating_sub(1);
                } else if at <= now {
                    due.extend(s.waker.take());
                    s.queued = false;
                } else {
                    break;
                }
                q.entries.pop_front();
            }
            if let Some(&(at, _, _)) = q.entries.front() {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        next
    }
}

/// Ready at a deadline; see the module documentation.
pub struct Deadline {
    at: Instant,
    duration: Duration,
    state: State,
}

enum State {
    New,
    Queued { slot: u32, gen: u32, queue: usize },
    Timer(glommio::timer::Timer),
    Done,
}

/// Ready `duration` from now.
pub fn after(duration: Duration) -> Deadline {
    Deadline {
        at: Instant::now() + duration,
        duration,
        state: State::New,
    }
}

/// Ready at `at`.
pub fn until(at: Instant) -> Deadline {
    Deadline {
        at,
        duration: at.saturating_duration_since(Instant::now()),
        state: State::New,
    }
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if let State::Timer(t) = &mut this.state {
            return Pin::new(t).poll(cx).map(|_| ());
        }
        // No clock read here (one per poll was 2 of a proxied request's 15): a deadline of no
        // duration is due at once; a queued one when the driver took it out of its queue (a new
        // one whose time passed before its first poll is queued, and the driver finds it due
        // on its next run).
        if matches!(this.state, State::Done)
            || (matches!(this.state, State::New) && this.duration.is_zero())
        {
            this.release();
            return Poll::Ready(());
        }
        let mut wake = Wake::Nothing;
        let mut due = false;
        let queued = SHARD.with(|s| {
            let mut s = s.borrow_mut();
            match this.state {
                State::Queued { slot, gen, .. } => {
                    let w = &mut s.slots[slot as usize];
                    if w.gen == gen {
                        if !w.queued {
                            due = true;
                        } else {
                            match &mut w.waker {
                                Some(old) if old.will_wake(cx.waker()) => {}
                                other => *other = Some(cx.waker().clone()),
                            }
                        }
                    }
                    true
                }
                _ => {
                    let Some(queue) = s.queue(this.duration) else {
                        return false;
                    };
                    let (slot, gen) = s.insert(cx.waker().clone());
                    let entries = &mut s.queues[queue].entries;
                    // Usually later than everything queued; sorted in when not (see the module
                    // documentation).
                    if entries.back().is_none_or(|&(at, _, _)| at <= this.at) {
                        entries.push_back((this.at, slot, gen));
                    } else {
                        let pos = entries
                            .iter()
                            .rposition(|&(at, _, _)| at <= this.at)
                            .map_or(0, |p| p + 1);
                        entries.insert(pos, (this.at, slot, gen));
                    }
                    this.state = State::Queued { slot, gen, queue };
                    wake = ensure_driver(&mut s, this.at);
                    true
                }
            }
        });
        if due {
            this.release();
            return Poll::Ready(());
        }
        match wake {
            Wake::Nothing => {}
            Wake::Spawn => {
                glommio::spawn_local(drive()).detach();
            }
            Wake::Kick(k) => k.wake(),
        }
        if !queued {
            let mut t =
                glommio::timer::Timer::new(this.at.saturating_duration_since(Instant::now()));
            let ready = Pin::new(&mut t).poll(cx).is_ready();
            this.state = State::Timer(t);
            if ready {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

impl Deadline {
    fn release(&mut self) {
        if let State::Queued { slot, gen, queue } = self.state {
            let _ = SHARD.try_with(|s| {
                let mut s = s.borrow_mut();
                let s = &mut *s;
                let Some(w) = s.slots.get_mut(slot as usize) else {
                    return;
                };
                if w.gen != gen {
                    return;
                }
                w.gen = w.gen.wrapping_add(1);
                w.waker = None;
                let queued = std::mem::replace(&mut w.queued, false);
                s.free.push(slot);
                if !queued {
                    return;
                }
                let q = &mut s.queues[queue];
                q.stale += 1;
                let live = q.entries.len().saturating_sub(q.stale);
                if q.stale > COMPACT_AFTER && q.stale > 2 * live {
                    let slots = &s.slots;
                    q.entries
                        .retain(|&(_, slot, gen)| slots[slot as usize].gen == gen);
                    q.stale = 0;
                }
            });
        }
        self.state = State::Done;
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.release();
    }
}

/// What a new deadline needs from the driver, done once the shard's state is released.
enum Wake {
    Nothing,
    Spawn,
    Kick(Waker),
}

/// Makes sure the shard's driver runs and will wake no later than `at`.
fn ensure_driver(s: &mut Shard, at: Instant) -> Wake {
    let here = glommio::executor().id();
    if s.driver != Some(here) {
        s.driver = Some(here);
        s.armed = Some(at);
        s.kicked = false;
        s.kick = None;
        return Wake::Spawn;
    }
    if s.armed.is_none_or(|armed| at < armed) {
        s.armed = Some(at);
        s.kicked = true;
        if let Some(k) = s.kick.take() {
            return Wake::Kick(k);
        }
    }
    Wake::Nothing
}

/// Clears the shard's driver when its task ends (its executor stopped).
struct DriverGone;

impl Drop for DriverGone {
    fn drop(&mut self) {
        let _ = SHARD.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                s.driver = None;
                s.armed = None;
                s.kick = None;
            }
        });
    }
}

/// The shard's driver: sleeps until the earliest deadline queued, wakes what is due.
async fn drive() {
    let _gone = DriverGone;
    loop {
        // Wakers run after the shard's state is released (a wake may poll nothing here, but
        // nothing is called out of a borrow).
        let mut due = Vec::new();
        let next = SHARD.with(|s| {
            let mut s = s.borrow_mut();
            let next = s.expire(Instant::now(), &mut due);
            s.armed = next;
            s.kicked = false;
            next
        });
        for w in due {
            w.wake();
        }
        // Woken early when a deadline earlier than `next` is queued.
        let kicked = std::future::poll_fn(|cx| {
            SHARD.with(|s| {
                let mut s = s.borrow_mut();
                if s.kicked {
                    s.kicked = false;
                    Poll::Ready(())
                } else {
                    s.kick = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
        });
        match next {
            Some(at) => {
                let sleep = glommio::timer::sleep(at.saturating_duration_since(Instant::now()));
                futures_lite::future::or(sleep, kicked).await;
            }
            None => kicked.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::run_local;
    use super::*;

    #[test]
    fn deadlines_fire_in_order_and_dropped_ones_never_do() {
        run_local(async {
            let start = Instant::now();
            // Dropped before it is due: never wakes anything, and is skipped.
            let mut dropped = Box::pin(after(Duration::from_millis(20)));
            assert!(futures_lite::future::poll_once(dropped.as_mut())
                .await
                .is_none());
            drop(dropped);
            let a = after(Duration::from_millis(30));
            let b = after(Duration::from_millis(60));
            let c = after(Duration::from_millis(10));
            let (first, second) = futures_lite::future::zip(
                async {
                    c.await;
                    start.elapsed()
                },
                async {
                    a.await;
                    let at_a = start.elapsed();
                    b.await;
                    (at_a, start.elapsed())
                },
            )
            .await;
            assert!(first >= Duration::from_millis(10) && first < Duration::from_millis(30));
            assert!(second.0 >= Duration::from_millis(30));
            assert!(second.1 >= Duration::from_millis(60));
            assert!(second.1 < Duration::from_millis(500), "{:?}", second.1);
        });
    }

    #[test]
    fn deadlines_computed_by_their_callers_share_a_queue() {
        run_local(async {
            // As hyper asks, `now + timeout`: each exact duration differs by a little (here by
            // a few microseconds on purpose). More of them than there are queues all get one.
            let mut kept = Vec::new();
            for i in 0..(MAX_QUEUES as u64 + 8) {
                let at = Instant::now() + Duration::from_secs(30) + Duration::from_micros(5 * i);
                let mut d = Box::pin(until(at));
                assert!(futures_lite::future::poll_once(d.as_mut()).await.is_none());
                assert!(
                    matches!(d.state, State::Queued { .. }),
                    "fell back to a timer"
                );
                kept.push(d);
            }
        });
    }

    #[test]
    fn many_dropped_deadlines_are_compacted() {
        run_local(async {
            for _ in 0..5000 {
                let mut d = Box::pin(after(Duration::from_secs(60)));
                assert!(futures_lite::future::poll_once(d.as_mut()).await.is_none());
            }
            SHARD.with(|s| {
                let s = s.borrow();
                let q = s
                    .queues
                    .iter()
                    .find(|q| q.duration == Duration::from_secs(60))
                    .unwrap();
                assert!(
                    q.entries.len() <= 2 * COMPACT_AFTER + 2,
                    "{}",
                    q.entries.len()
                );
                assert!(s.slots.len() <= 2, "slots are reused: {}", s.slots.len());
            });
            // The queue still works after compaction.
            after(Duration::from_millis(5)).await;
        });
    }
}
