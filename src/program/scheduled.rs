//! Message processors and scheduled tasks as compiled: what shard 0's scheduler runs (see the
//! `scheduled` module above the engine).
//!
//! They name sequences, endpoints and proxies instead of holding ids: a processor or task keeps
//! running across redeployments while its own definition is unchanged, and looks each name up
//! in the configuration current when it acts (the compiler checked that each exists).

use std::time::Duration;

/// A `<messageProcessor>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Processor {
    pub name: String,
    /// The store it takes messages from.
    pub store: String,
    /// `is.active`: whether it starts active.
    pub active: bool,
    /// `interval`: the pause after each message (0: none) and between reads of an empty store
    /// (at least 100 ms).
    pub interval: Duration,
    /// `cronExpression`: when set, each of its times drains the store (a message every
    /// `interval`) instead of one message per `interval`.
    pub cron: Option<Cron>,
    /// `max.store.connection.attempts` (None: without end): reads of a store that fails before
    /// the processor deactivates.
    pub max_store_attempts: Option<u32>,
    /// `store.connection.retry.interval`: the pause between those reads.
    pub store_retry_interval: Duration,
    pub kind: ProcessorKind,
}

/// What a processor does with each message.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessorKind {
    /// Synapse's `ScheduledMessageForwardingProcessor`: sends each message to an endpoint, in
    /// order, with retries.
    Forward(Forward),
    /// `FailoverScheduledMessageForwardingProcessor`: moves each message to another store.
    Failover(Failover),
    /// `SamplingProcessor`: takes messages out and runs a sequence on each.
    Sample {
        sequence: String,
        concurrency: usize,
    },
}

/// How a forwarding processor delivers.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// `targetEndpoint` / `target.endpoint`; None: each message's `target.endpoint` property.
    pub endpoint: Option<String>,
    /// `client.retry.interval`: the pause between attempts of one message.
    pub retry_interval: Duration,
    /// `max.delivery.attempts` (None: without end).
    pub max_attempts: Option<u32>,
    /// `max.delivery.drop`: after the last attempt the message is dropped and the processor goes
    /// on (instead of deactivating with the message left in the store).
    pub drop_after_max: bool,
    /// `non.retry.status.codes`: HTTP statuses that count as delivered (no retry).
    pub non_retry: Vec<u16>,
    /// `message.processor.reply.sequence`: runs on each response.
    pub reply: Option<String>,
    /// `message.processor.fault.sequence`: runs on the message when a delivery fails.
    pub fault: Option<String>,
    /// `message.processor.deactivate.sequence`: runs when the processor deactivates itself.
    pub deactivate: Option<String>,
    /// `message.processor.failMessagesStore`: where a message goes after its last attempt.
    pub fail_store: Option<String>,
}

/// How a failover forwarding processor moves messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Failover {
    /// `message.target.store.name` (None: every message is dropped, as in Synapse).
    pub target_store: Option<String>,
    pub retry_interval: Duration,
    pub max_attempts: Option<u32>,
    pub drop_after_max: bool,
    pub fault: Option<String>,
    pub deactivate: Option<String>,
}

/// A Quartz cron expression, checked at deployment.
#[derive(Debug, Clone)]
pub struct Cron {
    pub text: String,
    pub schedule: std::sync::Arc<croner::Cron>,
}

impl PartialEq for Cron {
    fn eq(&self, other: &Cron) -> bool {
        self.text == other.text
    }
}

/// A `<task>` (Synapse's `MessageInjector`).
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub name: String,
    pub schedule: Schedule,
    pub inject: Injection,
}

/// When a task runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Every `interval`, `count` times (None: without end), the first at once.
    Every {
        interval: Duration,
        count: Option<u64>,
    },
    Cron(Cron),
}

/// The message a task injects, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    /// The message's payload: XML, put in a SOAP envelope (SOAP 1.2 unless `format` says
    /// `soap11`; plain XML for `pox` and `get`).
    pub message: String,
    /// `format`: `soap12` (MI's default), `soap11`, `pox` or `get`.
    pub format: Format,
    pub soap_action: Option<String>,
    /// `to`: the message's `To` address (it sends nothing by itself).
    pub to: Option<String>,
    pub target: InjectTo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Soap11,
    Soap12,
    Pox,
    Get,
}

/// Where a task's message goes.
#[derive(Debug, Clone, PartialEq)]
pub enum InjectTo {
    /// `injectTo="sequence"` with `sequenceName`.
    Sequence(String),
    /// `injectTo="proxy"` with `proxyName`.
    Proxy(String),
    /// Any other `injectTo` (and none): the main sequence.
    Main,
}
