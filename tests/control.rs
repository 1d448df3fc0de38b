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

/// A backend that reports each request (path and body) on the channel, and answers after
/// `delay` with `<answer>PATH</answer>`.
fn recorder(delay: Duration) -> (u16, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let Some((path, _, body)) = read_request(&stream) else {
                    return;
                };
                let _ = tx.send((path.clone(), String::from_utf8_lossy(&body).to_string()));
                std::thread::sleep(delay);
                let answer = format!("<answer>{path}</answer>");
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
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
    let (path, body) = slow_rx.recv_timeout(wait).expect("the backend got it");
    assert_eq!(
        (path.as_str(), body.as_str()),
        ("/fire", "<order><id>42</id></order>")
    );

    // FORCE_SC_ACCEPTED: 202 at once; the backend's answer still runs the out-sequence.
    let (r, took) = post("/services/Accepted");
    assert_eq!(r.status, 202, "{}", r.text());
    assert!(
        took < Duration::from_millis(1000),
        "answered after {took:?}"
    );
    assert_eq!(slow_rx.recv_timeout(wait).unwrap().0, "/accepted");
    let (path, body) = after_rx.recv_timeout(wait).expect("the out-sequence ran");
    assert_eq!(
        (path.as_str(), body.as_str()),
        ("/after", "<answer>/accepted</answer>")
    );

    // An out-only call: the flow goes on at once with the message it had.
    let (r, took) = post("/notify");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "<queued>42</queued>");
    assert!(
        took < Duration::from_millis(1000),
        "answered after {took:?}"
    );
    assert_eq!(slow_rx.recv_timeout(wait).unwrap().0, "/notify");
}
