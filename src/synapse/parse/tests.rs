//! Tests for the XML reader ([`element`](crate::synapse::element)) and the artifact parser,
//! including every real artifact shipped in `../shared` (WSO2 perf bench and compat cases).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::synapse::model::{
    Artifacts, Diagnostic, EndpointKind, EndpointRef, LocalEntryValue, Node, Pos, PublishWsdl,
    ResourceMatcher, SeqRef, TimeoutAction, Trigger, VersionType,
};
use crate::xml::element::{parse_document, MAX_DEPTH};

use super::{
    load_synapse_dir, parse_artifact_file, parse_endpoint_element, parse_endpoint_reference,
    parse_sequence_element, ArtifactDir,
};

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

fn parse(dir: ArtifactDir, xml: &str) -> (Artifacts, Vec<Diagnostic>) {
    let mut artifacts = Artifacts::default();
    let mut problems = Vec::new();
    parse_artifact_file(Path::new("t.xml"), xml, dir, &mut artifacts, &mut problems);
    (artifacts, problems)
}

fn errors(problems: &[Diagnostic]) -> Vec<String> {
    problems
        .iter()
        .filter(|p| p.is_error())
        .map(ToString::to_string)
        .collect()
}

fn warnings(problems: &[Diagnostic]) -> Vec<String> {
    problems
        .iter()
        .filter(|p| p.is_warning())
        .map(ToString::to_string)
        .collect()
}

fn pos(line: u32, col: u32) -> Pos {
    Pos { line, col }
}

/// The folder whose root element is `local`, if it is an artifact root.
fn dir_for_root(local: &str) -> Option<ArtifactDir> {
    ArtifactDir::ALL
        .into_iter()
        .find(|dir| dir.root_element() == local)
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "xml"))
        .collect();
    files.sort();
    files
}

// ------------------------------------------------------------------------------------------------
// element.rs
// ------------------------------------------------------------------------------------------------

#[test]
fn element_positions_namespaces_and_source() {
    let xml = "<?xml version=\"1.0\"?>\n<a xmlns=\"urn:a\" xmlns:p=\"urn:p\">\n  <p:b  y=\"1\"/>\n  <c xmlns:p=\"urn:q\"><é/></c>\n</a>";
    let root = parse_document(xml).unwrap();
    assert_eq!(root.pos, pos(2, 1));
    assert_eq!(root.ns, "urn:a");
    assert_eq!(root.attribute("xmlns:p").unwrap().pos, pos(2, 18));
    let children: Vec<_> = root.elements().collect();
    assert_eq!(children[0].qname(), "p:b");
    assert_eq!(children[0].ns, "urn:p");
    assert_eq!(children[0].pos, pos(3, 3));
    assert_eq!(children[0].attribute("y").unwrap().pos, pos(3, 9));
    assert_eq!(children[0].source, "<p:b  y=\"1\"/>");
    // A redeclared prefix replaces the outer binding; innermost last.
    assert_eq!(
        children[1].ns_scope,
        vec![
            (String::new(), "urn:a".to_string()),
            ("p".to_string(), "urn:q".to_string())
        ]
    );
    assert_eq!(children[1].source, "<c xmlns:p=\"urn:q\"><é/></c>");
    let inner = children[1].elements().next().unwrap();
    assert_eq!((inner.local.as_str(), inner.pos), ("é", pos(4, 22)));
    assert!(root.source.starts_with("<a xmlns") && root.source.ends_with("</a>"));
}

#[test]
fn element_columns_count_characters_and_ignore_bom() {
    let root = parse_document("\u{feff}<r>\n\u{e9}\u{e9}<x a=\"1\"/></r>").unwrap();
    assert_eq!(root.pos, pos(1, 1));
    let x = root.elements().next().unwrap();
    assert_eq!(x.pos, pos(2, 3));
    assert_eq!(x.attribute("a").unwrap().pos, pos(2, 6));
}

#[test]
fn element_entities_are_resolved_in_attributes_and_text() {
    let root =
        parse_document("<r v=\"a &amp; b &lt;&#65;&#x42;&quot;\">x &amp; y &apos;&#233;&gt;</r>")
            .unwrap();
    assert_eq!(root.attr("v"), Some("a & b <AB\""));
    assert_eq!(root.text(), "x & y '\u{e9}>");
    assert_eq!(
        root.children.len(),
        1,
        "text events are joined into one node"
    );
}

#[test]
fn element_cdata_and_comments() {
    let root = parse_document("<r>a<![CDATA[<b>&amp;</b>]]>c<!-- note --></r>").unwrap();
    assert_eq!(root.text(), "a<b>&amp;</b>c");
    assert_eq!(
        root.children.last(),
        Some(&Node::Comment(" note ".to_string()))
    );
}

#[test]
fn element_errors_have_positions() {
    let cases = [
        ("<a>\n  <b></a>", pos(2, 6), "expected `</b>`"),
        ("<a>\n <b>", pos(2, 2), "element <b> is not closed"),
        ("<a/>\n<b/>", pos(2, 1), "only one root element"),
        ("<a>&nbsp;</a>", pos(1, 4), "undefined entity '&nbsp;'"),
        ("<a>\n<p:b/></a>", pos(2, 1), "namespace prefix 'p'"),
        (
            "<a x='1'\n   x='2'/>",
            pos(2, 4),
            "attribute 'x' is given twice",
        ),
        (
            "<a x=\"&bad;\"/>",
            pos(1, 4),
            "invalid value of attribute 'x'",
        ),
        (
            "text <a/>",
            pos(1, 1),
            "text is not allowed outside the root",
        ),
        ("", pos(1, 1), "no root element"),
    ];
    for (xml, expected_pos, expected_message) in cases {
        let (at, message) = parse_document(xml).unwrap_err();
        assert_eq!(at, expected_pos, "{xml:?}: {message}");
        assert!(message.contains(expected_message), "{xml:?}: {message}");
    }
}

#[test]
fn element_doctype_is_refused() {
    let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x \"yyyy\">]>\n<r>&x;</r>";
    assert_eq!(
        parse_document(xml).unwrap_err(),
        (pos(2, 1), "DOCTYPE is not allowed".to_string())
    );
}

#[test]
fn element_depth_is_limited() {
    let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
    assert!(parse_document(&ok).is_ok());
    let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
    let (at, message) = parse_document(&deep).unwrap_err();
    assert!(message.contains("nested deeper"), "{message}");
    assert_eq!(at, pos(1, 1 + 3 * MAX_DEPTH as u32));
}

// ------------------------------------------------------------------------------------------------
// Artifacts
// ------------------------------------------------------------------------------------------------

const PROXY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<proxy xmlns="http://ws.apache.org/ns/synapse" name="P" transports="https,http" startOnLoad="false">
    <target faultSequence="myFault">
        <inSequence>
            <log level="custom" category="debug" separator="|">
                <property name="a" value="x &amp; y"/>
                <property xmlns:m="urn:m" name="b" expression="//m:sym"/>
            </log>
            <property name="P1" value="1" scope="AXIS2" type="integer"/>
            <property name="P2" scope="transport" action="remove"/>
            <property name="P3"><inline xmlns="">v</inline></property>
            <header xmlns:wsse="urn:wsse" name="wsse:Security" action="remove"/>
            <header name="X-H" scope="transport" expression="$ctx:v"/>
            <filter xpath="true()"><then><drop/></then></filter>
            <call blocking="true"><endpoint key="EP"/></call>
            <sequence key="other"/>
            <send receive="r">
                <endpoint name="inline">
                    <address uri="http://localhost:9000/svc" format="soap11">
                        <timeout><duration>30000</duration><responseAction>fault</responseAction></timeout>
                        <suspendOnFailure><errorCodes>101504, 101505</errorCodes><initialDuration>1000</initialDuration><progressionFactor>2.0</progressionFactor></suspendOnFailure>
                        <markForSuspension><errorCodes>-1</errorCodes><retriesBeforeSuspension>3</retriesBeforeSuspension><retryDelay>10</retryDelay></markForSuspension>
                    </address>
                    <property name="ep" value="1" scope="axis2"/>
                </endpoint>
            </send>
            <propertyGroup><property name="G" value="g"/></propertyGroup>
            <respond/>
        </inSequence>
        <outSequence><loopback/><send/></outSequence>
        <endpoint><http uri-template="http://h/{uri.var.x}" method="post"/></endpoint>
    </target>
    <publishWSDL key="wsdl"/>
    <parameter name="serviceType">proxy</parameter>
    <description>doc</description>
</proxy>"#;

#[test]
fn proxy_is_fully_modelled() {
    let (artifacts, problems) = parse(ArtifactDir::ProxyServices, PROXY);
    assert_eq!(errors(&problems), Vec::<String>::new());
    // <filter> is kept whole for the deployer, which compiles it (no parser warning).
    assert_eq!(warnings(&problems), Vec::<String>::new());
    let proxy = &artifacts.proxies[0];
    assert_eq!(proxy.name, "P");
    assert_eq!(proxy.origin.pos, pos(2, 1));
    assert_eq!(proxy.transports, ["https", "http"]);
    assert!(!proxy.start_on_load);
    assert!(matches!(&proxy.publish_wsdl, Some(PublishWsdl::Key(k)) if k == "wsdl"));
    assert_eq!(
        proxy.parameters,
        [("serviceType".to_string(), "proxy".to_string())]
    );

    let target = &proxy.target;
    match &target.fault_sequence {
        Some(SeqRef::Key { key, origin }) => {
            assert_eq!(key, "myFault");
            assert_eq!(origin.pos, pos(3, 13), "points at the attribute");
        }
        other => panic!("{other:?}"),
    }
    match &target.endpoint {
        Some(EndpointRef::Inline(ep)) => match &ep.kind {
            EndpointKind::Http {
                uri_template,
                method,
                ..
            } => {
                assert_eq!(uri_template, "http://h/{uri.var.x}");
                assert_eq!(method.as_deref(), Some("POST"));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let Some(SeqRef::Inline(out)) = &target.out_sequence else {
        panic!("out sequence")
    };
    let names = |s: &crate::synapse::model::Sequence| -> Vec<String> {
        s.element.elements().map(|e| e.local.clone()).collect()
    };
    assert_eq!(names(out), ["loopback", "send"]);

    // The mediators are the sequence element's children, compiled by `mediators/` (their
    // tests are in compile/tests.rs).
    let Some(SeqRef::Inline(seq)) = &target.in_sequence else {
        panic!("in sequence")
    };
    assert_eq!(seq.name, None);
    assert_eq!(seq.origin.pos, pos(4, 9));
    assert_eq!(seq.element.elements().count(), 12);
    assert_eq!(seq.element.elements().nth(1).unwrap().pos, pos(9, 13));

    // The inline endpoint of <send>, as the compiler asks the parser for it.
    let send = seq.element.elements().nth(9).unwrap();
    let mut problems = Vec::new();
    let file = Arc::new(PathBuf::from("t.xml"));
    let ep = parse_endpoint_reference(send.elements().next().unwrap(), &file, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    match ep {
        Some(EndpointRef::Inline(ep)) => {
            assert_eq!(ep.name.as_deref(), Some("inline"));
            assert_eq!(ep.properties[0].scope, "axis2");
            let EndpointKind::Address { uri, format, qos } = &ep.kind else {
                panic!("{:?}", ep.kind)
            };
            assert_eq!(uri, "http://localhost:9000/svc");
            assert_eq!(format.as_deref(), Some("soap11"));
            let timeout = qos.timeout.as_ref().unwrap();
            assert_eq!(
                (timeout.duration_ms, timeout.action),
                (Some(30000), TimeoutAction::Fault)
            );
            let suspend = qos.suspend_on_failure.as_ref().unwrap();
            assert_eq!(suspend.error_codes, [101504, 101505]);
            assert_eq!(suspend.initial_duration_ms, Some(1000));
            assert_eq!(suspend.progression_factor, Some(2.0));
            let mark = qos.mark_for_suspension.as_ref().unwrap();
            assert_eq!(mark.error_codes, [-1]);
            assert_eq!(mark.retries_before_suspension, Some(3));
            assert_eq!(mark.retry_delay_ms, Some(10));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn proxy_defaults_and_missing_name() {
    let (artifacts, problems) = parse(
        ArtifactDir::ProxyServices,
        r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="D"><target/></proxy>"#,
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(artifacts.proxies[0].transports, ["http", "https"]);
    assert!(artifacts.proxies[0].start_on_load);

    let (artifacts, problems) = parse(
        ArtifactDir::ProxyServices,
        "<proxy xmlns=\"http://ws.apache.org/ns/synapse\">\n  <target/>\n</proxy>",
    );
    assert!(artifacts.proxies.is_empty());
    assert_eq!(
        errors(&problems),
        ["t.xml:1:1: <proxy> has no name attribute"]
    );
}

#[test]
fn api_resources_and_versions() {
    let (artifacts, problems) = parse(
        ArtifactDir::Api,
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="A" context="/a/{version}/" version="1.0" version-type="context" hostname="h" port="8290">
    <resource methods="get post" uri-template="/x/{id}" protocol="https" content-type="application/json" inSequence="seqIn">
        <outSequence><send/></outSequence>
    </resource>
    <resource url-mapping="/y/*"/>
    <resource/>
</api>"#,
    );
    assert!(problems.is_empty(), "{problems:?}");
    let api = &artifacts.apis[0];
    assert_eq!(api.context, "/a/1.0");
    assert_eq!(api.version_type, VersionType::Context);
    assert_eq!((api.hostname.as_deref(), api.port), (Some("h"), Some(8290)));
    let r = &api.resources;
    assert_eq!(r[0].methods, ["GET", "POST"]);
    assert_eq!(r[0].matcher, ResourceMatcher::UriTemplate("/x/{id}".into()));
    assert_eq!(r[0].protocol.as_deref(), Some("https"));
    assert_eq!(r[0].content_type.as_deref(), Some("application/json"));
    assert!(matches!(&r[0].in_sequence, Some(SeqRef::Key { key, .. }) if key == "seqIn"));
    assert!(matches!(&r[0].out_sequence, Some(SeqRef::Inline(_))));
    assert_eq!(r[1].matcher, ResourceMatcher::UrlMapping("/y/*".into()));
    assert!(r[1].methods.is_empty());
    assert_eq!(r[2].matcher, ResourceMatcher::Default);
}

#[test]
fn api_errors() {
    let (artifacts, problems) = parse(
        ArtifactDir::Api,
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="A" context="a" port="x">
    <resource methods="GET FETCH" uri-template="/a" url-mapping="/b"/>
    <handlers/>
</api>"#,
    );
    assert!(artifacts.apis.is_empty());
    assert_eq!(
        errors(&problems),
        [
            "t.xml:1:55: API context 'a' must start with '/'",
            "t.xml:1:67: API port 'x' is not a valid port number",
            "t.xml:2:15: unknown HTTP method 'FETCH' in resource methods",
            "t.xml:2:5: <resource> cannot have both uri-template and url-mapping",
        ]
    );
    assert!(warnings(&problems).is_empty());
}

/// Handlers guard MI APIs (basic auth, JWT, OAuth): one mint cannot run stops the API; MI 4.5's
/// per-API CORS handler is read (wso2/micro-integrator `components/mediation/security/...
/// /handler/CORSRequestHandler.java` property names).
#[test]
fn api_handlers_guard_or_configure_cors() {
    let (artifacts, problems) = parse(
        ArtifactDir::Api,
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="A" context="/a">
    <resource methods="GET" uri-template="/a"/>
    <handlers>
        <handler class="org.wso2.micro.integrator.security.handler.JWTTokenSecurityHandler"/>
        <handler class="org.wso2.micro.integrator.security.handler.RESTBasicAuthHandler"/>
    </handlers>
</api>"#,
    );
    assert!(artifacts.apis.is_empty() || !errors(&problems).is_empty());
    assert_eq!(
        errors(&problems),
        ["t.xml:4:9: API handler 'org.wso2.micro.integrator.security.handler.JWTTokenSecurityHandler' is not implemented by mint: the API is not deployed, since handlers may guard access and mint never serves open what its author protected"]
    );
    let (artifacts, problems) = parse(
        ArtifactDir::Api,
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="A" context="/a">
    <resource methods="GET POST" uri-template="/a"/>
    <handlers>
        <handler class="org.wso2.micro.integrator.security.handler.CORSRequestHandler">
            <property name="allowedOrigins" value="https://a.example, https://*.b.example"/>
            <property name="allowedMethods" value="GET,PUT"/>
            <property name="allowHeaders" value="content-type"/>
            <property name="allowCredentials" value="true"/>
            <property name="maxAge" value="600"/>
        </handler>
    </handlers>
</api>"#,
    );
    assert_eq!(errors(&problems), Vec::<String>::new());
    let cors = artifacts.apis[0].cors.as_ref().unwrap();
    assert_eq!(
        cors.allowed_origins,
        ["https://a.example", "https://*.b.example"]
    );
    assert_eq!(cors.allowed_methods, ["GET", "PUT"]);
    assert!(cors.allow_credentials);
    assert_eq!(cors.max_age.as_deref(), Some("600"));
    assert_eq!(
        cors.allowed_origin(Some("https://x.b.example")),
        Some("https://x.b.example")
    );
    assert_eq!(cors.allowed_origin(Some("https://evil.example")), None);
    assert_eq!(cors.methods_for(&["GET", "POST"]), "GET");
}

#[test]
fn ws_security_on_a_proxy_or_an_endpoint_stops_the_deployment() {
    let (_, problems) = parse(
        ArtifactDir::ProxyServices,
        r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="P">
    <target><inSequence><drop/></inSequence></target>
    <policy key="conf:/policies/UTOverTransport.xml"/>
    <enableSec/>
    <enableAddressing/>
</proxy>"#,
    );
    let e = errors(&problems);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with("t.xml:3:5: <policy>: WS-Security policies are not implemented"),
        "{e:?}"
    );
    assert!(e[1].starts_with("t.xml:4:5: <enableSec>"), "{e:?}");
    assert_eq!(warnings(&problems).len(), 1);
    let (_, problems) = parse(
        ArtifactDir::Endpoints,
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="E">
    <address uri="http://127.0.0.1:9/x"><enableSec policy="p"/></address>
</endpoint>"#,
    );
    assert!(
        errors(&problems)[0].contains("<enableSec> on an endpoint"),
        "{problems:?}"
    );
}

#[test]
fn endpoint_artifacts() {
    let (artifacts, problems) = parse(
        ArtifactDir::Endpoints,
        r#"<endpoint name="E"><default format="pox"><timeout><responseAction>discard</responseAction></timeout></default></endpoint>"#,
    );
    assert!(
        problems.is_empty(),
        "no namespace is accepted: {problems:?}"
    );
    let EndpointKind::Default { format, qos } = &artifacts.endpoints[0].kind else {
        panic!()
    };
    assert_eq!(format.as_deref(), Some("pox"));
    let timeout = qos.timeout.as_ref().unwrap();
    assert_eq!(
        (timeout.duration_ms, timeout.action),
        (None, TimeoutAction::Discard)
    );

    let (artifacts, problems) = parse(
        ArtifactDir::Endpoints,
        "<endpoint xmlns=\"http://ws.apache.org/ns/synapse\" name=\"E\">\n<address uri=\"http://x\">\n<timeout><duration>soon</duration></timeout>\n<suspendOnFailure><errorCodes>1,x</errorCodes></suspendOnFailure>\n</address></endpoint>",
    );
    assert_eq!(
        errors(&problems),
        [
            "t.xml:3:10: <duration> must be a number, found 'soon'",
            "t.xml:4:19: error code 'x' in <errorCodes> is not a number",
        ]
    );
    assert_eq!(artifacts.endpoints.len(), 1);

    let (artifacts, problems) = parse(
        ArtifactDir::Endpoints,
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="F"><failover dynamic="false"><endpoint key="a"/><endpoint><address uri="http://b"/></endpoint></failover></endpoint>"#,
    );
    let EndpointKind::Failover { children, dynamic } = &artifacts.endpoints[0].kind else {
        panic!("{:?}", artifacts.endpoints[0].kind)
    };
    assert_eq!((children.len(), *dynamic), (2, false));
    assert!(problems.is_empty(), "{problems:?}");

    let (artifacts, problems) = parse(
        ArtifactDir::Endpoints,
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="F"><recipientlist><endpoint key="a"/></recipientlist></endpoint>"#,
    );
    assert!(matches!(
        artifacts.endpoints[0].kind,
        EndpointKind::Unsupported(_)
    ));
    assert_eq!(
        warnings(&problems),
        ["t.xml:1:60: warning: <recipientlist> endpoints are not supported yet"]
    );

    let (artifacts, problems) = parse(
        ArtifactDir::Endpoints,
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="G"><address/></endpoint>"#,
    );
    assert!(artifacts.endpoints.is_empty());
    assert_eq!(
        errors(&problems),
        ["t.xml:1:60: <address> has no uri attribute"]
    );
}

#[test]
fn local_entries() {
    let cases = [
        ("<localEntry key=\"k\">\n  a &amp; b\n</localEntry>", "text"),
        (
            "<localEntry key=\"k\"><![CDATA[<not-xml/>]]></localEntry>",
            "cdata",
        ),
        (
            "<localEntry key=\"k\"><!-- c --><x:y xmlns:x=\"urn:x\">1</x:y></localEntry>",
            "xml",
        ),
        ("<localEntry key=\"k\" src=\"file:a.xml\"/>", "src"),
        // `<description>` is metadata: the value is the text (WSO2's ValidateJSONSchemaTestCase).
        (
            "<localEntry key=\"k\"><![CDATA[{\"a\":1}]]><description/></localEntry>",
            "json",
        ),
        (
            "<localEntry key=\"k\"><description>d</description><x:y xmlns:x=\"urn:x\">1</x:y></localEntry>",
            "xml",
        ),
    ];
    for (xml, what) in cases {
        let (artifacts, problems) = parse(ArtifactDir::LocalEntries, xml);
        assert!(problems.is_empty(), "{problems:?}");
        let entry = &artifacts.local_entries[0];
        assert_eq!(entry.key, "k");
        match (&entry.value, what) {
            (LocalEntryValue::Text(t), "text") => assert_eq!(t, "a & b"),
            (LocalEntryValue::Text(t), "cdata") => assert_eq!(t, "<not-xml/>"),
            (LocalEntryValue::Text(t), "json") => assert_eq!(t, "{\"a\":1}"),
            (LocalEntryValue::Xml(el), "xml") => {
                assert_eq!(
                    (el.ns.as_str(), el.source.as_str()),
                    ("urn:x", "<x:y xmlns:x=\"urn:x\">1</x:y>")
                );
            }
            (LocalEntryValue::Src(s), "src") => assert_eq!(s, "file:a.xml"),
            (other, _) => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn root_element_is_checked() {
    let (_, problems) = parse(
        ArtifactDir::ProxyServices,
        r#"<api name="a" context="/a"/>"#,
    );
    assert_eq!(
        errors(&problems),
        ["t.xml:1:1: expected <proxy> as the root element, found <api>"]
    );
    let (_, problems) = parse(
        ArtifactDir::Sequences,
        r#"<sequence xmlns="urn:other" name="s"/>"#,
    );
    assert_eq!(
        errors(&problems),
        ["t.xml:1:1: <sequence> must be in the Synapse namespace http://ws.apache.org/ns/synapse, not 'urn:other'"]
    );
    let (_, problems) = parse(ArtifactDir::Sequences, "<sequence>\n<oops></sequence>");
    assert_eq!(errors(&problems).len(), 1);
    assert!(
        errors(&problems)[0].starts_with("t.xml:2:7: "),
        "{problems:?}"
    );
}

#[test]
fn unsupported_artifact_kinds_are_recorded() {
    let (artifacts, problems) = parse(
        ArtifactDir::InboundEndpoints,
        r#"<inboundEndpoint xmlns="http://ws.apache.org/ns/synapse" name="I"/>"#,
    );
    assert_eq!(artifacts.unsupported.len(), 1);
    assert_eq!(artifacts.unsupported[0].1, "inboundEndpoint 'I'");
    assert_eq!(
        warnings(&problems),
        ["t.xml:1:1: warning: <inboundEndpoint> artifacts are not supported yet; inboundEndpoint 'I' is not deployed"]
    );
}

#[test]
fn stores_processors_and_tasks_are_read_with_their_parameters() {
    let (a, problems) = parse(
        ArtifactDir::MessageStores,
        r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="S">
             <parameter name="p">1</parameter><parameter name="p">2</parameter><oops/></messageStore>"#,
    );
    assert_eq!(
        a.stores[0].class,
        "org.apache.synapse.message.store.impl.memory.InMemoryStore"
    );
    assert_eq!(a.stores[0].params.len(), 1);
    assert_eq!(a.stores[0].params[0].value, "2");
    assert_eq!(warnings(&problems).len(), 2, "{problems:?}");
    let (a, problems) = parse(
        ArtifactDir::MessageProcessors,
        r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="P" class="C" messageStore="S" targetEndpoint="E">
             <parameter name="interval">10</parameter></messageProcessor>"#,
    );
    assert!(problems.is_empty(), "{problems:?}");
    let p = &a.processors[0];
    assert_eq!(
        (
            p.store.as_str(),
            p.target_endpoint.as_ref().unwrap().0.as_str()
        ),
        ("S", "E")
    );
    let (_, problems) = parse(
        ArtifactDir::MessageProcessors,
        r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="P" class="C"/>"#,
    );
    assert_eq!(
        errors(&problems),
        ["t.xml:1:1: <messageProcessor> has no messageStore attribute"]
    );
    let (a, problems) = parse(
        ArtifactDir::Tasks,
        r#"<task xmlns="http://ws.apache.org/ns/synapse" name="T" class="C">
             <trigger interval="5" count="-1"/>
             <task:property xmlns:task="http://www.wso2.org/products/wso2commons/tasks" name="to" value="x"/>
             <property name="message"><m/></property></task>"#,
    );
    assert!(problems.is_empty(), "{problems:?}");
    let t = &a.tasks[0];
    assert_eq!(
        t.trigger,
        Trigger::Interval {
            seconds: 5,
            count: None
        }
    );
    assert_eq!(t.properties.len(), 2);
    let (a, problems) = parse(
        ArtifactDir::Tasks,
        r#"<task xmlns="http://ws.apache.org/ns/synapse" name="T" class="C"><trigger cron="0 * * * * ?" interval="1"/></task>"#,
    );
    assert!(a.tasks.is_empty());
    assert_eq!(errors(&problems).len(), 1, "{problems:?}");
    let (a, problems) = parse(
        ArtifactDir::Tasks,
        r#"<task xmlns="http://ws.apache.org/ns/synapse" name="T" class="C"/>"#,
    );
    assert!(a.tasks.is_empty() && errors(&problems).is_empty());
    assert_eq!(warnings(&problems).len(), 1, "{problems:?}");
}

#[test]
fn a_sequence_template_keeps_its_parameters_and_deploys_its_sequence() {
    let (artifacts, problems) = parse(
        ArtifactDir::Templates,
        r#"<template xmlns="http://ws.apache.org/ns/synapse" name="T">
             <parameter name="a" defaultValue="x"/><parameter name="b" isMandatory="true"/>
             <sequence><log/></sequence></template>"#,
    );
    assert!(problems.is_empty(), "{problems:?}");
    let t = &artifacts.sequence_templates[0];
    assert_eq!(t.name, "T");
    assert_eq!(t.params[0].default.as_deref(), Some("x"));
    assert!(t.params[1].mandatory);
    assert_eq!(
        artifacts.sequences[0].name.as_deref(),
        Some(crate::synapse::model::template_sequence_name("T").as_str())
    );
}

#[test]
fn artifact_dir_names() {
    for dir in ArtifactDir::ALL {
        assert_eq!(ArtifactDir::from_dir_name(dir.dir_name()), Some(dir));
    }
    assert_eq!(ArtifactDir::from_dir_name("imports"), None);
    assert_eq!(
        ArtifactDir::from_car_type("synapse/proxy-service"),
        Some(ArtifactDir::ProxyServices)
    );
}

#[test]
fn load_dir_sorts_and_isolates_failures() {
    let root = std::env::temp_dir().join(format!("mint-parse-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let syn = r#"xmlns="http://ws.apache.org/ns/synapse""#;
    write("sequences/b.xml", &format!("<sequence {syn} name=\"b\"/>"));
    write("sequences/a.xml", &format!("<sequence {syn} name=\"a\"/>"));
    write("sequences/broken.xml", "<sequence");
    write("sequences/notes.txt", "ignored");
    write("unknown-folder/x.xml", "<whatever/>");
    write(
        "inbound-endpoints/i.xml",
        &format!("<inboundEndpoint {syn} name=\"i\"/>"),
    );
    let mut artifacts = Artifacts::default();
    let mut problems = Vec::new();
    load_synapse_dir(&root, &mut artifacts, &mut problems);
    let _ = std::fs::remove_dir_all(&root);

    let names: Vec<_> = artifacts
        .sequences
        .iter()
        .map(|s| s.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(errors(&problems).len(), 1, "{problems:?}");
    assert!(problems[0].origin.file.ends_with("sequences/broken.xml"));
    assert_eq!(artifacts.unsupported.len(), 1);
}

#[test]
fn registry_elements() {
    let file = Arc::new(PathBuf::from("registry/x.xml"));
    let mut problems = Vec::new();
    let el =
        parse_document(r#"<sequence xmlns="http://ws.apache.org/ns/synapse"><drop/></sequence>"#)
            .unwrap();
    let seq = parse_sequence_element(&el, &file, &mut problems).unwrap();
    assert_eq!((seq.name, seq.element.elements().count()), (None, 1));
    assert_eq!(seq.origin.file, file);

    let el = parse_document(
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse"><address uri="http://a"/></endpoint>"#,
    )
    .unwrap();
    assert!(parse_endpoint_element(&el, &file, &mut problems).is_some());
    assert!(parse_sequence_element(&el, &file, &mut problems).is_none());
    assert_eq!(
        errors(&problems),
        ["registry/x.xml:1:1: expected <sequence> as the root element, found <endpoint>"]
    );
}

// ------------------------------------------------------------------------------------------------
// Real artifacts
// ------------------------------------------------------------------------------------------------

#[test]
fn wso2_perf_bench_artifacts_parse() {
    let dir = shared_dir().join("bench/wso2-perf/synapse");
    let mut artifacts = Artifacts::default();
    let mut problems = Vec::new();
    let mut parsed = 0;
    for path in xml_files(&dir) {
        let text = std::fs::read_to_string(&path).unwrap();
        let root = parse_document(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        // artifacts.xml (CAR descriptor) and the XSLT resource are not Synapse artifacts.
        let Some(kind) = dir_for_root(&root.local) else {
            continue;
        };
        parse_artifact_file(&path, &text, kind, &mut artifacts, &mut problems);
        parsed += 1;
    }
    // SecureProxy asks for WS-Security (UsernameToken over a policy): not served open.
    let errors = errors(&problems);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors
        .iter()
        .all(|e| e.contains("SecureProxy-1.0.0.xml") && e.contains("WS-Security")));
    assert_eq!(parsed, 28);
    assert_eq!(artifacts.proxies.len(), 19);
    assert_eq!(artifacts.apis.len(), 2);
    assert_eq!(artifacts.endpoints.len(), 1);
    assert_eq!(artifacts.local_entries.len(), 6);

    let real = &artifacts.endpoints[0];
    assert_eq!(real.name.as_deref(), Some("RealService"));
    let EndpointKind::Address { uri, qos, .. } = &real.kind else {
        panic!("{:?}", real.kind)
    };
    assert_eq!(uri, "http://netty:8688/service/EchoService");
    let timeout = qos.timeout.as_ref().unwrap();
    assert_eq!(
        (timeout.duration_ms, timeout.action),
        (Some(30000), TimeoutAction::Fault)
    );
    assert_eq!(qos.suspend_on_failure.as_ref().unwrap().error_codes, [-1]);

    let echo = artifacts.apis.iter().find(|a| a.name == "EchoApi").unwrap();
    assert_eq!(
        (echo.context.as_str(), echo.version_type),
        ("/echo", VersionType::None)
    );
    assert_eq!(
        echo.resources[0].matcher,
        ResourceMatcher::UrlMapping("/*".into())
    );
    assert!(
        matches!(&echo.resources[0].fault_sequence, Some(SeqRef::Key { key, .. }) if key == "fault")
    );

    let direct = artifacts
        .proxies
        .iter()
        .find(|p| p.name == "DirectProxy")
        .unwrap();
    assert!(
        matches!(&direct.target.endpoint, Some(EndpointRef::Key { key, .. }) if key == "RealService")
    );
    assert_eq!(direct.origin.pos, pos(17, 1));
}

#[test]
fn compat_case_homes_load() {
    let cases = shared_dir().join("compat/cases");
    let mut homes = 0;
    let mut case_dirs: Vec<PathBuf> = std::fs::read_dir(&cases)
        .unwrap_or_else(|e| panic!("{}: {e}", cases.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    case_dirs.sort();
    for case in case_dirs {
        let home = case.join("home");
        let synapse = home.join("repository/deployment/server/synapse-configs/default");
        if !synapse.is_dir() {
            continue;
        }
        homes += 1;
        let mut artifacts = Artifacts::default();
        let mut problems = Vec::new();
        load_synapse_dir(&synapse, &mut artifacts, &mut problems);
        assert_eq!(
            errors(&problems),
            Vec::<String>::new(),
            "{}",
            case.display()
        );
        let count = artifacts.proxies.len()
            + artifacts.apis.len()
            + artifacts.sequences.len()
            + artifacts.endpoints.len()
            + artifacts.local_entries.len();
        assert!(count > 0, "{}", case.display());

        // Registry resources holding sequences and endpoints.
        for sub in ["config", "governance", "local"] {
            let registry = home.join("registry").join(sub);
            for dir in walk_dirs(&registry) {
                for path in xml_files(&dir) {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let root = parse_document(&text).unwrap();
                    let file = Arc::new(path.clone());
                    let ok = match root.local.as_str() {
                        "sequence" => parse_sequence_element(&root, &file, &mut problems).is_some(),
                        "endpoint" => parse_endpoint_element(&root, &file, &mut problems).is_some(),
                        _ => true,
                    };
                    assert!(ok, "{}", path.display());
                    assert_eq!(errors(&problems), Vec::<String>::new());
                }
            }
        }
    }
    assert!(homes >= 20, "found only {homes} compat homes");
}

/// `dir` and all folders below it (none when it does not exist).
fn walk_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            }
        }
        out.push(dir);
    }
    out
}
