//! End-to-end: failures are blamed on the party that caused them. A misbehaving client never moves
//! an endpoint's state, and a misbehaving backend is answered 502/504 with the fault sequence run
//! (never a client error, never an empty reply). Misbehaving backends are small threads writing
//! raw bytes.

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]
// The raw backends are plain threads sharing what they saw with the test: a Mutex is right here.
#![allow(clippy::disallowed_types)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// A backend on 127.0.0.1 that answers every request with `reply(request head)` (raw bytes),
/// keeps connections open unless the reply says `Connection: close`, and records what it saw.
struct RawBackend {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
    /// Connections mint closed.
    closed: Arc<AtomicUsize>,
    /// Connections mint opened.
    accepted: Arc<AtomicUsize>,
}

type Reply = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

fn raw_backend(reply: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> RawBackend {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let closed = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let reply: Reply = Arc::new(reply);
    let (h, c, a) = (heads.clone(), closed.clone(), accepted.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            a.fetch_add(1, Ordering::SeqCst);
            let (h, c, reply) = (h.clone(), c.clone(), reply.clone());
            std::thread::spawn(move || serve_raw(conn, &h, &c, &reply));
        }
    });
    RawBackend {
        port,
        heads,
        closed,
        accepted,
    }
}

fn serve_raw(conn: TcpStream, heads: &Mutex<Vec<String>>, closed: &AtomicUsize, reply: &Reply) {
    let mut w = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    closed.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                Ok(_) => {}
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let lower = head.to_ascii_lowercase();
        if let Some(len) = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err() {
                closed.fetch_add(1, Ordering::SeqCst);
                return;
            }
        } else if lower.contains("transfer-encoding: chunked") {
            let mut last = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    closed.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                if line == "\r\n" && last.starts_with('0') {
                    break;
                }
                last = line;
            }
        }
        heads.lock().unwrap().push(head.clone());
        let out = reply(&head);
        if w.write_all(&out).is_err() {
            return;
        }
        let said = String::from_utf8_lossy(&out).to_ascii_lowercase();
        // `x-then-stale`: bytes nobody asked for, a moment after the answer.
        if said.contains("x-then-stale") {
            std::thread::sleep(Duration::from_millis(30));
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale");
        }
        // `x-then-close`: closes without saying so (as a backend whose keep-alive timer fires).
        if said.contains("connection: close") || said.contains("x-then-close") {
            let _ = w.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn ok_reply(_: &str) -> Vec<u8> {
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok".to_vec()
}

const LIMITS: &str =
    "[http]\nbody_read_timeout_ms = 1000\nmax_body_size = 1000\n[client]\nidle_timeout_ms = 400\n";

/// Endpoints on a backend (any error suspends them for 30 s, WSO2's default) and resources that
/// stream the client's body to them: `/h/e{i}` to `E{i}` (one per case, so that each case is
/// judged on its own), `/h/fast` and `/h/slow` to endpoints that time out before and after the
/// client's body deadline.
fn blame_home(backend: u16) -> TempHome {
    let h = TempHome::new("blame");
    h.file("conf/deployment.toml", LIMITS);
    let ep = |name: &str, timeout: &str| {
        format!(
            r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="{name}"><address uri="http://127.0.0.1:{backend}/echo">{timeout}</address></endpoint>"#
        )
    };
    let mut resources = String::new();
    for i in 0..CASES {
        h.artifact("endpoints", &format!("E{i}.xml"), &ep(&format!("E{i}"), ""));
        resources.push_str(&format!(
            r#"<resource methods="POST" uri-template="/e{i}"><inSequence><send><endpoint key="E{i}"/></send></inSequence></resource>"#
        ));
    }
    let t = |ms| {
        format!(
            "<timeout><duration>{ms}</duration><responseAction>fault</responseAction></timeout>"
        )
    };
    h.artifact("endpoints", "Fast.xml", &ep("Fast", &t(400)));
    h.artifact("endpoints", "Slow.xml", &ep("Slow", &t(4000)));
    h.artifact(
        "api",
        "H.xml",
        &format!(
            r#"<api xmlns="http://ws.apache.org/ns/synapse" name="H" context="/h">{resources}
            <resource methods="POST" uri-template="/fast"><inSequence><send><endpoint key="Fast"/></send></inSequence></resource>
            <resource methods="POST" uri-template="/slow"><inSequence><send><endpoint key="Slow"/></send></inSequence></resource>
            <resource methods="GET" uri-template="/local"><inSequence><respond/></inSequence></resource>
        </api>"#
        ),
    );
    h
}

const CASES: usize = 6;

/// The status a well-behaved request gets (a suspended endpoint gives 503 for 30 s).
fn status_now(port: u16, path: &str) -> u16 {
    request(
        port,
        "POST",
        path,
        &[("Content-Type", "text/plain")],
        b"still there",
    )
    .status
}

#[test]
fn malformed_or_aborted_client_bodies_never_suspend_the_endpoint() {
    // A backend that reads the whole body before it answers.
    let b = raw_backend(ok_reply);
    let h = blame_home(b.port);
    let mint = start_mint(&h.root, 1);
    let chunked = |i: usize| {
        format!("POST /h/e{i} HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
    };
    let mut wrong = Vec::new();
    for (i, bad) in [
        "0x5\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "5\nhello\n0\n\n",
    ]
    .into_iter()
    .enumerate()
    {
        // (the bad request's answer, a good request's answer right after)
        let r = raw(mint.http, format!("{}{bad}", chunked(i)).as_bytes());
        let got = (
            r.map(|r| r.status),
            status_now(mint.http, &format!("/h/e{i}")),
        );
        if got != (Some(400), 200) {
            wrong.push(format!("{bad:?}: {got:?}"));
        }
    }
    // A body the client abandons halfway, with chunked and with Content-Length framing.
    for (i, partial) in [
        (4, format!("{}5\r\nhel", chunked(4))),
        (5, "POST /h/e5 HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nabc".to_string()),
    ] {
        let mut s = connect(mint.http);
        s.write_all(partial.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        drop(s);
        std::thread::sleep(Duration::from_millis(200));
        let got = status_now(mint.http, &format!("/h/e{i}"));
        if got != 200 {
            wrong.push(format!("aborted {partial:?}: next request got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_trickling_client_gets_408_and_the_endpoint_stays_active() {
    // A backend that reads the whole body before it answers (the echo backend would stream its
    // answer at once, and the exchange would have succeeded).
    let b = raw_backend(ok_reply);
    let h = blame_home(b.port);
    let mint = start_mint(&h.root, 1);
    let mut wrong = Vec::new();
    // `Slow` would time out after the body deadline, `Fast` before it: neither is to blame.
    for path in ["/h/slow", "/h/fast"] {
        let t = Instant::now();
        let mut s = connect(mint.http);
        s.write_all(
            format!("POST {path} HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nabc")
                .as_bytes(),
        )
        .unwrap();
        let r = read_response(&mut BufReader::new(s), false);
        let got = (
            r.map(|r| r.status),
            t.elapsed() < Duration::from_secs(4),
            status_now(mint.http, path),
        );
        if got != (Some(408), true, 200) {
            wrong.push(format!(
                "{path}: (status, in time, next request) = {got:?} after {:?}",
                t.elapsed()
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_client_that_half_closes_after_its_request_gets_the_answer() {
    let (_echo, eport) = start_backend();
    let h = blame_home(eport);
    let mint = start_mint(&h.root, 1);
    let mut s = connect(mint.http);
    s.write_all(b"POST /h/e0 HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let r = read_response(&mut BufReader::new(s), false).expect("an answer after half-close");
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
}

#[test]
fn requests_breaking_http_1_1_rules_are_refused() {
    let b = raw_backend(ok_reply);
    let h = blame_home(b.port);
    let mint = start_mint(&h.root, 1);
    let mut wrong = Vec::new();
    for (req, want) in [
        // RFC 9112 §6.1: a transfer coding mint cannot decode is not silently dropped.
        ("POST /h/e0 HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501),
        // RFC 9112 §3.2: Host exactly once in HTTP/1.1.
        ("GET /h/local HTTP/1.1\r\n\r\n", 400),
        ("GET /h/local HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("GET /h/local HTTP/1.0\r\n\r\n", 200),
        ("GET /h/local HTTP/1.1\r\nHost: a\r\n\r\n", 200),
    ] {
        let got = raw(mint.http, req.as_bytes()).map(|r| r.status);
        if got != Some(want) {
            wrong.push(format!("{req:?}: {got:?}, not {want}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(
        b.heads.lock().unwrap().is_empty(),
        "nothing reached the backend"
    );
}

/// What the raw backend answers, by the case named in the request path.
fn misbehaving(head: &str) -> Vec<u8> {
    let case = head.split_whitespace().nth(1).unwrap_or("");
    let case = case.rsplit('/').next().unwrap_or("");
    match case {
        "big" => {
            let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n"
                .to_vec();
            r.extend(std::iter::repeat_n(b'x', 5000));
            r
        }
        "empty" => b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(),
        "notxml" => b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 9\r\n\r\nnot <xml>".to_vec(),
        "badjson" => b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{bad:".to_vec(),
        "chunkerr" => b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".to_vec(),
        "clte" => b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_vec(),
        "gzipte" => b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_vec(),
        "upgrade" => b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n".to_vec(),
        "bighead" | "midhead" => {
            let size = if case == "bighead" { 9 << 20 } else { 200 << 10 };
            let mut r = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
            r.extend(std::iter::repeat_n(b'a', size));
            r.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
            r
        }
        _ => ok_reply(head),
    }
}

fn backend_fault_home(port: u16) -> TempHome {
    let h = TempHome::new("backend-faults");
    h.file("conf/deployment.toml", LIMITS);
    h.artifact(
        "endpoints",
        "B.xml",
        &format!(
            r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="B"><address uri="http://127.0.0.1:{port}/x">
                <suspendOnFailure><initialDuration>0</initialDuration><maximumDuration>0</maximumDuration></suspendOnFailure>
            </address></endpoint>"#
        ),
    );
    // Suspension is off: each case below is a backend fault on its own.
    // `/p/*` passes the response through; `/read/*` reads it as XML; `/xml/*` converts it to XML;
    // `/f/*` has a fault sequence that answers with the error code.
    let api = r#"<api xmlns="http://ws.apache.org/ns/synapse" name="BF" context="/bf">
        <resource methods="GET" url-mapping="/p/*"><inSequence><send><endpoint key="B"/></send></inSequence></resource>
        <resource methods="GET" url-mapping="/read/*"><inSequence><send><endpoint key="B"/></send></inSequence>
            <outSequence><filter xpath="//a"><then><log/></then></filter><respond/></outSequence></resource>
        <resource methods="GET" url-mapping="/log/*"><inSequence><send><endpoint key="B"/></send></inSequence>
            <outSequence><log level="full"/><respond/></outSequence></resource>
        <resource methods="GET" url-mapping="/xml/*"><inSequence><send><endpoint key="B"/></send></inSequence>
            <outSequence><property name="messageType" value="application/xml" scope="axis2"/><respond/></outSequence></resource>
        <resource methods="GET" url-mapping="/f/*"><inSequence><send><endpoint key="B"/></send></inSequence>
            <outSequence><property name="messageType" value="application/xml" scope="axis2"/><respond/></outSequence>
            <faultSequence>
                <payloadFactory media-type="xml"><format><fault xmlns=""><code>$1</code></fault></format>
                    <args><arg evaluator="xml" expression="get-property('ERROR_CODE')"/></args></payloadFactory>
                <property name="HTTP_SC" value="599" scope="axis2"/><respond/>
            </faultSequence></resource>
    </api>"#;
    h.artifact("api", "BF.xml", api);
    h
}

#[test]
fn backend_faults_are_502_with_the_fault_sequence_run() {
    let b = raw_backend(misbehaving);
    let h = backend_fault_home(b.port);
    let mint = start_mint(&h.root, 1);
    let get = |path: &str| {
        raw(
            mint.http,
            format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes(),
        )
    };
    let mut wrong = Vec::new();
    for (path, code) in [
        ("/bf/log/big", "101510"),     // a response over max_body_size (was 413)
        ("/bf/read/notxml", "101510"), // XML that is not (was 400)
        ("/bf/xml/badjson", "101510"), // a conversion failure at response time (was 400, code 0)
        ("/bf/p/chunkerr", "101506"),  // a chunk error before the first byte (was an empty reply)
        ("/bf/p/clte", "101506"),      // Content-Length and chunked (was truncated)
        ("/bf/p/gzipte", "101506"),    // a transfer coding mint does not decode
        ("/bf/p/upgrade", "101506"),   // an unsolicited 101 (was forwarded)
        ("/bf/p/midhead", "101506"),   // a 200 KiB response head, over [client] max_head_size
        ("/bf/p/bighead", "101506"),   // a 9 MB response header
    ] {
        let got = get(path).map(|r| (r.status, r.header("x-mint-error-code").map(str::to_string)));
        if got != Some((502, Some(code.to_string()))) {
            wrong.push(format!("{path}: {got:?}"));
        }
    }
    // With a fault sequence, it runs with ERROR_CODE set and answers itself.
    let got = get("/bf/f/badjson").map(|r| (r.status, r.text()));
    if !got
        .as_ref()
        .is_some_and(|(status, body)| *status == 599 && body.contains("<code>101510</code>"))
    {
        wrong.push(format!("/bf/f/badjson: {got:?}"));
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn idle_backend_connections_close_without_traffic() {
    let b = raw_backend(ok_reply);
    let h = backend_fault_home(b.port);
    let mint = start_mint(&h.root, 1);
    let r = raw(mint.http, b"GET /bf/p/ok HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    // idle_timeout_ms = 400: the pooled connection is closed with no further request.
    assert!(
        eventually(Duration::from_secs(3), || b.closed.load(Ordering::SeqCst)
            == 1),
        "the idle backend connection is still open"
    );
}

#[test]
fn a_connection_whose_answer_has_no_body_is_used_again() {
    let b = raw_backend(misbehaving);
    let h = backend_fault_home(b.port);
    let mint = start_mint(&h.root, 1);
    for _ in 0..3 {
        let r = raw(mint.http, b"GET /bf/p/empty HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(r.status, 204);
    }
    assert_eq!(b.heads.lock().unwrap().len(), 3);
    assert_eq!(
        b.accepted.load(Ordering::SeqCst),
        1,
        "each 204 took a connection of its own"
    );
    // One connection carried the three (a closed one would be counted at once); it is closed
    // only when idle_timeout_ms (400) passes.
    assert_eq!(
        b.closed.load(Ordering::SeqCst),
        0,
        "a 204's connection was not reused"
    );
    assert!(
        eventually(Duration::from_secs(3), || b.closed.load(Ordering::SeqCst)
            == 1),
        "the idle backend connection is still open"
    );
}

#[test]
fn a_backend_connection_closed_or_dirtied_after_its_answer_is_not_used_again() {
    let b = raw_backend(|head| {
        let case = head.split_whitespace().nth(1).unwrap_or("");
        match case.rsplit('/').next().unwrap_or("") {
            // The answer and the close in quick succession, without `Connection: close`.
            "fin" => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Then-Close: 1\r\n\r\nok".to_vec(),
            // Bytes after the answer that nobody asked for.
            "extra" => {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"
                    .to_vec()
            }
            "late" => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Then-Stale: 1\r\n\r\nok".to_vec(),
            _ => ok_reply(head),
        }
    });
    let h = backend_fault_home(b.port);
    let mint = start_mint(&h.root, 1);
    let get = |case: &str| {
        let req = format!("GET /bf/p/{case} HTTP/1.1\r\nHost: a\r\n\r\n");
        let r = raw(mint.http, req.as_bytes()).unwrap();
        (r.status, r.text())
    };
    // A warm connection first.
    assert_eq!(get("ok"), (200, "ok".to_string()));
    assert_eq!(b.accepted.load(Ordering::SeqCst), 1);
    // (A close right after the answer with no pause is left out: whether the next request sees
    // it is a race with the backend's thread, as it is for any client.)
    for (case, pause) in [("fin", 100), ("extra", 0), ("extra", 100), ("late", 100)] {
        let before = b.accepted.load(Ordering::SeqCst);
        assert_eq!(get(case), (200, "ok".to_string()), "{case}");
        std::thread::sleep(Duration::from_millis(pause));
        // The next request must not go out on that connection: closed, or holding stale bytes.
        assert_eq!(
            get("ok"),
            (200, "ok".to_string()),
            "{case} then ok ({pause} ms)"
        );
        assert_eq!(
            b.accepted.load(Ordering::SeqCst),
            before + 1,
            "{case} ({pause} ms): the following request took a fresh connection"
        );
    }
}

#[test]
fn dot_segments_never_reach_the_backend() {
    let b = raw_backend(ok_reply);
    let h = backend_fault_home(b.port);
    h.artifact(
        "api",
        "Up.xml",
        &format!(
            r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Up" context="/up">
                <resource methods="GET" url-mapping="/*"><inSequence><send><endpoint>
                    <address uri="http://127.0.0.1:{}/base/../../../top"/></endpoint></send></inSequence></resource>
            </api>"#,
            b.port
        ),
    );
    let mint = start_mint(&h.root, 1);
    for (path, want) in [
        ("/bf/p/a/../ok", "/x/p/ok"),
        ("/bf/p/a/%2e%2E/b/./ok", "/x/p/b/ok"),
        ("/bf/p/ok?q=/../z", "/x/p/ok?q=/../z"),
        ("/up/a", "/top/a"),
    ] {
        b.heads.lock().unwrap().clear();
        let r = raw(
            mint.http,
            format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(r.status, 200, "{path}");
        let heads = b.heads.lock().unwrap();
        let line = heads[0].lines().next().unwrap_or("").to_string();
        assert_eq!(line, format!("GET {want} HTTP/1.1"), "{path}");
    }
    // Climbing above the root stays at the root: nothing is dispatched outside /bf.
    b.heads.lock().unwrap().clear();
    let r = raw(
        mint.http,
        b"GET /bf/p/../../../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .unwrap();
    assert!(b.heads.lock().unwrap().is_empty(), "{}", r.status);
}
