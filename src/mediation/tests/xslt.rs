//! `<xslt>` in-process: a stylesheet from a local entry applied to the SOAP body's first element,
//! to a `source`, into a `target` property, with parameters, and a broken stylesheet reported at
//! deployment. Behaviour follows wso2/wso2-synapse `mediators/transform/XSLTMediator.java`.

use http::StatusCode;

use super::{run_local, Rig, NS};
use crate::config::Settings;

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// Renames `<order>` to `<o>`, adds the `tag` parameter, copies the rest.
const STYLESHEET: &str = r#"<localEntry xmlns="http://ws.apache.org/ns/synapse" key="rename">
  <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
    <xsl:param name="tag" select="'none'"/>
    <xsl:template match="@* | node()"><xsl:copy><xsl:apply-templates select="@* | node()"/></xsl:copy></xsl:template>
    <xsl:template match="order"><o tag="{$tag}"><xsl:value-of select="id"/></o></xsl:template>
  </xsl:stylesheet>
</localEntry>"#;

fn rig(seq: &str) -> Rig {
    super::faulting_rig(&[STYLESHEET], seq, Settings::default())
}

#[test]
fn transforms_the_soap_body_s_first_element_with_parameters() {
    run_local(async {
        let rig = rig(
            r#"<xslt key="rename"><property name="tag" expression="$trp:X-Tag"/></xslt><respond/>"#,
        );
        let soap = format!(
            r#"<s:Envelope xmlns:s="{SOAP11}"><s:Header/><s:Body><orders><order><id>1</id></order><order><id>2</id></order></orders></s:Body></s:Envelope>"#
        );
        let req = super::request("POST", "/m/t", "text/xml")
            .header("x-tag", "it's")
            .body(crate::http::body::Body::full(bytes::Bytes::from(soap)))
            .unwrap();
        let r = rig.send(req).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains(SOAP11), "{}", r.body);
        assert!(
            r.body
                .contains(r#"<orders><o tag="it's">1</o><o tag="it's">2</o></orders>"#),
            "{}",
            r.body
        );
    });
}

#[test]
fn a_source_and_a_target_property() {
    run_local(async {
        let rig = rig(r#"<xslt key="rename" source="//order[2]" target="OUT"/>
               <header name="X-Out" scope="transport" expression="get-property('OUT')"/>
               <xslt key="rename" source="//order[1]"/>
               <respond/>"#);
        let r = rig
            .post(
                "/m/t",
                "application/xml",
                "<orders><order><id>1</id></order><order><id>2</id></order></orders>",
            )
            .await;
        assert_eq!(r.header("x-out"), Some(r#"<o tag="none">2</o>"#));
        assert_eq!(
            r.body,
            r#"<orders><o tag="none">1</o><order><id>2</id></order></orders>"#
        );
    });
}

#[test]
fn a_missing_stylesheet_is_a_fault_and_a_broken_one_a_deployment_error() {
    run_local(async {
        let rig = rig(r#"<xslt key="{$trp:X-Sheet}"/><respond/>"#);
        let r = rig.post("/m/t", "application/xml", "<a/>").await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        let error = r.header("x-error").unwrap_or_default();
        assert!(error.contains("XSLT"), "{error}");
    });
    let broken = r#"<localEntry xmlns="http://ws.apache.org/ns/synapse" key="broken">
  <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
    <xsl:template match="/"><xsl:value-of select="((("/></xsl:template>
  </xsl:stylesheet>
</localEntry>"#;
    let api = format!(
        r#"<api {NS} name="B" context="/b"><resource methods="POST"><inSequence><xslt key="broken"/></inSequence></resource></api>"#
    );
    let (_, problems) = crate::endpoint::mock::compile_files(&[broken, &api]);
    let problems: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("xslt stylesheet 'broken'") && p.contains("does not compile")),
        "{problems:?}"
    );
}
