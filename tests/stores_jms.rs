//! End-to-end: the JMS message store on a real ActiveMQ (a private broker per test, from Debian's
//! `activemq`), reached through its STOMP connector. Messages are forwarded in order and survive
//! a crash of mint while one is being delivered (the broker gives back what mint held).

// Test threads may sleep: they are not shards.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::activemq::ActiveMq;
use common::*;

fn endpoint(port: u16) -> String {
    format!(
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="Backend"><address uri="http://127.0.0.1:{port}/orders">
  <suspendOnFailure><initialDuration>0</initialDuration><maximumDuration>0</maximumDuration></suspendOnFailure>
</address></endpoint>"#
    )
}

fn order(n: usize) -> String {
    format!("<order><id>{n}</id></order>")
}

#[test]
fn jms_messages_are_forwarded_in_order_and_survive_a_crash_of_mint_mid_delivery() {
    let broker = ActiveMq::start();
    let (port, requests) = ok_backend(0);
    let mut mi = Mi::new("jms");
    // A JMS store as MI users write it for ActiveMQ; `mint.stomp.port` says where its STOMP
    // connector listens (61613 by default).
    mi.deploy(&format!(
        r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Orders" class="org.apache.synapse.message.store.impl.jms.JmsStore">
  <parameter name="java.naming.factory.initial">org.apache.activemq.jndi.ActiveMQInitialContextFactory</parameter>
  <parameter name="java.naming.provider.url">tcp://127.0.0.1:{}</parameter>
  <parameter name="store.jms.JMSSpecVersion">1.1</parameter>
  <parameter name="store.jms.destination">ordersQueue</parameter>
  <parameter name="mint.stomp.port">{}</parameter>
</messageStore>"#,
        broker.openwire, broker.stomp
    ))
    .deploy(r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="StoreProxy" transports="http">
  <target><inSequence>
    <property name="FORCE_SC_ACCEPTED" value="true" scope="axis2"/>
    <property name="OUT_ONLY" value="true"/>
    <store messageStore="Orders"/>
  </inSequence></target>
</proxy>"#)
    .deploy(&endpoint(port))
    .deploy(r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="Forwarder"
    class="org.apache.synapse.message.processor.impl.forwarder.ScheduledMessageForwardingProcessor"
    messageStore="Orders" targetEndpoint="Backend">
  <parameter name="interval">100</parameter>
  <parameter name="client.retry.interval">200</parameter>
  <parameter name="max.delivery.attempts">-1</parameter>
</messageProcessor>"#);
    mi.start();
    for n in 1..=3 {
        assert_eq!(mi.post_xml("/services/StoreProxy", &order(n)).status, 202);
    }
    for n in 1..=3 {
        let req = requests
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("message {n} not forwarded:\n{}", mi.log_text()));
        assert_eq!(String::from_utf8_lossy(&req.body), order(n));
    }
    // Many clients at once (their puts share commits): each message delivered once.
    let statuses = post_concurrently(
        mi.http,
        "/services/StoreProxy",
        (100..140).map(order).collect(),
        8,
    );
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    let mut got: Vec<String> = (0..40)
        .map(|_| {
            let r = requests
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| {
                    panic!("a concurrent message not forwarded:\n{}", mi.log_text())
                });
            String::from_utf8_lossy(&r.body).into_owned()
        })
        .collect();
    got.sort();
    let mut want: Vec<String> = (100..140).map(order).collect();
    want.sort();
    assert_eq!(got, want);

    // The backend goes away: the processor holds message 4 (unacknowledged) and retries it.
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    mi.deploy(&endpoint(dead));
    std::thread::sleep(Duration::from_secs(2)); // the redeployment
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(4)).status, 202);
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(5)).status, 202);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        mi.log_text().contains("Message forwarding failed"),
        "{}",
        mi.log_text()
    );
    mi.kill();
    let (_, requests) = ok_backend(dead);
    mi.start();
    for n in 4..=5 {
        let req = requests
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("message {n} lost after the crash:\n{}", mi.log_text()));
        assert_eq!(String::from_utf8_lossy(&req.body), order(n));
    }
    assert!(requests.recv_timeout(Duration::from_millis(500)).is_err());
}
