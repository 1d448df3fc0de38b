//! The send path in-process: compiled endpoints, a scripted upstream and a manual clock.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::BodyExt;

use super::mock::{program, run_local, Answer, MockUpstream};
use super::*;
use crate::program::suspension::{ACTIVE, SUSPENDED, TIMEOUT};

const NS: &str = r#"xmlns="http://ws.apache.org/ns/synapse""#;

/// A message as the engine would hand it over, without the engine.
#[derive(Default)]
struct TestMessage {
    headers: HeaderMap,
    body: Body,
    props: HashMap<String, String>,
    to: Option<String>,
    postfix: Option<String>,
    response: Option<Response<Streamed>>,
}

impl TestMessage {
    fn post(body: &str) -> TestMessage {
        TestMessage {
            body: Body::full(Bytes::copy_from_slice(body.as_bytes())),
            ..TestMessage::default()
        }
    }

    fn cookie(mut self, value: &str) -> TestMessage {
        self.headers
            .insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        self
    }

    /// The response's status and body text.
    async fn answer(&mut self) -> (StatusCode, String) {
        let resp = self.response.take().expect("a response");
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

impl Message for &mut TestMessage {
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    async fn buffer(&mut self) -> Result<Bytes> {
        let b = std::mem::take(&mut self.body)
            .collect()
            .await
            .map_err(|e| Error::mediation("test body").with_cause(e))?
            .to_bytes();
        self.body = Body::full(b.clone());
        Ok(b)
    }

    fn reset(&mut self, headers: HeaderMap, body: Bytes) {
        self.headers = headers;
        self.body = Body::full(body);
    }

    async fn eval(&mut self, expr: &Value) -> Result<String> {
        match expr {
            Value::Literal(s) => Ok(s.clone()),
            Value::Property { name, .. } => Ok(self.props.get(name).cloned().unwrap_or_default()),
            other => Err(Error::mediation(format!(
                "test message cannot evaluate {other:?}"
            ))),
        }
    }

    async fn set_property(&mut self, name: &str, value: &Value, _scope: Scope) -> Result<()> {
        let v = self.eval(value).await?;
        self.props.insert(name.to_string(), v);
        Ok(())
    }

    fn property(&self, name: &str) -> Option<String> {
        self.props.get(name).cloned()
    }

    fn rest_url_postfix(&self) -> Option<&str> {
        self.postfix.as_deref()
    }

    async fn to_address(&mut self) -> Option<String> {
        self.to.clone()
    }

    async fn outbound(
        &mut self,
        _format: Option<crate::program::endpoint::Format>,
    ) -> Result<Outbound> {
        Ok(Outbound {
            method: Method::POST,
            headers: std::mem::take(&mut self.headers),
            body: std::mem::take(&mut self.body),
            soap_action: None,
            content_type: Some("text/plain".into()),
            query: None,
            framing: Default::default(),
        })
    }

    fn accept(&mut self, resp: Response<Streamed>) {
        self.headers = resp.headers().clone();
        self.response = Some(resp);
    }
}

/// A program, the mock behind it, and a manual clock at 1 000 000 ms.
struct Rig {
    program: crate::program::Program,
    upstream: Rc<MockUpstream>,
    backends: Backends,
}

impl Rig {
    fn new(files: &[&str]) -> Rig {
        let upstream = MockUpstream::new();
        let backends = Backends::new(
            crate::endpoint::Upstreams::other(upstream.clone()),
            Clock::manual(1_000_000),
            0,
            Duration::from_secs(5),
            Duration::from_secs(5),
        );
        Rig {
            program: program(files),
            upstream,
            backends,
        }
    }

    fn id(&self, name: &str) -> EpId {
        self.program.named_endpoints[name]
    }

    fn state(&self, name: &str) -> u8 {
        self.program.endpoints[self.id(name)].state.state()
    }

    async fn call(&self, name: &str, msg: &mut TestMessage) -> Result<()> {
        self.backends
            .call(&self.program, msg, Some(self.id(name)))
            .await
    }

    /// Calls `name` with a small body; the authority that answered, or the error kind.
    async fn hit(&self, name: &str) -> std::result::Result<String, ErrorKind> {
        let mut msg = TestMessage::post("x");
        let before = self.upstream.requests().len();
        match self.call(name, &mut msg).await {
            Ok(()) => Ok(self.upstream.requests()[before..]
                .last()
                .map(|r| r.authority.clone())
                .unwrap_or_default()),
            Err(e) => Err(e.kind),
        }
    }
}

fn address(name: &str, uri: &str, qos: &str) -> String {
    format!(r#"<endpoint {NS} name="{name}"><address uri="{uri}">{qos}</address></endpoint>"#)
}

#[test]
fn a_leaf_sends_the_message_and_the_streamed_response_becomes_the_message() {
    run_local(async {
        let ep = address("Echo", "http://echo:8080/svc?x=1", "");
        let rig = Rig::new(&[&ep]);
        rig.upstream
            .push("echo:8080", Answer::ok("").chunked(&["hel", "lo"]));
        let mut msg = TestMessage::post("<a/>");
        msg.postfix = Some("/more?y=2".into());
        rig.call("Echo", &mut msg).await.unwrap();
        assert_eq!(msg.answer().await, (StatusCode::OK, "hello".to_string()));
        let sent = &rig.upstream.requests()[0];
        assert_eq!(sent.uri, "/svc/more?y=2&x=1");
        assert_eq!(sent.method, Method::POST);
        assert_eq!(sent.headers[header::HOST], "echo:8080");
        assert_eq!(sent.body, "<a/>");
    });
}

#[test]
fn the_endpoint_timeout_fails_the_exchange_with_101504_and_discard_is_told_apart() {
    run_local(async {
        let slow = address(
            "Slow",
            "http://slow:80/",
            "<timeout><duration>20</duration><responseAction>fault</responseAction></timeout>",
        );
        let dropped = address(
            "Dropped",
            "http://slow:80/",
            "<timeout><duration>20</duration><responseAction>discard</responseAction></timeout>",
        );
        let rig = Rig::new(&[&slow, &dropped]);
        rig.upstream.always("slow:80", Answer::Hang);
        let e = rig
            .call("Slow", &mut TestMessage::post("x"))
            .await
            .unwrap_err();
        assert_eq!((e.kind, e.synapse_code()), (ErrorKind::Timeout, 101504));
        assert!(!e.is_discarded());
        let e = rig
            .call("Dropped", &mut TestMessage::post("x"))
            .await
            .unwrap_err();
        assert!(e.is_discarded(), "{e}");
    });
}

#[test]
fn injected_failures_carry_their_synapse_codes() {
    run_local(async {
        let ep = address("E", "http://b:80/", "");
        let rig = Rig::new(&[&ep]);
        for (kind, code) in [
            (ErrorKind::ConnectionClosed, 101505),
            (ErrorKind::Protocol, 101506),
        ] {
            rig.program.endpoints[rig.id("E")].state.on_success();
            rig.upstream.push("b:80", Answer::Fail(kind));
            let e = rig
                .call("E", &mut TestMessage::post("x"))
                .await
                .unwrap_err();
            assert_eq!((e.kind, e.synapse_code()), (kind, code));
        }
        // Nothing scripted: connection refused.
        rig.program.endpoints[rig.id("E")].state.on_success();
        assert_eq!(rig.hit("E").await, Err(ErrorKind::ConnectFailed));
    });
}

#[test]
fn failover_tries_the_children_in_order_and_resends_the_same_body() {
    run_local(async {
        let fo = format!(
            r#"<endpoint {NS} name="FO"><failover>
                <endpoint><address uri="http://a:80/"/></endpoint>
                <endpoint><address uri="http://b:80/"/></endpoint>
                <endpoint><address uri="http://c:80/"/></endpoint>
            </failover></endpoint>"#
        );
        let rig = Rig::new(&[&fo]);
        rig.upstream
            .push("a:80", Answer::Fail(ErrorKind::ConnectFailed));
        rig.upstream
            .push("b:80", Answer::Fail(ErrorKind::ConnectionClosed));
        rig.upstream.always("c:80", Answer::ok("from c"));
        let mut msg = TestMessage::post("payload");
        rig.call("FO", &mut msg).await.unwrap();
        assert_eq!(msg.answer().await.1, "from c");
        let sent = rig.upstream.requests();
        assert_eq!(rig.upstream.authorities(), ["a:80", "b:80", "c:80"]);
        assert!(sent.iter().all(|r| r.body == "payload"));
        // a and b are suspended now (WSO2's default: every error suspends for 30 s): the next
        // message goes straight to c.
        rig.upstream.clear();
        assert_eq!(rig.hit("FO").await, Ok("c:80".into()));
        assert_eq!(rig.upstream.authorities(), ["c:80"]);
        // An HTTP error status is an answer, not a transport failure: no failover.
        rig.upstream.push("c:80", Answer::status(500, "boom"));
        let mut msg = TestMessage::post("x");
        rig.call("FO", &mut msg).await.unwrap();
        assert_eq!(msg.answer().await.0, StatusCode::INTERNAL_SERVER_ERROR);
    });
}

#[test]
fn failover_with_every_child_down_fails_with_the_last_error_then_none_ready() {
    run_local(async {
        let fo = format!(
            r#"<endpoint {NS} name="FO"><failover>
                <endpoint><address uri="http://a:80/"/></endpoint>
                <endpoint><address uri="http://b:80/"/></endpoint>
            </failover></endpoint>"#
        );
        let rig = Rig::new(&[&fo]);
        let mut msg = TestMessage::post("x");
        let e = rig.call("FO", &mut msg).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConnectFailed);
        // Both children are suspended: nothing is sent.
        rig.upstream.clear();
        let e = rig
            .call("FO", &mut TestMessage::post("x"))
            .await
            .unwrap_err();
        assert_eq!((e.kind, e.synapse_code()), (ErrorKind::NoneReady, 303000));
        assert!(rig.upstream.requests().is_empty());
        // After the 30 s suspension, the children are tried again.
        rig.backends.clock.advance(30_000);
        rig.upstream.always("b:80", Answer::ok("b"));
        assert_eq!(rig.hit("FO").await, Ok("b:80".into()));
    });
}

#[test]
fn round_robin_rotates_over_the_children_and_skips_suspended_ones() {
    run_local(async {
        let lb = format!(
            r#"<endpoint {NS} name="LB"><loadbalance>
                <endpoint name="A"><address uri="http://a:80/"/></endpoint>
                <endpoint name="B"><address uri="http://b:80/"/></endpoint>
                <endpoint name="C"><address uri="http://c:80/"/></endpoint>
            </loadbalance></endpoint>"#
        );
        let rig = Rig::new(&[&lb]);
        for a in ["a:80", "b:80", "c:80"] {
            rig.upstream.always(a, Answer::ok(a));
        }
        let mut got = Vec::new();
        for _ in 0..6 {
            got.push(rig.hit("LB").await.unwrap());
        }
        assert_eq!(got, ["a:80", "b:80", "c:80", "a:80", "b:80", "c:80"]);
        // b fails once: with failover (the default), the message goes on to c; b is suspended
        // and skipped until its suspension ends.
        rig.upstream
            .push("b:80", Answer::Fail(ErrorKind::ConnectFailed));
        let _ = rig.hit("LB").await; // a
        assert_eq!(rig.hit("LB").await, Ok("c:80".into()));
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(rig.hit("LB").await.unwrap());
        }
        assert!(!got.contains(&"b:80".to_string()), "{got:?}");
        rig.backends.clock.advance(30_000);
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(rig.hit("LB").await.unwrap());
        }
        assert!(got.contains(&"b:80".to_string()), "{got:?}");
    });
}

#[test]
fn loadbalance_without_failover_returns_the_childs_error() {
    run_local(async {
        let lb = format!(
            r#"<endpoint {NS} name="LB"><loadbalance failover="false">
                <endpoint><address uri="http://a:80/"/></endpoint>
                <endpoint><address uri="http://b:80/"/></endpoint>
            </loadbalance></endpoint>"#
        );
        let rig = Rig::new(&[&lb]);
        rig.upstream.always("b:80", Answer::ok("b"));
        assert_eq!(rig.hit("LB").await, Err(ErrorKind::ConnectFailed));
        assert_eq!(rig.upstream.authorities(), ["a:80"]);
    });
}

#[test]
fn weighted_round_robin_sends_in_proportion_to_the_weights() {
    run_local(async {
        let lb = format!(
            r#"<endpoint {NS} name="LB"><loadbalance algorithm="org.apache.synapse.endpoints.algorithms.WeightedRoundRobin">
                <endpoint name="A"><address uri="http://a:80/"/><property name="loadbalance.weight" value="3"/></endpoint>
                <endpoint name="B"><address uri="http://b:80/"/><property name="loadbalance.weight" value="1"/></endpoint>
            </loadbalance></endpoint>"#
        );
        let rig = Rig::new(&[&lb]);
        rig.upstream.always("a:80", Answer::ok("a"));
        rig.upstream.always("b:80", Answer::ok("b"));
        let mut got = Vec::new();
        for _ in 0..8 {
            got.push(rig.hit("LB").await.unwrap());
        }
        assert_eq!(
            got,
            ["a:80", "a:80", "a:80", "b:80", "a:80", "a:80", "a:80", "b:80"]
        );
    });
}

#[test]
fn sticky_sessions_bind_a_cookie_to_the_child_that_set_it_without_failover() {
    run_local(async {
        let lb = format!(
            r#"<endpoint {NS} name="LB"><session type="http"/><loadbalance>
                <endpoint><address uri="http://a:80/"/></endpoint>
                <endpoint><address uri="http://b:80/"/></endpoint>
            </loadbalance></endpoint>"#
        );
        let rig = Rig::new(&[&lb]);
        rig.upstream.always("a:80", Answer::ok("a"));
        rig.upstream.push(
            "b:80",
            Answer::ok("b").header("set-cookie", "JSESSIONID=s1; Path=/"),
        );
        rig.upstream.always("b:80", Answer::ok("b"));
        assert_eq!(rig.hit("LB").await, Ok("a:80".into()));
        assert_eq!(rig.hit("LB").await, Ok("b:80".into()), "starts session s1");
        for _ in 0..3 {
            let mut msg = TestMessage::post("x").cookie("other=1; JSESSIONID=s1");
            rig.call("LB", &mut msg).await.unwrap();
            assert_eq!(msg.answer().await.1, "b");
        }
        // Without the cookie, round robin goes on.
        assert_eq!(rig.hit("LB").await, Ok("a:80".into()));
        // The bound child fails: the session's message is not failed over.
        rig.upstream
            .push("b:80", Answer::Fail(ErrorKind::ConnectionClosed));
        let mut msg = TestMessage::post("x").cookie("JSESSIONID=s1");
        let e = rig.call("LB", &mut msg).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConnectionClosed);
    });
}

#[test]
fn suspension_on_failure_grows_by_the_progression_factor_up_to_the_maximum() {
    run_local(async {
        let ep = address(
            "E",
            "http://e:80/",
            "<suspendOnFailure><errorCodes>101503</errorCodes><initialDuration>1000</initialDuration>\
             <progressionFactor>2</progressionFactor><maximumDuration>3000</maximumDuration></suspendOnFailure>",
        );
        let rig = Rig::new(&[&ep]);
        let clock = rig.backends.clock.clone();
        // Nothing scripted for e:80: refused (101503), a suspending error.
        assert_eq!(rig.hit("E").await, Err(ErrorKind::ConnectFailed));
        assert_eq!(rig.state("E"), SUSPENDED);
        // 1000 ms, then × 2 = 2000, then 4000 capped at 3000, and 3000 again.
        for wait in [1000, 2000, 3000, 3000] {
            rig.upstream.clear();
            clock.advance(wait - 1);
            assert_eq!(
                rig.hit("E").await,
                Err(ErrorKind::Suspended),
                "before {wait} ms"
            );
            assert!(
                rig.upstream.requests().is_empty(),
                "a suspended leaf sends nothing"
            );
            clock.advance(1);
            // The retry goes out, fails, and suspends for longer.
            assert_eq!(
                rig.hit("E").await,
                Err(ErrorKind::ConnectFailed),
                "after {wait} ms"
            );
            assert_eq!(rig.upstream.requests().len(), 1);
        }
        // A success ends the suspension and resets the progression.
        clock.advance(3000);
        rig.upstream.push("e:80", Answer::ok("up"));
        assert_eq!(rig.hit("E").await, Ok("e:80".into()));
        assert_eq!(rig.state("E"), ACTIVE);
        assert_eq!(rig.hit("E").await, Err(ErrorKind::ConnectFailed));
        clock.advance(999);
        assert_eq!(rig.hit("E").await, Err(ErrorKind::Suspended));
        clock.advance(1);
        assert_eq!(rig.hit("E").await, Err(ErrorKind::ConnectFailed));
    });
}

#[test]
fn timeouts_mark_for_suspension_retry_after_the_delay_then_suspend() {
    run_local(async {
        let ep = address(
            "E",
            "http://e:80/",
            "<markForSuspension><errorCodes>101504</errorCodes><retriesBeforeSuspension>2</retriesBeforeSuspension>\
             <retryDelay>500</retryDelay></markForSuspension>\
             <suspendOnFailure><initialDuration>4000</initialDuration></suspendOnFailure>",
        );
        let rig = Rig::new(&[&ep]);
        let clock = rig.backends.clock.clone();
        // ACTIVE → TIMEOUT (2 retries left → 1).
        rig.upstream.push("e:80", Answer::Fail(ErrorKind::Timeout));
        assert_eq!(rig.hit("E").await, Err(ErrorKind::Timeout));
        assert_eq!(rig.state("E"), TIMEOUT);
        assert_eq!(
            rig.hit("E").await,
            Err(ErrorKind::Suspended),
            "within retryDelay"
        );
        clock.advance(500);
        // Second timeout: TIMEOUT, 0 retries left.
        rig.upstream.push("e:80", Answer::Fail(ErrorKind::Timeout));
        assert_eq!(rig.hit("E").await, Err(ErrorKind::Timeout));
        assert_eq!(rig.state("E"), TIMEOUT);
        clock.advance(500);
        // Third: no retries left → SUSPENDED for the initial duration.
        rig.upstream.push("e:80", Answer::Fail(ErrorKind::Timeout));
        assert_eq!(rig.hit("E").await, Err(ErrorKind::Timeout));
        assert_eq!(rig.state("E"), SUSPENDED);
        clock.advance(3999);
        assert_eq!(rig.hit("E").await, Err(ErrorKind::Suspended));
        clock.advance(1);
        rig.upstream.push("e:80", Answer::ok("back"));
        assert_eq!(rig.hit("E").await, Ok("e:80".into()));
        assert_eq!(rig.state("E"), ACTIVE);
    });
}

#[test]
fn http_templates_expand_and_default_endpoints_send_to_the_to_address() {
    run_local(async {
        let named = address("Named", "http://named:80/n", "");
        let tpl = format!(
            r#"<endpoint {NS} name="Tpl"><http uri-template="http://t:80/items/{{uri.var.id}}" method="get"/></endpoint>"#
        );
        let rig = Rig::new(&[&named, &tpl]);
        rig.upstream.always("named:80", Answer::ok("n"));
        rig.upstream.always("t:80", Answer::ok("t"));
        let mut msg = TestMessage::post("");
        msg.props.insert("uri.var.id".into(), "42".into());
        rig.call("Tpl", &mut msg).await.unwrap();
        let sent = &rig.upstream.requests()[0];
        assert_eq!(
            (&sent.method, sent.uri.to_string()),
            (&Method::GET, "/items/42".into())
        );
        // A default endpoint sends to the message's To address.
        let mut msg = TestMessage::post("x");
        msg.to = Some("http://named:80/to".into());
        rig.backends
            .call(&rig.program, &mut msg, None)
            .await
            .unwrap();
        assert_eq!(rig.upstream.requests()[1].uri, "/to");
        let mut msg = TestMessage::post("x");
        let e = rig
            .backends
            .call(&rig.program, &mut msg, None)
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Mediation);
    });
}

#[test]
fn the_soap_action_and_content_type_go_as_set_once_each() {
    let out = |pairs: &[(&'static str, &'static str)]| {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.append(*k, HeaderValue::from_static(v));
        }
        Outbound {
            method: Method::POST,
            headers,
            body: Body::full("x"),
            soap_action: Some("urn:a".into()),
            content_type: Some("text/xml".into()),
            query: None,
            framing: Framing::default(),
        }
    };
    let addr = Address::parse("http://127.0.0.1:9/s").unwrap();
    let sent = |pairs| {
        let req = outgoing_request(out(pairs), &addr, None).unwrap();
        let all = |n: &str| -> Vec<String> {
            req.headers()
                .get_all(n)
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect()
        };
        (all("soapaction"), all("content-type"), all("host"))
    };
    let want = (
        vec!["\"urn:a\"".to_string()],
        vec!["text/xml".to_string()],
        vec!["127.0.0.1:9".to_string()],
    );
    // As the client sent them: kept.
    assert_eq!(
        sent(&[("soapaction", "\"urn:a\""), ("content-type", "text/xml")]),
        want
    );
    // Unquoted, repeated, other or missing: set.
    assert_eq!(sent(&[("soapaction", "urn:a"), ("host", "client")]), want);
    assert_eq!(
        sent(&[
            ("soapaction", "\"urn:a\""),
            ("soapaction", "\"urn:a\""),
            ("content-type", "text/xml"),
            ("content-type", "text/xml"),
        ]),
        want
    );
    assert_eq!(
        sent(&[("soapaction", "\"urn:b\""), ("content-type", "text/plain")]),
        want
    );
}
