//! The server side of HTTP/1.1 on `httparse`, as mint's client side is (`conn.rs`): request heads
//! parsed into `http` types, request bodies decoded from the connection's buffer while the handler
//! reads them, response heads encoded and sent with the body's first frame in one write.
//!
//! Why not hyper's server: its dispatcher hands each request body to the handler through a
//! channel and polls the connection, the body channel and the handler in turn; about 6,000
//! instructions of a proxied 1 KB request (a third of mint's own work on it) were its
//! bookkeeping. Here one task serves the connection: it reads a head, runs the handler, and
//! writes its answer; the body is read by whoever polls it, straight from the socket.
//!
//! The rules are hyper 1.x's, which mint relied on until now (`tests/hostile*.rs` and
//! `tests/e2e.rs` hold them):
//! - a head that does not parse → 400; more headers than `max_headers`, or a head longer than
//!   `max_head_size` → 431; a target longer than 65,534 bytes → 414. The answer closes the
//!   connection.
//! - request framing (RFC 9112 §6): `Transfer-Encoding` whose last coding is `chunked` (any other
//!   → 400; in HTTP/1.0 → 400), else `Content-Length` (values that differ or are not numbers →
//!   400), else no body. With both, `Transfer-Encoding` frames the body, `Content-Length` is
//!   dropped and the connection closes after the answer (no smuggling through a second request).
//! - `Expect: 100-continue` (HTTP/1.1): `100 Continue` goes out when the body is first read.
//! - keep-alive: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection:
//!   keep-alive` (and the answer then says `connection: keep-alive`). An answer that closes the
//!   connection says `connection: close`. A request body the handler did not read closes the
//!   connection after the answer, unless it had already arrived whole.
//! - response framing: no body for HEAD, 1xx, 204 and 304; a `Content-Length` the answer carries
//!   is kept; otherwise a known length is sent as `content-length`, an unknown one chunked (in
//!   HTTP/1.0: up to the close). A `date` header is added when absent.

use std::cell::RefCell;
use std::io;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue, InvalidHeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body::{Frame, SizeHint};

use super::body::{Body, BoxError};
pub use super::conn::Encoding;
use super::conn::{add_length, ends_in_chunked, itoa, lists_token, Chunk, Decoder, Parts};
use super::io::Stream;

/// Longest request target accepted (hyper's limit).
const MAX_URI_LEN: usize = u16::MAX as usize - 1;
/// Header slots parsed without a heap allocation.
const STACK_HEADERS: usize = 128;
/// Reads ask for at least this much room, and the buffer grows by `READ_BUF`.
const MIN_READ: usize = 4096;
const READ_BUF: usize = 16 * 1024;
/// The largest read of a request body.
const MAX_BODY_READ: usize = 64 * 1024;
/// Trailer bytes of a chunked request body accepted (and dropped).
const MAX_TRAILERS: usize = 16 * 1024;
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What bounds a request head.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_head: usize,
    pub max_headers: usize,
}

/// A request head, parsed.
pub struct Parsed {
    pub request: Request<()>,
    pub decoder: Decoder,
    /// The client lets the connection stay open after this exchange.
    pub keep_alive: bool,
    pub expect_continue: bool,
}

/// Why a head was refused: the status to answer with (the connection then closes).
pub type Refused = StatusCode;

/// Whether `buf` holds the end of a head (an empty line) beyond what was searched before
/// (`scanned` bytes; the search starts a little earlier, for a line end split between reads).
pub fn head_ends(buf: &[u8], scanned: usize) -> bool {
    let from = scanned.saturating_sub(3).min(buf.len());
    memchr::memchr_iter(b'\n', &buf[from..]).any(|i| {
        let rest = &buf[from + i + 1..];
        rest.starts_with(b"\n") || rest.starts_with(b"\r\n")
    })
}

/// Where each header's name and value lie in a head, as offsets from its start: (name start,
/// name end, value start, value end). Inline for the usual number of headers, and not zeroed.
pub(crate) type HeaderRanges = smallvec::SmallVec<[(u32, u32, u32, u32); 32]>;

/// Adds the ranges of `headers`, which httparse parsed out of `buf`, to `out` (filled in place:
/// returned by value, the inline array would be copied).
pub(crate) fn header_ranges(buf: &[u8], headers: &[httparse::Header<'_>], out: &mut HeaderRanges) {
    let base = buf.as_ptr() as usize;
    let at = |s: &[u8]| (s.as_ptr() as usize - base) as u32;
    out.extend(headers.iter().map(|h| {
        let (n, v) = (at(h.name.as_bytes()), at(h.value));
        (n, n + h.name.len() as u32, v, v + h.value.len() as u32)
    }));
}

/// Parses a request head at the start of `buf` and takes it out; `None` while incomplete.
///
/// Besides framing, two rules a server applies before anything else are checked here, where the
/// headers are seen once: a missing (HTTP/1.1), repeated or invalid `Host` → 400, and a
/// transfer coding other than one final `chunked` → 501 (mint cannot pass it on faithfully).
pub fn parse_request(buf: &mut BytesMut, limits: Limits) -> Result<Option<Parsed>, Refused> {
    let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let slots: &mut [MaybeUninit<httparse::Header<'_>>] = if limits.max_headers <= STACK_HEADERS {
        &mut stack[..limits.max_headers]
    } else {
        heap.resize_with(limits.max_headers, MaybeUninit::uninit);
        &mut heap
    };
    let mut req = httparse::Request::new(&mut []);
    let mut ranges = HeaderRanges::new();
    let (len, method, path, version) = {
        let len = match httparse::ParserConfig::default()
            .parse_request_with_uninit_headers(&mut req, buf, slots)
        {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
            }
            Err(_) => return Err(StatusCode::BAD_REQUEST),
        };
        if len > limits.max_head {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        let base = buf.as_ptr() as usize;
        let at = |s: &[u8]| (s.as_ptr() as usize - base) as u32;
        let path = req.path.unwrap_or("");
        if path.len() > MAX_URI_LEN {
            return Err(StatusCode::URI_TOO_LONG);
        }
        let method = Method::from_bytes(req.method.unwrap_or("").as_bytes())
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        let path = (at(path.as_bytes()), path.len() as u32);
        let version = if req.version == Some(1) {
            Version::HTTP_11
        } else {
            Version::HTTP_10
        };
        header_ranges(buf, req.headers, &mut ranges);
        (len, method, path, version)
    };
    let head = buf.split_to(len).freeze();
    let uri = Uri::from_maybe_shared(head.slice(path.0 as usize..(path.0 + path.1) as usize))
        .map_err(|_| StatusCode::BAD_REQUEST)?;
    // Room for the headers a proxy sets, so that setting them does not grow the map.
    let mut headers = header_map(ranges.len() + 2);
    let mut keep_alive = version == Version::HTTP_11;
    let mut close = false;
    let mut expect_continue = false;
    let mut te: Option<bool> = None;
    let mut length: Option<u64> = None;
    let mut bad_length = false;
    let mut hosts = 0;
    let mut host: Option<HeaderValue> = None;
    for &(ns, ne, vs, ve) in &ranges {
        let name =
            header_name(&head[ns as usize..ne as usize]).map_err(|_| StatusCode::BAD_REQUEST)?;
        let value = parsed_value(&head, vs, ve).map_err(|_| StatusCode::BAD_REQUEST)?;
        match name {
            header::HOST => {
                hosts += 1;
                if host.is_none() {
                    host = Some(value.clone());
                }
            }
            header::CONTENT_LENGTH => {
                bad_length |= add_length(value.as_bytes(), &mut length).is_err();
            }
            header::TRANSFER_ENCODING => {
                if version == Version::HTTP_10 {
                    return Err(StatusCode::BAD_REQUEST);
                }
                te = Some(ends_in_chunked(value.as_bytes()));
            }
            header::CONNECTION => {
                close |= lists_token(value.as_bytes(), b"close");
                keep_alive |= lists_token(value.as_bytes(), b"keep-alive");
            }
            header::EXPECT => {
                expect_continue = value.as_bytes().eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
        headers.append(name, value);
    }
    let decoder = match te {
        Some(false) => return Err(StatusCode::BAD_REQUEST),
        Some(true) => {
            if length.is_some() || bad_length {
                // Both framings: the one that wins is Transfer-Encoding, and nothing after this
                // request is read (RFC 9112 §6.3).
                headers.remove(header::CONTENT_LENGTH);
                close = true;
            }
            Decoder::Chunked(Chunk::Size)
        }
        None if bad_length => return Err(StatusCode::BAD_REQUEST),
        None => length.map_or(Decoder::Done, Decoder::Length),
    };
    if super::rules::host_rule(version, hosts, host.as_ref().map(HeaderValue::as_bytes)).is_some() {
        return Err(StatusCode::BAD_REQUEST);
    }
    if te.is_some() && super::rules::unsupported_coding(&headers).is_some() {
        return Err(StatusCode::NOT_IMPLEMENTED);
    }
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(Some(Parsed {
        request,
        decoder,
        keep_alive: keep_alive && !close,
        expect_continue: expect_continue && version == Version::HTTP_11,
    }))
}

/// Emptied header maps a shard keeps for the next messages.
const MAPS_KEPT: usize = 16;
/// A map that grew beyond this many entries is not kept.
const MAP_KEPT_CAPACITY: usize = 64;

thread_local! {
    static MAPS: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
}

/// An empty header map with room for `n` headers: one the shard kept ([`recycle_header_map`]),
/// else a new one. A proxied request parses two heads and drops two maps; reusing them saves
/// their allocations and the growth of a map made to the exact size of another message.
pub fn header_map(n: usize) -> HeaderMap {
    MAPS.with(|maps| {
        let mut maps = maps.try_borrow_mut().ok()?;
        let i = maps.iter().rposition(|m| m.capacity() >= n)?;
        Some(maps.swap_remove(i))
    })
    .unwrap_or_else(|| HeaderMap::with_capacity(n))
}

/// Keeps `map`, emptied, for [`header_map`].
pub fn recycle_header_map(mut map: HeaderMap) {
    if map.capacity() > MAP_KEPT_CAPACITY {
        return;
    }
    map.clear();
    super::keep_for_reuse(&MAPS, map, MAPS_KEPT);
}

/// A header name as spelled on the wire, and the name.
type Spelling = (Box<[u8]>, HeaderName);

/// Slots of the per-shard header name cache (a power of two).
const NAME_SLOTS: usize = 64;

thread_local! {
    /// Names seen lately (`SOAPAction`, `Content-Type`), in a direct-mapped
    /// table: most messages repeat the same few names, and a name found here costs a hash of three
    /// bytes and one comparison instead of a parse (and, for a name `http` does not know, an
    /// allocation). A name whose slot is taken replaces its occupant.
    static NAMES: RefCell<[Option<Spelling>; NAME_SLOTS]> =
        const { RefCell::new([const { None }; NAME_SLOTS]) };
}

fn name_slot(raw: &[u8]) -> usize {
    // Case counts: `Content-Type` from a client and `content-type` from a backend are two
    // spellings, best kept in two slots.
    let (first, last) = (raw[0], raw[raw.len() - 1]);
    let h = (raw.len() as u32)
        .wrapping_mul(0x9e37_79b9)
        .wrapping_add(u32::from(first) << 8 | u32::from(last))
        .wrapping_mul(0x85eb_ca6b);
    (h >> 26) as usize & (NAME_SLOTS - 1)
}

/// The value of a header httparse parsed, as a slice of the head that holds it (no copy).
///
/// httparse already refused every byte a header value may not hold (its value table is `\t`,
/// `0x20..=0x7E` and `0x80..=0xFF`, the same as `HeaderValue`'s; the test
/// `parsed_header_values_are_what_header_value_accepts` holds the two to it), so an ASCII value is
/// taken without a second byte-by-byte check. `HeaderValue`'s unchecked constructor asks for
/// UTF-8, so a value with obs-text bytes goes through the checked one.
pub fn parsed_value(head: &Bytes, start: u32, end: u32) -> Result<HeaderValue, InvalidHeaderValue> {
    let raw = head.slice(start as usize..end as usize);
    if raw.is_ascii() {
        // SAFETY: ASCII is UTF-8, which is all the unchecked constructor requires; that the bytes
        // are allowed in a header value, httparse checked (see above).
        Ok(unsafe { HeaderValue::from_maybe_shared_unchecked(raw) })
    } else {
        HeaderValue::from_maybe_shared(raw)
    }
}

/// The header name `raw` (any case), from the shard's cache of names when it was seen before.
pub fn header_name(raw: &[u8]) -> Result<HeaderName, http::header::InvalidHeaderName> {
    if raw.is_empty() || raw.len() > 64 {
        return HeaderName::from_bytes(raw);
    }
    NAMES.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return HeaderName::from_bytes(raw);
        };
        let slot = &mut cache[name_slot(raw)];
        if let Some((r, n)) = slot {
            if **r == *raw {
                return Ok(n.clone());
            }
        }
        let name = HeaderName::from_bytes(raw)?;
        *slot = Some((Box::from(raw), name.clone()));
        Ok(name)
    })
}

/// The encoded head of an answer, and how its body follows.
pub struct Encoded {
    pub head: Vec<u8>,
    pub encoding: Encoding,
    /// The connection closes after this answer.
    pub close: bool,
}

/// Encodes the head of `resp`, the answer to a `method` request of `version` whose client
/// wants the connection kept (`keep_alive`).
pub fn encode_response(
    resp: &Response<Body>,
    method: &Method,
    version: Version,
    keep_alive: bool,
) -> Encoded {
    use http_body::Body as _;
    let status = resp.status();
    let body = resp.body();
    let known = if body.is_end_stream() {
        Some(0)
    } else {
        body.size_hint().exact()
    };
    // 1xx, 204 and 304 have neither a body nor a length; an answer to HEAD has a length only.
    let length_allowed = !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED);
    let no_body = *method == Method::HEAD || !length_allowed;
    let http10 = version == Version::HTTP_10;
    let headers = resp.headers();
    // One look at the answer's headers for what framing and keep-alive depend on.
    let (mut given, mut bad_given, mut given_te) = (None, false, false);
    let (mut says_close, mut says_keep_alive) = (false, false);
    for (name, value) in headers {
        match *name {
            header::CONTENT_LENGTH => {
                bad_given |= add_length(value.as_bytes(), &mut given).is_err()
            }
            header::TRANSFER_ENCODING => given_te = true,
            header::CONNECTION => {
                says_close |= lists_token(value.as_bytes(), b"close");
                says_keep_alive |= lists_token(value.as_bytes(), b"keep-alive");
            }
            _ => {}
        }
    }
    if bad_given {
        given = None;
    }
    let mut close = !keep_alive || says_close;
    let mut head = super::conn::head_buffer(64 + headers.len() * 32);
    if !http10 && status == StatusCode::OK {
        head.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        head.extend_from_slice(if http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
        head.extend_from_slice(status.as_str().as_bytes());
        head.push(b' ');
        head.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    // The framing, and whether the answer's own Content-Length / Transfer-Encoding is written.
    let (mut encoding, keep_cl, keep_te) = if given_te && !http10 && !no_body {
        (Encoding::Chunked, false, true)
    } else if let Some(n) = given {
        match known {
            // An empty body: only HEAD keeps the header's figure.
            Some(0) if *method == Method::HEAD => (Encoding::Length(0), true, false),
            Some(0) => (Encoding::Length(0), false, false),
            Some(k) => (Encoding::Length(k), length_allowed, false),
            None => (Encoding::Length(n), length_allowed, false),
        }
    } else {
        match known {
            Some(n) => (Encoding::Length(n), false, false),
            None if no_body => (Encoding::Length(0), false, false),
            None if http10 => (Encoding::Close, false, false),
            None => (Encoding::Chunked, false, false),
        }
    };
    let mut wrote_date = false;
    for (name, value) in headers {
        match *name {
            header::CONTENT_LENGTH if !keep_cl => continue,
            header::TRANSFER_ENCODING if !keep_te => continue,
            header::DATE => wrote_date = true,
            _ => {}
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        if *name == header::TRANSFER_ENCODING && !ends_in_chunked(value.as_bytes()) {
            head.extend_from_slice(b", chunked");
        }
        head.extend_from_slice(b"\r\n");
    }
    if !keep_cl && !keep_te {
        match encoding {
            Encoding::Length(0) if no_body => {}
            Encoding::Length(n) if length_allowed => {
                head.extend_from_slice(b"content-length: ");
                head.extend_from_slice(itoa(n, &mut [0u8; 20]));
                head.extend_from_slice(b"\r\n");
            }
            Encoding::Chunked => head.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            _ => {}
        }
    }
    if encoding == Encoding::Close {
        close = true;
    }
    if http10 && !close && !says_keep_alive {
        head.extend_from_slice(b"connection: keep-alive\r\n");
    } else if !http10 && close && !says_close {
        head.extend_from_slice(b"connection: close\r\n");
    }
    if !wrote_date {
        head.extend_from_slice(b"date: ");
        date(&mut head);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    if no_body {
        encoding = Encoding::Length(0);
    }
    Encoded {
        head,
        encoding,
        close,
    }
}

thread_local! {
    /// The `date` value of the current second (formatting one costs more than the rest of a head).
    static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
}

/// Appends the current time as an HTTP date (RFC 9110 §5.6.7).
fn date(out: &mut Vec<u8>) {
    let now = std::time::SystemTime::now();
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs {
            let text = httpdate::fmt_http_date(now);
            if text.len() == 29 {
                d.1.copy_from_slice(text.as_bytes());
                d.0 = secs;
            } else {
                out.extend_from_slice(text.as_bytes());
                return;
            }
        }
        out.extend_from_slice(&d.1);
    });
}

/// A connection's input and its stream: what the connection task and the body of the request
/// being served share (one task polls both, never at the same time).
pub struct Wire<S> {
    pub io: S,
    /// Read and not consumed yet (pipelined requests included).
    pub buf: BytesMut,
    /// The client closed its side (or reading failed).
    pub eof: bool,
    /// A request body was malformed: what follows it cannot be framed, so nothing more is read.
    pub broken: bool,
    /// The body of the current request.
    pub body: Decoder,
    /// Which request the body belongs to: a body handle kept past its request fails to read.
    pub generation: u64,
    /// Bytes of `100 Continue` still to write before the body is read (0: none owed).
    pub continue_left: usize,
}

impl<S: Stream> Wire<S> {
    pub fn new(io: S) -> Wire<S> {
        Wire {
            io,
            buf: BytesMut::new(),
            eof: false,
            broken: false,
            body: Decoder::Done,
            generation: 0,
            continue_left: 0,
        }
    }

    /// Reads more input into the buffer; `Ready(Ok(0))` at the close.
    pub fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        fill(&mut self.io, &mut self.buf, &mut self.eof, READ_BUF, cx)
    }

    fn poll_continue(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.continue_left > 0 {
            let from = CONTINUE.len() - self.continue_left;
            let n = std::task::ready!(
                std::pin::Pin::new(&mut self.io).poll_write(cx, &CONTINUE[from..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.continue_left -= n;
        }
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Decodes what is already buffered of the current body, without reading: whether the body
    /// ended (so the next request can be read on this connection).
    pub fn skip_buffered_body(&mut self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        loop {
            if self.body == Decoder::Done {
                return true;
            }
            let r = self.body.poll_decode(
                &mut self.buf,
                |_, _| Poll::Pending,
                MAX_TRAILERS,
                "",
                &mut cx,
            );
            match r {
                Poll::Ready(Ok(Some(_))) => {}
                Poll::Ready(Ok(None)) => return true,
                Poll::Ready(Err(_)) | Poll::Pending => return false,
            }
        }
    }
}

/// Reads what arrived on `io` into `buf` (grown by `grow` when short of room), noting the close
/// or a failed read in `eof`.
fn fill<S: Stream>(
    io: &mut S,
    buf: &mut BytesMut,
    eof: &mut bool,
    grow: usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let r = super::io::poll_read_buf(io, cx, buf, MIN_READ, grow);
    if let Poll::Ready(Ok(0) | Err(_)) = r {
        *eof = true;
    }
    r
}

/// What a request body reads through: its connection's [`Wire`], whatever the stream.
pub trait BodyWire {
    fn poll_body(
        &mut self,
        generation: u64,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Bytes>>>;
    fn body_state(&self, generation: u64) -> Decoder;
}

impl<S: Stream> BodyWire for Wire<S> {
    fn poll_body(
        &mut self,
        generation: u64,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Bytes>>> {
        if generation != self.generation {
            // The connection moved on while this body was unfinished (the server only moves on
            // once the body ended or nobody holds it): never a clean end, which would pass a
            // truncated body on as whole.
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the request is over: its body can no longer be read",
            ))));
        }
        if self.body == Decoder::Done {
            return Poll::Ready(None);
        }
        if self.continue_left > 0 {
            if let Err(e) = std::task::ready!(self.poll_continue(cx)) {
                self.body = Decoder::Done;
                self.broken = true;
                return Poll::Ready(Some(Err(e)));
            }
        }
        // A long body is read in pieces of up to 64 KiB, as it arrives: fewer, larger frames to
        // pass on (hyper's server grew its reads the same way).
        let grow = match self.body {
            Decoder::Length(left) => (left.min(MAX_BODY_READ as u64) as usize).max(READ_BUF),
            _ => READ_BUF,
        };
        let Wire { io, buf, eof, .. } = self;
        let r = self.body.poll_decode(
            buf,
            |cx, buf| fill(io, buf, eof, grow, cx),
            MAX_TRAILERS,
            "the client closed the connection before the end of the body",
            cx,
        );
        match r {
            Poll::Ready(Ok(Some(data))) => Poll::Ready(Some(Ok(data))),
            Poll::Ready(Ok(None)) => Poll::Ready(None),
            Poll::Ready(Err(e)) => {
                // The rest of this connection's input cannot be framed.
                self.body = Decoder::Done;
                self.broken = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn body_state(&self, generation: u64) -> Decoder {
        if generation == self.generation {
            self.body
        } else {
            // Not ended, length unknown: reading it fails (see `poll_body`).
            Decoder::Eof
        }
    }
}

/// A client's request body, read from its connection as it is polled.
pub struct RequestBody {
    wire: Rc<RefCell<dyn BodyWire>>,
    generation: u64,
}

impl RequestBody {
    pub fn new(wire: Rc<RefCell<dyn BodyWire>>, generation: u64) -> RequestBody {
        RequestBody { wire, generation }
    }

    pub fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Ok(mut w) = self.wire.try_borrow_mut() else {
            // Not expected: the connection task never holds the wire across a poll of a body.
            return Poll::Ready(Some(Err("the request body was read re-entrantly".into())));
        };
        w.poll_body(self.generation, cx)
            .map(|f| f.map(|r| r.map(Frame::data).map_err(BoxError::from)))
    }

    pub fn is_end_stream(&self) -> bool {
        self.state().is_end()
    }

    pub fn size_hint(&self) -> SizeHint {
        self.state().size_hint()
    }

    /// Where the body stands; not ended, length unknown, while its connection is in use.
    fn state(&self) -> Decoder {
        self.wire
            .try_borrow()
            .map_or(Decoder::Eof, |w| w.body_state(self.generation))
    }
}

/// An answer on its way out: its head, then its body's frames as the encoding says.
pub struct ResponseWriter {
    parts: Parts,
    /// Frames gathered behind `parts` (not chunked): written with it in one `sendmsg`.
    more: std::collections::VecDeque<Bytes>,
    body: Body,
    encoding: Encoding,
    body_done: bool,
    gathered: bool,
    /// The body had no frame ready since the last write: it is not asked again until what is
    /// pending went out (asking costs a `recv` that finds nothing).
    body_waiting: bool,
}

/// How much of a body is gathered into one write (what a client reads at once).
const GATHER: usize = 64 * 1024;
/// Gathered frames written with one `sendmsg` (beyond the head and first frame).
const MORE_SLICES: usize = 16;

/// Why an answer could not be written whole: the connection is closed.
#[derive(Debug)]
pub enum WriteFailed {
    /// Its body failed or did not match its length.
    Body(BoxError),
    Io(io::Error),
}

impl ResponseWriter {
    pub fn new(encoded: Encoded, body: Body) -> ResponseWriter {
        use http_body::Body as _;
        let body_done = encoded.encoding == Encoding::Length(0) || body.is_end_stream();
        ResponseWriter {
            parts: Parts {
                terminator: body_done && encoded.encoding == Encoding::Chunked,
                ..Parts::with_head(encoded.head)
            },
            more: std::collections::VecDeque::new(),
            body,
            encoding: encoded.encoding,
            body_done,
            gathered: false,
            body_waiting: false,
        }
    }

    /// Writes what `wire`'s stream takes; the body is polled with no borrow of `wire` held (it
    /// may be the request's own body, which reads through the same wire).
    pub fn poll<S: Stream>(
        &mut self,
        wire: &RefCell<Wire<S>>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), WriteFailed>> {
        loop {
            // Frames that are ready are gathered up to `GATHER` (chunked ones go one by one: each
            // needs its own framing); the head goes with the first.
            let gather =
                self.encoding != Encoding::Chunked && !self.body_waiting && self.pending() < GATHER;
            if !self.body_done && (self.parts.is_empty() || !self.gathered || gather) {
                self.gathered = true;
                match self.next_frame(cx) {
                    Poll::Ready(Ok(())) => {
                        if !self.body_done && (self.parts.is_empty() || gather) {
                            continue;
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(WriteFailed::Body(e))),
                    Poll::Pending if self.parts.is_empty() => {
                        let mut w = wire.borrow_mut();
                        if let Poll::Ready(Err(e)) = std::pin::Pin::new(&mut w.io).poll_flush(cx) {
                            return Poll::Ready(Err(WriteFailed::Io(e)));
                        }
                        return Poll::Pending;
                    }
                    Poll::Pending => self.body_waiting = true,
                }
            }
            let mut w = wire.borrow_mut();
            if self.parts.is_empty() {
                std::task::ready!(std::pin::Pin::new(&mut w.io).poll_flush(cx))
                    .map_err(WriteFailed::Io)?;
                return Poll::Ready(Ok(()));
            }
            let (first, n) = self.parts.slices();
            let mut slices = [io::IoSlice::new(&[]); 5 + MORE_SLICES];
            slices[..n].copy_from_slice(&first[..n]);
            let mut count = n;
            for b in self.more.iter().take(MORE_SLICES) {
                slices[count] = io::IoSlice::new(b);
                count += 1;
            }
            let written = if w.io.is_write_vectored() {
                std::task::ready!(
                    std::pin::Pin::new(&mut w.io).poll_write_vectored(cx, &slices[..count])
                )
            } else {
                std::task::ready!(std::pin::Pin::new(&mut w.io).poll_write(cx, &slices[0]))
            };
            let ahead: usize = first[..n].iter().map(|s| s.len()).sum();
            match written {
                Ok(0) => return Poll::Ready(Err(WriteFailed::Io(io::ErrorKind::WriteZero.into()))),
                Ok(k) if k < ahead => self.parts.advance(k),
                Ok(k) => {
                    self.parts.advance(ahead);
                    let mut left = k - ahead;
                    while left > 0 {
                        let Some(front) = self.more.front_mut() else {
                            break;
                        };
                        let take = left.min(front.len());
                        bytes::Buf::advance(front, take);
                        left -= take;
                        if front.is_empty() {
                            self.more.pop_front();
                        }
                    }
                    // What was gathered behind moves up.
                    if self.parts.is_empty() {
                        self.parts.data = self.more.pop_front();
                    }
                }
                Err(e) => return Poll::Ready(Err(WriteFailed::Io(e))),
            }
            if self.parts.is_empty() {
                self.body_waiting = false;
            }
        }
    }

    /// Body bytes taken and not yet written (a frame partly written counts whole).
    fn pending(&self) -> usize {
        self.parts.data.as_ref().map_or(0, Bytes::len)
            + self.more.iter().map(Bytes::len).sum::<usize>()
    }

    fn next_frame(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        use http_body::Body as _;
        let frame = match std::task::ready!(std::pin::Pin::new(&mut self.body).poll_frame(cx)) {
            None => return Poll::Ready(self.end()),
            Some(Err(e)) => return Poll::Ready(Err(e)),
            Some(Ok(f)) => f,
        };
        if let Ok(data) = frame.into_data() {
            if !data.is_empty() {
                if self.parts.frame(&mut self.encoding, data.len()).is_err() {
                    return Poll::Ready(Err(
                        "the answer's body is longer than its Content-Length".into()
                    ));
                }
                if self.parts.data.is_some() {
                    self.more.push_back(data);
                } else {
                    self.parts.data = Some(data);
                }
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
            .end(self.encoding)
            .map_err(|()| "the answer's body is shorter than its Content-Length".into())
    }
}

/// The answer to a head that was refused: no body, and the connection closes.
pub fn refusal(status: StatusCode) -> Vec<u8> {
    let mut head = Vec::with_capacity(128);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
    head.extend_from_slice(b"\r\nconnection: close\r\ncontent-length: 0\r\ndate: ");
    date(&mut head);
    head.extend_from_slice(b"\r\n\r\n");
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_head: 8192,
        max_headers: 16,
    };

    fn parse(raw: &[u8]) -> Result<Option<Parsed>, Refused> {
        parse_request(&mut BytesMut::from(raw), LIMITS)
    }

    #[test]
    fn request_heads_give_their_framing_and_keep_alive() {
        let p = parse(b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap()
            .unwrap();
        assert_eq!(p.request.method(), Method::POST);
        assert_eq!(p.request.uri(), "/a?b=1");
        assert_eq!(p.decoder, Decoder::Length(5));
        assert!(p.keep_alive);
        let p = parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(p.keep_alive);
        assert_eq!(p.decoder, Decoder::Done);
        let p = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!p.keep_alive);
        let p = parse(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!p.keep_alive);
        // Both framings: chunked wins, Content-Length goes, and the connection closes after.
        let p =
            parse(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(p.decoder, Decoder::Chunked(Chunk::Size));
        assert!(!p.request.headers().contains_key(header::CONTENT_LENGTH));
        assert!(!p.keep_alive);
        let p = parse(
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert!(p.expect_continue);
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap().map(|_| ()),
            None
        );
    }

    #[test]
    fn bad_heads_are_refused_with_their_status() {
        let bad = StatusCode::BAD_REQUEST;
        assert_eq!(parse(b"GARBAGE\r\n\r\n").err(), Some(bad));
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\n").err(),
            Some(bad)
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").err(),
            Some(bad)
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").err(),
            Some(bad)
        );
        assert_eq!(
            parse(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").err(),
            Some(bad)
        );
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..20 {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            parse(&many).err(),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        // Equal repeated lengths are one length.
        let p =
            parse(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(p.decoder, Decoder::Length(3));
        // Host: required in HTTP/1.1, once, valid.
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n").err(), Some(bad));
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").err(),
            Some(bad)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: u@h\r\n\r\n").err(),
            Some(bad)
        );
        assert!(parse(b"GET / HTTP/1.0\r\n\r\n").is_ok());
        // A coding mint cannot pass on.
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").err(),
            Some(StatusCode::NOT_IMPLEMENTED)
        );
    }

    /// A stream with nothing to read (its close) that takes every write.
    struct Closed;
    impl futures_lite::AsyncRead for Closed {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
    }
    impl futures_lite::AsyncWrite for Closed {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut Context<'_>,
            b: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(b.len()))
        }
        fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    impl Stream for Closed {}

    #[test]
    fn a_body_reads_its_own_request_only() {
        let mut wire = Wire::new(Closed);
        wire.buf.extend_from_slice(b"helloGET /next");
        wire.generation = 1;
        wire.body = Decoder::Length(5);
        let wire: Rc<RefCell<dyn BodyWire>> = Rc::new(RefCell::new(wire));
        let mut body = RequestBody::new(wire.clone(), 1);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert_eq!(body.size_hint().exact(), Some(5));
        match body.poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(f))) => assert_eq!(f.into_data().unwrap(), "hello"),
            _ => panic!("the body's bytes"),
        }
        assert!(matches!(body.poll_frame(&mut cx), Poll::Ready(None)));
        // A handle kept past its request: not ended, and reading it fails.
        let mut stale = RequestBody::new(wire.clone(), 0);
        assert!(!stale.is_end_stream());
        assert!(matches!(
            stale.poll_frame(&mut cx),
            Poll::Ready(Some(Err(_)))
        ));
        // A body cut short by the client's close is an error, not an end.
        let mut w = Wire::new(Closed);
        w.generation = 1;
        w.body = Decoder::Length(5);
        w.buf.extend_from_slice(b"he");
        let wire: Rc<RefCell<dyn BodyWire>> = Rc::new(RefCell::new(w));
        let mut cut = RequestBody::new(wire, 1);
        assert!(matches!(cut.poll_frame(&mut cx), Poll::Ready(Some(Ok(_)))));
        assert!(matches!(cut.poll_frame(&mut cx), Poll::Ready(Some(Err(_)))));
    }

    #[test]
    fn the_end_of_a_head_is_found_across_reads() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(head_ends(head, 0));
        assert!(!head_ends(&head[..head.len() - 1], 0));
        // Searched up to the last byte before: the line end split between two reads is found.
        assert!(head_ends(head, head.len() - 1));
        assert!(head_ends(b"GET / HTTP/1.0\n\n", 10));
        assert!(!head_ends(b"GET / HTTP/1.1\r\nHost: a\r\n", 0));
    }

    #[test]
    fn recycled_header_maps_come_back_empty_and_big_enough() {
        std::thread::spawn(|| {
            let mut m = HeaderMap::with_capacity(12);
            m.insert(header::HOST, HeaderValue::from_static("a"));
            let cap = m.capacity();
            recycle_header_map(m);
            let small = header_map(2);
            assert!(small.is_empty());
            assert_eq!(small.capacity(), cap, "the kept map serves a smaller head");
            let big = header_map(cap + 1);
            assert!(big.capacity() > cap, "too small a kept map is not used");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn parsed_header_values_are_what_header_value_accepts() {
        // `parsed_value` skips HeaderValue's own check because httparse made the same one: every
        // byte a value may hold (CR and LF end it) is taken by both or refused by both.
        for b in (0..=255u8).filter(|b| !matches!(b, b'\r' | b'\n')) {
            let mut raw = b"GET / HTTP/1.1\r\nHost: x\r\nX-V: a".to_vec();
            raw.extend_from_slice(&[b, b'z', b'\r', b'\n', b'\r', b'\n']);
            let parsed = parse(&raw);
            let checked = HeaderValue::from_bytes(&[b'a', b, b'z']);
            match (parsed, checked) {
                (Ok(Some(p)), Ok(v)) => assert_eq!(p.request.headers()["x-v"], v, "byte {b:#04x}"),
                (Err(status), Err(_)) => assert_eq!(status, StatusCode::BAD_REQUEST),
                (p, c) => panic!(
                    "byte {b:#04x}: parsed {:?}, checked {c:?}",
                    p.map(|p| p.is_some())
                ),
            }
        }
    }

    #[test]
    fn header_names_come_from_the_cache_in_any_spelling() {
        for _ in 0..2 {
            assert_eq!(header_name(b"SOAPAction").unwrap(), "soapaction");
            assert_eq!(header_name(b"Content-Type").unwrap(), header::CONTENT_TYPE);
            assert_eq!(header_name(b"content-type").unwrap(), header::CONTENT_TYPE);
        }
        assert!(header_name(b"bad name").is_err());
        // More names than the cache keeps: each still comes out right.
        for i in 0..(NAME_SLOTS * 2) {
            let raw = format!("X-Name-{i}");
            assert_eq!(
                header_name(raw.as_bytes()).unwrap(),
                raw.to_ascii_lowercase().as_str()
            );
        }
        assert_eq!(header_name(b"SOAPAction").unwrap(), "soapaction");
    }

    fn head_of(status: u16, method: Method, version: Version, keep: bool, body: Body) -> String {
        let mut r = Response::new(body);
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        let e = encode_response(&r, &method, version, keep);
        let text = String::from_utf8(e.head).unwrap();
        // The date changes: keep its name only.
        text.lines()
            .map(|l| if l.starts_with("date: ") { "date" } else { l })
            .collect::<Vec<_>>()
            .join("|")
    }

    #[test]
    fn response_framing_follows_the_body_and_the_request() {
        let full = || Body::Full(Some(Bytes::from_static(b"hello")));
        assert_eq!(
            head_of(200, Method::POST, Version::HTTP_11, true, full()),
            "HTTP/1.1 200 OK|content-length: 5|date|"
        );
        assert_eq!(
            head_of(200, Method::GET, Version::HTTP_11, true, Body::Empty),
            "HTTP/1.1 200 OK|content-length: 0|date|"
        );
        assert_eq!(
            head_of(204, Method::GET, Version::HTTP_11, true, Body::Empty),
            "HTTP/1.1 204 No Content|date|"
        );
        assert_eq!(
            head_of(200, Method::HEAD, Version::HTTP_11, true, full()),
            "HTTP/1.1 200 OK|content-length: 5|date|"
        );
        assert_eq!(
            head_of(404, Method::GET, Version::HTTP_11, false, Body::Empty),
            "HTTP/1.1 404 Not Found|content-length: 0|connection: close|date|"
        );
        assert_eq!(
            head_of(200, Method::GET, Version::HTTP_10, true, full()),
            "HTTP/1.0 200 OK|content-length: 5|connection: keep-alive|date|"
        );
        assert_eq!(
            head_of(499, Method::GET, Version::HTTP_11, true, Body::Empty),
            "HTTP/1.1 499 <none>|content-length: 0|date|"
        );
    }
}
