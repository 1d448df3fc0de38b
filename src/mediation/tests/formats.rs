//! An endpoint's `format` and the message type's formatter, in-process: what reaches the backend.
//! Behaviour follows wso2/wso2-synapse `core/axis2/Axis2FlexibleMEPClient.java` (format=soap11,
//! soap12, pox, get) and Axis2's formatters (a SOAP message type writes an envelope, a plain-XML
//! one the body's first element).

use http::StatusCode;

use super::{mediator_rig, request, run_local, Answer};
use crate::http::body::Body;

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

fn call(format: &str) -> String {
    format!(
        r#"<call><endpoint><address uri="http://backend:9000/svc" format="{format}"/></endpoint></call><respond/>"#
    )
}

#[test]
fn format_soap11_wraps_plain_xml_and_posts_it_as_text_xml() {
    run_local(async {
        let rig = mediator_rig(&call("soap11"));
        rig.upstream.always("backend:9000", Answer::Echo);
        let r = rig
            .post(
                "/m/t",
                "application/xml",
                "<LookupCity><zip>60601</zip></LookupCity>",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let sent = &rig.upstream.requests()[0];
        assert_eq!(sent.method, http::Method::POST);
        assert_eq!(sent.headers["content-type"], "text/xml");
        let body = String::from_utf8_lossy(&sent.body);
        assert!(body.contains(SOAP11), "{body}");
        assert!(
            body.contains("<LookupCity><zip>60601</zip></LookupCity>"),
            "{body}"
        );
    });
}

#[test]
fn format_soap11_converts_a_soap12_envelope_keeping_its_headers() {
    run_local(async {
        let rig = mediator_rig(&call("soap11"));
        rig.upstream.always("backend:9000", Answer::Echo);
        let soap12 = format!(
            r#"<s:Envelope xmlns:s="{SOAP12}"><s:Header><h xmlns="urn:h">1</h></s:Header><s:Body><m:op xmlns:m="urn:m"/></s:Body></s:Envelope>"#
        );
        rig.post("/m/t", "application/soap+xml", &soap12).await;
        let sent = &rig.upstream.requests()[0];
        let body = String::from_utf8_lossy(&sent.body);
        assert!(body.contains(SOAP11) && !body.contains(SOAP12), "{body}");
        assert!(body.contains(r#"<h xmlns="urn:h">1</h>"#), "{body}");
        assert!(body.contains(r#"<m:op xmlns:m="urn:m"/>"#), "{body}");
    });
}

#[test]
fn format_soap12_puts_the_action_in_the_content_type() {
    run_local(async {
        let rig = mediator_rig(&call("soap12"));
        rig.upstream.always("backend:9000", Answer::Echo);
        let soap11 = format!(
            r#"<s:Envelope xmlns:s="{SOAP11}"><s:Body><m:op xmlns:m="urn:m"/></s:Body></s:Envelope>"#
        );
        let req = request("POST", "/m/t", "text/xml")
            .header("soapaction", "\"urn:op\"")
            .body(Body::full(bytes::Bytes::from(soap11)))
            .unwrap();
        rig.send(req).await;
        let sent = &rig.upstream.requests()[0];
        assert_eq!(
            sent.headers["content-type"],
            "application/soap+xml;action=\"urn:op\""
        );
        assert!(String::from_utf8_lossy(&sent.body).contains(SOAP12));
    });
}

#[test]
fn format_pox_sends_the_soap_body_s_first_element() {
    run_local(async {
        let rig = mediator_rig(&call("pox"));
        rig.upstream.always("backend:9000", Answer::Echo);
        let soap11 = format!(
            r#"<s:Envelope xmlns:s="{SOAP11}"><s:Header><h xmlns="urn:h"/></s:Header><s:Body><m:op xmlns:m="urn:m"><a>1</a></m:op></s:Body></s:Envelope>"#
        );
        rig.post("/m/t", "text/xml", &soap11).await;
        let sent = &rig.upstream.requests()[0];
        assert_eq!(sent.headers["content-type"], "application/xml");
        assert_eq!(
            String::from_utf8_lossy(&sent.body),
            r#"<m:op xmlns:m="urn:m"><a>1</a></m:op>"#
        );
    });
}

#[test]
fn format_get_sends_the_payload_fields_as_the_query() {
    run_local(async {
        let rig = mediator_rig(&call("get"));
        rig.upstream.always("backend:9000", Answer::Echo);
        rig.post(
            "/m/t",
            "application/xml",
            "<req><city>New York</city><n>2</n></req>",
        )
        .await;
        let sent = &rig.upstream.requests()[0];
        assert_eq!(sent.method, http::Method::GET);
        assert_eq!(sent.uri.to_string(), "/svc/t?city=New%20York&n=2");
        assert!(sent.body.is_empty());
        assert!(sent.headers.get("content-type").is_none());
    });
}

/// Without a format, the message type chooses the formatter: `application/xml` on a SOAP message
/// writes the body's first element, `text/xml` on plain XML writes it in a SOAP 1.1 envelope.
#[test]
fn the_message_type_chooses_between_soap_and_plain_xml() {
    run_local(async {
        let rig = mediator_rig(
            r#"<property name="messageType" value="application/xml" scope="axis2"/><respond/>"#,
        );
        let soap11 = format!(
            r#"<s:Envelope xmlns:s="{SOAP11}"><s:Body><m:op xmlns:m="urn:m"/></s:Body></s:Envelope>"#
        );
        let r = rig.post("/m/t", "text/xml", &soap11).await;
        assert_eq!(r.body, r#"<m:op xmlns:m="urn:m"/>"#);
        assert_eq!(r.header("content-type"), Some("application/xml"));

        let rig = mediator_rig(
            r#"<property name="messageType" value="text/xml" scope="axis2"/><respond/>"#,
        );
        let r = rig.post("/m/t", "application/xml", "<op/>").await;
        assert!(
            r.body.contains(SOAP11) && r.body.contains("<op/>"),
            "{}",
            r.body
        );
        assert_eq!(r.header("content-type"), Some("text/xml"));
    });
}

/// A text or form body as XPath sees it, as Axis2's builders make it: `text/plain` is one
/// `<axis2ns:text xmlns:axis2ns="http://ws.apache.org/commons/ns/payload">` element holding the
/// text (wso2/wso2-axis2 `kernel/.../builder/PlainTextBuilder.java`), a form is `<xformValues>`
/// with an element per field, decoded (`XFormURLEncodedBuilder.java`). The body itself is not
/// rewritten: what is not changed goes out as it came.
#[test]
fn text_and_form_bodies_have_axis2s_xml_view() {
    run_local(async {
        let rig = mediator_rig(
            r#"<property name="X-Local" scope="transport" expression="local-name($body/*[1])"/>
               <property name="X-Ns" scope="transport" expression="namespace-uri($body/*[1])"/>
               <property name="X-Text" scope="transport" expression="string($body/*[1])"/>
               <property name="X-City" scope="transport" expression="$body/xformValues/city"/>
               <log level="full"/>
               <respond/>"#,
        );
        let r = rig.post("/m/t", "text/plain", "a < b & c").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.header("x-local"), Some("text"));
        assert_eq!(
            r.header("x-ns"),
            Some("http://ws.apache.org/commons/ns/payload")
        );
        assert_eq!(r.header("x-text"), Some("a < b & c"));
        assert_eq!(r.body, "a < b & c");
        let r = rig
            .post(
                "/m/t",
                "application/x-www-form-urlencoded",
                "city=New+York&n=2&bad%20name=x",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.header("x-local"), Some("xformValues"));
        assert_eq!(r.header("x-city"), Some("New York"));
        assert_eq!(r.body, "city=New+York&n=2&bad%20name=x");
    });
}
