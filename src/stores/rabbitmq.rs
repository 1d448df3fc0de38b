//! Synapse's `RabbitMQStore` (AMQP 0-9-1, through lapin on a one-thread Tokio runtime owned by
//! the store): a durable queue (named after the store unless
//! `store.rabbitmq.queue.name` says otherwise), bound to a durable direct exchange when one is
//! named (`amq.*` exchanges are the broker's own), messages published persistent with publisher
//! confirms (a message the broker did not confirm is a failed store, never a silent loss).
//!
//! The head is read with `basic.get` without acknowledgement and held unacknowledged until it is
//! removed (acknowledged) after delivery: if mint dies meanwhile, the broker puts it back at the
//! head of the queue. A connection that fails is dropped (the broker requeues what was held) and
//! opened again on next use. The body is mint's JSON form of the message
//! ([`StoredMessage::to_json`]), not MI's Java serialisation: a message mint cannot read is given
//! back to the queue and reported at each read (nothing is destroyed).

use std::time::Duration;

use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, BasicRejectOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use super::{Backend, StoredMessage};

/// Where the store is, from its `store.rabbitmq.*` parameters (Synapse's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct RabbitConfig {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub virtual_host: String,
    pub queue: String,
    pub exchange: Option<String>,
    pub routing_key: String,
}

impl RabbitConfig {
    fn uri(&self) -> String {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        format!(
            "amqp://{}:{}@{}:{}/{}",
            enc(&self.username),
            enc(&self.password),
            self.host,
            self.port,
            enc(&self.virtual_host)
        )
    }

    /// `host:port/queue`, for logs.
    pub fn describe(&self) -> String {
        format!("{}:{} queue {}", self.host, self.port, self.queue)
    }
}

/// How long one broker operation may take before the connection is given up.
const OPERATION: Duration = Duration::from_secs(10);

pub(super) struct Rabbit {
    config: RabbitConfig,
    runtime: tokio::runtime::Runtime,
    link: Option<(Connection, Channel)>,
    /// The head, read and not yet acknowledged: (delivery tag, message).
    held: Option<(u64, StoredMessage)>,
    /// When a connection attempt last failed slowly, and why: for a second after it, operations
    /// fail at once instead of each waiting out its own timeout.
    refused: Option<(std::time::Instant, String)>,
}

/// How long a slow failed connection attempt answers for the ones after it.
const REFUSED_FOR: Duration = Duration::from_secs(1);
/// A connection attempt that failed after this long (a host that does not answer) is not tried
/// again at once; a quick refusal is (the broker may be back the next moment).
const SLOW_FAILURE: Duration = Duration::from_secs(1);

impl Rabbit {
    pub(super) fn new(config: RabbitConfig) -> std::io::Result<Rabbit> {
        // One runtime thread of its own keeps the connection's I/O (heartbeats) going between
        // operations; the worker thread blocks on it for each operation.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mint-rabbitmq")
            .enable_all()
            .build()?;
        Ok(Rabbit {
            config,
            runtime,
            link: None,
            held: None,
            refused: None,
        })
    }

    /// Runs `op` on the channel (connecting first when needed); a failure drops the connection.
    /// On a connection that was already open (the broker may have restarted or closed it since),
    /// a failure is tried once more on a new one.
    fn with<T>(
        &mut self,
        op: impl for<'c> Fn(
            &'c Channel,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, String>> + 'c>,
        >,
    ) -> Result<T, String> {
        self.with_retry(op, false)
    }

    /// [`Rabbit::with`]; `always` retries even while a delivery is held (a publish does not
    /// touch it; the held delivery is given back by the broker with the old connection).
    fn with_retry<T>(
        &mut self,
        op: impl for<'c> Fn(
            &'c Channel,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, String>> + 'c>,
        >,
        always: bool,
    ) -> Result<T, String> {
        let retry = self.link.is_some() && (always || self.held.is_none());
        let first = self.attempt(&op);
        let result = match first {
            Err(_) if retry => self.attempt(&op),
            other => other,
        };
        result.map_err(|e| format!("RabbitMQ at {}: {e}", self.config.describe()))
    }

    fn attempt<T>(
        &mut self,
        op: &impl for<'c> Fn(
            &'c Channel,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, String>> + 'c>,
        >,
    ) -> Result<T, String> {
        if self.link.is_none() {
            if let Some((at, why)) = &self.refused {
                if at.elapsed() < REFUSED_FOR {
                    return Err(why.clone());
                }
            }
        }
        let fresh = self.link.is_none();
        let started = std::time::Instant::now();
        let config = self.config.clone();
        let link = &mut self.link;
        let result = self.runtime.block_on(async {
            if link.is_none() {
                *link = Some(
                    tokio::time::timeout(OPERATION, connect(&config))
                        .await
                        .map_err(|_| "connection timed out".to_string())??,
                );
            }
            let (_, channel) = link.as_ref().expect("connected above");
            match tokio::time::timeout(OPERATION, op(channel)).await {
                Ok(r) => r,
                Err(_) => Err("the broker did not answer in time".to_string()),
            }
        });
        match (&result, fresh, self.link.is_none()) {
            // The connection itself could not be opened.
            (Err(e), true, true) if started.elapsed() >= SLOW_FAILURE => {
                self.refused = Some((std::time::Instant::now(), e.clone()))
            }
            (Ok(_), true, _) => self.refused = None,
            _ => {}
        }
        if result.is_err() {
            // Closing the connection hands anything held back to the queue.
            if let Some((conn, _)) = self.link.take() {
                let _ = self.runtime.block_on(async {
                    tokio::time::timeout(Duration::from_secs(1), conn.close(0, "error".into()))
                        .await
                });
            }
            self.held = None;
        }
        result
    }
}

async fn connect(c: &RabbitConfig) -> Result<(Connection, Channel), String> {
    let conn = Connection::connect(&c.uri(), ConnectionProperties::default())
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let channel = conn.create_channel().await.map_err(|e| e.to_string())?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    channel
        .queue_declare(
            c.queue.as_str().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("queue {}: {e}", c.queue))?;
    if let Some(x) = &c.exchange {
        if !x.starts_with("amq.") {
            let options = ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            };
            channel
                .exchange_declare(
                    x.as_str().into(),
                    ExchangeKind::Direct,
                    options,
                    FieldTable::default(),
                )
                .await
                .map_err(|e| format!("exchange {x}: {e}"))?;
        }
        channel
            .queue_bind(
                c.queue.as_str().into(),
                x.as_str().into(),
                c.routing_key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("binding {} to {x}: {e}", c.queue))?;
    }
    Ok((conn, channel))
}

impl Backend for Rabbit {
    fn put(&mut self, message: StoredMessage) -> Result<(), String> {
        let body = message.to_json().into_bytes();
        let exchange = self.config.exchange.clone().unwrap_or_default();
        let key = self.config.routing_key.clone();
        self.with_retry(
            |ch| {
                let (exchange, key, body, id) = (
                    exchange.clone(),
                    key.clone(),
                    body.clone(),
                    message.id.clone(),
                );
                Box::pin(async move {
                    let properties = BasicProperties::default()
                        .with_delivery_mode(2)
                        .with_message_id(id.as_str().into())
                        .with_content_type("application/json".into());
                    let confirm = ch
                        .basic_publish(
                            exchange.as_str().into(),
                            key.as_str().into(),
                            BasicPublishOptions::default(),
                            &body,
                            properties,
                        )
                        .await
                        .map_err(|e| e.to_string())?
                        .await
                        .map_err(|e| e.to_string())?;
                    if confirm.is_ack() {
                        Ok(())
                    } else {
                        Err("the broker did not confirm the message".to_string())
                    }
                })
            },
            true,
        )
    }

    fn put_all(&mut self, messages: Vec<StoredMessage>) -> Result<(), String> {
        let bodies: Vec<(String, Vec<u8>)> = messages
            .iter()
            .map(|m| (m.id.clone(), m.to_json().into_bytes()))
            .collect();
        let exchange = self.config.exchange.clone().unwrap_or_default();
        let key = self.config.routing_key.clone();
        self.with_retry(
            |ch| {
                let (exchange, key, bodies) = (exchange.clone(), key.clone(), bodies.clone());
                Box::pin(async move {
                    // All published, then every confirm awaited: one round trip for the lot.
                    let mut confirms = Vec::with_capacity(bodies.len());
                    for (id, body) in &bodies {
                        let properties = BasicProperties::default()
                            .with_delivery_mode(2)
                            .with_message_id(id.as_str().into())
                            .with_content_type("application/json".into());
                        confirms.push(
                            ch.basic_publish(
                                exchange.as_str().into(),
                                key.as_str().into(),
                                BasicPublishOptions::default(),
                                body,
                                properties,
                            )
                            .await
                            .map_err(|e| e.to_string())?,
                        );
                    }
                    for c in confirms {
                        if !c.await.map_err(|e| e.to_string())?.is_ack() {
                            return Err("the broker did not confirm a message".to_string());
                        }
                    }
                    Ok(())
                })
            },
            true,
        )
    }

    fn peek(&mut self) -> Result<Option<StoredMessage>, String> {
        if let Some((_, m)) = &self.held {
            return Ok(Some(m.clone()));
        }
        let queue = self.config.queue.clone();
        let got = self.with(|ch| {
            let q = queue.clone();
            Box::pin(async move {
                ch.basic_get(q.as_str().into(), BasicGetOptions { no_ack: false })
                    .await
                    .map_err(|e| e.to_string())
            })
        })?;
        let Some(got) = got else {
            return Ok(None);
        };
        let tag = got.delivery.delivery_tag;
        match std::str::from_utf8(&got.delivery.data)
            .map_err(|e| e.to_string())
            .and_then(StoredMessage::from_json)
        {
            Ok(m) => {
                self.held = Some((tag, m.clone()));
                Ok(Some(m))
            }
            Err(e) => {
                // Not mint's (MI's Java serialisation, say): given back to the queue, and the
                // read fails, so that the processor reports it at every attempt and nothing is
                // destroyed. Moving it away is the operator's call (a dead-letter exchange, a
                // shovel, or MI itself draining the queue).
                let _ = self.with(|ch| {
                    Box::pin(async move {
                        ch.basic_reject(tag, BasicRejectOptions { requeue: true })
                            .await
                            .map_err(|e| e.to_string())
                    })
                });
                Err(format!(
                    "queue {queue}: its first message ({} bytes) is not one mint wrote and stays there: {e}",
                    got.delivery.data.len()
                ))
            }
        }
    }

    fn remove(&mut self, id: &str) -> Result<bool, String> {
        let Some((tag, m)) = &self.held else {
            return Ok(false);
        };
        if m.id != id {
            return Ok(false);
        }
        let tag = *tag;
        self.with(move |ch| {
            Box::pin(async move {
                ch.basic_ack(tag, BasicAckOptions::default())
                    .await
                    .map_err(|e| e.to_string())
            })
        })?;
        self.held = None;
        Ok(true)
    }

    fn size(&mut self) -> Result<usize, String> {
        let queue = self.config.queue.clone();
        let held = usize::from(self.held.is_some());
        self.with(|ch| {
            let queue = queue.clone();
            Box::pin(async move {
                let options = QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                };
                ch.queue_declare(queue.as_str().into(), options, FieldTable::default())
                    .await
                    .map(|q| q.message_count() as usize + held)
                    .map_err(|e| e.to_string())
            })
        })
    }
}
