//! `<rewrite>` in-process: rules with conditions on the URL, headers, query parameters and
//! properties; every action type on a part of the URL; `inProperty`/`outProperty`; a `<send/>`
//! without an endpoint going to the rewritten `To`. Behaviour follows wso2/wso2-synapse
//! `mediators/transform/url/{URLRewriteMediator,RewriteRule,RewriteAction,URIFragments}.java`
//! and `commons/evaluators/` (the conditions), as WSO2's own `mediator/test/rewrite/*TestCase`
//! classes in wso2/micro-integrator `integration/mediation-tests/tests-mediator-1` use them.

use http::StatusCode;

use super::{mediator_rig, run_local, Answer};

/// The URL `rules` make of `input` (given in the property `in`), read back from `out`.
async fn rewritten(rules: &str, input: &str) -> String {
    let rig = mediator_rig(&format!(
        r#"<property name="in" value="{}"/>
           <property name="lang" value="en"/>
           <rewrite inProperty="in" outProperty="out">{rules}</rewrite>
           <header name="X-Out" scope="transport" expression="$ctx:out"/>
           <respond/>"#,
        input.replace('&', "&amp;")
    ));
    let req = super::request("POST", "/m/t", "application/xml")
        .header("X-Tier", "Gold")
        .body(super::Body::full(bytes::Bytes::from_static(b"<a/>")))
        .unwrap();
    let r = rig.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.header("x-out").unwrap_or_default().to_string()
}

#[test]
fn actions_change_one_part_of_the_url_each() {
    run_local(async {
        let url = "http://h.example:8280/services/Echo?a=1&b=2#top";
        let one = |action: &str| format!("<rewriterule>{action}</rewriterule>");
        for (action, want) in [
            (
                r#"<action fragment="protocol" value="https"/>"#,
                "https://h.example:8280/services/Echo?a=1&b=2#top",
            ),
            (
                r#"<action type="append" fragment="host" value=".org"/>"#,
                "http://h.example.org:8280/services/Echo?a=1&b=2#top",
            ),
            (
                r#"<action type="prepend" fragment="path" value="/v2"/>"#,
                "http://h.example:8280/v2/services/Echo?a=1&b=2#top",
            ),
            (
                r#"<action fragment="port" value="9443"/>"#,
                "http://h.example:9443/services/Echo?a=1&b=2#top",
            ),
            (
                r#"<action type="remove" fragment="port"/>"#,
                "http://h.example/services/Echo?a=1&b=2#top",
            ),
            (
                r#"<action type="remove" fragment="ref"/>"#,
                "http://h.example:8280/services/Echo?a=1&b=2",
            ),
            (
                r#"<action type="append" fragment="query" value="c=3"/>"#,
                "http://h.example:8280/services/Echo?a=1&b=2&c=3#top",
            ),
            (
                r#"<action type="prepend" fragment="query" value="z=0"/>"#,
                "http://h.example:8280/services/Echo?z=0&a=1&b=2#top",
            ),
            (
                r#"<action type="remove-query-param" fragment="query" value="a"/>"#,
                "http://h.example:8280/services/Echo?b=2#top",
            ),
            (
                r#"<action type="replace" fragment="path" regex="/services/(\w+)" value="/api/$1/v1"/>"#,
                "http://h.example:8280/api/Echo/v1?a=1&b=2#top",
            ),
            (
                r#"<action fragment="path" value="/lang/{lang}" resolve="true"/>"#,
                "http://h.example:8280/lang/en?a=1&b=2#top",
            ),
            (
                r#"<action fragment="full" xpath="concat('http://other:1', '/x')"/>"#,
                "http://other:1/x",
            ),
        ] {
            assert_eq!(rewritten(&one(action), url).await, want, "{action}");
        }
    });
}

#[test]
fn rules_run_only_where_their_condition_holds() {
    run_local(async {
        let url = "http://h.example:8280/services/Echo?a=1";
        let rule = |cond: &str| {
            format!(
                r#"<rewriterule><condition>{cond}</condition><action fragment="host" value="yes"/></rewriterule>"#
            )
        };
        for (cond, holds) in [
            (
                r#"<equal type="url" source="protocol" value="HTTP"/>"#,
                true,
            ),
            (r#"<equal type="url" source="port" value="8280"/>"#, true),
            (
                r#"<match type="url" source="path" regex="/services/.*"/>"#,
                true,
            ),
            (r#"<match type="url" regex="Echo"/>"#, false),
            (r#"<equal type="param" source="a" value="1"/>"#, true),
            (
                r#"<equal type="header" source="x-tier" value="gold"/>"#,
                true,
            ),
            (r#"<equal source="X-Tier" value="silver"/>"#, false),
            (r#"<equal type="property" source="lang" value="en"/>"#, true),
            (
                r#"<and><equal type="url" source="host" value="h.example"/><not><equal type="property" source="lang" value="en"/></not></and>"#,
                false,
            ),
            (
                r#"<or><equal type="property" source="lang" value="fr"/><match type="url" source="query" regex="a=\d"/></or>"#,
                true,
            ),
        ] {
            let out = rewritten(&rule(cond), url).await;
            assert_eq!(out.contains("//yes:"), holds, "{cond}: {out}");
        }
    });
}

#[test]
fn a_send_without_an_endpoint_goes_to_the_rewritten_to() {
    run_local(async {
        let rig = mediator_rig(
            r#"<header name="To" value="http://nowhere.example/services/Quote"/>
               <rewrite><rewriterule>
                 <condition><equal type="url" source="host" value="nowhere.example"/></condition>
                 <action fragment="host" value="backend"/><action fragment="port" value="9000"/>
               </rewriterule></rewrite>
               <send/>"#,
        );
        rig.upstream.always("backend:9000", Answer::Echo);
        let r = rig.post("/m/t", "application/xml", "<q/>").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        // (The API's REST_URL_POSTFIX, `/t`, follows the address, as for any address in an API.)
        let sent = &rig.upstream.requests()[0];
        assert_eq!(sent.authority, "backend:9000");
        assert_eq!(sent.uri.path(), "/services/Quote/t");
    });
}

#[test]
fn what_synapse_refuses_is_a_deployment_error() {
    for (rewrite, why) in [
        (
            r#"<rewriterule><action fragment="host"/></rewriterule>"#,
            "value or xpath attribute is required",
        ),
        (
            r#"<rewriterule><action fragment="nose" value="x"/></rewriterule>"#,
            "Unknown URL fragment name: nose",
        ),
        (
            r#"<rewriterule><action type="replace" fragment="path" value="x"/></rewriterule>"#,
            "regex attribute is required",
        ),
        (
            r#"<rewriterule><action type="remove-query-param" fragment="path" value="x"/></rewriterule>"#,
            "only allowed for query fragment",
        ),
        (
            r#"<rewriterule><condition><and><equal type="url" value="x"/></and></condition><action value="x"/></rewriterule>"#,
            "two or more expressions",
        ),
        (
            r#"<rewriterule><condition><equal type="cookie" source="c" value="x"/></condition><action value="x"/></rewriterule>"#,
            "unknown condition type 'cookie'",
        ),
    ] {
        super::assert_refused(&format!("<rewrite>{rewrite}</rewrite>"), why);
    }
}
