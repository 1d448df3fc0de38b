//! End-to-end: WSO2's XSLTProxy and XSLTEnhancedProxy (fastXSLT), unchanged but for the endpoint
//! address, with their stylesheets as local entries: the request is reversed on the way in
//! (`m:skcotSyub`, `redro`, …), echoed by the backend, and restored on the way out, so the client
//! gets its own orders back. Both of WSO2's XML payloads, 1 KB and 10 KB.

mod common;

use std::io::Write;

use common::*;

#[test]
fn wso2_xslt_proxies_round_trip_the_orders() {
    let (_backend, bport) = start_backend();
    let h = wso2_perf_home(bport, &["XSLTProxy", "XSLTEnhancedProxy"], &[]);
    for entry in [
        "xslt_transform",
        "xslt_transform_reverse",
        "fastxslt_transform",
        "fastxslt_transform_reverse",
    ] {
        let text = std::fs::read_to_string(data(&format!("wso2-perf/{entry}-1.0.0.xml"))).unwrap();
        h.artifact("local-entries", &format!("{entry}.xml"), &text);
    }
    let mint = start_mint(&h.root, 1);
    let ns = [
        ("s", "http://schemas.xmlsoap.org/soap/envelope/"),
        ("m", "http://services.samples/xsd"),
    ];
    for (proxy, payload) in [
        ("XSLTProxy", "1000B_buyStocks.xml"),
        ("XSLTProxy", "10000B_buyStocks.xml"),
        ("XSLTEnhancedProxy", "1000B_buyStocks.xml"),
        ("XSLTEnhancedProxy", "10000B_buyStocks.xml"),
    ] {
        let body = std::fs::read(data(&format!("wso2-perf/{payload}"))).unwrap();
        let r = request(
            mint.http,
            "POST",
            &format!("/services/{proxy}/buyStocksOperation"),
            &[
                ("SOAPAction", "urn:buyStocks"),
                ("Content-Type", "text/xml"),
            ],
            &body,
        );
        assert_eq!(r.status, 200, "{proxy} {payload}: {}", r.text());
        let sent = String::from_utf8_lossy(&body);
        for field in ["symbol", "buyerID", "price", "volume"] {
            let path = format!("/s:Envelope/s:Body/m:buyStocks/order/{field}");
            let want = select_ns(&sent, &path, &ns);
            assert!(!want.is_empty(), "{payload}: {path}");
            let got = select_ns(&r.text(), &path, &ns);
            assert_eq!(got, want, "{proxy} {payload}: {field}");
        }
    }
    // A body that is not XML: fastXSLT faults (mint's engine leaves it to libxslt, as before it
    // existed), the fault sequence answers 500, and the proxy keeps serving.
    let r = request(
        mint.http,
        "POST",
        "/services/XSLTEnhancedProxy/buyStocksOperation",
        &[("Content-Type", "text/xml")],
        b"<m:buyStocks xmlns:m=\"urn:m\"><order></m:buyStocks>",
    );
    assert_eq!(r.status, 500, "{}", r.text());
    let body = std::fs::read(data("wso2-perf/1000B_buyStocks.xml")).unwrap();
    let r = request(
        mint.http,
        "POST",
        "/services/XSLTEnhancedProxy/buyStocksOperation",
        &[("Content-Type", "text/xml")],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

/// validate with a schema from the registry (`gov:`), and an xslt with a stylesheet from the
/// registry and a parameter: WSO2's usual layout of a CAR's resources.
#[test]
fn registry_schema_and_stylesheet() {
    let h = TempHome::new("xslt-registry");
    h.file(
        "registry/governance/schemas/order.xsd",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="order"><xs:complexType><xs:sequence>
    <xs:element name="id" type="xs:int"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"#,
    )
    .file(
        "registry/governance/xslt/tag.xslt",
        r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:param name="who"/>
  <xsl:template match="/order"><tagged by="{$who}"><xsl:copy-of select="id"/></tagged></xsl:template>
</xsl:stylesheet>"#,
    );
    h.artifact(
        "api",
        "Orders.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Orders" context="/orders">
  <resource methods="POST">
    <inSequence>
      <validate>
        <schema key="gov:schemas/order.xsd"/>
        <on-fail>
          <payloadFactory media-type="xml"><format><invalid xmlns="">$1</invalid></format>
            <args><arg expression="get-property('ERROR_MESSAGE')"/></args></payloadFactory>
          <property name="HTTP_SC" scope="axis2" value="400"/>
          <respond/>
        </on-fail>
      </validate>
      <xslt key="gov:xslt/tag.xslt"><property name="who" value="mint"/></xslt>
      <respond/>
    </inSequence>
  </resource>
</api>"#,
    );
    let mint = start_mint(&h.root, 1);
    let post = |body: &str| {
        request(
            mint.http,
            "POST",
            "/orders",
            &[("Content-Type", "application/xml")],
            body.as_bytes(),
        )
    };
    let r = post("<order><id>7</id></order>");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"<tagged by="mint"><id>7</id></tagged>"#);
    let r = post("<order><id>seven</id></order>");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("'seven' is not a valid value"),
        "{}",
        r.text()
    );
}

/// `<resource location key>`: an imported stylesheet from the registry and a `document()` of a
/// local entry; validate with two `<schema>`s (a local entry and a registry resource) combined,
/// the first importing a type schema mapped by a `<resource>`.
#[test]
fn imports_through_resources_and_several_schemas() {
    let h = TempHome::new("xslt-resources");
    h.file(
        "registry/governance/xslt/main.xslt",
        r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="lib/sign.xsl"/>
  <xsl:template match="/*"><done><xsl:call-template name="sign"/><xsl:value-of select="document('codes')/codes/c[@k=current()/@k]"/></done></xsl:template>
</xsl:stylesheet>"#,
    )
    .file(
        "registry/config/xslt/sign.xsl",
        r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template name="sign"><by>mint</by></xsl:template>
</xsl:stylesheet>"#,
    )
    .file(
        "registry/governance/schemas/note.xsd",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="note" type="xs:string"/></xs:schema>"#,
    );
    h.artifact(
        "local-entries",
        "codes.xml",
        r#"<localEntry xmlns="http://ws.apache.org/ns/synapse" key="codes"><codes xmlns=""><c k="1">one</c><c k="2">two</c></codes></localEntry>"#,
    )
    .artifact(
        "local-entries",
        "types.xml",
        r#"<localEntry xmlns="http://ws.apache.org/ns/synapse" key="types"><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">
  <xs:simpleType name="small"><xs:restriction base="xs:int"><xs:maxInclusive value="9"/></xs:restriction></xs:simpleType>
</xs:schema></localEntry>"#,
    )
    .artifact(
        "local-entries",
        "order.xml",
        r#"<localEntry xmlns="http://ws.apache.org/ns/synapse" key="order"><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t">
  <xs:import namespace="urn:t" schemaLocation="http://schemas.example.com/types.xsd"/>
  <xs:element name="order"><xs:complexType><xs:attribute name="k" type="t:small"/></xs:complexType></xs:element>
</xs:schema></localEntry>"#,
    )
    .artifact(
        "api",
        "Orders.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Orders" context="/orders">
  <resource methods="POST">
    <inSequence>
      <validate>
        <schema key="order"/>
        <schema key="gov:schemas/note.xsd"/>
        <resource location="http://schemas.example.com/types.xsd" key="types"/>
        <on-fail>
          <payloadFactory media-type="xml"><format><invalid xmlns="">$1</invalid></format>
            <args><arg expression="get-property('ERROR_MESSAGE')"/></args></payloadFactory>
          <property name="HTTP_SC" scope="axis2" value="400"/>
          <respond/>
        </on-fail>
      </validate>
      <xslt key="gov:xslt/main.xslt">
        <resource location="lib/sign.xsl" key="conf:xslt/sign.xsl"/>
        <resource location="codes" key="codes"/>
      </xslt>
      <respond/>
    </inSequence>
  </resource>
</api>"#,
    );
    let mint = start_mint(&h.root, 1);
    let post = |body: &str| {
        request(
            mint.http,
            "POST",
            "/orders",
            &[("Content-Type", "application/xml")],
            body.as_bytes(),
        )
    };
    let r = post(r#"<order k="2"/>"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "<done><by>mint</by>two</done>");
    // The second schema is part of the whole.
    let r = post("<note>hi</note>");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "<done><by>mint</by></done>");
    // The imported type holds.
    let r = post(r#"<order k="12"/>"#);
    assert_eq!(r.status, 400, "{}", r.text());
    let r = post("<other/>");
    assert_eq!(r.status, 400, "{}", r.text());
}

/// validate on JSON messages: a JSON Schema from the registry whose `$ref` is mapped to a local
/// entry by `<resource>`, the whole payload and a `json-eval` source; ERROR_MESSAGE and
/// ERROR_DETAIL as MI words them.
#[test]
fn json_schema_validation() {
    let h = TempHome::new("json-schema");
    h.file(
        "registry/governance/schemas/order.json",
        r#"{"type": "object", "required": ["id", "items"],
            "properties": {"id": {"type": "integer"}, "items": {"type": "array", "items": {"$ref": "item.json"}}}}"#,
    );
    h.artifact(
        "local-entries",
        "item.xml",
        r#"<localEntry xmlns="http://ws.apache.org/ns/synapse" key="item_schema">{"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}</localEntry>"#,
    )
    .artifact(
        "api",
        "Orders.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Orders" context="/orders">
  <resource methods="POST" uri-template="/whole">
    <inSequence>
      <validate>
        <schema key="gov:schemas/order.json"/>
        <resource location="item.json" key="item_schema"/>
        <on-fail>
          <payloadFactory media-type="json"><format>{"error": "$1", "detail": "$2"}</format>
            <args><arg expression="get-property('ERROR_MESSAGE')"/><arg expression="get-property('ERROR_DETAIL')"/></args></payloadFactory>
          <property name="HTTP_SC" scope="axis2" value="400"/>
          <respond/>
        </on-fail>
      </validate>
      <respond/>
    </inSequence>
  </resource>
  <resource methods="POST" uri-template="/part">
    <inSequence>
      <validate source="json-eval($.order.items[0])">
        <schema key="item_schema"/>
        <on-fail>
          <payloadFactory media-type="json"><format>{"error": "$1"}</format>
            <args><arg expression="get-property('ERROR_MESSAGE')"/></args></payloadFactory>
          <property name="HTTP_SC" scope="axis2" value="400"/>
          <respond/>
        </on-fail>
      </validate>
      <respond/>
    </inSequence>
  </resource>
</api>"#,
    );
    let mint = start_mint(&h.root, 1);
    let post = |path: &str, body: &str| {
        request(
            mint.http,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    };
    let ok = r#"{"id": 7, "items": [{"sku": "a"}]}"#;
    let r = post("/orders/whole", ok);
    assert_eq!((r.status, r.text()), (200, ok.to_string()));
    let r = post("/orders/whole", r#"{"id": "seven", "items": [{"qty": 1}]}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    let t = r.text();
    assert!(
        t.contains(r#""error": "\"seven\" is not of type \"integer\"""#),
        "{t}"
    );
    assert!(
        t.contains("Error while validating Json message /id: "),
        "{t}"
    );
    assert!(t.contains("/items/0: "), "{t}");
    // An empty payload is {} (which lacks the required members).
    assert_eq!(post("/orders/whole", "").status, 400);
    // A json-eval source: only that part is checked.
    let r = post(
        "/orders/part",
        r#"{"order": {"id": "x", "items": [{"sku": "b"}]}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = post("/orders/part", r#"{"order": {"items": [{"sku": 5}]}}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("is not of type"), "{}", r.text());
}

/// `<localEntry src="file:…">`: the file (relative to the home) is the entry, as MI reads it; a
/// missing file is a deployment error naming it.
#[test]
fn local_entries_read_from_files() {
    let h = TempHome::new("local-src");
    h.file(
        "repository/samples/resources/transform/tag.xslt",
        r#"<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/order"><tagged><xsl:copy-of select="id"/></tagged></xsl:template>
</xsl:stylesheet>"#,
    );
    h.artifact(
        "local-entries",
        "tag.xml",
        r#"<localEntry xmlns="http://ws.apache.org/ns/synapse" key="tag" src="file:repository/samples/resources/transform/tag.xslt"/>"#,
    )
    .artifact(
        "api",
        "Orders.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Orders" context="/orders">
  <resource methods="POST"><inSequence><xslt key="tag"/><respond/></inSequence></resource>
</api>"#,
    );
    {
        let mint = start_mint(&h.root, 1);
        let r = request(
            mint.http,
            "POST",
            "/orders",
            &[("Content-Type", "application/xml")],
            b"<order><id>7</id></order>",
        );
        assert_eq!(
            (r.status, r.text()),
            (200, "<tagged><id>7</id></tagged>".to_string())
        );
    }
    h.artifact(
        "local-entries",
        "gone.xml",
        r#"<localEntry xmlns="http://ws.apache.org/ns/synapse" key="gone" src="file:nowhere/gone.xslt"/>"#,
    );
    let (passed, text) = check_output(&h.root);
    assert!(!passed, "{text}");
    assert!(
        text.contains("gone.xml:1:1: local entry 'gone': cannot read src 'file:nowhere/gone.xslt'"),
        "{text}"
    );
}

/// Hostile artifacts and bodies: a stylesheet and a schema declaring external entities, a
/// stylesheet that recurses without end, and a 50 MB body against validate are each refused or
/// bounded with a clear fault, and the server goes on serving.
#[test]
fn hostile_stylesheets_schemas_and_bodies() {
    let h = TempHome::new("xslt-hostile");
    let xxe = r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>"#;
    h.file(
        "registry/governance/xslt/xxe.xslt",
        &format!(
            r#"{xxe}<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/"><r>&e;</r></xsl:template></xsl:stylesheet>"#
        ),
    )
    .file(
        "registry/governance/xslt/forever.xslt",
        r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><xsl:call-template name="f"/></xsl:template>
  <xsl:template name="f"><x><xsl:call-template name="f"/></x></xsl:template>
</xsl:stylesheet>"#,
    )
    .file(
        "registry/governance/schemas/xxe.xsd",
        &format!(
            r#"{xxe}<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="xs:string" default="&e;"/></xs:schema>"#
        ),
    )
    .file(
        "registry/governance/schemas/a.xsd",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="xs:string"/></xs:schema>"#,
    );
    let resource = |path: &str, mediator: &str| {
        format!(
            r#"<resource methods="POST" uri-template="/{path}"><inSequence>{mediator}<respond/></inSequence>
  <faultSequence>
    <payloadFactory media-type="xml"><format><fault xmlns="">$1</fault></format><args><arg expression="get-property('ERROR_MESSAGE')"/></args></payloadFactory>
    <property name="HTTP_SC" scope="axis2" value="500"/><respond/>
  </faultSequence></resource>"#
        )
    };
    let on_fail =
        r#"<on-fail><property name="HTTP_SC" scope="axis2" value="400"/><respond/></on-fail>"#;
    h.artifact(
        "api",
        "H.xml",
        &format!(
            r#"<api xmlns="http://ws.apache.org/ns/synapse" name="H" context="/h">{}{}{}{}</api>"#,
            resource("xxe", r#"<xslt key="gov:xslt/xxe.xslt"/>"#),
            resource("forever", r#"<xslt key="gov:xslt/forever.xslt"/>"#),
            resource(
                "xsd",
                &format!(r#"<validate><schema key="gov:schemas/xxe.xsd"/>{on_fail}</validate>"#)
            ),
            resource(
                "big",
                &format!(r#"<validate><schema key="gov:schemas/a.xsd"/>{on_fail}</validate>"#)
            ),
        ),
    );
    let mint = start_mint(&h.root, 1);
    let post = |path: &str, body: &[u8]| {
        request(
            mint.http,
            "POST",
            path,
            &[("Content-Type", "application/xml")],
            body,
        )
    };
    let r = post("/h/xxe", b"<a/>");
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("DOCTYPE is not allowed"), "{}", r.text());
    assert!(!r.text().contains("root:"), "{}", r.text());
    let r = post("/h/forever", b"<a/>");
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(
        r.text().contains("Unable to perform XSLT transformation"),
        "{}",
        r.text()
    );
    let r = post("/h/xsd", b"<a/>");
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("DOCTYPE is not allowed"), "{}", r.text());
    // 50 MB: over the body limit (10 MB by default), refused before any schema work; the
    // answer comes while the client is still sending.
    let mut s = connect(mint.http);
    let head = "POST /h/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 52428800\r\n\r\n<a>";
    s.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..12 {
        if s.write_all(&chunk).is_err() {
            break;
        }
    }
    let r = read_response(&mut std::io::BufReader::new(s), false).expect("an answer");
    // (This resource's fault sequence answers 500 with ERROR_MESSAGE.)
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("limit 10485760 bytes"), "{}", r.text());
    // Still serving.
    let r = post("/h/big", b"<a>fine</a>");
    assert_eq!((r.status, r.text()), (200, "<a>fine</a>".to_string()));
}
