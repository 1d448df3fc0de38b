//! The message context: one message (request, then possibly a response) with its properties by
//! scope, as Synapse's `MessageContext` + Axis2 context.
//!
//! The body stays an un-read stream ([`Body::Incoming`]) until a mediator asks for the content with
//! [`MessageContext::body_bytes`], which reads it to the end once (bounded by `max_body_size`).

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri};
use http_body_util::BodyExt;

use super::split::{Frame, SplitGroup};
use crate::error::{Error, ErrorKind, Result, Side};
use crate::http::body::{Body, Streamed};
pub use crate::http::rules::strip_hop_by_hop;

/// A property value: Synapse stores typed Java objects; mint keeps their text form.
pub type PropValue = compact_str::CompactString;

/// The fault handlers in force, innermost last. Inline up to a depth real flows rarely pass (a
/// proxy's or resource's handler and a sequence's `onError` or two), so a request does not
/// allocate for it.
pub type FaultStack = smallvec::SmallVec<[super::SeqId; 6]>;
/// A scope's property table. Keys are property names: from artifacts, read back from a message
/// store, or made from a request's query and URI-template parameters (`query.param.*`,
/// `uri.var.*`, bounded in number by the head-size limit).
pub type Props = super::propmap::PropMap;

/// A property name: the names mint itself sets (`HTTP_SC`, `messageType`, …) are static and not
/// copied for every message.
pub type PropKey = std::borrow::Cow<'static, str>;

pub struct MessageContext {
    /// The client's request line (kept for the whole exchange).
    pub method: Method,
    pub uri: Uri,
    /// Whether the request came in on the HTTPS listener.
    pub https: bool,
    /// `Host` of the client's request (for `REST_URL_PREFIX`): a shared reference to the
    /// received header, not a copy ([`Self::host`] reads it as text).
    host: Option<http::HeaderValue>,
    /// Transport headers of the current message (request headers, then the response's).
    pub headers: HeaderMap,
    pub body: Body,
    /// True once the current message is a response (after call/send, or loopback).
    pub is_response: bool,
    /// Status of the current response message.
    pub status: StatusCode,
    /// `default` scope properties.
    pub props: Props,
    /// MI 4.4's variables (`variable` mediator, `${vars.x}`).
    pub vars: HashMap<String, crate::synexpr::Val>,
    /// The parameters of the sequence templates running, innermost last (`$func:p`,
    /// `get-property('func', 'p')`, `${params.functionParams.p}`).
    pub func_stack: Vec<HashMap<String, String>>,
    /// `axis2` scope properties (control properties such as HTTP_SC, messageType…).
    pub axis2: Props,
    /// WS-Addressing `To`.
    pub to: Option<String>,
    /// WS-Addressing `Action` / SOAPAction.
    pub action: Option<String>,
    /// Set by `respond` (or `send` in the out-flow): the message goes back to the client.
    pub responded: bool,
    /// Fault handler stack: innermost last.
    pub fault_stack: FaultStack,
    /// The out sequence of the service being run (proxy/resource), for `send` responses.
    pub out_seq: Option<super::SeqId>,
    /// A proxy's target endpoint (where an endpoint-less `send` in the in-flow goes).
    pub target_endpoint: Option<super::EpId>,
    /// Set when a fault handler ran for this message (for the client's answer if nobody responds).
    pub fault: Option<(ErrorKind, i64, String)>,
    /// Maximum body size read into memory.
    pub max_body: usize,
    /// The client sent `Expect: 100-continue`.
    pub expect_continue: bool,
    /// Sequences running inside each other for this message now (bounded by the engine).
    pub depth: u32,
    /// Time allowed to read a body into memory.
    pub body_timeout: std::time::Duration,
    /// The body parsed as XML, while the body is unchanged.
    pub xml: Option<std::sync::Arc<crate::xml::Document>>,
    /// The message is a fault (makefault): answered 500 unless HTTP_SC says otherwise.
    pub is_fault: bool,
    /// What the body bytes are (independent of `messageType`, which says what to send).
    pub body_type: BodyType,
    /// Why reading the body failed (too large, timed out, broken framing): every later read of
    /// the same body fails the same way, until a mediator replaces the body.
    body_failed: Option<BodyFailure>,
    /// The split this message started or is a part of, shared with the other parts.
    pub split: Option<Rc<SplitGroup>>,
    /// The request's fan-out count, for a branch of MI 4.4's foreach or scatter-gather (which
    /// runs outside its parent's split group): splits it starts count their parts in it.
    pub split_budget: Option<Rc<std::cell::Cell<usize>>>,
    /// Where the flow is, innermost last (kept only when the program has a mediator that resumes
    /// parts after it: see [`Frame`]).
    pub frames: Vec<Frame>,
    /// A `call` ran on this message (a split part then resumes after its splitter, as Synapse's
    /// continuation does).
    pub called: bool,
    /// Synapse's message id (made when first asked for).
    message_id: Option<String>,
    /// While above 0, a failing mediator's error is kept in `caught` and the flow stops, instead
    /// of the fault handler running (foreach's `continueLoopOnFailure`).
    pub catching: u32,
    pub caught: Option<Error>,
    /// The body is a SOAP envelope mint built around non-SOAP content (an aggregation of plain
    /// XML or JSON parts): as Synapse's POX formatter, only the body's first element is written.
    pub payload_only: bool,
    /// A mediator replaced the body: its `Content-Type` header no longer describes it.
    pub body_replaced: bool,
    /// Headers the client's response gets whatever the flow does with the message's own (the
    /// CORS headers of an API, as Synapse's `CORSHelper` adds them).
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    /// What a cache finder's miss leaves for the collector on the response path (MI's
    /// `CachableResponse`; the cache mediator's own type).
    pub cache: Option<Rc<dyn std::any::Any>>,
    /// The client's address (`REMOTE_ADDR`).
    pub remote: Option<std::net::IpAddr>,
    /// A control property that changes how the message is sent or answered (OUT_ONLY,
    /// FORCE_SC_ACCEPTED, FORCE_HTTP_1.0, …: [`super::properties::CONTROL`]) may be set: the send
    /// path looks them up only then.
    pub controls: bool,
    /// A concurrency slot a throttle mediator gave this message: handed back when the
    /// backend's response arrives or the message ends, whichever comes first.
    pub throttle_slot: Option<ConcurrencySlot>,
}

/// One of a throttle's concurrent-access slots, handed back on drop.
#[derive(Debug)]
pub struct ConcurrencySlot {
    pub available: std::sync::Arc<std::sync::atomic::AtomicI64>,
    pub limit: i64,
}

impl Drop for ConcurrencySlot {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        let limit = self.limit;
        let _ = self
            .available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                (v < limit).then_some(v + 1)
            });
    }
}

/// A failed body read, kept so that it can be raised again.
#[derive(Debug, Clone)]
struct BodyFailure {
    kind: ErrorKind,
    side: Side,
    context: String,
}

impl BodyFailure {
    fn error(&self) -> Error {
        Error::new(self.kind, self.side, self.context.clone())
    }
}

/// The format of the body bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    Xml,
    Json,
    Other,
}

impl BodyType {
    /// From a Content-Type / messageType value.
    pub fn of(content_type: &str) -> BodyType {
        // The common types first, without a scan.
        let t = content_type.as_bytes();
        if [
            &b"text/xml"[..],
            b"application/xml",
            b"application/soap+xml",
        ]
        .iter()
        .any(|x| t.eq_ignore_ascii_case(x))
        {
            return BodyType::Xml;
        }
        if t.eq_ignore_ascii_case(b"application/json") {
            return BodyType::Json;
        }
        let has = |needle: &[u8]| {
            content_type
                .as_bytes()
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
        };
        if has(b"json") {
            BodyType::Json
        } else if has(b"xml") {
            BodyType::Xml
        } else {
            BodyType::Other
        }
    }
}

#[derive(Debug)]
struct BodyTimeout;
impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("body read timeout")
    }
}
impl std::error::Error for BodyTimeout {}

impl MessageContext {
    /// The context of a client's request. The body may be a socket's stream
    /// ([`Body::Incoming`] from hyper), an in-memory stream ([`Streamed::local`]) or full.
    pub fn new(
        req: http::Request<Body>,
        https: bool,
        max_body: usize,
        body_timeout: std::time::Duration,
    ) -> MessageContext {
        let (parts, body) = req.into_parts();
        // The first value of each header the context keeps apart, in one pass over the map
        // (four lookups by name cost more than the walk).
        let (mut host, mut action, mut expect, mut content_type) = (None, None, None, None);
        for (name, value) in &parts.headers {
            let first = match *name {
                header::HOST => &mut host,
                header::EXPECT => &mut expect,
                header::CONTENT_TYPE => &mut content_type,
                _ if name == crate::http::SOAPACTION => &mut action,
                _ => continue,
            };
            if first.is_none() {
                *first = Some(value);
            }
        }
        let host = host.cloned();
        let action = action
            .and_then(|h| h.to_str().ok())
            .map(|s| s.trim_matches('"'))
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let no_body = http_body::Body::is_end_stream(&body);
        let expect_continue =
            expect.is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let content_type = content_type
            .and_then(|v| v.to_str().ok())
            .map(PropValue::from);
        let mut ctx = MessageContext {
            method: parts.method,
            uri: parts.uri,
            https,
            host,
            headers: parts.headers,
            body,
            is_response: false,
            status: StatusCode::OK,
            props: Props::default(),
            vars: HashMap::new(),
            func_stack: Vec::new(),
            // A request's transport properties, and the response's after a call: one
            // allocation, no rehash.
            axis2: Props::with_capacity(8),
            to: None,
            action,
            responded: false,
            fault_stack: FaultStack::new(),
            out_seq: None,
            target_endpoint: None,
            fault: None,
            max_body,
            expect_continue,
            depth: 0,
            body_timeout,
            xml: None,
            is_fault: false,
            body_type: BodyType::Other,
            body_failed: None,
            split: None,
            split_budget: None,
            frames: Vec::new(),
            called: false,
            message_id: None,
            catching: 0,
            caught: None,
            payload_only: false,
            body_replaced: false,
            response_headers: Vec::new(),
            cache: None,
            remote: None,
            controls: false,
            throttle_slot: None,
        };
        if no_body {
            ctx.body = Body::Empty;
            ctx.axis2.insert("NO_ENTITY_BODY".into(), "true".into());
        }
        if let Some(ct) = content_type {
            let mt = crate::http::media_type(&ct);
            ctx.body_type = BodyType::of(mt);
            ctx.axis2.insert("messageType".into(), mt.into());
            ctx.axis2.insert("ContentType".into(), ct);
        }
        ctx.axis2
            .insert("HTTP_METHOD".into(), ctx.method.as_str().into());
        ctx
    }

    /// `Host` of the client's request.
    pub fn host(&self) -> Option<&str> {
        self.host.as_ref().and_then(|h| h.to_str().ok())
    }

    /// A copy of this message with `body` as its content, for a split part or a clone: the same
    /// request line, headers, properties, fault handlers, flow position and split group, and a
    /// new message id. Nothing is shared but the split group.
    pub fn fork(&self, body: Bytes, body_type: BodyType) -> MessageContext {
        MessageContext {
            method: self.method.clone(),
            uri: self.uri.clone(),
            https: self.https,
            host: self.host.clone(),
            headers: self.headers.clone(),
            body: Body::full(body),
            is_response: self.is_response,
            status: self.status,
            props: self.props.clone(),
            vars: self.vars.clone(),
            func_stack: self.func_stack.clone(),
            axis2: self.axis2.clone(),
            to: self.to.clone(),
            action: self.action.clone(),
            responded: false,
            fault_stack: self.fault_stack.clone(),
            out_seq: self.out_seq,
            target_endpoint: self.target_endpoint,
            fault: None,
            max_body: self.max_body,
            expect_continue: false,
            depth: self.depth,
            body_timeout: self.body_timeout,
            xml: None,
            is_fault: self.is_fault,
            body_type,
            body_failed: None,
            split: self.split.clone(),
            split_budget: self.split_budget.clone(),
            frames: self.frames.clone(),
            called: false,
            message_id: None,
            catching: 0,
            caught: None,
            payload_only: false,
            body_replaced: true,
            response_headers: Vec::new(),
            cache: self.cache.clone(),
            remote: self.remote,
            controls: self.controls,
            throttle_slot: None,
        }
    }

    /// The XML a variable holds, parsed (for `xpath(expression, variable)`), or why not.
    pub fn variable_document(
        &self,
        name: &str,
    ) -> std::result::Result<std::sync::Arc<crate::xml::Document>, String> {
        use crate::synexpr::Val;
        let text = match self.vars.get(name) {
            Some(Val::Xml(x) | Val::Str(x)) => x,
            Some(_) => return Err(format!("Variable '{name}' does not hold XML")),
            None => return Err(format!("Variable '{name}' is not defined")),
        };
        crate::xml::Document::parse(Bytes::from(text.clone()))
            .map(std::sync::Arc::new)
            .map_err(|e| format!("Variable '{name}' does not hold XML: {e}"))
    }

    /// Synapse's message id (`urn:uuid:…`), made on first use.
    pub fn message_id(&mut self) -> &str {
        self.message_id.get_or_insert_with(new_message_id)
    }

    /// Gives the message the id it had before (a message coming out of a store).
    pub fn set_message_id(&mut self, id: String) {
        self.message_id = Some(id);
    }

    /// The message id if one was made.
    pub fn message_id_if_made(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// The current message becomes `resp` (after a backend call).
    pub fn set_response(&mut self, resp: http::Response<Streamed>) {
        // The backend answered: a throttle's concurrent-access slot is free again (as Synapse's
        // callback receiver hands it back).
        self.throttle_slot = None;
        let (parts, body) = resp.into_parts();
        self.xml = None;
        self.body_replaced = false;
        self.body_failed = None;
        self.is_fault = false;
        self.status = parts.status;
        self.headers = parts.headers;
        self.body = if http_body::Body::is_end_stream(&body) {
            Body::Empty
        } else {
            Body::Incoming(body)
        };
        self.is_response = true;
        self.axis2
            .insert("HTTP_SC".into(), parts.status.as_str().into());
        if let Some(reason) = parts.status.canonical_reason() {
            self.axis2.insert("HTTP_SC_DESC".into(), reason.into());
        }
        self.axis2.remove("NO_ENTITY_BODY");
        match self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        {
            Some(ct) => {
                let mt = crate::http::media_type(ct);
                self.axis2.insert("ContentType".into(), ct.into());
                self.body_type = BodyType::of(mt);
                self.axis2.insert("messageType".into(), mt.into());
            }
            None => {
                self.axis2.remove("ContentType");
                self.body_type = BodyType::Other;
            }
        }
    }

    /// Reads the whole body into memory (once); later calls return the same bytes. When the read
    /// fails, later calls return the same error (the body is gone: it must never read as empty).
    pub async fn body_bytes(&mut self) -> Result<Bytes> {
        if let Some(f) = &self.body_failed {
            return Err(f.error());
        }
        let result = self.read_body().await;
        if let Err(e) = &result {
            self.body_failed = Some(BodyFailure {
                kind: e.kind,
                side: e.side,
                context: e.context.clone(),
            });
        }
        result
    }

    /// The error of an earlier failed body read, if the body has not been replaced since.
    pub fn body_failure(&self) -> Option<Error> {
        self.body_failed.as_ref().map(BodyFailure::error)
    }

    async fn read_body(&mut self) -> Result<Bytes> {
        match std::mem::take(&mut self.body) {
            Body::Empty => Ok(Bytes::new()),
            Body::Full(b) => {
                let b = b.unwrap_or_default();
                self.body = Body::full(b.clone());
                Ok(b)
            }
            Body::Incoming(inc) => {
                let limited = http_body_util::Limited::new(inc, self.max_body);
                let timer = async {
                    crate::net::deadline::after(self.body_timeout).await;
                    Err(Box::new(BodyTimeout) as Box<dyn std::error::Error + Send + Sync>)
                };
                let collected =
                    futures_lite::future::or(async { limited.collect().await }, timer).await;
                if let Err(e) = &collected {
                    if e.is::<BodyTimeout>() {
                        let side = if self.is_response {
                            Side::Backend
                        } else {
                            Side::Client
                        };
                        let kind = if self.is_response {
                            ErrorKind::Timeout
                        } else {
                            ErrorKind::ClientTimeout
                        };
                        return Err(Error::new(
                            kind,
                            side,
                            format!(
                                "the body did not arrive within {} ms",
                                self.body_timeout.as_millis()
                            ),
                        ));
                    }
                }
                match collected {
                    Ok(c) => {
                        let b = c.to_bytes();
                        self.body = Body::full(b.clone());
                        Ok(b)
                    }
                    Err(e) => {
                        let too_large = e
                            .downcast_ref::<http_body_util::LengthLimitError>()
                            .is_some();
                        // A response whose request body failed on the way: its sender's fault.
                        let sender_failed = e.is::<crate::http::conn::RequestBodyFailed>();
                        let (kind, side) = if self.is_response && !sender_failed {
                            (
                                if too_large {
                                    ErrorKind::BodyTooLarge
                                } else {
                                    ErrorKind::ConnectionClosed
                                },
                                Side::Backend,
                            )
                        } else {
                            (
                                if too_large {
                                    ErrorKind::BodyTooLarge
                                } else {
                                    ErrorKind::ClientIo
                                },
                                Side::Client,
                            )
                        };
                        Err(Error::new(
                            kind,
                            side,
                            format!("reading the message body (limit {} bytes)", self.max_body),
                        ))
                    }
                }
            }
        }
    }

    /// Replaces the body (the content changed: framing headers no longer apply).
    pub fn set_body(&mut self, b: Bytes) {
        self.xml = None;
        self.body_replaced = true;
        self.payload_only = false;
        self.body_failed = None;
        self.body = Body::full(b);
        self.headers.remove(header::CONTENT_LENGTH);
    }

    /// Whether Synapse would treat this message as REST (not SOAP): decides whether
    /// `REST_URL_POSTFIX` is appended to address endpoints.
    pub fn doing_rest(&self) -> bool {
        let mt = self
            .axis2
            .get("messageType")
            .map(|v| v.as_str())
            .unwrap_or("");
        !(mt.eq_ignore_ascii_case("text/xml") || mt.eq_ignore_ascii_case("application/soap+xml"))
    }

    /// Synapse's `MESSAGE_FORMAT`: `soap11`, `soap12` or `pox`.
    pub fn message_format(&self) -> &'static str {
        let mt = self
            .axis2
            .get("messageType")
            .map(|v| v.as_str())
            .unwrap_or("");
        if mt.eq_ignore_ascii_case("text/xml") {
            "soap11"
        } else if mt.eq_ignore_ascii_case("application/soap+xml") {
            "soap12"
        } else {
            "pox"
        }
    }

    /// Whether a default-scope property is `true` (any case), as Synapse's control properties read.
    pub fn prop_true(&self, name: &str) -> bool {
        self.props
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn axis2_true(&self, name: &str) -> bool {
        self.axis2
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn set_header(&mut self, name: HeaderName, value: &str) -> Result<()> {
        let v = HeaderValue::from_str(value).map_err(|_| {
            Error::mediation(format!("'{value}' is not a valid value for header {name}"))
        })?;
        self.headers.insert(name, v);
        Ok(())
    }

    /// The request path+query relative to the proxy or API (`REST_URL_POSTFIX`).
    pub fn rest_url_postfix(&self) -> Option<&str> {
        self.axis2.get("REST_URL_POSTFIX").map(|v| v.as_str())
    }
}

/// A new message id, unique in this process (a random prefix per thread and a counter).
pub fn fresh_message_id() -> String {
    new_message_id()
}

/// A message id unique in this process: a random prefix per thread and a counter, in the
/// `urn:uuid:` form Synapse uses.
fn new_message_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static PREFIX: u64 = {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(0x6d69_6e74);
            h.finish()
        };
        static NEXT: Cell<u64> = const { Cell::new(0) };
    }
    let n = NEXT.with(|c| {
        let n = c.get().wrapping_add(1);
        c.set(n);
        n
    });
    let p = PREFIX.with(|p| *p);
    format!(
        "urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (p >> 32) as u32,
        (p >> 16) as u16,
        p as u16,
        (n >> 48) as u16,
        n & 0xffff_ffff_ffff
    )
}

/// Boot-time memory policy for message bodies: every allocation of 256 KiB or more (a read
/// body, its tree, a converted payload) gets its own mapping, so freeing it returns the memory
/// to the system at once. glibc's default raises that threshold after the first large free (up
/// to 32 MiB) and keeps what is freed below it in its heaps, which left hundreds of MiB resident
/// after one large JSON body. Fastbins are off too: with them, every allocation of a large
/// size class (a boxed request future is a few KiB) first merged all the fastbin chunks
/// (`malloc_consolidate`, about 800 instructions per proxied request); small sizes still come from
/// the per-thread cache. Call once, before the shards start.
pub fn return_freed_bodies_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes allocator parameters; it is called at boot, before any
    // other thread allocates concurrently with it.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_MXFAST, 0);
    }
}
