//! `<enrich>` on JSON payloads, in-process: JSONPath sources and targets, JSON properties and
//! inline JSON, the child/replace/remove/key actions, inline `{expression}`s, and what Synapse
//! refuses at deployment. Behaviour follows wso2/wso2-synapse `mediators/elementary/
//! {EnrichMediator,Source,Target}.java`, `config/xml/EnrichMediatorFactory.java` and
//! `util/InlineExpressionUtil.java`; the cases mirror wso2/micro-integrator
//! `integration/mediation-tests/tests-mediator-1/.../enrich/jsonpath/EnrichIntegrationJsonPathTestCase.java`.

use http::StatusCode;
use serde_json::{json, Value};

use super::{mediator_rig, run_local};

const PATIENT: &str = r#"{"name":"John Doe","phone":[877,353,null],"email":"jd@x.org",
    "doctor":{"name":"thomas collins","id":"76DA"},"hospital":"grand oak"}"#;

async fn enrich(seq: &str, body: &str) -> (StatusCode, Value, String) {
    let rig = mediator_rig(&format!("{seq}<respond/>"));
    let r = rig.post("/m/t", "application/json", body).await;
    let json = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (r.status, json, r.body)
}

#[test]
fn inline_json_is_merged_into_an_object_and_appended_to_an_array() {
    run_local(async {
        let (status, out, body) = enrich(
            r#"<enrich><source type="inline">{"countryCode" : 94}</source>
                 <target action="child" xpath="json-eval($.phone)"/></enrich>
               <enrich><source type="inline">{"active" : true, "id": "X"}</source>
                 <target action="child" xpath="json-eval($.doctor)"/></enrich>
               <enrich><source type="inline">{"visit" : 1}</source>
                 <target action="child" xpath="json-eval($)"/></enrich>"#,
            PATIENT,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(out["phone"], json!([877, 353, null, {"countryCode": 94}]));
        // An existing member keeps its place and takes the new value (Gson's JsonObject.add).
        assert_eq!(
            serde_json::to_string(&out["doctor"]).unwrap(),
            r#"{"name":"thomas collins","id":"X","active":true}"#
        );
        assert_eq!(out["visit"], json!(1));
    });
}

#[test]
fn a_path_is_replaced_by_the_body_or_by_another_path() {
    run_local(async {
        let (_, out, _) = enrich(
            r#"<enrich><source type="body"/><target xpath="json-eval($.hospital)"/></enrich>"#,
            r#"{"a":1,"hospital":"h"}"#,
        )
        .await;
        assert_eq!(out, json!({"a": 1, "hospital": {"a": 1, "hospital": "h"}}));
        // A child's value replaces its parent; a missing last member is not created (Jayway's
        // set), and with clone="false" the source leaves the payload.
        let (_, out, _) = enrich(
            r#"<enrich><source xpath="json-eval($.doctor.name)"/><target xpath="json-eval($.doctor)"/></enrich>
               <enrich><source xpath="json-eval($.email)"/><target xpath="json-eval($.nothere)"/></enrich>
               <enrich><source clone="false" xpath="json-eval($.hospital)"/><target xpath="json-eval($.email)"/></enrich>"#,
            PATIENT,
        )
        .await;
        assert_eq!(out["doctor"], json!("thomas collins"));
        assert_eq!(out["email"], json!("grand oak"));
        assert!(
            out.get("nothere").is_none() && out.get("hospital").is_none(),
            "{out}"
        );
    });
}

#[test]
fn json_properties_keep_gson_text_and_come_back_as_json() {
    run_local(async {
        // A string stored from JSON keeps its quotes (Gson's toString), and reads back as a
        // string; an object and an array round-trip; a plain word is a JSON string.
        let (_, out, _) = enrich(
            r#"<enrich><source xpath="json-eval($.email)"/><target type="property" property="e"/></enrich>
               <enrich><source type="inline">alice@integrator.net</source><target type="property" property="w"/></enrich>
               <enrich><source type="inline">[1, 2, null]</source><target type="property" property="p"/></enrich>
               <enrich><source type="inline">{"person": {"email": null}}</source><target type="body"/></enrich>
               <enrich><source type="property" property="e"/><target xpath="json-eval($.person.email)"/></enrich>
               <enrich><source type="property" property="w"/><target action="child" xpath="json-eval($.person)"/></enrich>
               <enrich><source type="inline">{"phones": []}</source><target action="child" xpath="json-eval($)"/></enrich>
               <enrich><source type="property" property="p"/><target xpath="json-eval($.phones)"/></enrich>
               <header name="X-E" scope="transport" expression="$ctx:e"/>"#,
            PATIENT,
        )
        .await;
        assert_eq!(
            out,
            json!({"person": {"email": "jd@x.org"}, "phones": [1, 2, null]})
        );
        let rig = mediator_rig(
            r#"<enrich><source xpath="json-eval($.email)"/><target type="property" property="e"/></enrich>
               <header name="X-E" scope="transport" expression="$ctx:e"/><respond/>"#,
        );
        let r = rig.post("/m/t", "application/json", PATIENT).await;
        assert_eq!(r.header("x-e"), Some("\"jd@x.org\""));
    });
}

#[test]
fn remove_takes_every_match_out_of_the_body_and_of_a_property() {
    run_local(async {
        let books = r#"{"store":{"book":[{"author":"A","price":8},{"author":"B","price":12},
            {"author":"C","price":9},{"author":"D","price":22}]},"n":1}"#;
        let (_, out, _) = enrich(
            r#"<enrich><source xpath="json-eval($.store.book[*].author,$.store.book[?(@.price > 10)])"/>
                 <target type="body" action="remove"/></enrich>"#,
            books,
        )
        .await;
        assert_eq!(
            out,
            json!({"store": {"book": [{"price": 8}, {"price": 9}]}, "n": 1})
        );
        let (_, out, _) = enrich(
            r#"<enrich><source type="body"/><target type="property" property="b"/></enrich>
               <enrich><source xpath="json-eval($.store.book[0],$.n)"/><target type="property" property="b" action="remove"/></enrich>
               <enrich><source type="property" property="b"/><target type="body"/></enrich>"#,
            books,
        )
        .await;
        assert_eq!(out["store"]["book"].as_array().map(Vec::len), Some(3));
        assert!(out.get("n").is_none(), "{out}");
        // A definite path that finds nothing faults (Jayway's PathNotFoundException).
        let (status, _, _) = enrich(
            r#"<enrich><source xpath="json-eval($.missing.deeper)"/><target type="body" action="remove"/></enrich>"#,
            books,
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    });
}

#[test]
fn a_key_is_renamed_and_inline_expressions_are_filled_in() {
    run_local(async {
        let (_, out, body) = enrich(
            r#"<enrich><source type="inline">fullName</source><target type="key" xpath="json-eval($.doctor.name)"/></enrich>"#,
            PATIENT,
        )
        .await;
        assert_eq!(
            serde_json::to_string(&out["doctor"]).unwrap(),
            r#"{"id":"76DA","fullName":"thomas collins"}"#,
            "{body}"
        );
        // EnrichDoubleQuoteTestCase: a value inside quotes stays as it is; outside quotes a
        // value that is not JSON is quoted.
        let (_, out, _) = enrich(
            r#"<property name="v" expression="json-eval($.test.value)"/>
               <property name="w" expression="json-eval($.test.value)"/>
               <payloadFactory media-type="json"><format>{}</format><args/></payloadFactory>
               <enrich><source type="inline">{"issue": "q", "value": "{$ctx:v}", "bare": {$ctx:w}, "n": {json-eval($.nope)}}</source>
                 <target action="child" xpath="json-eval($)"/></enrich>"#,
            r#"{"test": {"value": "67E 262"}}"#,
        )
        .await;
        assert_eq!(
            out,
            json!({"issue": "q", "value": "67E 262", "bare": "67E 262", "n": ""})
        );
    });
}

#[test]
fn an_xml_payload_is_enriched_through_xml_and_json_text_becomes_the_body() {
    run_local(async {
        // The stored JSON text replaces an XML body as a JSON payload (Target.insertElementToBody).
        let rig = mediator_rig(
            r#"<property name="j" value="{&quot;a&quot;:[1,2]}"/>
               <enrich><source type="property" property="j"/><target type="body"/></enrich>
               <property name="messageType" scope="axis2" value="application/json"/>
               <respond/>"#,
        );
        let r = rig.post("/m/t", "application/xml", "<x><y>1</y></x>").await;
        assert_eq!(r.body, r#"{"a":[1,2]}"#);
    });
}

#[test]
fn what_synapse_refuses_is_a_deployment_error() {
    for (enrich, why) in [
        (
            r#"<source type="body"/><target xpath="json-eval($)"/>"#,
            "cannot replace the root path",
        ),
        (
            r#"<source type="property" property="x"/><target type="body" action="remove"/>"#,
            "remove action needs a custom json-eval",
        ),
        (
            r#"<source type="body"/><target type="envelope"/>"#,
            "this source type cannot enrich this target type",
        ),
        (
            r#"<source xpath="json-eval($.a)"/><target type="key" xpath="json-eval($.b.c)" action="child"/>"#,
            "takes only action=\"replace\"",
        ),
        (
            r#"<source xpath="json-eval($.a[)"/><target type="body"/>"#,
            "invalid JSONPath",
        ),
    ] {
        super::assert_refused(&format!("<enrich>{enrich}</enrich>"), why);
    }
}
