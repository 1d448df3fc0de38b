//! `<cache>`: MI 4.x's cache mediator. A finder (`collector="false"`) on the request path looks
//! the request up by its hash; on a hit the stored response (body, status, headers, content
//! type) becomes the message and goes back to the client, or to `<onCacheHit>`, and the rest of
//! the sequence does not run; on a miss the flow goes on with a ticket the collector
//! (`collector="true"`, on the response path) uses to store the response.
//!
//! As MI does:
//! - the hash (`HttpRequestHashGenerator`, the default) covers the request URI, the request
//!   headers (names case-insensitive; `headersToIncludeInHash` or else `headersToExcludeInHash`,
//!   `*` for all; `Date`, `User-Agent` and `activityid` never count) and, unless the request is a
//!   GET, DELETE or HEAD, the payload's tree (element and attribute names with their namespaces,
//!   attributes in any order, text and processing instructions; comments and namespace prefixes
//!   do not count; a JSON payload through its XML form). `DOMHASHGenerator` hashes the payload
//!   alone and `REQUESTHASHGenerator` all three whatever the method. The hash is SHA-256, so
//!   that one request cannot be made to collide with another's answer;
//! - a response is stored when its status matches `responseCodes` (a regular expression over the
//!   whole code, `.*` by default), the request's method is among `methods` (`*` by default), its
//!   body is within `maxMessageSize` bytes (unlimited by default) and, with cache control, it
//!   does not say `Cache-Control: no-store`;
//! - an entry lives `timeout` seconds (5000 by default) from the request that missed, whatever
//!   the hits; `<implementation maxSize>` bounds the entries (unbounded by default), the least
//!   recently used going first;
//! - with `enableCacheControl` (which MI honours only when `<includeAgeHeader>` is written too),
//!   a stored response older than its `max-age` is fetched again, and one marked `no-cache` with
//!   an `ETag` is revalidated (`If-None-Match`; a 304 is answered from the cache);
//!   `includeAgeHeader` adds `Age` to answers from the cache;
//! - the stored headers carry `cacheKey` (the hash), on the answer that filled the entry and on
//!   every hit.
//!
//! One cache per finder for the whole server (moka, shared by the shards, so `maxSize` and a hit
//! mean what they mean in MI); a collector finds it through the message, not by name. MI's
//! revalidation replaces every request header with `If-None-Match`; mint adds it and keeps the
//! others. Hits, misses, stores and expiries are counted in the metrics
//! (`mint_cache_*_total`).

use std::any::Any;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::context::BodyType;
use crate::message::MessageContext;
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;
use crate::telemetry::metrics::ShardStats;
use crate::xpath::dom::{Dom, NodeKind};

/// MI's default `timeout`, in seconds.
const DEFAULT_TIMEOUT_S: u64 = 5000;

/// Longest `timeout` held (ten years; a longer one is as good as forever, and moka refuses
/// lifetimes past a thousand years).
const MAX_TIMEOUT_S: u64 = 10 * 365 * 24 * 3600;

/// Headers that never count in a hash (MI: `Date`, `User-Agent`, the correlation header).
const NEVER_HASHED: [&str; 3] = ["date", "user-agent", "activityid"];

#[derive(Debug, Clone)]
pub enum Cache {
    Finder(Arc<Finder>),
    Collector,
}

/// How the request hash is made (MI's digest generator classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generator {
    /// `HttpRequestHashGenerator`: URI and headers, and the payload unless GET/DELETE/HEAD.
    Http,
    /// `DOMHASHGenerator`: the payload only.
    Dom,
    /// `REQUESTHASHGenerator`: URI, headers and payload, whatever the method.
    Request,
}

/// Which request headers count.
#[derive(Debug, Clone)]
enum Headers {
    /// `headersToIncludeInHash`: these (lower case; a missing one counts by its name), or all
    /// (None: `*`).
    Include(Option<Vec<String>>),
    /// `headersToExcludeInHash`: all but these (lower case; empty by default), or none at all
    /// (None: `*`).
    Exclude(Option<Vec<String>>),
}

pub struct Finder {
    timeout: Duration,
    max_message_size: Option<usize>,
    on_hit: Vec<Mediator>,
    /// None: every method (`*`).
    methods: Option<Vec<Method>>,
    generator: Generator,
    headers: Headers,
    response_codes: regex::Regex,
    cache_control: bool,
    age_header: bool,
    store: moka::sync::Cache<[u8; 32], Arc<Stored>>,
}

impl std::fmt::Debug for Finder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finder")
            .field("timeout", &self.timeout)
            .field("methods", &self.methods)
            .field("generator", &self.generator)
            .finish_non_exhaustive()
    }
}

/// A stored response.
#[derive(Debug)]
struct Stored {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    body_type: BodyType,
    content_type: Option<crate::message::context::PropValue>,
    message_type: Option<crate::message::context::PropValue>,
    /// When the response was fetched (for `Age` and `max-age`).
    fetched: Instant,
    /// When the entry ends: `timeout` after the request that missed.
    expires: Instant,
}

/// What a finder's miss leaves on the message for the collector (MI's `CachableResponse`).
struct Ticket {
    finder: Arc<Finder>,
    hash: [u8; 32],
    method: Method,
    /// When the request missed: the entry's life starts there, as in MI.
    missed: Instant,
    /// The stored response being revalidated (`no-cache` with an `ETag`): a 304 answers with it.
    revalidating: Option<Arc<Stored>>,
}

impl Mediate for Cache {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        let collector = match el.attr("collector").map(str::trim) {
            Some("true") => true,
            Some("false") => false,
            Some(other) => {
                r.error(
                    el.pos,
                    format!("The value for collector has to be either true or false, not '{other}'"),
                );
                return None;
            }
            None => {
                r.error(el.pos, "The collector attribute must be specified");
                return None;
            }
        };
        if collector {
            // MI's collector reads nothing else: the finder's settings come with the message.
            r.known_attrs(el, &["collector", "scope", "id", "description"]);
            for child in el.elements() {
                r.warn(
                    child.pos,
                    format!(
                        "<{}> of a collector cache is ignored (as in MI: the finder's settings \
                         apply)",
                        child.local
                    ),
                );
            }
            return Some(Cache::Collector);
        }
        r.known_attrs(
            el,
            &[
                "collector",
                "timeout",
                "maxMessageSize",
                "id",
                "scope",
                "hashGenerator",
                "description",
            ],
        );
        let number = |r: &mut crate::synapse::parse::Reader<'_>, el: &Element, name: &str| {
            let text = el.attr(name)?.trim();
            match text.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    r.error(el.pos, format!("{name} '{text}' is not a number"));
                    Some(i64::MIN)
                }
            }
        };
        let timeout = match number(&mut r, el, "timeout") {
            Some(i64::MIN) => return None,
            Some(n) => Duration::from_secs((n.max(0) as u64).min(MAX_TIMEOUT_S)),
            None => Duration::from_secs(DEFAULT_TIMEOUT_S),
        };
        let max_message_size = match number(&mut r, el, "maxMessageSize") {
            Some(i64::MIN) => return None,
            Some(n) if n >= 0 => Some(n as usize),
            _ => None,
        };
        let mut generator_class = el.attr("hashGenerator").map(str::to_string);
        let mut on_hit_el = None;
        let mut protocol_el = None;
        let mut max_size = None;
        for child in el.elements() {
            if is_synapse(child, "onCacheHit") {
                on_hit_el = Some(child);
            } else if is_synapse(child, "protocol") {
                protocol_el = Some(child);
            } else if is_synapse(child, "implementation") {
                r.known_attrs(child, &["maxSize", "type"]);
                match number(&mut r, child, "maxSize") {
                    Some(i64::MIN) => return None,
                    Some(n) if n > 0 => max_size = Some(n as u64),
                    _ => {}
                }
            } else if !is_synapse(child, "description") {
                r.unknown_child(child, "cache");
            }
        }
        let mut methods = None;
        let mut headers = Headers::Exclude(Some(Vec::new()));
        let mut response_codes = ".*".to_string();
        let (mut cache_control, mut age_header) = (false, false);
        if let Some(p) = protocol_el {
            r.known_attrs(p, &["type"]);
            let text = |e: &Element| e.text().trim().to_string();
            if let Some(t) = p.attr("type") {
                if !t.trim().eq_ignore_ascii_case("HTTP") {
                    r.error(
                        p.pos,
                        format!("cache protocol '{}' is not supported (HTTP only)", t.trim()),
                    );
                    return None;
                }
                let mut include = None;
                let mut exclude = None;
                let mut age_written = false;
                for child in p.elements() {
                    let v = text(child);
                    match child.local.as_str() {
                        "methods" if !v.is_empty() => {
                            let mut list = Vec::new();
                            for m in v.split(',').map(|m| m.trim().to_ascii_uppercase()) {
                                match m.as_str() {
                                    "*" => {
                                        list.clear();
                                        methods = Some(None);
                                        break;
                                    }
                                    "POST" | "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"
                                    | "CONNECT" | "PATCH" => {
                                        list.push(Method::from_bytes(m.as_bytes()).ok()?)
                                    }
                                    _ => {
                                        r.error(child.pos, format!("Unexpected method type: {m}"));
                                        return None;
                                    }
                                }
                            }
                            if methods.is_none() {
                                methods = Some(Some(list));
                            }
                        }
                        "headersToIncludeInHash" if !v.is_empty() => include = Some(names(&v)),
                        "headersToExcludeInHash" if !v.is_empty() => exclude = Some(names(&v)),
                        "responseCodes" if !v.is_empty() => response_codes = v,
                        "enableCacheControl" if !v.is_empty() => {
                            cache_control = v.eq_ignore_ascii_case("true")
                        }
                        "includeAgeHeader" => {
                            age_written = true;
                            if !v.is_empty() {
                                age_header = v.eq_ignore_ascii_case("true");
                            }
                        }
                        "hashGenerator" if !v.is_empty() => generator_class = Some(v),
                        "methods" | "headersToIncludeInHash" | "headersToExcludeInHash"
                        | "responseCodes" | "enableCacheControl" | "hashGenerator" => {}
                        _ => r.unknown_child(child, "protocol"),
                    }
                }
                if cache_control && !age_written {
                    // MI's factory turns cache control off when <includeAgeHeader> is absent.
                    r.warn(
                        p.pos,
                        "enableCacheControl is ignored without <includeAgeHeader> (as MI does): \
                         write <includeAgeHeader>false</includeAgeHeader> to use it",
                    );
                    cache_control = false;
                }
                headers = match (include, exclude) {
                    (Some(i), _) => Headers::Include(star(i)),
                    (None, Some(e)) => Headers::Exclude(star(e)),
                    (None, None) => Headers::Exclude(Some(Vec::new())),
                };
            } else if p.elements().next().is_some() {
                r.warn(
                    p.pos,
                    "<protocol> without type=\"HTTP\": its settings are ignored, as in MI",
                );
            }
        }
        let generator = match generator_class.as_deref().map(str::trim) {
            None => Generator::Http,
            Some(class) => match class.rsplit('.').next().unwrap_or_default() {
                "HttpRequestHashGenerator" => Generator::Http,
                "DOMHASHGenerator" => Generator::Dom,
                "REQUESTHASHGenerator" => Generator::Request,
                _ => {
                    r.error(
                        el.pos,
                        format!(
                            "hash generator '{class}' is a Java class mint cannot run (it has \
                             HttpRequestHashGenerator, DOMHASHGenerator and REQUESTHASHGenerator)"
                        ),
                    );
                    return None;
                }
            },
        };
        let response_codes = match regex::Regex::new(&format!("^(?:{response_codes})$")) {
            Ok(re) => re,
            Err(e) => {
                r.error(el.pos, format!("responseCodes '{response_codes}': {e}"));
                return None;
            }
        };
        let on_hit = match on_hit_el {
            Some(h) => super::branch(c, h, &super::at(h, at)),
            None => Vec::new(),
        };
        // moka drops an entry a second after its end, so that a lookup in between sees (and
        // counts) it expired.
        let mut store = moka::sync::Cache::builder()
            .time_to_live(timeout + Duration::from_secs(1))
            .eviction_policy(moka::policy::EvictionPolicy::lru());
        if let Some(n) = max_size {
            store = store.max_capacity(n);
        }
        Some(Cache::Finder(Arc::new(Finder {
            timeout,
            max_message_size,
            on_hit,
            methods: methods.flatten(),
            generator,
            headers,
            response_codes,
            cache_control,
            age_header,
            store: store.build(),
        })))
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        match self {
            Cache::Finder(f) => find(f, rt, ctx).await,
            Cache::Collector => collect(rt, ctx).await,
        }
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        match self {
            Cache::Finder(f) => vec![&f.on_hit],
            Cache::Collector => Vec::new(),
        }
    }
}

/// A comma-separated list of header names, lower case.
fn names(v: &str) -> Vec<String> {
    v.split(',')
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

/// `*` (all) as None.
fn star(list: Vec<String>) -> Option<Vec<String>> {
    (!list.iter().any(|n| n == "*")).then_some(list)
}

/// The finder, on the request path.
async fn find(f: &Arc<Finder>, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
    if ctx.is_response {
        return Err(crate::error::Error::mediation(
            "Response messages cannot be handled in a non collector cache",
        ));
    }
    let hash = request_hash(f, ctx).await?;
    ctx.props.insert("requestHash".into(), hex(&hash).into());
    let stats = rt.stats();
    let now = Instant::now();
    let mut revalidating = None;
    match f.store.get(&hash) {
        Some(s) if s.expires <= now => {
            f.store.invalidate(&hash);
            ShardStats::add(&stats.cache_expired);
        }
        Some(s) => {
            let stale = f.cache_control && stale(&s, now);
            if stale {
                if let Some(tag) = no_cache_etag(&s) {
                    ctx.headers.insert(http::header::IF_NONE_MATCH, tag);
                    revalidating = Some(s);
                }
            } else {
                ShardStats::add(&stats.cache_hits);
                replay(f, &s, ctx);
                if !f.on_hit.is_empty() {
                    rt.run_list(ctx, &f.on_hit).await;
                } else {
                    ctx.responded = true;
                }
                return Ok(Flow::Stop);
            }
        }
        None => {}
    }
    ShardStats::add(&stats.cache_misses);
    ctx.cache = Some(Rc::new(Ticket {
        finder: f.clone(),
        hash,
        method: ctx.method.clone(),
        missed: now,
        revalidating,
    }) as Rc<dyn Any>);
    Ok(Flow::Continue)
}

/// The collector, on the response path.
async fn collect(rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
    if !ctx.is_response {
        return Err(crate::error::Error::mediation(
            "Request messages cannot be handled in a collector cache",
        ));
    }
    let Some(ticket) = ctx.cache.take().and_then(|t| t.downcast::<Ticket>().ok()) else {
        tracing::warn!(
            "cache: a response message without a valid mapping to the request hash found; \
             it is not cached"
        );
        return Ok(Flow::Continue);
    };
    let f = &ticket.finder;
    let stats = rt.stats();
    if ctx.status == StatusCode::NOT_MODIFIED {
        if let Some(s) = &ticket.revalidating {
            ShardStats::add(&stats.cache_hits);
            replay(f, s, ctx);
            if !f.on_hit.is_empty() {
                rt.run_list(ctx, &f.on_hit).await;
                return Ok(Flow::Stop);
            }
            return Ok(Flow::Continue);
        }
    }
    let no_store = f.cache_control
        && ctx
            .headers
            .get_all(http::header::CACHE_CONTROL)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains("no-store")));
    let status_ok = f.response_codes.is_match(ctx.status.as_str());
    let method_ok = f.methods.as_ref().is_none_or(|m| m.contains(&ticket.method));
    if no_store || !status_ok || !method_ok {
        ShardStats::add(&stats.cache_not_stored);
        return Ok(Flow::Continue);
    }
    let body = ctx.body_bytes().await?;
    if f.max_message_size.is_some_and(|max| body.len() > max) {
        ShardStats::add(&stats.cache_not_stored);
        return Ok(Flow::Continue);
    }
    let key = HeaderValue::from_str(&hex(&ticket.hash)).ok();
    if let Some(k) = &key {
        ctx.headers.insert(CACHE_KEY.clone(), k.clone());
    }
    let mut headers = ctx.headers.clone();
    crate::message::context::strip_hop_by_hop(&mut headers);
    headers.remove(http::header::CONTENT_LENGTH);
    let stored = Stored {
        status: ctx.status,
        headers,
        body,
        body_type: ctx.body_type,
        content_type: ctx.axis2.get("ContentType").cloned(),
        message_type: ctx.axis2.get("messageType").cloned(),
        fetched: Instant::now(),
        expires: ticket.missed + f.timeout,
    };
    f.store.insert(ticket.hash, Arc::new(stored));
    if f.store.policy().max_capacity().is_some() {
        // Size-bounded: apply the eviction now, so that maxSize holds at once.
        f.store.run_pending_tasks();
    }
    ShardStats::add(&stats.cache_stored);
    Ok(Flow::Continue)
}

static CACHE_KEY: HeaderName = HeaderName::from_static("cachekey");

/// The stored response becomes the message.
fn replay(f: &Finder, s: &Stored, ctx: &mut MessageContext) {
    ctx.set_content_typed(s.body.clone(), None, s.body_type);
    ctx.headers = s.headers.clone();
    if f.age_header {
        let age = s.fetched.elapsed().as_secs();
        ctx.headers.insert(http::header::AGE, HeaderValue::from(age));
    }
    ctx.status = s.status;
    ctx.is_response = true;
    ctx.axis2.insert("HTTP_SC".into(), s.status.as_str().into());
    match s.status.canonical_reason() {
        Some(r) => ctx.axis2.insert("HTTP_SC_DESC".into(), r.into()),
        None => ctx.axis2.remove("HTTP_SC_DESC"),
    };
    ctx.axis2.remove("NO_ENTITY_BODY");
    match &s.content_type {
        Some(ct) => ctx.axis2.insert("ContentType".into(), ct.clone()),
        None => ctx.axis2.remove("ContentType"),
    };
    match &s.message_type {
        Some(mt) => ctx.axis2.insert("messageType".into(), mt.clone()),
        None => ctx.axis2.remove("messageType"),
    };
}

/// Whether a stored response is past its `max-age`, or must be revalidated (`no-cache`).
fn stale(s: &Stored, now: Instant) -> bool {
    let mut stale = false;
    for v in s.headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(v) = v.to_str() else { continue };
        for item in v.split(',').map(str::trim) {
            if item.eq_ignore_ascii_case("no-cache") && s.headers.contains_key(http::header::ETAG)
            {
                stale = true;
            } else if let Some(age) = item
                .to_ascii_lowercase()
                .strip_prefix("max-age")
                .and_then(|a| a.trim().strip_prefix('='))
                .and_then(|a| a.trim().parse::<u64>().ok())
            {
                // A backend's max-age may be any number: no overflow.
                if s.fetched
                    .checked_add(Duration::from_secs(age))
                    .is_some_and(|end| end < now)
                {
                    stale = true;
                }
            }
        }
    }
    stale
}

/// The `ETag` to revalidate a `no-cache` response with.
fn no_cache_etag(s: &Stored) -> Option<HeaderValue> {
    let no_cache = s
        .headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|i| i.trim().eq_ignore_ascii_case("no-cache"));
    no_cache
        .then(|| s.headers.get(http::header::ETAG).cloned())
        .flatten()
}

fn hex(hash: &[u8; 32]) -> String {
    use std::fmt::Write;
    hash.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Each piece of the hash, tagged and length-prefixed so that no two inputs run together.
fn put(h: &mut digest::Context, tag: u8, bytes: &[u8]) {
    h.update(&[tag]);
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// The request's hash, as the finder's generator makes it.
async fn request_hash(f: &Finder, ctx: &mut MessageContext) -> Result<[u8; 32]> {
    let mut h = digest::Context::new(&digest::SHA256);
    let bodiless = matches!(ctx.method, Method::GET | Method::DELETE | Method::HEAD);
    if f.generator != Generator::Dom {
        let to = match &ctx.to {
            Some(to) => to.as_str(),
            None => ctx.uri.path_and_query().map_or("/", |p| p.as_str()),
        };
        put(&mut h, b'u', to.as_bytes());
        hash_headers(f, &ctx.headers, &mut h);
    }
    if f.generator != Generator::Http || !bodiless {
        hash_payload(ctx, &mut h).await?;
    }
    let d = h.finish();
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    Ok(out)
}

fn hash_headers(f: &Finder, headers: &HeaderMap, h: &mut digest::Context) {
    // Names are lower case in a HeaderMap; sorted, as MI's case-insensitive map orders them.
    let mut names: Vec<&str> = headers
        .keys()
        .map(HeaderName::as_str)
        .filter(|n| !NEVER_HASHED.contains(n))
        .collect();
    names.sort_unstable();
    let counted = |n: &str| match &f.headers {
        Headers::Include(None) => true,
        Headers::Include(Some(list)) => list.iter().any(|i| i == n),
        Headers::Exclude(None) => false,
        Headers::Exclude(Some(list)) => !list.iter().any(|e| e == n),
    };
    if let Headers::Include(Some(list)) = &f.headers {
        // A header to include that the request lacks counts by its name.
        for n in list.iter().filter(|n| !headers.contains_key(n.as_str())) {
            put(h, b'n', n.as_bytes());
        }
    }
    if matches!(f.headers, Headers::Exclude(None)) {
        return;
    }
    for n in names.into_iter().filter(|n| counted(n)) {
        put(h, b'h', n.as_bytes());
        for v in headers.get_all(n) {
            put(h, b'v', v.as_bytes());
        }
    }
}

/// The payload's tree (XML, or JSON through its XML form); other bodies by their bytes.
async fn hash_payload(ctx: &mut MessageContext, h: &mut digest::Context) -> Result<()> {
    let bytes = ctx.body_bytes().await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    if !matches!(ctx.body_type, BodyType::Xml | BodyType::Json) {
        put(h, b'b', &bytes);
        return Ok(());
    }
    let doc = ctx.document().await?;
    let root = doc
        .soap_body()
        .unwrap_or_else(|| doc.root_element());
    let mut stack = vec![(root, false)];
    let mut attrs: Vec<(&str, &str, std::borrow::Cow<'_, str>)> = Vec::new();
    while let Some((n, closing)) = stack.pop() {
        if closing {
            put(h, b'>', b"");
            continue;
        }
        match doc.kind(n) {
            NodeKind::Element => {
                put(h, b'{', doc.namespace_uri(n).as_bytes());
                put(h, b'<', doc.local_name(n).as_bytes());
                attrs.clear();
                attrs.extend(
                    doc.attributes(n)
                        .iter()
                        .map(|&a| (doc.namespace_uri(a), doc.local_name(a), doc.string_value(a))),
                );
                attrs.sort_unstable();
                for (ns, local, value) in attrs.drain(..) {
                    put(h, b'a', ns.as_bytes());
                    put(h, b'=', local.as_bytes());
                    put(h, b'"', value.as_bytes());
                }
                stack.push((n, true));
                let first = stack.len();
                let mut child = doc.first_child(n);
                while let Some(c) = child {
                    stack.push((c, false));
                    child = doc.next_sibling(c);
                }
                stack[first..].reverse();
            }
            NodeKind::Text => put(h, b't', doc.string_value(n).as_bytes()),
            NodeKind::ProcessingInstruction => {
                put(h, b'?', doc.local_name(n).as_bytes());
                put(h, b'p', doc.string_value(n).as_bytes());
            }
            _ => {}
        }
    }
    Ok(())
}
