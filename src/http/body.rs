//! The body type of every message mint sends, to clients and to backends.
//!
//! `Incoming` streams a received body through without collecting it: frames are `Bytes` handed from
//! one socket to the other ([`Streamed`]). `Full` is a body a mediator built or read to the end.
//! A [`Streamed`] body can also come from memory ([`Streamed::local`]): tests build requests and
//! backend responses with streaming bodies without a socket.
//!
//! A body streamed to a backend can fail on the side that sends it (a client's malformed chunk, a
//! client that stops sending, a client that trickles): the HTTP client then reports a failed
//! exchange, and only the stream knows that the backend is not to blame. [`Streamed::watch`] arms
//! that bookkeeping; [`Watch::blame`] gives the sender's error.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::error::{Error, ErrorKind, Side};

/// The error type of every body mint sends.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Default)]
pub enum Body {
    #[default]
    Empty,
    Full(Option<Bytes>),
    Incoming(Streamed),
}

impl Body {
    pub fn full(b: impl Into<Bytes>) -> Body {
        let b = b.into();
        if b.is_empty() {
            Body::Empty
        } else {
            Body::Full(Some(b))
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut *self {
            Body::Empty => Poll::Ready(None),
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Incoming(i) => Pin::new(i).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(b) => b.is_none(),
            Body::Incoming(i) => i.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Incoming(i) => i.size_hint(),
        }
    }
}

/// A body stream that is not hyper's: built in memory (tests, scripted backends).
pub type LocalBody = Pin<Box<dyn http_body::Body<Data = Bytes, Error = BoxError>>>;

/// Where a [`Streamed`] body's frames come from.
enum Source {
    /// A client's socket, through mint's server ([`super::h1`]).
    Client(super::h1::RequestBody),
    /// A socket served by hyper (the echo backend of the load tests).
    Hyper(hyper::body::Incoming),
    /// A backend's socket, through mint's client ([`super::conn`]).
    Backend(Box<super::conn::ResponseBody>),
    /// Memory.
    Local(LocalBody),
}

impl Source {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        use http_body::Body as _;
        match self {
            Source::Client(b) => b.poll_frame(cx),
            Source::Hyper(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(BoxError::from))),
            Source::Backend(b) => b.poll_frame(cx),
            Source::Local(b) => b.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        use http_body::Body as _;
        match self {
            Source::Client(b) => b.is_end_stream(),
            Source::Hyper(b) => b.is_end_stream(),
            Source::Backend(b) => b.is_end_stream(),
            Source::Local(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        use http_body::Body as _;
        match self {
            Source::Client(b) => b.size_hint(),
            Source::Hyper(b) => b.size_hint(),
            Source::Backend(b) => b.size_hint(),
            Source::Local(b) => b.size_hint(),
        }
    }
}

/// A received body (a client's request body or a backend's response body) being passed on.
pub struct Streamed {
    inner: Source,
    /// Who sends this body.
    from: Side,
    /// The stream ended during [`Streamed::read_ahead`].
    ended: bool,
    /// Data read ahead by [`Streamed::read_ahead`], handed out first.
    ahead: Option<Bytes>,
    /// Trailers read ahead (a body without data), boxed: it is rare and `Body` stays small.
    ahead_trailers: Option<Box<http::HeaderMap>>,
    /// Armed by [`Streamed::watch`].
    watch: Option<Rc<Watch>>,
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamed")
            .field("from", &self.from)
            .field(
                "ahead",
                &(self.ahead.is_some() || self.ahead_trailers.is_some()),
            )
            .field("ended", &self.ended)
            .finish()
    }
}

impl Streamed {
    /// A body hyper receives from `from`.
    pub fn new(inner: hyper::body::Incoming, from: Side) -> Streamed {
        Streamed::with_source(Source::Hyper(inner), from)
    }

    /// A client's request body, read by mint's server.
    pub fn client(inner: super::h1::RequestBody) -> Streamed {
        Streamed::with_source(Source::Client(inner), Side::Client)
    }

    /// A backend's response body, read by mint's client.
    pub fn backend(inner: super::conn::ResponseBody) -> Streamed {
        Streamed::with_source(Source::Backend(Box::new(inner)), Side::Backend)
    }

    /// A body streamed from memory, as if `from` sent it.
    pub fn local(
        inner: impl http_body::Body<Data = Bytes, Error = BoxError> + 'static,
        from: Side,
    ) -> Streamed {
        Streamed::with_source(Source::Local(Box::pin(inner)), from)
    }

    fn with_source(inner: Source, from: Side) -> Streamed {
        Streamed {
            inner,
            from,
            ended: false,
            ahead: None,
            ahead_trailers: None,
            watch: None,
        }
    }

    /// Who sends this body.
    pub fn from_side(&self) -> Side {
        self.from
    }

    /// Waits for the first frame (or the end) and keeps it for the reader, so that a body that
    /// fails before its first byte fails here, while the exchange can still be answered.
    pub async fn read_ahead(&mut self) -> Result<(), BoxError> {
        if self.ahead.is_some() || self.ended || self.inner.is_end_stream() {
            return Ok(());
        }
        let inner = &mut self.inner;
        match std::future::poll_fn(|cx| inner.poll_frame(cx)).await {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => self.ahead = Some(data),
                Err(frame) => self.ahead_trailers = frame.into_trailers().ok().map(Box::new),
            },
            Some(Err(e)) => return Err(e),
            None => self.ended = true,
        }
        Ok(())
    }

    /// Records, while this body is forwarded, whether its sender fails or keeps the reader waiting
    /// longer than `budget` in all (then the stream fails with a timeout). Time spent while the
    /// reader does not ask for data (a slow backend) is not counted.
    pub fn watch(&mut self, budget: Duration) -> Rc<Watch> {
        let w = Rc::new(Watch {
            from: self.from,
            budget,
            waited: Cell::new(Duration::ZERO),
            waiting_since: Cell::new(None),
            failed: Cell::new(None),
            done: Cell::new(false),
            timer: Cell::new(None),
            armed: Cell::new(None),
        });
        self.watch = Some(w.clone());
        w
    }
}

/// The sender of a watched body was too slow.
#[derive(Debug)]
pub struct SenderTimeout(pub Duration);

impl std::fmt::Display for SenderTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the body did not arrive within {} ms",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for SenderTimeout {}

impl http_body::Body for Streamed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(data) = this.ahead.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(trailers) = this.ahead_trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(*trailers))));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        let polled = this.inner.poll_frame(cx);
        let Some(watch) = &this.watch else {
            return polled;
        };
        match polled {
            Poll::Pending => {
                let now = Instant::now();
                let since = match watch.waiting_since.get() {
                    Some(since) => since,
                    None => {
                        watch.waiting_since.set(Some(now));
                        now
                    }
                };
                let waited = watch.waited.get() + now.duration_since(since);
                if waited >= watch.budget {
                    watch.failed.set(Some(ErrorKind::ClientTimeout));
                    watch.waiting_since.set(None);
                    return Poll::Ready(Some(Err(Box::new(SenderTimeout(watch.budget)))));
                }
                // The timer only has to fire no later than the budget runs out. The deadline
                // only moves later (time the reader does not wait is not counted), so a timer
                // armed for an earlier wait still serves: it is re-armed only once it has fired
                // early, not on every wait (each arming is a reactor timer-tree update).
                let deadline = now + (watch.budget - waited);
                if watch.armed.get().is_none_or(|armed| armed <= now) {
                    let mut timer = watch.timer.take();
                    match &mut timer {
                        Some(t) => t.reset(watch.budget - waited),
                        None => timer = Some(glommio::timer::Timer::new(watch.budget - waited)),
                    }
                    if let Some(t) = timer.as_mut() {
                        // Registers this task's waker with the reactor (not ready: the
                        // deadline is ahead).
                        let _ = Pin::new(t).poll(cx);
                    }
                    watch.timer.set(timer);
                    watch.armed.set(Some(deadline));
                }
                Poll::Pending
            }
            Poll::Ready(item) => {
                if let Some(since) = watch.waiting_since.take() {
                    watch.waited.set(watch.waited.get() + since.elapsed());
                }
                match &item {
                    None => {
                        watch.done.set(true);
                        // Nothing more to wait for: the timer leaves the reactor.
                        watch.timer.set(None);
                        watch.armed.set(None);
                    }
                    Some(Err(_)) => watch.failed.set(Some(ErrorKind::ClientIo)),
                    Some(Ok(_)) => {}
                }
                Poll::Ready(item)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ahead.is_none()
            && self.ahead_trailers.is_none()
            && (self.ended || self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        if self.ended {
            return SizeHint::with_exact(0);
        }
        let hint = self.inner.size_hint();
        let ahead = match &self.ahead {
            Some(d) => d.len() as u64,
            None => return hint,
        };
        let mut h = SizeHint::new();
        h.set_lower(hint.lower() + ahead);
        if let Some(u) = hint.upper() {
            h.set_upper(u + ahead);
        }
        h
    }
}

/// What happened to a watched body, shared between the stream (owned by the HTTP client while it
/// sends) and the caller that decides whose fault a failed exchange was.
pub struct Watch {
    from: Side,
    budget: Duration,
    /// Time spent waiting for the sender, before the current wait.
    waited: Cell<Duration>,
    /// Set while the reader waits for the sender.
    waiting_since: Cell<Option<Instant>>,
    /// `ClientIo` (the stream failed) or `ClientTimeout` (the sender was too slow).
    failed: Cell<Option<ErrorKind>>,
    /// The stream was read to its end.
    done: Cell<bool>,
    /// Bounds the waits for the sender: armed at the first wait, kept between waits, re-armed
    /// only after it fired before the budget ran out.
    timer: Cell<Option<glommio::timer::Timer>>,
    /// When the armed timer fires at the latest (None: not armed).
    armed: Cell<Option<Instant>>,
}

impl Watch {
    /// The sender's error when an exchange carrying this body failed: the stream broke or timed
    /// out, or — when the exchange timed out (`timed_out`) — it is still waiting for its sender.
    /// `None`: the body is not to blame.
    pub fn blame(&self, timed_out: bool) -> Option<Error> {
        let kind = match self.failed.get() {
            Some(k) => k,
            None if timed_out && !self.done.get() && self.waiting_since.get().is_some() => {
                ErrorKind::ClientTimeout
            }
            None => return None,
        };
        let (kind, context) = match (self.from, kind) {
            (Side::Client, ErrorKind::ClientTimeout) => (
                ErrorKind::ClientTimeout,
                format!(
                    "the client did not send its body in time (waited {} ms)",
                    self.waited_total().as_millis()
                ),
            ),
            (Side::Client, _) => (
                ErrorKind::ClientIo,
                "the client's request body is malformed or was cut off".to_string(),
            ),
            (_, ErrorKind::ClientTimeout) => (
                ErrorKind::BadResponse,
                "the backend response being forwarded stalled".to_string(),
            ),
            _ => (
                ErrorKind::BadResponse,
                "the backend response being forwarded failed".to_string(),
            ),
        };
        Some(Error::new(kind, self.from, context))
    }

    fn waited_total(&self) -> Duration {
        self.waited.get()
            + self
                .waiting_since
                .get()
                .map_or(Duration::ZERO, |s| s.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use http_body::Frame;
    use http_body_util::BodyExt;

    use super::{BoxError, Streamed};
    use crate::error::{ErrorKind, Side};

    /// A sender that sends `frames` chunks, each `gap` after the reader first asks for it.
    fn sender(frames: usize, gap: Duration) -> Streamed {
        let stream = futures_lite::stream::unfold(0, move |i| async move {
            if i == frames {
                return None;
            }
            glommio::timer::sleep(gap).await;
            Some((
                Ok::<_, BoxError>(Frame::data(Bytes::from_static(b"x"))),
                i + 1,
            ))
        });
        Streamed::local(http_body_util::StreamBody::new(stream), Side::Client)
    }

    #[test]
    fn a_sender_slower_than_the_budget_in_all_fails_the_stream() {
        crate::http::run_local(async {
            // 8 waits of 20 ms: 160 ms of waiting, over a 70 ms budget.
            let mut body = sender(8, Duration::from_millis(20));
            let watch = body.watch(Duration::from_millis(70));
            let mut frames = 0;
            let failed = loop {
                match body.frame().await {
                    Some(Ok(_)) => frames += 1,
                    Some(Err(e)) => break e,
                    None => panic!("the stream ended without a timeout"),
                }
            };
            assert!(failed.to_string().contains("70 ms"), "{failed}");
            assert!(
                (1..=4).contains(&frames),
                "{frames} frames before the timeout"
            );
            let blame = watch.blame(false).expect("the sender is to blame");
            assert_eq!(blame.kind, ErrorKind::ClientTimeout);
        });
    }

    #[test]
    fn time_the_reader_does_not_wait_is_not_counted() {
        crate::http::run_local(async {
            // 3 waits of 10 ms with the reader pausing 100 ms after each: over 300 ms of wall
            // time, about 30 ms of waiting for the sender, under the 200 ms budget.
            let mut body = sender(3, Duration::from_millis(10));
            let watch = body.watch(Duration::from_millis(200));
            let mut frames = 0;
            while let Some(f) = body.frame().await {
                f.expect("no timeout: the reader's own pauses are not the sender's");
                frames += 1;
                glommio::timer::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(frames, 3);
            assert!(watch.blame(false).is_none());
        });
    }
}
