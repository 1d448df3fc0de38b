//! HTTP/1.1 rules beyond message framing, checked on what clients and backends send:
//! transfer codings other than `chunked` (RFC 9112 §6.1), the `Host` header (RFC 9112 §3.2),
//! framing a proxy must not forward (RFC 9112 §6.3), hop-by-hop headers (RFC 9110 §7.6.1) and
//! dot-segments in paths (RFC 3986 §5.2.4).
//!
//! Pure functions over heads and strings; the server and the client decide what to answer.

use std::borrow::Cow;

use http::header::{self, HeaderMap, HeaderName, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{StatusCode, Version};

/// The first transfer coding other than one final `chunked`, if any: mint decodes only
/// `chunked`, so a message with another coding cannot be passed on faithfully.
pub fn unsupported_coding(headers: &HeaderMap) -> Option<String> {
    let mut chunked = 0;
    for v in headers.get_all(TRANSFER_ENCODING) {
        let Ok(s) = v.to_str() else {
            return Some(String::from_utf8_lossy(v.as_bytes()).into_owned());
        };
        for c in s.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if !c.eq_ignore_ascii_case("chunked") {
                return Some(c.to_string());
            }
            chunked += 1;
            if chunked > 1 {
                return Some("chunked (twice)".into());
            }
        }
    }
    None
}

/// Why a request's `Host` header is unacceptable (RFC 9112 §3.2: a server answers 400 to an
/// HTTP/1.1 request without one, and to any request with more than one or an invalid one).
pub fn host_problem(version: Version, headers: &HeaderMap) -> Option<&'static str> {
    let mut hosts = headers.get_all(HOST).iter();
    let first = hosts.next();
    let count = usize::from(first.is_some()) + hosts.count();
    host_rule(version, count, first.map(|v| v.as_bytes()))
}

/// [`host_problem`] from what a parser saw: how many `Host` lines, and the first one's value.
pub fn host_rule(version: Version, count: usize, first: Option<&[u8]>) -> Option<&'static str> {
    match (count, first) {
        (2.., _) => Some("more than one Host header"),
        (0, _) if version == Version::HTTP_11 => Some("no Host header"),
        (_, Some(v)) if !v.is_empty() && !valid_host(v) => Some("invalid Host header"),
        _ => None,
    }
}

/// Whether a `Host` value is a valid authority without userinfo (RFC 9112 §3.2).
fn valid_host(v: &[u8]) -> bool {
    plain_host(v)
        || !v.contains(&b'@')
            && std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<http::uri::Authority>().ok())
                .is_some()
}

/// The common form, checked without parsing: a name or IPv4 address of letters, digits, `.`
/// and `-`, and an optional port up to 65535 (every such value is a valid authority).
fn plain_host(v: &[u8]) -> bool {
    let (host, port) = match memchr::memchr(b':', v) {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    !host.is_empty()
        && host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.is_none_or(|p| {
            (1..=5).contains(&p.len())
                && p.iter().all(u8::is_ascii_digit)
                && p.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')) <= 65535
        })
}

/// Why a backend's response cannot be forwarded as it is: a protocol fault of the backend.
pub fn response_problem(status: StatusCode, headers: &HeaderMap) -> Option<String> {
    if status.is_informational() {
        // hyper consumes 100 and 103; what reaches here (101) was not asked for: mint never
        // requests a protocol upgrade.
        return Some(format!("unsolicited {status} response"));
    }
    if let Some(c) = unsupported_coding(headers) {
        return Some(format!("unsupported transfer coding '{c}'"));
    }
    if headers.contains_key(TRANSFER_ENCODING) && headers.contains_key(CONTENT_LENGTH) {
        return Some("both Transfer-Encoding and Content-Length".into());
    }
    None
}

/// Removes the dot-segments of a path as RFC 3986 §5.2.4 does (`.` and `..`, also written
/// `%2e`); `..` never climbs above the root. Returns the path unchanged (borrowed) when it has
/// none.
pub fn remove_dot_segments(path: &str) -> Cow<'_, str> {
    // A dot segment needs a `.` or a `%` (of `%2e`): most paths have neither.
    if memchr::memchr2(b'.', b'%', path.as_bytes()).is_none()
        || !path.split('/').any(|s| dots(s).is_some())
    {
        return Cow::Borrowed(path);
    }
    let absolute = path.starts_with('/');
    let segments: Vec<&str> = path.split('/').skip(usize::from(absolute)).collect();
    let last = segments.len().saturating_sub(1);
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, seg) in segments.iter().enumerate() {
        match dots(seg) {
            Some(n) => {
                if n == 2 {
                    out.pop();
                }
                // `a/.` and `a/..` end in a slash: the last segment becomes empty.
                if i == last {
                    out.push("");
                }
            }
            None => out.push(seg),
        }
    }
    let mut s = String::with_capacity(path.len());
    if absolute {
        s.push('/');
    }
    s.push_str(&out.join("/"));
    Cow::Owned(s)
}

/// 1 for `.`, 2 for `..` (each dot possibly written `%2e`), None for other segments.
fn dots(seg: &str) -> Option<u8> {
    let b = seg.as_bytes();
    let mut i = 0;
    let mut n = 0u8;
    while i < b.len() {
        if b[i] == b'.' {
            i += 1;
        } else if b[i] == b'%' && b.len() >= i + 3 && b[i + 1] == b'2' && (b[i + 2] | 0x20) == b'e'
        {
            i += 3;
        } else {
            return None;
        }
        n += 1;
        if n > 2 {
            return None;
        }
    }
    (n > 0).then_some(n)
}

/// [`remove_dot_segments`] on the path of a `path?query` string; the query is kept as it is.
pub fn normalize_path_and_query(pq: &str) -> Cow<'_, str> {
    let (path, query) = match memchr::memchr(b'?', pq.as_bytes()) {
        Some(i) => pq.split_at(i),
        None => (pq, ""),
    };
    match remove_dot_segments(path) {
        Cow::Borrowed(_) => Cow::Borrowed(pq),
        Cow::Owned(mut p) => {
            p.push_str(query);
            Cow::Owned(p)
        }
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded, plus those hyper recomputes.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages carry none of them: one pass over the names finds out, where removing each
    // name would hash it against the map twelve times.
    if !headers.keys().any(|n| is_hop_by_hop(n.as_str())) {
        return;
    }
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in listed {
        headers.remove(n);
    }
    for n in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
        header::EXPECT,
    ] {
        headers.remove(n);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

/// A header [`strip_hop_by_hop`] removes by its name alone (lower case, as `HeaderName`s are).
/// Names listed in `Connection` are found through the `Connection` header itself.
fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-authorization"
            | "proxy-authenticate"
            | "expect"
            | "keep-alive"
            | "proxy-connection"
    )
}

/// The request with the dot-segments of its path removed (RFC 3986 §5.2.4), so that neither
/// dispatch nor a backend sees `..`.
pub fn without_dot_segments<B>(mut req: http::Request<B>) -> http::Request<B> {
    let Some(pq) = req.uri().path_and_query() else {
        return req;
    };
    let Cow::Owned(normal) = normalize_path_and_query(pq.as_str()) else {
        return req;
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = normal.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn dot_segments_are_removed_as_rfc_3986_says() {
        for (input, want) in [
            ("/a/b/c/./../../g", "/a/g"),
            ("mid/content=5/../6", "mid/6"),
            ("/a/..", "/"),
            ("/a/.", "/a/"),
            ("/..", "/"),
            ("/../../../etc/passwd", "/etc/passwd"),
            ("/a//../b", "/a/b"),
            ("/a/%2e%2E/b", "/b"),
            ("/a/.%2e/%2e/b", "/b"),
            ("/svc/x/../y/", "/svc/y/"),
        ] {
            assert_eq!(remove_dot_segments(input), want, "{input}");
        }
        for unchanged in [
            "/",
            "",
            "*",
            "/a/b/",
            "/a/...",
            "/a/.b/..c",
            "/a/%2e%2e%2e",
            "/a/%2f",
        ] {
            assert!(
                matches!(remove_dot_segments(unchanged), Cow::Borrowed(_)),
                "{unchanged}"
            );
        }
        assert_eq!(normalize_path_and_query("/a/../b?x=/../y"), "/b?x=/../y");
        assert_eq!(normalize_path_and_query("/a?b"), "/a?b");
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn host_is_required_once_in_http_1_1() {
        let v11 = Version::HTTP_11;
        assert_eq!(host_problem(v11, &headers(&[])), Some("no Host header"));
        assert_eq!(host_problem(Version::HTTP_10, &headers(&[])), None);
        assert_eq!(
            host_problem(v11, &headers(&[("host", "a"), ("host", "a")])),
            Some("more than one Host header")
        );
        assert_eq!(
            host_problem(v11, &headers(&[("host", "u@a")])),
            Some("invalid Host header")
        );
        assert_eq!(
            host_problem(v11, &headers(&[("host", "a b")])),
            Some("invalid Host header")
        );
        for ok in ["a", "127.0.0.1:8290", "[::1]:80", ""] {
            assert_eq!(host_problem(v11, &headers(&[("host", ok)])), None, "{ok}");
        }
    }

    #[test]
    fn the_plain_host_shortcut_accepts_only_what_the_parser_accepts() {
        let cases = [
            "a",
            "a.b-c.example",
            "A1",
            "127.0.0.1",
            "h:0",
            "h:1",
            "h:80",
            "h:65535",
            "h:65536",
            "h:99999",
            "h:123456",
            "h:",
            ":80",
            "h:8a",
            "h::80",
            "h:80:",
            "-",
            ".",
            "a..b",
            "a_b",
            "a b",
            "h:+80",
            "é",
        ];
        for c in cases {
            let parsed = c.parse::<http::uri::Authority>().is_ok();
            if plain_host(c.as_bytes()) {
                assert!(parsed, "{c} passes the shortcut but not the parser");
            }
            assert_eq!(valid_host(c.as_bytes()), parsed && !c.contains('@'), "{c}");
        }
    }

    #[test]
    fn only_a_single_chunked_coding_is_supported() {
        assert_eq!(unsupported_coding(&headers(&[])), None);
        assert_eq!(
            unsupported_coding(&headers(&[("transfer-encoding", "Chunked")])),
            None
        );
        assert_eq!(
            unsupported_coding(&headers(&[("transfer-encoding", "gzip, chunked")])).as_deref(),
            Some("gzip")
        );
        assert_eq!(
            unsupported_coding(&headers(&[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "chunked")
            ]))
            .as_deref(),
            Some("chunked (twice)")
        );
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_lists_are_stripped() {
        let mut h = headers(&[
            ("connection", "X-Private, keep-alive"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("proxy-connection", "keep-alive"),
            ("content-type", "text/xml"),
        ]);
        strip_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["content-type"]);
        // Without any of them, nothing changes.
        let mut h = headers(&[("content-type", "text/xml"), ("soapaction", "urn:a")]);
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn responses_a_proxy_must_not_forward() {
        assert!(response_problem(StatusCode::SWITCHING_PROTOCOLS, &headers(&[])).is_some());
        assert!(response_problem(
            StatusCode::OK,
            &headers(&[("transfer-encoding", "chunked"), ("content-length", "3")])
        )
        .is_some());
        assert!(response_problem(
            StatusCode::OK,
            &headers(&[("transfer-encoding", "gzip, chunked")])
        )
        .is_some());
        assert!(response_problem(StatusCode::OK, &headers(&[("content-length", "3")])).is_none());
    }
}
