//! `<validate>` in-process: a schema from a local entry, the default source and an XPath source,
//! `<on-fail>` with ERROR_MESSAGE, and what mint refuses to deploy. Behaviour follows
//! wso2/wso2-synapse `mediators/builtin/ValidateMediator.java`.

use http::StatusCode;

use super::{run_local, Rig, NS};

const SCHEMA: &str = r#"<localEntry xmlns="http://ws.apache.org/ns/synapse" key="order_xsd">
  <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
    <xs:element name="order"><xs:complexType><xs:sequence>
      <xs:element name="id" type="xs:int"/>
      <xs:element name="qty" type="xs:positiveInteger"/>
    </xs:sequence></xs:complexType></xs:element>
  </xs:schema>
</localEntry>"#;

fn rig(seq: &str) -> Rig {
    let api = format!(
        r#"<api {NS} name="V" context="/v"><resource methods="POST" uri-template="/t">
             <inSequence>{seq}</inSequence></resource></api>"#
    );
    Rig::new(&[SCHEMA, &api])
}

const ON_FAIL: &str = r#"<on-fail>
    <header name="X-Error" scope="transport" expression="get-property('ERROR_MESSAGE')"/>
    <property name="HTTP_SC" scope="axis2" value="400"/>
    <respond/>
  </on-fail>"#;

#[test]
fn a_valid_message_goes_on_and_an_invalid_one_runs_on_fail() {
    run_local(async {
        let rig = rig(&format!(
            r#"<validate><schema key="order_xsd"/>{ON_FAIL}</validate>
               <header name="X-Valid" scope="transport" value="yes"/><respond/>"#
        ));
        let r = rig
            .post(
                "/v/t",
                "application/xml",
                "<order><id>1</id><qty>2</qty></order>",
            )
            .await;
        assert_eq!(
            (r.status, r.header("x-valid")),
            (StatusCode::OK, Some("yes"))
        );
        let r = rig
            .post(
                "/v/t",
                "application/xml",
                "<order><id>one</id><qty>0</qty></order>",
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.header("x-valid"), None);
        let error = r.header("x-error").unwrap_or_default();
        assert!(error.contains("'one' is not a valid value"), "{error}");
        assert!(error.contains("'0' is not a valid value"), "{error}");
    });
}

#[test]
fn a_source_inside_a_soap_body() {
    run_local(async {
        let rig = rig(&format!(
            r#"<validate source="//order"><schema key="order_xsd"/>{ON_FAIL}</validate><respond/>"#
        ));
        let soap = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><req><order><id>1</id><qty>5</qty></order></req></s:Body></s:Envelope>"#;
        let r = rig.post("/v/t", "text/xml", soap).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.header("x-error"));
        let r = rig
            .post("/v/t", "text/xml", &soap.replace("<qty>5</qty>", ""))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    });
}

#[test]
fn what_mint_cannot_check_fully_does_not_deploy() {
    let api = |v: &str| {
        format!(
            r#"<api {NS} name="B" context="/b"><resource methods="POST"><inSequence>{v}</inSequence></resource></api>"#
        )
    };
    for (validate, want) in [
        (
            format!(
                r#"<validate><schema key="order_xsd"/><schema key="order_xsd"/>{ON_FAIL}</validate>"#
            ),
            // Combined, the same schema twice declares its elements twice.
            "schema 'order_xsd', 'order_xsd'",
        ),
        (
            format!(
                r#"<validate source="json-eval($..)"><schema key="order_xsd"/>{ON_FAIL}</validate>"#
            ),
            "invalid JSONPath",
        ),
        (
            r#"<validate><schema key="order_xsd"/></validate>"#.to_string(),
            "<on-fail>",
        ),
    ] {
        let (_, problems) = crate::endpoint::mock::compile_files(&[SCHEMA, &api(&validate)]);
        assert!(
            problems.iter().any(|p| p.message.contains(want)),
            "{want}: {problems:?}"
        );
    }
}
