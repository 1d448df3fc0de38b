//! The shard's socket readiness, without interrupting a running shard.
//!
//! glommio 0.9 creates its io_uring rings without `IORING_SETUP_COOP_TASKRUN` or `DEFER_TASKRUN`,
//! so each completion another CPU produces for a running shard (a client's request arriving, a
//! backend's answer) is signalled with a rescheduling IPI: 1.6–1.9 per proxied request, and in a
//! VM each is an exit on both sides. nginx gets none: a busy worker finds readiness in epoll's
//! ready list, and an interrupt is only needed to wake a worker that sleeps.
//!
//! So readiness is epoll's, edge-triggered, one registration per socket; the sockets are read and
//! written with plain non-blocking syscalls, as glommio's streams and nginx do. An event marks the
//! socket readable or writable and wakes the task waiting for that; a syscall that answers
//! `EAGAIN` clears the mark again (as mio and tokio use epoll).
//!
//! A per-shard driver task (started on first use) collects events with `epoll_wait(…, 0)`: after
//! each turn that woke somebody it yields, so the woken connection tasks run before it looks
//! again. A task about to write in a pass that woke several tasks first lets the pass finish
//! (`write_point`), so that a pass's writes reach their peers together. When turns find nothing,
//! the shard may go to sleep, and glommio sleeps in its own ring, which only its own operations
//! can end. So the driver arms a one-shot poll of the socket set on a small plain io_uring of its
//! own (the bridge), whose registered eventfd it reads through glommio. When a socket becomes ready, the bridge's completion runs as task work on the shard's
//! thread (which wakes it out of glommio's wait), signals the eventfd, and glommio's read of it
//! completes in the same wake-up. The poll is armed only while the driver sleeps, so a busy shard
//! is never interrupted.
//!
//! Tried and dropped (perf/RESULTS.md, Sessions 13 and 14): an io_uring with `DEFER_TASKRUN` for
//! the sockets (its registered eventfd is signalled 10–20 ms late on this kernel), and a waker
//! thread in `epoll_wait` writing the eventfd (two thread wake-ups per sleep: 110–290 µs median
//! for a request after a pause, against 71–79 µs with the bridge). The bridge was first dropped
//! because a backend on it stopped answering under load; that was glommio parking with a runnable
//! task (see the keeper task below), which the keeper now bounds.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// The socket can be read (data, FIN, or an error to collect).
pub const READABLE: u8 = 1;
/// The socket can be written (buffer space, or an error to collect).
pub const WRITABLE: u8 = 2;

/// What each socket is registered for (edge-triggered).
const EPOLL_MASK: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
/// Events taken per `epoll_wait`.
const EVENTS: usize = 256;
/// Turns that find nothing before the driver sleeps: each costs an `epoll_wait` syscall.
const IDLE_TURNS: u32 = 2;

/// The peer closed its side, or the socket failed. The event that says so comes once, so a
/// read that returns data and leaves the socket drained ([`Registration::drained`], see
/// `TcpStream::poll_read_uninit`) keeps it: the end of stream signalled behind that data must
/// not be forgotten. Only a syscall's `EAGAIN` ([`Registration::clear`]) clears it.
const CLOSED: u8 = 4;

/// The readiness mask an epoll event means.
fn readiness(events: u32) -> u8 {
    let mut r = 0;
    if events & libc::EPOLLIN as u32 != 0 {
        r |= READABLE;
    }
    if events & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
        r |= READABLE | CLOSED;
    }
    if events & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
        r |= WRITABLE;
    }
    r
}

/// [`CLOSED`] when it makes a socket ready for `interest`: a read then finds the end of stream
/// or the error.
fn closed_for(interest: u8) -> u8 {
    if interest & READABLE != 0 {
        CLOSED
    } else {
        0
    }
}

#[derive(Default)]
struct Slot {
    /// Bumped on release: events of an earlier socket in this slot are ignored.
    gen: u32,
    live: bool,
    ready: u8,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Slot {
    /// Whether a socket registered as `gen` may be ready for `interest`: a released slot lets
    /// the syscall tell.
    fn may_be_ready(&self, gen: u32, interest: u8) -> bool {
        self.gen != gen || self.ready & (interest | closed_for(interest)) != 0
    }
}

/// One shard's epoll set, its sockets and its sleep.
pub struct Driver {
    epoll: OwnedFd,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    /// A plain io_uring of the driver's own holding, while the driver sleeps, one poll of the
    /// socket set (the bridge).
    bridge: RefCell<io_uring::IoUring>,
    bridge_armed: std::cell::Cell<bool>,
    /// Registered with the bridge, which signals it when its poll completes; read through
    /// glommio while the driver sleeps.
    eventfd: OwnedFd,
    /// The glommio executor whose task drives this set.
    executor: usize,
    /// Whether the driver is awake (turning and yielding) rather than asleep on the eventfd.
    awake: std::cell::Cell<bool>,
    /// The keeper task, waiting for the driver to wake up.
    keeper: RefCell<Option<Waker>>,
    /// The tasks a turn wakes, collected while the slot table is borrowed (kept between turns
    /// so that a turn does not allocate).
    woken: RefCell<Vec<Waker>>,
    /// How many tasks the last turn woke: the size of the pass the shard is running.
    pass: std::cell::Cell<usize>,
}

thread_local! {
    static DRIVER: RefCell<Option<Rc<Driver>>> = const { RefCell::new(None) };
}

/// This shard's driver, created (and its task spawned) on first use. Must be called on a glommio
/// executor.
pub fn driver() -> io::Result<Rc<Driver>> {
    let executor = glommio::executor().id();
    if let Some(d) = DRIVER.with(|d| d.borrow().clone()) {
        if d.executor == executor {
            return Ok(d);
        }
    }
    let d = Rc::new(Driver::new(executor)?);
    DRIVER.with(|slot| *slot.borrow_mut() = Some(d.clone()));
    glommio::spawn_local(drive(d.clone())).detach();
    glommio::spawn_local(keep(d.clone())).detach();
    Ok(d)
}

/// A descriptor returned by a syscall, or its error.
fn owned(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Driver {
    fn new(executor: usize) -> io::Result<Driver> {
        // SAFETY: plain syscalls returning new descriptors, checked by `owned`.
        let epoll = owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: as above.
        let eventfd = owned(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) })?;
        let bridge = io_uring::IoUring::new(4)?;
        bridge.submitter().register_eventfd(eventfd.as_raw_fd())?;
        Ok(Driver {
            epoll,
            slots: RefCell::default(),
            free: RefCell::default(),
            bridge: RefCell::new(bridge),
            bridge_armed: std::cell::Cell::new(false),
            eventfd,
            executor,
            awake: std::cell::Cell::new(true),
            keeper: RefCell::new(None),
            woken: RefCell::default(),
            pass: std::cell::Cell::new(0),
        })
    }

    fn token(idx: u32, gen: u32) -> u64 {
        (u64::from(gen) << 32) | u64::from(idx)
    }

    fn register(&self, fd: RawFd) -> io::Result<(u32, u32)> {
        let (idx, gen) = {
            let mut slots = self.slots.borrow_mut();
            let idx = match self.free.borrow_mut().pop() {
                Some(i) => i,
                None => {
                    slots.push(Slot::default());
                    (slots.len() - 1) as u32
                }
            };
            let s = &mut slots[idx as usize];
            s.live = true;
            // Optimistic: the first read or write tries the syscall before waiting.
            s.ready = READABLE | WRITABLE;
            (idx, s.gen)
        };
        let mut ev = libc::epoll_event {
            events: EPOLL_MASK,
            u64: Self::token(idx, gen),
        };
        // SAFETY: `ev` is a valid event for the duration of the call.
        let r =
            unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if r < 0 {
            let e = io::Error::last_os_error();
            self.release(idx, gen);
            return Err(e);
        }
        Ok((idx, gen))
    }

    /// Frees slot `idx`. The socket leaves the epoll set when its descriptor is closed, right
    /// after; an event already collected for it finds the slot's generation changed.
    fn release(&self, idx: u32, gen: u32) {
        // Wakers are dropped after the borrow ends: dropping one may drop the last reference to
        // a task, and with it a future that releases sockets of its own.
        let _wakers = {
            let mut slots = self.slots.borrow_mut();
            let s = &mut slots[idx as usize];
            if !s.live || s.gen != gen {
                return;
            }
            s.live = false;
            s.gen = s.gen.wrapping_add(1);
            (s.reader.take(), s.writer.take())
        };
        self.free.borrow_mut().push(idx);
    }

    fn poll_ready(&self, idx: u32, gen: u32, cx: &Context<'_>, interest: u8) -> Poll<()> {
        let _replaced = {
            let mut slots = self.slots.borrow_mut();
            let s = &mut slots[idx as usize];
            if s.may_be_ready(gen, interest) {
                return Poll::Ready(());
            }
            let w = if interest == READABLE {
                &mut s.reader
            } else {
                &mut s.writer
            };
            match w {
                Some(w) if w.will_wake(cx.waker()) => None,
                // The replaced waker is dropped after the borrow ends (see `release`).
                _ => w.replace(cx.waker().clone()),
            }
        };
        Poll::Pending
    }

    /// Forgets readiness for the bits of `mask`.
    fn clear(&self, idx: u32, gen: u32, mask: u8) {
        let mut slots = self.slots.borrow_mut();
        let s = &mut slots[idx as usize];
        if s.gen == gen {
            s.ready &= !mask;
        }
    }

    /// Collects the ready sockets without waiting and wakes their tasks; returns how many tasks
    /// it woke.
    fn turn(&self) -> usize {
        // Not zeroed (3 KiB per turn, most of it never written): epoll_wait fills the first `n`.
        let mut events = [const { std::mem::MaybeUninit::<libc::epoll_event>::uninit() }; EVENTS];
        let mut woke = 0;
        loop {
            // SAFETY: the buffer holds EVENTS entries; a zero timeout never blocks.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr().cast(),
                    EVENTS as i32,
                    0,
                )
            };
            if n <= 0 {
                if n < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    tracing::warn!(error = %io::Error::last_os_error(), "epoll_wait failed");
                }
                return woke;
            }
            let n = n as usize;
            let mut wake = std::mem::take(&mut *self.woken.borrow_mut());
            {
                let mut slots = self.slots.borrow_mut();
                // SAFETY: epoll_wait initialised the first `n` entries.
                let ready = unsafe {
                    std::slice::from_raw_parts(events.as_ptr().cast::<libc::epoll_event>(), n)
                };
                for ev in ready {
                    let token = ev.u64;
                    let (idx, gen) = (token as u32, (token >> 32) as u32);
                    let Some(s) = slots.get_mut(idx as usize) else {
                        continue;
                    };
                    if !s.live || s.gen != gen {
                        continue;
                    }
                    let r = readiness(ev.events);
                    s.ready |= r;
                    if r & READABLE != 0 {
                        wake.extend(s.reader.take());
                    }
                    if r & WRITABLE != 0 {
                        wake.extend(s.writer.take());
                    }
                }
            }
            woke += wake.len();
            for w in wake.drain(..) {
                w.wake();
            }
            *self.woken.borrow_mut() = wake;
            if n < EVENTS {
                return woke;
            }
        }
    }

    /// Arms the bridge's poll of the socket set (unless it is armed already), so that the eventfd
    /// is signalled once a socket is ready. The poll looks at the set's ready list when armed, so
    /// an event after the last turn is not missed. Its completion runs as task work on this thread,
    /// which wakes it out of glommio's ring: one wake-up, where a thread of its own cost two.
    fn arm_bridge(&self) -> io::Result<()> {
        if self.bridge_armed.get() {
            return Ok(());
        }
        let mut bridge = self.bridge.borrow_mut();
        let sqe = io_uring::opcode::PollAdd::new(
            io_uring::types::Fd(self.epoll.as_raw_fd()),
            libc::POLLIN as u32,
        )
        .build()
        .user_data(1);
        // SAFETY: a poll entry references no memory of ours.
        if unsafe { bridge.submission().push(&sqe) }.is_err() {
            return Err(io::Error::other("io_uring bridge queue full"));
        }
        bridge.submit()?;
        self.bridge_armed.set(true);
        Ok(())
    }

    /// Whether the bridge's poll has completed (its completion not taken yet).
    fn bridge_fired(&self) -> bool {
        !self.bridge.borrow_mut().completion().is_empty()
    }

    /// Takes the bridge's completion, if its poll fired.
    fn reap_bridge(&self) {
        let mut bridge = self.bridge.borrow_mut();
        if bridge.completion().next().is_some() {
            self.bridge_armed.set(false);
        }
    }
}

/// The driver task: turns while there is work, sleeps on the bridge's eventfd when there is none.
async fn drive(d: Rc<Driver>) {
    // glommio reads the eventfd on its own ring; the file owns a duplicate of the descriptor.
    // SAFETY: dup returns a new descriptor (or -1, checked) that the glommio file then owns.
    let efd = unsafe { libc::dup(d.eventfd.as_raw_fd()) };
    if efd < 0 {
        tracing::error!("socket driver: cannot duplicate its eventfd; sockets would stall");
        return;
    }
    // SAFETY: `efd` is ours alone; BufferedFile closes it when dropped.
    let sleeper = unsafe { glommio::io::BufferedFile::from_raw_fd(efd) };
    let mut pending = None;
    // One timer for every sleep, re-armed each time (a new one would be allocated and
    // registered with the reactor per sleep).
    let mut bound = glommio::timer::Timer::new(SLEEP_BOUND);
    let mut idle = 0u32;
    // The last sleep was ended by the timer.
    let mut timed_out = false;
    loop {
        let woke = d.turn();
        d.pass.set(woke);
        // Ready sockets after a sleep the timer ended, with no completion of the bridge's poll:
        // a wake-up that never came (one merely on its way has completed the poll by now: its
        // task work ran when this turn's `epoll_wait` returned).
        if std::mem::take(&mut timed_out) && woke > 0 && !d.bridge_fired() {
            missed_wake_up();
        }
        if woke > 0 {
            idle = 0;
        } else {
            idle += 1;
        }
        if idle <= IDLE_TURNS {
            futures_lite::future::yield_now().await;
            continue;
        }
        // Nothing for a while: sleep until the socket set has an event. Re-arming looks at the
        // set's ready list, so an event that came after the last turn is not missed.
        if let Err(e) = d.arm_bridge() {
            tracing::error!(error = %e, "socket driver: cannot arm its wake-up; polling instead");
            glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
            continue;
        }
        d.awake.set(false);
        // Bounded (see `SLEEP_BOUND`). The read outlives a sleep that the timer ended: it is
        // polled again by the next sleep, so that no signal is lost to a cancelled read.
        let read = pending.get_or_insert_with(|| Box::pin(sleeper.read_at(0, 8)));
        bound.reset(SLEEP_BOUND);
        let signalled = futures_lite::future::or(
            async {
                // An error (none is expected from an eventfd) only costs a turn.
                let _ = read.as_mut().await;
                true
            },
            async {
                (&mut bound).await;
                false
            },
        )
        .await;
        if signalled {
            pending = None;
            d.reap_bridge();
        }
        d.awake.set(true);
        let keeper = d.keeper.borrow_mut().take();
        if let Some(k) = keeper {
            k.wake();
        }
        idle = 0;
        timed_out = !signalled;
    }
}

/// Where a task about to write lets the rest of the shard's pass run first, when that pass is a
/// busy one (the last turn woke more than one task): the writes of a pass then go out together
/// after the driver's next turn, instead of one every few microseconds while the pass runs.
///
/// A peer on another CPU that has gone to sleep is woken by the first write that reaches it, and
/// the writer pays for that wake-up (`sock_def_readable`, an inter-CPU interrupt in a VM). Writes
/// spread through a pass at mint's pace keep waking a peer that handles each one faster than the
/// next arrives; a burst wakes it once, and it finds the rest waiting. When the last turn woke
/// only this task, it writes at once: a lone request waits for nothing.
pub async fn write_point() {
    let busy = DRIVER.with(|d| d.borrow().as_ref().is_some_and(|d| d.pass.get() > 1));
    if busy {
        futures_lite::future::yield_now().await;
    }
}

/// Longest the driver sleeps without looking at the socket set itself. Under load on this
/// kernel (Linux 6.18, in 3 of 20 `perf/run` invocations of one session) a shard was seen asleep
/// for good with connections waiting: the bridge's poll of the epoll set armed and never
/// completed, the eventfd never signalled (`/proc/PID/fdinfo` of the stalled echo backend,
/// Session 18). The cause is not found; this bounds such a stall to this long instead of
/// forever, at the cost of an idle shard waking `1 / SLEEP_BOUND` times a second.
pub const SLEEP_BOUND: std::time::Duration = std::time::Duration::from_millis(20);

/// Sleeps that the timer ended although sockets were ready: wake-ups the bridge missed.
static MISSED_WAKE_UPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many wake-ups the bridge missed in this process (each cost up to [`SLEEP_BOUND`]).
pub fn missed_wake_ups() -> u64 {
    MISSED_WAKE_UPS.load(std::sync::atomic::Ordering::Relaxed)
}

#[cold]
fn missed_wake_up() {
    let n = MISSED_WAKE_UPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if n == 0 || (n + 1).is_power_of_two() {
        tracing::warn!(
            missed = n + 1,
            "socket driver: ready sockets did not wake the shard; found {} ms later by its \
             timer (a kernel wake-up was lost; see net/ring.rs)",
            SLEEP_BOUND.as_millis()
        );
    }
}

/// How often the keeper's timer fires while the driver is awake.
const KEEP: std::time::Duration = std::time::Duration::from_millis(5);

/// The keeper task: while the driver is awake, it keeps a glommio timer pending. glommio 0.9
/// can park its executor while a task is runnable (seen under load with a 2 ms preemption timer:
/// the driver stuck in a yield while the shard slept, with nothing to wake it, since the driver
/// arms the bridge only when it sleeps); a pending timer bounds such a stall to [`KEEP`].
async fn keep(d: Rc<Driver>) {
    loop {
        if d.awake.get() {
            glommio::timer::sleep(KEEP).await;
        } else {
            std::future::poll_fn(|cx| {
                if d.awake.get() {
                    return Poll::Ready(());
                }
                *d.keeper.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
        }
    }
}

/// A socket's place in its shard's epoll set.
pub struct Registration {
    driver: Rc<Driver>,
    idx: u32,
    gen: u32,
}

impl Registration {
    /// Registers the non-blocking socket `fd`, which must stay open until the registration is
    /// dropped (and is expected to be closed right after).
    pub fn new(fd: RawFd) -> io::Result<Registration> {
        let driver = driver()?;
        let (idx, gen) = driver.register(fd)?;
        Ok(Registration { driver, idx, gen })
    }

    /// Ready when the socket may be ready for `interest` (one of [`READABLE`], [`WRITABLE`]).
    pub fn poll_ready(&self, cx: &Context<'_>, interest: u8) -> Poll<()> {
        self.driver.poll_ready(self.idx, self.gen, cx, interest)
    }

    /// Forgets readiness for `interest` after a syscall answered `EAGAIN` (the kernel's word:
    /// for reads, a close signalled earlier is forgotten too).
    pub fn clear(&self, interest: u8) {
        self.driver
            .clear(self.idx, self.gen, interest | closed_for(interest))
    }

    /// Forgets that the socket is readable after a read that returned data left it drained,
    /// keeping a close already signalled.
    pub fn drained(&self) {
        self.driver.clear(self.idx, self.gen, READABLE)
    }

    /// Whether the socket may be ready for `interest`: an event came since the mark was last
    /// cleared, or the driver has not looked since (as of the driver's last turn).
    pub fn may_be_ready(&self, interest: u8) -> bool {
        self.driver.slots.borrow()[self.idx as usize].may_be_ready(self.gen, interest)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.driver.release(self.idx, self.gen);
    }
}
