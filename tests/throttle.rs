//! End-to-end: the throttle mediator with WSO2's policies (both forms, inline, local entry and
//! registry), mint on two shards: the limits are the server's.

mod common;

use std::sync::{Arc, Barrier};

use common::*;

const POLICY_NS: &str = r#"xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" xmlns:throttle="http://www.wso2.org/products/wso2commons/throttle""#;

/// WSO2's onReject (from their tests): a SOAP fault saying `**Access Denied**`, answered.
const ON_REJECT: &str = r#"<onReject>
      <makefault response="true"><code xmlns:tns="http://schemas.xmlsoap.org/soap/envelope/" value="tns:Server"/><reason value="**Access Denied**"/></makefault>
      <respond/>
    </onReject>"#;

/// A MediatorThrottleAssertion with one IP caller rule.
fn rate_policy(id: &str, max: u32, extra_callers: &str) -> String {
    format!(
        r#"<wsp:Policy {POLICY_NS}>
  <throttle:MediatorThrottleAssertion>
    <wsp:Policy>
      <throttle:ID throttle:type="IP">{id}</throttle:ID>
      <wsp:Policy><throttle:Control><wsp:Policy>
        <throttle:MaximumCount>{max}</throttle:MaximumCount>
        <throttle:UnitTime>800000</throttle:UnitTime>
        <throttle:ProhibitTimePeriod wsp:Optional="true">1000</throttle:ProhibitTimePeriod>
      </wsp:Policy></throttle:Control></wsp:Policy>
    </wsp:Policy>
    {extra_callers}
  </throttle:MediatorThrottleAssertion>
</wsp:Policy>"#
    )
}

fn api(name: &str, policy: &str, backend: u16, path: &str) -> String {
    format!(
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="{name}" context="/{name}">
  <resource methods="POST GET">
    <inSequence>
      <throttle id="A">
        {policy}
        <onAccept><call><endpoint><address uri="http://127.0.0.1:{backend}{path}"/></endpoint></call><respond/></onAccept>
        {ON_REJECT}
      </throttle>
    </inSequence>
  </resource>
</api>"#
    )
}

fn post(port: u16, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut h = vec![("Content-Type", "application/xml")];
    h.extend_from_slice(headers);
    request(port, "POST", path, &h, b"<ping/>")
}

fn denied(r: &Resp) -> bool {
    r.text().contains("**Access Denied**")
}

#[test]
fn rates_concurrency_callers_and_policy_sources() {
    let (_backend, bport) = start_backend();
    let h = TempHome::new("throttle");
    h.file("registry/config/policy/throttle_policy.xml", &rate_policy("other", 4, ""))
        .artifact(
            "local-entries",
            "policy.xml",
            &format!(
                r#"<localEntry xmlns="http://ws.apache.org/ns/synapse" key="throttle_policy">{}</localEntry>"#,
                rate_policy("other", 3, "")
            ),
        )
        .artifact(
            "api",
            "Inline.xml",
            &api("Inline", &format!("<policy>{}</policy>", rate_policy("other", 4, "")), bport, "/echo"),
        )
        .artifact(
            "api",
            "Registry.xml",
            &api("Registry", r#"<policy key="conf:/policy/throttle_policy.xml"/>"#, bport, "/echo"),
        )
        .artifact(
            "api",
            "Local.xml",
            &api("Local", r#"<policy key="throttle_policy"/>"#, bport, "/echo"),
        )
        .artifact(
            "api",
            "Callers.xml",
            &api(
                "Callers",
                &format!(
                    "<policy>{}</policy>",
                    rate_policy(
                        "10.9.9.1",
                        1000,
                        r#"<wsp:Policy><throttle:ID throttle:type="IP">10.1.1.0-10.1.1.9</throttle:ID><wsp:Policy><throttle:Deny/></wsp:Policy></wsp:Policy>"#
                    )
                ),
                bport,
                "/echo",
            ),
        )
        .artifact(
            "api",
            "Slots.xml",
            &api(
                "Slots",
                &format!(
                    r#"<policy><wsp:Policy {POLICY_NS}><throttle:ThrottleAssertion><throttle:MaximumConcurrentAccess>2</throttle:MaximumConcurrentAccess></throttle:ThrottleAssertion></wsp:Policy></policy>"#
                ),
                bport,
                "/delay/700/x",
            ),
        );
    let mint = start_mint(&h.root, 2);
    let p = mint.http;

    // MaximumCount per window, for the server (new connections land on either shard): the
    // 5th request is refused, and so is every later one in the window.
    for (api, max) in [("Inline", 4), ("Registry", 4), ("Local", 3)] {
        for i in 0..max {
            let r = post(p, &format!("/{api}"), &[]);
            assert_eq!(r.status, 200, "{api} request {i}: {}", r.text());
            assert_eq!(r.text(), "<ping/>");
        }
        for _ in 0..3 {
            let r = post(p, &format!("/{api}"), &[]);
            assert!(denied(&r), "{api}: {} {}", r.status, r.text());
            assert_eq!(r.status, 500);
        }
    }

    // Callers by X-Forwarded-For: a denied range, an address with its own limit, and anyone
    // else (no `other`) is not throttled.
    assert!(denied(&post(
        p,
        "/Callers",
        &[("X-Forwarded-For", "10.1.1.5, 127.0.0.1")]
    )));
    assert_eq!(
        post(p, "/Callers", &[("X-Forwarded-For", "10.1.1.10")]).status,
        200
    );
    assert_eq!(
        post(p, "/Callers", &[("X-Forwarded-For", "10.9.9.1")]).status,
        200
    );
    for _ in 0..5 {
        assert_eq!(post(p, "/Callers", &[]).status, 200);
    }

    // MaximumConcurrentAccess 2: of 6 requests at once to a slow backend, 2 pass.
    let barrier = Arc::new(Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                denied(&post(p, "/Slots", &[]))
            })
        })
        .collect();
    let refused = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|d| *d)
        .count();
    assert_eq!(refused, 4, "of 6 concurrent requests, 2 pass");
    // The slots came back when the backend answered.
    for _ in 0..3 {
        assert_eq!(post(p, "/Slots", &[]).status, 200);
    }
}

#[test]
fn policies_mint_cannot_honour_or_that_are_broken() {
    let h = TempHome::new("throttle-broken");
    let seq = |name: &str, body: &str| {
        format!(
            r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="{name}">{body}</sequence>"#
        )
    };
    h.artifact("sequences", "NoId.xml", &seq("NoId", "<throttle/>"))
        .artifact(
            "sequences",
            "ZeroUnit.xml",
            &seq(
                "ZeroUnit",
                &format!(
                    "<throttle id=\"z\"><policy>{}</policy></throttle>",
                    rate_policy("other", 4, "").replace("800000", "0")
                ),
            ),
        )
        .artifact(
            "sequences",
            "Untyped.xml",
            &seq(
                "Untyped",
                &format!(
                    "<throttle id=\"u\"><policy>{}</policy></throttle>",
                    rate_policy("other", 4, "").replace(" throttle:type=\"IP\"", "")
                ),
            ),
        )
        .artifact(
            "sequences",
            "OtherNs.xml",
            &seq(
                "OtherNs",
                &format!(
                    "<throttle id=\"o\"><policy>{}</policy></throttle>",
                    rate_policy("other", 4, "").replace("wso2commons", "google")
                ),
            ),
        );
    let (passed, text) = check_output(&h.root);
    assert!(!passed, "{text}");
    for needle in [
        "NoId.xml:1:",
        "throttle needs an id",
        "ZeroUnit.xml:",
        "Unit Time cannot find",
        "Untyped.xml:",
        "needs a throttle:type",
        "OtherNs.xml:",
        "nothing is throttled",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
}
