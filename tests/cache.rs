//! End-to-end: MI 4.x's cache mediator, against a counting backend (every answer carries how many
//! requests the backend has served, so an equal answer is a hit and a new one a miss), with mint
//! on two shards (one cache per mediator for the server).

// Test threads may sleep: they are not shards.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

/// A backend on a thread: `/status/N` answers N, `/cc/V` answers with `Cache-Control: V`
/// (`_` for a space), `/etag` with `Cache-Control: no-cache` and an `ETag` (304 when the request
/// carries it), anything else 200; each body is `<n>COUNT</n>` (COUNT served so far, 304s
/// excepted) padded with the path. Returns the port and the count of 304s.
fn counting_backend() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let revalidated = Arc::new(AtomicU64::new(0));
    let r2 = revalidated.clone();
    std::thread::spawn(move || {
        let mut count = 0u64;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(req) = read_request(&stream) else {
                continue;
            };
            let path = req.target.clone();
            let if_none_match = req.header("if-none-match") == Some("\"v1\"");
            let mut status = 200;
            let mut extra = String::new();
            if let Some(code) = path.strip_prefix("/status/") {
                status = code.parse().unwrap_or(500);
            } else if let Some(cc) = path.strip_prefix("/cc/") {
                extra = format!("Cache-Control: {}\r\n", cc.replace('_', " "));
            } else if path.starts_with("/etag") {
                if if_none_match {
                    r2.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.write_all(
                        b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                }
                extra = "Cache-Control: no-cache\r\nETag: \"v1\"\r\n".into();
            }
            count += 1;
            let body = format!("<n>{count}<p>{path}</p></n>");
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/xml\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (port, revalidated)
}

/// An API `/c/{path}` whose GETs and POSTs go through a finder with `finder` attributes and
/// `protocol` children, `call` the backend, and a collector.
fn api(
    name: &str,
    context: &str,
    backend: u16,
    finder: &str,
    protocol: &str,
    extra: &str,
) -> String {
    format!(
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="{name}" context="{context}">
  <resource methods="GET POST" uri-template="/*">
    <inSequence>
      <property name="uri.var.rest" expression="substring-after(get-property('REST_FULL_REQUEST_PATH'), '{context}')"/>
      <cache collector="false" {finder}>
        {protocol}
        {extra}
      </cache>
      <call><endpoint><http uri-template="http://127.0.0.1:{backend}{{+uri.var.rest}}"/></endpoint></call>
      <cache collector="true"/>
      <respond/>
    </inSequence>
  </resource>
</api>"#
    )
}

fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> Resp {
    request(port, "GET", path, headers, b"")
}

/// The backend's count in an answer.
fn count(r: &Resp) -> String {
    let t = r.text();
    t.split("<n>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_else(|| panic!("no count in {} {t}", r.status))
        .to_string()
}

fn metric(port: u16, series: &str) -> u64 {
    let text = request(port, "GET", "/metric-service/metrics", &[], b"").text();
    text.lines()
        .filter_map(|l| l.strip_prefix(series))
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn hits_misses_expiry_headers_bodies_codes_and_size() {
    let (backend, _) = counting_backend();
    let h = TempHome::new("cache");
    // `/context/path` calls the backend's `/path`.
    let rest = |n: &str, ctx: &str, finder: &str, protocol: &str, extra: &str| {
        api(n, ctx, backend, finder, protocol, extra)
    };
    h.artifact(
        "api",
        "Plain.xml",
        &(rest("Plain", "/plain", "timeout=\"2\"", "", "")),
    )
    .artifact(
        "api",
        "Headers.xml",
        &(rest(
            "Headers",
            "/headers",
            "timeout=\"60\"",
            r#"<protocol type="HTTP"><headersToExcludeInHash>user, country</headersToExcludeInHash></protocol>"#,
            "",
        )),
    )
    .artifact(
        "api",
        "NoHeaders.xml",
        &(rest(
            "NoHeaders",
            "/noheaders",
            "timeout=\"60\"",
            r#"<protocol type="HTTP"><headersToExcludeInHash>*</headersToExcludeInHash></protocol>"#,
            "",
        )),
    )
    .artifact(
        "api",
        "Codes.xml",
        &(rest(
            "Codes",
            "/codes",
            "timeout=\"60\"",
            r#"<protocol type="HTTP"><methods>GET</methods><responseCodes>[2-4][0-9][0-9]</responseCodes></protocol>"#,
            "",
        )),
    )
    .artifact(
        "api",
        "Sized.xml",
        &(rest(
            "Sized",
            "/sized",
            "timeout=\"60\" maxMessageSize=\"40\"",
            "",
            r#"<implementation maxSize="2"/>"#,
        )),
    )
    .artifact(
        "api",
        "OnHit.xml",
        &(rest(
            "OnHit",
            "/onhit",
            "timeout=\"60\"",
            "",
            r#"<onCacheHit><property name="X-Cached" scope="transport" value="yes"/><respond/></onCacheHit>"#,
        )),
    );
    let mint = start_mint(&h.root, 2);
    let p = mint.http;

    // A hit returns the stored answer, with its cacheKey; the entry ends `timeout` after the miss.
    let a = get(p, "/plain/one", &[]);
    assert_eq!(a.status, 200, "{} {:?}", a.text(), a.headers);
    let key = a
        .header("cachekey")
        .expect("cacheKey on the stored answer")
        .to_string();
    for _ in 0..4 {
        let b = get(p, "/plain/one", &[]);
        assert_eq!(count(&b), count(&a), "a hit");
        assert_eq!(b.header("cachekey"), Some(key.as_str()));
        assert_eq!(b.header("content-type"), Some("application/xml"));
    }
    assert_ne!(
        count(&get(p, "/plain/two", &[])),
        count(&a),
        "another URI misses"
    );
    std::thread::sleep(Duration::from_millis(2100));
    assert_ne!(count(&get(p, "/plain/one", &[])), count(&a), "expired");

    // Excluded headers do not count, in any case; others do.
    let a = get(p, "/headers/h", &[]);
    assert_eq!(
        count(&get(p, "/headers/h", &[("user", "Peter")])),
        count(&a)
    );
    assert_eq!(
        count(&get(p, "/headers/h", &[("COUNTRY", "UK")])),
        count(&a)
    );
    assert_ne!(count(&get(p, "/headers/h", &[("userID", "7")])), count(&a));

    // `*`: no header counts.
    let a = get(p, "/noheaders/h", &[]);
    assert_eq!(
        count(&get(
            p,
            "/noheaders/h",
            &[("X-Any", "1"), ("Accept", "text/xml")]
        )),
        count(&a)
    );

    // POST bodies: the same tree (attributes in another order, another prefix) hits. (The
    // length is the same: Content-Length is a header like the others.)
    let post = |body: &str| {
        request(
            p,
            "POST",
            "/headers/b",
            &[("Content-Type", "application/xml")],
            body.as_bytes(),
        )
    };
    let a = post(r#"<o:order xmlns:o="urn:o" id="1" qty="2"><item>x</item></o:order>"#);
    let b = post(r#"<q:order xmlns:q="urn:o" qty="2" id="1"><item>x</item></q:order>"#);
    assert_eq!(count(&b), count(&a), "the same tree");
    let c = post(r#"<o:order xmlns:o="urn:o" id="1" qty="3"><item>x</item></o:order>"#);
    assert_ne!(count(&c), count(&a), "another body");

    // responseCodes: 202 and 401 are stored (and replayed with their status), 500 is not.
    for code in [202, 401] {
        let a = get(p, &format!("/codes/status/{code}"), &[]);
        let b = get(p, &format!("/codes/status/{code}"), &[]);
        assert_eq!((a.status, b.status), (code, code));
        assert_eq!(count(&a), count(&b), "{code} stored");
    }
    let a = get(p, "/codes/status/500", &[]);
    let b = get(p, "/codes/status/500", &[]);
    assert_ne!(count(&a), count(&b), "500 not stored");
    // methods: only GETs are stored.
    let post = |path: &str| {
        request(
            p,
            "POST",
            path,
            &[("Content-Type", "application/xml")],
            b"<a/>",
        )
    };
    assert_ne!(count(&post("/codes/p")), count(&post("/codes/p")));

    // maxSize 2, least recently used first: ABCD, ABC, AB, AB (hit), ABC (hit), ABCD (evicted).
    let abcd = count(&get(p, "/sized/ABCD", &[]));
    let abc = count(&get(p, "/sized/ABC", &[]));
    let ab = count(&get(p, "/sized/AB", &[]));
    assert_eq!(count(&get(p, "/sized/AB", &[])), ab);
    assert_eq!(count(&get(p, "/sized/ABC", &[])), abc);
    assert_ne!(count(&get(p, "/sized/ABCD", &[])), abcd);
    // maxMessageSize 40: a longer answer is not stored.
    let long = "/sized/a-path-long-enough-to-pass-forty-bytes";
    assert_ne!(count(&get(p, long, &[])), count(&get(p, long, &[])));

    // onCacheHit runs on hits only (it answers itself).
    let a = get(p, "/onhit/x", &[]);
    assert_eq!(a.header("x-cached"), None);
    let b = get(p, "/onhit/x", &[]);
    assert_eq!((b.header("x-cached"), count(&b)), (Some("yes"), count(&a)));

    let hits = metric(9191 + mint.offset, "mint_cache_hits_total");
    let stored = metric(9191 + mint.offset, "mint_cache_stored_total");
    let expired = metric(9191 + mint.offset, "mint_cache_expired_total");
    assert!(hits >= 12, "{hits} hits");
    assert!(stored >= 10, "{stored} stored");
    assert!(expired >= 1, "{expired} expired");
}

#[test]
fn cache_control_and_age() {
    let (backend, revalidated) = counting_backend();
    let h = TempHome::new("cache-control");
    let protocol = r#"<protocol type="HTTP"><enableCacheControl>true</enableCacheControl><includeAgeHeader>true</includeAgeHeader></protocol>"#;
    let xml = api("CC", "/cc", backend, "timeout=\"120\"", protocol, "");
    h.artifact("api", "CC.xml", &xml);
    let mint = start_mint(&h.root, 1);
    let p = mint.http;
    // no-store: never stored.
    assert_ne!(
        count(&get(p, "/cc/cc/no-store", &[])),
        count(&get(p, "/cc/cc/no-store", &[]))
    );
    // max-age: a hit (with Age) until it passes, then fetched again.
    let a = get(p, "/cc/cc/max-age=1", &[]);
    let b = get(p, "/cc/cc/max-age=1", &[]);
    assert_eq!(count(&b), count(&a));
    assert!(b.header("age").is_some(), "Age on a hit");
    std::thread::sleep(Duration::from_millis(2100));
    assert_ne!(count(&get(p, "/cc/cc/max-age=1", &[])), count(&a), "stale");
    // no-cache with an ETag: revalidated; the 304 is answered from the cache.
    let a = get(p, "/cc/etag", &[]);
    let b = get(p, "/cc/etag", &[]);
    assert_eq!((b.status, count(&b)), (200, count(&a)));
    assert_eq!(revalidated.load(Ordering::SeqCst), 1, "one revalidation");
}

#[test]
fn broken_cache_settings_are_deployment_errors() {
    let h = TempHome::new("cache-broken");
    for (i, cache) in [
        "<cache/>",
        r#"<cache collector="maybe"/>"#,
        r#"<cache collector="false" hashGenerator="com.acme.MyHash"/>"#,
        r#"<cache collector="false"><protocol type="HTTP"><methods>FETCH</methods></protocol></cache>"#,
        r#"<cache collector="false" timeout="soon"/>"#,
    ]
    .iter()
    .enumerate()
    {
        h.artifact(
            "sequences",
            &format!("s{i}.xml"),
            &format!(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="s{i}">{cache}</sequence>"#),
        );
    }
    let (passed, text) = check_output(&h.root);
    assert!(!passed, "{text}");
    for needle in [
        "s0.xml:1:",
        "The collector attribute must be specified",
        "either true or false",
        "com.acme.MyHash",
        "Unexpected method type: FETCH",
        "timeout 'soon' is not a number",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
}

/// WSO2's classic layout (Sample 420): the finder in the in-sequence before `send`, the collector
/// in the out-sequence.
#[test]
fn proxy_in_and_out_sequences() {
    let (backend, _) = counting_backend();
    let h = TempHome::new("cache-proxy");
    h.artifact(
        "proxy-services",
        "Cached.xml",
        &format!(
            r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="Cached" transports="http">
  <target>
    <inSequence>
      <cache collector="false" timeout="20">
        <protocol type="HTTP"><methods>POST</methods><responseCodes>2[0-9][0-9]</responseCodes></protocol>
        <implementation maxSize="100"/>
      </cache>
      <send><endpoint><address uri="http://127.0.0.1:{backend}/quote"/></endpoint></send>
    </inSequence>
    <outSequence>
      <cache collector="true"/>
      <send/>
    </outSequence>
  </target>
</proxy>"#
        ),
    );
    let mint = start_mint(&h.root, 2);
    let soap = |sym: &str| {
        format!(
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><m:getQuote xmlns:m="http://services.samples"><m:request><m:symbol>{sym}</m:symbol></m:request></m:getQuote></soapenv:Body></soapenv:Envelope>"#
        )
    };
    let post = |body: &str| {
        request(
            mint.http,
            "POST",
            "/services/Cached",
            &[("Content-Type", "text/xml"), ("SOAPAction", "urn:getQuote")],
            body.as_bytes(),
        )
    };
    let a = post(&soap("IBM"));
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(count(&post(&soap("IBM"))), count(&a));
    assert_eq!(count(&post(&soap("IBM"))), count(&a));
    assert_ne!(count(&post(&soap("WSO"))), count(&a));
}
