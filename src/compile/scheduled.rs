//! Message stores, message processors and scheduled tasks: their parameters checked and read
//! with Synapse's names and defaults (see `program::scheduled` for what each means).

use std::time::Duration;

use super::Compiler;
use crate::diag::Origin;
use crate::program::scheduled::{
    Cron, Failover, Format, Forward, InjectTo, Injection, Processor, ProcessorKind, Schedule, Task,
};
use crate::stores::{JdbcConfig, JmsConfig, RabbitConfig, StoreConfig, StoreDef};
use crate::synapse::model::{self, Param, TaskValue, Trigger};

const IN_MEMORY: &str = "org.apache.synapse.message.store.impl.memory.InMemoryStore";
const FORWARDER: &str =
    "org.apache.synapse.message.processor.impl.forwarder.ScheduledMessageForwardingProcessor";
const FAILOVER: &str =
    "org.apache.synapse.message.processor.impl.failover.FailoverScheduledMessageForwardingProcessor";
const SAMPLER: &str = "org.apache.synapse.message.processor.impl.sampler.SamplingProcessor";
const INJECTOR: &str = "org.apache.synapse.startup.tasks.MessageInjector";

const JDBC: &str = "org.apache.synapse.message.store.impl.jdbc.JDBCMessageStore";
const RABBITMQ: &str = "org.apache.synapse.message.store.impl.rabbitmq.RabbitMQStore";
const JMS: &str = "org.apache.synapse.message.store.impl.jms.JmsStore";

/// Synapse's store classes mint does not have yet, by what they are.
const OTHER_STORES: &[(&str, &str)] = &[(
    "org.apache.synapse.message.store.impl.resequencer.ResequenceMessageStore",
    "resequence",
)];

/// A parameter list being read: each one taken is known; what is left is warned about.
struct Params<'p> {
    origin: &'p Origin,
    params: Vec<&'p Param>,
}

impl<'p> Params<'p> {
    fn new(origin: &'p Origin, params: &'p [Param]) -> Params<'p> {
        Params {
            origin,
            params: params.iter().collect(),
        }
    }

    fn take(&mut self, name: &str) -> Option<&'p Param> {
        let i = self.params.iter().position(|p| p.name == name)?;
        Some(self.params.remove(i))
    }

    fn text(&mut self, name: &str) -> Option<String> {
        self.take(name)
            .map(|p| p.value.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn at(&self, p: &Param) -> Origin {
        Origin {
            file: self.origin.file.clone(),
            pos: p.pos,
        }
    }
}

impl Compiler<'_> {
    /// A number parameter; reported and `default` when it is not a whole number.
    fn number(&mut self, ps: &mut Params<'_>, name: &str, default: i64) -> i64 {
        let Some(p) = ps.take(name) else {
            return default;
        };
        match p.value.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                let at = ps.at(p);
                self.error(
                    &at,
                    format!(
                        "parameter '{name}' must be a whole number, found '{}'",
                        p.value
                    ),
                );
                default
            }
        }
    }

    /// Warns about every parameter nobody took.
    fn leftover(&mut self, ps: Params<'_>, what: &str) {
        for p in &ps.params {
            let at = ps.at(p);
            self.warn(
                &at,
                format!(
                    "parameter '{}' of {what} is not supported by mint and is ignored",
                    p.name
                ),
            );
        }
    }

    /// The message stores mint can run; the others are warned about and left out.
    pub(super) fn stores(&mut self, stores: &[model::MessageStore]) -> Vec<StoreDef> {
        let mut out: Vec<StoreDef> = Vec::new();
        for s in stores {
            if out.iter().any(|d| d.name == s.name) {
                self.error(&s.origin, format!("duplicate message store '{}'", s.name));
                continue;
            }
            let what = format!("message store '{}'", s.name);
            let mut ps = Params::new(&s.origin, &s.params);
            let guaranteed = ps
                .text("store.producer.guaranteed.delivery.enable")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let failover = ps.text("store.failover.message.store.name");
            let config = match s.class.as_str() {
                IN_MEMORY => StoreConfig::Memory,
                JDBC => match self.jdbc(&mut ps, &s.origin, &what) {
                    Some(c) => StoreConfig::Jdbc(c),
                    None => continue,
                },
                RABBITMQ => match self.rabbitmq(&mut ps, &s.name, &s.origin, &what) {
                    Some(c) => StoreConfig::RabbitMq(c),
                    None => continue,
                },
                JMS => match self.jms(&mut ps, &s.name, &s.origin, &what) {
                    Some(c) => StoreConfig::Jms(c),
                    None => continue,
                },
                class => {
                    let kind = OTHER_STORES
                        .iter()
                        .find(|(c, _)| *c == class)
                        .map_or(class, |(_, k)| k);
                    self.warn(
                        &s.origin,
                        format!("{kind} message stores are not supported by mint yet: {what} is not deployed (a store mediator naming it faults)"),
                    );
                    continue;
                }
            };
            self.leftover(ps, &what);
            out.push(StoreDef {
                name: s.name.clone(),
                config,
                failover: failover.filter(|_| guaranteed),
            });
        }
        for d in &out {
            if let Some(f) = &d.failover {
                if !out.iter().any(|x| &x.name == f) {
                    let origin = stores
                        .iter()
                        .find(|s| s.name == d.name)
                        .map(|s| s.origin.clone());
                    if let Some(o) = origin {
                        self.warn(
                            &o,
                            format!(
                                "message store '{}': failover store '{f}' is not deployed",
                                d.name
                            ),
                        );
                    }
                }
            }
        }
        out
    }

    /// A JDBC store's connection (PostgreSQL only); None after reporting why it is not deployed.
    fn jdbc(&mut self, ps: &mut Params<'_>, o: &Origin, what: &str) -> Option<JdbcConfig> {
        for p in ["store.jdbc.dsName", "store.jdbc.icClass"] {
            if ps.take(p).is_some() {
                self.warn(o, format!("{what}: {p} (a datasource) is not supported by mint: give store.jdbc.connection.url; the store is not deployed"));
                return None;
            }
        }
        if let Some(driver) = ps.text("store.jdbc.driver") {
            if driver != "org.postgresql.Driver" {
                self.warn(o, format!("{what}: driver {driver}: mint's JDBC store speaks to PostgreSQL only; the store is not deployed"));
                return None;
            }
        }
        let Some(url) = ps.text("store.jdbc.connection.url") else {
            self.error(o, format!("{what}: store.jdbc.connection.url is missing"));
            return None;
        };
        let user = ps.text("store.jdbc.username").unwrap_or_default();
        let password = ps.text("store.jdbc.password").unwrap_or_default();
        let table = ps
            .text("store.jdbc.table")
            .unwrap_or_else(|| "jdbc_message_store".into());
        match JdbcConfig::from_url(&url, &user, &password, &table) {
            Ok(c) => Some(c),
            Err(e) => {
                self.error(o, format!("{what}: {e}"));
                None
            }
        }
    }

    /// A RabbitMQ store's broker and queue, with Synapse's defaults; None after reporting why it
    /// is not deployed.
    fn rabbitmq(
        &mut self,
        ps: &mut Params<'_>,
        name: &str,
        o: &Origin,
        what: &str,
    ) -> Option<RabbitConfig> {
        if ps
            .text("rabbitmq.connection.ssl.enabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            self.warn(o, format!("{what}: TLS to RabbitMQ (rabbitmq.connection.ssl.enabled) is not supported by mint yet; the store is not deployed rather than connect in the clear"));
            return None;
        }
        for p in [
            "rabbitmq.connection.ssl.enabled",
            "rabbitmq.connection.ssl.keystore.location",
            "rabbitmq.connection.ssl.keystore.type",
            "rabbitmq.connection.ssl.keystore.password",
            "rabbitmq.connection.ssl.truststore.location",
            "rabbitmq.connection.ssl.truststore.type",
            "rabbitmq.connection.ssl.truststore.password",
            "rabbitmq.connection.ssl.version",
        ] {
            ps.take(p);
        }
        for p in [
            "rabbitmq.connection.retry.interval",
            "rabbitmq.connection.retry.count",
        ] {
            if let Some(x) = ps.take(p) {
                let at = ps.at(x);
                self.warn(&at, format!("{p} is ignored: mint opens the connection again at the next operation after a failure"));
            }
        }
        let hosts = ps
            .text("store.rabbitmq.host.name")
            .unwrap_or_else(|| "localhost".into());
        let ports = ps
            .text("store.rabbitmq.host.port")
            .unwrap_or_else(|| "5672".into());
        let host = hosts
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let port_text = ports
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        if hosts.contains(',') {
            self.warn(
                o,
                format!("{what}: mint connects to the first of the hosts '{hosts}' only"),
            );
        }
        let Ok(port) = port_text.parse::<u16>() else {
            self.error(
                o,
                format!("{what}: store.rabbitmq.host.port '{ports}' is not a port"),
            );
            return None;
        };
        let queue = ps
            .text("store.rabbitmq.queue.name")
            .unwrap_or_else(|| name.to_string());
        let routing_key = ps
            .text("store.rabbitmq.route.key")
            .unwrap_or_else(|| queue.clone());
        Some(RabbitConfig {
            host,
            port,
            username: ps
                .text("store.rabbitmq.username")
                .unwrap_or_else(|| "guest".into()),
            password: ps
                .text("store.rabbitmq.password")
                .unwrap_or_else(|| "guest".into()),
            virtual_host: ps
                .text("store.rabbitmq.virtual.host")
                .unwrap_or_else(|| "/".into()),
            exchange: ps.text("store.rabbitmq.exchange.name"),
            queue,
            routing_key,
        })
    }

    /// A JMS store's queue on ActiveMQ, reached through its STOMP connector (on the host of
    /// `java.naming.provider.url`, port `mint.stomp.port`, default 61613); None after reporting
    /// why it is not deployed.
    fn jms(
        &mut self,
        ps: &mut Params<'_>,
        name: &str,
        o: &Origin,
        what: &str,
    ) -> Option<JmsConfig> {
        let factory = ps.text("java.naming.factory.initial").unwrap_or_default();
        if !factory.contains("activemq") {
            self.warn(o, format!("{what}: mint reaches JMS queues on ActiveMQ only (java.naming.factory.initial '{factory}'); the store is not deployed"));
            return None;
        }
        let url = ps
            .text("java.naming.provider.url")
            .unwrap_or_else(|| "tcp://localhost:61616".into());
        // tcp://host:port, failover:(tcp://host:port,…)?…, nio://…: the first host.
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or_default()
            .split([':', '/', ',', ')', '?'])
            .next()
            .unwrap_or_default()
            .to_string();
        if host.is_empty() {
            self.error(
                o,
                format!("{what}: java.naming.provider.url '{url}' names no host"),
            );
            return None;
        }
        let port = match ps.take("mint.stomp.port") {
            Some(p) => match p.value.trim().parse::<u16>() {
                Ok(n) => n,
                Err(_) => {
                    let at = ps.at(p);
                    self.error(&at, format!("mint.stomp.port '{}' is not a port", p.value));
                    return None;
                }
            },
            None => 61613,
        };
        // What only selects JNDI objects: the STOMP connection reaches the same queue.
        let jndi: Vec<String> = ps
            .params
            .iter()
            .map(|p| p.name.clone())
            .filter(|n| {
                n.starts_with("connectionfactory.")
                    || n.starts_with("queue.")
                    || n.starts_with("topic.")
                    || [
                        "store.jms.connection.factory",
                        "store.jms.JMSSpecVersion",
                        "store.jms.cache.connection",
                        "store.jms.ConsumerReceiveTimeOut",
                    ]
                    .contains(&n.as_str())
            })
            .collect();
        for n in jndi {
            ps.take(&n);
        }
        Some(JmsConfig {
            host,
            port,
            username: ps.text("store.jms.username"),
            password: ps.text("store.jms.password"),
            queue: ps
                .text("store.jms.destination")
                .unwrap_or_else(|| format!("{name}_Queue")),
        })
    }

    /// A sequence a processor or task names: compiled (a registry sequence) and its name kept.
    fn named_seq(&mut self, name: Option<String>, at: &Origin) -> Option<String> {
        let name = name?;
        self.seq_key(&name, at);
        Some(name)
    }

    pub(super) fn processors(
        &mut self,
        defs: &[model::MessageProcessor],
        stores: &[StoreDef],
    ) -> Vec<Processor> {
        let mut out: Vec<Processor> = Vec::new();
        for p in defs {
            if out.iter().any(|x| x.name == p.name) {
                self.error(
                    &p.origin,
                    format!("duplicate message processor '{}'", p.name),
                );
                continue;
            }
            let what = format!("message processor '{}'", p.name);
            if ![FORWARDER, FAILOVER, SAMPLER].contains(&p.class.as_str()) {
                self.warn(
                    &p.origin,
                    format!(
                        "{what}: class {} is not supported by mint; it is not deployed",
                        p.class
                    ),
                );
                continue;
            }
            if !stores.iter().any(|d| d.name == p.store) {
                self.warn(
                    &p.origin,
                    format!(
                        "{what}: message store '{}' is not deployed, so neither is the processor",
                        p.store
                    ),
                );
                continue;
            }
            if let Some(p) = self.processor(p, &what) {
                out.push(p);
            }
        }
        out
    }

    fn processor(&mut self, p: &model::MessageProcessor, what: &str) -> Option<Processor> {
        let o = &p.origin;
        let mut ps = Params::new(o, &p.params);
        let interval = self.number(&mut ps, "interval", 1000).max(0) as u64;
        let cron = match ps.take("cronExpression") {
            Some(c) => {
                let at = ps.at(c);
                Some(self.cron(c.value.trim(), &at)?)
            }
            None => None,
        };
        // Java's Boolean.parseBoolean: only "true" is true.
        let active = match ps.text("is.active") {
            Some(v) => v.eq_ignore_ascii_case("true"),
            None => true,
        };
        if let Some(m) = ps.take("member.count") {
            if m.value.trim() != "1" {
                let at = ps.at(m);
                self.warn(
                    &at,
                    "member.count: mint runs one consumer per processor".into(),
                );
            }
        }
        let max_store_attempts =
            positive(self.number(&mut ps, "max.store.connection.attempts", -1));
        let store_retry_interval =
            millis(self.number(&mut ps, "store.connection.retry.interval", 1000));
        let kind = match p.class.as_str() {
            FORWARDER => {
                let endpoint = p
                    .target_endpoint
                    .as_ref()
                    .map(|(n, _)| n.clone())
                    .or_else(|| ps.text("target.endpoint"));
                if let Some(ep) = &endpoint {
                    if !self.named_endpoints.contains_key(ep) {
                        self.warn(
                            o,
                            format!("{what}: endpoint '{ep}' is not defined; the processor deactivates at its first message until it is"),
                        );
                    }
                }
                let attempts = self.number(&mut ps, "max.delivery.attempts", 4);
                let drop = ps.text("max.delivery.drop");
                let non_retry = match ps.take("non.retry.status.codes") {
                    Some(c) => {
                        let at = ps.at(c);
                        self.status_codes(&c.value, &at)
                    }
                    None => Vec::new(),
                };
                let reply = ps.text("message.processor.reply.sequence");
                if reply.is_none() {
                    self.warn(
                        o,
                        format!("{what} has no message.processor.reply.sequence: as in MI, a message not marked OUT_ONLY deactivates it"),
                    );
                }
                let fault = ps.text("message.processor.fault.sequence");
                let deactivate = ps.text("message.processor.deactivate.sequence");
                let fail_store = ps.text("message.processor.failMessagesStore");
                if let Some(t) = ps.take("throttle") {
                    let at = ps.at(t);
                    self.warn(&at, "parameter 'throttle' is ignored (as in Synapse, which derives it from the interval)".into());
                }
                ProcessorKind::Forward(Forward {
                    endpoint,
                    retry_interval: millis(self.number(&mut ps, "client.retry.interval", 1000)),
                    max_attempts: positive(attempts),
                    drop_after_max: attempts > 0 && drop.as_deref() == Some("Enabled"),
                    non_retry,
                    reply: self.named_seq(reply, o),
                    fault: self.named_seq(fault, o),
                    deactivate: self.named_seq(deactivate, o),
                    fail_store,
                })
            }
            FAILOVER => {
                let target_store = ps.text("message.target.store.name");
                if target_store.is_none() {
                    self.warn(
                        o,
                        format!("{what} has no message.target.store.name: as in Synapse, it drops every message"),
                    );
                }
                let attempts = self.number(&mut ps, "max.delivery.attempts", -1);
                let drop = ps.text("max.delivery.drop");
                let fault = ps.text("message.processor.fault.sequence");
                let deactivate = ps.text("message.processor.deactivate.sequence");
                ProcessorKind::Failover(Failover {
                    target_store,
                    retry_interval: millis(self.number(&mut ps, "client.retry.interval", 1000)),
                    max_attempts: positive(attempts),
                    drop_after_max: attempts > 0 && drop.as_deref() == Some("Enabled"),
                    fault: self.named_seq(fault, o),
                    deactivate: self.named_seq(deactivate, o),
                })
            }
            _ => {
                let Some(sequence) = ps.text("sequence") else {
                    self.error(
                        o,
                        format!("{what}: a sampling processor needs a 'sequence' parameter"),
                    );
                    return None;
                };
                // As Synapse: a concurrency that is no positive number is 1.
                let concurrency = match ps.take("concurrency") {
                    Some(c) => match c.value.trim().parse::<i64>() {
                        Ok(n) if n > 0 => n,
                        _ => {
                            let at = ps.at(c);
                            self.warn(
                                &at,
                                format!(
                                    "concurrency '{}' is not a positive number: 1 is used",
                                    c.value
                                ),
                            );
                            1
                        }
                    },
                    None => 1,
                };
                ProcessorKind::Sample {
                    sequence: self.named_seq(Some(sequence), o)?,
                    concurrency: concurrency.max(1) as usize,
                }
            }
        };
        self.leftover(ps, what);
        Some(Processor {
            name: p.name.clone(),
            store: p.store.clone(),
            active,
            interval: Duration::from_millis(interval),
            cron,
            max_store_attempts,
            store_retry_interval,
            kind,
        })
    }

    fn status_codes(&mut self, list: &str, at: &Origin) -> Vec<u16> {
        let mut out = Vec::new();
        for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            match code.parse::<u16>() {
                Ok(c) if (100..1000).contains(&c) => out.push(c),
                _ => self.error(
                    at,
                    format!("non.retry.status.codes: '{code}' is not an HTTP status code"),
                ),
            }
        }
        out
    }

    /// A Quartz cron expression (seconds first, `?`, `L`, `W`, `#`, weekdays 1 = Sunday).
    fn cron(&mut self, text: &str, at: &Origin) -> Option<Cron> {
        let parser = croner::parser::CronParser::builder()
            .alternative_weekdays(true)
            .seconds(croner::parser::Seconds::Required)
            .year(croner::parser::Year::Optional)
            .sloppy_ranges(true)
            .build();
        match parser.parse(text) {
            Ok(c) => Some(Cron {
                text: text.to_string(),
                schedule: std::sync::Arc::new(c),
            }),
            Err(e) => {
                self.error(at, format!("invalid cron expression '{text}': {e}"));
                None
            }
        }
    }

    pub(super) fn tasks(&mut self, defs: &[model::Task], proxies: &[String]) -> Vec<Task> {
        let mut out: Vec<Task> = Vec::new();
        for t in defs {
            if out.iter().any(|x| x.name == t.name) {
                self.error(&t.origin, format!("duplicate task '{}'", t.name));
                continue;
            }
            if t.class != INJECTOR {
                self.warn(
                    &t.origin,
                    format!("task '{}': class {} is not supported by mint (only {INJECTOR}); it is not scheduled", t.name, t.class),
                );
                continue;
            }
            if let Some(task) = self.task(t, proxies) {
                out.push(task);
            }
        }
        out
    }

    fn task(&mut self, t: &model::Task, proxies: &[String]) -> Option<Task> {
        let o = &t.origin;
        let what = format!("task '{}'", t.name);
        let schedule = match &t.trigger {
            Trigger::Cron(c) => Schedule::Cron(self.cron(c, o)?),
            Trigger::Once => Schedule::Every {
                interval: Duration::from_secs(1),
                count: Some(1),
            },
            Trigger::Interval { seconds: 0, .. } => {
                self.warn(o, format!("{what}: an interval under 1 second is refused by MI for user tasks; it is not scheduled"));
                return None;
            }
            Trigger::Interval { seconds, .. } if *seconds > MAX_INTERVAL => {
                self.error(o, format!("{what}: an interval of {seconds} s is more than mint schedules ({MAX_INTERVAL} s)"));
                return None;
            }
            Trigger::Interval { seconds, count } => Schedule::Every {
                interval: Duration::from_secs(*seconds),
                // Quartz's repeat count is count - 1: 0 runs once, as 1 does.
                count: count.map(|n| n.max(1)),
            },
        };
        let mut message = None;
        let mut text = std::collections::HashMap::new();
        for p in &t.properties {
            let at = Origin {
                file: o.file.clone(),
                pos: p.pos,
            };
            match (p.name.as_str(), &p.value) {
                ("message", TaskValue::Xml(el)) => {
                    message = Some(super::with_namespaces(el, el.source.trim()));
                }
                ("message", TaskValue::Text(_)) => {
                    self.error(&at, format!("{what}: 'message' must be inline XML (MessageInjector has no text form)"));
                }
                (
                    "registryKey" | "injectTo" | "sequenceName" | "proxyName" | "format"
                    | "soapAction" | "to" | "sequential",
                    TaskValue::Text(v),
                ) => {
                    text.insert(p.name.as_str(), v.trim().to_string());
                }
                ("invokeHandlers", _) => self.warn(
                    &at,
                    format!("{what}: invokeHandlers is ignored (mint has no Synapse handlers)"),
                ),
                (name, _) => self.warn(
                    &at,
                    format!("{what}: property '{name}' is not supported by mint and is ignored"),
                ),
            }
        }
        if message.is_none() {
            if let Some(key) = text.get("registryKey") {
                message = self.task_message_from_key(key, o, &what);
            }
        }
        let Some(message) = message else {
            self.error(o, format!("{what}: message or registryKey not set"));
            return None;
        };
        let format = match text
            .get("format")
            .map(|f| f.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("soap12") => Format::Soap12,
            Some("soap11") => Format::Soap11,
            Some("pox") => Format::Pox,
            Some("get") => Format::Get,
            Some(other) => {
                self.warn(o, format!("{what}: format '{other}' is not one of soap11, soap12, pox, get: SOAP 1.2 is used"));
                Format::Soap12
            }
        };
        let target = match text
            .get("injectTo")
            .map(|s| s.to_ascii_lowercase())
            .as_deref()
        {
            Some("sequence") => {
                let Some(seq) = text.get("sequenceName").cloned() else {
                    self.error(o, format!("{what}: injectTo=sequence needs a sequenceName"));
                    return None;
                };
                InjectTo::Sequence(self.named_seq(Some(seq), o)?)
            }
            Some("proxy") => {
                let Some(proxy) = text.get("proxyName").cloned() else {
                    self.error(o, format!("{what}: injectTo=proxy needs a proxyName"));
                    return None;
                };
                if !proxies.contains(&proxy) {
                    self.warn(
                        o,
                        format!(
                            "{what}: proxy '{proxy}' is not deployed; each run fails until it is"
                        ),
                    );
                }
                InjectTo::Proxy(proxy)
            }
            _ => InjectTo::Main,
        };
        Some(Task {
            name: t.name.clone(),
            schedule,
            inject: Injection {
                message,
                format,
                soap_action: text.get("soapAction").cloned(),
                to: text.get("to").cloned(),
                target,
            },
        })
    }

    /// A task's message from a local entry or registry resource (which must be XML).
    fn task_message_from_key(&mut self, key: &str, o: &Origin, what: &str) -> Option<String> {
        let text = match self.local_entries.get(key) {
            Some(model::LocalEntryValue::Xml(el)) => return Some(el.source.trim().to_string()),
            Some(model::LocalEntryValue::Text(t)) => t.clone(),
            Some(model::LocalEntryValue::Src(_)) | None => match self.registry.read_text(key) {
                Ok((_, t)) => t,
                Err(e) => {
                    self.error(o, format!("{what}: registryKey '{key}': {e}"));
                    return None;
                }
            },
        };
        let body = text.trim_start();
        let body = match body.strip_prefix("<?xml") {
            Some(rest) => rest.split_once("?>").map_or("", |(_, r)| r).trim_start(),
            None => body,
        };
        match crate::xml::element::parse_document(body) {
            Ok(el) => Some(el.source.trim().to_string()),
            Err((_, e)) => {
                self.error(o, format!("{what}: registryKey '{key}' is not XML: {e}"));
                None
            }
        }
    }
}

/// The longest task interval mint schedules: about 136 years.
const MAX_INTERVAL: u64 = u32::MAX as u64;

/// Synapse's "≤ 0 means without end".
fn positive(n: i64) -> Option<u32> {
    (n > 0).then(|| n.min(u32::MAX as i64) as u32)
}

fn millis(n: i64) -> Duration {
    Duration::from_millis(n.max(0) as u64)
}
