//! One HTTP/1.1 exchange on a backend connection: mint's own client side of the protocol, on
//! `httparse` (as pingora does), in place of hyper's client dispatcher.
//!
//! Why not hyper's client: it runs each connection as a task of its own that the request reaches
//! through a channel, and a second task per request waits to put the connection back in the pool.
//! Here the exchange drives the connection itself, so a request costs no task, no channel and no
//! wake-up between tasks.
//!
//! - The request head is written with the body's first frame in one `sendmsg` (a `Full` body goes
//!   in that same write). Framing follows hyper's client rules, which mint relied on until now:
//!   a `Content-Length` set by the sender is kept, a known length is sent as `Content-Length`, an
//!   unknown one is chunked (HTTP/1.1) or, in HTTP/1.0, sent as no body at all; an empty body sends
//!   no framing header.
//! - The response head is read while the request body is still being written: a backend may
//!   answer early, and a backend that streams its answer while it reads (an echo) would otherwise
//!   stall both sides once the socket buffers fill. Until the request body is written, whoever
//!   reads the response body also drives the writing, so one task (and one waker) serves both and
//!   nothing is spawned. If the response ends first, what is left of the request is not sent and
//!   the connection is closed.
//! - Response framing as RFC 9112 §6.3 says: no body for HEAD, 1xx, 204 and 304; chunked when
//!   `Transfer-Encoding` ends in `chunked`; else `Content-Length` (every value the same, or the
//!   response is malformed); else up to the close. Informational answers other than 101 are
//!   skipped. A chunked body is decoded strictly (CRLF line ends, bounded size lines and trailers;
//!   trailers are read and dropped).
//! - Errors of the response body are `std::io::Error`s: `InvalidData` for a malformed body (a
//!   protocol fault of the backend) and `UnexpectedEof` for one cut short.
//! - The connection goes back to the pool when the response body ended, the request was written
//!   whole, both sides keep the connection alive and nothing follows the response.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncRead, AsyncWrite};
use http::header::{self, HeaderMap};
use http::{Method, StatusCode, Version};
use http_body::{Frame, SizeHint};

use super::body::{Body, BoxError};
use super::upstream::Origin;
use crate::net::TcpStream;

/// A backend connection, plain or TLS.
pub enum ClientStream {
    Plain(TcpStream),
    Tls(Box<futures_rustls::client::TlsStream<TcpStream>>),
}

impl ClientStream {
    fn tcp(&self) -> &TcpStream {
        match self {
            ClientStream::Plain(s) => s,
            ClientStream::Tls(s) => s.get_ref().0,
        }
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self {
            ClientStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            // rustls takes one buffer at a time (it copies into its records anyway).
            ClientStream::Tls(s) => {
                let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
                Pin::new(s.as_mut()).poll_write(cx, first)
            }
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            ClientStream::Plain(_) => Poll::Ready(Ok(())),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    /// Reads what arrived into the spare capacity of `buf` (grown when short).
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        match self {
            ClientStream::Plain(s) => super::io::poll_read_buf(s, cx, buf, MIN_READ, READ_BUF),
            ClientStream::Tls(s) => {
                super::io::poll_read_buf(s.as_mut(), cx, buf, MIN_READ, READ_BUF)
            }
        }
    }
}

/// Reads ask for at least this much room.
const MIN_READ: usize = 4096;
/// What the read buffer grows by.
const READ_BUF: usize = 16 * 1024;
/// Longest chunk-size line (with its extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// Header slots parsed without a heap allocation.
const STACK_HEADERS: usize = 128;

/// One open connection to a backend, with what was read and not consumed yet.
pub struct Conn {
    pub(super) io: ClientStream,
    buf: BytesMut,
    pub origin: Origin,
    /// When it went idle in the pool.
    pub since: Instant,
}

/// What bounds a response head.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_head: usize,
    pub max_headers: usize,
}

impl Conn {
    pub fn new(io: ClientStream, origin: Origin) -> Conn {
        Conn {
            io,
            buf: BytesMut::new(),
            origin,
            since: Instant::now(),
        }
    }

    /// Whether nothing more can be read right now. For TLS, rustls may hold decrypted bytes (or
    /// a close_notify) that a peek of the socket does not see: one read with a no-op waker tells.
    fn quiet(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        match &mut self.io {
            ClientStream::Plain(_) => true,
            ClientStream::Tls(s) => {
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let mut byte = [0u8; 1];
                Pin::new(s.as_mut())
                    .poll_read(&mut cx, &mut byte)
                    .is_pending()
            }
        }
    }

    /// Whether an idle connection can carry a request: the peer has not closed it, and it has
    /// sent nothing since its last response. When no event came since a read found the socket
    /// drained, that is known without a syscall (as nginx knows it from its event loop: a close
    /// the driver has not collected yet is missed by both); else a non-blocking peek tells.
    pub fn is_usable(&self) -> bool {
        use std::os::fd::AsRawFd;
        if !self.buf.is_empty() {
            return false;
        }
        let tcp = self.io.tcp();
        if !tcp.may_be_readable() {
            return true;
        }
        let drained = matches!(
            crate::net::tcp::peek(tcp.as_raw_fd()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        );
        if drained {
            tcp.found_drained();
        }
        drained
    }
}

/// A request on its way out: the encoded head and the body, written as the socket takes them.
pub struct Writer {
    parts: Parts,
    body: Body,
    framing: Encoding,
    /// The body gave its last frame (or has none).
    body_done: bool,
    /// Everything, the terminator included, is written.
    pub done: bool,
    /// The socket failed while writing: the connection is not used again.
    pub failed: bool,
    /// Bytes of the request written so far.
    pub sent: u64,
    /// Frames taken from the body (a streamed one cannot be sent again).
    taken: bool,
    /// A copy of a body held in memory, for a second attempt.
    replay: Option<Body>,
    /// The body's first frame was looked for (to go out with the head).
    gathered: bool,
    /// The request lets the connection stay open (HTTP/1.1 without `Connection: close`).
    pub keep_alive: bool,
}

/// How a body goes on the wire (a request's, or an answer's in [`super::h1`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Exactly this many body bytes are left to send (0: no body at all).
    Length(u64),
    Chunked,
    /// Up to the close (an HTTP/1.0 answer of unknown length; never a request).
    Close,
}

/// Written heads' buffers a shard keeps for the next heads.
const HEADS_KEPT: usize = 16;
/// A head buffer that grew beyond this is not kept.
const HEAD_KEPT_CAPACITY: usize = 4096;

thread_local! {
    static HEADS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty buffer for a head of about `n` bytes: one a written head left
/// ([`recycle_head`]), else a new one. A proxied request encodes two heads (the backend's request
/// and the client's answer) and writes each at once.
pub(super) fn head_buffer(n: usize) -> Vec<u8> {
    HEADS
        .with(|heads| heads.try_borrow_mut().ok()?.pop())
        .map(|mut v| {
            v.reserve(n);
            v
        })
        .unwrap_or_else(|| Vec::with_capacity(n))
}

/// Keeps a written head's buffer, emptied, for [`head_buffer`].
fn recycle_head(mut head: Vec<u8>) {
    if head.capacity() > HEAD_KEPT_CAPACITY {
        return;
    }
    head.clear();
    super::keep_for_reuse(&HEADS, head, HEADS_KEPT);
}

/// Up to five pieces waiting to be written, in order: what one `sendmsg` carries.
pub(super) struct Parts {
    pub(super) head: Option<Vec<u8>>,
    pub(super) chunk_head: ([u8; 18], u8),
    pub(super) data: Option<Bytes>,
    pub(super) chunk_tail: bool,
    pub(super) terminator: bool,
    /// Bytes of the first pending piece already written.
    pub(super) offset: usize,
}

impl Parts {
    /// A head to write, before any body.
    pub(super) fn with_head(head: Vec<u8>) -> Parts {
        Parts {
            head: Some(head),
            chunk_head: ([0; 18], 0),
            data: None,
            chunk_tail: false,
            terminator: false,
            offset: 0,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pieces().iter().all(|p| p.is_empty())
    }

    /// The five pieces in order (empty when absent).
    fn pieces(&self) -> [&[u8]; 5] {
        [
            self.head.as_deref().unwrap_or(&[]),
            &self.chunk_head.0[..usize::from(self.chunk_head.1)],
            self.data.as_deref().unwrap_or(&[]),
            if self.chunk_tail { b"\r\n" } else { &[] },
            if self.terminator { b"0\r\n\r\n" } else { &[] },
        ]
    }

    pub(super) fn slices(&self) -> ([io::IoSlice<'_>; 5], usize) {
        let mut out = [io::IoSlice::new(&[]); 5];
        let mut n = 0;
        let mut skip = self.offset;
        for p in self.pieces() {
            if skip >= p.len() {
                skip -= p.len();
                continue;
            }
            out[n] = io::IoSlice::new(&p[skip..]);
            skip = 0;
            n += 1;
        }
        (out, n)
    }

    /// Frames a piece of body of `len` bytes as `encoding` says (the piece itself goes in
    /// `data`); an error when it would pass the length.
    pub(super) fn frame(&mut self, encoding: &mut Encoding, len: usize) -> Result<(), ()> {
        match encoding {
            Encoding::Length(left) => {
                *left = left.checked_sub(len as u64).ok_or(())?;
            }
            Encoding::Chunked => {
                self.chunk_head.1 = hex(len as u64, &mut self.chunk_head.0);
                self.chunk_tail = true;
            }
            Encoding::Close => {}
        }
        Ok(())
    }

    /// The body ended: the terminator of a chunked body; an error when a length is left unsent.
    pub(super) fn end(&mut self, encoding: Encoding) -> Result<(), ()> {
        match encoding {
            Encoding::Chunked => self.terminator = true,
            Encoding::Length(0) | Encoding::Close => {}
            Encoding::Length(_) => return Err(()),
        }
        Ok(())
    }

    /// Drops `n` written bytes from the front.
    pub(super) fn advance(&mut self, n: usize) {
        let mut n = n + self.offset;
        let lens = self.pieces().map(<[u8]>::len);
        for (i, len) in lens.into_iter().enumerate() {
            if len == 0 {
                continue;
            }
            if n < len {
                self.offset = n;
                return;
            }
            n -= len;
            match i {
                0 => {
                    if let Some(head) = self.head.take() {
                        recycle_head(head);
                    }
                }
                1 => self.chunk_head.1 = 0,
                2 => self.data = None,
                3 => self.chunk_tail = false,
                _ => self.terminator = false,
            }
        }
        self.offset = 0;
    }
}

/// Why writing a request stopped.
#[derive(Debug)]
pub enum WriteError {
    /// The body being sent failed (its sender is to blame).
    Body(BoxError),
    /// The socket failed.
    Io(io::Error),
}

/// The request body failed after the response head came: a response body error whose cause is
/// the request's sender, not the backend.
#[derive(Debug)]
pub struct RequestBodyFailed(pub BoxError);

impl std::fmt::Display for RequestBodyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body being sent failed: {}", self.0)
    }
}

impl std::error::Error for RequestBodyFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

fn framing_error(msg: &'static str) -> BoxError {
    Box::new(io::Error::new(io::ErrorKind::InvalidData, msg))
}

impl Writer {
    /// Encodes the request head for `body` (see the module documentation for the framing).
    pub fn new(req: &http::request::Parts, body: Body) -> Writer {
        use http_body::Body as _;
        let headers = &req.headers;
        let http11 = req.version != Version::HTTP_10;
        let length = if body.is_end_stream() {
            None
        } else {
            Some(body.size_hint().exact())
        };
        // One look at the headers for the framing and keep-alive (no lookups by name).
        let (mut given, mut bad_given, mut has_te, mut close) = (None, false, false, false);
        for (name, value) in headers {
            match *name {
                header::CONTENT_LENGTH => {
                    bad_given |= add_length(value.as_bytes(), &mut given).is_err();
                }
                header::TRANSFER_ENCODING => has_te = true,
                header::CONNECTION => close |= lists_token(value.as_bytes(), b"close"),
                _ => {}
            }
        }
        if bad_given {
            given = None;
        }
        // What goes on the wire: the framing, whether the sender's Content-Length and
        // Transfer-Encoding headers are kept, and the header mint adds.
        let (framing, keep_cl, keep_te, add): (Encoding, bool, bool, Option<Framing>) = match length
        {
            None => (Encoding::Length(0), true, false, None),
            Some(known) if !http11 => match (given, known) {
                (Some(n), _) => (Encoding::Length(n), true, false, None),
                (None, Some(n)) => (Encoding::Length(n), false, false, Some(Framing::Length(n))),
                (None, None) => (Encoding::Length(0), true, false, None),
            },
            Some(_) if has_te => (Encoding::Chunked, false, true, None),
            Some(_) if given.is_some() => (Encoding::Length(given.unwrap_or(0)), true, false, None),
            Some(Some(n)) => (Encoding::Length(n), false, false, Some(Framing::Length(n))),
            Some(None) => match req.method {
                Method::GET | Method::HEAD | Method::CONNECT => {
                    (Encoding::Length(0), true, false, None)
                }
                _ => (Encoding::Chunked, false, false, Some(Framing::Chunked)),
            },
        };
        let mut head = head_buffer(64 + headers.len() * 32);
        head.extend_from_slice(req.method.as_str().as_bytes());
        head.push(b' ');
        match req.uri.path_and_query() {
            Some(pq) if req.uri.scheme().is_none() => {
                head.extend_from_slice(pq.as_str().as_bytes())
            }
            _ => head.extend_from_slice(req.uri.to_string().as_bytes()),
        }
        head.extend_from_slice(if http11 {
            b" HTTP/1.1\r\n"
        } else {
            b" HTTP/1.0\r\n"
        });
        for (name, value) in headers {
            if (!keep_cl && name == header::CONTENT_LENGTH)
                || (!keep_te && name == header::TRANSFER_ENCODING)
            {
                continue;
            }
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        match add {
            Some(Framing::Length(n)) => {
                head.extend_from_slice(b"content-length: ");
                head.extend_from_slice(itoa(n, &mut [0u8; 20]));
                head.extend_from_slice(b"\r\n");
            }
            Some(Framing::Chunked) => head.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            None => {}
        }
        head.extend_from_slice(b"\r\n");
        let keep_alive = http11 && !close;
        // A body that cannot go (no length in HTTP/1.0, a GET of unknown length) is not sent.
        let body_done = framing == Encoding::Length(0);
        let replay = match &body {
            Body::Full(b) => Some(Body::Full(b.clone())),
            Body::Empty => Some(Body::Empty),
            Body::Incoming(_) => None,
        };
        Writer {
            parts: Parts::with_head(head),
            body,
            replay,
            framing,
            body_done,
            gathered: false,
            done: false,
            failed: false,
            sent: 0,
            taken: false,
            keep_alive,
        }
    }

    /// The body again, for a second attempt on another connection: only while nothing of it
    /// was taken from its sender.
    pub fn into_replay(self) -> Option<Body> {
        match self.replay {
            Some(b) => Some(b),
            None if !self.taken => Some(self.body),
            None => None,
        }
    }

    /// Writes what the socket takes. `Ready(Ok)` when all is written; on a socket error the
    /// writer is marked failed.
    pub fn poll(
        &mut self,
        io: &mut ClientStream,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), WriteError>> {
        loop {
            // The head goes with the body's first frame when it is ready at once.
            if !self.body_done && (self.parts.is_empty() || !self.gathered) {
                self.gathered = true;
                match self.next_frame(cx) {
                    Poll::Ready(Ok(())) => {
                        if self.parts.is_empty() && !self.body_done {
                            continue;
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(WriteError::Body(e))),
                    Poll::Pending if self.parts.is_empty() => {
                        // Waiting for the sender: what rustls holds goes out meanwhile.
                        if let Poll::Ready(Err(e)) = io.poll_flush(cx) {
                            self.failed = true;
                            return Poll::Ready(Err(WriteError::Io(e)));
                        }
                        return Poll::Pending;
                    }
                    Poll::Pending => {}
                }
            }
            if self.parts.is_empty() {
                if let Err(e) = std::task::ready!(io.poll_flush(cx)) {
                    self.failed = true;
                    return Poll::Ready(Err(WriteError::Io(e)));
                }
                self.done = true;
                return Poll::Ready(Ok(()));
            }
            let (slices, n) = self.parts.slices();
            match std::task::ready!(io.poll_write_vectored(cx, &slices[..n])) {
                Ok(0) => {
                    self.failed = true;
                    return Poll::Ready(Err(WriteError::Io(io::ErrorKind::WriteZero.into())));
                }
                Ok(k) => {
                    self.sent += k as u64;
                    self.parts.advance(k);
                }
                Err(e) => {
                    self.failed = true;
                    return Poll::Ready(Err(WriteError::Io(e)));
                }
            }
        }
    }

    /// Takes the body's next frame into the pending parts (trailers are not sent).
    fn next_frame(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        use http_body::Body as _;
        let frame = match std::task::ready!(Pin::new(&mut self.body).poll_frame(cx)) {
            None => return Poll::Ready(self.end()),
            Some(Err(e)) => return Poll::Ready(Err(e)),
            Some(Ok(f)) => f,
        };
        self.taken = true;
        if let Ok(data) = frame.into_data() {
            if !data.is_empty() {
                if self.parts.frame(&mut self.framing, data.len()).is_err() {
                    return Poll::Ready(Err(framing_error(
                        "the request body is longer than its Content-Length",
                    )));
                }
                self.parts.data = Some(data);
            }
        }
        if self.body.is_end_stream() {
            return Poll::Ready(self.end());
        }
        Poll::Ready(Ok(()))
    }

    fn end(&mut self) -> Result<(), BoxError> {
        self.body_done = true;
        self.parts
            .end(self.framing)
            .map_err(|()| framing_error("the request body is shorter than its Content-Length"))
    }
}

/// The framing header mint adds to a request.
enum Framing {
    Length(u64),
    Chunked,
}

/// `n` in decimal, written at the end of `buf`.
pub(super) fn itoa(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// `n` in hex followed by CRLF, at the start of `buf`; returns the length.
pub(super) fn hex(n: u64, buf: &mut [u8; 18]) -> u8 {
    let digits = ((64 - n.leading_zeros()).div_ceil(4)).max(1) as usize;
    for (i, slot) in buf[..digits].iter_mut().enumerate() {
        let d = ((n >> (4 * (digits - 1 - i))) & 0xf) as u8;
        *slot = if d < 10 { b'0' + d } else { b'a' + d - 10 };
    }
    buf[digits] = b'\r';
    buf[digits + 1] = b'\n';
    (digits + 2) as u8
}

/// Whether a comma-separated header value lists `token` (any case).
pub(super) fn lists_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// Adds a `Content-Length` value (a list of equal numbers) to the length found so far; an error
/// when it is not a number or differs.
pub(super) fn add_length(v: &[u8], found: &mut Option<u64>) -> Result<(), ()> {
    for part in v.split(|&b| b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
            return Err(());
        }
        let n = part.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        match *found {
            Some(f) if f != n => return Err(()),
            _ => *found = Some(n),
        }
    }
    Ok(())
}

/// Whether a `Transfer-Encoding` value's last coding is `chunked`.
pub(super) fn ends_in_chunked(value: &[u8]) -> bool {
    value
        .rsplit(|&b| b == b',')
        .next()
        .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

/// A parsed response head.
pub struct Head {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub decoder: Decoder,
    /// The backend keeps the connection open after this response.
    pub keep_alive: bool,
}

/// Why no response head came.
#[derive(Debug)]
pub enum HeadError {
    Io(io::Error),
    Malformed(String),
}

impl Conn {
    /// Reads until a whole response head (informational answers skipped) is parsed.
    pub fn poll_head(
        &mut self,
        cx: &mut Context<'_>,
        limits: Limits,
        method: &Method,
    ) -> Poll<Result<Head, HeadError>> {
        loop {
            if !self.buf.is_empty() {
                match parse_head(&mut self.buf, limits, method) {
                    Ok(Some(h)) => return Poll::Ready(Ok(h)),
                    Ok(None) => {}
                    Err(m) => return Poll::Ready(Err(HeadError::Malformed(m))),
                }
                if self.buf.len() > limits.max_head {
                    return Poll::Ready(Err(HeadError::Malformed(format!(
                        "response head over {} bytes",
                        limits.max_head
                    ))));
                }
            }
            match std::task::ready!(self.io.poll_read_buf(cx, &mut self.buf)) {
                Ok(0) => {
                    let what = if self.buf.is_empty() {
                        "the connection closed before a response"
                    } else {
                        "the connection closed in the middle of the response head"
                    };
                    return Poll::Ready(Err(HeadError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        what,
                    ))));
                }
                Ok(_) => {}
                Err(e) => return Poll::Ready(Err(HeadError::Io(e))),
            }
        }
    }
}

/// Parses a response head at the start of `buf` and takes it out; `None` while incomplete.
fn parse_head(buf: &mut BytesMut, limits: Limits, method: &Method) -> Result<Option<Head>, String> {
    loop {
        let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
        let mut heap = Vec::new();
        let slots: &mut [MaybeUninit<httparse::Header<'_>>] = if limits.max_headers <= STACK_HEADERS
        {
            &mut stack[..limits.max_headers]
        } else {
            heap.resize_with(limits.max_headers, MaybeUninit::uninit);
            &mut heap
        };
        let mut res = httparse::Response::new(&mut []);
        let mut ranges = super::h1::HeaderRanges::new();
        let (len, code, version) = {
            let len = match httparse::ParserConfig::default()
                .parse_response_with_uninit_headers(&mut res, buf, slots)
            {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(e) => return Err(format!("malformed response head: {e}")),
            };
            if len > limits.max_head {
                return Err(format!("response head over {} bytes", limits.max_head));
            }
            let version = if res.version == Some(1) {
                Version::HTTP_11
            } else {
                Version::HTTP_10
            };
            super::h1::header_ranges(buf, res.headers, &mut ranges);
            (len, res.code.unwrap_or(0), version)
        };
        let head = buf.split_to(len).freeze();
        if (100..200).contains(&code) && code != 101 {
            // 100 Continue, 103 Early Hints…: the answer follows.
            if buf.is_empty() {
                return Ok(None);
            }
            continue;
        }
        let status =
            StatusCode::from_u16(code).map_err(|_| format!("invalid status code {code}"))?;
        let mut headers = super::h1::header_map(ranges.len() + 2);
        let mut keep_alive = version == Version::HTTP_11;
        // The last Transfer-Encoding line: whether its last coding is `chunked`.
        let (mut length, mut bad_length, mut te) = (None, false, None);
        for &(ns, ne, vs, ve) in &ranges {
            let name = super::h1::header_name(&head[ns as usize..ne as usize])
                .map_err(|_| "invalid header name in the response".to_string())?;
            // A slice of the head: no copy.
            let value = super::h1::parsed_value(&head, vs, ve)
                .map_err(|_| "invalid header value in the response".to_string())?;
            if name == header::CONTENT_LENGTH {
                bad_length |= add_length(value.as_bytes(), &mut length).is_err();
            } else if name == header::TRANSFER_ENCODING {
                te = Some(ends_in_chunked(value.as_bytes()));
            } else if name == header::CONNECTION {
                if lists_token(value.as_bytes(), b"close") {
                    keep_alive = false;
                } else if version == Version::HTTP_10
                    && lists_token(value.as_bytes(), b"keep-alive")
                {
                    keep_alive = true;
                }
            }
            headers.append(name, value);
        }
        let decoder = if code == 101 || code == 204 || code == 304 || method == Method::HEAD {
            Decoder::Done
        } else if let Some(chunked) = te {
            if version == Version::HTTP_10 {
                return Err("Transfer-Encoding in an HTTP/1.0 response".into());
            }
            if chunked {
                Decoder::Chunked(Chunk::Size)
            } else {
                Decoder::Eof
            }
        } else {
            match (length, bad_length) {
                (_, true) => return Err("invalid Content-Length in the response".into()),
                (Some(n), false) => Decoder::Length(n),
                (None, false) => Decoder::Eof,
            }
        };
        if matches!(decoder, Decoder::Eof) || code == 101 {
            keep_alive = false;
        }
        return Ok(Some(Head {
            status,
            version,
            headers,
            decoder,
            keep_alive,
        }));
    }
}

/// How the rest of a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// This many bytes are left.
    Length(u64),
    Chunked(Chunk),
    /// Up to the close.
    Eof,
    /// The body ended.
    Done,
}

/// Where a chunked decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// This many bytes of the current chunk are left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// In the trailer section, this many bytes read so far.
    Trailers(usize),
}

fn malformed(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// The size of a chunk-size line (its CRLF excluded), extensions ignored.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    let mut i = 0;
    while i < line.len() {
        let d = match line[i] {
            b @ b'0'..=b'9' => b - b'0',
            b @ b'a'..=b'f' => b - b'a' + 10,
            b @ b'A'..=b'F' => b - b'A' + 10,
            _ => break,
        };
        n = n.checked_mul(16)?.checked_add(u64::from(d))?;
        i += 1;
    }
    if i == 0 {
        return None;
    }
    // Optional blanks, then nothing or extensions (`;name[=value]…`), which are skipped but may
    // not hide a bare CR.
    let mut rest = &line[i..];
    while let [b' ' | b'\t', tail @ ..] = rest {
        rest = tail;
    }
    let ok = match rest {
        [] => true,
        [b';', ext @ ..] => !ext.contains(&b'\r'),
        _ => false,
    };
    ok.then_some(n)
}

impl Decoder {
    /// Nothing more of the body is to come.
    pub fn is_end(&self) -> bool {
        matches!(self, Decoder::Done | Decoder::Length(0))
    }

    /// What is known of the rest of the body's length.
    pub fn size_hint(&self) -> SizeHint {
        match *self {
            Decoder::Done => SizeHint::with_exact(0),
            Decoder::Length(n) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }

    /// The next piece of body from `conn`: `Some(data)`, or `None` at the end.
    fn poll_next(
        &mut self,
        conn: &mut Conn,
        max_trailers: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Bytes>>> {
        let Conn { io, buf, .. } = conn;
        self.poll_decode(
            buf,
            |cx, buf| io.poll_read_buf(cx, buf),
            max_trailers,
            "the backend closed the connection before the end of the body",
            cx,
        )
    }

    /// The next piece of body from `buf`, which `read` refills (`Ready(Ok(0))` at the peer's
    /// close): `Some(data)`, or `None` at the end. `cut` says what a body cut short by the close is.
    pub(super) fn poll_decode(
        &mut self,
        buf: &mut BytesMut,
        mut read: impl FnMut(&mut Context<'_>, &mut BytesMut) -> Poll<io::Result<usize>>,
        max_trailers: usize,
        cut: &'static str,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Bytes>>> {
        loop {
            match self {
                Decoder::Done => return Poll::Ready(Ok(None)),
                Decoder::Length(0) => {
                    *self = Decoder::Done;
                    return Poll::Ready(Ok(None));
                }
                Decoder::Length(left) => {
                    if !buf.is_empty() {
                        let take = (*left).min(buf.len() as u64);
                        *left -= take;
                        let data = buf.split_to(take as usize).freeze();
                        if *left == 0 {
                            *self = Decoder::Done;
                        }
                        return Poll::Ready(Ok(Some(data)));
                    }
                }
                Decoder::Eof => {
                    if !buf.is_empty() {
                        return Poll::Ready(Ok(Some(buf.split().freeze())));
                    }
                }
                Decoder::Chunked(state) => match *state {
                    Chunk::Size | Chunk::Trailers(_) => {
                        if let Some(lf) =
                            memchr::memchr(b'\n', &buf[..buf.len().min(MAX_CHUNK_LINE)])
                        {
                            if lf == 0 || buf[lf - 1] != b'\r' {
                                return Poll::Ready(Err(malformed("a chunk line without CRLF")));
                            }
                            let line = buf.split_to(lf + 1);
                            let line = &line[..lf - 1];
                            *state = match *state {
                                Chunk::Size => match chunk_size(line) {
                                    Some(0) => Chunk::Trailers(0),
                                    Some(n) => Chunk::Data(n),
                                    None => {
                                        return Poll::Ready(Err(malformed("an invalid chunk size")))
                                    }
                                },
                                Chunk::Trailers(_) if line.is_empty() => {
                                    *self = Decoder::Done;
                                    return Poll::Ready(Ok(None));
                                }
                                Chunk::Trailers(_) if line.contains(&b'\r') => {
                                    return Poll::Ready(Err(malformed("a bare CR in a trailer")));
                                }
                                Chunk::Trailers(read) => {
                                    let read = read + lf + 1;
                                    if read > max_trailers {
                                        return Poll::Ready(Err(malformed("trailers too large")));
                                    }
                                    Chunk::Trailers(read)
                                }
                                other => other,
                            };
                            continue;
                        }
                        if buf.len() >= MAX_CHUNK_LINE {
                            return Poll::Ready(Err(malformed("a chunk line too long")));
                        }
                    }
                    Chunk::Data(left) => {
                        if !buf.is_empty() {
                            let take = left.min(buf.len() as u64);
                            let data = buf.split_to(take as usize).freeze();
                            *state = if left == take {
                                Chunk::DataEnd
                            } else {
                                Chunk::Data(left - take)
                            };
                            return Poll::Ready(Ok(Some(data)));
                        }
                    }
                    Chunk::DataEnd => {
                        if buf.len() >= 2 {
                            if &buf[..2] != b"\r\n" {
                                return Poll::Ready(Err(malformed(
                                    "chunk data not followed by CRLF",
                                )));
                            }
                            let _ = buf.split_to(2);
                            *state = Chunk::Size;
                            continue;
                        }
                    }
                },
            }
            match std::task::ready!(read(cx, buf)) {
                Ok(0) if *self == Decoder::Eof => {
                    *self = Decoder::Done;
                    return Poll::Ready(Ok(None));
                }
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::UnexpectedEof, cut)))
                }
                Ok(_) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// A backend's response body being read, while what is left of the request is written. Back in
/// the pool at its end when the connection can carry another exchange.
pub struct ResponseBody {
    conn: Option<Conn>,
    writer: Option<Writer>,
    decoder: Decoder,
    reusable: bool,
    max_trailers: usize,
    pool: Weak<super::client::Pool>,
}

impl ResponseBody {
    pub fn new(
        conn: Conn,
        writer: Option<Writer>,
        decoder: Decoder,
        reusable: bool,
        max_trailers: usize,
        pool: Weak<super::client::Pool>,
    ) -> ResponseBody {
        ResponseBody {
            conn: Some(conn),
            writer,
            decoder,
            reusable,
            max_trailers,
            pool,
        }
    }

    /// The body ended: the connection goes back to the pool, or is closed.
    fn finish(&mut self) {
        self.finish_with(true);
    }

    /// `may_spawn`: whether the pool may start its sweeper task, which needs the shard's
    /// executor (a drop can run outside it, when an executor drops its last tasks).
    fn finish_with(&mut self, may_spawn: bool) {
        self.decoder = Decoder::Done;
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if self.reusable && self.writer.is_none() && conn.quiet() {
            if let Some(pool) = self.pool.upgrade() {
                pool.checkin(conn, may_spawn);
            }
        }
        self.writer = None;
    }

    /// A body that is empty from the start (HEAD, 204, 304, `Content-Length: 0`) is never
    /// polled: its connection goes back to the pool now, once the request is written.
    pub fn finish_if_empty(&mut self) {
        if self.is_end_stream() && self.writer.is_none() {
            self.finish();
        }
    }

    /// The exchange failed: the connection is closed.
    fn abort(&mut self) {
        self.conn = None;
        self.writer = None;
        self.decoder = Decoder::Done;
    }

    pub fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Some(conn) = self.conn.as_mut() else {
            return Poll::Ready(None);
        };
        if let Some(w) = self.writer.as_mut() {
            match w.poll(&mut conn.io, cx) {
                Poll::Ready(Ok(())) => self.writer = None,
                Poll::Ready(Err(WriteError::Body(e))) => {
                    // The request cannot be completed: neither can its answer.
                    self.abort();
                    return Poll::Ready(Some(Err(Box::new(RequestBodyFailed(e)))));
                }
                Poll::Ready(Err(WriteError::Io(_))) => {
                    self.reusable = false;
                    self.writer = None;
                }
                Poll::Pending => {}
            }
        }
        match self.decoder.poll_next(conn, self.max_trailers, cx) {
            Poll::Ready(Ok(Some(data))) => {
                if self.decoder == Decoder::Done {
                    self.finish();
                }
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Poll::Ready(Ok(None)) => {
                self.finish();
                Poll::Ready(None)
            }
            Poll::Ready(Err(e)) => {
                self.abort();
                Poll::Ready(Some(Err(Box::new(e))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    pub fn is_end_stream(&self) -> bool {
        self.decoder.is_end()
    }

    pub fn size_hint(&self) -> SizeHint {
        self.decoder.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        // A body known to be complete that nobody read to its end (it is empty) still gives its
        // connection back.
        if self.is_end_stream() {
            self.finish_with(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_head: 8192,
        max_headers: 100,
    };

    fn parse(raw: &[u8], method: &Method) -> Result<Option<Head>, String> {
        parse_head(&mut BytesMut::from(raw), LIMITS, method)
    }

    #[test]
    fn response_heads_give_their_framing_and_keep_alive() {
        let h = parse(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
            &Method::POST,
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.status, 200);
        assert_eq!(h.decoder, Decoder::Length(5));
        assert!(h.keep_alive);
        assert_eq!(h.headers["x-a"], "b");

        let h = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            &Method::GET,
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.decoder, Decoder::Chunked(Chunk::Size));
        assert!(!h.keep_alive);

        let h = parse(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            &Method::GET,
        )
        .unwrap()
        .unwrap();
        assert!(h.keep_alive);
        assert_eq!(h.version, Version::HTTP_10);
        let h = parse(
            b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
            &Method::GET,
        )
        .unwrap()
        .unwrap();
        assert!(!h.keep_alive);

        // Up to the close: never reused.
        let h = parse(b"HTTP/1.1 200 OK\r\n\r\n", &Method::GET)
            .unwrap()
            .unwrap();
        assert_eq!(h.decoder, Decoder::Eof);
        assert!(!h.keep_alive);

        for (raw, method) in [
            (
                &b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"[..],
                Method::GET,
            ),
            (b"HTTP/1.1 304 Not Modified\r\n\r\n", Method::GET),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
                Method::HEAD,
            ),
        ] {
            let h = parse(raw, &method).unwrap().unwrap();
            assert_eq!(h.decoder, Decoder::Done, "{}", String::from_utf8_lossy(raw));
        }

        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Le", &Method::GET)
            .unwrap()
            .is_none());
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        ] {
            assert!(
                parse(bad, &Method::GET).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut big = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 9000));
        big.extend_from_slice(b"\r\n\r\n");
        assert!(parse(&big, &Method::GET).is_err());
    }

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let mut p = Parts {
            head: Some(b"abc".to_vec()),
            chunk_head: ([0; 18], 0),
            data: Some(Bytes::from_static(b"defg")),
            chunk_tail: true,
            terminator: true,
            offset: 0,
        };
        let front = |p: &Parts| {
            let (s, n) = p.slices();
            s[..n]
                .iter()
                .flat_map(|s| s.iter().copied())
                .collect::<Vec<u8>>()
        };
        assert_eq!(front(&p), b"abcdefg\r\n0\r\n\r\n");
        p.advance(2);
        assert_eq!(front(&p), b"cdefg\r\n0\r\n\r\n");
        p.advance(3);
        assert_eq!(front(&p), b"fg\r\n0\r\n\r\n");
        p.advance(5);
        assert_eq!(front(&p), b"\r\n\r\n");
        p.advance(4);
        assert!(p.is_empty());
    }

    #[test]
    fn chunk_size_lines() {
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b"0"), Some(0));
        assert_eq!(chunk_size(b"A ; name=value"), Some(10));
        assert_eq!(chunk_size(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(chunk_size(b"5\t;a"), Some(5));
        for bad in [
            &b""[..],
            b"x",
            b"-5",
            b"0x5",
            b"fffffffffffffffff",
            b"5 5",
            b"5\r",
            b"5 \x0c",
            b"5;a\rb",
        ] {
            assert_eq!(chunk_size(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let mut buf = [0u8; 18];
        let n = hex(0x1a2b, &mut buf);
        assert_eq!(&buf[..usize::from(n)], b"1a2b\r\n");
        let n = hex(0, &mut buf);
        assert_eq!(&buf[..usize::from(n)], b"0\r\n");
        assert_eq!(itoa(1024, &mut [0; 20]), b"1024");
        assert_eq!(itoa(0, &mut [0; 20]), b"0");
    }

    fn head_of(method: &str, version: Version, headers: &[(&str, &str)], body: Body) -> String {
        let mut b = http::Request::builder()
            .method(method)
            .uri("/a?b")
            .version(version);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let (parts, ()) = b.body(()).unwrap().into_parts();
        let w = Writer::new(&parts, body);
        String::from_utf8(w.parts.head.clone().unwrap()).unwrap()
    }

    fn streamed() -> Body {
        let s =
            futures_lite::stream::iter([Ok::<_, BoxError>(Frame::data(Bytes::from_static(b"xy")))]);
        Body::Incoming(super::super::body::Streamed::local(
            http_body_util::StreamBody::new(s),
            crate::error::Side::Client,
        ))
    }

    #[test]
    fn request_framing_follows_the_body() {
        let h11 = Version::HTTP_11;
        assert_eq!(
            head_of("POST", h11, &[("host", "b")], Body::full("abc")),
            "POST /a?b HTTP/1.1\r\nhost: b\r\ncontent-length: 3\r\n\r\n"
        );
        // An empty body: no framing header at all.
        assert_eq!(
            head_of("POST", h11, &[], Body::Empty),
            "POST /a?b HTTP/1.1\r\n\r\n"
        );
        // A stream of unknown length is chunked; the sender's Content-Length is kept when valid.
        assert_eq!(
            head_of("PUT", h11, &[], streamed()),
            "PUT /a?b HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        assert_eq!(
            head_of("PUT", h11, &[("content-length", "2")], streamed()),
            "PUT /a?b HTTP/1.1\r\ncontent-length: 2\r\n\r\n"
        );
        assert_eq!(
            head_of("PUT", h11, &[("content-length", "x")], streamed()),
            "PUT /a?b HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        // HTTP/1.0 has no chunking: a known length is sent, an unknown one cannot be.
        assert_eq!(
            head_of("POST", Version::HTTP_10, &[], Body::full("abcd")),
            "POST /a?b HTTP/1.0\r\ncontent-length: 4\r\n\r\n"
        );
        let mut b = http::Request::builder()
            .method("POST")
            .uri("/")
            .version(Version::HTTP_10);
        b = b.header("connection", "keep-alive");
        let (parts, ()) = b.body(()).unwrap().into_parts();
        let w = Writer::new(&parts, streamed());
        assert!(w.body_done && !w.keep_alive);
        let (parts, ()) = http::Request::builder()
            .uri("/")
            .header("connection", "Close")
            .body(())
            .unwrap()
            .into_parts();
        assert!(!Writer::new(&parts, Body::Empty).keep_alive);
    }

    /// A backend on a plain thread writing `raw` in the pieces given, then closing.
    // A plain thread, not a shard: sleeping between pieces is what it is for.
    #[allow(clippy::disallowed_methods)]
    fn backend(pieces: Vec<&'static [u8]>) -> std::net::SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = l.accept().unwrap();
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req);
            for p in pieces {
                s.write_all(p).unwrap();
                s.flush().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        });
        addr
    }

    /// Sends a GET to `addr` and reads the whole response body through mint's client.
    fn fetch(addr: std::net::SocketAddr) -> (Head, Result<Vec<u8>, io::Error>) {
        crate::http::run_local(async move {
            let tcp = TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5))
                .await
                .unwrap();
            let origin = Origin {
                https: false,
                host: "127.0.0.1".into(),
                port: addr.port(),
            };
            let mut conn = Conn::new(ClientStream::Plain(tcp), origin);
            let (parts, ()) = http::Request::builder()
                .uri("/")
                .body(())
                .unwrap()
                .into_parts();
            let mut w = Writer::new(&parts, Body::Empty);
            let head = std::future::poll_fn(|cx| {
                let _ = w.poll(&mut conn.io, cx);
                conn.poll_head(cx, LIMITS, &Method::GET)
            })
            .await
            .unwrap();
            let mut body = ResponseBody::new(conn, None, head.decoder, false, 4096, Weak::new());
            let mut out = Vec::new();
            let got = loop {
                match std::future::poll_fn(|cx| body.poll_frame(cx)).await {
                    None => break Ok(out),
                    Some(Ok(f)) => out.extend_from_slice(&f.into_data().unwrap()),
                    Some(Err(e)) => break Err(*e.downcast::<io::Error>().unwrap()),
                }
            };
            (head, got)
        })
    }

    #[test]
    fn chunked_bodies_are_decoded_across_reads() {
        let addr = backend(vec![
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r",
            b"\nhel",
            b"lo\r\n6;ext=1\r\n world\r",
            b"\n0\r\nX-Trailer: a\r\n",
            b"\r\n",
        ]);
        let (head, body) = fetch(addr);
        assert_eq!(head.status, 200);
        assert_eq!(body.unwrap(), b"hello world");
    }

    #[test]
    fn malformed_and_cut_bodies_are_errors_of_their_kind() {
        for (pieces, kind) in [
            (
                vec![&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"[..]],
                io::ErrorKind::InvalidData,
            ),
            (
                vec![&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n"[..]],
                io::ErrorKind::InvalidData,
            ),
            (
                vec![
                    &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"
                        [..],
                ],
                io::ErrorKind::InvalidData,
            ),
            (
                vec![&b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"[..]],
                io::ErrorKind::UnexpectedEof,
            ),
        ] {
            let (_, body) = fetch(backend(pieces));
            assert_eq!(body.map_err(|e| e.kind()), Err(kind));
        }
        // Up to the close: the close ends it.
        let (_, body) = fetch(backend(vec![b"HTTP/1.1 200 OK\r\n\r\nab", b"cd"]));
        assert_eq!(body.unwrap(), b"abcd");
    }
}
