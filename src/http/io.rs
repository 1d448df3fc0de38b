//! Glue between hyper's IO/timer traits and mint's streams and glommio's timers.
//!
//! hyper reads into a `ReadBufCursor` of possibly uninitialised memory, while futures-io's
//! `AsyncRead` needs an initialised `&mut [u8]`. A plain socket ([`crate::net::TcpStream`]) reads
//! straight into hyper's buffer (`recv` only writes); other streams (TLS) read into one initialised
//! scratch buffer per shard and copy only the bytes that arrived, rather than zeroing hyper's
//! buffer (which can be hundreds of KiB) on every read. A plain socket also takes vectored
//! writes, so hyper sends a head and a body's `Bytes` frames with one `sendmsg` instead of
//! copying the body into its write buffer first.

use std::future::Future;
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncWrite};

/// Upper bound of one read: the part of hyper's buffer we initialise per call.
pub const READ_CHUNK: usize = 16 * 1024;

/// A byte stream hyper can be given through [`HyperIo`]: futures-io, plus what a plain socket
/// can do better.
pub trait Stream: AsyncRead + AsyncWrite + Unpin {
    /// Reads into possibly uninitialised memory, if this stream can (`Ready(Ok(n))` means the
    /// first `n` bytes were written); `None` if it cannot, and the caller reads through
    /// `AsyncRead` instead.
    fn poll_read_uninit(
        &mut self,
        _cx: &mut Context<'_>,
        _buf: &mut [MaybeUninit<u8>],
    ) -> Option<Poll<std::io::Result<usize>>> {
        None
    }
    /// Whether `poll_write_vectored` writes more than the first buffer.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl Stream for crate::net::TcpStream {
    fn poll_read_uninit(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Option<Poll<std::io::Result<usize>>> {
        Some(crate::net::TcpStream::poll_read_uninit(self, cx, buf))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for futures_rustls::server::TlsStream<S> {}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for futures_rustls::client::TlsStream<S> {}

/// Wraps a [`Stream`] (a socket, a rustls stream over one) for hyper.
pub struct HyperIo<T>(pub T);

thread_local! {
    /// One initialised read buffer per shard. glommio reads synchronously into the slice it is
    /// given (a non-blocking `recv`; io_uring only arms readiness), so the buffer is never held
    /// across a poll and every connection of the shard can share it.
    static SCRATCH: std::cell::RefCell<Box<[u8]>> = std::cell::RefCell::new(vec![0u8; READ_CHUNK].into_boxed_slice());
}

impl<T: Stream> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        // SAFETY: the stream only writes to the cursor's spare memory, and reports how much.
        if let Some(r) = self.0.poll_read_uninit(cx, unsafe { buf.as_mut() }) {
            return match r {
                Poll::Ready(Ok(n)) => {
                    // SAFETY: the stream initialised the first `n` bytes.
                    unsafe { buf.advance(n) };
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            };
        }
        let want = buf.remaining().min(READ_CHUNK);
        // Read into the shard's scratch buffer and copy what arrived: the copy is as long as the
        // data, where zeroing hyper's uninitialised buffer would cost 16 KiB on every poll,
        // including the many that find nothing to read.
        let scratch_read = SCRATCH.with(|s| {
            let mut scratch = s.try_borrow_mut().ok()?;
            Some(
                match Pin::new(&mut self.0).poll_read(cx, &mut scratch[..want]) {
                    Poll::Ready(Ok(n)) => {
                        buf.put_slice(&scratch[..n]);
                        Poll::Ready(Ok(()))
                    }
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                },
            )
        });
        if let Some(r) = scratch_read {
            return r;
        }
        // Re-entered while the scratch buffer is in use (not expected): zero a bounded prefix.
        // SAFETY: we only expose the first `len` bytes of the cursor after writing zeroes to them,
        // so the slice handed to `poll_read` is fully initialised; `advance(n)` is called only for
        // the `n <= len` bytes the reader reports as filled.
        let n = unsafe {
            let spare = buf.as_mut();
            let len = spare.len().min(READ_CHUNK);
            let ptr = spare.as_mut_ptr() as *mut u8;
            std::ptr::write_bytes(ptr, 0, len);
            let slice = std::slice::from_raw_parts_mut(ptr, len);
            match Pin::new(&mut self.0).poll_read(cx, slice) {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        };
        // SAFETY: `n` bytes were initialised above and filled by the reader.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: Stream> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// hyper's timer (its header-read timeout, armed for every request) on the shard's deadline
/// queues ([`crate::net::deadline`]), which cost a queue push where a glommio timer costs a
/// reactor timer-tree update.
#[derive(Clone, Copy, Debug, Default)]
pub struct GlommioTimer;

impl hyper::rt::Timer for GlommioTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(GlommioSleep(crate::net::deadline::after(duration)))
    }
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(GlommioSleep(crate::net::deadline::until(deadline)))
    }
}

/// A shard-local deadline wearing hyper's `Send + Sync` bounds.
struct GlommioSleep(crate::net::deadline::Deadline);

// SAFETY: hyper requires `Sleep: Send + Sync`, but a sleep created here (a thread-local deadline) belongs to a hyper connection
// that is driven by one glommio executor for its whole life: connections are never moved between
// shards (every connection future is `!Send` anyway, holding a glommio stream), so the timer is only
// ever polled and dropped on the thread that created it.
unsafe impl Send for GlommioSleep {}
// SAFETY: see above; no `&GlommioSleep` is ever shared with another thread.
unsafe impl Sync for GlommioSleep {}

impl Future for GlommioSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl hyper::rt::Sleep for GlommioSleep {}

/// Reads what arrived on `io` into the spare capacity of `buf`, grown by `grow` when less than
/// `min` is free: straight into `buf` on a plain socket, through the shard's scratch buffer
/// otherwise (TLS). `Ready(Ok(0))` at the peer's close.
pub fn poll_read_buf<T: Stream>(
    io: &mut T,
    cx: &mut Context<'_>,
    buf: &mut bytes::BytesMut,
    min: usize,
    grow: usize,
) -> Poll<std::io::Result<usize>> {
    if buf.capacity() - buf.len() < min {
        buf.reserve(grow);
    }
    let spare = buf.spare_capacity_mut();
    if let Some(r) = io.poll_read_uninit(cx, spare) {
        let n = std::task::ready!(r)?;
        // SAFETY: the stream initialised the first `n` bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n) };
        return Poll::Ready(Ok(n));
    }
    let want = buf.spare_capacity_mut().len().min(READ_CHUNK);
    SCRATCH.with(|s| {
        let mut scratch = s.borrow_mut();
        let n = std::task::ready!(Pin::new(&mut *io).poll_read(cx, &mut scratch[..want]))?;
        buf.extend_from_slice(&scratch[..n]);
        Poll::Ready(Ok(n))
    })
}
