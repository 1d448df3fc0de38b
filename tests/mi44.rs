//! End-to-end: WSO2 Micro Integrator 4.4 samples that use MI 4.4's mediation features (Synapse
//! expressions `${…}`, variable, throwError, scatter-gather, foreach over a collection, call
//! `<source>`/`<target>`, payloadFactory `${…}` placeholders, log `<message>` templates, sequence
//! templates) and nothing but HTTP, run against a real mint on 127.0.0.1.
//!
//! Sources (each test names the file it reproduces):
//! - wso2/micro-integrator at `2fb7ef26be6d3c975511bd79c128b2777da02680` (Dec 2024, 4.4.0-alpha):
//!   `integration/mediation-tests/tests-mediator-1/src/test/resources/artifacts/ESB/server/
//!   repository/deployment/server/synapse-configs/default/api/*.xml` with the answers their Java
//!   test classes assert (`.../src/test/java/org/wso2/carbon/esb/mediator/test/{v2,payload/
//!   factory}/*.java`);
//! - wso2/docs-mi `en/docs/reference/...` (the MI 4.4 documentation);
//! - wso2/integration-samples `integrator-mi-profile/*` (the MI VS Code sample projects, with the
//!   MI unit-test suites that assert their answers).
//!
//! What is changed in the artifacts, and only that:
//! - the addresses: WSO2's own server (`http://localhost:8480/`) is the mint under test, other
//!   backends are `mint-backend` (an echo) or a small mock API in the same mint (said where);
//! - [`mi44_ga`]: the renames made before MI 4.4.0 GA that these pre-GA files predate —
//!   `var.` → `vars.`, `params.uriParams` → `params.pathParams`, variable `type="OM"` →
//!   `type="XML"`, scatter-gather's `result-target`/`content-type`/`root-element` →
//!   `target` (+ `target-variable`)/`result-content-type`/`result-enclosing-element` (Jan 2025),
//!   foreach's `result-target`/`result-type` → `update-original="false"` + `target-variable` +
//!   `result-content-type` (+ `result-enclosing-element` for XML);
//! - docs examples that are fragments sit in an API resource, and one typo of a docs page is
//!   fixed (said where);
//! - white space: a piece the files repeat (a resource's frame, a call, a log, a pet or a person)
//!   is written by one helper, and each artifact goes to a file named after it.
//!
//! Run with `--test-threads=2`: each test starts one mint (and at most one backend).

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::Value as Json;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

impl Mi {
    /// A mint ([`Mi`]) that deploys its artifacts with their addresses moved to 127.0.0.1 (see
    /// the module docs).
    fn mi44(name: &str) -> Mi {
        let mut mi = Mi::new(name);
        let me = format!("{}/", mi.url());
        // A port nothing listens on (a backend that is down).
        let closed = next_backend_port();
        mi.rewrite(
            r#"uri-template="http://localhost:8480/"#,
            &format!(r#"uri-template="{me}"#),
        )
        .rewrite(
            "http://localhost:8488/",
            &format!("http://127.0.0.1:{closed}/"),
        )
        // The SOAP demo service of the VS Code samples: a mock API in this mint (SOAP_DEMO).
        .rewrite("http://www.crcind.com/", &me);
        mi
    }

    /// Starts `mint-backend` (an echo) for the artifacts written after this call.
    fn with_backend(mut self) -> Mi {
        let b = self.start_backend();
        self.rewrite("http://localhost:5454/", &format!("http://127.0.0.1:{b}/"))
            .rewrite("BACKEND_URL", &format!("http://127.0.0.1:{b}/echo"));
        self
    }

    /// Waits for each of `lines` in the log ([`Mi::expect_log`]).
    fn expect_logs(&self, lines: &[&str]) {
        for line in lines {
            self.expect_log(line);
        }
    }

    /// The answer `r` is 200, and the log comes to hold each of `lines`.
    fn expect_ok_and_logs(&self, r: &Resp, lines: &[&str]) {
        assert_eq!(r.status, 200, "{}", r.text());
        self.expect_logs(lines);
    }
}

/// The renames made between these pre-GA samples and MI 4.4.0 GA (see the module docs).
fn mi44_ga(xml: &str) -> String {
    let re = |p: &str| regex::Regex::new(p).unwrap();
    let mut x = xml.to_string();
    // foreach: results to a variable instead of back into the collection.
    x = re(r#"result-target="(\w+)" result-type="JSON""#)
        .replace_all(
            &x,
            r#"update-original="false" target-variable="$1" result-content-type="JSON""#,
        )
        .into_owned();
    x = re(r#"result-target="(\w+)" result-type="XML""#)
        .replace_all(
            &x,
            r#"update-original="false" target-variable="$1" result-content-type="XML" result-enclosing-element="$1""#,
        )
        .into_owned();
    // scatter-gather.
    x = x.replace(r#"result-target="body""#, r#"target="body""#);
    x = re(r#"result-target="(\w+)""#)
        .replace_all(&x, r#"target="variable" target-variable="$1""#)
        .into_owned();
    x = re(r#"(\s)content-type="(JSON|XML)""#)
        .replace_all(&x, r#"${1}result-content-type="$2""#)
        .into_owned();
    x = re(r#"(\s)root-element=""#)
        .replace_all(&x, r#"${1}result-enclosing-element=""#)
        .into_owned();
    // Expressions and variable types.
    x = re(r"\bvar\.").replace_all(&x, "vars.").into_owned();
    x = x.replace("params.uriParams.", "params.pathParams.");
    x.replace(r#"type="OM""#, r#"type="XML""#)
}

fn json(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The response is 200 and its body is the JSON `expected` (objects compared as maps).
fn assert_json(r: &Resp, expected: &str) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r.text()), json(expected), "{}", r.text());
}

/// Arrays compared as multisets (WSO2's `areJsonElementsEquivalent`, for results that arrive in
/// finishing order).
fn unordered(v: &Json) -> Json {
    match v {
        Json::Array(items) => {
            let mut items: Vec<Json> = items.iter().map(unordered).collect();
            items.sort_by_key(|i| i.to_string());
            Json::Array(items)
        }
        Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), unordered(v))).collect()),
        other => other.clone(),
    }
}

fn assert_json_unordered(r: &Resp, expected: &str) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        unordered(&json(&r.text())),
        unordered(&json(expected)),
        "{}",
        r.text()
    );
}

/// `xml` as a canonical string: expanded names, sorted attributes, whitespace-only text dropped
/// (what WSO2's tests compare with `isEqualNode` on documents parsed ignoring that whitespace).
fn canon_xml(xml: &str) -> String {
    use sxd_document::dom::{ChildOfElement, ChildOfRoot, Element};
    fn el(e: Element, out: &mut String) {
        let n = e.name();
        out.push('<');
        if let Some(ns) = n.namespace_uri() {
            out.push_str(&format!("{{{ns}}}"));
        }
        out.push_str(n.local_part());
        let mut attrs: Vec<String> = e
            .attributes()
            .iter()
            .map(|a| format!(" {}={:?}", a.name().local_part(), a.value()))
            .collect();
        attrs.sort();
        out.push_str(&attrs.concat());
        out.push('>');
        for c in e.children() {
            match c {
                ChildOfElement::Element(x) => el(x, out),
                ChildOfElement::Text(t) if !t.text().trim().is_empty() => {
                    out.push_str(&format!("{:?}", t.text()))
                }
                _ => {}
            }
        }
        out.push_str("</>");
    }
    let package =
        sxd_document::parser::parse(xml).unwrap_or_else(|e| panic!("not XML ({e:?}): {xml}"));
    let doc = package.as_document();
    let mut out = String::new();
    for c in doc.root().children() {
        if let ChildOfRoot::Element(e) = c {
            el(e, &mut out);
        }
    }
    out
}

fn assert_xml(r: &Resp, expected: &str) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(canon_xml(&r.text()), canon_xml(expected), "{}", r.text());
}

/// The string values of what `expr` selects in `xml` (prefixes `soapenv` and `tem`).
fn select(xml: &str, expr: &str) -> Vec<String> {
    select_ns(
        xml,
        expr,
        &[
            ("soapenv", "http://schemas.xmlsoap.org/soap/envelope/"),
            ("tem", "http://tempuri.org"),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// Artifact pieces
// ---------------------------------------------------------------------------------------------

/// An `<api>`: `head` (its start tag, after the XML declaration where the file has one), then
/// `resources`.
fn api(head: &str, resources: &[String]) -> String {
    format!("{head}\n{}</api>", resources.concat())
}

/// A `<resource>` with the attributes `attrs` whose inSequence is `mediators`, with an empty
/// faultSequence where `fault`.
fn resource(attrs: &str, mediators: &[&str], fault: bool) -> String {
    let fault = if fault {
        "<faultSequence>\n</faultSequence>\n"
    } else {
        ""
    };
    format!(
        "<resource {attrs}>\n<inSequence>\n{}\n</inSequence>\n{fault}</resource>\n",
        mediators.join("\n")
    )
}

/// A `<call>` that POSTs to `uri` (an http endpoint).
fn call_post(uri: &str) -> String {
    format!(
        r#"<call>
    <endpoint>
        <http method="post" uri-template="{uri}"/>
    </endpoint>
</call>"#
    )
}

/// A `<log>` with the attributes `attrs` (none where empty) of `message`, then `properties`.
fn log(attrs: &str, message: &str, properties: &[&str]) -> String {
    let attrs = if attrs.is_empty() {
        String::new()
    } else {
        format!(" {attrs}")
    };
    let properties: String = properties.iter().map(|p| format!("\n{p}")).collect();
    format!("<log{attrs}>\n<message>{message}</message>{properties}\n</log>")
}

/// `<log category="INFO">` of `message`.
fn log_info(message: &str) -> String {
    log(r#"category="INFO""#, message, &[])
}

/// A `<scatter-gather>` with the attributes `attrs`, aggregating by `aggregation` (the
/// `<aggregation>`'s attributes), whose branches are sequences of one mediator each.
fn scatter_gather(attrs: &str, aggregation: &str, branches: &[String]) -> String {
    let branches: String = branches
        .iter()
        .map(|b| format!("<sequence>\n{b}\n</sequence>\n"))
        .collect();
    format!("<scatter-gather {attrs}>\n<aggregation {aggregation}/>\n{branches}</scatter-gather>")
}

/// A `<foreach>` with the attributes `attrs` whose sequence is `mediators`.
fn foreach(attrs: &str, mediators: &[&str]) -> String {
    format!(
        "<foreach {attrs}>\n<sequence>\n{}\n</sequence>\n</foreach>",
        mediators.join("\n")
    )
}

/// An API `name` at `context` whose one resource (POST) runs `mediators` and answers: the docs
/// examples that are fragments sit in one.
fn docs_api(name: &str, context: &str, mediators: &str) -> String {
    api(
        &format!(
            r#"<api xmlns="http://ws.apache.org/ns/synapse" name="{name}" context="{context}">"#
        ),
        &[resource(
            r#"methods="POST""#,
            &[mediators, "<respond/>"],
            false,
        )],
    )
}

// ---------------------------------------------------------------------------------------------
// Scatter-gather
// ---------------------------------------------------------------------------------------------

/// A pet as `TestScatterGatherMediator.xml`'s branches and mock backend make it in JSON: `name`,
/// `kind` and the request's `requestId`.
fn json_pet(name: &str, kind: &str) -> String {
    format!(
        r#"<payloadFactory media-type="json" template-type="default">
    <format>{{
        "pet": {{
        "name": "{name}",
        "type": "{kind}",
        "requestId": ${{payload.requestId}}
        }}
        }}
    </format>
</payloadFactory>"#
    )
}

/// The same in XML, with `request_id` (an expression) and `args` after the format.
fn xml_pet(name: &str, kind: &str, request_id: &str, args: &str) -> String {
    format!(
        r#"<payloadFactory media-type="xml" template-type="default">
    <format>
        <pet xmlns="">
            <name>{name}</name>
            <type>{kind}</type>
            <requestId>{request_id}</requestId>
        </pet>
    </format>{args}
</payloadFactory>"#
    )
}

/// The empty `<args>` some of those payloadFactories hold.
const EMPTY_ARGS: &str = "\n<args>\n</args>";

/// wso2/micro-integrator `integration/mediation-tests/tests-mediator-1/src/test/resources/
/// artifacts/ESB/server/repository/deployment/server/synapse-configs/default/api/
/// TestScatterGatherMediator.xml` (as at 2fb7ef26; renamed by [`mi44_ga`]).
fn scatter_gather_api() -> String {
    let by_pet = r#"expression="${payload.pet}""#;
    let by_node = r#"expression="${xpath('$body/node()')}""#;
    let json_id = "${payload.requestId}";
    let xml_id = "${xpath('//requestId')}";
    let json_branches = [
        json_pet("pet1", "dog"),
        xml_pet("pet2", "cat", json_id, ""),
        call_post("http://localhost:8480/scatter-gather/mock-backend-json"),
    ];
    api(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<api xmlns="http://ws.apache.org/ns/synapse" name="ScatterGatherPI" context="/scatter-gather">"#,
        &[
            resource(
                r#"methods="POST" url-mapping="/json-body-replace""#,
                &[
                    &scatter_gather(
                        r#"parallel-execution="false" result-target="body" content-type="JSON""#,
                        by_pet,
                        &json_branches,
                    ),
                    "<respond/>",
                ],
                false,
            ),
            resource(
                r#"methods="POST" url-mapping="/json-variable-output""#,
                &[
                    &scatter_gather(
                        r#"parallel-execution="true" result-target="output_var" content-type="JSON""#,
                        by_pet,
                        &json_branches,
                    ),
                    &log("", "Scatter Gather output = ${var.output_var}", &[]),
                    r#"<payloadFactory media-type="json" template-type="default">
    <format>{
        "response": {
        "requestData": ${payload},
        "scatterGatherOutput": ${var.output_var}
        }
        }
    </format>
</payloadFactory>"#,
                    "<respond/>",
                ],
                false,
            ),
            resource(
                r#"methods="POST" uri-template="/xml-body-replace""#,
                &[
                    r#"<!-- <variable name="result" expression="${xpath('//result/pet')}" type="OM"/> -->"#,
                    &scatter_gather(
                        r#"parallel-execution="true" result-target="body" root-element="scatter_response"
                content-type="XML""#,
                        by_node,
                        &[
                            xml_pet("pet1", "cat", xml_id, EMPTY_ARGS),
                            call_post("http://localhost:8480/scatter-gather/mock-backend-xml"),
                        ],
                    ),
                    "<respond/>",
                ],
                true,
            ),
            resource(
                r#"methods="POST" uri-template="/xml-variable-output""#,
                &[
                    &scatter_gather(
                        r#"parallel-execution="false" result-target="output_var" root-element="scatter_response"
                content-type="XML""#,
                        by_node,
                        &[
                            xml_pet("pet1", "cat", xml_id, EMPTY_ARGS),
                            xml_pet("pet2", "dog", xml_id, EMPTY_ARGS),
                        ],
                    ),
                    &log("", "Scatter Gather XML output = ${var.output_var}", &[]),
                    "<respond/>",
                ],
                true,
            ),
            resource(
                r#"methods="POST" url-mapping="/aggregate-condition""#,
                &[
                    &scatter_gather(
                        r#"parallel-execution="true" result-target="body" content-type="JSON""#,
                        r#"expression="${payload.pet}" condition="${payload.pet.type == 'dog'}" timeout="1000""#,
                        &[
                            json_pet("pet1", "dog"),
                            json_pet("pet2", "cat"),
                            json_pet("pet3", "dog"),
                        ],
                    ),
                    "<respond/>",
                ],
                false,
            ),
            resource(
                r#"methods="POST" url-mapping="/not-found-ep""#,
                &[
                    &scatter_gather(
                        r#"parallel-execution="false" result-target="body" content-type="JSON""#,
                        r#"expression="${payload.pet}" timeout="1000""#,
                        &[
                            json_pet("pet1", "dog"),
                            call_post("http://localhost:8488/not-found"),
                            json_pet("pet3", "dog"),
                        ],
                    ),
                    "<respond/>",
                ],
                false,
            ),
            resource(
                r#"methods="POST GET" uri-template="/mock-backend-json""#,
                &[&json_pet("pet3", "mock-backend"), "<respond/>"],
                true,
            ),
            resource(
                r#"methods="POST GET" uri-template="/mock-backend-xml""#,
                &[&xml_pet("pet2", "mock-backend", xml_id, ""), "<respond/>"],
                true,
            ),
        ],
    )
}

/// wso2/docs-mi `en/docs/reference/mediators/scatter-gather-mediator.md`, first example (the
/// page already uses the GA attribute names), inside an API; its pet service
/// (`http://localhost:5454/api/pet`) is the echo backend.
fn scatter_gather_doc_api() -> String {
    docs_api(
        "ScatterGatherDocAPI",
        "/sg-doc",
        r#"<scatter-gather parallel-execution="true" target="Body" result-content-type="JSON">
   <aggregation expression="${payload}" />
   <sequence>
      <log category="INFO">
         <message>Processing message in clone path 1</message>
      </log>
      <payloadFactory media-type="json" template-type="default">
         <format>{
                "requestId": ${payload.requestId},
                "pet": {
                "name": "pet2",
                "type": "cat"
                },
                "status": true
                }</format>
      </payloadFactory>
   </sequence>
   <sequence>
      <log category="INFO">
         <message>Processing message in clone path 2</message>
      </log>
      <call> 
         <endpoint>
            <http method="post" uri-template="http://localhost:5454/api/pet"/>
         </endpoint>
      </call>
   </sequence>
</scatter-gather>"#,
    )
}

/// Reproduces wso2/micro-integrator `ScatterGatherTestCase` (tests-mediator-1,
/// `org/wso2/carbon/esb/mediator/test/v2/ScatterGatherTestCase.java`) on
/// `TestScatterGatherMediator.xml`, and the first example of docs-mi's scatter-gather page.
#[test]
fn scatter_gather_mi_integration_tests_and_docs() {
    let mut mi = Mi::mi44("mi44-sg").with_backend();
    mi.deploy(&mi44_ga(&scatter_gather_api()));
    mi.deploy(&scatter_gather_doc_api());
    mi.start();
    let pets = r#"[
        {"name":"pet1","type":"dog","requestId":1114567},
        {"name":"pet2","type":"cat","requestId":1114567},
        {"name":"pet3","type":"mock-backend","requestId":1114567}]"#;
    let request = r#"{
    "requestId": 1114567
}"#;

    // testScatterGatherJSONBodyReplace
    let r = mi.post_json("/scatter-gather/json-body-replace", request);
    assert_json_unordered(&r, pets);

    // testScatterGatherJSONVariableOutput
    let r = mi.post_json("/scatter-gather/json-variable-output", request);
    assert_json_unordered(
        &r,
        &format!(
            r#"{{"response":{{"requestData":{{"requestId":1114567}},"scatterGatherOutput":{pets}}}}}"#
        ),
    );
    mi.expect_log("Scatter Gather output = [");

    // testScatterGatherXMLBodyReplace
    let xml_request = "<root>\n    <requestId>78658</requestId>\n</root>";
    let r = mi.post_xml("/scatter-gather/xml-body-replace", xml_request);
    assert_xml(
        &r,
        "<scatter_response><pet><name>pet1</name><type>cat</type><requestId>78658</requestId>\
         </pet><pet><name>pet2</name><type>mock-backend</type><requestId>78658</requestId></pet>\
         </scatter_response>",
    );

    // testScatterGatherXMLVariableOutput: the answer (the log line is checked by
    // scatter_gather_xml_result_in_a_variable)
    let r = mi.post_xml("/scatter-gather/xml-variable-output", xml_request);
    assert_xml(&r, xml_request);

    // testScatterGatherJSONCondition
    let two_dogs = r#"[{"name":"pet1","type":"dog","requestId":1114567},
                       {"name":"pet3","type":"dog","requestId":1114567}]"#;
    let r = mi.post_json("/scatter-gather/aggregate-condition", request);
    assert_json_unordered(&r, two_dogs);

    // testScatterGatherJSON404EPClone: the branch whose backend is down contributes nothing.
    let r = mi.post_json("/scatter-gather/not-found-ep", request);
    assert_json_unordered(&r, two_dogs);

    // docs-mi: "replace the message body with the aggregated JSON result" — the payloadFactory
    // branch's payload and the pet service's answer (the echo: the request itself).
    let r = mi.post_json("/sg-doc", r#"{"requestId": 42}"#);
    assert_json_unordered(
        &r,
        r#"[{"requestId":42,"pet":{"name":"pet2","type":"cat"},"status":true},{"requestId":42}]"#,
    );
    mi.expect_logs(&[
        "Processing message in clone path 1",
        "Processing message in clone path 2",
    ]);
}

/// `ScatterGatherTestCase#testScatterGatherXMLVariableOutput`: the variable, as logged.
#[test]
fn scatter_gather_xml_result_in_a_variable() {
    let mut mi = Mi::mi44("mi44-sg-xml");
    mi.deploy(&mi44_ga(&scatter_gather_api()));
    mi.start();
    let xml_request = "<root>\n    <requestId>78658</requestId>\n</root>";
    let r = mi.post_xml("/scatter-gather/xml-variable-output", xml_request);
    assert_xml(&r, xml_request);
    mi.expect_log(
        "Scatter Gather XML output = <scatter_response><pet><name>pet1</name><type>cat</type>\
         <requestId>78658</requestId></pet><pet><name>pet2</name><type>dog</type>\
         <requestId>78658</requestId></pet></scatter_response>",
    );
}

// ---------------------------------------------------------------------------------------------
// ForEach over a collection
// ---------------------------------------------------------------------------------------------

/// wso2/micro-integrator `.../synapse-configs/default/api/TestForEachMediator.xml` (as at
/// 2fb7ef26; renamed by [`mi44_ga`]), in four pieces: [`foreach_mi`] joins them. Its head.
const FOREACH_API_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<api xmlns="http://ws.apache.org/ns/synapse" name="ForEachPI" context="/foreach">
"#;

/// The JSON payloadFactory of its iterations, `"_name": ${payload.name}` and `"age": 5` (and
/// `"status": ${var.status}` where `status`).
fn name_and_age(status: bool) -> String {
    let status = if status {
        ",\n\"status\": ${var.status}"
    } else {
        ""
    };
    format!(
        r#"<payloadFactory media-type="json">
    <format><![CDATA[{{
        "_name": ${{payload.name}},
        "age": 5{status}
        }}]]>
    </format>
</payloadFactory>"#
    )
}

/// The XML payloadFactory of its iterations and backend: a person of the list's name and `age`.
fn surname_and_age(age: u8) -> String {
    format!(
        r#"<payloadFactory media-type="xml">
    <format>
        <person xmlns="">
            <surname>${{xpath('//list/name/text()')}}</surname>
            <age>{age}</age>
        </person>
    </format>
</payloadFactory>"#
    )
}

/// Its `status` variable.
const FRUIT_STATUS: &str =
    r#"<variable name="status" expression="${payload.type == 'fruit' ? true : false}"/>"#;

/// Its JSON resources.
fn foreach_api_json() -> String {
    let data_list = r#"collection="${payload.data.list}""#;
    [
        resource(
            r#"methods="POST" uri-template="/json-body-replace-1""#,
            &[
                &foreach(
                    &format!(r#"{data_list} parallel-execution="true""#),
                    &[FRUIT_STATUS, &name_and_age(true)],
                ),
                "<respond/>",
            ],
            true,
        ),
        resource(
            r#"methods="POST" uri-template="/json-body-replace-2""#,
            &[
                &foreach(
                    &format!(r#"{data_list} parallel-execution="true""#),
                    &[&call_post("http://localhost:8480/foreach/transform-json")],
                ),
                "<respond/>",
            ],
            true,
        ),
        resource(
            r#"methods="POST" uri-template="/json-body-variable-output""#,
            &[
                &foreach(
                    &format!(
                        r#"{data_list} result-target="result" result-type="JSON"
                     parallel-execution="false""#
                    ),
                    &[&name_and_age(false)],
                ),
                r#"<payloadFactory media-type="json">
    <format><![CDATA[{
                "foreachResult": ${var.result}
                }]]>
    </format>
</payloadFactory>"#,
                "<respond/>",
            ],
            true,
        ),
        resource(
            r#"methods="GET" uri-template="/json-var-replace""#,
            &[
                r#"<variable name="list" type="JSON"
          value="[{&quot;name&quot;: &quot;guava&quot;,&quot;type&quot;: &quot;fruit&quot;},{&quot;name&quot;: &quot;beet&quot;,&quot;type&quot;: &quot;vegetable&quot;}]"/>"#,
                &foreach(
                    r#"collection="${var.list}" parallel-execution="false""#,
                    &[&name_and_age(false)],
                ),
                &log_info("Processed message : ${var.list}"),
                "<respond/>",
            ],
            true,
        ),
        resource(
            r#"methods="POST" uri-template="/json-var-variable-output""#,
            &[
                r#"<variable name="var_1" type="JSON"
          value="{&quot;data&quot;: {&quot;list&quot;: [{&quot;name&quot;: &quot;apple&quot;,&quot;type&quot;: &quot;fruit&quot;},{&quot;name&quot;: &quot;carrot&quot;,&quot;type&quot;: &quot;vegetable&quot;}]}}"/>"#,
                &foreach(
                    r#"version="v2" collection="${var.var_1.data.list}" result-target="result" result-type="JSON"
                     parallel-execution="true""#,
                    &[&name_and_age(false)],
                ),
                &log_info("Original list : ${var.var_1}"),
                &log_info("Foreach output : ${var.result}"),
                &log_info("Request Body : ${payload}"),
                "<respond/>",
            ],
            true,
        ),
    ]
    .concat()
}

/// Its XML resources.
fn foreach_api_xml() -> String {
    let processing = log_info("Processing message : ${xpath('/')}");
    let transform_xml = call_post("http://localhost:8480/foreach/transform-xml");
    [
        resource(
            r#"methods="POST" uri-template="/xml-body-replace""#,
            &[
                &foreach(
                    r#"collection="${xpath('//data/list')}" parallel-execution="false""#,
                    &[&processing, &surname_and_age(10)],
                ),
                "<respond/>",
            ],
            true,
        ),
        resource(
            r#"methods="POST" uri-template="/xml-body-variable-output""#,
            &[
                &foreach(
                    r#"collection="${xpath('//data/list')}" result-target="foreach_result" result-type="XML" parallel-execution="false""#,
                    &[&processing, &transform_xml],
                ),
                &log_info("Processed message body : ${xpath('/')}"),
                &log_info("Processed result : ${var.foreach_result}"),
                "<respond/>",
            ],
            true,
        ),
        resource(
            r#"methods="POST" uri-template="/xml-var-variable-output""#,
            &[
                r#"<variable name="xml_collection" expression="${xpath('//data')}" type="OM"/>"#,
                &foreach(
                    r#"collection="${xpath('//list', 'xml_collection')}" parallel-execution="false" result-target="foreach_result" result-type="XML""#,
                    &[&transform_xml],
                ),
                &log_info("Original collection : ${var.xml_collection}"),
                &log_info("Processed collection : ${var.foreach_result}"),
                "<respond/>",
            ],
            true,
        ),
    ]
    .concat()
}

/// Its last resources (the backends the others call) and its end.
fn foreach_api_tail() -> String {
    [
        resource(
            r#"methods="POST GET" uri-template="/transform-json""#,
            &[FRUIT_STATUS, &name_and_age(true), "<respond/>"],
            true,
        ),
        resource(
            r#"methods="POST GET" uri-template="/transform-xml""#,
            &[&surname_and_age(2), "<respond/>"],
            true,
        ),
        "</api>".to_string(),
    ]
    .concat()
}

const FOREACH_REQUEST: &str = r#"{
    "data": {
        "list": [
            {
                "name": "apple",
                "type": "fruit"
            },
            {
                "name": "carrot",
                "type": "vegetable"
            }
        ]
    }
}"#;

const FOREACH_REQUEST_XML: &str = "<data><list><name>apple</name><type>fruit</type></list>\
     <list><name>carrot</name><type>vegetable</type></list></data>";

/// A mint with `TestForEachMediator.xml`, whole or without its XML resources.
fn foreach_mi(with_xml: bool) -> Mi {
    let mut mi = Mi::mi44("mi44-foreach");
    let xml = if with_xml {
        foreach_api_xml()
    } else {
        String::new()
    };
    let api = [
        FOREACH_API_HEAD,
        &foreach_api_json(),
        &xml,
        &foreach_api_tail(),
    ]
    .concat();
    mi.deploy(&mi44_ga(&api));
    mi.start();
    mi
}

/// Reproduces the JSON cases of wso2/micro-integrator `ForEachMediatorTestCase`
/// (tests-mediator-1, `org/wso2/carbon/esb/mediator/test/v2/ForEachMediatorTestCase.java`).
/// Every iteration renders `"_name": ${payload.name}`: MI writes a string result there without
/// quotes (`RegexTemplateProcessor`, bare JsonPrimitive), gson's lenient reader takes the word
/// back as a string, and its test expects `"_name":"apple"` in the answer; mint writes it quoted.
#[test]
fn foreach_collection_json_mi_integration_tests() {
    let mi = foreach_mi(false);
    let expected = r#"{"data":{"list":[
        {"_name":"apple","age":5,"status":true},
        {"_name":"carrot","age":5,"status":false}]}}"#;

    // testForEachJSONBodyReplace
    let r = mi.post_json("/foreach/json-body-replace-1", FOREACH_REQUEST);
    assert_json(&r, expected);

    // testForEachJSONBodyReplaceWithCallMediator
    let r = mi.post_json("/foreach/json-body-replace-2", FOREACH_REQUEST);
    assert_json(&r, expected);

    // testForEachJSONBody_VariableOutput
    let r = mi.post_json("/foreach/json-body-variable-output", FOREACH_REQUEST);
    assert_json(
        &r,
        r#"{"foreachResult":[{"_name":"apple","age":5},{"_name":"carrot","age":5}]}"#,
    );

    // testForEachJSONVariable
    let r = mi.send("GET", "/foreach/json-var-replace", "", "");
    mi.expect_ok_and_logs(
        &r,
        &[r#"Processed message : [{"_name":"guava","age":5},{"_name":"beet","age":5}]"#],
    );

    // testForEachJSONVariable_VariableOutput
    let r = mi.post_json("/foreach/json-var-variable-output", r#"{"data":"abc"}"#);
    mi.expect_ok_and_logs(&r, &[
        r#"Original list : {"data":{"list":[{"name":"apple","type":"fruit"},{"name":"carrot","type":"vegetable"}]}}"#,
        r#"Foreach output : [{"_name":"apple","age":5},{"_name":"carrot","age":5}]"#,
        r#"Request Body : {"data":"abc"}"#,
    ]);
}

/// The XML cases of the same `ForEachMediatorTestCase`.
#[test]
fn foreach_collection_xml_mi_integration_tests() {
    let mi = foreach_mi(true);

    // testForEachXMLListFromBody
    let r = mi.post_xml("/foreach/xml-body-replace", FOREACH_REQUEST_XML);
    assert_xml(
        &r,
        "<data><person><surname>apple</surname><age>10</age></person>\
         <person><surname>carrot</surname><age>10</age></person></data>",
    );

    // testForEachXMLListFromBody_VariableOutput
    let r = mi.post_xml("/foreach/xml-body-variable-output", FOREACH_REQUEST_XML);
    assert_xml(&r, FOREACH_REQUEST_XML);
    mi.expect_log(
        "Processed result : <foreach_result><person><surname>apple</surname><age>2</age>\
         </person><person><surname>carrot</surname><age>2</age></person></foreach_result>",
    );

    // testForEachXMLListFromVariable_VariableOutput
    let r = mi.post_xml("/foreach/xml-var-variable-output", FOREACH_REQUEST_XML);
    assert_xml(&r, FOREACH_REQUEST_XML);
    mi.expect_logs(&[
        "Original collection : <data><list><name>apple</name><type>fruit</type></list>\
         <list><name>carrot</name><type>vegetable</type></list></data>",
        "Processed collection : <foreach_result><person><surname>apple</surname><age>2</age>\
         </person><person><surname>carrot</surname><age>2</age></person></foreach_result>",
    ]);
}

// ---------------------------------------------------------------------------------------------
// Log message templates
// ---------------------------------------------------------------------------------------------

/// wso2/micro-integrator `.../synapse-configs/default/api/TestLogMediatorTemplating.xml` (as at
/// 2fb7ef26; renamed by [`mi44_ga`]).
fn log_template_api() -> String {
    let call_mock = call_post("http://localhost:8480/log-mediator-template/mock-backend-json");
    api(
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="LogMediatorTemplateAPI" context="/log-mediator-template">"#,
        &[
            resource(
                r#"methods="POST" url-mapping="/info""#,
                &[
                    r#"<variable name="requestID" expression="${payload.data.name + '_123123'}"/>
<variable name="endpoint" value="http://localhost:8480/log-mediator-template/mock-backend-json"/>"#,
                    &log_info(
                        "Processing info message: ${payload.data} using endpoint ${var.endpoint}",
                    ),
                    &call_mock,
                    &log(
                        r#"category="INFO" separator="|""#,
                        "Backend result = ${payload}",
                        &[
                            r#"<property name="requestID" expression="${var.requestID}"/>"#,
                            r#"<property name="test" value="abc123"/>"#,
                        ],
                    ),
                    "<respond/>",
                ],
                false,
            ),
            resource(
                r#"methods="POST" url-mapping="/warn""#,
                &[
                    &log(
                        r#"category="WARN""#,
                        "Processing message: ${payload.data} using endpoint ${var.undefined}",
                        &[],
                    ),
                    &call_mock,
                    &log(
                        r#"category="WARN""#,
                        "Log warn message",
                        &[
                            r#"<property name="payload" expression="${payload}"/>"#,
                            r#"<property name="content-type-header" expression="${headers['Content-Type']}"/>"#,
                        ],
                    ),
                    "<respond/>",
                ],
                false,
            ),
            resource(
                r#"methods="POST" url-mapping="/error""#,
                &[
                    &log(
                        r#"category="ERROR""#,
                        "Processing error message: ${payload.data}",
                        &[],
                    ),
                    &call_mock,
                    &log(
                        r#"category="ERROR""#,
                        "Error occurred while processing backend response",
                        &[
                            r#"<property name="STATUS_CODE" expression="${properties.axis2.HTTP_SC}"/>"#,
                        ],
                    ),
                    "<respond/>",
                ],
                false,
            ),
            "\n<!-- Resource for testing FATAL log category -->\n".to_string(),
            resource(
                r#"methods="POST" url-mapping="/fatal""#,
                &[
                    r#"<property name="prop1" value="synapse_prop1"/>"#,
                    &log(
                        r#"category="FATAL""#,
                        "Critical issue detected: ${xpath('//data/food')}",
                        &[r#"<property name="prop1" expression="${properties.synapse.prop1}"/>"#],
                    ),
                    "<respond/>",
                ],
                false,
            ),
            resource(
                r#"methods="POST GET" uri-template="/mock-backend-json""#,
                &[
                    r#"<payloadFactory media-type="json" template-type="default">
    <format>{
        "pet": {
        "name": "pet3",
        "type": "mock-backend"
        }
        }
    </format>
</payloadFactory>"#,
                    "<respond/>",
                ],
                true,
            ),
        ],
    )
}

const LOG_TEMPLATE_REQUEST: &str = r#"{
    "data": {
        "name": "John",
        "food": {
            "cal": "55",
            "sugar": "none"
        }
    }
}"#;

/// Reproduces wso2/micro-integrator `LogMediatorTestCase` (tests-mediator-1,
/// `org/wso2/carbon/esb/mediator/test/v2/LogMediatorTestCase.java`).
#[test]
fn log_message_templates_mi_integration_tests() {
    let mut mi = Mi::mi44("mi44-log");
    mi.deploy(&mi44_ga(&log_template_api()));
    mi.start();
    let request = LOG_TEMPLATE_REQUEST;

    // testLogMediatorINFO (the variable keeps WSO2's address: it is only logged)
    let r = mi.post_json("/log-mediator-template/info", request);
    mi.expect_ok_and_logs(&r, &[
        r#"Processing info message: {"name":"John","food":{"cal":"55","sugar":"none"}} using endpoint http://localhost:8480/log-mediator-template/mock-backend-json"#,
        r#"Backend result = {"pet":{"name":"pet3","type":"mock-backend"}}|requestID = John_123123|test = abc123"#,
    ]);

    // testLogMediatorWARN
    let r = mi.post_json("/log-mediator-template/warn", request);
    mi.expect_ok_and_logs(&r, &[
        r#"Processing message: {"name":"John","food":{"cal":"55","sugar":"none"}} using endpoint"#,
        // WSO2's line ends `application/json; charset=UTF-8`: MI's JSON formatter adds the charset
        // to the mock backend's answer, mint's does not.
        r#"Log warn message, payload = {"pet":{"name":"pet3","type":"mock-backend"}}, content-type-header = application/json"#,
    ]);

    // testLogMediatorERROR
    let r = mi.post_json("/log-mediator-template/error", request);
    mi.expect_ok_and_logs(
        &r,
        &[
            r#"Processing error message: {"name":"John","food":{"cal":"55","sugar":"none"}}"#,
            "Error occurred while processing backend response, STATUS_CODE = 200",
        ],
    );

    // testLogMediatorFATAL
    let r = mi.post_xml(
        "/log-mediator-template/fatal",
        "<data><name>John</name><food><cal>55</cal><sugar>none</sugar></food></data>",
    );
    mi.expect_ok_and_logs(&r, &[
        "Critical issue detected: <food><cal>55</cal><sugar>none</sugar></food>, prop1 = synapse_prop1",
    ]);
}

// ---------------------------------------------------------------------------------------------
// payloadFactory ${…} placeholders
// ---------------------------------------------------------------------------------------------

/// wso2/micro-integrator `.../synapse-configs/default/api/synapse_expressions_payload_factory.xml`
/// (as at 2fb7ef26; renamed by [`mi44_ga`]).
fn payload_factory_api() -> String {
    // Each resource: its attributes, whether it has a (empty) faultSequence, and what it runs
    // before it answers.
    let resources = [
        (
            r#"methods="POST" url-mapping="/json-json""#,
            false,
            r#"<variable name="id" value="123" type="INTEGER"/>
<payloadFactory media-type="json">
    <format><![CDATA[{
        "variable": ${var.id},
        "username": "${payload.customer_name}",
        "escapedVariable": "${var.id}",
        "bool": ${payload.path},
        "escapedBool": "${payload.path}",
        "escapedObject": "${payload.pet}",
        "object": ${payload.pet}
        }]]>
    </format>
</payloadFactory>
<respond/>"#,
        ),
        (
            r#"methods="POST GET" uri-template="/payload-json-xml""#,
            true,
            r#"<variable name="user_name" value="123&lt;456"/>
<variable name="special_json_str" value="123\n456"/>
<variable name="xml_data" value="&lt;fruit&gt;apple&lt;/fruit&gt;" type="OM"/>
<payloadFactory media-type="xml">
    <format>
        <sleepOperation xmlns="">
            <username>${var.user_name}</username>
            <name>${payload.pet.name}</name>
            <load>${var.xml_data}</load>
            <data>${payload.pet}</data>
            <special_json_str>${var.special_json_str}</special_json_str>
        </sleepOperation>
    </format>
</payloadFactory>"#,
        ),
        (
            r#"methods="POST GET" uri-template="/payload-xml-xml""#,
            true,
            r#"<variable name="load" value="123.34"/>
<variable name="id" value="123&lt;456"/>
<variable name="special_json" value="123\n456"/>
<payloadFactory media-type="xml">
    <format>
        <sleepOperation xmlns="">
            <username>${xpath('//root/customer_name/text()')}</username>
            <load>${var.id}</load>
            <json>${var.special_json}</json>
            <data>${xpath('//root/pet')}</data>
        </sleepOperation>
    </format>
</payloadFactory>"#,
        ),
        (
            r#"methods="POST GET" uri-template="/payload-xml-json""#,
            true,
            r#"<variable name="id" value="123&lt;456"/>
<variable name="special_json" value="123\n456"/>
<payloadFactory media-type="json">
    <format>{
        "string": "${xpath('//root/customer_name/text()')}",
        "escapedObject": "${xpath('//root/pet')}",
        "escapedObject2": "${xpath('//root/pet2')}",
        "object": ${xpath('//root/pet')},
        "xml": "${var.id}",
        "json": "${var.special_json}"
        }
    </format>
</payloadFactory>"#,
        ),
        (
            r#"methods="POST GET" uri-template="/payload-freemarker""#,
            true,
            r#"<variable name="user_name" value="123" type="INTEGER"/>
<variable name="userID" value="123" type="INTEGER"/>
<payloadFactory media-type="json" template-type="freemarker">
    <format><![CDATA[{
        "name": "${payload.firstname} ${payload.lastname}",
        "id": ${var.userID}
        }]]>
    </format>
</payloadFactory>"#,
        ),
    ];
    api(
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="SynapseExpressionPayloadAPI" context="/synapseExpressionPayload">"#,
        &resources
            .map(|(attrs, fault, mediators)| resource(attrs, &[mediators, "<respond/>"], fault)),
    )
}

fn payload_factory_mi() -> Mi {
    let mut mi = Mi::mi44("mi44-pf");
    mi.deploy(&mi44_ga(&payload_factory_api()));
    mi.start();
    mi
}

/// Reproduces wso2/micro-integrator `PayloadFactorySynapseExpressionTestCase` (tests-mediator-1,
/// `org/wso2/carbon/esb/mediator/test/payload/factory/PayloadFactorySynapseExpressionTestCase
/// .java`): json→json, FreeMarker and xml→xml. The request and answer texts are the Java
/// strings' values.
#[test]
fn payload_factory_expressions_mi_integration_tests() {
    let mi = payload_factory_mi();

    // testPayloadFactoryJsonToJson
    let r = mi.post_json(
        "/synapseExpressionPayload/json-json",
        r#"{
    "customer_name": "[]John&\nDoe]",
    "pet": {
        "type":"cat\n\rdog",
        "name":"john"
    },
    "path": true
}"#,
    );
    assert_json(
        &r,
        r#"{
    "variable": 123,
    "username": "[]John&\nDoe]",
    "escapedVariable": "123",
    "bool": true,
    "escapedBool": "true",
    "escapedObject": "{\"type\":\"cat\\n\\rdog\",\"name\":\"john\"}",
    "object": {
        "type": "cat\n\rdog",
        "name": "john"
    }
}"#,
    );

    // testPayloadFactoryFreemarker (mint has no FreeMarker: this template, after the GA
    // rename to `vars.`, is also a template of Synapse expressions, which is how mint renders it)
    let r = mi.post_json(
        "/synapseExpressionPayload/payload-freemarker",
        "{\n    \"firstname\": \"Johe\",\n    \"lastname\": \"Doe\",\n    \"path\": true\n}",
    );
    assert_json(&r, r#"{"name": "Johe Doe", "id": 123}"#);

    // testPayloadFactoryXMLToXML
    let r = mi.post_xml(
        "/synapseExpressionPayload/payload-xml-xml",
        "<root>\n    <customer_name>John&lt;</customer_name>\n    <pet>\n        <type>cat</type>\n        <name>abc\\nxyz</name>\n    </pet>\n    <path>true</path>\n</root>",
    );
    assert_xml(
        &r,
        "<sleepOperation><username>John&lt;</username><load>123&lt;456</load><json>123\\n456</json><data><pet>\n        <type>cat</type>\n        <name>abc\\nxyz</name>\n    </pet></data></sleepOperation>",
    );
}

/// The same test class: json→xml and xml→json, where MI inserts a JSON string's escaped text
/// into XML (`abc\\ndef` for the value `abc\ndef`) and an XML or variable text into a JSON
/// string as it is (`123\n456` becomes a newline; `emily\\ntini` becomes `emily\ntini`).
#[test]
fn payload_factory_expressions_across_json_and_xml_mi_integration_tests() {
    let mi = payload_factory_mi();

    // testPayloadFactoryJsonToXML
    let r = mi.post_json(
        "/synapseExpressionPayload/payload-json-xml",
        r#"{
    "customer_name": "John<Doe",
    "pet": {
        "type":"cat&",
        "name":"abc\\ndef"
    },
    "path": true
}"#,
    );
    assert_xml(
        &r,
        r"<sleepOperation><username>123&lt;456</username><name>abc\\ndef</name><load><fruit>apple</fruit></load><data><type>cat&amp;</type><name>abc\\ndef</name></data><special_json_str>123\n456</special_json_str></sleepOperation>",
    );

    // testPayloadFactoryXMLToJson
    let r = mi.post_xml(
        "/synapseExpressionPayload/payload-xml-json",
        "<root>\n    <customer_name>John&lt;</customer_name>\n    <pet><type>cat</type><name>emily\\\\ntini</name></pet>\n    <pet2>\n        <type>dog&lt;</type>\n        <name>John\\\\nWayne</name>\n    </pet2>\n    <path>true</path>\n</root>",
    );
    assert_json(
        &r,
        r#"{
    "string": "John<",
    "escapedObject": "<pet><type>cat</type><name>emily\\\\ntini</name></pet>",
    "escapedObject2": "<pet2>\n        <type>dog&lt;</type>\n        <name>John\\\\nWayne</name>\n    </pet2>",
    "object": {
        "pet": {
            "type": "cat",
            "name": "emily\\ntini"
        }
    },
    "xml": "123<456",
    "json": "123\n456"
}"#,
    );
}

// ---------------------------------------------------------------------------------------------
// docs-mi examples: throwError, the Synapse expressions example, variable, log, call target
// ---------------------------------------------------------------------------------------------

/// wso2/docs-mi `en/docs/reference/mediators/throw-error-mediator.md` (renamed by [`mi44_ga`]).
const THROW_ERROR_API: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<api context="/testThrowError" name="TestThrowErrorMediatorAPI" xmlns="http://ws.apache.org/ns/synapse">
    <resource methods="POST">
        <inSequence>
            <filter xpath="${exists(payload.required)}">
                <then>
                    <log level="full"/>
                    <respond/>
                </then>
                <else>
                    <variable name="ERROR_MSG" value="Required field does not exist"/>
                    <throwError type="PAYLOAD_ERROR" errorMessage="{${var.ERROR_MSG}}"/>
                </else>
            </filter>
        </inSequence>
        <faultSequence>
            <log level="custom">
                <property name="ERROR_CODE" expression="get-property('ERROR_CODE')"/>
                <property name="ERROR_MESSAGE" expression="get-property('ERROR_MESSAGE')"/>
            </log>
            <drop/>
        </faultSequence>
    </resource>
</api>"#;

/// wso2/docs-mi `en/docs/reference/synapse-properties/synapse-expressions.md`, section "Example"
/// (renamed by [`mi44_ga`]; the page's `${payload..book[…]}}` has one `}` too many, which no MI
/// would deploy: removed).
const SYNAPSE_EXPRESSION_TEST_API: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<api context="/test" name="SynapseExpressionTestAPI" xmlns="http://ws.apache.org/ns/synapse">
    <resource methods="GET POST" uri-template="/{name}?age={age}&amp;category={category}">
        <inSequence>
            <variable name="name" expression="${params.uriParams.name}" type="STRING"/>
            <variable name="age" expression="${integer(params.queryParams.age)}" type="INTEGER"/>
            <variable name="category" expression="${params.queryParams.category}" type="STRING"/>
            <variable name="booksOnCategory" expression="${payload..book[?(@.category==var.category)]}"/>
            <variable name="expensive" expression="${payload..book[?(@.category==var.category &amp;&amp; @.price > payload.expensive)].title}"/>
            <log>
                <message>
Today is ${formatDateTime(now(), "yyyy-MMM-dd")}
Hello "${var.name}", you are ${var.age > 18 ? "eligible" : "not eligible"} to vote.
We found ${length(var.booksOnCategory)} book(s) on your favourite category "${var.category}".
${var.booksOnCategory[*].title}
${length(var.expensive) > 0 ? "We found " + string(length(var.expensive)) + " expensive book(s) according to your margin" : "All the books above are not expensive according to your margin"}
${length(var.expensive) > 0 ? var.expensive : ""}
                </message>
            </log>
        </inSequence>
        <faultSequence>
        </faultSequence>
    </resource>
</api>"#;

const BOOKSTORE: &str = r#"{
  "store": {
    "book": [
      {
        "category": "reference",
        "author": "Nigel Rees",
        "title": "Sayings of the Century",
        "price": 8.95
      },
      {
        "category": "fiction",
        "author": "Herman Melville",
        "title": "Moby Dick",
        "isbn": "0-553-21311-3",
        "price": 8.99
      },
      {
        "category": "fiction",
        "author": "J.R.R. Tolkien",
        "title": "The Lord of the Rings",
        "isbn": "0-395-19395-8",
        "price": 22.99
      },
      {
        "category": "fiction",
        "author": "Harper Lee",
        "title": "To Kill a Mockingbird",
        "price": 10.99
      },
      {
        "category": "fiction",
        "author": "George Orwell",
        "title": "Animal Farm",
        "price": 7.99
      },
      {
        "category": "biography",
        "author": "Anne Frank",
        "title": "The Diary of a Young Girl",
        "price": 6.99
      }
    ]
  },
  "expensive": 10
}"#;

/// wso2/docs-mi `en/docs/reference/mediators/variable-mediator.md`, its four examples in one
/// resource (the page gives no answer: the response shows what each example set).
fn variable_doc_api() -> String {
    docs_api(
        "VariableDocAPI",
        "/variable-doc",
        r#"<variable name="username" action="set" value="JohnDoe" type="STRING"/>
<variable name="userDataObject" action="set" expression="${payload.user.data}" type="JSON"/>
<variable name="userId" action="set" expression="${payload.user.id}" type="INTEGER"/>
<variable name="sessionToken" value="s3cr3t"/>
<variable name="sessionToken" action="remove"/>
<payloadFactory media-type="json">
    <format>{"username": "${vars.username}", "data": ${vars.userDataObject}, "id": ${vars.userId}, "sessionTokenExists": ${exists(vars.sessionToken)}}</format>
</payloadFactory>"#,
    )
}

/// wso2/docs-mi `en/docs/reference/mediators/log-mediator.md`, its two examples, with the
/// variables they read set as the sample output shows them (renamed by [`mi44_ga`]).
fn log_doc_api() -> String {
    docs_api(
        "StockQuoteAPI",
        "/log-doc",
        r#"<variable name="purchaseDetails" type="JSON" value="{&quot;itemCode&quot;: 8987, &quot;price&quot;: 45}"/>
<variable name="endpointName" value="PurchaseEP"/>
<log category="INFO">
   <message>Processing user details : ${payload.user} with Purchase data : ${var.purchaseDetails}</message>
</log>
<log category="INFO">
   <message>Processing user details : ${payload.user} with Purchase data : ${var.purchaseDetails}</message>
   <property name="endpoint" expression="${var.endpointName}"/>
</log>"#,
    )
}

/// wso2/docs-mi `en/docs/reference/mediators/call-mediator.md`, "Examples - Using source and
/// target configurations", Example 3 (inline source), with MI 4.4's `<target type="variable">`
/// in place of the property target; `BACKEND_URL` is the echo backend.
fn call_target_doc_api() -> String {
    docs_api(
        "CallTargetDocAPI",
        "/call-target",
        r#"  <property name="REST_URL_POSTFIX" scope="axis2" action="remove"/>
  <call>
     <endpoint name="Sample">
        <address uri="BACKEND_URL"></address>
     </endpoint>
     <source contentType="application/xml" type="inline"><Intermediate><Intermediate1>Intermediate</Intermediate1></Intermediate></source>
     <target type="variable">TARGET</target>
  </call>
  <log level="custom">
     <property name="TARGET STATUS" expression="${vars.TARGET.attributes.statusCode}"/>
     <property name="TARGET PAYLOAD" expression="${vars.TARGET.payload}"/>
  </log>"#,
    )
}

/// wso2/docs-mi examples: the Synapse expressions page's example API (path and query
/// parameters, filters over the payload, a multi-line log template), the variable mediator
/// page's examples, the call mediator's source/target example, the throwError page's API and
/// the log mediator page's examples.
#[test]
fn docs_mi_examples() {
    let mut mi = Mi::mi44("mi44-docs").with_backend();
    mi.deploy(&mi44_ga(SYNAPSE_EXPRESSION_TEST_API))
        .deploy(&variable_doc_api())
        .deploy(&call_target_doc_api())
        .deploy(&mi44_ga(THROW_ERROR_API))
        .deploy(&mi44_ga(&log_doc_api()));
    mi.start();

    // The Synapse expressions example: "You will get a similar log to the following" (the
    // resource has no respond: what mint answers is not checked).
    let _ = mi.post_json("/test/john?age=3&category=fiction", BOOKSTORE);
    mi.expect_logs(&[
        r#"Hello "john", you are not eligible to vote."#,
        r#"We found 4 book(s) on your favourite category "fiction"."#,
        r#"["Moby Dick","The Lord of the Rings","To Kill a Mockingbird","Animal Farm"]"#,
        "We found 2 expensive book(s) according to your margin",
        r#"["The Lord of the Rings","To Kill a Mockingbird"]"#,
    ]);
    let today = regex::Regex::new(r"Today is \d{4}-[A-Z][a-z]{2}-\d{2}").unwrap();
    assert!(today.is_match(&mi.log_text()), "{}", mi.log_text());

    // The variable mediator's examples.
    let r = mi.post_json(
        "/variable-doc",
        r#"{"user": {"id": 7, "data": {"email": "john@example.com", "roles": ["admin"]}}}"#,
    );
    assert_json(
        &r,
        r#"{"username": "JohnDoe", "data": {"email": "john@example.com", "roles": ["admin"]}, "id": 7, "sessionTokenExists": false}"#,
    );

    // The call mediator's source/target example: "the mediation continues with the original
    // payload that was received", the backend's answer is in the target.
    let incoming = r#"{"INCOMING" : {"INCOMING2":"INCOMING2"}}"#;
    let r = mi.post_json("/call-target", incoming);
    assert_json(&r, incoming);
    mi.expect_logs(&[
        "TARGET STATUS = 200",
        "TARGET PAYLOAD = <Intermediate><Intermediate1>Intermediate</Intermediate1></Intermediate>",
    ]);

    // throwError: "The response log will contain the following error message" (the fault
    // sequence drops the message: what mint answers is not checked).
    let _ = mi.post_json("/testThrowError", "{\n    \"Hello\": \"World\"\n}");
    mi.expect_log("ERROR_CODE = PAYLOAD_ERROR, ERROR_MESSAGE = Required field does not exist");
    // … and a payload with the required field is answered as it came.
    let r = mi.post_json("/testThrowError", r#"{"required": "yes"}"#);
    assert_json(&r, r#"{"required": "yes"}"#);

    // The log mediator's examples (its sample output, in MI's compact JSON).
    let r = mi.post_json(
        "/log-doc",
        r#"{"user": {"firstName":"Johne", "lastName": "Doe"}}"#,
    );
    mi.expect_ok_and_logs(&r, &[
        r#"Processing user details : {"firstName":"Johne","lastName":"Doe"} with Purchase data : {"itemCode":8987,"price":45}"#,
        r#"Processing user details : {"firstName":"Johne","lastName":"Doe"} with Purchase data : {"itemCode":8987,"price":45}, endpoint = PurchaseEP"#,
    ]);
}

// ---------------------------------------------------------------------------------------------
// wso2/integration-samples (the MI VS Code sample projects)
// ---------------------------------------------------------------------------------------------

/// A stand-in for the public SOAP demo service the samples call
/// (`http://www.crcind.com/csp/samples/SOAP.Demo.cls`): `AddInteger`, `DivideInteger` and
/// `LookupCity` answered in its namespace (the city of every zip code is Chicago, IL); like the
/// real service, it takes SOAP 1.1 (`text/xml`) only.
fn soap_demo() -> String {
    // An operation: its answer's content (`$1` the argument's value) and argument.
    let case = |op: &str, answer: &str, arg: &str| {
        format!(
            r#"<case regex="{op}">
    <payloadFactory media-type="xml">
        <format><{op}Response xmlns="http://tempuri.org">{answer}</{op}Response></format>
        <args><arg xmlns:tem="http://tempuri.org" expression="{arg}"/></args>
    </payloadFactory>
</case>
"#
        )
    };
    [
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="SOAPDemoMock" context="/csp/samples">
    <resource methods="POST" uri-template="/SOAP.Demo.cls">
        <inSequence>
            <filter source="$trp:Content-Type" regex="text/xml.*">
                <then>
                    <switch source="local-name($body/*[1])">
"#,
        &case(
            "AddInteger",
            "<AddIntegerResult>$1</AddIntegerResult>",
            "concat(number(//tem:Arg1) + number(//tem:Arg2), '')",
        ),
        &case(
            "DivideInteger",
            "<DivideIntegerResult>$1</DivideIntegerResult>",
            "concat(number(//tem:Arg1) div number(//tem:Arg2), '')",
        ),
        &case(
            "LookupCity",
            "<LookupCityResult><City>Chicago</City><State>IL</State><Zip>$1</Zip></LookupCityResult>",
            "//tem:zip",
        ),
        r#"                    </switch>
                </then>
                <else>
                    <property name="HTTP_SC" value="415" scope="axis2"/>
                    <payloadFactory media-type="text">
                        <format>SOAP 1.1 only (text/xml)</format>
                    </payloadFactory>
                </else>
            </filter>
            <respond/>
        </inSequence>
    </resource>
</api>"#,
    ]
    .concat()
}

/// An address endpoint of the samples (`CalculatorAddEP`, `CalculatorDivideEP`,
/// `NumberAdditionEP`, `NumberDivisionEP`, `CityLookupEP`: the same text but for the name).
fn soap_demo_endpoint(name: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<endpoint name="{name}" xmlns="http://ws.apache.org/ns/synapse">
    <address format="soap11" uri="http://www.crcind.com/csp/samples/SOAP.Demo.cls">
        <suspendOnFailure>
            <initialDuration>-1</initialDuration>
            <progressionFactor>1</progressionFactor>
        </suspendOnFailure>
        <markForSuspension>
            <retriesBeforeSuspension>0</retriesBeforeSuspension>
        </markForSuspension>
    </address>
</endpoint>"#
    )
}

/// The API that `CalculatorAPI` and `ArithmaticOperationServiceAPI` (below) both are: `head`,
/// then a resource that switches on `operation` to build the demo service's `AddInteger` or
/// `DivideInteger` from `arg` (`{n}` is 1, then 2; payloadFactories with `template`), call the
/// endpoint of the two `endpoints`, run `before_respond` and answer; other operations are
/// answered "Unsupported operation.".
fn calculator_like_api(
    head: &str,
    operation: &str,
    template: &str,
    arg: &str,
    endpoints: [&str; 2],
    before_respond: &str,
) -> String {
    let case = |op: &str, what: &str, call: &str, endpoint: &str| {
        let (arg1, arg2) = (arg.replace("{n}", "1"), arg.replace("{n}", "2"));
        format!(
            r#"<case regex="{op}">
    <payloadFactory description="Construct payload for {what} operation" media-type="xml"{template}>
        <format>
            <tem:{op}Integer xmlns:tem="http://tempuri.org">
                <tem:Arg1>{arg1}</tem:Arg1>
                <tem:Arg2>{arg2}</tem:Arg2>
            </tem:{op}Integer>
        </format>
    </payloadFactory>
    <header description="Set SOAPAction header" name="Action" scope="default" value="http://tempuri.org/SOAP.Demo.{op}Integer"/>
    <call{call}>
        <endpoint key="{endpoint}"/>
    </call>
</case>"#
        )
    };
    let add = case(
        "Add",
        "addition",
        r#" description="Send request to the endpoint""#,
        endpoints[0],
    );
    let divide = case("Divide", "division", "", endpoints[1]);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
{head}
    <resource methods="POST">
        <inSequence>
            <log level="full" description="Log Request Payload"/>
            <switch description="Route based on the Operation" source="{operation}">
{add}
{divide}
                <default>
                    <payloadFactory description="Create response payload for unsupported operation" media-type="xml" template-type="default">
                        <format>
                            <Message xmlns="">Unsupported operation.</Message>
                        </format>
                    </payloadFactory>
                </default>
            </switch>{before_respond}
            <respond description="Send result to the client"/>
        </inSequence>
        <faultSequence/>
    </resource>
</api>"#
    )
}

/// `integrator-mi-profile/HeaderBasedRouting/src/main/wso2mi/artifacts/apis/CalculatorAPI.xml`.
fn calculator_api() -> String {
    calculator_like_api(
        r#"<api context="/calculate" name="CalculatorAPI" xmlns="http://ws.apache.org/ns/synapse">"#,
        "${headers.Operation}",
        r#" template-type="default""#,
        "${xpath('//ArithmaticOperation/Arg{n}')}",
        ["CalculatorAddEP", "CalculatorDivideEP"],
        "",
    )
}

/// `integrator-mi-profile/ContentBasedRouting/src/main/wso2mi/artifacts/apis/
/// ArithmaticOperationServiceAPI.xml`.
fn arithmetic_api() -> String {
    calculator_like_api(
        r#"<api context="/arithmaticAPI" name="ArithmaticOperationServiceAPI" xmlns="http://ws.apache.org/ns/synapse">"#,
        "${payload.Operation}",
        "",
        "${payload.Arg{n}}",
        ["NumberAdditionEP", "NumberDivisionEP"],
        r#"
            <property description="Set message type" name="messageType" scope="axis2" type="STRING" value="application/json"/>"#,
    )
}

/// `integrator-mi-profile/RESTtoSOAPConversion/src/main/wso2mi/artifacts/apis/
/// CityInformationAPI.xml`.
const CITY_API: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<api context="/city" name="CityInformationAPI" xmlns="http://ws.apache.org/ns/synapse">
    <resource methods="GET" uri-template="/lookup/{zipCode}">
        <inSequence>
            <payloadFactory description="Build Request Payload" media-type="xml" template-type="default">
                <format>
                    <tem:LookupCity xmlns:tem="http://tempuri.org">
                        <tem:zip>${params.pathParams.zipCode}</tem:zip>
                    </tem:LookupCity>
                </format>
            </payloadFactory>
            <header description="Set SOAPAction header" name="Action" scope="default" value="http://tempuri.org/SOAP.Demo.LookupCity"/>
            <property action="remove" description="Avoid appending resource to endpoint URL" name="REST_URL_POSTFIX" scope="axis2"/>
            <call description="Send Request Payload to SOAP endpoint">
                <endpoint key="CityLookupEP"/>
            </call>
            <enrich description="Take particular child element from response and enrich message context">
                <source clone="true" xpath="//*[local-name() = 'LookupCityResult']"/>
                <target type="body"/>
            </enrich>
            <property description="Convert XML payload to JSON" name="messageType" scope="axis2" type="STRING" value="application/json"/>
            <respond description="Send respose payload to the client"/>
        </inSequence>
        <faultSequence/>
    </resource>
</api>"#;

/// `integrator-mi-profile/UnitTestTutorial/src/main/wso2mi/artifacts/apis/business-logic.xml`.
const BUSINESS_LOGIC_API: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<api context="/custom" name="business-logic" xmlns="http://ws.apache.org/ns/synapse">
    <resource methods="GET">
        <inSequence>
            <property name="body" scope="default" type="STRING" expression="${params.queryParams.url_key}"/>
            <log category="INFO" logMessageID="false" logFullPayload="false">
                <message>${properties.synapse.body}</message>
            </log>
            <sequence key="secondaryFlow"/>
            <switch source="${props.synapse.flowValue}">
                <case regex="flowValue_1">
                    <payloadFactory description="Set Response Payload" media-type="text">
                        <format>responsePayload_1</format>
                    </payloadFactory>
                </case>
                <default>
                    <payloadFactory description="Set Response Payload" media-type="text">
                        <format>responsePayload_2</format>
                    </payloadFactory>
                </default>
            </switch>
            <respond description="respond"/>
        </inSequence>
        <faultSequence>
            <sequence key="ErrorHandling"/>
        </faultSequence>
    </resource>
</api>"#;

/// `integrator-mi-profile/UnitTestTutorial/src/main/wso2mi/artifacts/sequences/*.xml`.
const BUSINESS_LOGIC_SEQUENCES: [&str; 4] = [
    r#"<?xml version="1.0" encoding="UTF-8"?>
<sequence name="secondaryFlow" trace="disable" xmlns="http://ws.apache.org/ns/synapse">
    <switch source="${properties.synapse.body}">
        <case regex="payload_1">
            <sequence key="firstSubFlow"/>
        </case>
        <default>
            <sequence key="secondSubFlow"/>
        </default>
    </switch>
</sequence>"#,
    r#"<?xml version="1.0" encoding="UTF-8"?>
<sequence name="firstSubFlow" trace="disable" xmlns="http://ws.apache.org/ns/synapse">
    <property name="flowValue" scope="default" type="STRING" value="flowValue_1"/>
</sequence>"#,
    r#"<?xml version="1.0" encoding="UTF-8"?>
<sequence name="secondSubFlow" trace="disable" xmlns="http://ws.apache.org/ns/synapse">
    <property name="flowValue" scope="default" type="STRING" value="flowValue_2"/>
</sequence>"#,
    r#"<?xml version="1.0" encoding="UTF-8"?>
<sequence name="ErrorHandling" trace="disable" xmlns="http://ws.apache.org/ns/synapse">
    <log category="INFO" logMessageID="false" logFullPayload="false">
        <message>An unexpected error occured for stock SUN</message>
        <property name="message" expression="${properties.synapse.ERROR_MESSAGE}"/>
    </log>
    <drop/>
</sequence>"#,
];

/// Reproduces the unit-test suites of wso2/integration-samples `integrator-mi-profile/`:
/// `HeaderBasedRouting/src/test/wso2mi/CalculatorAPITest.xml` (`test_add`; `test_divide`
/// expects the demo service's own number format, `.4`, not reproduced),
/// `ContentBasedRouting/src/test/wso2mi/ArithmaticOperationServiceTest.xml` and
/// `RESTtoSOAPConversion/src/test/wso2mi/CityInformationAPITest.xml`, against the SOAP demo
/// mock. Their endpoints say `format="soap11"`.
#[test]
fn integration_samples_soap_demo_routing() {
    let mut mi = Mi::mi44("mi44-soap");
    soap_demo_samples(&mi);
    mi.start();

    // CalculatorAPITest test_add: the demo service's SOAP answer, AddIntegerResult 35.
    let r = calculate(&mi, "Add");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        select(
            &r.text(),
            "/soapenv:Envelope/soapenv:Body/tem:AddIntegerResponse/tem:AddIntegerResult"
        ),
        ["35"],
        "{}",
        r.text()
    );

    // ArithmaticOperationServiceTest Operation_Add and Operation_Divide.
    let r = mi.post_json(
        "/arithmaticAPI",
        "{\n\t\t\t\t   \"Operation\": \"Add\",\n\t\t\t\t   \"Arg1\": \"10\",\n\t\t\t\t   \"Arg2\": \"25\"}",
    );
    assert_json(&r, r#"{"AddIntegerResponse":{"AddIntegerResult":35}}"#);
    let r = mi.post_json(
        "/arithmaticAPI",
        "{\n\t\t\t\t   \"Operation\": \"Divide\",\n\t\t\t\t   \"Arg1\": \"25\",\n\t\t\t\t   \"Arg2\": \"5\"}",
    );
    assert_json(&r, r#"{"DivideIntegerResponse":{"DivideIntegerResult":5}}"#);

    // CityInformationAPITest RestToSoap.
    let r = mi.send("GET", "/city/lookup/60601", "", "");
    assert_json(
        &r,
        r#"{"LookupCityResult":{"City":"Chicago","State":"IL","Zip":60601}}"#,
    );
}

/// The request of `CalculatorAPITest`.
const CALCULATOR_OPERATION: &str =
    "<ArithmaticOperation>   \n<Arg1>10</Arg1>   \n<Arg2>25</Arg2>   \n</ArithmaticOperation>";

/// The request of `CalculatorAPITest` to `CalculatorAPI`, with the header `Operation`.
fn calculate(mi: &Mi, operation: &str) -> Resp {
    request(
        mi.http,
        "POST",
        "/calculate",
        &[("Content-Type", "text/xml"), ("Operation", operation)],
        CALCULATOR_OPERATION.as_bytes(),
    )
}

/// The SOAP demo mock, the samples' endpoints and the three APIs that call them.
fn soap_demo_samples(mi: &Mi) {
    mi.deploy(&soap_demo());
    for ep in [
        "CalculatorAddEP",
        "CalculatorDivideEP",
        "NumberAdditionEP",
        "NumberDivisionEP",
        "CityLookupEP",
    ] {
        mi.deploy(&soap_demo_endpoint(ep));
    }
    mi.deploy(&calculator_api())
        .deploy(&arithmetic_api())
        .deploy(CITY_API);
}

/// A resource of that sample that logs `message` (a `<log category="INFO">`) and answers.
fn logging_resource(attrs: &str, message: &str) -> String {
    resource(attrs, &[&log_info(message), "<respond/>"], true)
}

/// `integrator-mi-profile/SynapseExpressions/src/main/wso2mi/artifacts/apis/SynapseExpressions
/// .xml`.
fn synapse_expressions_sample_api() -> String {
    api(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<api context="/test" name="SynapseExpressions" xmlns="http://ws.apache.org/ns/synapse">"#,
        &[
            logging_resource(
                r#"methods="GET" uri-template="/literals""#,
                r#"
                    Literal values in Synapse Expressions
                    ${&quot;Hello World&quot;}
                    ${2025}
                    ${true}
                    ${null}
                "#,
            ),
            resource(
                r#"methods="POST" uri-template="/accessingValues/{pParamKey}?qParamKey={queryParameter1}""#,
                &[
                    r#"<variable name="var1" type="STRING" expression="${payload.books}"/>
<property name="synProp1" scope="default" type="STRING" value="This is a synapse property"/>
<property name="axis2Prop1" scope="axis2" type="STRING" value="This is an axis2 property"/>"#,
                    &log_info(
                        r#"
                    Accessing values in Synapse Expressions
                    Access paylod values : ${$.books[*].title}
                    Access variable : ${vars.var1[*].price}
                    Access headers : ${headers[&quot;Content-Type&quot;]}
                    Access synapse property : ${props.synapse.synProp1}
                    Access axis2 property : ${props.axis2.axis2Prop1}
                    Access query param : ${params.queryParams.qParamKey}
                    Access path param : ${params.pathParams.pParamKey}
                    Access config values : ${configs.myConfigKey}
                "#,
                    ),
                    r#"<call-template target="seqTemplate1">
    <with-param name="templateParameter1" value="Template value"/>
</call-template>"#,
                ],
                true,
            ),
            logging_resource(
                r#"methods="POST" uri-template="/operators""#,
                r#"
                    Operations in Synapse Expressions

                    Arithmetic Operations
                    Addition : ${$.num1 + $.num2}
                    Subtraction : ${$.num1 - $.num2}
                    Multiplication : ${$.num1 * $.num3}
                    Division : ${$.num1 / $.num2}
                    Modulus : ${$.num1 % $.num2}

                    Comparison Operations
                    Equal : ${$.num1 == $.num1}
                    Not Equal : ${$.num1 != $.num2}
                    Greater Than : ${$.num1 &gt; $.num2}
                    Greater Than or Equal : ${$.num1 &gt;= $.num2}
                    Less Than : ${$.num1 &lt; $.num2}
                    Less Than or Equal : ${$.num1 &lt;= $.num2}

                    Logical Operations
                    AND : ${true and true}
                    OR : ${true || false}
                    Control presedence : ${$.num1 + ($.num2 * $.num3) - $.num4}
                "#,
            ),
            logging_resource(
                r#"methods="POST" uri-template="/conditional""#,
                r#"
                    Conditional Expressions
                    ${$.age &gt; 18 ? &quot;Adult&quot; : &quot;Child&quot;}
                "#,
            ),
            logging_resource(
                r#"methods="POST" uri-template="/filters""#,
                r#"
                    Filter Expressions
                    Filter books of category 'biography' : ${$.store.books[?(@.category == &quot;biography&quot;)]}
                    Filter expensive books : ${$.store.books[?(@.price &gt; $.expensive)]}
                "#,
            ),
            logging_resource(
                r#"methods="POST" uri-template="/functions""#,
                r#"
                    Functions in Synapse Expressions

                    String functions
                    Length : ${length($.text)}
                    Upper case : ${toUpper($.text)}
                    Lower case : ${toLower($.text)}
                    Substring : ${subString($.text,5)} , ${subString($.text,2,6)}
                    Starts with : ${startsWith($.text,&quot;Hello&quot;)} , ${startsWith($.text,&quot;World&quot;)}
                    Ends with : ${endsWith($.text,&quot;Hello&quot;)} , ${endsWith($.text,&quot;World&quot;)}
                    Contains : ${contains($.text,&quot;Hello&quot;)} , ${contains($.text,&quot;Woorld&quot;)}
                    Trim : ${trim($.trimText)}
                    Replace : ${replace($.text,&quot;Hello&quot;,&quot;Hi&quot;)}
                    Split : ${split($.text,&quot; &quot;)}
                    Char at : ${charAt($.text,6)}
                    Index of : ${indexOf($.text,&quot;World&quot;)} , ${indexOf($.text,&quot;l&quot;,5)}

                    Numeric functions
                    Absoulte : ${abs($.num1)}
                    Floor : ${floor($.num2)}
                    Ceil : ${ceil($.num1)}
                    Square root : ${sqrt($.num3)}
                    log : ${log($.num3)} , ${log($.num3,2)}
                    Power : ${pow($.num1,2)}
                    Round : ${round($.num2)}, ${round($.num2,2)}
                    Encode and Decode functions
                    Base64 encode : ${base64encode($.text)}, ${base64encode($.text, &quot;ISO-8859-1&quot;)}
                    Base64 decode : ${base64decode($.encoded)}
                    URL encode : ${urlEncode($.url)}
                    URL decode : ${urlDecode($.encodedURL)}

                    Type checking functions
                    Is number : ${isNumber($.num1)}, ${isNumber($.text)}
                    Is string : ${isString($.text)}, ${isString($.num1)}
                    Is Array : ${isArray($.array)}, ${isArray($.text)}
                    Is Object : ${isObject(payload)}, ${isObject($.object)}, ${isObject($.text)}

                    Type conversion functions
                    To Integer : ${integer($.convert_int)}
                    To Float : ${float($.convert_float)}
                    To String : ${string($.num1)}
                    To Boolean : ${boolean($.convert_boolean)}
                    To Object : ${object($.object)}, ${object($.object).a}
                    To Array : ${array($.convert_array)}, ${array($.convert_array)[1]}

                    Registry functions
                    Read from registry : ${registry(&quot;gov:/mi-resources/json/testResource.json&quot;)}
                    Access content inside registry resource : ${registry(&quot;gov:/mi-resources/json/testResource.json&quot;).person.name}
                    
                    Date/Time functions
                    Now : ${now()}
                    Format given date/time : ${formatDateTime(now(),&quot;yyyy-MM-dd HH:mm:ss&quot;)}
                    Change to a new format : ${formatDateTime(&quot;2018-12-31 23:59:59&quot;,&quot;yyyy-MM-dd HH:mm:ss&quot;,&quot;yyyy-MM-dd&quot;)}
                    
                    Check exist
                    Check if a property exists : ${exists(&quot;$.num1&quot;)}, ${exists(&quot;$.nonExisting&quot;)}
                    
                    Invert function
                    Invert a boolean value : ${not(true)}, ${not(false)}
                "#,
            ),
            resource(
                r#"methods="POST" uri-template="/xpath""#,
                &[
                    r#"<variable name="text" type="STRING" expression="${xpath('//a:parent/b:child/a:value')}" xmlns:a="http://namespaceA.com" xmlns:b="http://namespaceB.com"/>"#,
                    &log_info(
                        r#"
                    XPATH functions
                    Accessing XML elements with namespaces : ${vars.text}
                "#,
                    ),
                    "<respond/>",
                ],
                true,
            ),
        ],
    )
}

/// `integrator-mi-profile/SynapseExpressions/src/main/wso2mi/artifacts/templates/
/// seqTemplate1.xml`.
const SEQ_TEMPLATE_1: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<template name="seqTemplate1" xmlns="http://ws.apache.org/ns/synapse">
    <parameter isMandatory="false" name="templateParameter1"/>
    <sequence>
        <log category="INFO">
            <message>Access function parameters : ${params.functionParams.templateParameter1}</message>
        </log>
    </sequence>
</template>"#;

/// wso2/integration-samples `integrator-mi-profile/`: `SynapseExpressions` (the sample project
/// that walks through MI 4.4's expressions; it has no test suite: each line below is what MI's
/// expression rules give for the request sent — see /work/notes/synapse-expressions.md §12 —
/// and the `configs.*` and `registry()` lines, which mint does not build, are not checked),
/// `UnitTestTutorial` (with its suite `src/test/wso2mi/businessLogicTestSuite.xml`) and the
/// default case of `HeaderBasedRouting`'s `CalculatorAPI`.
#[test]
fn integration_samples_synapse_expressions() {
    let mut mi = Mi::mi44("mi44-expr");
    mi.deploy(&synapse_expressions_sample_api())
        .deploy(SEQ_TEMPLATE_1)
        .deploy(BUSINESS_LOGIC_API);
    for xml in BUSINESS_LOGIC_SEQUENCES {
        mi.deploy(xml);
    }
    soap_demo_samples(&mi);
    mi.start();

    // UnitTestTutorial/src/test/wso2mi/businessLogicTestSuite.xml: TestCaseForTrueResponseCase,
    // TestCaseForFalseResponseCase (a query parameter, switches on Synapse properties).
    let r = mi.send("GET", "/custom?url_key=payload_1", "", "");
    assert_eq!((r.status, r.text().as_str()), (200, "responsePayload_1"));
    let r = mi.send("GET", "/custom?url_key=payload_other", "", "");
    assert_eq!((r.status, r.text().as_str()), (200, "responsePayload_2"));
    mi.expect_log("payload_other");

    // HeaderBasedRouting's CalculatorAPI, default case ("Create response payload for unsupported
    // operation"): a switch on a header.
    let r = calculate(&mi, "Multiply");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(select(&r.text(), "//Message"), ["Unsupported operation."]);

    // Headers, properties, query and path parameters, a template's parameter.
    let books =
        r#"{"books":[{"title":"Moby Dick","price":8.99},{"title":"Animal Farm","price":7.99}]}"#;
    let _ = mi.post_json("/test/accessingValues/pv?qParamKey=qv", books);
    mi.expect_logs(&[
        r#"Access paylod values : ["Moby Dick","Animal Farm"]"#,
        "Access variable : [8.99,7.99]",
        "Access headers : application/json",
        "Access synapse property : This is a synapse property",
        "Access axis2 property : This is an axis2 property",
        "Access query param : qv",
        "Access path param : pv",
        "Access function parameters : Template value",
    ]);

    let r = mi.send("GET", "/test/literals", "", "");
    mi.expect_ok_and_logs(&r, &["Hello World", "2025"]);

    let r = mi.post_json(
        "/test/operators",
        r#"{"num1": 10, "num2": 5, "num3": 2, "num4": 1}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    mi.expect_logs(&[
        "Addition : 15",
        "Subtraction : 5",
        "Multiplication : 20",
        "Division : 2",
        "Modulus : 0",
        "Equal : true",
        "Not Equal : true",
        "Greater Than : true",
        "Greater Than or Equal : true",
        "Less Than : false",
        "Less Than or Equal : false",
        "AND : true",
        "OR : true",
        "Control presedence : 19",
    ]);

    let r = mi.post_json("/test/conditional", r#"{"age": 20}"#);
    mi.expect_ok_and_logs(&r, &["Adult"]);

    let r = mi.post_json(
        "/test/filters",
        r#"{"store": {"books": [
            {"category": "biography", "title": "The Diary of a Young Girl", "price": 6.99},
            {"category": "fiction", "title": "The Lord of the Rings", "price": 22.99}]},
          "expensive": 10}"#,
    );
    mi.expect_ok_and_logs(&r, &[
        r#"Filter books of category 'biography' : [{"category":"biography","title":"The Diary of a Young Girl","price":6.99}]"#,
        r#"Filter expensive books : [{"category":"fiction","title":"The Lord of the Rings","price":22.99}]"#,
    ]);

    let r = mi.post_json(
        "/test/functions",
        r#"{"text": "Hello World", "trimText": "  Hello  ", "num1": -5, "num2": 5.567,
            "num3": 16, "encoded": "V1NPMk1J", "url": "Hello World", "encodedURL": "Hello+World",
            "array": [1, 2], "object": {"a": 1}, "convert_int": "34", "convert_float": "1.5",
            "convert_boolean": "true", "convert_array": "[1,2]"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    mi.expect_logs(&[
        "Length : 11",
        "Upper case : HELLO WORLD",
        "Lower case : hello world",
        "Substring :  World , llo ",
        "Starts with : true , false",
        "Ends with : false , true",
        "Contains : true , false",
        "Trim : Hello",
        "Replace : Hi World",
        r#"Split : ["Hello","World"]"#,
        "Char at : W",
        "Index of : 6 , 9",
        "Absoulte : 5",
        "Floor : 5.0",
        "Ceil : -5",
        "Square root : 4.0",
        "Power : 25.0",
        "Round : 6, 5.57",
        "Base64 encode : SGVsbG8gV29ybGQ=, SGVsbG8gV29ybGQ=",
        "Base64 decode : WSO2MI",
        "URL encode : Hello%20World",
        "URL decode : Hello World",
        "Is number : true, false",
        "Is string : true, false",
        "Is Array : true, false",
        "Is Object : true, true, false",
        "To String : -5",
        "To Boolean : true",
        "Change to a new format : 2018-12-31",
        "Check if a property exists : true, true",
        "Invert a boolean value : false, true",
    ]);
}

/// `${configs.key}`: a configurable property, read at deployment from the environment or
/// `conf/file.properties` (MI's PropertyHolder); a value that reads as a number is one. A key
/// without a value is a warning at deployment with its position, and evaluates to `""` (MI
/// fails the evaluation and logs it).
#[test]
fn configs_are_read_at_deployment() {
    let mut mi = Mi::mi44("mi44-configs");
    mi.home
        .file("conf/file.properties", "greeting = hello\nlimit=5\n");
    mi.deploy(&docs_api(
        "ConfigsAPI",
        "/configs",
        r#"<header name="X-Greeting" scope="transport" expression="${configs.greeting + ' world'}"/>
<header name="X-Next" scope="transport" expression="${configs.limit + 1}"/>
<header name="X-Missing" scope="transport" expression="${configs.nothing}"/>"#,
    ));
    mi.start();
    let r = mi.post_json("/configs", "{}");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-greeting"), Some("hello world"));
    assert_eq!(r.header("x-next"), Some("6"));
    assert_eq!(r.header("x-missing"), Some(""));
    let log = mi.log_text();
    let warned =
        regex::Regex::new(r"ConfigsAPI\.xml:\d+:\d+: .*configs\.nothing .* has no value").unwrap();
    assert!(warned.is_match(&log), "{log}");
}

/// `registry(key)`, a path on it, and `.property(name)` (MI's `handleRegistryAccess`): the
/// resource's text, JSON read through the path, a property of the resource; a missing resource
/// fails the evaluation, which reads as `""`.
#[test]
fn registry_function_reads_resources_and_their_properties() {
    let mut mi = Mi::mi44("mi44-registry");
    mi.home
        .file(
            "registry/governance/conf/limits.json",
            r#"{"limits":{"max":7}}"#,
        )
        .file("registry/governance/conf/hello.txt", "hello")
        .file(
            "registry/governance/conf/hello.txt.properties",
            "owner=ann\n",
        );
    mi.deploy(&docs_api(
        "RegistryAPI",
        "/registry",
        r#"<variable name="key" value="gov:conf/hello.txt"/>
<header name="X-Text" scope="transport" expression="${registry('gov:conf/hello.txt')}"/>
<header name="X-Max" scope="transport" expression="${registry('gov:conf/limits.json').limits.max + 1}"/>
<header name="X-Owner" scope="transport" expression="${registry(vars.key).property('owner')}"/>
<header name="X-Missing" scope="transport" expression="${exists(registry('gov:conf/none.txt')) ? 'yes' : 'no'}"/>"#,
    ));
    mi.start();
    let r = mi.post_json("/registry", "{}");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-text"), Some("hello"));
    assert_eq!(r.header("x-max"), Some("8"));
    assert_eq!(r.header("x-owner"), Some("ann"));
    assert_eq!(r.header("x-missing"), Some("no"));
}

/// A sequence template called with a parameter left to its default and one overridden, both read
/// as `${params.functionParams.…}` (MI 4.4) and `$func:` (earlier MI); and a malformed
/// expression, which `mint check` reports at the attribute's `file:line:col` with its offset.
#[test]
fn templates_with_defaults_and_expression_errors_with_positions() {
    let mut mi = Mi::mi44("mi44-template");
    mi.deploy(
        r#"<template name="Greet" xmlns="http://ws.apache.org/ns/synapse">
    <parameter name="greeting" isMandatory="false" defaultValue="Hello"/>
    <parameter name="who" isMandatory="true"/>
    <sequence>
        <variable name="line" expression="${params.functionParams.greeting + ', ' + params.functionParams.who}"/>
        <header name="X-Func" scope="transport" expression="$func:greeting"/>
    </sequence>
</template>"#,
    );
    mi.deploy(&docs_api(
        "TemplateAPI",
        "/greet",
        r#"<call-template target="Greet">
    <with-param name="who" value="{${payload.name}}"/>
</call-template>
<header name="X-Default" scope="transport" expression="${vars.line}"/>
<call-template target="Greet">
    <with-param name="greeting" value="Hi"/>
    <with-param name="who" value="Bob"/>
</call-template>
<header name="X-Override" scope="transport" expression="${vars.line}"/>"#,
    ));
    mi.start();
    let r = mi.post_json("/greet", r#"{"name":"Ann"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-default"), Some("Hello, Ann"));
    assert_eq!(r.header("x-override"), Some("Hi, Bob"));
    assert_eq!(r.header("x-func"), Some("Hi"));

    let broken = TempHome::new("mi44-expr-error");
    broken.artifact(
        "api",
        "Broken.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Broken" context="/broken">
    <resource methods="POST">
        <inSequence>
            <variable name="v" expression="${payload.a +}"/>
            <respond/>
        </inSequence>
    </resource>
</api>"#,
    );
    let out = check_command(&broken.root).output().unwrap();
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("api/Broken.xml:4:13: "), "{err}");
    assert!(err.contains("payload.a +"), "{err}");
}
