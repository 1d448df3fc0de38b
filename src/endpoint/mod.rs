//! Sending to backends, at run time: the endpoint kinds of a [`Program`] (address, http,
//! default, failover, load balance with weights and sticky sessions, key-expression), the shared
//! suspension state of leaf endpoints ([`crate::program::suspension`]) and the timeout of one
//! exchange.
//!
//! The send path sees the message through the [`Message`] trait, which the engine implements for
//! its message context (evaluating expressions and converting content stay in `mediation`), and
//! reaches backends through an [`Upstream`] (the shard's connection pool in production). Time
//! for suspension comes from a [`Clock`] the shard owns. With a scripted `Upstream` and a manual
//! clock, the whole path runs in-process in tests (`tests.rs`).

pub mod clock;
#[cfg(test)]
pub mod mock;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response};

pub use self::clock::{now_ms, Clock};
use crate::error::{Error, ErrorKind, Result, Side};
use crate::http::body::{Body, Streamed};
use crate::http::client::Pool;
use crate::http::upstream::{LocalFuture, Upstream};
use crate::http::SOAPACTION;
use crate::message::{EpId, Scope, Value};
use crate::program::endpoint::{Address, EndpointKind, Format, Origin, TimeoutAction};
use crate::program::{Endpoint, Program};

/// The message being sent, as the send path needs it.
pub trait Message {
    /// Transport headers of the current message (sticky sessions read the request's `Cookie`
    /// and, after a response, its `Set-Cookie`).
    fn headers(&self) -> &HeaderMap;

    /// Reads the body into memory, so that a group endpoint can send it again to another child.
    fn buffer(&mut self) -> impl Future<Output = Result<Bytes>>;

    /// Makes `headers` and `body` the current message again (before a child is tried).
    fn reset(&mut self, headers: HeaderMap, body: Bytes);

    /// Evaluates a `key-expression` to the key of an endpoint.
    fn eval(&mut self, expr: &Value) -> impl Future<Output = Result<String>>;

    /// Sets an endpoint's `<property>` on the message.
    fn set_property(
        &mut self,
        name: &str,
        value: &Value,
        scope: Scope,
    ) -> impl Future<Output = Result<()>>;

    /// A default-scope property (the variables of an `http` endpoint's URI template).
    fn property(&self, name: &str) -> Option<String>;

    /// `REST_URL_POSTFIX`, when the message is REST and it is not empty: Synapse appends it to
    /// address endpoints.
    fn rest_url_postfix(&self) -> Option<&str>;

    /// The `To` address a `default` endpoint sends to (header mediator, else WS-Addressing).
    fn to_address(&mut self) -> impl Future<Output = Option<String>>;

    /// Applies the endpoint's `format`, converts the content for the wire and hands over the
    /// message as a backend request.
    fn outbound(&mut self, format: Option<Format>) -> impl Future<Output = Result<Outbound>>;

    /// The backend's response becomes the current message.
    fn accept(&mut self, resp: Response<Streamed>);

    /// Whether a SOAP fault in the accepted response must fail the endpoint
    /// (`FORCE_ERROR_ON_SOAP_FAULT`): then [`Message::is_soap_fault`] is asked.
    fn soap_fault_fails(&self) -> bool {
        false
    }

    /// Whether the accepted response is a SOAP fault.
    fn is_soap_fault(&mut self) -> impl Future<Output = Result<bool>> {
        async { Ok(false) }
    }
}

/// How the request goes on the wire, from Synapse's axis2-scope control properties.
#[derive(Debug, Clone, Copy, Default)]
pub struct Framing {
    /// `FORCE_HTTP_1.0`: an HTTP/1.0 request.
    pub http10: bool,
    /// `NO_KEEPALIVE`: `Connection: close`; the connection is not used again.
    pub close: bool,
    /// `POST_TO_URI`: the absolute URI in the request line.
    pub absolute_uri: bool,
}

/// The message as it goes to a backend (taken out of the message: the response replaces it).
pub struct Outbound {
    /// The method when the endpoint sets none: `HTTP_METHOD`, else the client's.
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Body,
    /// The SOAP action of a SOAP message (sent as `SOAPAction`).
    pub soap_action: Option<String>,
    /// The `Content-Type` to send (`ContentType` after the output conversion).
    pub content_type: Option<crate::message::context::PropValue>,
    /// Query parameters to add to the address (`format="get"`: the payload's fields).
    pub query: Option<String>,
    pub framing: Framing,
}

/// Where a shard's backend requests go: its connection pool, called directly (no boxed future
/// per request on the hot path), or any other [`Upstream`] (a scripted one in tests).
#[derive(Clone)]
pub enum Upstreams {
    Pool(Rc<Pool>),
    Other(Rc<dyn Upstream>),
}

impl Upstreams {
    /// Any upstream other than the pool.
    pub fn other(upstream: Rc<dyn Upstream>) -> Upstreams {
        Upstreams::Other(upstream)
    }

    async fn send(&self, origin: &Origin, req: Request<Body>) -> Result<Response<Streamed>> {
        match self {
            Upstreams::Pool(pool) => pool.exchange(origin, req).await,
            Upstreams::Other(up) => up.send(origin, req).await,
        }
    }
}

impl From<Rc<Pool>> for Upstreams {
    fn from(pool: Rc<Pool>) -> Upstreams {
        Upstreams::Pool(pool)
    }
}

/// One shard's way to its backends: the upstream, the suspension clock, the round-robin
/// counters of load-balance endpoints and the exchange timeouts.
pub struct Backends {
    pub upstream: Upstreams,
    pub clock: Clock,
    pub shard: usize,
    /// Timeout of an exchange whose endpoint sets none (`[mediation] global_timeout`).
    pub global_timeout: Duration,
    /// What a forwarded body's sender may keep the backend waiting (`[http] body_read_timeout`).
    pub body_read_timeout: Duration,
    /// Per-shard round-robin counters, by endpoint id.
    round_robin: RefCell<Vec<usize>>,
}

impl Backends {
    pub fn new(
        upstream: impl Into<Upstreams>,
        clock: Clock,
        shard: usize,
        global_timeout: Duration,
        body_read_timeout: Duration,
    ) -> Backends {
        Backends {
            upstream: upstream.into(),
            clock,
            shard,
            global_timeout,
            body_read_timeout,
            round_robin: RefCell::default(),
        }
    }

    /// The same upstream, clock and timeouts for a newly deployed program (round robin starts
    /// over: endpoint ids are the new program's).
    pub fn renewed(&self) -> Backends {
        Backends::new(
            self.upstream.clone(),
            self.clock.clone(),
            self.shard,
            self.global_timeout,
            self.body_read_timeout,
        )
    }

    /// Sends the message to the endpoint (`None`: the `To` address) and makes the response the
    /// current message. Group endpoints buffer the body so that a failed attempt can be retried
    /// on the next child.
    pub fn call<'a, M: Message + 'a>(
        &'a self,
        program: &'a Program,
        mut msg: M,
        endpoint: Option<EpId>,
    ) -> LocalFuture<'a, Result<()>> {
        Box::pin(async move { self.route(program, &mut msg, endpoint).await })
    }

    /// [`Backends::call`]: a group recurses into its children (one boxed future per child try).
    async fn route<M: Message>(
        &self,
        program: &Program,
        msg: &mut M,
        endpoint: Option<EpId>,
    ) -> Result<()> {
        {
            let Some(id) = endpoint else {
                return self.call_leaf(msg, None).await;
            };
            let ep = &program.endpoints[id];
            let mut session = None;
            let (children, failover, order): (&[EpId], bool, Vec<usize>) = match &ep.kind {
                EndpointKind::Failover { children, .. } => {
                    (children, true, (0..children.len()).collect())
                }
                EndpointKind::Loadbalance {
                    children,
                    failover,
                    weights,
                    sticky,
                } => {
                    if let Some(st) = sticky {
                        if let Some(&child) = st.lookup(msg.headers()).and_then(|i| children.get(i))
                        {
                            // A bound session: that child only, no failover (as Synapse).
                            return Box::pin(self.route(program, msg, Some(child))).await;
                        }
                        session = Some(st);
                    }
                    let start = self.next_round_robin(id, children.len(), weights);
                    (
                        children,
                        *failover,
                        (0..children.len())
                            .map(|i| (start + i) % children.len())
                            .collect(),
                    )
                }
                EndpointKind::Dynamic(expr) => {
                    // Resolved against the deployed endpoints (named or loaded from the registry at
                    // deploy time): shards never compile configuration.
                    let key = msg.eval(expr).await?;
                    let Some(&target) = program.named_endpoints.get(key.trim()) else {
                        return Err(Error::mediation(format!(
                            "Reference to non-existent endpoint for key : {}",
                            key.trim()
                        )));
                    };
                    return Box::pin(self.route(program, msg, Some(target))).await;
                }
                _ => return self.call_leaf(msg, Some(ep)).await,
            };
            let body = msg.buffer().await?;
            let headers = msg.headers().clone();
            let now = self.clock.now_ms();
            let mut last: Option<Error> = None;
            for i in order {
                let child = children[i];
                let c = &program.endpoints[child];
                if c.tracks_state() && !c.state.ready_to_send(now) {
                    continue;
                }
                msg.reset(headers.clone(), body.clone());
                match Box::pin(self.route(program, msg, Some(child))).await {
                    Ok(()) => {
                        if let Some(st) = session {
                            st.learn(msg.headers(), i);
                        }
                        return Ok(());
                    }
                    Err(e) if failover && e.is_transport() => {
                        tracing::debug!(endpoint = ep.display_name(), child = c.display_name(), error = %e, "failing over");
                        last = Some(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            msg.reset(headers, body);
            Err(last.unwrap_or_else(|| {
                Error::new(
                    ErrorKind::NoneReady,
                    Side::Backend,
                    format!(
                        "endpoint {}: no child endpoint is ready to send",
                        ep.display_name()
                    ),
                )
            }))
        }
    }

    /// The next start index of a load-balance group, per shard (weighted when `weights` is set).
    fn next_round_robin(&self, id: EpId, n: usize, weights: &[u32]) -> usize {
        let mut rr = self.round_robin.borrow_mut();
        let id = id.index();
        if rr.len() <= id {
            rr.resize(id + 1, 0);
        }
        let tick = rr[id];
        rr[id] = rr[id].wrapping_add(1);
        if weights.is_empty() {
            return tick % n.max(1);
        }
        let total: u64 = weights.iter().map(|&w| u64::from(w.max(1))).sum();
        let mut slot = (tick as u64) % total.max(1);
        for (i, &w) in weights.iter().enumerate() {
            let w = u64::from(w.max(1));
            if slot < w {
                return i;
            }
            slot -= w;
        }
        0
    }

    /// One leaf endpoint: checks and updates its shared suspension state.
    async fn call_leaf<M: Message>(&self, msg: &mut M, ep: Option<&Endpoint>) -> Result<()> {
        if let Some(ep) = ep {
            if ep.tracks_state() && !ep.state.ready_to_send(self.clock.now_ms()) {
                return Err(Error::new(
                    ErrorKind::Suspended,
                    Side::Backend,
                    format!(
                        "Currently , Address endpoint : [ Name : {} ] [ State : SUSPENDED ]",
                        ep.display_name()
                    ),
                ));
            }
        }
        let started = Instant::now();
        let mut result = self.send_to_leaf(msg, ep).await;
        if result.is_ok() && msg.soap_fault_fails() {
            // Checked here, not in send_to_leaf (an await there after the exchange makes its
            // large future copied more), and boxed (it is rare).
            result = Box::pin(soap_fault(msg, ep)).await;
        }
        if let Some(ep) = ep {
            if let Some(stats) = &ep.stats {
                // What the client did wrong is not counted against the endpoint.
                let failed = result.as_ref().is_err_and(|e| e.side != Side::Client);
                stats.record(self.shard, started.elapsed(), failed);
            }
            match &result {
                Ok(()) => ep.state.on_success(),
                Err(e) if e.is_transport() => {
                    ep.state
                        .on_fault(e.synapse_code(), &ep.policy, self.clock.now_ms());
                }
                Err(_) => {}
            }
        }
        result
    }

    async fn send_to_leaf<M: Message>(&self, msg: &mut M, ep: Option<&Endpoint>) -> Result<()> {
        if let Some(ep) = ep {
            for (name, value, scope) in &ep.properties {
                msg.set_property(name, value, *scope).await?;
            }
        }
        let kind = ep.map(|e| &e.kind).unwrap_or(&EndpointKind::Default);
        let format = ep.and_then(|e| e.format);
        // A SOAP format sends SOAP: `REST_URL_POSTFIX` is not appended (Synapse's isRest).
        // Borrowed from the message where it is used (no copy per request).
        let soap = matches!(format, Some(Format::Soap11 | Format::Soap12));
        fn postfix_of<M: Message>(msg: &M, soap: bool) -> Option<&str> {
            if soap {
                None
            } else {
                msg.rest_url_postfix()
            }
        }
        let (addr, method) = match kind {
            EndpointKind::Address(a) => (
                with_postfix(a, postfix_of(msg, soap)).map_or(Cow::Borrowed(a), Cow::Owned),
                None,
            ),
            EndpointKind::Http { template, method } => {
                let url = template.expand(&|name: &str| msg.property(name));
                (
                    Cow::Owned(Address::parse(&url).map_err(Error::mediation)?),
                    method.clone(),
                )
            }
            EndpointKind::Default => {
                let to = msg.to_address().await.ok_or_else(|| {
                    Error::mediation(
                        "send/call without an endpoint needs a To address (header mediator)",
                    )
                })?;
                let a = Address::parse(&to).map_err(Error::mediation)?;
                (
                    Cow::Owned(with_postfix(&a, postfix_of(msg, soap)).unwrap_or(a)),
                    None,
                )
            }
            EndpointKind::Unsupported(t) => {
                return Err(Error::mediation(format!(
                    "endpoint type '{t}' is not supported by mint yet"
                )));
            }
            EndpointKind::Missing(key) => {
                return Err(Error::mediation(format!(
                    "Reference to non-existent endpoint for key : {key}"
                )));
            }
            EndpointKind::Failover { .. }
            | EndpointKind::Loadbalance { .. }
            | EndpointKind::Dynamic(_) => {
                return Err(Error::mediation(
                    "internal: group endpoint reached a leaf call",
                ));
            }
        };
        let out = msg.outbound(format).await?;
        let mut req = outgoing_request(out, &addr, method)?;
        // A body streamed from its sender (the client, or an earlier backend) is watched: when it
        // fails, the sender is to blame, not this endpoint.
        let watch = match req.body_mut() {
            Body::Incoming(up) => Some(up.watch(self.body_read_timeout)),
            _ => None,
        };
        let timeout = ep.and_then(|e| e.timeout).unwrap_or(self.global_timeout);
        let action = ep.map(|e| e.timeout_action).unwrap_or(TimeoutAction::None);
        let name = ep.map(|e| e.display_name()).unwrap_or("default");
        let fut = self.upstream.send(&addr.origin, req);
        let timer = async {
            crate::net::deadline::after(timeout).await;
            Err(Error::new(
                ErrorKind::Timeout,
                Side::Backend,
                format!(
                    "endpoint {name}: no response from {}:{} within {} ms",
                    addr.origin.host,
                    addr.origin.port,
                    timeout.as_millis()
                ),
            ))
        };
        let outcome = futures_lite::future::or(fut, timer).await;
        if let (Err(e), Some(w)) = (&outcome, &watch) {
            if let Some(blamed) = w.blame(e.kind == ErrorKind::Timeout) {
                return Err(blamed.with_cause(format!("endpoint {name}: {e}")));
            }
        }
        match outcome {
            Ok(resp) => {
                msg.accept(resp);
                Ok(())
            }
            Err(e) if e.kind == ErrorKind::Timeout && action == TimeoutAction::Discard => {
                Err(Error::discarded().with_cause(e))
            }
            Err(e) => Err(Error {
                context: format!("endpoint {name}: {}", e.context),
                ..e
            }),
        }
    }
}

/// `FORCE_ERROR_ON_SOAP_FAULT`: a SOAP fault answered by the backend fails the endpoint. The
/// fault stays the current message for the fault handler, as in Synapse.
async fn soap_fault<M: Message>(msg: &mut M, ep: Option<&Endpoint>) -> Result<()> {
    if !msg.is_soap_fault().await? {
        return Ok(());
    }
    let name = ep.map(|e| e.display_name()).unwrap_or("default");
    Err(Error::new(
        ErrorKind::SoapFault,
        Side::Backend,
        format!("endpoint {name}: the backend answered a SOAP fault (FORCE_ERROR_ON_SOAP_FAULT)"),
    ))
}

/// Builds the backend request: the endpoint's method if it sets one, hop-by-hop headers
/// stripped, `Host` of the address, the SOAP action and the content type of the message.
fn outgoing_request(
    out: Outbound,
    addr: &Address,
    method: Option<Method>,
) -> Result<Request<Body>> {
    let Outbound {
        method: msg_method,
        mut headers,
        body,
        soap_action,
        content_type,
        query,
        framing,
    } = out;
    let with_query;
    let addr = match query.filter(|q| !q.is_empty()) {
        Some(q) => {
            let pq = addr.path_and_query();
            let sep = if pq.contains('?') { '&' } else { '?' };
            with_query = addr.with_path_and_query(format!("{pq}{sep}{q}"));
            &with_query
        }
        None => addr,
    };
    let method = method.unwrap_or(msg_method);
    crate::http::rules::strip_hop_by_hop(&mut headers);
    if !matches!(body, Body::Incoming(_)) {
        headers.remove(header::CONTENT_LENGTH);
    }
    crate::http::set_header(&mut headers, header::HOST, addr.host_header().clone());
    if let Some(a) = &soap_action {
        let quoted = |v: &[u8]| {
            v.len() == a.len() + 2
                && v.starts_with(b"\"")
                && v.ends_with(b"\"")
                && &v[1..v.len() - 1] == a.as_bytes()
        };
        if !holds_only(&headers, &SOAPACTION, quoted) {
            let v =
                quoted_action(a).ok_or_else(|| Error::mediation(format!("bad SOAP action {a}")))?;
            crate::http::set_header(&mut headers, SOAPACTION, v);
        }
    }
    if let Some(ct) = &content_type {
        if !holds_only(&headers, &header::CONTENT_TYPE, |v| v == ct.as_bytes()) {
            if let Ok(v) = HeaderValue::from_str(ct) {
                crate::http::set_header(&mut headers, header::CONTENT_TYPE, v);
            }
        }
    }
    let no_body = matches!(method, Method::GET | Method::HEAD | Method::DELETE)
        && matches!(body, Body::Empty);
    let mut req = Request::new(if no_body { Body::Empty } else { body });
    *req.method_mut() = method;
    let bad_path = || Error::mediation(format!("bad backend path {}", addr.path_and_query()));
    *req.uri_mut() = if framing.absolute_uri {
        let scheme = if addr.origin.https { "https" } else { "http" };
        let path = addr.target().ok_or_else(bad_path)?;
        format!("{scheme}://{}{path}", addr.authority())
            .parse()
            .map_err(|_| bad_path())?
    } else {
        addr.target().ok_or_else(bad_path)?.clone()
    };
    if framing.http10 {
        *req.version_mut() = http::Version::HTTP_10;
    }
    if framing.close {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    *req.headers_mut() = headers;
    Ok(req)
}

thread_local! {
    /// The last action quoted on this shard, and its header value: the messages of one flow
    /// usually carry the same action, and a clone of the value costs less than a new one.
    static QUOTED: std::cell::RefCell<Option<(String, HeaderValue)>> =
        const { std::cell::RefCell::new(None) };
}

/// `"action"`, as a `SOAPAction` value; `None` if the action cannot be one.
fn quoted_action(action: &str) -> Option<HeaderValue> {
    QUOTED.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((a, v)) = &*last {
            if a == action {
                return Some(v.clone());
            }
        }
        let mut q = Vec::with_capacity(action.len() + 2);
        q.push(b'"');
        q.extend_from_slice(action.as_bytes());
        q.push(b'"');
        let v = HeaderValue::from_maybe_shared(Bytes::from(q)).ok()?;
        *last = Some((action.to_string(), v.clone()));
        Some(v)
    })
}

/// Whether `name` has exactly one value and it is the one wanted: the client's own `SOAPAction`
/// and `Content-Type` usually go on as they came, with no copy and no map update.
fn holds_only(
    headers: &HeaderMap,
    name: &header::HeaderName,
    wanted: impl Fn(&[u8]) -> bool,
) -> bool {
    let mut values = headers.get_all(name).iter();
    matches!((values.next(), values.next()), (Some(v), None) if wanted(v.as_bytes()))
}

/// The address with `REST_URL_POSTFIX` appended, as Synapse does for REST messages; `None`
/// when there is nothing to append (the address is used as it is).
fn with_postfix(a: &Address, postfix: Option<&str>) -> Option<Address> {
    let postfix = postfix.filter(|p| !p.is_empty())?;
    let base = a.path_and_query();
    let pq = if let Some(query) = postfix.strip_prefix('?') {
        if base.contains('?') {
            format!("{base}&{query}")
        } else {
            format!("{base}{postfix}")
        }
    } else {
        let (bpath, bquery) = match base.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (base, None),
        };
        let joined = match (bpath.ends_with('/'), postfix.starts_with('/')) {
            (true, true) => format!("{bpath}{}", &postfix[1..]),
            (false, false) => format!("{bpath}/{postfix}"),
            _ => format!("{bpath}{postfix}"),
        };
        match bquery {
            Some(q) if joined.contains('?') => format!("{joined}&{q}"),
            Some(q) => format!("{joined}?{q}"),
            None => joined,
        }
    };
    Some(a.with_path_and_query(pq))
}
