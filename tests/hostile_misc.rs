//! End-to-end regressions from the hostile probe (issue 12): OPTIONS is answered by the resource,
//! not mediated through it; log dumps mask credentials and keep client data from forging lines.

mod common;

use std::time::Duration;

use common::*;

const OPTIONS_API: &str = r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Opt" context="/opt">
    <resource methods="GET POST" uri-template="/item">
        <inSequence>
            <property name="conf:/probe/hit.txt" value="mediated" scope="registry"/>
            <property name="X-Mediated" value="item" scope="transport"/>
            <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
            <respond/>
        </inSequence>
    </resource>
    <resource uri-template="/any">
        <inSequence>
            <property name="X-Mediated" value="any" scope="transport"/>
            <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
            <respond/>
        </inSequence>
    </resource>
    <resource methods="OPTIONS GET" uri-template="/own">
        <inSequence>
            <property name="X-Mediated" value="own" scope="transport"/>
            <property name="X-Hops" expression="$trp:Max-Forwards" scope="transport"/>
            <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
            <respond/>
        </inSequence>
    </resource>
</api>"#;

/// Any origin allowed: Synapse's CORS, on by default with no origin allowed, answers OPTIONS 403
/// otherwise (tests/security.rs covers that); these tests are about dispatch.
const ANY_ORIGIN: &str =
    "[synapse_properties]\n'synapse.rest.CORSConfig.Access-Control-Allow-Origin' = \"*\"\n";

#[test]
fn options_is_answered_with_allow_and_not_mediated() {
    let h = TempHome::new("options");
    h.file("conf/deployment.toml", ANY_ORIGIN);
    h.artifact("api", "Opt.xml", OPTIONS_API);
    let mint = start_mint(&h.root, 1);
    let hit = h.root.join("registry/config/probe/hit.txt");

    let r = request(mint.http, "OPTIONS", "/opt/item", &[], b"");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("allow"), Some("GET, POST"), "{r:?}");
    assert_eq!(r.header("x-mediated"), None, "OPTIONS ran the in-sequence");
    assert!(
        !hit.exists(),
        "OPTIONS wrote the registry through a GET/POST resource"
    );

    // No `methods`: Synapse's list of every method.
    let r = request(mint.http, "OPTIONS", "/opt/any", &[], b"");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("allow"), Some("GET, POST, PUT, DELETE"));
    assert_eq!(r.header("x-mediated"), None);

    // The listed methods are still mediated (the test would prove nothing otherwise).
    let r = request(mint.http, "GET", "/opt/item", &[], b"");
    assert_eq!((r.status, r.header("x-mediated")), (200, Some("item")));
    assert!(hit.exists());
}

#[test]
fn options_listed_in_methods_is_mediated_until_max_forwards_runs_out() {
    let h = TempHome::new("options-own");
    h.file("conf/deployment.toml", ANY_ORIGIN);
    h.artifact("api", "Opt.xml", OPTIONS_API);
    let mint = start_mint(&h.root, 1);

    let r = request(mint.http, "OPTIONS", "/opt/own", &[], b"");
    assert_eq!((r.status, r.header("x-mediated")), (200, Some("own")));

    let r = request(
        mint.http,
        "OPTIONS",
        "/opt/own",
        &[("Max-Forwards", "3")],
        b"",
    );
    assert_eq!(r.header("x-mediated"), Some("own"), "{r:?}");
    assert_eq!(r.header("x-hops"), Some("2"), "Max-Forwards is decremented");

    let r = request(
        mint.http,
        "OPTIONS",
        "/opt/own",
        &[("Max-Forwards", "0")],
        b"",
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("x-mediated"), None, "{r:?}");
    assert_eq!(r.header("allow"), Some("GET"));
}

const LOG_API: &str = r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Logs" context="/logs">
    <resource methods="POST" uri-template="/dump">
        <inSequence>
            <log level="full"/>
            <log level="headers" category="WARN"/>
            <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
            <respond/>
        </inSequence>
    </resource>
</api>"#;

#[test]
fn log_dumps_mask_credentials_and_client_data_cannot_forge_lines() {
    let h = TempHome::new("logmask");
    h.artifact("api", "Logs.xml", LOG_API);
    let offset = next_offset();
    let child = mint_command(&h.root, Some(offset), 1)
        .env("RUST_LOG", "info")
        .env_remove("MINT_LOG_FORMAT")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut p = Proc { child };
    assert!(wait_port(8280 + offset, Duration::from_secs(10)));
    let r = request(
        8280 + offset,
        "POST",
        "/logs/dump",
        &[
            ("Content-Type", "application/xml"),
            ("X-Trace", "probe-7"),
            ("Authorization", "Basic dXNlcjpTRUNSRVQtQVVUSA=="),
            ("Proxy-Authorization", "Bearer SECRET-PROXY"),
            ("Cookie", "sid=SECRET-COOKIE"),
            ("apikey", "SECRET-APIKEY"),
        ],
        b"<a>x\r\nERROR mint: forged by the body\r\n</a>",
    );
    assert_eq!(r.status, 200, "{r:?}");
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(p.child.id() as i32, libc::SIGTERM) };
    let out = std::mem::take(&mut p.child.stderr).unwrap();
    let text = std::io::read_to_string(out).unwrap();

    let dumps: Vec<&str> = text.lines().filter(|l| l.contains("probe-7")).collect();
    assert_eq!(dumps.len(), 2, "one line per log mediator:\n{text}");
    for secret in ["dXNlcjpTRUNSRVQtQVVUSA==", "SECRET-"] {
        assert!(!text.contains(secret), "{secret} logged in clear:\n{text}");
    }
    assert!(
        dumps
            .iter()
            .all(|l| l.contains(", authorization: Basic *****")
                && l.contains("proxy-authorization: Bearer *****")
                && l.contains("cookie: *****")
                && l.contains("apikey: *****")),
        "{text}"
    );
    assert!(
        text.lines().all(|l| !l.starts_with("ERROR mint: forged")),
        "the body forged a log line:\n{text}"
    );
    assert!(
        dumps[0].contains(r"<a>x\r\nERROR mint: forged by the body\r\n</a>"),
        "{text}"
    );
}

/// Item 10: WSO2 empties a resource's content when a `key@prop` registry property is set
/// (PropertyMediator writes the property, then `updateResource(path, EMPTY_CONTENT)`); mint does
/// the same, and says so at deployment so that the loss is never a surprise.
#[test]
fn registry_property_write_is_announced_at_deployment() {
    let home = TempHome::new("regprop-warn");
    home.artifact(
        "sequences",
        "W.xml",
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="W">
    <property name="conf:/x@prop" value="v" scope="registry"/>
</sequence>"#,
    );
    let out = check_command(&home.root).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("sequences/W.xml:2:5: warning: setting registry property 'conf:/x@prop' empties the resource's content, as WSO2 does"),
        "{err}"
    );
}
