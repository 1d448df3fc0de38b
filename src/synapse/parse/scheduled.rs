//! Message stores (`<messageStore>`), message processors (`<messageProcessor>`) and scheduled
//! tasks (`<task>`): read as Synapse's factories read them (`MessageStoreFactory`,
//! `MessageProcessorFactory`, `TaskDescriptionFactory`). What each parameter means is the
//! compiler's business; here only the shape is checked.

use crate::synapse::model::{
    Element, MessageProcessor, MessageStore, Param, Task, TaskProperty, TaskValue, Trigger,
};

use super::{in_synapse_ns, Reader};

/// The namespace of Synapse's task properties (`<task:property>`), accepted beside Synapse's.
const TASK_NS: &str = "http://www.wso2.org/products/wso2commons/tasks";

/// The `<parameter>` children of `el` (a store or processor); anything else is warned about.
fn params(ctx: &mut Reader<'_>, el: &Element, what: &str) -> Vec<Param> {
    let mut out: Vec<Param> = Vec::new();
    for child in el.elements() {
        match child.local.as_str() {
            "parameter" if in_synapse_ns(child) => {
                let Some(name) = ctx.required(child, "name") else {
                    continue;
                };
                ctx.known_attrs(child, &["name"]);
                if out.iter().any(|p| p.name == name) {
                    ctx.warn(
                        child.pos,
                        format!("parameter '{name}' is given twice; the last one counts"),
                    );
                    out.retain(|p| p.name != name);
                }
                out.push(Param {
                    name: name.to_string(),
                    value: child.text().trim().to_string(),
                    pos: child.pos,
                });
            }
            "description" if in_synapse_ns(child) => {}
            _ => ctx.unknown_child(child, what),
        }
    }
    out
}

pub(super) fn message_store(ctx: &mut Reader<'_>, el: &Element) -> Option<MessageStore> {
    let name = ctx.required(el, "name")?.to_string();
    ctx.known_attrs(el, &["name", "class"]);
    // Synapse's factory defaults to the in-memory store when no class is given.
    let class = el
        .attr("class")
        .map(|c| c.trim().to_string())
        .unwrap_or_else(|| "org.apache.synapse.message.store.impl.memory.InMemoryStore".into());
    let params = params(ctx, el, "messageStore");
    Some(MessageStore {
        name,
        origin: ctx.origin(el.pos),
        class,
        params,
    })
}

pub(super) fn message_processor(ctx: &mut Reader<'_>, el: &Element) -> Option<MessageProcessor> {
    let name = ctx.required(el, "name").map(str::to_string);
    let class = ctx.required(el, "class").map(|c| c.trim().to_string());
    let store = ctx.required(el, "messageStore").map(str::to_string);
    ctx.known_attrs(el, &["name", "class", "messageStore", "targetEndpoint"]);
    let target_endpoint = el
        .attribute("targetEndpoint")
        .filter(|a| !a.value.trim().is_empty())
        .map(|a| (a.value.trim().to_string(), a.pos));
    let params = params(ctx, el, "messageProcessor");
    Some(MessageProcessor {
        name: name?,
        origin: ctx.origin(el.pos),
        class: class?,
        store: store?,
        target_endpoint,
        params,
    })
}

pub(super) fn task(ctx: &mut Reader<'_>, el: &Element) -> Option<Task> {
    let name = ctx.required(el, "name").map(str::to_string);
    let class = ctx.required(el, "class").map(|c| c.trim().to_string());
    ctx.known_attrs(el, &["name", "class", "group", "pinnedServers"]);
    if let Some(a) = el.attribute("pinnedServers") {
        ctx.warn(
            a.pos,
            "pinnedServers is ignored: a task runs on every mint it is deployed to",
        );
    }
    let mut trigger = None;
    let mut properties = Vec::new();
    for child in el.elements() {
        let ours = in_synapse_ns(child) || child.ns == TASK_NS;
        match child.local.as_str() {
            "trigger" if ours => {
                if trigger.is_some() {
                    ctx.error(child.pos, "<task> has more than one <trigger>");
                }
                trigger = self::trigger(ctx, child);
            }
            "property" if ours => {
                let Some(pname) = ctx.required(child, "name") else {
                    continue;
                };
                ctx.known_attrs(child, &["name", "value"]);
                let value = match (child.attr("value"), child.elements().next()) {
                    (Some(v), None) => TaskValue::Text(v.to_string()),
                    (None, Some(x)) => TaskValue::Xml(x.clone()),
                    (None, None) => TaskValue::Text(child.text()),
                    (Some(_), Some(_)) => {
                        ctx.error(
                            child.pos,
                            format!("task property '{pname}' has both a value and inline XML"),
                        );
                        continue;
                    }
                };
                properties.push(TaskProperty {
                    name: pname.to_string(),
                    pos: child.pos,
                    value,
                });
            }
            "description" if ours => {}
            _ => ctx.unknown_child(child, "task"),
        }
    }
    let trigger = match trigger {
        Some(t) => t,
        None => {
            // MI gives such a task a 1 ms interval, which it refuses for user tasks: it never
            // runs there either.
            if !el.elements().any(|c| c.local == "trigger") {
                ctx.warn(
                    el.pos,
                    "<task> has no <trigger>: it is not scheduled (MI does not schedule it either)",
                );
            }
            return None;
        }
    };
    Some(Task {
        name: name?,
        origin: ctx.origin(el.pos),
        class: class?,
        trigger,
        properties,
    })
}

/// `<trigger interval="s" [count="n"]/>`, `<trigger cron="…"/>` or `<trigger once="true"/>`.
fn trigger(ctx: &mut Reader<'_>, el: &Element) -> Option<Trigger> {
    ctx.known_attrs(el, &["interval", "count", "cron", "once"]);
    if let Some(cron) = el.attr("cron") {
        if el.attribute("interval").is_some() || el.attribute("count").is_some() {
            ctx.error(
                el.pos,
                "<trigger> has both cron and simple trigger attributes (interval, count)",
            );
            return None;
        }
        return Some(Trigger::Cron(cron.trim().to_string()));
    }
    if ctx.bool_attr(el, "once", false) {
        return Some(Trigger::Once);
    }
    let Some(seconds) = ctx.number_attr::<u64>(el, "interval") else {
        if el.attribute("interval").is_none() {
            // MI gives it a 1 ms interval, which it refuses for user tasks: it never runs there.
            ctx.warn(
                el.pos,
                "<trigger> has no interval (seconds), cron expression or once=\"true\": the task is not scheduled (MI does not schedule it either)",
            );
        }
        return None;
    };
    // Quartz's repeat count: -1 (and any negative) repeats without end.
    let count = match el.attribute("count") {
        None => None,
        Some(a) => match a.value.trim().parse::<i64>() {
            Ok(n) if n < 0 => None,
            Ok(n) => Some(n as u64),
            Err(_) => {
                ctx.error(
                    a.pos,
                    format!("attribute 'count' must be a number, found '{}'", a.value),
                );
                return None;
            }
        },
    };
    Some(Trigger::Interval { seconds, count })
}
