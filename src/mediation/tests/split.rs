//! iterate, clone and aggregate in-process: splitting XML and JSON, the parts' correlation
//! properties, completion by count, min/max and timeout, the continuation after a `call` in a
//! target, late parts, nested splits, failing parts and the fan-out limit.
//!
//! Behaviour follows wso2/wso2-synapse `modules/core/src/main/java/org/apache/synapse/mediators/
//! eip/` (splitter/IterateMediator.java, splitter/CloneMediator.java, aggregator/
//! AggregateMediator.java, Target.java, EIPUtils.java) and the cases of wso2/micro-integrator
//! `integration/mediation-tests/tests-mediator-1/src/test/java/org/wso2/carbon/esb/mediator/test/
//! {aggregate,clone,iterate}/`.

use std::time::Duration;

use http::StatusCode;

use super::{mediator_rig, run_local, Answer, Rig, Settings, NS};
use crate::error::ErrorKind;

const ORDERS: &str =
    "<orders><order><id>1</id></order><order><id>2</id></order><order><id>3</id></order></orders>";

impl Rig {
    fn backend_echoes(&self) {
        self.upstream.always("backend:9000", Answer::Echo);
    }
}

/// The ids in `body`, in order.
fn ids(body: &str) -> Vec<String> {
    texts(body, "id")
}

/// The text of each `<tag …>text</tag>` in `body`, in order.
fn texts(body: &str, tag: &str) -> Vec<String> {
    body.split(&format!("<{tag}"))
        .skip(1)
        .filter(|s| s.starts_with(['>', ' ']))
        .filter_map(|s| s.split_once('>').map(|(_, rest)| rest))
        .filter_map(|s| s.split(&format!("</{tag}>")).next())
        .map(str::to_string)
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// MI 4's pattern: `call` in the iterate's target, the aggregate right after the iterate.
const CALL_AND_AGGREGATE: &str = r#"
    <property name="ROOT"><results xmlns=""/></property>
    <iterate id="it" expression="//order">
      <target><sequence>
        <call><endpoint><address uri="http://backend:9000/o"/></endpoint></call>
      </sequence></target>
    </iterate>
    <aggregate id="it">
      <completeCondition><messageCount min="-1" max="-1"/></completeCondition>
      <onComplete expression="//order" enclosingElementProperty="ROOT">
        <header name="X-Seq" scope="transport" expression="get-property('messageSequence.it')"/>
        <respond/>
      </onComplete>
    </aggregate>
    <log/><respond/>"#;

#[test]
fn a_part_that_called_goes_on_after_the_iterate_and_the_aggregate_answers() {
    run_local(async {
        let rig = mediator_rig(CALL_AND_AGGREGATE);
        rig.backend_echoes();
        let r = rig.post("/m/t", "application/xml", ORDERS).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.starts_with("<results>"), "{}", r.body);
        assert_eq!(sorted(ids(&r.body)), ["1", "2", "3"]);
        // The aggregated message is the first part to arrive: its properties.
        assert!(r.header("x-seq").is_some_and(|s| s.ends_with("/3")));
        // Each part went alone to the backend.
        let mut sent: Vec<String> = rig
            .upstream
            .requests()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect();
        sent.sort();
        assert_eq!(
            sent,
            [
                "<order><id>1</id></order>",
                "<order><id>2</id></order>",
                "<order><id>3</id></order>"
            ]
        );
    });
}

#[test]
fn parts_carry_their_sequence_and_correlation() {
    run_local(async {
        let rig = mediator_rig(
            r#"<iterate id="x" expression="//order" sequential="true">
                 <target><sequence>
                   <property name="S" expression="get-property('messageSequence.x')"/>
                   <property name="C" expression="get-property('aggregateCorelation.x')"/>
                   <payloadFactory media-type="xml"><format><p xmlns="">$1 $2</p></format>
                     <args><arg expression="get-property('S')"/><arg expression="get-property('C')"/></args>
                   </payloadFactory>
                   <call><endpoint><address uri="http://backend:9000/o"/></endpoint></call>
                 </sequence></target>
               </iterate>
               <aggregate id="x"><onComplete expression="//p" enclosingElementProperty="R">
                 <respond/></onComplete></aggregate>"#
                .replace("<iterate", "<property name=\"R\"><all xmlns=\"\"/></property><iterate")
                .as_str(),
        );
        rig.backend_echoes();
        let r = rig.post("/m/t", "application/xml", ORDERS).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let parts = texts(&r.body, "p");
        assert_eq!(parts.len(), 3, "{}", r.body);
        // Sequential: in order, 0-based `i/n`, one correlation (the parent's message id).
        let seq: Vec<&str> = parts.iter().map(|p| p.split(' ').next().unwrap()).collect();
        assert_eq!(seq, ["0/3", "1/3", "2/3"]);
        let corr: Vec<&str> = parts.iter().map(|p| p.split(' ').nth(1).unwrap()).collect();
        assert!(corr[0].starts_with("urn:uuid:"), "{}", corr[0]);
        assert!(corr.iter().all(|c| *c == corr[0]));
    });
}

#[test]
fn soap_parts_keep_the_envelope_and_the_classic_proxy_aggregates_in_its_out_sequence() {
    run_local(async {
        // ESBJAVA-style proxy: send in the target, aggregate in the outSequence, send back.
        let proxy = format!(
            r#"<proxy {NS} name="Split" transports="http">
              <target>
                <inSequence>
                  <iterate xmlns:m="urn:m" expression="//m:order" id="s">
                    <target><endpoint><address uri="http://backend:9000/o"/></endpoint></target>
                  </iterate>
                </inSequence>
                <outSequence>
                  <aggregate id="s">
                    <completeCondition><messageCount/></completeCondition>
                    <onComplete xmlns:m="urn:m" expression="//m:order"><send/></onComplete>
                  </aggregate>
                </outSequence>
              </target>
            </proxy>"#
        );
        let rig = Rig::new(&[&proxy]);
        rig.backend_echoes();
        let env = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h xmlns="urn:h">v</h></s:Header><s:Body><m:orders xmlns:m="urn:m"><m:order>1</m:order><m:order>2</m:order></m:orders></s:Body></s:Envelope>"#;
        let r = rig.post("/services/Split", "text/xml", env).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        // A part: the original headers and the element alone in the body.
        let sent = String::from_utf8_lossy(&rig.upstream.requests()[0].body).into_owned();
        assert!(sent.contains("<h xmlns=\"urn:h\">v</h>"), "{sent}");
        assert!(
            sent.contains("<soapenv:Body><m:order xmlns:m=\"urn:m\">1</m:order></soapenv:Body>"),
            "{sent}"
        );
        // The aggregate: the first response's body, the second's order added beside it.
        let orders = r.body.matches("<m:order").count();
        assert_eq!(orders, 2, "{}", r.body);
        assert!(r.body.contains(":Envelope"), "{}", r.body);
    });
}

#[test]
fn preserve_payload_attaches_each_part_under_the_attach_path() {
    run_local(async {
        let rig = mediator_rig(
            r#"<iterate expression="//order" preservePayload="true" attachPath="//orders">
                 <target><sequence><call><endpoint><address uri="http://backend:9000/o"/></endpoint></call></sequence></target>
               </iterate>
               <aggregate><onComplete expression="//orders"><respond/></onComplete></aggregate>"#,
        );
        rig.backend_echoes();
        let doc = "<batch><head>h</head><orders><order><id>1</id></order><order><id>2</id></order></orders></batch>";
        let r = rig.post("/m/t", "application/xml", doc).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let mut sent: Vec<String> = rig
            .upstream
            .requests()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect();
        sent.sort();
        assert_eq!(
            sent,
            [
                "<batch><head>h</head><orders><order><id>1</id></order></orders></batch>",
                "<batch><head>h</head><orders><order><id>2</id></order></orders></batch>",
            ]
        );
    });
}

#[test]
fn json_iterate_and_json_aggregate_make_an_array() {
    run_local(async {
        let rig = mediator_rig(
            r#"<iterate id="j" expression="json-eval($.items)">
                 <target><sequence><call><endpoint><address uri="http://backend:9000/o"/></endpoint></call></sequence></target>
               </iterate>
               <aggregate id="j"><onComplete expression="json-eval($)"><respond/></onComplete></aggregate>"#,
        );
        rig.backend_echoes();
        let r = rig
            .post(
                "/m/t",
                "application/json",
                r#"{"items":[{"n":1},{"n":2},{"n":3}],"other":true}"#,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let mut ns: Vec<i64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["n"].as_i64().unwrap())
            .collect();
        ns.sort();
        assert_eq!(ns, [1, 2, 3]);
        assert_eq!(rig.upstream.requests()[0].body, r#"{"n":1}"#);
    });
}

#[test]
fn a_json_path_that_is_not_an_array_is_a_fault() {
    run_local(async {
        let rig = super::faulting_rig(
            &[],
            r#"<iterate expression="json-eval($.one)">
                 <target><sequence><respond/></sequence></target>
               </iterate>"#,
            Settings::default(),
        );
        let r = rig
            .post("/m/t", "application/json", r#"{"one":{"a":1}}"#)
            .await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        let error = r.header("x-error").unwrap_or_default();
        assert!(error.contains("not a valid JSON array"), "{error}");
    });
}

/// A sequential iterate of ORDERS (3 parts) into an aggregate completing on `message_count`,
/// after `setup`: the ids the answer holds.
async fn aggregate_ids(setup: &str, message_count: &str) -> Vec<String> {
    let rig = mediator_rig(&format!(
        r#"<property name="ROOT"><r xmlns=""/></property>
           {setup}
           <iterate id="m" expression="//order" sequential="true">
             <target><sequence><call><endpoint><address uri="http://backend:9000/o"/></endpoint></call></sequence></target>
           </iterate>
           <aggregate id="m">
             <completeCondition>{message_count}</completeCondition>
             <onComplete expression="//order" enclosingElementProperty="ROOT"><respond/></onComplete>
           </aggregate>"#
    ));
    rig.backend_echoes();
    ids(&rig.post("/m/t", "application/xml", ORDERS).await.body)
}

#[test]
fn max_completes_early_and_later_parts_are_dropped() {
    run_local(async {
        let got = aggregate_ids("", r#"<messageCount min="-1" max="2"/>"#).await;
        assert_eq!(got, ["1", "2"]);
    });
}

#[test]
fn min_and_max_may_be_expressions() {
    run_local(async {
        let got = aggregate_ids(
            r#"<property name="LIMIT" value="2"/>"#,
            r#"<messageCount min="{get-property('LIMIT')}" max="-1"/>"#,
        )
        .await;
        assert_eq!(got, ["1", "2"]);
    });
}

#[test]
fn the_timeout_completes_with_the_parts_that_arrived() {
    run_local(async {
        let rig = mediator_rig(
            r#"<property name="ROOT"><r xmlns=""/></property>
               <iterate id="t" expression="//order">
                 <target><sequence>
                   <call><endpoint><address uri="http://backend:9000/o"/></endpoint></call>
                 </sequence></target>
               </iterate>
               <aggregate id="t">
                 <completeCondition timeout="1"><messageCount/></completeCondition>
                 <onComplete expression="//order" enclosingElementProperty="ROOT"><respond/></onComplete>
               </aggregate>"#,
        );
        rig.upstream.push("backend:9000", Answer::Echo);
        rig.upstream.push("backend:9000", Answer::Echo);
        rig.upstream.push("backend:9000", Answer::Hang);
        let started = std::time::Instant::now();
        let r = rig.post("/m/t", "application/xml", ORDERS).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(sorted(ids(&r.body)), ["1", "2"]);
        assert!(started.elapsed() >= Duration::from_millis(900));
    });
}

#[test]
fn a_sequential_split_waiting_for_a_timeout_still_runs_its_other_parts() {
    run_local(async {
        // The first part waits for the timeout; the others must still run one by one.
        let rig = mediator_rig(
            r#"<property name="ROOT"><r xmlns=""/></property>
               <iterate id="t" expression="//order" sequential="true">
                 <target><sequence><call><endpoint><address uri="http://backend:9000/o"/></endpoint></call></sequence></target>
               </iterate>
               <aggregate id="t">
                 <completeCondition timeout="30"><messageCount/></completeCondition>
                 <onComplete expression="//order" enclosingElementProperty="ROOT"><respond/></onComplete>
               </aggregate>"#,
        );
        rig.backend_echoes();
        let r = rig.post("/m/t", "application/xml", ORDERS).await;
        assert_eq!(ids(&r.body), ["1", "2", "3"], "{}", r.body);
    });
}

#[test]
fn clone_copies_the_whole_message_to_each_target() {
    run_local(async {
        let rig = mediator_rig(
            r#"<property name="P" value="parent"/>
               <property name="ROOT"><r xmlns=""/></property>
               <clone id="c">
                 <target><sequence>
                   <payloadFactory media-type="xml"><format><a xmlns="">$1</a></format><args><arg expression="get-property('P')"/></args></payloadFactory>
                   <call><endpoint><address uri="http://backend:9000/a"/></endpoint></call>
                 </sequence></target>
                 <target><sequence><call><endpoint><address uri="http://backend:9000/b"/></endpoint></call></sequence></target>
               </clone>
               <aggregate id="c"><onComplete expression="/*" enclosingElementProperty="ROOT"><respond/></onComplete></aggregate>"#,
        );
        rig.backend_echoes();
        let r = rig.post("/m/t", "application/xml", "<orig/>").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(texts(&r.body, "a"), ["parent"], "{}", r.body);
        assert!(r.body.contains("<orig/>"), "{}", r.body);
        assert_eq!(rig.upstream.requests().len(), 2);
    });
}

#[test]
fn clone_iterations_runs_one_target_n_times() {
    run_local(async {
        let rig = mediator_rig(
            r#"<property name="ROOT"><r xmlns=""/></property>
               <clone id="c" iterations="3" sequential="true">
                 <target><sequence>
                   <payloadFactory media-type="xml"><format><i xmlns="">$1</i></format><args><arg expression="get-property('CLONED_ITERATION_INDEX')"/></args></payloadFactory>
                   <call><endpoint><address uri="http://backend:9000/a"/></endpoint></call>
                 </sequence></target>
               </clone>
               <aggregate id="c"><onComplete expression="//i" enclosingElementProperty="ROOT"><respond/></onComplete></aggregate>"#,
        );
        rig.backend_echoes();
        let r = rig.post("/m/t", "application/xml", "<x/>").await;
        assert!(r.body.starts_with("<r>"), "{}", r.body);
        assert_eq!(texts(&r.body, "i"), ["1", "2", "3"], "{}", r.body);
    });
}

#[test]
fn nested_splits_aggregate_with_their_own_ids() {
    run_local(async {
        let rig = mediator_rig(
            r#"<property name="OUT"><all xmlns=""/></property>
               <property name="IN"><group xmlns=""/></property>
               <iterate id="outer" expression="//g">
                 <target><sequence>
                   <iterate id="inner" expression="//v">
                     <target><sequence><call><endpoint><address uri="http://backend:9000/v"/></endpoint></call></sequence></target>
                   </iterate>
                   <aggregate id="inner"><onComplete expression="//v" enclosingElementProperty="IN">
                     <call><endpoint><address uri="http://backend:9000/g"/></endpoint></call>
                     <aggregate id="outer"><onComplete expression="//group" enclosingElementProperty="OUT"><respond/></onComplete></aggregate>
                   </onComplete></aggregate>
                 </sequence></target>
               </iterate>"#,
        );
        rig.backend_echoes();
        let r = rig
            .post(
                "/m/t",
                "application/xml",
                "<d><g><v>1</v><v>2</v></g><g><v>3</v></g></d>",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(texts(&r.body, "group").len(), 2, "{}", r.body);
        assert_eq!(r.body.matches("<v>").count(), 3, "{}", r.body);
    });
}

#[test]
fn a_failing_part_runs_the_fault_handler_and_the_timeout_completes_the_rest() {
    run_local(async {
        let rig = mediator_rig(
            r#"<property name="ROOT"><r xmlns=""/></property>
               <iterate id="f" expression="//order">
                 <target><sequence><call><endpoint><address uri="http://backend:9000/o">
                   <!-- a failure does not suspend the endpoint for the other parts -->
                   <suspendOnFailure><errorCodes>-1</errorCodes></suspendOnFailure>
                 </address></endpoint></call></sequence></target>
               </iterate>
               <aggregate id="f">
                 <completeCondition timeout="1"/>
                 <onComplete expression="//order" enclosingElementProperty="ROOT"><respond/></onComplete>
               </aggregate>"#,
        );
        rig.upstream.push("backend:9000", Answer::Echo);
        rig.upstream
            .push("backend:9000", Answer::Fail(ErrorKind::ConnectFailed));
        rig.upstream.push("backend:9000", Answer::Echo);
        let r = rig.post("/m/t", "application/xml", ORDERS).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(ids(&r.body).len(), 2, "{}", r.body);
    });
}

#[test]
fn when_no_part_answers_the_client_gets_the_parts_fault() {
    run_local(async {
        let rig = mediator_rig(
            r#"<iterate expression="//order">
                 <target><sequence><call><endpoint><address uri="http://backend:9000/o"/></endpoint></call></sequence></target>
               </iterate>"#,
        );
        rig.upstream
            .always("backend:9000", Answer::Fail(ErrorKind::ConnectFailed));
        let r = rig.post("/m/t", "application/xml", ORDERS).await;
        assert!(r.status.is_server_error(), "{} {}", r.status, r.body);
    });
}

#[test]
fn a_split_beyond_the_part_limit_is_a_fault_before_any_call() {
    run_local(async {
        let mut settings = Settings::default();
        settings.mediation.max_split_parts = 2;
        let rig = super::faulting_rig(
            &[],
            r#"<iterate expression="//order">
                 <target><sequence><call><endpoint><address uri="http://backend:9000/o"/></endpoint></call></sequence></target>
               </iterate>"#,
            settings,
        );
        rig.backend_echoes();
        let r = rig.post("/m/t", "application/xml", ORDERS).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        let error = r.header("x-error").unwrap_or_default();
        assert!(error.contains("max_split_parts"), "{error}");
        assert!(rig.upstream.requests().is_empty());
    });
}

/// The branches of MI 4.4's foreach run outside the request's split group, but an iterate inside
/// one counts its parts with the request's: 2 items + 2 × 2 orders exceed a limit of 5.
#[test]
fn splits_inside_foreach_branches_count_against_the_request_limit() {
    run_local(async {
        let mut settings = Settings::default();
        settings.mediation.max_split_parts = 5;
        let rig = super::faulting_rig(
            &[],
            r#"<foreach collection="${payload.groups}" parallel-execution="false">
                 <sequence>
                   <iterate expression="json-eval($.orders)">
                     <target><sequence><call><endpoint><address uri="http://backend:9000/o"/></endpoint></call><drop/></sequence></target>
                   </iterate>
                 </sequence>
               </foreach>
               <respond/>"#,
            settings,
        );
        rig.backend_echoes();
        let within = r#"{"groups":[{"orders":[1]},{"orders":[2]}]}"#;
        let r = rig.post("/m/t", "application/json", within).await;
        assert_ne!(
            r.header("x-error").map(|e| e.contains("max_split_parts")),
            Some(true)
        );
        assert_eq!(rig.upstream.requests().len(), 2);
        let beyond = r#"{"groups":[{"orders":[1,2]},{"orders":[3,4]}]}"#;
        let _ = rig.post("/m/t", "application/json", beyond).await;
        // The first branch's two orders fit (2 + 2); the second branch's are refused (a fault in
        // that branch, which then contributes nothing, as in MI).
        assert_eq!(rig.upstream.requests().len(), 4);
    });
}

#[test]
fn continue_parent_goes_on_with_the_original_message() {
    run_local(async {
        let rig = mediator_rig(
            r#"<iterate expression="//order" continueParent="true">
                 <target><sequence><log/></sequence></target>
               </iterate>
               <respond/>"#,
        );
        let r = rig.post("/m/t", "application/xml", ORDERS).await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, ORDERS));
    });
}

#[test]
fn without_correlation_a_message_passes_the_aggregate() {
    run_local(async {
        let rig = mediator_rig(
            r#"<aggregate><onComplete><respond/></onComplete></aggregate>
               <header name="X-Passed" scope="transport" value="yes"/><respond/>"#,
        );
        let r = rig.post("/m/t", "application/xml", "<a/>").await;
        assert_eq!(r.header("x-passed"), Some("yes"));
    });
}

// foreach (classic): wso2/wso2-synapse mediators/builtin/ForEachMediator.java; MI tests
// integration/mediation-tests/tests-mediator-1/.../mediator/test/foreach/.

#[test]
fn foreach_transforms_each_element_in_place_and_counts() {
    run_local(async {
        let rig = mediator_rig(
            r#"<foreach id="f" expression="//order">
                 <sequence>
                   <payloadFactory media-type="xml">
                     <format><order xmlns=""><no>$1</no></order></format>
                     <args><arg expression="//id"/></args>
                   </payloadFactory>
                 </sequence>
               </foreach>
               <header name="X-Count" scope="transport" expression="get-property('f_FOREACH_COUNTER')"/>
               <respond/>"#,
        );
        let doc =
            "<orders><head/><order><id>1</id></order><tail/><order><id>2</id></order></orders>";
        let r = rig.post("/m/t", "application/xml", doc).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        // Processed elements go to the end of the first one's parent, as WSO2 appends them.
        assert!(
            r.body.starts_with("<orders><head/><tail/><order"),
            "{}",
            r.body
        );
        assert_eq!(texts(&r.body, "no"), ["1", "2"], "{}", r.body);
        assert_eq!(r.header("x-count"), Some("2"));
    });
}

#[test]
fn foreach_over_a_json_array_replaces_it_with_the_results() {
    run_local(async {
        let rig = mediator_rig(
            r#"<foreach expression="json-eval($.items)">
                 <sequence>
                   <payloadFactory media-type="json">
                     <format>{"twice":$1}</format>
                     <args><arg evaluator="json" expression="$.n"/></args>
                   </payloadFactory>
                 </sequence>
               </foreach>
               <respond/>"#,
        );
        let r = rig
            .post(
                "/m/t",
                "application/json",
                r#"{"items":[{"n":1},{"n":2}],"k":"v"}"#,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            v["items"],
            serde_json::json!([{"twice":1},{"twice":2}]),
            "{}",
            r.body
        );
        assert_eq!(v["k"], "v");
    });
}

#[test]
fn foreach_keeps_properties_set_in_the_loop_and_its_sequence_may_not_call() {
    run_local(async {
        let rig = mediator_rig(
            r#"<property name="SEEN" value=""/>
               <foreach expression="//id">
                 <sequence><property name="SEEN" expression="concat(get-property('SEEN'), //id)"/></sequence>
               </foreach>
               <header name="X-Seen" scope="transport" expression="get-property('SEEN')"/>
               <respond/>"#,
        );
        let r = rig.post("/m/t", "application/xml", ORDERS).await;
        assert_eq!(r.header("x-seen"), Some("123"));
    });
    let api = format!(
        r#"<api {NS} name="M" context="/m"><resource methods="POST" uri-template="/t"><inSequence>
             <foreach expression="//id"><sequence><call><endpoint><address uri="http://b:1/"/></endpoint></call></sequence></foreach>
           </inSequence></resource></api>"#
    );
    let problems = super::deploy_problems(&api);
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("cannot contain call")
                && p.to_string().contains("api.xml:2:")),
        "{problems:?}"
    );
}

#[test]
fn foreach_continue_loop_on_failure_keeps_going() {
    run_local(async {
        let rig = mediator_rig(
            r#"<foreach expression="//order" continueLoopOnFailure="true">
                 <sequence>
                   <filter xpath="//id = '2'"><then><xslt key="not-in-mint"/></then></filter>
                   <property name="LAST" expression="//id"/>
                 </sequence>
               </foreach>
               <header name="X-Last" scope="transport" expression="get-property('LAST')"/>
               <respond/>"#,
        );
        let r = rig.post("/m/t", "application/xml", ORDERS).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        // The failed element stays as it was; the loop went on to the third.
        assert_eq!(ids(&r.body), ["1", "2", "3"], "{}", r.body);
        assert_eq!(r.header("x-last"), Some("3"));
    });
}

// MI 4.4's foreach and scatter-gather: wso2/wso2-synapse mediators/v2/ForEachMediatorV2.java and
// ScatterGather.java; MI tests .../mediator/test/v2/{ForEachMediatorTestCase,ScatterGatherTestCase}.

#[test]
fn foreach_collection_updates_the_original_array_in_item_order() {
    run_local(async {
        let rig = mediator_rig(
            r#"<foreach collection="${payload.items}" parallel-execution="false" counter-variable="i">
                 <sequence>
                   <payloadFactory media-type="json">
                     <format>{"n":$1,"at":$2}</format>
                     <args><arg evaluator="json" expression="$.n"/><arg expression="${vars.i}"/></args>
                   </payloadFactory>
                 </sequence>
               </foreach>
               <respond/>"#,
        );
        let r = rig
            .post(
                "/m/t",
                "application/json",
                r#"{"items":[{"n":1},{"n":2},{"n":3}],"k":1}"#,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"items":[{"n":1,"at":0},{"n":2,"at":1},{"n":3,"at":2}],"k":1})
        );
    });
}

/// A collection of XML elements (`${xpath(…)}`): the branches of a SOAP message are SOAP
/// messages, and updating the original takes the elements out and appends the results to the
/// first one's parent (after its other children, as MI's ForEachMediatorV2 does).
#[test]
fn foreach_collection_over_xml_elements_replaces_them_in_the_envelope() {
    run_local(async {
        let rig = mediator_rig(
            r#"<foreach collection="${xpath('//o:order')}" xmlns:o="urn:o">
                 <sequence>
                   <payloadFactory media-type="xml">
                     <format><done xmlns="">$1</done></format>
                     <args><arg expression="//*[local-name()='order']/@n"/></args>
                   </payloadFactory>
                 </sequence>
               </foreach>
               <respond/>"#,
        );
        let soap = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><o:orders xmlns:o="urn:o"><o:order n="1"/><note/><o:order n="2"/></o:orders></s:Body></s:Envelope>"#;
        let r = rig.post("/m/t", "text/xml", soap).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body.contains(
                r#"<o:orders xmlns:o="urn:o"><note/><done>1</done><done>2</done></o:orders>"#
            ),
            "{}",
            r.body
        );
    });
}

#[test]
fn foreach_collection_calls_in_parallel_and_collects_into_a_variable() {
    run_local(async {
        let rig = mediator_rig(
            r#"<foreach collection="${payload.items}" update-original="false"
                        target-variable="out" result-content-type="JSON">
                 <sequence>
                   <call><endpoint><address uri="http://backend:9000/o"/></endpoint></call>
                 </sequence>
               </foreach>
               <header name="X-Out" scope="transport" expression="${vars.out}"/>
               <respond/>"#,
        );
        rig.backend_echoes();
        let r = rig
            .post("/m/t", "application/json", r#"{"items":[{"n":1},{"n":2}]}"#)
            .await;
        assert_eq!(r.header("x-out"), Some(r#"[{"n":1},{"n":2}]"#));
        // The message itself is as it was.
        assert_eq!(r.body, r#"{"items":[{"n":1},{"n":2}]}"#);
        assert_eq!(rig.upstream.requests().len(), 2);
    });
}

#[test]
fn scatter_gather_collects_each_branch_into_the_body_or_a_variable() {
    run_local(async {
        let rig = mediator_rig(
            r#"<scatter-gather parallel-execution="true" target="body" result-content-type="JSON">
                 <aggregation expression="${payload}"/>
                 <sequence>
                   <payloadFactory media-type="json"><format>{"from":"a"}</format><args/></payloadFactory>
                 </sequence>
                 <sequence>
                   <call><endpoint><address uri="http://backend:9000/b"/></endpoint></call>
                 </sequence>
                 <sequence><drop/></sequence>
               </scatter-gather>
               <respond/>"#,
        );
        rig.backend_echoes();
        let r = rig
            .post("/m/t", "application/json", r#"{"from":"client"}"#)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let mut got: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["from"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        // The dropped branch contributes nothing.
        assert_eq!(got, ["a", "client"]);

        let rig = mediator_rig(
            r#"<scatter-gather target="variable" target-variable="all" result-content-type="XML"
                               result-enclosing-element="all">
                 <aggregation expression="${xpath('$body/*')}" condition="${exists(payload.req.keep)}"/>
                 <sequence><payloadFactory media-type="xml"><format><a xmlns="">1</a></format><args/></payloadFactory></sequence>
                 <sequence><log/></sequence>
               </scatter-gather>
               <header name="X-All" scope="transport" expression="${vars.all}"/>
               <respond/>"#,
        );
        let r = rig
            .post("/m/t", "application/xml", "<req><keep>y</keep></req>")
            .await;
        // The first branch's payload has no `keep`: its condition is false.
        assert_eq!(
            r.header("x-all"),
            Some("<all><req><keep>y</keep></req></all>")
        );
        assert_eq!(r.body, "<req><keep>y</keep></req>");
    });
}

#[test]
fn scatter_gather_timeout_is_in_milliseconds() {
    run_local(async {
        let rig = mediator_rig(
            r#"<scatter-gather target="body" result-content-type="JSON">
                 <aggregation expression="${payload}" timeout="300"/>
                 <sequence><call><endpoint><address uri="http://backend:9000/fast"/></endpoint></call></sequence>
                 <sequence><call><endpoint><address uri="http://slow:9000/slow"/></endpoint></call></sequence>
               </scatter-gather>
               <respond/>"#,
        );
        rig.backend_echoes();
        rig.upstream.always("slow:9000", Answer::Hang);
        let started = std::time::Instant::now();
        let r = rig.post("/m/t", "application/json", r#"{"x":1}"#).await;
        assert_eq!(r.body, r#"[{"x":1}]"#);
        assert!(started.elapsed() < Duration::from_secs(2));
    });
}
