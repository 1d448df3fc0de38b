//! End-to-end tests: a real mint process and a real backend on 127.0.0.1.

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufReader, Write};
use std::process::Command;
use std::time::Duration;

use common::*;

const SOAP_HEADERS: &[(&str, &str)] = &[
    ("SOAPAction", "urn:buyStocks"),
    ("routing", "xadmin;server1;community#1.0##"),
    ("Content-Type", "text/xml"),
];

/// WSO2's DirectProxy, DirectAPI, RealService and proxy_wsdl, unchanged except the RealService
/// address.
fn direct_home(backend_port: u16) -> TempHome {
    wso2_perf_home(backend_port, &["DirectProxy"], &["DirectAPI"])
}

fn payload(name: &str) -> Vec<u8> {
    std::fs::read(data(&format!("wso2-perf/{name}"))).unwrap()
}

#[test]
fn direct_proxy_and_api_echo_byte_identical() {
    let (_backend, bport) = start_backend();
    let home = direct_home(bport);
    let mint = start_mint(&home.root, 2);
    for name in ["1000B_buyStocks.xml", "100000B_buyStocks.xml"] {
        let body = payload(name);
        for path in ["/services/DirectProxy/buyStocksOperation", "/directApi"] {
            let r = request(mint.http, "POST", path, SOAP_HEADERS, &body);
            assert_eq!(r.status, 200, "{path} {name}: {}", r.text());
            assert_eq!(r.header("content-type"), Some("text/xml"), "{path}");
            assert!(
                r.body == body,
                "{path} {name}: body differs ({} vs {} bytes)",
                r.body.len(),
                body.len()
            );
        }
    }
}

#[test]
fn chunked_request_body_is_forwarded() {
    let (_backend, bport) = start_backend();
    let home = direct_home(bport);
    let mint = start_mint(&home.root, 1);
    let body = payload("1000B_buyStocks.xml");
    for path in ["/services/DirectProxy/buyStocksOperation", "/directApi"] {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nSOAPAction: urn:buyStocks\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .into_bytes();
        for chunk in body.chunks(300) {
            req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            req.extend_from_slice(chunk);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
        let r = raw(mint.http, &req).unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, body, "{path}");
    }
}

#[test]
fn https_listener_serves_the_same() {
    if Command::new("curl").arg("--version").output().is_err() {
        panic!("curl is needed for the HTTPS test (.ci/run installs it)");
    }
    let (_backend, bport) = start_backend();
    let home = direct_home(bport);
    let mint = start_mint(&home.root, 1);
    let file = data("wso2-perf/1000B_buyStocks.xml");
    let out = Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "10",
            "-o",
            "-",
            "-w",
            "\n%{http_code} %{content_type}",
        ])
        .args([
            "-H",
            "SOAPAction: urn:buyStocks",
            "-H",
            "Content-Type: text/xml",
        ])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!(
            "https://127.0.0.1:{}/services/DirectProxy/buyStocksOperation",
            mint.https
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, tail) = text.rsplit_once('\n').unwrap();
    assert_eq!(
        tail,
        "200 text/xml",
        "curl said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(body.as_bytes(), std::fs::read(file).unwrap().as_slice());
}

#[test]
fn one_listener_per_shard_with_reuseport() {
    let home = TempHome::new("listeners");
    let mint = start_mint(&home.root, 2);
    let count = |port: u16| {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap()
            + &std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
        let needle = format!(":{port:04X} ");
        table
            .lines()
            .filter(|l| l.contains(&needle) && l.split_whitespace().nth(3) == Some("0A"))
            .count()
    };
    // The local address column holds ":PORT"; state 0A is LISTEN. Shards bind independently:
    // wait (bounded) until the second one has.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while (count(mint.http) < 2 || count(mint.https) < 2) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(count(mint.http), 2);
    assert_eq!(count(mint.https), 2);
}

#[test]
fn malformed_requests_get_4xx() {
    let home = TempHome::new("malformed");
    let mint = start_mint(&home.root, 1);
    let r = raw(mint.http, b"GARBAGE\r\n\r\n").unwrap();
    assert_eq!(r.status, 400);
    let mut req = String::from("GET /x HTTP/1.1\r\nHost: a\r\n");
    for i in 0..200 {
        req.push_str(&format!("X-H{i}: v\r\n"));
    }
    req.push_str("\r\n");
    let r = raw(mint.http, req.as_bytes()).unwrap();
    assert_eq!(r.status, 431);
    // A head over max_head_size (64 KiB) is never served: hyper answers 431 when it sees the whole
    // head at once, and closes the connection when the head grows past the limit over several reads.
    let big = format!(
        "GET /x HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "a".repeat(66_000)
    );
    let mut s = connect(mint.http);
    s.write_all(big.as_bytes()).unwrap();
    let r = read_response(&mut BufReader::new(s), false);
    assert!(r.as_ref().is_none_or(|r| r.status == 431), "{r:?}");
    // A request that smuggles a second framing is refused.
    let r = raw(
        mint.http,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    )
    .unwrap();
    assert_eq!(r.status, 400);
}

#[test]
fn unmatched_request_gets_empty_404_from_main() {
    let home = TempHome::new("main404");
    let mint = start_mint(&home.root, 1);
    let r = request(mint.http, "GET", "/nothing/here", &[], b"");
    assert_eq!(r.status, 404);
    assert!(r.body.is_empty());
}

const FAULTY_PROXY: &str = r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="Faulty" transports="http">
    <target>
        <inSequence><send><endpoint><address uri="http://127.0.0.1:PORT/x"><timeout><duration>300</duration><responseAction>fault</responseAction></timeout></address></endpoint></send></inSequence>
        <outSequence><send/></outSequence>
        <faultSequence>
            <property name="X-Error-Code" expression="get-property('ERROR_CODE')" scope="transport"/>
            <property name="HTTP_SC" value="503" scope="axis2"/>
            <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
            <respond/>
        </faultSequence>
    </target>
</proxy>"#;

#[test]
fn refused_backend_runs_the_fault_sequence() {
    let home = TempHome::new("refused");
    // Nothing listens on port 9 of 127.0.0.1 (discard is never enabled here).
    home.artifact(
        "proxy-services",
        "Faulty.xml",
        &FAULTY_PROXY.replace("PORT", "9"),
    );
    home.artifact(
        "proxy-services",
        "Plain.xml",
        r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="Plain"><target><endpoint><address uri="http://127.0.0.1:9/"/></endpoint><outSequence><send/></outSequence></target></proxy>"#,
    );
    let mint = start_mint(&home.root, 1);
    let r = request(
        mint.http,
        "POST",
        "/services/Faulty",
        &[("Content-Type", "text/xml")],
        b"<a/>",
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.header("x-error-code"), Some("101503"));
    // The default fault sequence drops the message; mint then answers 502 instead of hanging.
    let r = request(
        mint.http,
        "POST",
        "/services/Plain",
        &[("Content-Type", "text/xml")],
        b"<a/>",
    );
    assert_eq!(r.status, 502);
}

#[test]
fn endpoint_timeout_runs_the_fault_sequence_with_101504() {
    let (_backend, bport) = start_backend();
    let home = TempHome::new("timeout");
    let proxy = FAULTY_PROXY.replace("PORT/x", &format!("{bport}/delay/3000"));
    home.artifact("proxy-services", "Faulty.xml", &proxy);
    let mint = start_mint(&home.root, 1);
    let t = std::time::Instant::now();
    let r = request(
        mint.http,
        "POST",
        "/services/Faulty",
        &[("Content-Type", "text/xml")],
        b"<a/>",
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.header("x-error-code"), Some("101504"));
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn keep_alive_pipelining_head_and_expect_continue() {
    let home = TempHome::new("framing");
    home.artifact(
        "api",
        "Echo.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Echo" context="/echo"><resource methods="POST GET HEAD"><inSequence><respond/></inSequence></resource></api>"#,
    );
    let mint = start_mint(&home.root, 1);
    // Two pipelined requests on one connection, answered in order.
    let mut s = connect(mint.http);
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nonePOST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\ntwo").unwrap();
    let mut r = BufReader::new(s);
    let a = read_response(&mut r, false).unwrap();
    let b = read_response(&mut r, false).unwrap();
    assert_eq!((a.status, a.text().as_str()), (200, "one"));
    assert_eq!((b.status, b.text().as_str()), (200, "two"));
    // HEAD gets headers only.
    let h = raw(mint.http, b"HEAD /echo HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(h.status, 200);
    // Expect: 100-continue: mint answers 100 before the body is sent, then the echo.
    let mut s = connect(mint.http);
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut r, &mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 100"), "{line}");
    let mut blank = String::new();
    std::io::BufRead::read_line(&mut r, &mut blank).unwrap();
    s.write_all(b"hello").unwrap();
    let resp = read_response(&mut r, false).unwrap();
    assert_eq!((resp.status, resp.text().as_str()), (200, "hello"));
}

#[test]
fn healthcare_tutorial_through_http_endpoint() {
    let (_backend, bport) = start_backend();
    let home = TempHome::new("tutorial");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("repository/deployment/server/synapse-configs/default");
    home.artifact(
        "api",
        "HealthcareAPI.xml",
        &std::fs::read_to_string(root.join("api/HealthcareAPI.xml")).unwrap(),
    );
    let ep = std::fs::read_to_string(root.join("endpoints/QueryDoctorEP.xml"))
        .unwrap()
        .replace("localhost:9090", &format!("127.0.0.1:{bport}"));
    home.artifact("endpoints", "QueryDoctorEP.xml", &ep);
    let mint = start_mint(&home.root, 1);
    let r = request(
        mint.http,
        "GET",
        "/healthcare/querydoctor/surgery",
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.text().contains(r#""name":"thomas collins""#),
        "{}",
        r.text()
    );
    assert!(!r.text().contains("cardiology"));
    // Unknown resource in a known API: 404; known path, wrong method: 405.
    assert_eq!(
        request(mint.http, "GET", "/healthcare/nothing", &[], b"").status,
        404
    );
    assert_eq!(
        request(
            mint.http,
            "DELETE",
            "/healthcare/querydoctor/surgery",
            &[],
            b""
        )
        .status,
        405
    );
}

const DANGLING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<proxy xmlns="http://ws.apache.org/ns/synapse" name="Dangling">
    <target>
        <inSequence>
            <sequence key="doesNotExist"/>
        </inSequence>
    </target>
</proxy>
"#;

/// A key that names nothing deploys with a warning at its position and faults when it is
/// reached, as in WSO2 (wso2/micro-integrator `Soap11FaultDetailAsElementTestCase` sends to
/// `nonExistentEndpoint` and expects its fault sequence); `check --strict` refuses it.
#[test]
fn dangling_sequence_key_is_reported_with_position() {
    let home = TempHome::new("dangling");
    home.artifact("proxy-services", "Dangling.xml", DANGLING);
    let out = check_command(&home.root).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("proxy-services/Dangling.xml:5:13: warning: "),
        "{err}"
    );
    assert!(err.contains("doesNotExist"), "{err}");
    let out = check_command(&home.root).arg("--strict").output().unwrap();
    assert_eq!(out.status.code(), Some(65));
    let m = start_mint(&home.root, 1);
    let r = request(
        m.http,
        "POST",
        "/services/Dangling",
        &[("Content-Type", "application/xml")],
        b"<a/>",
    );
    assert_eq!(r.status, 500, "{r:?}");
}

#[test]
fn bad_flags_and_config_exit_64() {
    let out = Command::new(MINT)
        .args(["serve", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let home = TempHome::new("badconf");
    home.file("conf/deployment.toml", "[server]\nofset = 1\n");
    let out = check_command(&home.root).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("deployment.toml:2:1"));
}

#[test]
fn sample_home_checks_clean() {
    let out = check_command(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `mint check --strict`: a warning (a construct mint does not honour) is an error, named with its
/// position; without `--strict` the same home checks ok. The sample home is clean either way.
#[test]
fn check_strict_refuses_warnings() {
    let home = TempHome::new("strict");
    home.artifact(
        "api",
        "Warned.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Warned" context="/w">
    <resource methods="GET">
        <inSequence>
            <payloadFactory media-type="json" template-type="freemarker"><format>{}</format><args/></payloadFactory>
            <respond/>
        </inSequence>
    </resource>
</api>"#,
    );
    let out = check_command(&home.root).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = check_command(&home.root).arg("--strict").output().unwrap();
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("api/Warned.xml:4:13: "), "{err}");
    assert!(err.contains("FreeMarker"), "{err}");
    let sample = check_command(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .arg("--strict")
        .output()
        .unwrap();
    assert_eq!(
        sample.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sample.stderr)
    );
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let (_backend, bport) = start_backend();
    let home = TempHome::new("drain");
    let proxy = format!(
        r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="Slow"><target><endpoint><address uri="http://127.0.0.1:{bport}/delay/500"/></endpoint><outSequence><send/></outSequence></target></proxy>"#
    );
    home.artifact("proxy-services", "Slow.xml", &proxy);
    let mut mint = start_mint(&home.root, 1);
    let port = mint.http;
    let inflight = std::thread::spawn(move || {
        request(
            port,
            "POST",
            "/services/Slow",
            &[("Content-Type", "text/plain")],
            b"abc",
        )
    });
    std::thread::sleep(Duration::from_millis(150));
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(mint.proc.child.id() as i32, libc::SIGTERM) };
    let r = inflight.join().unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "abc"));
    let status = mint.proc.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn https_backend_through_the_client_pool() {
    // Backend: a second mint serving EchoAPI over HTTPS with a certificate made for the test.
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let backend = TempHome::new("tlsbackend");
    backend.file("conf/cert.pem", &ck.cert.pem());
    backend.file("conf/key.pem", &ck.signing_key.serialize_pem());
    backend.file(
        "conf/deployment.toml",
        "[tls]\ncert_file = \"conf/cert.pem\"\nkey_file = \"conf/key.pem\"\n",
    );
    backend.artifact(
        "api",
        "Echo.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Echo" context="/echo"><resource methods="POST"><inSequence><respond/></inSequence></resource></api>"#,
    );
    let b = start_mint(&backend.root, 1);
    // Front: trusts that certificate and proxies to https://localhost:PORT/echo.
    let front = TempHome::new("tlsfront");
    front.file("conf/backend.pem", &ck.cert.pem());
    front.file(
        "conf/deployment.toml",
        "[tls]\ntrust_file = \"conf/backend.pem\"\n",
    );
    front.artifact(
        "proxy-services",
        "ToTls.xml",
        &format!(
            r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="ToTls"><target><endpoint><address uri="https://localhost:{}/echo"/></endpoint><outSequence><send/></outSequence></target></proxy>"#,
            b.https
        ),
    );
    let f = start_mint(&front.root, 1);
    for _ in 0..3 {
        let r = request(
            f.http,
            "POST",
            "/services/ToTls",
            &[("Content-Type", "text/plain")],
            b"over tls",
        );
        assert_eq!((r.status, r.text().as_str()), (200, "over tls"));
    }
}

/// What happened to one request of the SIGTERM load test.
#[derive(Debug, PartialEq)]
enum Outcome {
    Answered,
    /// Connection refused or reset before any byte of a response: the listener was closed.
    NotAccepted,
    /// Some response bytes, but not a complete 200 with the body echoed.
    Broken(String),
}

fn one_request(port: u16, body: &[u8]) -> Outcome {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return Outcome::NotAccepted;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let head = format!(
        "POST /services/Slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    if s.write_all(head.as_bytes())
        .and_then(|_| s.write_all(body))
        .is_err()
    {
        return Outcome::NotAccepted;
    }
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    if got.is_empty() {
        return Outcome::NotAccepted;
    }
    let text = String::from_utf8_lossy(&got);
    if text.starts_with("HTTP/1.1 200") && text.ends_with(&*String::from_utf8_lossy(body)) {
        Outcome::Answered
    } else {
        Outcome::Broken(text.chars().take(200).collect())
    }
}

#[test]
fn sigterm_under_load_answers_every_accepted_request() {
    let (_backend, bport) = start_backend();
    let home = TempHome::new("drainload");
    home.artifact(
        "proxy-services",
        "Slow.xml",
        &format!(
            r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="Slow"><target><endpoint><address uri="http://127.0.0.1:{bport}/delay/150"/></endpoint><outSequence><send/></outSequence></target></proxy>"#
        ),
    );
    let mut mint = start_mint(&home.root, 2);
    let port = mint.http;
    let started = std::time::Instant::now();
    let sigterm_at = Duration::from_millis(600);
    let clients: Vec<_> = (0..24)
        .map(|i| {
            std::thread::spawn(move || {
                let mut log = Vec::new();
                loop {
                    let sent = started.elapsed();
                    if sent > sigterm_at + Duration::from_secs(2) {
                        return log;
                    }
                    let body = format!("client {i} at {}", sent.as_micros());
                    let outcome = one_request(port, body.as_bytes());
                    let stop = outcome == Outcome::NotAccepted && sent > sigterm_at;
                    log.push((sent, outcome));
                    if stop {
                        return log;
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(sigterm_at);
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(mint.proc.child.id() as i32, libc::SIGTERM) };
    let mut answered = 0;
    for c in clients {
        for (sent, outcome) in c.join().unwrap() {
            match outcome {
                Outcome::Answered => answered += 1,
                Outcome::Broken(text) => {
                    panic!("a request sent at {sent:?} got a broken answer: {text}")
                }
                // Sent well before SIGTERM: mint had accepted it and must have answered.
                Outcome::NotAccepted if sent + Duration::from_millis(50) < sigterm_at => {
                    panic!(
                        "a request sent at {sent:?}, before SIGTERM at {sigterm_at:?}, was dropped"
                    )
                }
                Outcome::NotAccepted => {}
            }
        }
    }
    assert!(answered >= 48, "only {answered} requests answered");
    let status = mint.proc.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Synapse's single-file configuration (`synapse-configs/default/synapse.xml`, the form of WSO2's
/// samples): its proxies, sequences, endpoints, local entries and APIs are deployed; its
/// `<registry>` is reported as ignored.
#[test]
fn a_single_file_synapse_xml_is_deployed() {
    let (_backend, bport) = start_backend();
    let h = TempHome::new("synapse-xml");
    h.file(
        "repository/deployment/server/synapse-configs/default/synapse.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://ws.apache.org/ns/synapse">
    <registry provider="org.wso2.carbon.mediation.registry.WSO2Registry"/>
    <localEntry key="greeting">hello</localEntry>
    <endpoint name="Echo"><address uri="http://127.0.0.1:{bport}/echo"/></endpoint>
    <sequence name="Tag"><header name="X-Greeting" scope="transport" expression="get-property('greeting')"/></sequence>
    <proxy name="SampleProxy" transports="http">
        <target>
            <inSequence><sequence key="Tag"/><send><endpoint key="Echo"/></send></inSequence>
            <outSequence><send/></outSequence>
        </target>
    </proxy>
    <api name="SampleApi" context="/sample">
        <resource methods="POST"><inSequence><sequence key="Tag"/><call><endpoint key="Echo"/></call><respond/></inSequence></resource>
    </api>
</definitions>"#
        ),
    );
    let (passed, text) = check_output(&h.root);
    assert!(passed, "{text}");
    assert!(
        text.contains("synapse.xml:3:5: warning: <registry> here is ignored"),
        "{text}"
    );
    let mint = start_mint(&h.root, 1);
    for path in ["/services/SampleProxy", "/sample"] {
        let r = request(
            mint.http,
            "POST",
            path,
            &[("Content-Type", "application/xml")],
            b"<ping/>",
        );
        assert_eq!((r.status, r.text()), (200, "<ping/>".to_string()), "{path}");
    }
}
