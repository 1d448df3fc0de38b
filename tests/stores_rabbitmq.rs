//! End-to-end: the RabbitMQ message store on a real broker (a private node per test, from
//! Debian's `rabbitmq-server`). Messages wait in a durable queue, are forwarded in order, survive
//! a crash of mint even while one is being delivered (the broker requeues what mint held), and a
//! broker that is down makes the `store` mediator fault.

// Test threads may sleep: they are not shards.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::rabbitmq::Rabbit;
use common::*;

fn home(mi: &Mi, broker: &Rabbit, backend: u16) {
    mi.deploy(&format!(
        r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Orders" class="org.apache.synapse.message.store.impl.rabbitmq.RabbitMQStore">
  <parameter name="store.rabbitmq.host.name">127.0.0.1</parameter>
  <parameter name="store.rabbitmq.host.port">{}</parameter>
  <parameter name="store.rabbitmq.username">guest</parameter>
  <parameter name="store.rabbitmq.password">guest</parameter>
  <parameter name="store.rabbitmq.queue.name">orders</parameter>
  <parameter name="store.rabbitmq.exchange.name">orders-exchange</parameter>
  <parameter name="store.rabbitmq.route.key">orders-key</parameter>
</messageStore>"#,
        broker.port
    ))
    .deploy(r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="StoreProxy" transports="http">
  <target><inSequence>
    <property name="FORCE_SC_ACCEPTED" value="true" scope="axis2"/>
    <property name="OUT_ONLY" value="true"/>
    <store messageStore="Orders"/>
  </inSequence></target>
</proxy>"#)
    .deploy(&format!(
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="Backend"><address uri="http://127.0.0.1:{backend}/orders">
  <suspendOnFailure><initialDuration>0</initialDuration><maximumDuration>0</maximumDuration></suspendOnFailure>
</address></endpoint>"#
    ))
    .deploy(r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="Forwarder"
    class="org.apache.synapse.message.processor.impl.forwarder.ScheduledMessageForwardingProcessor"
    messageStore="Orders" targetEndpoint="Backend">
  <parameter name="interval">100</parameter>
  <parameter name="client.retry.interval">200</parameter>
  <parameter name="max.delivery.attempts">-1</parameter>
</messageProcessor>"#);
}

fn order(n: usize) -> String {
    format!("<order><id>{n}</id></order>")
}

#[test]
fn messages_are_forwarded_in_order_and_survive_a_crash_of_mint_mid_delivery() {
    let broker = Rabbit::start();
    let (port, requests) = ok_backend(0);
    let mut mi = Mi::new("rabbit-order");
    home(&mi, &broker, port);
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
    mi.deploy(&format!(
        r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="Backend"><address uri="http://127.0.0.1:{dead}/orders">
  <suspendOnFailure><initialDuration>0</initialDuration><maximumDuration>0</maximumDuration></suspendOnFailure>
</address></endpoint>"#
    ));
    std::thread::sleep(Duration::from_secs(2)); // the redeployment
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(4)).status, 202);
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(5)).status, 202);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        mi.log_text().contains("Message forwarding failed"),
        "{}",
        mi.log_text()
    );
    // mint dies mid-delivery; the backend comes back; mint restarts.
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

#[test]
fn a_broker_that_is_down_makes_the_store_fault_and_is_used_again_when_it_is_back() {
    let mut broker = Rabbit::start();
    let (port, requests) = ok_backend(0);
    let mut mi = Mi::new("rabbit-down");
    home(&mi, &broker, port);
    mi.start();
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(1)).status, 202);
    requests
        .recv_timeout(Duration::from_secs(10))
        .expect("forwarded");
    // Time to acknowledge it (a message whose acknowledgement is lost is delivered again: at
    // least once).
    std::thread::sleep(Duration::from_millis(500));
    broker.stop();
    let r = mi.post_xml("/services/StoreProxy", &order(2));
    assert_eq!(r.status, 500, "{}", r.text());
    mi.expect_log("ERROR_MESSAGE = Failed to store message [urn:uuid:");
    broker.start_again();
    let stored = eventually(Duration::from_secs(20), || {
        mi.post_xml("/services/StoreProxy", &order(3)).status == 202
    });
    assert!(stored, "{}", mi.log_text());
    let req = requests
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| {
            panic!(
                "not forwarded after the broker came back:\n{}",
                mi.log_text()
            )
        });
    assert_eq!(String::from_utf8_lossy(&req.body), order(3));
    std::thread::sleep(Duration::from_millis(500));
    // A restart while the connection is open: the next store opens a new one, without a fault.
    broker.stop();
    broker.start_again();
    let r = mi.post_xml("/services/StoreProxy", &order(4));
    assert_eq!(r.status, 202, "{}\n{}", r.text(), mi.log_text());
    let req = requests
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("not forwarded after the restart:\n{}", mi.log_text()));
    assert_eq!(String::from_utf8_lossy(&req.body), order(4));
}
