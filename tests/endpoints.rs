//! End-to-end: failover and load-balance endpoints, and WSO2's suspension state machine.

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::*;

fn post(port: u16, path: &str) -> Resp {
    request(
        port,
        "POST",
        path,
        &[("Content-Type", "text/plain")],
        b"payload",
    )
}

#[test]
fn failover_keeps_answering_while_the_first_backend_is_down() {
    let (_backend, bport) = start_backend();
    let h = TempHome::new("failover");
    h.artifact(
        "endpoints",
        "FO.xml",
        &format!(
            r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="FO"><failover>
                <endpoint name="down"><address uri="http://127.0.0.1:9/x"/></endpoint>
                <endpoint name="up"><address uri="http://127.0.0.1:{bport}/x"/></endpoint>
            </failover></endpoint>"#
        ),
    );
    h.artifact(
        "proxy-services",
        "P.xml",
        r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="P"><target><endpoint key="FO"/><outSequence><send/></outSequence></target></proxy>"#,
    );
    let mint = start_mint(&h.root, 2);
    for _ in 0..10 {
        let r = post(mint.http, "/services/P");
        assert_eq!((r.status, r.text().as_str()), (200, "payload"));
        assert_eq!(r.header("x-backend-port"), Some(bport.to_string().as_str()));
    }
}

#[test]
fn loadbalance_round_robins_over_its_children() {
    let (_b1, p1) = start_backend();
    let (_b2, p2) = start_backend();
    let h = TempHome::new("lb");
    h.artifact(
        "proxy-services",
        "P.xml",
        &format!(
            r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="P"><target><endpoint><loadbalance algorithm="org.apache.synapse.endpoints.algorithms.RoundRobin">
                <endpoint><address uri="http://127.0.0.1:{p1}/x"/></endpoint>
                <endpoint><address uri="http://127.0.0.1:{p2}/x"/></endpoint>
            </loadbalance></endpoint><outSequence><send/></outSequence></target></proxy>"#
        ),
    );
    let mint = start_mint(&h.root, 1);
    let ports: Vec<String> = (0..6)
        .map(|_| {
            post(mint.http, "/services/P")
                .header("x-backend-port")
                .unwrap_or("")
                .to_string()
        })
        .collect();
    for pair in ports.chunks(2) {
        assert_ne!(pair[0], pair[1], "{ports:?}");
    }
    assert!(
        ports.contains(&p1.to_string()) && ports.contains(&p2.to_string()),
        "{ports:?}"
    );
}

#[test]
fn a_suspended_endpoint_is_retried_after_its_suspension() {
    let port = next_backend_port();
    let h = TempHome::new("suspend");
    h.artifact(
        "proxy-services",
        "P.xml",
        &format!(
            r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="P"><target>
                <endpoint name="S"><address uri="http://127.0.0.1:{port}/x">
                    <suspendOnFailure><initialDuration>400</initialDuration><progressionFactor>1</progressionFactor></suspendOnFailure>
                </address></endpoint>
                <outSequence><send/></outSequence>
                <faultSequence>
                    <property name="X-Error-Code" expression="get-property('ERROR_CODE')" scope="transport"/>
                    <property name="HTTP_SC" value="503" scope="axis2"/>
                    <respond/>
                </faultSequence>
            </target></proxy>"#
        ),
    );
    let mint = start_mint(&h.root, 2);
    // Backend down: connection refused, then the endpoint is suspended on every shard.
    let r = post(mint.http, "/services/P");
    assert_eq!((r.status, r.header("x-error-code")), (503, Some("101503")));
    for _ in 0..6 {
        let r = post(mint.http, "/services/P");
        assert_eq!(
            (r.status, r.header("x-error-code")),
            (503, Some("303001")),
            "suspended on every shard"
        );
    }
    // The backend comes back; once the suspension ends the next request goes through.
    let _backend = start_backend_on(port);
    std::thread::sleep(Duration::from_millis(450));
    let r = post(mint.http, "/services/P");
    assert_eq!((r.status, r.text().as_str()), (200, "payload"));
}

#[test]
fn timeout_with_discard_skips_the_fault_sequence() {
    let (_backend, bport) = start_backend();
    let h = TempHome::new("discard");
    h.artifact(
        "proxy-services",
        "P.xml",
        &format!(
            r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="P"><target>
                <endpoint><address uri="http://127.0.0.1:{bport}/delay/2000"><timeout><duration>200</duration><responseAction>discard</responseAction></timeout></address></endpoint>
                <outSequence><send/></outSequence>
                <faultSequence><property name="HTTP_SC" value="418" scope="axis2"/><respond/></faultSequence>
            </target></proxy>"#
        ),
    );
    let mint = start_mint(&h.root, 1);
    let r = post(mint.http, "/services/P");
    assert_eq!(r.status, 504, "no fault sequence (it would answer 418)");
}

#[test]
fn sticky_sessions_keep_a_client_on_the_backend_that_started_its_session() {
    let (_b1, p1) = start_backend();
    let (_b2, p2) = start_backend();
    let h = TempHome::new("sticky");
    h.artifact(
        "proxy-services",
        "P.xml",
        &format!(
            r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="P"><target><endpoint name="LB"><session type="http"/><loadbalance>
                <endpoint><address uri="http://127.0.0.1:{p1}/session"/></endpoint>
                <endpoint><address uri="http://127.0.0.1:{p2}/session"/></endpoint>
            </loadbalance></endpoint><outSequence><send/></outSequence></target></proxy>"#
        ),
    );
    // Two shards: the client's connections land on either, the session table is shared.
    let mint = start_mint(&h.root, 2);
    let first = post(mint.http, "/services/P");
    assert_eq!(first.status, 200);
    let cookie = first
        .header("set-cookie")
        .expect("the backend starts a session")
        .to_string();
    let pair = cookie.split(';').next().unwrap().to_string();
    let home_port = first.header("x-backend-port").unwrap().to_string();
    for _ in 0..8 {
        let r = request(
            mint.http,
            "POST",
            "/services/P",
            &[
                ("Content-Type", "text/plain"),
                ("Cookie", &format!("theme=dark; {pair}")),
            ],
            b"payload",
        );
        assert_eq!(r.header("x-backend-port"), Some(home_port.as_str()));
    }
    // Without the cookie: round robin over both.
    let ports: std::collections::HashSet<String> = (0..6)
        .map(|_| {
            post(mint.http, "/services/P")
                .header("x-backend-port")
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ports.len(), 2, "{ports:?}");
}

#[test]
fn template_endpoints_and_key_expressions_resolve() {
    let (_b1, p1) = start_backend();
    let (_b2, p2) = start_backend();
    let h = TempHome::new("eptemplate");
    h.artifact(
        "templates",
        "T.xml",
        r#"<template xmlns="http://ws.apache.org/ns/synapse" name="T">
    <parameter name="suffix"/>
    <endpoint name="$name"><address uri="$uri/$suffix"><timeout><duration>5000</duration></timeout></address></endpoint>
</template>"#,
    );
    h.artifact(
        "endpoints",
        "One.xml",
        &format!(
            r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="One" template="T" uri="http://127.0.0.1:{p1}"><parameter name="suffix" value="one"/></endpoint>"#
        ),
    );
    h.artifact(
        "endpoints",
        "Two.xml",
        &format!(
            r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="Two" template="T" uri="http://127.0.0.1:{p2}"><parameter name="suffix" value="two"/></endpoint>"#
        ),
    );
    h.artifact(
        "api",
        "A.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="A" context="/pick">
    <resource methods="POST" uri-template="/{which}">
        <inSequence>
            <property name="target" expression="$ctx:uri.var.which"/>
            <call><endpoint key-expression="get-property('target')"/></call>
            <respond/>
        </inSequence>
        <faultSequence>
            <property name="X-Error" expression="get-property('ERROR_MESSAGE')" scope="transport"/>
            <property name="HTTP_SC" value="502" scope="axis2"/>
            <respond/>
        </faultSequence>
    </resource>
</api>"#,
    );
    let mint = start_mint(&h.root, 1);
    for (which, port) in [("One", p1), ("Two", p2)] {
        let r = post(mint.http, &format!("/pick/{which}"));
        assert_eq!(r.status, 200, "{which}: {}", r.text());
        assert_eq!(r.header("x-backend-port"), Some(port.to_string().as_str()));
        assert_eq!(r.text(), "payload");
    }
    let r = post(mint.http, "/pick/Nope");
    assert_eq!(r.status, 502);
    assert_eq!(
        r.header("x-error"),
        Some("Reference to non-existent endpoint for key : Nope")
    );
}
