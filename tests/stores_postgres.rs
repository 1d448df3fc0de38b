//! End-to-end: the JDBC message store on a real PostgreSQL (a private server per test, from
//! Debian's packages). Messages survive a crash of mint between store and forward; a database
//! that is down makes the `store` mediator fault (nothing is dropped silently) and is used again
//! once it is back; rows mint cannot read are left alone.

// Test threads may sleep and lock: they are not shards.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::time::Duration;

use common::postgres::Postgres;
use common::*;

fn store(pg: &Postgres) -> String {
    format!(
        r#"<messageStore xmlns="http://ws.apache.org/ns/synapse" name="Orders" class="org.apache.synapse.message.store.impl.jdbc.JDBCMessageStore">
  <parameter name="store.jdbc.driver">org.postgresql.Driver</parameter>
  <parameter name="store.jdbc.connection.url">{}</parameter>
  <parameter name="store.jdbc.username">mint</parameter>
  <parameter name="store.jdbc.password">unused</parameter>
  <parameter name="store.jdbc.table">jdbc_message_store</parameter>
</messageStore>"#,
        pg.jdbc_url()
    )
}

const PROXY: &str = r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="StoreProxy" transports="http">
  <target><inSequence>
    <property name="FORCE_SC_ACCEPTED" value="true" scope="axis2"/>
    <property name="OUT_ONLY" value="true"/>
    <property name="orderNote" value="kept"/>
    <store messageStore="Orders"/>
  </inSequence></target>
</proxy>"#;

fn processor(backend: u16) -> [String; 2] {
    [
        format!(
            r#"<endpoint xmlns="http://ws.apache.org/ns/synapse" name="Backend"><address uri="http://127.0.0.1:{backend}/orders"/></endpoint>"#
        ),
        r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="Forwarder"
    class="org.apache.synapse.message.processor.impl.forwarder.ScheduledMessageForwardingProcessor"
    messageStore="Orders" targetEndpoint="Backend">
  <parameter name="interval">100</parameter>
</messageProcessor>"#
            .to_string(),
    ]
}

fn order(n: usize) -> String {
    format!("<order><id>{n}</id></order>")
}

#[test]
fn stored_messages_survive_a_crash_of_mint_and_are_forwarded_in_order_after_it() {
    let pg = Postgres::start();
    let (port, requests) = ok_backend(0);
    let mut mi = Mi::new("pg-crash");
    mi.deploy(&store(&pg)).deploy(PROXY);
    mi.start();
    for n in 1..=3 {
        let r = mi.post_xml("/services/StoreProxy", &order(n));
        assert_eq!(r.status, 202, "{}", r.text());
    }
    assert_eq!(pg.psql("SELECT count(*) FROM jdbc_message_store"), "3");
    // A crash between store and forward: nothing was forwarded yet (no processor deployed).
    mi.kill();
    for a in processor(port) {
        mi.deploy(&a);
    }
    mi.start();
    for n in 1..=3 {
        let req = requests
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("message {n} not forwarded:\n{}", mi.log_text()));
        assert_eq!(String::from_utf8_lossy(&req.body), order(n));
    }
    assert!(requests.recv_timeout(Duration::from_millis(500)).is_err());
    let emptied = eventually(Duration::from_secs(2), || {
        pg.psql("SELECT count(*) FROM jdbc_message_store") == "0"
    });
    assert!(emptied);
    // Many clients at once (their puts share commits): each message delivered once.
    let statuses = post_concurrently(
        mi.http,
        "/services/StoreProxy",
        (100..160).map(order).collect(),
        8,
    );
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    let mut got: Vec<String> = (0..60)
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
    let mut want: Vec<String> = (100..160).map(order).collect();
    want.sort();
    assert_eq!(got, want);
    assert!(requests.recv_timeout(Duration::from_millis(500)).is_err());
}

#[test]
fn a_database_that_is_down_makes_the_store_fault_and_is_used_again_when_it_is_back() {
    let mut pg = Postgres::start();
    let (port, requests) = ok_backend(0);
    let mut mi = Mi::new("pg-down");
    mi.deploy(&store(&pg)).deploy(PROXY);
    for a in processor(port) {
        mi.deploy(&a);
    }
    mi.start();
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(1)).status, 202);
    let req = requests
        .recv_timeout(Duration::from_secs(5))
        .expect("forwarded");
    assert_eq!(String::from_utf8_lossy(&req.body), order(1));
    // Delivered and removed (a message whose removal fails is delivered again: at least once).
    assert!(eventually(Duration::from_secs(2), || {
        pg.psql("SELECT count(*) FROM jdbc_message_store") == "0"
    }));

    pg.stop();
    let r = mi.post_xml("/services/StoreProxy", &order(2));
    assert_eq!(r.status, 500, "{}", r.text());
    // The default fault sequence logs MI's words.
    mi.expect_log("ERROR_MESSAGE = Failed to store message [urn:uuid:");

    pg.start_again();
    let stored = eventually(Duration::from_secs(10), || {
        mi.post_xml("/services/StoreProxy", &order(3)).status == 202
    });
    assert!(stored, "{}", mi.log_text());
    let req = requests
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| {
            panic!(
                "not forwarded after the database came back:\n{}",
                mi.log_text()
            )
        });
    assert_eq!(String::from_utf8_lossy(&req.body), order(3));
}

#[test]
fn rows_mint_cannot_read_are_left_alone_and_skipped() {
    let pg = Postgres::start();
    pg.psql("CREATE TABLE jdbc_message_store (indexId BIGSERIAL PRIMARY KEY, msg_id VARCHAR(200) NOT NULL, message BYTEA NOT NULL)");
    pg.psql("INSERT INTO jdbc_message_store (msg_id, message) VALUES ('from-mi', '\\xaced0005')");
    let (port, requests) = ok_backend(0);
    let mut mi = Mi::new("pg-foreign");
    mi.deploy(&store(&pg)).deploy(PROXY);
    for a in processor(port) {
        mi.deploy(&a);
    }
    mi.start();
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(9)).status, 202);
    let req = requests
        .recv_timeout(Duration::from_secs(5))
        .expect("forwarded");
    assert_eq!(String::from_utf8_lossy(&req.body), order(9));
    mi.expect_log("a row mint cannot read");
    // Ours is removed once delivered; the foreign row stays.
    let left = eventually(Duration::from_secs(2), || {
        pg.psql("SELECT msg_id FROM jdbc_message_store") == "from-mi"
    });
    assert!(left, "{}", pg.psql("SELECT msg_id FROM jdbc_message_store"));
}

#[test]
fn a_connection_the_server_closed_while_idle_is_replaced_without_a_fault() {
    let mut pg = Postgres::start();
    let mut mi = Mi::new("pg-idle");
    mi.deploy(&store(&pg)).deploy(PROXY);
    mi.start();
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(1)).status, 202);
    // The server restarts while mint's connection is idle.
    pg.stop();
    pg.start_again();
    let r = mi.post_xml("/services/StoreProxy", &order(2));
    assert_eq!(r.status, 202, "{}\n{}", r.text(), mi.log_text());
    assert_eq!(pg.psql("SELECT count(*) FROM jdbc_message_store"), "2");
}

#[test]
fn after_its_last_attempt_a_message_moves_to_the_fail_messages_store() {
    let pg = Postgres::start();
    // A backend that always answers 500.
    let (port, attempts) = recording_backend(0, "HTTP/1.1 500 No\r\nContent-Length: 0\r\n\r\n");
    // mint creates a store's table at its first connection; this one is made ahead, as an
    // administrator would, so that the test can look at it before anything moved.
    pg.psql("CREATE TABLE failed_messages (indexId BIGSERIAL PRIMARY KEY, msg_id VARCHAR(200) NOT NULL, message BYTEA NOT NULL)");
    let mut mi = Mi::new("pg-dlq");
    mi.deploy(&store(&pg))
        .deploy(
            &store(&pg)
                .replace(r#"name="Orders""#, r#"name="Failed""#)
                .replace(
                    "<parameter name=\"store.jdbc.table\">jdbc_message_store</parameter>",
                    "<parameter name=\"store.jdbc.table\">failed_messages</parameter>",
                ),
        )
        .deploy(PROXY)
        .deploy(&processor(port)[0])
        .deploy(
            r#"<messageProcessor xmlns="http://ws.apache.org/ns/synapse" name="Forwarder"
    class="org.apache.synapse.message.processor.impl.forwarder.ScheduledMessageForwardingProcessor"
    messageStore="Orders" targetEndpoint="Backend">
  <parameter name="interval">100</parameter>
  <parameter name="client.retry.interval">100</parameter>
  <parameter name="max.delivery.attempts">3</parameter>
  <parameter name="message.processor.failMessagesStore">Failed</parameter>
</messageProcessor>"#,
        );
    mi.start();
    assert_eq!(mi.post_xml("/services/StoreProxy", &order(5)).status, 202);
    let moved = eventually(Duration::from_secs(5), || {
        pg.psql("SELECT count(*) FROM failed_messages") == "1"
    });
    assert!(moved, "{}", mi.log_text());
    let mut got = Vec::new();
    while let Ok(r) = attempts.recv_timeout(Duration::from_millis(300)) {
        got.push(String::from_utf8_lossy(&r.body).into_owned());
    }
    assert_eq!(
        got,
        [order(5), order(5), order(5)],
        "exactly the configured attempts"
    );
    assert_eq!(pg.psql("SELECT count(*) FROM jdbc_message_store"), "0");
    let kept = pg.psql("SELECT convert_from(message, 'UTF8') FROM failed_messages");
    assert!(
        kept.contains("orderNote") && kept.contains("kept"),
        "properties kept: {kept}"
    );
}
