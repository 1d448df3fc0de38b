//! Serving one accepted connection: hyper's HTTP/1.1 state machine with mint's limits, a panic
//! boundary per request, and graceful shutdown on the shard's drain signal.
//!
//! Limits (from `[http]`): request head size and header count → 431 (hyper answers and closes),
//! malformed request line/headers → 400 (hyper), header-read timeout (also bounds idle keep-alive
//! waits) → connection closed. Buffered-body limits are applied by the message context (413).

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_lite::{AsyncRead, AsyncWrite};
use futures_util::future::{select, Either, FutureExt};
use http::{header, HeaderValue, Response, StatusCode};
use hyper::server::conn::http1;
use hyper::service::service_fn;

use super::body::Body;
use super::io::{GlommioTimer, HyperIo};
use crate::config::Settings;
use crate::mediation::Engine;

/// A one-shot, shard-local broadcast: fired once, wakes every waiter.
#[derive(Default)]
pub struct Signal {
    fired: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
}

impl Signal {
    pub fn fire(&self) {
        self.fired.set(true);
        for w in self.waiters.borrow_mut().drain(..) {
            w.wake();
        }
    }
    pub fn is_fired(&self) -> bool {
        self.fired.get()
    }
    pub fn wait(self: &Rc<Self>) -> SignalWait {
        SignalWait(self.clone())
    }
}

pub struct SignalWait(Rc<Signal>);

impl Future for SignalWait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.fired.get() {
            Poll::Ready(())
        } else {
            self.0.waiters.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// The hyper server builder with mint's limits.
pub fn builder(settings: &Settings) -> http1::Builder {
    let mut b = http1::Builder::new();
    b.timer(GlommioTimer)
        .keep_alive(true)
        .pipeline_flush(true)
        .half_close(false)
        .header_read_timeout(settings.header_read_timeout())
        .max_headers(settings.http.max_headers)
        .max_header_size(settings.http.max_head_size)
        .max_buf_size(settings.http.max_head_size.max(8192) + 8192);
    b
}

/// Serves HTTP/1.1 on `io` until the peer closes, an error occurs, or `drain` fires (then the
/// in-flight request finishes and the connection closes).
pub async fn serve<S>(builder: &http1::Builder, io: S, engine: Rc<Engine>, https: bool, drain: Rc<Signal>)
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let svc = service_fn(move |req| {
        let engine = engine.clone();
        async move {
            let resp = AssertUnwindSafe(engine.handle(req, https)).catch_unwind().await;
            Ok::<_, Infallible>(resp.unwrap_or_else(|_| panic_response()))
        }
    });
    let mut conn = pin!(builder.serve_connection(HyperIo(io), svc));
    match select(conn.as_mut(), pin!(drain.wait())).await {
        Either::Left((res, _)) => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        Either::Right(((), _)) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// A request whose mediation panicked: 500, and the connection closes.
fn panic_response() -> Response<Body> {
    tracing::error!("request handler panicked; answering 500 and closing the connection");
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}
