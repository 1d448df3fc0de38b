//! MI 4.4's Synapse expressions through the mediators that take them (variable, log `<message>`,
//! property / header expressions, filter, switch, throwError), in-process. Behaviour follows
//! wso2/wso2-synapse `modules/core/src/test/java/org/apache/synapse/util/synapse/expression/`
//! and `mediators/v2/` (VariableMediator, ThrowErrorMediator).

use http::StatusCode;

use super::{mediator_rig, run_local, NS};

const ORDER: &str = r#"{"customer":"ann","items":[{"name":"pen","price":8.95},{"name":"ink","price":8.99}],"vip":true}"#;

#[test]
fn variables_and_expressions_read_the_payload_and_each_other() {
    run_local(async {
        let rig = mediator_rig(
            r#"<variable name="count" type="INTEGER" expression="${payload.items.length()}"/>
               <variable name="first" expression="${payload.items[0].name}"/>
               <variable name="limit" type="DOUBLE" value="10"/>
               <filter xpath="${vars.count > 1}">
                 <then><header name="X-Many" scope="transport" value="yes"/></then>
               </filter>
               <header name="X-First" scope="transport" expression="${toUpper(vars.first)}"/>
               <header name="X-Sum" scope="transport" expression="${payload.items[0].price + payload.items[1].price}"/>
               <header name="X-Cheap" scope="transport" expression="${payload.items[?(@.price &lt; vars.limit)].name}"/>
               <header name="X-Vip" scope="transport" expression="${payload.vip ? 'gold' : 'std'}"/>
               <header name="X-Missing" scope="transport" expression="${exists(payload.nothing) ? 'y' : 'n'}"/>
               <property name="P" expression="${'id-' + string(vars.count * 2)}"/>
               <header name="X-P" scope="transport" expression="${props.synapse.P}"/>
               <respond/>"#,
        );
        let r = rig.post("/m/t", "application/json", ORDER).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.header("x-many"), Some("yes"));
        assert_eq!(r.header("x-first"), Some("PEN"));
        // Decimal addition, as MI's BigDecimal does (not 17.939999999999998).
        assert_eq!(r.header("x-sum"), Some("17.94"));
        assert_eq!(r.header("x-cheap"), Some(r#"["pen","ink"]"#));
        assert_eq!(r.header("x-vip"), Some("gold"));
        assert_eq!(r.header("x-missing"), Some("n"));
        assert_eq!(r.header("x-p"), Some("id-4"));
    });
}

#[test]
fn an_expression_on_an_xml_payload_reads_its_json_view_and_xpath() {
    run_local(async {
        let rig = mediator_rig(
            r#"<variable name="age" type="INTEGER" expression="${payload.person.age}"/>
               <header name="X-Age" scope="transport" expression="${vars.age + 1}"/>
               <header name="X-Name" scope="transport" expression="${xpath('//name/text()')}"/>
               <respond/>"#,
        );
        let r = rig
            .post(
                "/m/t",
                "application/xml",
                "<person><name>John</name><age>30</age></person>",
            )
            .await;
        assert_eq!(r.header("x-age"), Some("31"));
        assert_eq!(r.header("x-name"), Some("John"));
    });
}

/// `xpath(expression, variable)` reads the XML a variable holds: MI evaluates `$var:NAME`
/// followed by the expression, so `//b` there is every `b` below the variable's element.
#[test]
fn xpath_with_a_variable_reads_the_xml_it_holds() {
    run_local(async {
        let rig = mediator_rig(
            r#"<variable name="doc" type="XML" expression="${xpath('//data')}"/>
               <header name="X-Names" scope="transport" expression="${xpath('//name', 'doc')}"/>
               <header name="X-First" scope="transport" expression="${xpath('/list[2]/name/text()', 'doc')}"/>
               <header name="X-None" scope="transport" expression="${xpath('//name', 'nothing')}"/>
               <respond/>"#,
        );
        let r = rig
            .post(
                "/m/t",
                "application/xml",
                "<in><data><list><name>a</name></list><list><name>b</name></list></data></in>",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.header("x-names"), Some("<name>a</name><name>b</name>"));
        assert_eq!(r.header("x-first"), Some("b"));
        // A variable that is not set: the expression fails, and reads as "".
        assert_eq!(r.header("x-none"), Some(""));
    });
}

#[test]
fn a_failed_expression_is_empty_and_a_typed_variable_must_match() {
    run_local(async {
        let api = format!(
            r#"<api {NS} name="M" context="/m"><resource methods="POST" uri-template="/t">
                 <inSequence>
                   <header name="X-Bad" scope="transport" expression="${{'a' + 5}}"/>
                   <header name="X-Seen" scope="transport" value="1"/>
                   <variable name="n" type="INTEGER" expression="${{payload.customer}}"/>
                   <respond/>
                 </inSequence>
                 <faultSequence>
                   <header name="X-Error" scope="transport" expression="get-property('ERROR_MESSAGE')"/>
                   <respond/>
                 </faultSequence>
               </resource></api>"#
        );
        let rig = super::Rig::new(&[&api]);
        let r = rig.post("/m/t", "application/json", ORDER).await;
        // `'a' + 5` is an error in MI: the header gets "" and mediation goes on.
        assert_eq!(r.header("x-bad"), Some(""));
        assert_eq!(r.header("x-seen"), Some("1"));
        let error = r.header("x-error").unwrap_or_default();
        assert!(
            error.contains("does not match the expected data type 'INTEGER'"),
            "{error}"
        );
    });
}

#[test]
fn throw_error_raises_a_fault_with_its_type_and_message() {
    run_local(async {
        let api = format!(
            r#"<api {NS} name="M" context="/m"><resource methods="POST" uri-template="/t">
                 <inSequence>
                   <throwError type="ORDER:INVALID" errorMessage="{{${{'bad order for ' + payload.customer}}}}"/>
                   <respond/>
                 </inSequence>
                 <faultSequence>
                   <header name="X-Code" scope="transport" expression="get-property('ERROR_CODE')"/>
                   <header name="X-Error" scope="transport" expression="${{props.synapse.ERROR_MESSAGE}}"/>
                   <property name="HTTP_SC" scope="axis2" value="400"/>
                   <respond/>
                 </faultSequence>
               </resource></api>"#
        );
        let rig = super::Rig::new(&[&api]);
        let r = rig.post("/m/t", "application/json", ORDER).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.header("x-code"), Some("ORDER:INVALID"));
        assert_eq!(r.header("x-error"), Some("bad order for ann"));
    });
}

#[test]
fn log_message_templates_and_switch_take_expressions() {
    run_local(async {
        let rig = mediator_rig(
            r#"<log><message>order of ${payload.customer}: ${payload.items.length()} items</message></log>
               <switch source="${payload.items[0].name}">
                 <case regex="pen"><header name="X-Case" scope="transport" value="pen"/></case>
                 <default><header name="X-Case" scope="transport" value="other"/></default>
               </switch>
               <respond/>"#,
        );
        let r = rig.post("/m/t", "application/json", ORDER).await;
        assert_eq!(r.header("x-case"), Some("pen"));
    });
}

#[test]
fn a_malformed_expression_is_a_deployment_error_with_its_position() {
    let api = format!(
        r#"<api {NS} name="M" context="/m"><resource methods="POST" uri-template="/t"><inSequence>
             <variable name="x" expression="${{5-3}}"/>
           </inSequence></resource></api>"#
    );
    let problems = super::deploy_problems(&api);
    let p = problems
        .iter()
        .find(|p| p.message.contains("invalid Synapse expression '${5-3}'"))
        .unwrap_or_else(|| panic!("{problems:?}"));
    assert!(p.to_string().starts_with("api.xml:2:"), "{p}");
    assert!(p.message.contains("leftover input"), "{p}");
}

// payloadFactory's `${…}` placeholders: wso2/wso2-synapse mediators/transform/pfutils/
// RegexTemplateProcessor.java; MI's PayloadFactory expression integration test (json→json and
// json→xml cases).
#[test]
fn payload_factory_fills_expression_placeholders_as_mi_does() {
    run_local(async {
        let rig = mediator_rig(
            r#"<variable name="id" type="INTEGER" value="123"/>
               <variable name="user" value="123&lt;456"/>
               <payloadFactory media-type="json">
                 <format>{"variable": ${vars.id}, "quoted": "${vars.id}", "pet": ${payload.pet}, "petText": "${payload.pet}", "flag": ${payload.path}, "name": ${payload.pet.name}, "inside": "a ${payload.pet.name} b", "code": ${payload.code}, "zip": ${payload.zip}}</format>
                 <args/>
               </payloadFactory>
               <respond/>"#,
        );
        let r = rig
            .post(
                "/m/t",
                "application/json",
                r#"{"pet":{"type":"dog","name":"rex"},"path":true,"code":"42","zip":"0042"}"#,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v: serde_json::Value =
            serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
        assert_eq!(v["variable"], 123);
        assert_eq!(v["quoted"], "123");
        assert_eq!(v["pet"], serde_json::json!({"type":"dog","name":"rex"}));
        assert_eq!(v["petText"], r#"{"type":"dog","name":"rex"}"#);
        assert_eq!(v["flag"], true);
        // A bare string: MI writes `rex` unquoted and gson's lenient reader takes it as the
        // string; inside a string literal it is written as is. A string that reads as a
        // number is written bare by MI and read as that number.
        assert_eq!(v["name"], "rex");
        assert_eq!(v["inside"], "a rex b");
        assert_eq!(v["code"], 42);

        let rig = mediator_rig(
            r#"<variable name="user" value="123&lt;456"/>
               <payloadFactory media-type="xml">
                 <format><r xmlns=""><u>${vars.user}</u><p>${payload.pet}</p></r></format>
                 <args/>
               </payloadFactory>
               <respond/>"#,
        );
        let r = rig
            .post(
                "/m/t",
                "application/json",
                r#"{"pet":{"type":"dog","name":"rex"}}"#,
            )
            .await;
        assert!(
            r.body
                .ends_with("><u>123&lt;456</u><p><type>dog</type><name>rex</name></p></r>"),
            "{}",
            r.body
        );
    });
}

// Sequence templates and call-template: wso2/wso2-synapse mediators/template/InvokeMediator.java
// and TemplateMediator.java; WSO2's "using templates" tutorial.
#[test]
fn call_template_passes_parameters_with_defaults_and_overrides() {
    run_local(async {
        let template = format!(
            r#"<template {NS} name="Greet">
                 <parameter name="greeting" defaultValue="Hello"/>
                 <parameter name="who"/>
                 <sequence>
                   <header name="X-Greeting" scope="transport" expression="concat($func:greeting, ' ', get-property('func', 'who'))"/>
                   <header name="X-Who" scope="transport" expression="${{params.functionParams.who}}"/>
                 </sequence>
               </template>"#
        );
        let api = format!(
            r#"<api {NS} name="M" context="/m">
                 <resource methods="POST" uri-template="/default"><inSequence>
                   <call-template target="Greet"><with-param name="who" value="{{json-eval($.name)}}"/></call-template>
                   <respond/>
                 </inSequence></resource>
                 <resource methods="POST" uri-template="/override"><inSequence>
                   <call-template target="Greet">
                     <with-param name="greeting" value="Hi"/>
                     <with-param name="who" value="{{${{payload.name}}}}"/>
                   </call-template>
                   <respond/>
                 </inSequence></resource>
               </api>"#
        );
        let rig = super::Rig::new(&[&template, &api]);
        let r = rig
            .post("/m/default", "application/json", r#"{"name":"Ann"}"#)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.header("x-greeting"), Some("Hello Ann"));
        assert_eq!(r.header("x-who"), Some("Ann"));
        let r = rig
            .post("/m/override", "application/json", r#"{"name":"Bo"}"#)
            .await;
        assert_eq!(r.header("x-greeting"), Some("Hi Bo"));
    });
}

// call's `<source>`/`<target>` (MI 4.4): wso2/wso2-synapse mediators/builtin/CallMediator.java
// (the target variable holds {payload, headers, attributes}).
#[test]
fn call_with_a_variable_target_keeps_the_message_and_stores_the_response() {
    run_local(async {
        let rig = mediator_rig(
            r#"<call>
                 <endpoint><address uri="http://backend:9000/q"/></endpoint>
                 <source type="inline" contentType="application/json">{"q":1}</source>
                 <target type="variable">quote</target>
               </call>
               <header name="X-Price" scope="transport" expression="${vars.quote.payload.price}"/>
               <header name="X-Status" scope="transport" expression="${vars.quote.attributes.statusCode}"/>
               <respond/>"#,
        );
        rig.upstream.always(
            "backend:9000",
            super::Answer::Respond {
                status: StatusCode::CREATED,
                headers: vec![("content-type", "application/json".to_string())],
                chunks: vec![bytes::Bytes::from_static(br#"{"price":4.5}"#)],
            },
        );
        let r = rig.post("/m/t", "application/xml", "<original/>").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body, "<original/>");
        assert_eq!(r.header("x-price"), Some("4.5"));
        assert_eq!(r.header("x-status"), Some("201"));
        let sent = &rig.upstream.requests()[0];
        assert_eq!(sent.body, r#"{"q":1}"#);
        assert_eq!(sent.headers["content-type"], "application/json");
    });
}

// filter xpath="json-eval(…)": wso2/wso2-synapse util/xpath/SynapseJsonPath.java booleanValueOf
// (Boolean.parseBoolean of the string value).
#[test]
fn a_json_eval_filter_holds_when_its_value_reads_true() {
    run_local(async {
        let rig = mediator_rig(
            r#"<filter xpath="json-eval($.vip)">
                 <then><header name="X-Vip" scope="transport" value="yes"/></then>
                 <else><header name="X-Vip" scope="transport" value="no"/></else>
               </filter>
               <respond/>"#,
        );
        let r = rig
            .post("/m/t", "application/json", r#"{"vip":true}"#)
            .await;
        assert_eq!(r.header("x-vip"), Some("yes"));
        let r = rig
            .post("/m/t", "application/json", r#"{"vip":"TRUE"}"#)
            .await;
        assert_eq!(r.header("x-vip"), Some("yes"));
        let r = rig.post("/m/t", "application/json", r#"{"vip":1}"#).await;
        assert_eq!(r.header("x-vip"), Some("no"));
    });
}
