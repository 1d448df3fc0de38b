//! End-to-end: Carbon applications. A CAR built here deploys at start-up and its registry resource
//! is readable; CARs dropped in later are hot-deployed; a faulty CAR is rolled back and listed by
//! `/healthz` while everything else keeps serving; WSO2's performance-test artifacts packaged as
//! a CAR deploy.

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::car_builder::build_car;
use common::*;

fn api(name: &str, ctx: &str, body: &str) -> String {
    format!(
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="{name}" context="/{ctx}">
    <resource methods="GET">
        <inSequence>
            {body}
            <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
            <respond/>
        </inSequence>
    </resource>
</api>"#
    )
}

fn greeting_car() -> Vec<u8> {
    build_car(
        "GreetingApp",
        "1.0.0",
        &[(
            "GreetingAPI",
            "synapse/api",
            "GreetingAPI.xml",
            &api(
                "GreetingAPI",
                "greet",
                r#"<property name="X-Greeting" expression="get-property('registry', 'gov:greetings/hello.txt')" scope="transport"/>"#,
            ),
        )],
        &[(
            "/_system/governance/greetings",
            "hello.txt",
            "text/plain",
            b"hello from a CAR",
        )],
    )
}

fn carbonapps(h: &TempHome) -> std::path::PathBuf {
    let d = h.root.join("repository/deployment/server/carbonapps");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_car_deploys_with_its_registry_resource_and_later_cars_hot_deploy() {
    let h = TempHome::new("car");
    h.file(
        "conf/deployment.toml",
        "[server]\nhot_deployment_interval_ms = 100\n",
    );
    std::fs::write(carbonapps(&h).join("GreetingApp_1.0.0.car"), greeting_car()).unwrap();
    let m = start_mint(&h.root, 2);
    let r = request(m.http, "GET", "/greet", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-greeting"), Some("hello from a CAR"));
    // Written into the registry as WSO2 does, with its media type.
    let file = h.root.join("registry/governance/greetings/hello.txt");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello from a CAR");
    let meta = h
        .root
        .join("registry/governance/greetings/.metadata/hello.txt.meta");
    assert!(std::fs::read_to_string(meta)
        .unwrap()
        .contains("text/plain"));

    // A second CAR, dropped in while running.
    let second = build_car(
        "SecondApp",
        "1.0.0",
        &[(
            "SecondAPI",
            "synapse/api",
            "SecondAPI.xml",
            &api(
                "SecondAPI",
                "second",
                r#"<property name="X-Second" value="yes" scope="transport"/>"#,
            ),
        )],
        &[],
    );
    std::fs::write(carbonapps(&h).join("SecondApp_1.0.0.car"), second).unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        request(m.http, "GET", "/second", &[], b"").header("x-second") == Some("yes")
    }));

    // A faulty CAR: its API references a sequence that is nowhere, and its XML is broken.
    let faulty = build_car(
        "BrokenApp",
        "1.0.0",
        &[(
            "BrokenAPI",
            "synapse/api",
            "BrokenAPI.xml",
            "<api xmlns=\"http://ws.apache.org/ns/synapse\" name=\"BrokenAPI\" context=\"/broken\"><resource>",
        )],
        &[(
            "/_system/governance/broken",
            "left.txt",
            "text/plain",
            b"must be rolled back",
        )],
    );
    std::fs::write(carbonapps(&h).join("BrokenApp_1.0.0.car"), faulty).unwrap();
    let internal = 9191 + m.offset;
    assert!(eventually(Duration::from_secs(5), || {
        request(internal, "GET", "/healthz", &[], b"").status == 500
    }));
    let health = request(internal, "GET", "/healthz", &[], b"").text();
    assert!(
        health.contains(r#""Faulty CAPPs":["BrokenApp_1.0.0.car"]"#),
        "{health}"
    );
    // Rolled back: its registry resource is gone; the other CARs still serve.
    assert!(!h.root.join("registry/governance/broken/left.txt").exists());
    assert_eq!(
        request(m.http, "GET", "/greet", &[], b"").header("x-greeting"),
        Some("hello from a CAR")
    );
    assert_eq!(request(m.http, "GET", "/broken", &[], b"").status, 404);

    // Removed: ready again.
    std::fs::remove_file(carbonapps(&h).join("BrokenApp_1.0.0.car")).unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        request(internal, "GET", "/healthz", &[], b"").status == 200
    }));
}

/// The root element of a WSO2 artifact file, as its CAR type.
fn car_type(text: &str) -> &'static str {
    let root = text
        .split('<')
        .map(|t| t.trim_start())
        .find(|t| t.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .unwrap_or("");
    match root.split(|c: char| !c.is_ascii_alphanumeric()).next() {
        Some("proxy") => "synapse/proxy-service",
        Some("api") => "synapse/api",
        Some("endpoint") => "synapse/endpoint",
        Some("localEntry") => "synapse/local-entry",
        other => panic!("unexpected root {other:?}"),
    }
}

#[test]
fn wso2_performance_artifacts_deploy_as_a_car() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/wso2-perf/synapse");
    let descriptor = std::fs::read_to_string(dir.join("artifacts.xml")).unwrap();
    let mut files = Vec::new();
    let mut resources: Vec<(String, Vec<u8>)> = Vec::new();
    for line in descriptor.lines().filter(|l| l.contains("<dependency ")) {
        let name = line
            .split("artifact=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let file = dir.join(format!("{name}-1.0.0.xml"));
        if file.exists() {
            files.push((name.to_string(), std::fs::read_to_string(file).unwrap()));
        } else if let Some(f) = ["xslt", "xml"]
            .iter()
            .map(|ext| dir.join(format!("{name}.{ext}")))
            .find(|p| p.exists())
        {
            let fname = f.file_name().unwrap().to_string_lossy().into_owned();
            resources.push((fname, std::fs::read(f).unwrap()));
        }
        // DMPerfTest, DMPerfTest_inputSchema, DMPerfTest_outputSchema: the data-mapper
        // artifacts have no files in WSO2's benchmark folder, so they are left out here.
    }
    assert!(files.len() >= 28, "{} artifacts", files.len());
    let arts: Vec<(String, &str, String, String)> = files
        .iter()
        .map(|(n, t)| (n.clone(), car_type(t), format!("{n}.xml"), t.clone()))
        .collect();
    let res_refs: Vec<(&str, &str, &str, &[u8])> = resources
        .iter()
        .map(|(f, b)| {
            (
                "/_system/governance/perf",
                f.as_str(),
                "application/xml",
                b.as_slice(),
            )
        })
        .collect();
    let h = TempHome::new("perfcar");
    // Writes the CAR of `arts` (and the registry resources) into the home.
    let install = |arts: &[(String, &str, String, String)]| {
        let art_refs: Vec<(&str, &str, &str, &str)> = arts
            .iter()
            .map(|(n, t, f, c)| (n.as_str(), *t, f.as_str(), c.as_str()))
            .collect();
        let car = build_car("ESBPerformanceTestArtifacts", "1.0.0", &art_refs, &res_refs);
        std::fs::write(
            carbonapps(&h).join("ESBPerformanceTestArtifacts_1.0.0.car"),
            car,
        )
        .unwrap();
    };
    install(&arts);
    // SecureProxy asks for WS-Security, which mint does not implement: the whole CAR is faulty
    // (never served open), and says why.
    let out = check_command(&h.root).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(65), "{stderr}");
    assert!(
        stderr.contains("SecureProxy") && stderr.contains("WS-Security"),
        "{stderr}"
    );
    // Without it, the CAR deploys.
    let arts: Vec<(String, &str, String, String)> = arts
        .into_iter()
        .filter(|(n, ..)| n != "SecureProxy")
        .collect();
    install(&arts);
    let out = check_command(&h.root).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    // 18 proxies and 2 APIs (DirectAPI, EchoApi); the unsupported mediators are warnings.
    assert!(stdout.contains("18 proxies, 2 APIs"), "{stdout}");
    // `check` is read-only: the CAR's registry resources are seen, not written.
    let xslt = h
        .root
        .join("registry/governance/perf/XSLT_Datatransform.xslt");
    assert!(!xslt.exists());

    // And it serves: DirectProxy forwards to RealService, re-pointed at a local backend.
    let (_backend, bport) = start_backend();
    let arts: Vec<(String, &str, String, String)> = arts
        .into_iter()
        .map(|(n, t, f, c)| {
            let c = c.replace("http://netty:8688/", &format!("http://127.0.0.1:{bport}/"));
            (n, t, f, c)
        })
        .collect();
    install(&arts);
    let m = start_mint(&h.root, 1);
    let body = std::fs::read(data("wso2-perf/1000B_buyStocks.xml")).unwrap();
    let r = request(
        m.http,
        "POST",
        "/services/DirectProxy",
        &[
            ("Content-Type", "text/xml"),
            ("SOAPAction", "urn:buyStocks"),
        ],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, body);
    assert!(xslt.exists(), "serve writes the CAR's registry resources");
}
