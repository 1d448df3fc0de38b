//! End-to-end: Synapse's fire-and-forget control properties. `OUT_ONLY` and `FORCE_SC_ACCEPTED`
//! answer the client 202 at once while the backend exchange goes on; an out-only `call` lets the
//! flow go on without waiting.

// Test threads may sleep: they are not shards.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

/// A backend that reports each request on the channel, and answers after `delay` with
/// `<answer>PATH</answer>`; a path under `/soapfault` gets a SOAP 1.1 fault (500).
fn recorder(delay: Duration) -> (u16, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let Some(req) = read_request(&stream) else {
                    return;
                };
                let path = req.target.clone();
                let _ = tx.send(req);
                std::thread::sleep(delay);
                let (status, ct, answer) = if path.contains("/soapfault") {
                    (
                        "500 Internal Server Error",
                        "text/xml",
                        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>no stock</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#.to_string(),
                    )
                } else {
                    (
                        "200 OK",
                        "application/xml",
                        format!("<answer>{path}</answer>"),
                    )
                };
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                        answer.len()
                    )
                    .as_bytes(),
                );
            });
        }
    });
    (port, rx)
}

#[test]
fn out_only_and_force_sc_accepted() {
    let (slow, slow_rx) = recorder(Duration::from_millis(1500));
    let (after, after_rx) = recorder(Duration::ZERO);
    let h = TempHome::new("control");
    h.artifact(
        "proxy-services",
        "FireAndForget.xml",
        &format!(
            r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="FireAndForget" transports="http">
  <target>
    <inSequence>
      <property name="FORCE_SC_ACCEPTED" value="true" scope="axis2"/>
      <property name="OUT_ONLY" value="true"/>
      <send><endpoint><address uri="http://127.0.0.1:{slow}/fire"/></endpoint></send>
    </inSequence>
  </target>
</proxy>"#
        ),
    )
    .artifact(
        "proxy-services",
        "Accepted.xml",
        &format!(
            r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="Accepted" transports="http">
  <target>
    <inSequence>
      <property name="FORCE_SC_ACCEPTED" value="true" scope="axis2"/>
      <send><endpoint><address uri="http://127.0.0.1:{slow}/accepted"/></endpoint></send>
    </inSequence>
    <outSequence>
      <send><endpoint><address uri="http://127.0.0.1:{after}/after"/></endpoint></send>
    </outSequence>
  </target>
</proxy>"#
        ),
    )
    .artifact(
        "api",
        "Notify.xml",
        &format!(
            r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Notify" context="/notify">
  <resource methods="POST">
    <inSequence>
      <property name="OUT_ONLY" value="true"/>
      <call><endpoint><address uri="http://127.0.0.1:{slow}/notify"/></endpoint></call>
      <property name="OUT_ONLY" value="false"/>
      <payloadFactory media-type="xml"><format><queued xmlns="">$1</queued></format>
        <args><arg expression="//id"/></args></payloadFactory>
      <respond/>
    </inSequence>
  </resource>
</api>"#
        ),
    );
    let mint = start_mint(&h.root, 1);
    let post = |path: &str| {
        let started = Instant::now();
        let r = request(
            mint.http,
            "POST",
            path,
            &[("Content-Type", "application/xml")],
            b"<order><id>42</id></order>",
        );
        (r, started.elapsed())
    };
    let wait = Duration::from_secs(5);

    // OUT_ONLY + FORCE_SC_ACCEPTED: 202 at once, the backend gets the message.
    let (r, took) = post("/services/FireAndForget");
    assert_eq!(r.status, 202, "{}", r.text());
    assert!(r.body.is_empty());
    assert!(
        took < Duration::from_millis(1000),
        "answered after {took:?}"
    );
    let got = slow_rx.recv_timeout(wait).expect("the backend got it");
    assert_eq!(got.target, "/fire");
    assert_eq!(got.body, b"<order><id>42</id></order>");

    // FORCE_SC_ACCEPTED: 202 at once; the backend's answer still runs the out-sequence.
    let (r, took) = post("/services/Accepted");
    assert_eq!(r.status, 202, "{}", r.text());
    assert!(
        took < Duration::from_millis(1000),
        "answered after {took:?}"
    );
    assert_eq!(slow_rx.recv_timeout(wait).unwrap().target, "/accepted");
    let got = after_rx.recv_timeout(wait).expect("the out-sequence ran");
    assert_eq!(got.target, "/after");
    assert_eq!(got.body, b"<answer>/accepted</answer>");

    // An out-only call: the flow goes on at once with the message it had.
    let (r, took) = post("/notify");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "<queued>42</queued>");
    assert!(
        took < Duration::from_millis(1000),
        "answered after {took:?}"
    );
    assert_eq!(slow_rx.recv_timeout(wait).unwrap().target, "/notify");
}

/// The outbound framing properties, TRANSPORT_HEADERS removal and FORCE_ERROR_ON_SOAP_FAULT.
#[test]
fn framing_headers_and_soap_faults() {
    let (backend, rx) = recorder(Duration::ZERO);
    let h = TempHome::new("control-framing");
    h.artifact(
        "api",
        "Framing.xml",
        &format!(
            r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Framing" context="/framing">
  <resource methods="POST" uri-template="/old">
    <inSequence>
      <property name="REST_URL_POSTFIX" action="remove" scope="axis2"/>
      <property name="FORCE_HTTP_1.0" value="true" scope="axis2"/>
      <property name="NO_KEEPALIVE" value="true" scope="axis2"/>
      <property name="POST_TO_URI" value="true" scope="axis2"/>
      <property name="TRANSPORT_HEADERS" action="remove" scope="axis2"/>
      <call><endpoint><address uri="http://127.0.0.1:{backend}/old"/></endpoint></call>
      <respond/>
    </inSequence>
  </resource>
  <resource methods="POST" uri-template="/length">
    <inSequence>
      <property name="REST_URL_POSTFIX" action="remove" scope="axis2"/>
      <property name="DISABLE_CHUNKING" value="true" scope="axis2"/>
      <call><endpoint><address uri="http://127.0.0.1:{backend}/length"/></endpoint></call>
      <respond/>
    </inSequence>
  </resource>
  <resource methods="POST" uri-template="/fault">
    <inSequence>
      <property name="REST_URL_POSTFIX" action="remove" scope="axis2"/>
      <property name="FORCE_ERROR_ON_SOAP_FAULT" value="true"/>
      <call><endpoint><failover>
        <endpoint><address uri="http://127.0.0.1:{backend}/soapfault"/></endpoint>
        <endpoint><address uri="http://127.0.0.1:{backend}/second"/></endpoint>
      </failover></endpoint></call>
      <respond/>
    </inSequence>
  </resource>
  <resource methods="POST" uri-template="/faultseq">
    <inSequence>
      <property name="REST_URL_POSTFIX" action="remove" scope="axis2"/>
      <property name="FORCE_ERROR_ON_SOAP_FAULT" value="true"/>
      <call><endpoint><address uri="http://127.0.0.1:{backend}/soapfault/only"/></endpoint></call>
      <respond/>
    </inSequence>
    <faultSequence>
      <payloadFactory media-type="xml"><format><failed xmlns="">$1</failed></format>
        <args><arg expression="get-property('ERROR_CODE')"/></args></payloadFactory>
      <property name="HTTP_SC" scope="axis2" value="502"/>
      <respond/>
    </faultSequence>
  </resource>
  <resource methods="POST" uri-template="/refused">
    <inSequence>
      <call><endpoint><address uri="http://127.0.0.1:9/nothing"/></endpoint></call>
      <respond/>
    </inSequence>
    <faultSequence>
      <payloadFactory media-type="text"><format>$1 $2</format>
        <args><arg expression="get-property('ERROR_CODE')"/><arg expression="get-property('ERROR_MESSAGE')"/></args></payloadFactory>
      <property name="HTTP_SC" scope="axis2" value="502"/>
      <respond/>
    </faultSequence>
  </resource>
  <resource methods="POST" uri-template="/passfault">
    <inSequence>
      <property name="REST_URL_POSTFIX" action="remove" scope="axis2"/>
      <call><endpoint><address uri="http://127.0.0.1:{backend}/soapfault/passed"/></endpoint></call>
      <respond/>
    </inSequence>
  </resource>
</api>"#
        ),
    );
    let mint = start_mint(&h.root, 1);
    let post = |path: &str, headers: &[(&str, &str)]| {
        let mut all = vec![("Content-Type", "application/xml")];
        all.extend_from_slice(headers);
        request(mint.http, "POST", path, &all, b"<order><id>42</id></order>")
    };
    let wait = Duration::from_secs(5);

    let r = post("/framing/old", &[("X-Secret", "s")]);
    assert_eq!(r.status, 200, "{}", r.text());
    let got = rx.recv_timeout(wait).unwrap();
    assert_eq!(got.target, format!("http://127.0.0.1:{backend}/old"));
    assert_eq!(got.version, "HTTP/1.0");
    assert_eq!(got.header("connection"), Some("close"));
    assert_eq!(got.header("content-length"), Some("26"));
    assert_eq!(got.header("x-secret"), None, "TRANSPORT_HEADERS removed");

    // A chunked client body goes on with its Content-Length.
    let mut s = connect(mint.http);
    s.write_all(b"POST /framing/length HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n<a>1<\r\n3\r\n/a>\r\n0\r\n\r\n").unwrap();
    let r = read_response(&mut std::io::BufReader::new(s), false).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let got = rx.recv_timeout(wait).unwrap();
    assert_eq!(got.header("content-length"), Some("8"));
    assert_eq!(got.header("transfer-encoding"), None);
    assert_eq!(got.body, b"<a>1</a>");

    // A SOAP fault fails the endpoint: the failover goes on to the next one...
    let r = post("/framing/fault", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "<answer>/second</answer>");
    assert_eq!(rx.recv_timeout(wait).unwrap().target, "/soapfault");
    assert_eq!(rx.recv_timeout(wait).unwrap().target, "/second");
    // ...and with no other, the fault sequence runs on the fault response (a SOAP message:
    // the payload goes in its body), with ERROR_CODE 500000, as in Synapse.
    let r = post("/framing/faultseq", &[]);
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.text()
            .contains("<soapenv:Body><failed>500000</failed></soapenv:Body>"),
        "{}",
        r.text()
    );
    rx.recv_timeout(wait).unwrap();
    // ERROR_MESSAGE in MI's words for a refused connection.
    let r = post("/framing/refused", &[]);
    assert_eq!(
        (r.status, r.text()),
        (502, "101503 Error connecting to the back end".to_string())
    );
    // Without the property the fault is a response like any other.
    let r = post("/framing/passfault", &[]);
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("no stock"), "{}", r.text());
}
