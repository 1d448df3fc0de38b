//! End-to-end: the file-system registry through a running mint (per-shard caches bounded by
//! `cachableDuration`, writes visible on every shard at once, illegal keys refused).

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const API: &str = r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Reg" context="/reg">
    <resource methods="GET" uri-template="/value">
        <inSequence>
            <property name="X-Value" expression="get-property('registry', 'conf:/custom/value.txt')" scope="transport"/>
            <property name="X-Colour" expression="get-property('registry', 'conf:/custom/value.txt@colour')" scope="transport"/>
            <property name="X-Missing" expression="get-property('registry', 'conf:/nothing/here')" scope="transport"/>
            <property name="X-Illegal" expression="get-property('registry', 'conf:/../../etc/hostname')" scope="transport"/>
            <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
            <respond/>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/write">
        <inSequence>
            <property name="conf:/custom/value.txt" value="written" scope="registry"/>
            <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
            <respond/>
        </inSequence>
    </resource>
</api>"#;

fn home(cachable_ms: u64) -> TempHome {
    let h = TempHome::new("registry");
    h.artifact("api", "Reg.xml", API);
    h.file("registry/config/custom/value.txt", "first");
    h.file(
        "registry/config/custom/value.txt.properties",
        "colour=green\n",
    );
    h.file(
        "conf/registry.xml",
        &format!(
            r#"<registry provider="org.wso2.carbon.mediation.registry.MicroIntegratorRegistry">
    <parameter name="cachableDuration">{cachable_ms}</parameter>
</registry>"#
        ),
    );
    h
}

fn value(port: u16) -> (String, String) {
    let r = request(port, "GET", "/reg/value", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-missing"),
        Some(""),
        "a missing key reads as an empty string"
    );
    assert_eq!(
        r.header("x-illegal"),
        Some(""),
        "a key leaving the registry is refused"
    );
    (
        r.header("x-value").unwrap_or("?").to_string(),
        r.header("x-colour").unwrap_or("?").to_string(),
    )
}

#[test]
fn disk_edits_are_seen_after_cachable_duration() {
    let h = home(300);
    let mint = start_mint(&h.root, 1);
    assert_eq!(value(mint.http), ("first".into(), "green".into()));
    let edited = Instant::now();
    std::fs::write(h.root.join("registry/config/custom/value.txt"), "second").unwrap();
    // Within the lease the cached value is served…
    let before = value(mint.http).0;
    if edited.elapsed() < Duration::from_millis(250) {
        assert_eq!(before, "first");
    }
    // …and after it the new one.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(value(mint.http).0, "second");
}

#[test]
fn writes_are_visible_on_every_shard_at_once() {
    // A long lease: only the write's invalidation can make the new value appear.
    let h = home(60_000);
    let mint = start_mint(&h.root, 2);
    // Warm both shards' caches (new connections spread over the SO_REUSEPORT listeners).
    for _ in 0..20 {
        assert_eq!(value(mint.http).0, "first");
    }
    let r = request(mint.http, "POST", "/reg/write", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(
        std::fs::read_to_string(h.root.join("registry/config/custom/value.txt")).unwrap(),
        "written"
    );
    for _ in 0..20 {
        assert_eq!(value(mint.http).0, "written");
    }
}

#[test]
fn registry_sequence_and_endpoint_work_end_to_end() {
    let (_backend, bport) = start_backend();
    let h = TempHome::new("regseq");
    h.file(
        "registry/governance/endpoints/echo.xml",
        &format!(r#"<endpoint xmlns="http://ws.apache.org/ns/synapse"><address uri="http://127.0.0.1:{bport}/echo"/></endpoint>"#),
    );
    h.file(
        "registry/config/sequences/tag.xml",
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="tag"><property name="X-Tag" value="from-registry" scope="transport"/></sequence>"#,
    );
    h.artifact(
        "proxy-services",
        "P.xml",
        r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="P"><target inSequence="conf:/sequences/tag.xml"><endpoint key="gov:/endpoints/echo.xml"/><outSequence><send/></outSequence></target></proxy>"#,
    );
    let mint = start_mint(&h.root, 1);
    let r = request(
        mint.http,
        "POST",
        "/services/P",
        &[("Content-Type", "text/plain")],
        b"via registry",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "via registry"));
}

/// `<sequence key="{expression}"/>` naming a registry sequence nothing names when written: every
/// `<sequence>` resource is compiled at deployment under its key, in any spelling of it
/// (`gov:/a.xml`, `gov:a.xml`), as Synapse's SequenceMediator looks the key up in the registry
/// per message (wso2/wso2-synapse `mediators/base/SequenceMediator.java`, `getEntry` of the
/// evaluated key). A registry sequence that does not compile does not stop the deployment (Synapse
/// reads it only when invoked); invoking it is a fault.
#[test]
fn a_sequence_key_computed_per_message_finds_registry_sequences() {
    let h = TempHome::new("regdyn");
    h.file(
        "registry/governance/sequences/gold.xml",
        r#"<?xml version="1.0"?><!-- tier --><sequence xmlns="http://ws.apache.org/ns/synapse" name="gold"><property name="X-Tier" value="gold-from-registry" scope="transport"/></sequence>"#,
    );
    h.file(
        "registry/config/sequences/silver.xml",
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="silver"><property name="X-Tier" value="silver-from-registry" scope="transport"/></sequence>"#,
    );
    h.file(
        "registry/config/sequences/broken.xml",
        r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="broken"><respnd/></sequence>"#,
    );
    h.artifact(
        "api",
        "Tier.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Tier" context="/tier">
  <resource methods="GET" uri-template="/">
    <inSequence>
      <sequence key="{$trp:X-Key}"/>
      <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
      <respond/>
    </inSequence>
    <faultSequence>
      <property name="X-Fault" expression="get-property('ERROR_MESSAGE')" scope="transport"/>
      <property name="HTTP_SC" value="500" scope="axis2"/>
      <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
      <respond/>
    </faultSequence>
  </resource>
</api>"#,
    );
    let mint = start_mint(&h.root, 1);
    for (key, tier) in [
        ("gov:/sequences/gold.xml", "gold-from-registry"),
        ("gov:sequences/gold.xml", "gold-from-registry"),
        ("conf:/sequences/silver.xml", "silver-from-registry"),
    ] {
        let r = request(mint.http, "GET", "/tier/", &[("X-Key", key)], b"");
        assert_eq!((r.status, r.header("x-tier")), (200, Some(tier)), "{key}");
    }
    let r = request(
        mint.http,
        "GET",
        "/tier/",
        &[("X-Key", "conf:sequences/broken.xml")],
        b"",
    );
    assert_eq!(r.status, 500);
    assert!(
        r.header("x-fault").is_some_and(|f| f.contains("respnd")),
        "{:?}",
        r.header("x-fault")
    );
    let r = request(
        mint.http,
        "GET",
        "/tier/",
        &[("X-Key", "conf:sequences/none.xml")],
        b"",
    );
    assert_eq!(r.status, 500);
}

#[test]
fn illegal_and_missing_sequence_keys_fail_deployment() {
    let h = TempHome::new("regbad");
    h.artifact(
        "proxy-services",
        "P.xml",
        r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="P"><target inSequence="conf:/../../etc/passwd"/></proxy>"#,
    );
    let out = check_command(&h.root).output().unwrap();
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("P.xml:1:"), "{err}");
}

#[test]
fn payload_factory_format_from_the_registry() {
    let h = TempHome::new("regformat");
    h.file(
        "registry/config/formats/order.xml",
        "<order xmlns=\"http://mint.example/o\"><id>$1</id><by>$2</by></order>",
    );
    h.artifact(
        "api",
        "F.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="F" context="/f">
            <resource methods="POST"><inSequence>
                <payloadFactory media-type="xml">
                    <format key="conf:/formats/order.xml"/>
                    <args><arg value="7"/><arg expression="$trp:X-User"/></args>
                </payloadFactory>
                <respond/>
            </inSequence></resource></api>"#,
    );
    let mint = start_mint(&h.root, 1);
    let r = request(
        mint.http,
        "POST",
        "/f",
        &[("Content-Type", "application/xml"), ("X-User", "ana & bo")],
        b"<x/>",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "<order xmlns=\"http://mint.example/o\"><id>7</id><by>ana &amp; bo</by></order>"
    );
}

#[test]
fn xpath_reads_the_registry_even_with_caching_off() {
    // cachableDuration 0: every lookup reads the file; XPath gets the fetched resource.
    let h = home(0);
    h.artifact(
        "api",
        "X.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="X" context="/x"><resource methods="GET"><inSequence>
            <property name="X-Value" expression="concat(get-property('registry', 'conf:/custom/value.txt'), '!', get-property('registry', 'conf:/missing'))" scope="transport"/>
            <property name="NO_ENTITY_BODY" value="true" scope="axis2" type="BOOLEAN"/>
            <respond/></inSequence></resource></api>"#,
    );
    let mint = start_mint(&h.root, 1);
    let r = request(mint.http, "GET", "/x", &[], b"");
    assert_eq!(r.header("x-value"), Some("first!"));
    std::fs::write(h.root.join("registry/config/custom/value.txt"), "second").unwrap();
    let r = request(mint.http, "GET", "/x", &[], b"");
    assert_eq!(r.header("x-value"), Some("second!"));
}
