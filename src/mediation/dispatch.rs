//! Request → service: proxy by name (`/services/NAME…`), else REST API by context (longest first)
//! and resource (url-mapping, then uri-template, then default), else the `main` sequence — the
//! rules of Synapse's `ProxyService` dispatch and `API.canProcess` / `ApiUtils` dispatchers.
//! OPTIONS is answered here with `Allow` unless the resource lists OPTIONS in its methods; CORS
//! headers are added as Synapse's `CORSHelper` adds them (`cors`).

use http::{header, Method, Response, StatusCode};

use bytes::Bytes;

use crate::config::security::CorsSettings;
use crate::config::Settings;
use crate::http::body::Body;
use crate::message::context::MessageContext;
use crate::message::SeqId;
use crate::program::{Api, Matcher, Program, Proxy, Resource};
use crate::uri_template::{parse_query_params, UrlMatch};

/// Where a request goes.
pub enum Route<'c> {
    Proxy(&'c Proxy),
    Resource(&'c Api, &'c Resource),
    /// A sequence that handles the request on its own (main, mismatch handlers).
    Sequence(SeqId),
    /// An answer that needs no mediation (`?wsdl`).
    Reply(Response<Body>),
    /// An API's own answer (404/405/400 of its dispatch, OPTIONS). `by_cors_handler`: MI 4.5's
    /// CORS handler gave it, so handlers after that one (basic auth) do not run.
    ApiReply {
        api: &'c Api,
        reply: Response<Body>,
        by_cors_handler: bool,
    },
}

/// Chooses the route and sets the dispatch properties (`REST_URL_POSTFIX`, `uri.var.*`,
/// `query.param.*`, …) on the context.
pub fn route<'c>(config: &'c Program, settings: &Settings, ctx: &mut MessageContext) -> Route<'c> {
    let cors = &settings.cors;
    // A second reference to the request line (no copy), so that `ctx` can be changed below.
    let uri = ctx.uri.clone();
    let path = uri.path();
    let query = uri.query();
    if let Some(rest) = path.strip_prefix("/services/") {
        let end = rest.find(['/', '.']).unwrap_or(rest.len());
        let name = &rest[..end];
        if let Some(proxy) = config.proxies.get(name) {
            let allowed = if ctx.https { proxy.https } else { proxy.http };
            if allowed {
                if query.is_some_and(|q| q.eq_ignore_ascii_case("wsdl"))
                    && ctx.method == Method::GET
                {
                    return Route::Reply(wsdl_response(proxy, settings));
                }
                let mut postfix = rest[end..].to_string();
                if let Some(q) = query {
                    postfix.push('?');
                    postfix.push_str(q);
                }
                if !postfix.is_empty() {
                    ctx.axis2.insert("REST_URL_POSTFIX".into(), postfix.into());
                }
                ctx.props
                    .insert("proxy.name".into(), proxy.name.as_str().into());
                return Route::Proxy(proxy);
            }
        }
    }
    for api in &config.apis {
        if let Some(sub) = api_sub_path(api, ctx, path) {
            return route_resource(config, cors, api, ctx, sub, query);
        }
    }
    Route::Sequence(config.main)
}

/// `API.canProcess`: the path after the context (and `/version` for url-versioned APIs) when this
/// API takes the request.
fn api_sub_path<'p>(api: &Api, ctx: &MessageContext, path: &'p str) -> Option<&'p str> {
    let after = if api.context == "/" {
        path
    } else {
        let rest = path.strip_prefix(api.context.as_str())?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest
    };
    let after = if api.url_versioned {
        let v = api.version.as_deref().unwrap_or("");
        let rest = after.strip_prefix('/')?.strip_prefix(v)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest
    } else {
        after
    };
    if let Some(h) = &api.hostname {
        let got = ctx.host().unwrap_or("");
        let got_host = got.rsplit_once(':').map(|(h, _)| h).unwrap_or(got);
        if !got_host.eq_ignore_ascii_case(h) {
            return None;
        }
    }
    if let Some(p) = api.port {
        let got = ctx
            .host()
            .and_then(|h| h.rsplit_once(':'))
            .and_then(|(_, p)| p.parse::<u16>().ok());
        if got != Some(p) {
            return None;
        }
    }
    Some(after)
}

fn route_resource<'c>(
    config: &'c Program,
    cors: &CorsSettings,
    api: &'c Api,
    ctx: &mut MessageContext,
    sub: &str,
    query: Option<&str>,
) -> Route<'c> {
    let sub_path = if sub.is_empty() { "/" } else { sub };
    let mut with_query = sub_path.to_string();
    if let Some(q) = query {
        with_query.push('?');
        with_query.push_str(q);
    }
    let mut postfix = sub.to_string();
    if let Some(q) = query {
        postfix.push('?');
        postfix.push_str(q);
    }
    ctx.axis2.insert("REST_URL_POSTFIX".into(), postfix.into());
    ctx.props
        .insert("REST_SUB_REQUEST_PATH".into(), with_query.as_str().into());
    ctx.props.insert(
        "REST_FULL_REQUEST_PATH".into(),
        ctx.uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .into(),
    );
    ctx.props
        .insert("REST_API_CONTEXT".into(), api.context.as_str().into());
    ctx.props
        .insert("SYNAPSE_REST_API".into(), api.name.as_str().into());
    if let Some(v) = &api.version {
        ctx.props
            .insert("SYNAPSE_REST_API_VERSION".into(), v.as_str().into());
    }
    let scheme = if ctx.https { "https" } else { "http" };
    ctx.props.insert(
        "REST_URL_PREFIX".into(),
        format!("{scheme}://{}", ctx.host().unwrap_or("localhost")).into(),
    );

    // MI 4.5's per-API CORS handler selects, for a preflight, the resources that take the method
    // it announces (`Access-Control-Request-Method`) or OPTIONS itself.
    let per_api_preflight = api.cors.is_some() && ctx.method == Method::OPTIONS;
    let announced = per_api_preflight
        .then(|| ctx.headers.get(header::ACCESS_CONTROL_REQUEST_METHOD))
        .flatten()
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
    let method_ok = |r: &Resource| {
        if per_api_preflight {
            return r.methods.is_empty()
                || r.methods.contains(&Method::OPTIONS)
                || announced.as_ref().is_some_and(|m| r.methods.contains(m));
        }
        ctx.method == Method::OPTIONS || r.methods.is_empty() || r.methods.contains(&ctx.method)
    };
    let protocol_ok = |r: &Resource| match r.protocol.as_deref() {
        Some(p) => p.eq_ignore_ascii_case(if ctx.https { "https" } else { "http" }),
        None => true,
    };
    let acceptable: Vec<&Resource> = api
        .resources
        .iter()
        .filter(|r| method_ok(r) && protocol_ok(r))
        .collect();
    let mut vars = Vec::new();
    if let Some(res) = select(&acceptable, sub_path, &with_query, &mut vars) {
        if let Some(cors) = &api.cors {
            if ctx.method == Method::OPTIONS && !res.methods.contains(&Method::OPTIONS) {
                let mut reply = empty(StatusCode::OK);
                let mut h = Vec::new();
                api_cors_headers(cors, res, ctx, &mut h, true);
                reply.headers_mut().extend(h);
                return Route::ApiReply {
                    api,
                    reply,
                    by_cors_handler: true,
                };
            }
            let mut extra = Vec::with_capacity(5);
            api_cors_headers(cors, res, ctx, &mut extra, false);
            ctx.response_headers = extra;
            if ctx.method == Method::OPTIONS {
                if let Some(reply) = answer_options(res, ctx) {
                    return Route::ApiReply {
                        api,
                        reply,
                        by_cors_handler: false,
                    };
                }
            }
            return resource_route(api, res, ctx, vars, query);
        }
        if ctx.method == Method::OPTIONS {
            if let Some(mut reply) = answer_options(res, ctx) {
                if cors.enabled {
                    let mut h = Vec::new();
                    // The preflight answer's `Allow` is the resource's methods already.
                    let methods = reply
                        .headers()
                        .get(header::ALLOW)
                        .cloned()
                        .unwrap_or_else(|| methods_value(res));
                    let forbidden = cors_headers(cors, methods, ctx, &mut h, false).is_empty();
                    reply.headers_mut().extend(h);
                    if forbidden {
                        *reply.status_mut() = StatusCode::FORBIDDEN;
                    }
                }
                return Route::ApiReply {
                    api,
                    reply,
                    by_cors_handler: false,
                };
            }
        }
        if cors.enabled {
            let mut extra = Vec::with_capacity(4);
            let forbidden =
                cors_headers(cors, methods_value(res), ctx, &mut extra, true).is_empty();
            if forbidden && ctx.method == Method::OPTIONS {
                ctx.axis2.insert("HTTP_SC".into(), "403".into());
            }
            ctx.response_headers = extra;
        }
        return resource_route(api, res, ctx, vars, query);
    }
    let all: Vec<&Resource> = api.resources.iter().collect();
    let mut ignored = Vec::new();
    if select(&all, sub_path, &with_query, &mut ignored).is_some() {
        return match config.method_not_allowed {
            Some(seq) => Route::Sequence(seq),
            None => Route::ApiReply {
                api,
                reply: empty(StatusCode::METHOD_NOT_ALLOWED),
                by_cors_handler: false,
            },
        };
    }
    match config.resource_mismatch {
        Some(seq) => Route::Sequence(seq),
        None => Route::ApiReply {
            api,
            reply: empty(StatusCode::NOT_FOUND),
            by_cors_handler: false,
        },
    }
}

/// The route to a selected resource, with its `uri.var.*` and `query.param.*` properties.
fn resource_route<'c>(
    api: &'c Api,
    res: &'c Resource,
    ctx: &mut MessageContext,
    vars: Vec<(String, String)>,
    query: Option<&str>,
) -> Route<'c> {
    for (k, v) in vars {
        ctx.props.insert(format!("uri.var.{k}").into(), v.into());
    }
    if let Some(q) = query {
        match parse_query_params(q) {
            Ok(params) => {
                for (k, v) in params {
                    ctx.props
                        .insert(format!("query.param.{k}").into(), v.into());
                }
            }
            Err(_) => {
                return Route::ApiReply {
                    api,
                    reply: empty(StatusCode::BAD_REQUEST),
                    by_cors_handler: false,
                }
            }
        }
    }
    Route::Resource(api, res)
}

/// Synapse's `Resource.sendOptions`: OPTIONS reaches every resource whatever its `methods`, and
/// is answered here, `200` with `Allow` listing the resource's methods, without mediation, unless
/// the resource lists OPTIONS itself. Such a resource mediates it, with `Max-Forwards` decremented;
/// at `Max-Forwards: 0` it is answered here too.
fn answer_options(res: &Resource, ctx: &mut MessageContext) -> Option<Response<Body>> {
    if res.methods.contains(&Method::OPTIONS) {
        let hops = ctx.headers.get(header::MAX_FORWARDS)?.to_str().ok()?;
        let hops = hops.trim().parse::<u64>().ok()?;
        if hops > 0 {
            ctx.headers
                .insert(header::MAX_FORWARDS, http::HeaderValue::from(hops - 1));
            return None;
        }
    }
    let mut r = empty(StatusCode::OK);
    r.headers_mut().insert(header::ALLOW, methods_value(res));
    Some(r)
}

/// Synapse's `CORSHelper`: `Access-Control-Allow-Methods` (the resource's methods),
/// `Access-Control-Allow-Origin` (`*`, the request's origin, or empty when it is not allowed) and
/// `Access-Control-Allow-Headers` (as configured); on a mediated request's response also the
/// request's `Origin`, as `handleCORSHeadersForResponse` copies it. Returns the allowed origin.
fn cors_headers<'a>(
    cors: &CorsSettings,
    methods: http::HeaderValue,
    ctx: &'a MessageContext,
    out: &mut Vec<(header::HeaderName, http::HeaderValue)>,
    echo_origin: bool,
) -> &'a str {
    let origin = ctx.headers.get(header::ORIGIN);
    let allowed = cors.allowed_origin(origin.and_then(|o| o.to_str().ok()));
    let origin_value = match (allowed, origin) {
        ("*", _) => http::HeaderValue::from_static("*"),
        ("", _) | (_, None) => http::HeaderValue::from_static(""),
        // Allowed: the request's own Origin, as it came.
        (_, Some(o)) => o.clone(),
    };
    out.push((header::ACCESS_CONTROL_ALLOW_METHODS, methods));
    out.push((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value));
    out.push((
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        cors.allow_headers_value.clone(),
    ));
    if echo_origin {
        if let Some(o) = origin {
            out.push((header::ORIGIN, o.clone()));
        }
    }
    allowed
}

/// The resource's `Allow` value; the common cases without an allocation.
fn methods_value(res: &Resource) -> http::HeaderValue {
    let only = |m: &Method| match m.as_str() {
        "GET" => Some("GET"),
        "POST" => Some("POST"),
        "PUT" => Some("PUT"),
        "DELETE" => Some("DELETE"),
        "PATCH" => Some("PATCH"),
        "HEAD" => Some("HEAD"),
        _ => None,
    };
    match res.methods.as_slice() {
        [] => http::HeaderValue::from_static("GET, POST, PUT, DELETE"),
        [m] => match only(m) {
            Some(s) => http::HeaderValue::from_static(s),
            None => http::HeaderValue::from_str(&allowed_methods(res))
                .unwrap_or(http::HeaderValue::from_static("")),
        },
        _ => http::HeaderValue::from_str(&allowed_methods(res))
            .unwrap_or(http::HeaderValue::from_static("")),
    }
}

/// MI 4.5's `CORSRequestHandler.setCORSHeaders`: `Access-Control-Allow-Origin` only for an allowed
/// origin, `-Methods` = the resource's methods that `allowedMethods` lists, `-Headers` as
/// configured (on an answer, `*` reflects `Access-Control-Request-Headers`), `-Credentials: true`
/// when enabled and the origin is not `*`, `-Max-Age` when set. `preflight` is the handler's own
/// 200 answer, which writes `allowHeaders` as configured.
fn api_cors_headers(
    cors: &crate::config::security::ApiCors,
    res: &Resource,
    ctx: &MessageContext,
    headers: &mut Vec<(header::HeaderName, http::HeaderValue)>,
    preflight: bool,
) {
    let origin = ctx
        .headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    let allowed = cors.allowed_origin(origin);
    let put = |headers: &mut Vec<_>, name: header::HeaderName, v: &str| {
        if let Ok(v) = http::HeaderValue::from_str(v) {
            headers.push((name, v));
        }
    };
    let methods: Vec<&str> = res.methods.iter().map(Method::as_str).collect();
    put(
        headers,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        &cors.methods_for(&methods),
    );
    if let Some(o) = allowed {
        put(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    match cors.allow_headers.as_deref() {
        Some("*") if !preflight => {
            if let Some(h) = ctx.headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                headers.push((header::ACCESS_CONTROL_ALLOW_HEADERS, h.clone()));
            }
        }
        Some(h) => put(headers, header::ACCESS_CONTROL_ALLOW_HEADERS, h),
        None => {}
    }
    if cors.allow_credentials && allowed != Some("*") {
        put(headers, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
    if let Some(age) = &cors.max_age {
        put(headers, header::ACCESS_CONTROL_MAX_AGE, age);
    }
}

/// The `Allow` value of a resource: its methods other than OPTIONS, or Synapse's
/// `GET, POST, PUT, DELETE` when it lists none.
fn allowed_methods(res: &Resource) -> String {
    if res.methods.is_empty() {
        return "GET, POST, PUT, DELETE".to_string();
    }
    let listed: Vec<&str> = res
        .methods
        .iter()
        .filter(|m| **m != Method::OPTIONS)
        .map(Method::as_str)
        .collect();
    listed.join(", ")
}

/// Synapse's dispatcher order: url-mapping (exact, then longest prefix, then extension), then the
/// first matching uri-template, then the first default resource.
fn select<'r>(
    resources: &[&'r Resource],
    path: &str,
    with_query: &str,
    vars: &mut Vec<(String, String)>,
) -> Option<&'r Resource> {
    let bare = path.split('?').next().unwrap_or(path);
    let mut best: Option<(&Resource, u8, usize)> = None;
    for r in resources {
        if let Matcher::Mapping(m) = &r.matcher {
            let rank = match m.match_path(bare) {
                Some(UrlMatch::Exact) => (3, usize::MAX),
                Some(UrlMatch::Prefix(n)) => (2, n),
                Some(UrlMatch::Extension) => (1, 0),
                None => continue,
            };
            if best.is_none_or(|(_, k, n)| (rank.0, rank.1) > (k, n)) {
                best = Some((r, rank.0, rank.1));
            }
        }
    }
    if let Some((r, _, _)) = best {
        return Some(r);
    }
    for r in resources {
        if let Matcher::Template(t) = &r.matcher {
            vars.clear();
            if t.matches(with_query, vars) {
                return Some(r);
            }
        }
    }
    vars.clear();
    resources
        .iter()
        .copied()
        .find(|r| matches!(r.matcher, Matcher::Default))
}

fn wsdl_response(proxy: &Proxy, settings: &Settings) -> Response<Body> {
    match &proxy.wsdl {
        Some(w) => {
            let mut r = Response::new(Body::full(service_addresses(w, proxy, settings)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/xml"),
            );
            r
        }
        None => empty(StatusCode::NOT_FOUND),
    }
}

/// The published WSDL with each WSDL 1.1 port's address (`soap:`, `soap12:` or `http:address`
/// over http or https) set to this server's address for the service, as Axis2 writes them
/// (`AxisService.setPortAddress`: `{scheme}://{hostname}:{port}/services/{proxy}.{port name}`,
/// the host the configured `[server] hostname`, the port the listener's). Anything that does not
/// parse is served as it was written.
fn service_addresses(wsdl: &str, proxy: &Proxy, settings: &Settings) -> Bytes {
    let source = Bytes::from(wsdl.to_string());
    const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
    let Ok(doc) = crate::xml::Document::parse(source.clone()) else {
        return source;
    };
    let root = doc.root_element();
    let mut changes = Vec::new();
    for service in doc.child_elements(root) {
        if doc.local(service) != "service" || doc.ns(service) != WSDL {
            continue;
        }
        for port in doc.child_elements(service) {
            if doc.local(port) != "port" || doc.ns(port) != WSDL {
                continue;
            }
            let Some(name) = doc.attribute(port, "", "name") else {
                continue;
            };
            for address in doc.child_elements(port) {
                let Some(loc) = doc.attribute_node(address, "", "location") else {
                    continue;
                };
                let (scheme, listener) = match doc.value(loc).split_once("://") {
                    Some((s, _)) if s.eq_ignore_ascii_case("http") => {
                        ("http", settings.http_port())
                    }
                    Some((s, _)) if s.eq_ignore_ascii_case("https") => {
                        ("https", settings.https_port())
                    }
                    _ => continue,
                };
                let host = &settings.server.hostname;
                let url = format!(
                    "{scheme}://{host}:{listener}/services/{}.{name}",
                    proxy.name
                );
                changes.push((loc, url));
            }
        }
    }
    if changes.is_empty() {
        return source;
    }
    let mut ed = doc.edit();
    for (loc, url) in changes {
        if ed.set_text(loc, url).is_err() {
            return source;
        }
    }
    ed.finish()
}

pub fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = status;
    r
}
