//! End-to-end: a JSON API routed with json-eval, a JSON payload built by payloadFactory, an echo
//! backend, and XML turned into JSON by messageType.

mod common;

use common::*;

const API: &str = r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Orders" context="/orders">
    <resource methods="POST" uri-template="/place">
        <inSequence>
            <filter source="json-eval($.order.type)" regex="express">
                <then>
                    <payloadFactory media-type="json">
                        <format>{"id":"$1","items":$2,"priority":true}</format>
                        <args>
                            <arg evaluator="json" expression="$.order.id"/>
                            <arg evaluator="json" expression="$.order.items"/>
                        </args>
                    </payloadFactory>
                    <call><endpoint key="Echo"/></call>
                    <respond/>
                </then>
                <else>
                    <property name="HTTP_SC" value="422" scope="axis2"/>
                    <payloadFactory media-type="json">
                        <format>{"error":"only express orders, not $1"}</format>
                        <args><arg expression="json-eval($.order.type)"/></args>
                    </payloadFactory>
                    <respond/>
                </else>
            </filter>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/typed">
        <inSequence>
            <property name="messageType" value="application/xml" scope="axis2"/>
            <filter source="//type" regex="express">
                <then><property name="X-Route" value="express" scope="transport"/></then>
                <else><property name="X-Route" value="other" scope="transport"/></else>
            </filter>
            <respond/>
        </inSequence>
    </resource>
    <resource methods="POST" uri-template="/xml">
        <inSequence>
            <property name="messageType" value="application/json" scope="axis2"/>
            <respond/>
        </inSequence>
    </resource>
</api>"#;

#[test]
fn json_routing_payload_factory_and_conversion() {
    let (_backend, bport) = start_backend();
    let h = TempHome::new("json");
    h.artifact("api", "Orders.xml", API);
    h.artifact(
        "endpoints",
        "Echo.xml",
        &format!(r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="Echo"><http method="post" uri-template="http://127.0.0.1:{bport}/echo"/></endpoint>"#),
    );
    let mint = start_mint(&h.root, 1);
    let json = [("Content-Type", "application/json")];
    let r = request(
        mint.http,
        "POST",
        "/orders/place",
        &json,
        br#"{"order":{"id":42,"type":"express","items":[{"sku":"a","qty":1}]}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        r#"{"id":"42","items":[{"sku":"a","qty":1}],"priority":true}"#
    );
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .contains("application/json"));
    let r = request(
        mint.http,
        "POST",
        "/orders/place",
        &json,
        br#"{"order":{"id":7,"type":"slow"}}"#,
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (422, r#"{"error":"only express orders, not slow"}"#)
    );
    // XML in, JSON out by messageType, with WSO2's rules (numbers stay numbers, one element is
    // not an array, repeated ones are).
    let r = request(
        mint.http,
        "POST",
        "/orders/xml",
        &[("Content-Type", "application/xml")],
        b"<order><id>42</id><item>a</item><item>b</item><gift>true</gift></order>",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        r#"{"order":{"id":42,"item":["a","b"],"gift":true}}"#
    );
    // The same API fed XML: json-eval reads WSO2's JSON view of it, and messageType answers JSON.
    let r = request(
        mint.http,
        "POST",
        "/orders/place",
        &[("Content-Type", "application/xml")],
        b"<order><id>43</id><type>express</type><items><sku>b</sku><qty>2</qty></items></order>",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        r#"{"id":"43","items":{"sku":"b","qty":2},"priority":true}"#
    );
    // A JSON body is read through WSO2's XML view even after messageType says XML (the byte
    // scanner is for XML bytes only), and goes out converted to XML.
    let r = request(
        mint.http,
        "POST",
        "/orders/typed",
        &json,
        br#"{"order":{"type":"express"}}"#,
    );
    assert_eq!(r.header("x-route"), Some("express"));
    assert_eq!(
        r.text(),
        "<jsonObject><order><type>express</type></order></jsonObject>"
    );
    // Malformed JSON read by a mediator: a clean 400.
    let r = request(mint.http, "POST", "/orders/place", &json, b"{\"order\": ");
    assert_eq!(r.status, 400);
}
