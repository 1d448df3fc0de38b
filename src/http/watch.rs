//! Noticing that a client left while its request is being served.
//!
//! hyper serves with half-close allowed (a client may shut its sending side once its request is
//! complete and still get the answer), so it does not read the connection while a request is
//! served and would learn of a reset only when writing the answer. Until then the work done for
//! that client — backend calls, the parts of a split — would go on for nobody.
//!
//! A request whose answer is not ready at once registers its socket here ([`client_gone`]). One
//! task per shard, running only while something is registered, checks every registered socket
//! with a single non-blocking `poll(2)` each [`TICK`]: a socket reset or closed in both
//! directions (`POLLERR`/`POLLHUP`) ends the wait, and with `[http] half_close = false` so does a
//! client's FIN (`POLLRDHUP`) once no unread data is left before it, as nginx checks with a
//! `MSG_PEEK`. Dropping the request's future then cancels what it was doing. Registering is a
//! slot in a shard-local table: no syscall, no timer.
//!
//! A request is checked from the tick after the one it registered in, so what answers within a
//! tick is never polled.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// How often a shard checks the sockets of requests still being served.
pub const TICK: Duration = Duration::from_millis(200);

struct Entry {
    fd: RawFd,
    /// The tick in which it registered; checked from the next one.
    tick: u64,
    waker: Waker,
    gone: bool,
}

#[derive(Default)]
struct Table {
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    live: usize,
    tick: u64,
    /// Whether the checking task runs.
    running: bool,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::default();
    /// `[http] half_close`: whether a FIN alone lets the request go on.
    static HALF_CLOSE: Cell<bool> = const { Cell::new(true) };
}

/// Sets, for this shard, whether a client's FIN while its request is served is a half-close
/// (the answer is still sent) or a departure (the request is abandoned).
pub fn set_half_close(allowed: bool) {
    HALF_CLOSE.with(|h| h.set(allowed));
}

/// Resolves when the client on `fd` is gone. Registers on its first poll, unregisters on drop.
pub fn client_gone(fd: RawFd) -> ClientGone {
    ClientGone { fd, slot: None }
}

pub struct ClientGone {
    fd: RawFd,
    slot: Option<usize>,
}

impl Future for ClientGone {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let fd = self.fd;
        TABLE.with(|t| {
            let mut t = t.borrow_mut();
            match self.slot {
                Some(i) => {
                    // The slot is this future's until it drops; were it missing, the request
                    // would just not be watched.
                    let Some(e) = t.slots.get_mut(i).and_then(Option::as_mut) else {
                        return Poll::Pending;
                    };
                    if e.gone {
                        return Poll::Ready(());
                    }
                    if !e.waker.will_wake(cx.waker()) {
                        e.waker = cx.waker().clone();
                    }
                }
                None => {
                    let e = Entry {
                        fd,
                        tick: t.tick,
                        waker: cx.waker().clone(),
                        gone: false,
                    };
                    let i = match t.free.pop() {
                        Some(i) => {
                            t.slots[i] = Some(e);
                            i
                        }
                        None => {
                            t.slots.push(Some(e));
                            t.slots.len() - 1
                        }
                    };
                    t.live += 1;
                    self.slot = Some(i);
                    if !t.running {
                        t.running = true;
                        glommio::spawn_local(check_loop()).detach();
                    }
                }
            }
            Poll::Pending
        })
    }
}

impl Drop for ClientGone {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            // A shard being torn down may drop its futures after its thread-locals.
            let _ = TABLE.try_with(|t| {
                let mut t = t.borrow_mut();
                if let Some(slot) = t.slots.get_mut(i).filter(|s| s.is_some()) {
                    *slot = None;
                    t.free.push(i);
                    t.live -= 1;
                }
            });
        }
    }
}

/// The shard's checking task: polls the registered sockets each tick, and ends when none is left.
async fn check_loop() {
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut which: Vec<usize> = Vec::new();
    loop {
        glommio::timer::sleep(TICK).await;
        let half_close = HALF_CLOSE.with(Cell::get);
        let done = TABLE.with(|t| {
            let mut t = t.borrow_mut();
            if t.live == 0 {
                t.running = false;
                return true;
            }
            let now = t.tick;
            t.tick += 1;
            fds.clear();
            which.clear();
            for (i, e) in t.slots.iter().enumerate() {
                if let Some(e) = e.as_ref().filter(|e| e.tick < now && !e.gone) {
                    fds.push(libc::pollfd {
                        fd: e.fd,
                        events: libc::POLLRDHUP,
                        revents: 0,
                    });
                    which.push(i);
                }
            }
            false
        });
        if done {
            return;
        }
        if fds.is_empty() {
            continue;
        }
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs; a zero timeout never
        // blocks. The descriptors belong to connections still registered, hence still open.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
        if n <= 0 {
            continue;
        }
        TABLE.with(|t| {
            let mut t = t.borrow_mut();
            for (p, &i) in fds.iter().zip(&which) {
                let gone = p.revents & (libc::POLLERR | libc::POLLHUP) != 0
                    || (!half_close && p.revents & libc::POLLRDHUP != 0 && at_eof(p.fd));
                if !gone {
                    continue;
                }
                if let Some(e) = t.slots[i].as_mut().filter(|e| e.fd == p.fd) {
                    e.gone = true;
                    e.waker.wake_by_ref();
                }
            }
        });
    }
}

/// Whether nothing is left to read before the peer's FIN (the request's body, a pipelined
/// request): then the client has closed, not merely finished sending.
fn at_eof(fd: RawFd) -> bool {
    // The descriptor belongs to a registered, open connection.
    matches!(crate::net::tcp::peek(fd), Ok(0))
}
