//! HTTP/1.1 request heads and bodies through hyper's server state machine configured with mint's
//! limits (the builder mint uses, minus the timer), over an in-memory connection.
#![no_main]

use std::pin::Pin;
use std::task::{Context, Poll};

use libfuzzer_sys::fuzz_target;

struct Mem {
    input: Vec<u8>,
    pos: usize,
}

impl hyper::rt::Read for Mem {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, mut buf: hyper::rt::ReadBufCursor<'_>) -> Poll<std::io::Result<()>> {
        let n = (self.input.len() - self.pos).min(buf.remaining()).min(97);
        let start = self.pos;
        buf.put_slice(&self.input[start..start + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for Mem {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.keep_alive(true).max_headers(100).max_header_size(64 * 1024).max_buf_size(72 * 1024);
    let svc = hyper::service::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
        use http_body_util_compat::collect;
        let _ = collect(req.into_body()).await;
        Ok::<_, std::convert::Infallible>(http::Response::new(mint::http::body::Body::full("ok")))
    });
    let conn = b.serve_connection(Mem { input: data.to_vec(), pos: 0 }, svc);
    let _ = futures_lite::future::block_on(conn);
});

mod http_body_util_compat {
    use http_body::Body as _;
    /// Reads a body to the end, as a content-aware mediator does.
    pub async fn collect(mut b: hyper::body::Incoming) -> usize {
        let mut n = 0;
        while let Some(Ok(frame)) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut b).poll_frame(cx)).await {
            if let Some(d) = frame.data_ref() {
                n += d.len();
            }
        }
        n
    }
}
