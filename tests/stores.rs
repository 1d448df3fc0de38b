//! End-to-end: store and forward. The `store` mediator puts messages into a message store; a
//! message processor forwards them to a backend in order, retries as configured, then drops,
//! deactivates or moves what it could not deliver; a sampling processor runs a sequence on each;
//! a scheduled task injects messages on a timer.

// Test threads may sleep and lock: they are not shards.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::*;

/// A backend on `port` (0: any) that reports each request and answers the next status of
/// `script` (200 once it is empty) with `<ok/>`.
struct Backend {
    port: u16,
    requests: mpsc::Receiver<Received>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Backend {
    fn start(port: u16) -> Backend {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel();
        let script: Arc<Mutex<VecDeque<u16>>> = Default::default();
        let s = script.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (tx, s) = (tx.clone(), s.clone());
                std::thread::spawn(move || {
                    while let Some(req) = read_request(&stream) {
                        let status = s.lock().unwrap().pop_front().unwrap_or(200);
                        let _ = tx.send(req);
                        let body = "<ok/>";
                        if stream
                            .write_all(
                                format!(
                                    "HTTP/1.1 {status} X\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}",
                                    body.len()
                                )
                                .as_bytes(),
                            )
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        Backend {
            port,
            requests: rx,
            script,
        }
    }

    fn next(&self, within: Duration) -> Option<Received> {
        self.requests.recv_timeout(within).ok()
    }

    /// Requests that arrive within `within`, in order.
    fn collect(&self, within: Duration) -> Vec<Received> {
        let deadline = std::time::Instant::now() + within;
        let mut out = Vec::new();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.requests.recv_timeout(left) {
                Ok(r) => out.push(r),
                Err(_) => break,
            }
        }
        out
    }
}

const STORE_PROXY: &str = r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="StoreProxy" transports="http">
  <target><inSequence>
    <property name="FORCE_SC_ACCEPTED" value="true" scope="axis2"/>
    <property name="OUT_ONLY" value="true"/>
    <header name="customHeader" scope="transport" value="customHeaderValue"/>
    <store messageStore="Orders"/>
  </inSequence></target>
</proxy>"#;

fn processor(params: &str) -> String {
    format!(
        r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="Forwarder"
    class="org.apache.synapse.message.processor.impl.forwarder.ScheduledMessageForwardingProcessor"
    messageStore="Orders" targetEndpoint="Backend">
  <parameter name="interval">100</parameter>
  <parameter name="client.retry.interval">100</parameter>
  {params}
</messageProcessor>"#
    )
}

fn home(mi: &mut Mi, backend: u16, processor_params: &str) {
    mi.deploy(r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Orders"/>"#)
        .deploy(&format!(
            r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="Backend"><address uri="http://127.0.0.1:{backend}/orders"/></endpoint>"#
        ))
        .deploy(STORE_PROXY)
        .deploy(&processor(processor_params));
}

fn order(n: usize) -> String {
    format!("<order><id>{n}</id></order>")
}

#[test]
fn stored_messages_are_forwarded_in_order_with_their_headers() {
    let backend = Backend::start(0);
    let mut mi = Mi::new("store-forward");
    home(&mut mi, backend.port, "");
    mi.start();
    for n in 1..=5 {
        let r = mi.post_xml("/services/StoreProxy", &order(n));
        assert_eq!(r.status, 202, "{}", r.text());
    }
    for n in 1..=5 {
        let req = backend
            .next(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("message {n} not forwarded:\n{}", mi.log_text()));
        assert_eq!(String::from_utf8_lossy(&req.body), order(n));
        assert_eq!(req.target, "/orders");
        assert_eq!(req.header("customheader"), Some("customHeaderValue"));
        assert!(req
            .header("content-type")
            .unwrap()
            .starts_with("application/xml"));
    }
    assert!(
        backend.next(Duration::from_millis(500)).is_none(),
        "delivered once each"
    );
}

#[test]
fn a_failing_backend_gets_exactly_the_configured_attempts_then_the_processor_deactivates() {
    let backend = Backend::start(0);
    backend.script.lock().unwrap().extend([500, 500, 500]);
    let mut mi = Mi::new("store-attempts");
    home(
        &mut mi,
        backend.port,
        r#"<parameter name="max.delivery.attempts">3</parameter>
  <parameter name="message.processor.fault.sequence">onFail</parameter>
  <parameter name="message.processor.deactivate.sequence">onDeactivate</parameter>"#,
    );
    mi.deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="onFail"><log level="custom"><property name="FAILED" expression="$axis2:HTTP_SC"/></log></sequence>"#)
        .deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="onDeactivate"><log level="custom"><property name="DEACTIVATED" expression="//id"/></log></sequence>"#);
    mi.start();
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(1)).status, 202);
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(2)).status, 202);
    let got = backend.collect(Duration::from_secs(3));
    // Three attempts of the first message, each with the message as it was stored; the second
    // waits behind it in the deactivated processor.
    assert_eq!(got.len(), 3, "{got:?}\n{}", mi.log_text());
    for r in &got {
        assert_eq!(String::from_utf8_lossy(&r.body), order(1));
    }
    mi.expect_log("Successfully deactivated the message processor [Forwarder]");
    mi.expect_log("DEACTIVATED = 1");
    // An OUT_ONLY message refused with a status runs no fault sequence (Synapse only logs it).
    assert!(!mi.log_text().contains("FAILED"), "{}", mi.log_text());
}

#[test]
fn after_the_last_attempt_a_message_is_dropped_when_asked_and_the_next_one_goes() {
    let backend = Backend::start(0);
    backend.script.lock().unwrap().extend([503, 503]);
    let mut mi = Mi::new("store-drop");
    home(
        &mut mi,
        backend.port,
        r#"<parameter name="max.delivery.attempts">2</parameter>
  <parameter name="max.delivery.drop">Enabled</parameter>"#,
    );
    mi.start();
    mi.post_xml("/services/StoreProxy", &order(1));
    mi.post_xml("/services/StoreProxy", &order(2));
    let got = backend.collect(Duration::from_secs(3));
    let bodies: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(bodies, [order(1), order(1), order(2)], "{}", mi.log_text());
}

#[test]
fn a_message_waits_while_the_backend_is_down_and_is_delivered_when_it_returns() {
    // A port nobody listens on yet.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut mi = Mi::new("store-down");
    home(
        &mut mi,
        port,
        r#"<parameter name="max.delivery.attempts">-1</parameter>
  <parameter name="message.processor.fault.sequence">onFail</parameter>"#,
    );
    // Without suspension, so that the message goes as soon as the backend is back (a suspended
    // endpoint would hold it until the suspension ends, as in MI).
    mi.deploy(&format!(
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="Backend"><address uri="http://127.0.0.1:{port}/orders">
  <suspendOnFailure><initialDuration>0</initialDuration><maximumDuration>0</maximumDuration></suspendOnFailure>
</address></endpoint>"#
    ))
    .deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="onFail"><log level="custom"><property name="FAILED" expression="$ctx:ERROR_CODE"/><property name="WHY" expression="$ctx:ERROR_MESSAGE"/></log></sequence>"#);
    mi.start();
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(7)).status, 202);
    std::thread::sleep(Duration::from_millis(800));
    let backend = Backend::start(port);
    let req = backend
        .next(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("not delivered:\n{}", mi.log_text()));
    assert_eq!(String::from_utf8_lossy(&req.body), order(7));
    assert!(backend.next(Duration::from_millis(500)).is_none());
    // Each refused connection ran the fault sequence with MI's error properties.
    assert!(
        mi.log_text()
            .contains("FAILED = 101503, WHY = Error connecting to the back end"),
        "{}",
        mi.log_text()
    );
}

#[test]
fn an_in_out_message_runs_the_reply_sequence_and_non_retry_statuses_count_as_delivered() {
    let backend = Backend::start(0);
    backend.script.lock().unwrap().extend([400]);
    let mut mi = Mi::new("store-reply");
    mi.deploy(r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Orders"/>"#)
        .deploy(&format!(
            r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="Backend"><address uri="http://127.0.0.1:{}/orders"/></endpoint>"#,
            backend.port
        ))
        .deploy(r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Orders" context="/orders">
  <resource methods="POST"><inSequence>
    <property name="FORCE_SC_ACCEPTED" value="true" scope="axis2"/>
    <store messageStore="{$ctx:storeName}" sequence="beforeStore"/>
  </inSequence></resource>
</api>"#)
        .deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="beforeStore"><property name="stamp" value="seen"/></sequence>"#)
        .deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="onReply"><log level="custom"><property name="REPLY" expression="$axis2:HTTP_SC"/><property name="STAMP" expression="$ctx:stamp"/></log></sequence>"#)
        .deploy(&processor(
            r#"<parameter name="non.retry.status.codes">400, 401</parameter>
  <parameter name="message.processor.reply.sequence">onReply</parameter>"#,
        ));
    // The store's name comes from an expression: a property set before the store mediator.
    mi.deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="main"><property name="storeName" value="Orders"/></sequence>"#);
    mi.start();
    let r = mi.send("POST", "/orders", "application/json", r#"{"id":1}"#);
    assert_eq!(r.status, 500, "no storeName yet: {}", r.text());
    mi.deploy(
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Orders" context="/orders">
  <resource methods="POST"><inSequence>
    <property name="FORCE_SC_ACCEPTED" value="true" scope="axis2"/>
    <property name="storeName" value="Orders"/>
    <store messageStore="{$ctx:storeName}" sequence="beforeStore"/>
  </inSequence></resource>
</api>"#,
    );
    let redeployed = eventually(Duration::from_secs(5), || {
        mi.send("POST", "/orders", "application/json", r#"{"id":2}"#)
            .status
            == 202
    });
    assert!(redeployed, "{}", mi.log_text());
    let req = backend.next(Duration::from_secs(5)).expect("forwarded");
    assert_eq!(String::from_utf8_lossy(&req.body), r#"{"id":2}"#);
    mi.expect_log("REPLY = 400, STAMP = seen");
    assert!(
        backend.next(Duration::from_millis(500)).is_none(),
        "400 is not retried"
    );
}

#[test]
fn a_missing_store_is_a_fault_not_a_lost_message() {
    let mut mi = Mi::new("store-missing");
    mi.deploy(r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Lost" context="/lost">
  <resource methods="POST"><inSequence>
    <store messageStore="Nowhere"/>
    <respond/>
  </inSequence>
  <faultSequence><payloadFactory media-type="text"><format>$1</format><args><arg expression="$ctx:ERROR_MESSAGE"/></args></payloadFactory><respond/></faultSequence>
  </resource>
</api>"#);
    mi.start();
    let r = mi.post_xml("/lost", "<a/>");
    assert_eq!(r.text(), "Message Store does not exist.");
}

#[test]
fn a_fault_in_the_on_store_sequence_stores_nothing() {
    let mut mi = Mi::new("store-onstore-fault");
    mi.deploy(r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Orders"/>"#)
        .deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="check"><filter xpath="//id = 'bad'"><then><throwError type="INVALID" errorMessage="bad order"/></then></filter></sequence>"#)
        .deploy(r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Orders" context="/orders">
  <resource methods="POST"><inSequence>
    <property name="FORCE_SC_ACCEPTED" value="true" scope="axis2"/>
    <store messageStore="Orders" sequence="check"/>
  </inSequence>
  <faultSequence><payloadFactory media-type="text"><format>refused: $1</format><args><arg expression="$ctx:ERROR_MESSAGE"/></args></payloadFactory><respond/></faultSequence>
  </resource>
</api>"#)
        .deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="sample"><log level="custom"><property name="SAMPLED" expression="//id"/></log></sequence>"#)
        .deploy(r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="Sampler"
    class="org.apache.synapse.message.processor.impl.sampler.SamplingProcessor" messageStore="Orders">
  <parameter name="interval">100</parameter>
  <parameter name="sequence">sample</parameter>
</messageProcessor>"#);
    mi.start();
    let r = mi.post_xml("/orders", "<order><id>bad</id></order>");
    assert_eq!(r.text(), "refused: bad order");
    assert_eq!(
        mi.post_xml("/orders", "<order><id>good</id></order>")
            .status,
        202
    );
    mi.expect_log("SAMPLED = good");
    assert!(
        !mi.log_text().contains("SAMPLED = bad"),
        "{}",
        mi.log_text()
    );
}

#[test]
fn a_sampling_processor_runs_its_sequence_on_each_message() {
    let mut mi = Mi::new("store-sample");
    mi.deploy(r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Orders"/>"#)
        .deploy(STORE_PROXY)
        .deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="sample"><log level="custom"><property name="SAMPLED" expression="//id"/><property name="HEADER" expression="$trp:customHeader"/></log></sequence>"#)
        .deploy(r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="Sampler"
    class="org.apache.synapse.message.processor.impl.sampler.SamplingProcessor" messageStore="Orders">
  <parameter name="interval">100</parameter>
  <parameter name="concurrency">2</parameter>
  <parameter name="sequence">sample</parameter>
</messageProcessor>"#);
    mi.start();
    for n in 1..=3 {
        assert_eq!(mi.post_xml("/services/StoreProxy", &order(n)).status, 202);
    }
    for n in 1..=3 {
        mi.expect_log(&format!("SAMPLED = {n}, HEADER = customHeaderValue"));
    }
}

#[test]
fn failed_messages_move_to_the_fail_store_and_a_failover_processor_moves_them_on() {
    let backend = Backend::start(0);
    backend.script.lock().unwrap().extend([500]);
    let mut mi = Mi::new("store-failover");
    home(
        &mut mi,
        backend.port,
        r#"<parameter name="max.delivery.attempts">1</parameter>
  <parameter name="message.processor.failMessagesStore">Failed</parameter>"#,
    );
    mi.deploy(r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Failed"/>"#)
        .deploy(r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="Back"
    class="org.apache.synapse.message.processor.impl.failover.FailoverScheduledMessageForwardingProcessor" messageStore="Failed">
  <parameter name="interval">500</parameter>
  <parameter name="message.target.store.name">Orders</parameter>
</messageProcessor>"#);
    mi.start();
    mi.post_xml("/services/StoreProxy", &order(3));
    // Refused once (500), moved to `Failed`, moved back to `Orders`, delivered.
    let got = backend.collect(Duration::from_secs(3));
    let bodies: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(bodies, [order(3), order(3)], "{}", mi.log_text());
}

#[test]
fn a_task_injects_its_message_every_second_the_number_of_times_asked() {
    let mut mi = Mi::new("task");
    mi.deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="tick"><log level="custom"><property name="TICK" expression="//m:symbol" xmlns:m="http://services.samples"/><property name="TASK" expression="$ctx:task.name"/></log></sequence>"#)
        .deploy(r#"<task xmlns="http://ws.apache.org/ns/synapse" name="Ticker" class="org.apache.synapse.startup.tasks.MessageInjector" group="synapse.simple.quartz">
  <trigger interval="1" count="3"/>
  <property xmlns:task="http://www.wso2.org/products/wso2commons/tasks" name="injectTo" value="sequence"/>
  <property xmlns:task="http://www.wso2.org/products/wso2commons/tasks" name="sequenceName" value="tick"/>
  <property xmlns:task="http://www.wso2.org/products/wso2commons/tasks" name="message">
    <m0:getQuote xmlns:m0="http://services.samples"><m0:request><m0:symbol>IBM</m0:symbol></m0:request></m0:getQuote>
  </property>
</task>"#);
    mi.start();
    std::thread::sleep(Duration::from_millis(3500));
    let log = mi.log_text();
    assert_eq!(log.matches("TICK = IBM, TASK = Ticker").count(), 3, "{log}");
}

#[test]
fn a_cron_task_runs_at_the_times_its_expression_names() {
    let mut mi = Mi::new("task-cron");
    mi.deploy(r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="tick"><log level="custom"><property name="CRON" expression="$ctx:task.name"/></log></sequence>"#)
        .deploy(r#"<task xmlns="http://ws.apache.org/ns/synapse" name="EverySecond" class="org.apache.synapse.startup.tasks.MessageInjector">
  <trigger cron="* * * ? * *"/>
  <property name="injectTo" value="sequence"/>
  <property name="sequenceName" value="tick"/>
  <property name="message"><tick/></property>
</task>"#);
    mi.start();
    std::thread::sleep(Duration::from_millis(3300));
    let n = mi.log_text().matches("CRON = EverySecond").count();
    assert!(
        (2..=4).contains(&n),
        "{n} runs in 3.3 s:\n{}",
        mi.log_text()
    );
}

#[test]
fn a_task_can_inject_into_a_proxy() {
    let backend = Backend::start(0);
    let mut mi = Mi::new("task-proxy");
    mi.deploy(&format!(
        r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="Target" transports="http">
  <target><endpoint><address uri="http://127.0.0.1:{}/quote" format="soap11"/></endpoint></target>
</proxy>"#,
        backend.port
    ))
    .deploy(r#"<task xmlns="http://ws.apache.org/ns/synapse" name="Once" class="org.apache.synapse.startup.tasks.MessageInjector">
  <trigger once="true"/>
  <property name="injectTo" value="proxy"/>
  <property name="proxyName" value="Target"/>
  <property name="soapAction" value="urn:getQuote"/>
  <property name="format" value="soap11"/>
  <property name="message"><m0:getQuote xmlns:m0="http://services.samples"><m0:symbol>WSO2</m0:symbol></m0:getQuote></property>
</task>"#);
    mi.start();
    let req = backend
        .next(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("not injected:\n{}", mi.log_text()));
    let body = String::from_utf8_lossy(&req.body);
    assert!(body.contains("<m0:symbol>WSO2</m0:symbol>"), "{body}");
    assert!(
        body.contains("http://schemas.xmlsoap.org/soap/envelope/"),
        "{body}"
    );
    assert_eq!(req.header("soapaction"), Some("\"urn:getQuote\""));
}

#[test]
fn stores_mint_does_not_have_are_warned_about() {
    let h = TempHome::new("store-check");
    h.artifact(
        "message-stores",
        "Jms.xml",
        r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Jms" class="org.apache.synapse.message.store.impl.jms.JmsStore"><parameter name="java.naming.factory.initial">com.ibm.mq.jms.context.WMQInitialContextFactory</parameter></messageStore>"#,
    )
    .artifact(
        "message-stores",
        "Mem.xml",
        r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Mem"><parameter name="x">1</parameter></messageStore>"#,
    );
    let (ok, out) = check_output(&h.root);
    assert!(ok, "{out}");
    assert!(
        out.contains("mint reaches JMS queues on ActiveMQ only"),
        "{out}"
    );
    assert!(
        out.contains("Mem.xml:1:") && out.contains("parameter 'x'"),
        "{out}"
    );
}
