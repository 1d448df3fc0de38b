//! End-to-end: operations. Readiness follows the artifacts on disk (200 → 500 → 200), a new API
//! file is served without a restart while another API is under load, the Prometheus endpoint
//! counts what was just served, configuration values come from the environment, and registry
//! sequences follow their files.

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

const ECHO_API: &str = r#"<api xmlns="http://ws.apache.org/ns/synapse" name="NAME" context="/CTX">
    <resource methods="POST GET">
        <inSequence>
            <property name="X-Api" value="NAME" scope="transport"/>
            <respond/>
        </inSequence>
    </resource>
</api>"#;

fn echo_api(name: &str, ctx: &str) -> String {
    ECHO_API.replace("NAME", name).replace("CTX", ctx)
}

/// A home that polls its folders every 100 ms.
fn hot_home(name: &str) -> TempHome {
    let h = TempHome::new(name);
    h.file(
        "conf/deployment.toml",
        "[server]\nhot_deployment = true\nhot_deployment_interval_ms = 100\n",
    );
    h
}

fn internal(m: &Mint, path: &str) -> Resp {
    request(9191 + m.offset, "GET", path, &[], b"")
}

#[test]
fn readiness_follows_a_broken_artifact_and_its_fix() {
    let h = hot_home("healthz");
    h.artifact("api", "A.xml", &echo_api("A", "a"));
    let m = start_mint(&h.root, 1);
    let r = internal(&m, "/healthz");
    assert_eq!(
        (r.status, r.text()),
        (200, r#"{"status":"ready"}"#.to_string())
    );
    assert_eq!(internal(&m, "/liveness").status, 200);

    // Broken: an unclosed element. The old configuration keeps serving; readiness says why.
    h.artifact(
        "api",
        "B.xml",
        "<api xmlns=\"http://ws.apache.org/ns/synapse\" name=\"B\" context=\"/b\">\n  <resource>",
    );
    assert!(eventually(Duration::from_secs(5), || internal(
        &m, "/healthz"
    )
    .status
        == 500));
    let r = internal(&m, "/healthz");
    assert!(r.text().contains("B.xml:"), "{}", r.text());
    assert!(r.text().contains("not ready"), "{}", r.text());
    assert_eq!(request(m.http, "POST", "/a", &[], b"<x/>").status, 200);

    // Fixed: ready again, and the fixed API is served.
    h.artifact("api", "B.xml", &echo_api("B", "b"));
    assert!(eventually(Duration::from_secs(5), || internal(
        &m, "/healthz"
    )
    .status
        == 200));
    let r = request(m.http, "POST", "/b", &[], b"<x/>");
    assert_eq!((r.status, r.header("x-api")), (200, Some("B")));

    // Removed: gone without a restart (main answers 404).
    std::fs::remove_file(
        h.root
            .join("repository/deployment/server/synapse-configs/default/api/B.xml"),
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || request(
        m.http,
        "POST",
        "/b",
        &[],
        b"<x/>"
    )
    .status
        == 404));
}

#[test]
fn a_new_api_is_served_without_restart_while_another_is_under_load() {
    let h = hot_home("hotload");
    h.artifact("api", "Busy.xml", &echo_api("Busy", "busy"));
    let m = start_mint(&h.root, 2);
    let port = m.http;
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
            std::thread::spawn(move || {
                // Keep-alive connections, as a load generator would use.
                let mut conn = std::io::BufReader::new(connect(port));
                while !stop.load(Ordering::Relaxed) {
                    use std::io::Write;
                    let req = b"POST /busy HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n<x/>";
                    let good = conn.get_mut().write_all(req).is_ok()
                        && read_response(&mut conn, false)
                            .is_some_and(|r| r.status == 200 && r.header("x-api") == Some("Busy"));
                    if good {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        conn = std::io::BufReader::new(connect(port));
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // Several redeployments while the load runs: a new API, then edits of it.
    h.artifact("api", "Fresh.xml", &echo_api("Fresh", "fresh"));
    assert!(eventually(Duration::from_secs(5), || {
        request(port, "POST", "/fresh", &[], b"<x/>").header("x-api") == Some("Fresh")
    }));
    for i in 0..3 {
        h.artifact("api", "Fresh.xml", &echo_api(&format!("Fresh{i}"), "fresh"));
        let want = format!("Fresh{i}");
        assert!(eventually(Duration::from_secs(5), || {
            request(port, "POST", "/fresh", &[], b"<x/>").header("x-api") == Some(&want)
        }));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(ok > 100, "only {ok} requests went through");
    assert_eq!(
        failed,
        0,
        "{failed} of {} requests failed during redeployments",
        ok + failed
    );
    let metrics = internal(&m, "/metric-service/metrics").text();
    let deployed = metric(&metrics, "mint_deployments_total{result=\"success\"}");
    assert!(deployed >= 5.0, "{deployed} deployments\n{metrics}");
}

/// The value of one sample line of a Prometheus text exposition.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[test]
fn metrics_count_the_requests_just_made() {
    let (_backend, bport) = start_backend();
    let h = TempHome::new("metrics");
    h.artifact("api", "M.xml", &echo_api("M", "m"));
    h.artifact(
        "proxy-services",
        "P.xml",
        &format!(
            r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="P" transports="http">
    <target><endpoint name="EchoBackend"><address uri="http://127.0.0.1:{bport}/echo"/></endpoint>
        <outSequence><send/></outSequence></target>
</proxy>"#
        ),
    );
    let m = start_mint(&h.root, 2);
    for _ in 0..5 {
        assert_eq!(request(m.http, "POST", "/m", &[], b"<x/>").status, 200);
    }
    for _ in 0..3 {
        let r = request(
            m.http,
            "POST",
            "/services/P",
            &[("Content-Type", "text/xml")],
            b"<x/>",
        );
        assert_eq!(r.status, 200);
    }
    let r = internal(&m, "/metric-service/metrics");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let t = r.text();
    let api = "{service_name=\"M\",service_type=\"api\",invocation_url=\"/m\"}";
    assert_eq!(
        metric(
            &t,
            &format!("wso2_integration_api_request_count_total{api}")
        ),
        5.0
    );
    assert_eq!(
        metric(
            &t,
            &format!("wso2_integration_api_latency_seconds_count{api}")
        ),
        5.0
    );
    let proxy = "{service_name=\"P\",service_type=\"proxy\"}";
    assert_eq!(
        metric(
            &t,
            &format!("wso2_integration_proxy_request_count_total{proxy}")
        ),
        3.0
    );
    assert_eq!(
        metric(
            &t,
            &format!("wso2_integration_proxy_request_count_error_total{proxy}")
        ),
        0.0
    );
    assert_eq!(
        metric(
            &t,
            "mint_endpoint_request_count_total{endpoint=\"EchoBackend\"}"
        ),
        3.0
    );
    let conns: f64 = (0..2)
        .map(|s| metric(&t, &format!("mint_http_connections_total{{shard=\"{s}\"}}")))
        .sum();
    assert!(conns >= 8.0, "{conns} connections counted");
    assert!(
        t.contains("wso2_integration_service_up{service_name=\"M\",service_type=\"api\"} "),
        "{t}"
    );
    assert!(
        t.contains("wso2_integration_server_up{host=\"localhost\",port=\""),
        "{t}"
    );
    // Every sample line parses as `name{labels} value`.
    for l in t.lines().filter(|l| !l.starts_with('#')) {
        let (_, v) = l.rsplit_once(' ').unwrap();
        assert!(v.parse::<f64>().is_ok(), "bad sample line {l}");
    }

    // A backend failure counts as an error of the proxy and of its endpoint.
    drop(_backend);
    let r = request(
        m.http,
        "POST",
        "/services/P",
        &[("Content-Type", "text/xml")],
        b"<x/>",
    );
    assert!(r.status >= 500, "{}", r.status);
    let t = internal(&m, "/metric-service/metrics").text();
    assert_eq!(
        metric(
            &t,
            &format!("wso2_integration_proxy_request_count_error_total{proxy}")
        ),
        1.0
    );
    assert_eq!(
        metric(
            &t,
            "mint_endpoint_request_count_error_total{endpoint=\"EchoBackend\"}"
        ),
        1.0
    );
}

#[test]
fn endpoint_uris_and_settings_come_from_the_environment() {
    let (_backend, bport) = start_backend();
    let h = TempHome::new("envinject");
    h.artifact(
        "endpoints",
        "E.xml",
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="E"><address uri="$SYSTEM:MINT_TEST_BACKEND_URL"/></endpoint>"#,
    );
    h.artifact(
        "endpoints",
        "F.xml",
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="F"><address uri="http://127.0.0.1:${configs.backend_port}/echo"/></endpoint>"#,
    );
    h.file("conf/file.properties", &format!("backend_port = {bport}\n"));
    for (ctx, ep) in [("e", "E"), ("f", "F")] {
        h.artifact(
            "api",
            &format!("{ep}.xml"),
            &format!(
                r#"<api xmlns="http://ws.apache.org/ns/synapse" name="{ep}Api" context="/{ctx}">
    <resource methods="POST"><inSequence><call><endpoint key="{ep}"/></call><respond/></inSequence></resource>
</api>"#
            ),
        );
    }
    // Without the variable the home does not deploy, and says why.
    let out = check_command(&h.root)
        .env_remove("MINT_TEST_BACKEND_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("E.xml:1:") && err.contains("MINT_TEST_BACKEND_URL"),
        "{err}"
    );

    // deployment.toml takes $env{…}: the offset comes from the environment (no --offset), so
    // mint answering on 8280 + that offset proves the placeholder was expanded.
    h.file(
        "conf/deployment.toml",
        "[server]\noffset = $env{MINT_TEST_OFFSET}\n",
    );
    let offset = next_offset();
    let child = mint_command(&h.root, None, 1)
        .env("MINT_TEST_OFFSET", offset.to_string())
        .env(
            "MINT_TEST_BACKEND_URL",
            format!("http://127.0.0.1:{bport}/echo"),
        )
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _p = Proc { child };
    assert!(wait_port(8280 + offset, Duration::from_secs(10)));
    for ctx in ["/e", "/f"] {
        let r = request(
            8280 + offset,
            "POST",
            ctx,
            &[("Content-Type", "application/xml")],
            b"<hello/>",
        );
        assert_eq!((r.status, r.text()), (200, "<hello/>".to_string()), "{ctx}");
    }
}

#[test]
fn registry_sequences_follow_their_file_and_a_missing_one_faults() {
    let h = TempHome::new("regseq");
    h.file(
        "conf/registry.xml",
        r#"<registry provider="org.wso2.carbon.mediation.registry.MicroIntegratorRegistry">
    <parameter name="cachableDuration">300</parameter>
</registry>"#,
    );
    h.file("conf/deployment.toml", "[server]\nhot_deployment = false\n");
    h.artifact(
        "api",
        "R.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="R" context="/r">
    <resource methods="GET" uri-template="/present">
        <inSequence><sequence key="conf:/seq/Tag.xml"/><property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/><respond/></inSequence>
    </resource>
    <resource methods="GET" uri-template="/absent">
        <inSequence><sequence key="gov:/seq/Later.xml"/><property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/><respond/></inSequence>
        <faultSequence>
            <property name="X-Error" expression="get-property('ERROR_MESSAGE')" scope="transport"/>
            <property name="HTTP_SC" value="500" scope="axis2"/>
            <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
            <respond/>
        </faultSequence>
    </resource>
</api>"#,
    );
    let tag = |v: &str| {
        format!(
            r#"<sequence xmlns="http://ws.apache.org/ns/synapse"><property name="X-Tag" value="{v}" scope="transport"/></sequence>"#
        )
    };
    h.file("registry/config/seq/Tag.xml", &tag("one"));
    let m = start_mint(&h.root, 2);
    let get = |p: &str| request(m.http, "GET", p, &[], b"");
    assert_eq!(get("/r/present").header("x-tag"), Some("one"));
    // A missing sequence key is a fault at run time, as in WSO2.
    let r = get("/r/absent");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.header("x-error"),
        Some("Sequence named gov:/seq/Later.xml cannot be found")
    );
    // Edited on disk: served new within cachableDuration (300 ms) plus a redeployment, even with
    // hot deployment of the folders off.
    let edited = Instant::now();
    h.file("registry/config/seq/Tag.xml", &tag("two"));
    assert!(eventually(Duration::from_secs(3), || get("/r/present")
        .header("x-tag")
        == Some("two")));
    let took = edited.elapsed();
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    // The missing one appears: it runs.
    h.file("registry/governance/seq/Later.xml", &tag("later"));
    assert!(eventually(Duration::from_secs(3), || get("/r/absent")
        .status
        == 200));
    assert_eq!(get("/r/absent").header("x-tag"), Some("later"));
}

#[test]
fn json_logs_and_the_access_log_follow_deployment_toml() {
    let h = TempHome::new("accesslog");
    h.artifact("api", "A.xml", &echo_api("A", "a"));
    h.file(
        "conf/deployment.toml",
        "[logging]\nformat = \"json\"\nlevel = \"info\"\naccess_log = true\n",
    );
    let offset = next_offset();
    let child = mint_command(&h.root, Some(offset), 1)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut p = Proc { child };
    assert!(wait_port(8280 + offset, Duration::from_secs(10)));
    assert_eq!(
        request(8280 + offset, "POST", "/a?x=1", &[], b"<x/>").status,
        200
    );
    assert_eq!(
        request(8280 + offset, "GET", "/nowhere", &[], b"").status,
        404
    );
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(p.child.id() as i32, libc::SIGTERM) };
    let out = std::mem::take(&mut p.child.stderr).unwrap();
    let text = std::io::read_to_string(out).unwrap();
    let access: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "mint::access")
        .collect();
    assert_eq!(access.len(), 2, "{text}");
    let f = &access[0]["fields"];
    assert_eq!(
        (f["method"].as_str(), f["path"].as_str()),
        (Some("POST"), Some("/a"))
    );
    assert_eq!(
        (f["status"].as_u64(), f["service"].as_str()),
        (Some(200), Some("A"))
    );
    assert_eq!(access[1]["fields"]["status"].as_u64(), Some(404));
    // Every line is JSON.
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{text}"
    );
}
