//! End-to-end: misbehaving clients get the right status or a clean close, and never disturb
//! other clients.

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufReader, Read, Write};
use std::time::{Duration, Instant};

use common::*;

const LIMITS: &str = "[http]\nheader_read_timeout_ms = 500\nbody_read_timeout_ms = 500\nmax_body_size = 1000\nmax_connections_per_shard = 3\n";

const API: &str = r#"<api xmlns="http://ws.apache.org/ns/synapse" name="A" context="/a">
    <resource methods="POST" uri-template="/echo"><inSequence><respond/></inSequence></resource>
    <resource methods="POST" uri-template="/read"><inSequence><log level="full"/><respond/></inSequence></resource>
</api>"#;

fn home() -> TempHome {
    let h = TempHome::new("hostile");
    h.file("conf/deployment.toml", LIMITS);
    h.artifact("api", "A.xml", API);
    h
}

#[test]
fn smuggling_and_bad_framing_are_refused() {
    let h = home();
    let mint = start_mint(&h.root, 1);
    // Content-Length together with Transfer-Encoding: framed by Transfer-Encoding alone, and the
    // connection is closed after the answer (RFC 9112 §6.3), so the smuggled second request is
    // never read.
    let mut s = connect(mint.http);
    s.write_all(b"POST /a/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nPOST /a/echo HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    let first = read_response(&mut r, false).unwrap();
    assert_eq!((first.status, first.body.len()), (200, 0));
    assert!(
        read_response(&mut r, false).is_none(),
        "the smuggled request must not be answered"
    );
    // A Transfer-Encoding other than chunked.
    let r = raw(
        mint.http,
        b"POST /a/read HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc",
    );
    assert_eq!(r.map(|r| r.status), Some(400));
    // Two different Content-Length values.
    let r = raw(
        mint.http,
        b"POST /a/read HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
    );
    assert_eq!(r.map(|r| r.status), Some(400));
    // Invalid chunk size, read by a content-aware mediator.
    let r = raw(mint.http, b"POST /a/read HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
    assert_eq!(r.map(|r| r.status), Some(400));
    // What follows a malformed body is never read as a request: the connection closes after
    // the answer.
    let mut s = connect(mint.http);
    s.write_all(b"POST /a/read HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nPOST /a/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    let first = read_response(&mut r, false).unwrap();
    assert_eq!(first.status, 400);
    assert!(
        read_response(&mut r, false).is_none(),
        "a request after a malformed body must not be answered"
    );
}

#[test]
fn oversized_buffered_body_gets_413() {
    let h = home();
    let mint = start_mint(&h.root, 1);
    let body = vec![b'x'; 5000];
    let r = request(
        mint.http,
        "POST",
        "/a/read",
        &[("Content-Type", "text/plain")],
        &body,
    );
    assert_eq!(r.status, 413);
    // A streamed (not read) body is not limited.
    let r = request(
        mint.http,
        "POST",
        "/a/echo",
        &[("Content-Type", "text/plain")],
        &body,
    );
    assert_eq!((r.status, r.body.len()), (200, 5000));
}

#[test]
fn slow_loris_head_and_body_are_cut_off_while_others_are_served() {
    let h = home();
    let mint = start_mint(&h.root, 1);
    // A head that never completes: the connection is closed after header_read_timeout.
    let mut slow = connect(mint.http);
    slow.write_all(b"POST /a/echo HTTP/1.1\r\nHost: a\r\n")
        .unwrap();
    let t = Instant::now();
    // Meanwhile a normal client is served.
    let r = request(
        mint.http,
        "POST",
        "/a/echo",
        &[("Content-Type", "text/plain")],
        b"ok",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    // A body that trickles: 408 after body_read_timeout.
    let mut s = connect(mint.http);
    s.write_all(b"POST /a/read HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nabc").unwrap();
    let r = read_response(&mut BufReader::new(s), false).unwrap();
    assert_eq!(r.status, 408);
}

#[test]
fn a_head_that_arrives_a_byte_at_a_time_is_served() {
    let h = home();
    let mint = start_mint(&h.root, 1);
    let mut s = connect(mint.http);
    s.set_nodelay(true).unwrap();
    let req = b"POST /a/echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nX-Padding: abcdefghijklmnopqrstuvwxyz\r\nContent-Length: 2\r\n\r\nok";
    for b in req.iter() {
        s.write_all(std::slice::from_ref(b)).unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    let r = read_response(&mut BufReader::new(s), false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
}

#[test]
fn connections_over_the_limit_get_503() {
    let h = home();
    let mint = start_mint(&h.root, 1);
    // Let the connections start_mint used to probe the ports be reaped first.
    std::thread::sleep(Duration::from_millis(300));
    let _held: Vec<_> = (0..3).map(|_| connect(mint.http)).collect();
    std::thread::sleep(Duration::from_millis(100));
    let mut extra = connect(mint.http);
    let _ = extra.write_all(b"GET /a/echo HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = read_response(&mut BufReader::new(extra), false).unwrap();
    assert_eq!(r.status, 503);
    drop(_held);
    std::thread::sleep(Duration::from_millis(100));
    let r = request(
        mint.http,
        "POST",
        "/a/echo",
        &[("Content-Type", "text/plain")],
        b"again",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "again"));
}
