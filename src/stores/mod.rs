//! Message stores (`<messageStore>`): where the `store` mediator puts messages and message
//! processors take them from, in order.
//!
//! Each store is a worker thread off the shards that owns its backend (a queue in memory, a
//! database connection, a broker channel) and serves one command at a time from a channel; a shard
//! sends a command and awaits the answer on a oneshot, so nothing on a shard blocks or locks. The
//! [`Stores`] table is shared by the shards and the deployer: the deployer [`Stores::reconcile`]s
//! it with each new configuration before publishing it (a store whose definition did not change
//! keeps its worker, and an in-memory store its messages), and shards look stores up by name.

mod jdbc;
mod jms;
mod memory;
mod message;
mod rabbitmq;

use std::collections::HashMap;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use arc_swap::ArcSwap;

pub use self::jdbc::JdbcConfig;
pub use self::jms::JmsConfig;
pub use self::message::StoredMessage;
pub use self::rabbitmq::RabbitConfig;

/// What a store is, as its `<messageStore>` defines it.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    /// Synapse's `InMemoryStore`: a queue in this process, lost when it stops.
    Memory,
    /// Synapse's `JDBCMessageStore`, on PostgreSQL.
    Jdbc(JdbcConfig),
    /// Synapse's `RabbitMQStore`.
    RabbitMq(RabbitConfig),
    /// Synapse's `JmsStore` on ActiveMQ, through its STOMP connector.
    Jms(JmsConfig),
}

impl StoreConfig {
    /// The kind, for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreConfig::Memory => "in-memory",
            StoreConfig::Jdbc(_) => "JDBC",
            StoreConfig::RabbitMq(_) => "RabbitMQ",
            StoreConfig::Jms(_) => "JMS",
        }
    }
}

/// A deployed store as the configuration defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreDef {
    pub name: String,
    pub config: StoreConfig,
    /// `store.failover.message.store.name` with `store.producer.guaranteed.delivery.enable`:
    /// where the `store` mediator puts a message this store refuses.
    pub failover: Option<String>,
}

/// A store's backend, owned by its worker thread. Messages are kept in the order they were put;
/// the head is read with [`Backend::peek`] and removed with [`Backend::remove`] once delivered.
pub(crate) trait Backend: Send {
    fn put(&mut self, message: StoredMessage) -> Result<(), String>;
    /// Puts several messages, in order, all or none (the durable stores make it one
    /// transaction, or one round of confirms): the puts that queued up while the worker was
    /// busy share one commit.
    fn put_all(&mut self, messages: Vec<StoredMessage>) -> Result<(), String> {
        messages.into_iter().try_for_each(|m| self.put(m))
    }
    /// The oldest message, left in the store.
    fn peek(&mut self) -> Result<Option<StoredMessage>, String>;
    /// Removes the message `id` when it is still the head (a message delivered twice is removed
    /// once); whether it was removed.
    fn remove(&mut self, id: &str) -> Result<bool, String>;
    /// Takes the oldest message out of the store.
    fn poll(&mut self) -> Result<Option<StoredMessage>, String> {
        match self.peek()? {
            Some(m) => {
                self.remove(&m.id)?;
                Ok(Some(m))
            }
            None => Ok(None),
        }
    }
    fn size(&mut self) -> Result<usize, String>;
}

type Reply<T> = futures_channel::oneshot::Sender<Result<T, String>>;

enum Command {
    Put(Box<StoredMessage>, Reply<()>),
    Peek(Reply<Option<StoredMessage>>),
    Poll(Reply<Option<StoredMessage>>),
    Remove(String, Reply<bool>),
    Size(Reply<usize>),
}

/// One deployed store: a handle to its worker.
pub struct Store {
    pub name: String,
    pub config: StoreConfig,
    /// See [`StoreDef::failover`].
    pub failover: Option<String>,
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} message store '{}'", self.config.kind(), self.name)
    }
}

impl Store {
    /// Starts the worker of a store.
    fn start(name: &str, config: StoreConfig, failover: Option<String>) -> std::io::Result<Store> {
        let backend: Box<dyn Backend> = match &config {
            StoreConfig::Memory => Box::new(memory::Memory::default()),
            StoreConfig::Jdbc(c) => Box::new(jdbc::Jdbc::new(c.clone())),
            StoreConfig::RabbitMq(c) => Box::new(rabbitmq::Rabbit::new(c.clone())?),
            StoreConfig::Jms(c) => Box::new(jms::Jms::new(c.clone())),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("mint-store-{name}"))
            .spawn(move || worker(backend, rx))?;
        Ok(Store {
            name: name.to_string(),
            config,
            failover,
            commands: tx,
        })
    }

    async fn ask<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, String> {
        let (reply, answer) = futures_channel::oneshot::channel();
        self.commands
            .send(command(reply))
            .map_err(|_| format!("message store '{}' is stopped", self.name))?;
        let answered = async {
            answer
                .await
                .map_err(|_| format!("message store '{}' stopped", self.name))?
        };
        // A store that does not answer in time is a failure (its late work is at least once:
        // a put still queued when its asker gave up is not done at all).
        let late = async {
            glommio::timer::sleep(ANSWER).await;
            Err(format!(
                "message store '{}' did not answer in {} s",
                self.name,
                ANSWER.as_secs()
            ))
        };
        futures_lite::future::or(answered, late).await
    }

    /// Adds a message at the tail.
    pub async fn put(&self, message: StoredMessage) -> Result<(), String> {
        self.ask(|r| Command::Put(Box::new(message), r)).await
    }

    /// The oldest message, left in the store.
    pub async fn peek(&self) -> Result<Option<StoredMessage>, String> {
        self.ask(Command::Peek).await
    }

    /// Takes the oldest message out.
    pub async fn poll(&self) -> Result<Option<StoredMessage>, String> {
        self.ask(Command::Poll).await
    }

    /// Removes the message `id` if it is the oldest.
    pub async fn remove(&self, id: &str) -> Result<bool, String> {
        let id = id.to_string();
        self.ask(|r| Command::Remove(id, r)).await
    }

    /// How many messages the store holds.
    pub async fn size(&self) -> Result<usize, String> {
        self.ask(Command::Size).await
    }
}

/// How long a shard waits for a store's answer.
const ANSWER: Duration = Duration::from_secs(30);

/// Most puts one commit takes.
const MAX_BATCH: usize = 64;

fn worker(mut backend: Box<dyn Backend>, commands: mpsc::Receiver<Command>) {
    // A command read while gathering puts that is not one: carried out next.
    let mut next: Option<Command> = None;
    loop {
        let command = match next.take() {
            Some(c) => c,
            None => match commands.recv() {
                Ok(c) => c,
                Err(_) => return,
            },
        };
        // A command whose asker has gone (it gave up waiting, or its task was dropped) is not
        // carried out: a put nobody waits for any more was answered as failed, and a poll nobody
        // receives would take a message out of the store for nothing.
        if canceled(&command) {
            continue;
        }
        // A backend that panics (a row of an unexpected type, say) fails this command only.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match command {
            Command::Put(m, reply) => {
                // The puts already waiting go with this one, in order, in one commit.
                let mut batch = vec![(*m, reply)];
                while batch.len() < MAX_BATCH {
                    match commands.try_recv() {
                        Ok(Command::Put(m, r)) if !r.is_canceled() => batch.push((*m, r)),
                        Ok(c @ Command::Put(..)) => drop(c),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let (messages, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                let result = if messages.len() == 1 {
                    backend.put(messages.into_iter().next().expect("one message"))
                } else {
                    backend.put_all(messages)
                };
                for r in replies {
                    let _ = r.send(result.clone());
                }
            }
            Command::Peek(reply) => drop(reply.send(backend.peek())),
            Command::Poll(reply) => drop(reply.send(backend.poll())),
            Command::Remove(id, reply) => drop(reply.send(backend.remove(&id))),
            Command::Size(reply) => drop(reply.send(backend.size())),
        }));
        if run.is_err() {
            tracing::error!("a message store's backend panicked; the command failed");
        }
    }
}

fn canceled(command: &Command) -> bool {
    match command {
        Command::Put(_, r) => r.is_canceled(),
        Command::Remove(_, r) => r.is_canceled(),
        Command::Peek(r) | Command::Poll(r) => r.is_canceled(),
        Command::Size(r) => r.is_canceled(),
    }
}

/// The deployed stores by name, shared by the shards and the deployer.
#[derive(Default)]
pub struct Stores {
    current: ArcSwap<HashMap<String, Arc<Store>>>,
    /// Serialises reconciliations (the deployer's thread and start-up; never a shard, which
    /// only reads `current`).
    #[allow(clippy::disallowed_types)]
    reconciling: std::sync::Mutex<()>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.current.load().values())
            .finish()
    }
}

impl Stores {
    /// The store deployed as `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Store>> {
        self.current.load().get(name).cloned()
    }

    /// Makes the deployed stores those of `defs`: a store whose definition is unchanged is kept
    /// as it is (with its messages), a new or changed one is started, and one no longer defined
    /// is stopped. Errors name the stores whose worker could not start (the others are deployed).
    pub fn reconcile(&self, defs: &[StoreDef]) -> Vec<String> {
        let _one_at_a_time = self.reconciling.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.current.load_full();
        let mut next = HashMap::new();
        let mut errors = Vec::new();
        for def in defs {
            let name = &def.name;
            match old.get(name) {
                Some(store) if store.config == def.config => {
                    let kept = if store.failover == def.failover {
                        store.clone()
                    } else {
                        Arc::new(Store {
                            name: name.clone(),
                            config: store.config.clone(),
                            failover: def.failover.clone(),
                            commands: store.commands.clone(),
                        })
                    };
                    next.insert(name.clone(), kept);
                }
                _ => match Store::start(name, def.config.clone(), def.failover.clone()) {
                    Ok(store) => {
                        tracing::info!(store = %name, kind = def.config.kind(), "message store deployed");
                        next.insert(name.clone(), Arc::new(store));
                    }
                    Err(e) => errors.push(format!("message store '{name}': cannot start: {e}")),
                },
            }
        }
        for name in old.keys().filter(|n| !next.contains_key(*n)) {
            tracing::info!(store = %name, "message store undeployed");
        }
        self.current.store(Arc::new(next));
        errors
    }
}
