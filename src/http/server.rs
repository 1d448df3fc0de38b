//! Serving one accepted connection: mint's HTTP/1.1 server ([`super::h1`]) with mint's limits, a
//! panic boundary per request, and graceful shutdown on the shard's drain signal.
//!
//! Limits (from `[http]`): request head size and header count → 431 (answered, then the
//! connection closes), malformed request line/headers → 400, header-read timeout (also bounds
//! idle keep-alive waits) → connection closed. Buffered-body limits are applied by the message
//! context (413). The request head's rules (framing, `Host`, transfer codings) are
//! [`super::h1::parse_request`]'s.
//!
//! A client may half-close its side once its request is complete: the answer is still sent
//! (unless `[http] half_close = false`). A client that resets its connection while its request is
//! served abandons it: [`super::watch`] notices, and the request's work is dropped (a debug log line;
//! the access log does not record it).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::os::fd::RawFd;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use std::time::Duration;

use futures_lite::{AsyncRead, AsyncWrite};
use futures_util::future::FutureExt;
use http::{header, HeaderValue, Request, Response, StatusCode};

use super::body::{Body, Streamed};
use super::conn::Decoder;
use super::h1::{self, ResponseWriter};
use super::watch;
use crate::config::Settings;

/// A one-shot, shard-local broadcast: fired once, wakes every waiter. Each waiting future holds
/// one slot (re-polling replaces its waker instead of adding one; dropping frees the slot), so
/// long-lived waiters such as keep-alive connections do not grow the list.
#[derive(Default)]
pub struct Signal {
    fired: Cell<bool>,
    slots: RefCell<Vec<Option<Waker>>>,
    free: RefCell<Vec<usize>>,
}

impl Signal {
    pub fn fire(&self) {
        self.fired.set(true);
        for w in self.slots.borrow_mut().iter_mut() {
            if let Some(w) = w.take() {
                w.wake();
            }
        }
    }
    pub fn is_fired(&self) -> bool {
        self.fired.get()
    }
    pub fn wait(self: &Rc<Self>) -> SignalWait {
        SignalWait {
            signal: self.clone(),
            slot: None,
        }
    }
}

pub struct SignalWait {
    signal: Rc<Signal>,
    slot: Option<usize>,
}

impl Future for SignalWait {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.fired.get() {
            return Poll::Ready(());
        }
        let waker = Some(cx.waker().clone());
        match self.slot {
            Some(i) => self.signal.slots.borrow_mut()[i] = waker,
            None => {
                let i = match self.signal.free.borrow_mut().pop() {
                    Some(i) => {
                        self.signal.slots.borrow_mut()[i] = waker;
                        i
                    }
                    None => {
                        let mut slots = self.signal.slots.borrow_mut();
                        slots.push(waker);
                        slots.len() - 1
                    }
                };
                self.slot = Some(i);
            }
        }
        Poll::Pending
    }
}

impl Drop for SignalWait {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            if let Some(w) = self.signal.slots.borrow_mut().get_mut(i) {
                *w = None;
            }
            self.signal.free.borrow_mut().push(i);
        }
    }
}

/// What bounds the requests of a connection (from `[http]`).
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub limits: h1::Limits,
    /// Longest wait for a request head, idle keep-alive waits included.
    pub header_read_timeout: Duration,
}

/// The server options of `settings`.
pub fn options(settings: &Settings) -> Options {
    Options {
        limits: h1::Limits {
            max_head: settings.http.max_head_size,
            max_headers: settings.http.max_headers,
        },
        header_read_timeout: settings.header_read_timeout(),
    }
}

/// What a request knows of its connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Conn {
    /// It came in on the HTTPS listener.
    pub https: bool,
    /// The client's address (Synapse's `REMOTE_ADDR`).
    pub remote: Option<std::net::IpAddr>,
}

/// What answers the requests of a connection (in mint, the shard's mediation engine). The
/// future owns what it needs, so the connection can hold it across awaits.
pub trait Handler: 'static {
    fn handle(
        &self,
        req: Request<Body>,
        conn: Conn,
    ) -> impl Future<Output = Response<Body>> + use<Self>;
}

/// How waiting for a request head ended.
enum Next {
    /// A head was parsed (into the caller's slot).
    Request,
    /// The client closed, went quiet too long, or the shard drains: close without an answer.
    Close,
    /// The head was refused: answer this and close.
    Refuse(StatusCode),
}

/// Serves HTTP/1.1 on `io` until the peer closes, an error occurs, or `drain` fires (then the
/// in-flight request finishes and the connection closes). `fd` is the client's socket, watched
/// while a request is served so that a client who leaves does not keep its work running.
pub async fn serve<S, H>(
    options: &Options,
    io: S,
    fd: RawFd,
    handler: Rc<H>,
    conn: Conn,
    drain: Rc<Signal>,
) where
    S: super::io::Stream + 'static,
    H: Handler,
{
    let wire = Rc::new(RefCell::new(h1::Wire::new(Lingering(Some(io)))));
    let mut slot = None;
    loop {
        let parsed = match next_head(&wire, options, &drain, &mut slot).await {
            Next::Request => match slot.take() {
                Some(p) => p,
                None => return,
            },
            Next::Close => return,
            Next::Refuse(status) => {
                tracing::debug!(status = status.as_u16(), "request head refused");
                let mut w = ResponseWriter::new(
                    h1::Encoded {
                        head: h1::refusal(status),
                        encoding: h1::Encoding::Length(0),
                        close: true,
                    },
                    Body::Empty,
                );
                let _ = std::future::poll_fn(|cx| w.poll(&wire, cx)).await;
                return;
            }
        };
        let h1::Parsed {
            request,
            decoder,
            keep_alive,
            expect_continue,
        } = parsed;
        let generation = {
            let mut w = wire.borrow_mut();
            w.generation += 1;
            w.body = decoder;
            w.continue_left = if expect_continue && !decoder.is_end() {
                h1::CONTINUE.len()
            } else {
                0
            };
            w.generation
        };
        let method = request.method().clone();
        let version = request.version();
        let body = if decoder == Decoder::Done {
            Body::Empty
        } else {
            let shared: Rc<RefCell<dyn h1::BodyWire>> = wire.clone();
            Body::Incoming(Streamed::client(h1::RequestBody::new(shared, generation)))
        };
        let req = request.map(|()| body);
        let fut = std::pin::pin!(handler.handle(req, conn));
        let resp = Answer {
            fut,
            gone: watch::client_gone(fd),
        }
        .await;
        let keep = keep_alive && !drain.is_fired();
        let encoded = h1::encode_response(&resp, &method, version, keep);
        let close = encoded.close;
        let (parts, body) = resp.into_parts();
        let mut writer = ResponseWriter::new(encoded, body);
        h1::recycle_header_map(parts.headers);
        // In a busy pass, the answers go out together after it (see `write_point`).
        crate::net::ring::write_point().await;
        if let Err(e) = std::future::poll_fn(|cx| writer.poll(&wire, cx)).await {
            tracing::debug!(error = ?e, "the answer could not be sent whole");
            return;
        }
        drop(writer);
        // Someone still holds the request's body (work left running after the answer): it reads
        // on from this connection, which carries no other request.
        let held = Rc::strong_count(&wire) > 1;
        let mut w = wire.borrow_mut();
        let unfinished = !w.body.is_end();
        // A body the handler left unread: what already arrived of it is skipped; if it has not
        // all arrived, the connection cannot carry another request.
        if close
            || w.broken
            || (held && unfinished)
            || !w.skip_buffered_body()
            || (w.eof && w.buf.is_empty())
        {
            return;
        }
        w.continue_left = 0;
    }
}

/// Waits for the next request head: parsed from what is buffered, else read within the
/// header-read timeout. An idle connection closes when the shard drains.
async fn next_head<S: super::io::Stream>(
    wire: &RefCell<h1::Wire<S>>,
    options: &Options,
    drain: &Rc<Signal>,
    slot: &mut Option<h1::Parsed>,
) -> Next {
    // Within the limit, a head may be incomplete; past it, it can no longer be served.
    let max_buffered = options.limits.max_head.max(8192) + 8192;
    // How far the buffer was searched for the end of a head: a head that arrives a byte at a
    // time is parsed once it is whole, not once per byte (which would cost the square of its
    // length).
    let mut scanned = 0;
    let read = std::future::poll_fn(|cx| {
        let mut w = wire.borrow_mut();
        loop {
            if !w.buf.is_empty() {
                // The first bytes are parsed at once, so that garbage is refused without waiting.
                if scanned == 0 || h1::head_ends(&w.buf, scanned) {
                    match h1::parse_request(&mut w.buf, options.limits) {
                        Ok(Some(p)) => {
                            *slot = Some(p);
                            return Poll::Ready(Next::Request);
                        }
                        Ok(None) => {}
                        Err(status) => return Poll::Ready(Next::Refuse(status)),
                    }
                }
                scanned = w.buf.len();
                if w.buf.len() > max_buffered {
                    return Poll::Ready(Next::Refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
                }
            }
            if w.eof {
                return Poll::Ready(Next::Close);
            }
            match std::task::ready!(w.poll_fill(cx)) {
                Ok(0) | Err(_) => return Poll::Ready(Next::Close),
                Ok(_) => {}
            }
        }
    });
    let timeout = crate::net::deadline::after(options.header_read_timeout).map(|()| {
        tracing::debug!("no request head within the header-read timeout: closing");
        Next::Close
    });
    let draining = drain.wait().map(|()| Next::Close);
    futures_lite::future::or(read, futures_lite::future::or(timeout, draining)).await
}

/// The client's stream, closed the way nginx does (lingering close): on drop, our side is shut
/// down for writing and unread input is drained for a bounded time, so that a final response sent
/// before closing (400, 431…) is not destroyed by a TCP reset caused by unread request bytes.
struct Lingering<S: AsyncRead + AsyncWrite + Unpin + 'static>(Option<S>);

/// Upper bounds of the drain after close.
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;
/// Most sockets a shard keeps lingering at once: they hold descriptors that the connection
/// limit no longer counts, so under a flood of closing connections the rest close at once.
const LINGER_MAX: usize = 512;

thread_local! {
    static LINGERING: Cell<usize> = const { Cell::new(0) };
}

/// One lingering socket in the shard's count, released on drop.
struct LingerSlot;

impl LingerSlot {
    fn take() -> Option<LingerSlot> {
        LINGERING.with(|n| {
            (n.get() < LINGER_MAX).then(|| {
                n.set(n.get() + 1);
                LingerSlot
            })
        })
    }
}

impl Drop for LingerSlot {
    fn drop(&mut self) {
        LINGERING.with(|n| n.set(n.get() - 1));
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> Drop for Lingering<S> {
    fn drop(&mut self) {
        let Some(mut s) = self.0.take() else { return };
        let Some(slot) = LingerSlot::take() else {
            return;
        };
        glommio::spawn_local(async move {
            let _slot = slot;
            use futures_lite::{AsyncReadExt, AsyncWriteExt};
            let drain = async {
                let _ = s.close().await;
                let mut buf = [0u8; 4096];
                let mut total = 0;
                while total < LINGER_BYTES {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => total += n,
                    }
                }
            };
            futures_lite::future::or(drain, glommio::timer::sleep(LINGER_TIME)).await;
        })
        .detach();
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> AsyncRead for Lingering<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.0.as_mut() {
            Some(s) => Pin::new(s).poll_read(cx, buf),
            None => Poll::Ready(Ok(0)),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> AsyncWrite for Lingering<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.0.as_mut() {
            Some(s) => Pin::new(s).poll_write(cx, buf),
            None => Poll::Ready(Err(std::io::ErrorKind::NotConnected.into())),
        }
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.0.as_mut() {
            Some(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            None => Poll::Ready(Err(std::io::ErrorKind::NotConnected.into())),
        }
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.0.as_mut() {
            Some(s) => Pin::new(s).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.0.as_mut() {
            Some(s) => Pin::new(s).poll_close(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl<S: super::io::Stream + 'static> super::io::Stream for Lingering<S> {
    fn poll_read_uninit(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Option<Poll<std::io::Result<usize>>> {
        match self.0.as_mut() {
            Some(s) => s.poll_read_uninit(cx, buf),
            None => Some(Poll::Ready(Ok(0))),
        }
    }
    fn is_write_vectored(&self) -> bool {
        self.0.as_ref().is_some_and(|s| s.is_write_vectored())
    }
}

/// The handler's answer to one request: a panic in it answers 500, and a client that leaves while
/// it runs abandons it (499). One future over the pinned handler future, so that the handler's
/// (large) future is moved once into place rather than through a chain of combinators.
struct Answer<'a, F> {
    fut: Pin<&'a mut F>,
    gone: watch::ClientGone,
}

impl<F: Future<Output = Response<Body>>> Future for Answer<'_, F> {
    type Output = Response<Body>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response<Body>> {
        let this = &mut *self;
        // The answer first: one ready at once never registers a watch.
        let fut = this.fut.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Ready(r)) => return Poll::Ready(r),
            Ok(Poll::Pending) => {}
            Err(_) => return Poll::Ready(panic_response()),
        }
        if Pin::new(&mut this.gone).poll(cx).is_ready() {
            tracing::debug!("the client left; its request was abandoned (499)");
            return Poll::Ready(abandoned_response());
        }
        Poll::Pending
    }
}

/// What a request abandoned by its client ends with: nginx's 499, written to a socket that is
/// gone (hyper's write fails and the connection ends).
fn abandoned_response() -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST);
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// A request whose mediation panicked: 500, and the connection closes.
fn panic_response() -> Response<Body> {
    tracing::error!("request handler panicked; answering 500 and closing the connection");
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Count(std::sync::atomic::AtomicUsize);
    impl Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn waiters_reuse_their_slot_and_all_wake() {
        let sig = Rc::new(Signal::default());
        let count = std::sync::Arc::new(Count(Default::default()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut a = Box::pin(sig.wait());
        let mut b = Box::pin(sig.wait());
        for _ in 0..100 {
            assert!(a.as_mut().poll(&mut cx).is_pending());
        }
        assert!(b.as_mut().poll(&mut cx).is_pending());
        assert_eq!(sig.slots.borrow().len(), 2, "re-polling must not add slots");
        drop(b);
        let mut c = Box::pin(sig.wait());
        assert!(c.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            sig.slots.borrow().len(),
            2,
            "a dropped waiter's slot is reused"
        );
        sig.fire();
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(a.as_mut().poll(&mut cx).is_ready());
    }
}
