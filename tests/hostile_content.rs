//! End-to-end: hostile message content (bodies over the limit, expensive expressions, XML the
//! parser refuses) gets the right answer, and never reaches a backend as something else.

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;

const LIMITS: &str = "[http]\nmax_body_size = 1000\n";

/// Every resource reads the body over the limit a different way; none may answer 200.
fn api(backend: u16) -> String {
    format!(
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="C" context="/c">
    <resource methods="POST" uri-template="/regex">
        <inSequence>
            <filter source="//a" regex="x.*">
                <then><payloadFactory media-type="xml"><format><then/></format><args/></payloadFactory><respond/></then>
                <else><call><endpoint><address uri="http://127.0.0.1:{backend}/echo"/></endpoint></call><respond/></else>
            </filter>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/switch">
        <inSequence>
            <switch source="string(//a)"><case regex="x.*"><respond/></case>
                <default><call><endpoint><address uri="http://127.0.0.1:{backend}/echo"/></endpoint></call><respond/></default>
            </switch>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/pf">
        <inSequence>
            <payloadFactory media-type="xml"><format><got>$1</got></format>
                <args><arg evaluator="xml" expression="//a"/></args></payloadFactory>
            <respond/>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/pfsoap">
        <inSequence>
            <payloadFactory media-type="xml"><format><got/></format><args/></payloadFactory>
            <respond/>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/jsoneval">
        <inSequence>
            <property name="v" expression="json-eval($.a)"/>
            <payloadFactory media-type="json"><format>{{"got":"$1"}}</format>
                <args><arg evaluator="xml" expression="$ctx:v"/></args></payloadFactory>
            <respond/>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/enrich">
        <inSequence>
            <enrich><source type="body" clone="true"/><target type="property" property="saved"/></enrich>
            <enrich><source type="property" property="saved" clone="true"/><target type="body" action="child"/></enrich>
            <respond/>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/cbr">
        <inSequence>
            <filter xpath="//b">
                <then><call><endpoint><address uri="http://127.0.0.1:{backend}/echo"/></endpoint></call><respond/></then>
                <else><payloadFactory media-type="xml"><format><none/></format><args/></payloadFactory><respond/></else>
            </filter>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/slow">
        <inSequence>
            <filter xpath="count(//*[. = //*]) > 0">
                <then><respond/></then>
                <else><drop/></else>
            </filter>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/echo">
        <inSequence><respond/></inSequence>
    </resource>
    <resource methods="POST" uri-template="/faulty">
        <inSequence><script language="js">mc.setPayloadXML(null);</script></inSequence>
    </resource>
</api>"#
    )
}

/// The global `fault` sequence reads the body too (and itself fails on a mediator mint does not have).
const FAULT: &str = r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="fault">
    <log level="full"/>
    <script language="js">mc.setPayloadXML(null);</script>
</sequence>"#;

#[test]
fn bodies_over_the_limit_get_413_on_every_path() {
    let (_backend, backend) = start_backend();
    let h = TempHome::new("hostile-content");
    h.file("conf/deployment.toml", LIMITS);
    h.artifact("api", "C.xml", &api(backend));
    h.artifact("sequences", "fault.xml", FAULT);
    let mint = start_mint(&h.root, 1);
    let mut xml = b"<r><a>y</a>".to_vec();
    xml.resize(4000, b' ');
    xml.extend_from_slice(b"</r>");
    for (path, ct) in [
        ("/c/regex", "application/xml"),
        ("/c/switch", "application/xml"),
        ("/c/pf", "application/xml"),
        ("/c/pfsoap", "text/xml"),
        ("/c/jsoneval", "text/plain"),
    ] {
        let r = request(mint.http, "POST", path, &[("Content-Type", ct)], &xml);
        assert_eq!(r.status, 413, "{path}: {}", r.text());
    }
    // Under the limit, the same flows answer normally (the else branch reaches the backend).
    let small = b"<r><a>y</a></r>";
    let r = request(
        mint.http,
        "POST",
        "/c/regex",
        &[("Content-Type", "application/xml")],
        small,
    );
    assert_eq!((r.status, r.body.as_slice()), (200, &small[..]));
    let r = request(
        mint.http,
        "POST",
        "/c/pf",
        &[("Content-Type", "application/xml")],
        small,
    );
    // An unprefixed format element keeps the artifact's default namespace, as WSO2's does
    // (wso2/micro-integrator HttpEndpointTestCase, PayloadFactoryXMLJSONTestCase).
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            200,
            r#"<got xmlns="http://ws.apache.org/ns/synapse">y</got>"#
        )
    );
    // A failure inside the global fault sequence ends the flow (it does not run it again).
    let r = request(
        mint.http,
        "POST",
        "/c/faulty",
        &[("Content-Type", "application/xml")],
        small,
    );
    assert_eq!(r.status, 500);
}

#[test]
fn enrich_body_to_property_and_back_as_a_child() {
    let (_backend, backend) = start_backend();
    let h = TempHome::new("hostile-enrich");
    h.artifact("api", "C.xml", &api(backend));
    let mint = start_mint(&h.root, 1);
    // Plain XML: the child goes into the document element (Synapse's body first element).
    let r = request(
        mint.http,
        "POST",
        "/c/enrich",
        &[("Content-Type", "application/xml")],
        b"<r><a>y</a></r>",
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "<r><a>y</a><r><a>y</a></r></r>")
    );
    // SOAP: into the payload element, inside the envelope.
    let env = |payload: &str| {
        format!(
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>{payload}</s:Body></s:Envelope>"
        )
    };
    let r = request(
        mint.http,
        "POST",
        "/c/enrich",
        &[("Content-Type", "text/xml")],
        env("<r><a>y</a></r>").as_bytes(),
    );
    assert_eq!(
        (r.status, r.text()),
        (200, env("<r><a>y</a><r><a>y</a></r></r>"))
    );
}

/// Regression (issue 12, item 13): XML the tree parser refuses was routed on the streaming
/// matcher's answer and forwarded to the backend.
#[test]
fn xml_the_parser_refuses_is_not_routed() {
    let (_backend, backend) = start_backend();
    let h = TempHome::new("hostile-cbr");
    h.artifact("api", "C.xml", &api(backend));
    let mint = start_mint(&h.root, 1);
    let ok = b"<a><b>1</b></a>";
    let r = request(
        mint.http,
        "POST",
        "/c/cbr",
        &[("Content-Type", "application/xml")],
        ok,
    );
    assert_eq!((r.status, r.body.as_slice()), (200, &ok[..]));
    for bad in [
        "<a><b x='1' x='2'>1</b></a>",
        "<a><b>1</b></a><a/>",
        "<a><b>1</b></a>garbage",
        "<a xmlns:xml='urn:x'><b>1</b></a>",
        "<?pi?><?xml version='1.0'?><a><b>1</b></a>",
    ] {
        let r = request(
            mint.http,
            "POST",
            "/c/cbr",
            &[("Content-Type", "application/xml")],
            bad.as_bytes(),
        );
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
}

/// Regression (issue 12, item 6): a quadratic XPath on a 100 KB body held the shard for
/// seconds (every connection on it waited) and ran on after the client left. Now it fails with
/// a fault once its work budget is spent, and a parallel request on the same (only) shard is
/// served meanwhile.
#[test]
fn a_quadratic_xpath_is_stopped_and_the_shard_keeps_serving() {
    use std::time::{Duration, Instant};
    let (_backend, backend) = start_backend();
    let h = TempHome::new("hostile-slow");
    h.artifact("api", "C.xml", &api(backend));
    let mint = start_mint(&h.root, 1);
    let mut body = String::from("<r>");
    while body.len() < 100_000 {
        body.push_str(&format!("<order><symbol>S{}</symbol></order>", body.len()));
    }
    body.push_str("</r>");
    let port = mint.http;
    let started = Instant::now();
    let slow = std::thread::spawn(move || {
        let r = request(
            port,
            "POST",
            "/c/slow",
            &[("Content-Type", "application/xml")],
            body.as_bytes(),
        );
        (r.status, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(20));
    let t = Instant::now();
    let r = request(
        port,
        "POST",
        "/c/echo",
        &[("Content-Type", "text/plain")],
        b"fast",
    );
    let fast = t.elapsed();
    assert_eq!((r.status, r.text().as_str()), (200, "fast"));
    let (status, slow_took) = slow.join().unwrap();
    assert_eq!(status, 500);
    // Debug build: the budget is spent in well under a second in release.
    assert!(slow_took < Duration::from_secs(5), "{slow_took:?}");
    assert!(fast < Duration::from_secs(5), "{fast:?}");
    eprintln!("quadratic XPath answered in {slow_took:?}; parallel request in {fast:?}");
}

/// `VmHWM` / `VmRSS` of a process, in KiB.
/// A memory figure of the process in KiB: `VmHWM:` (the peak) from `status`, or `Rss:` from
/// `smaps_rollup`, which counts the pages; `status`'s `VmRSS` is a per-CPU counter sum that was
/// seen 5 MiB off.
fn memory_kib(pid: u32, field: &str) -> u64 {
    let file = if field == "Rss:" {
        "smaps_rollup"
    } else {
        "status"
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Regression (issue 12, item 5): one 8 MB JSON array peaked at hundreds of MiB (the whole
/// JSON tree, ~100× the body) and the memory stayed resident afterwards. JSON-reading
/// mediations now stay within a few times the body, and the memory is given back.
#[test]
fn json_bodies_take_a_few_times_their_size_and_give_it_back() {
    let h = TempHome::new("hostile-json-memory");
    h.file(
        "conf/deployment.toml",
        "[http]\nmax_body_size = 33554432\nbody_read_timeout_ms = 60000\n",
    );
    h.artifact(
        "api",
        "M.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="M" context="/m">
    <resource methods="POST" uri-template="/jsoneval">
        <inSequence>
            <property name="n" expression="json-eval($[5].name)"/>
            <payloadFactory media-type="json"><format>{"n":"$1"}</format>
                <args><arg evaluator="xml" expression="$ctx:n"/></args></payloadFactory>
            <respond/>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/toxml">
        <inSequence>
            <property name="messageType" value="application/xml" scope="axis2"/>
            <respond/>
        </inSequence>
    </resource>
</api>"#,
    );
    let mint = start_mint(&h.root, 1);
    let pid = mint.proc.child.id();
    let mut body = String::from("[");
    let mut i = 0;
    while body.len() < 8 << 20 {
        body.push_str(&format!(
            r#"{{"id":{i},"name":"item{i:06}","price":{}.25,"tags":["a","b"],"ok":true}},"#,
            i % 1000
        ));
        i += 1;
    }
    body.pop();
    body.push(']');
    let mib = |kib: u64| kib / 1024;
    let idle = memory_kib(pid, "Rss:");
    for (route, want) in [
        ("/m/jsoneval", &br#"{"n":"item000005"}"#[..]),
        ("/m/toxml", &b"<jsonArray><jsonElement><id>0</id>"[..]),
    ] {
        // Reset the peak to the current resident size.
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
        let r = request(
            mint.http,
            "POST",
            route,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{route}");
        assert!(r.body.starts_with(want), "{route}");
        // What stays is the top of the allocator's heap the message grew (5 to 8 MiB here, taken
        // again by the next large message), not the message: kept, it would be most of the
        // 40 MiB the peak rose by. (The bound was the body's size, 8 MiB, until measurements of
        // the same build before and after an unrelated change sat on both sides of it.)
        let given_back = |kib: u64| kib.saturating_sub(idle) < 3 * body.len() as u64 / 2 / 1024;
        let mut after = memory_kib(pid, "Rss:");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while !given_back(after) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
            after = memory_kib(pid, "Rss:");
        }
        let peak = memory_kib(pid, "VmHWM:");
        eprintln!(
            "{route}: idle {} MiB, peak {} MiB, after {} MiB (body {} MiB)",
            mib(idle),
            mib(peak),
            mib(after),
            body.len() >> 20
        );
        // The body (8 MiB) read, its XML (about twice that), the response: a few times the body.
        assert!(
            peak.saturating_sub(idle) < 6 * (body.len() as u64 / 1024),
            "{route}: peak {} MiB over an idle {} MiB",
            mib(peak),
            mib(idle)
        );
        assert!(
            given_back(after),
            "{route}: {} MiB still resident over an idle {} MiB",
            mib(after),
            mib(idle)
        );
    }
}
