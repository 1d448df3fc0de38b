//! Sequences and the mediators in them: log, property, propertyGroup, send, call, respond, drop,
//! loopback, sequence (reference) and header are modelled; filter, switch, payloadFactory, enrich
//! and makefault are kept whole as [`Mediator::Content`] for the compiler; every other mediator is
//! kept whole as [`Mediator::Unsupported`] with a warning.

use crate::synapse::model::{
    ContentMediator, Element, EndpointRef, LogCategory, LogLevel, LogProperty, Mediator,
    MediatorNode, PropertyAction, Sequence,
};

use super::{endpoint, in_synapse_ns, is_synapse, Ctx};

/// Scopes a property mediator may write to.
const PROPERTY_SCOPES: [&str; 10] = [
    "default",
    "transport",
    "axis2",
    "axis2-client",
    "operation",
    "registry",
    "system",
    "env",
    "trace",
    "analytics",
];

/// Values of a property mediator's `type` attribute.
const PROPERTY_TYPES: [&str; 9] = [
    "STRING", "INTEGER", "BOOLEAN", "DOUBLE", "FLOAT", "LONG", "SHORT", "OM", "JSON",
];

/// A `<sequence>` artifact or an inline `<inSequence>`/`<outSequence>`/`<faultSequence>` (or any
/// other element whose children are mediators): name and onError attributes plus the mediators.
pub(super) fn sequence(ctx: &mut Ctx<'_>, el: &Element) -> Sequence {
    Sequence {
        name: el.attr("name").map(str::to_string),
        origin: ctx.origin(el.pos),
        on_error: el.attr("onError").map(str::to_string),
        mediators: mediators(ctx, el),
    }
}

/// The mediators among `el`'s children (`<description>` skipped; broken mediators left out).
/// The child elements of `el` as mediators (for the deployer's content mediators).
pub(crate) fn children(ctx: &mut Ctx<'_>, el: &Element) -> Vec<MediatorNode> {
    mediators(ctx, el)
}

fn mediators(ctx: &mut Ctx<'_>, el: &Element) -> Vec<MediatorNode> {
    let mut nodes = Vec::new();
    for child in el.elements() {
        if is_synapse(child, "description") {
            continue;
        }
        if let Some(mediator) = mediator(ctx, child) {
            nodes.push(MediatorNode {
                origin: ctx.origin(child.pos),
                mediator,
            });
        }
    }
    nodes
}

fn mediator(ctx: &mut Ctx<'_>, el: &Element) -> Option<Mediator> {
    if !in_synapse_ns(el) {
        return Some(unsupported(ctx, el));
    }
    match el.local.as_str() {
        "log" => Some(log(ctx, el)),
        "property" => property(ctx, el),
        "propertyGroup" => Some(property_group(ctx, el)),
        "send" => Some(Mediator::Send {
            endpoint: endpoint_child(ctx, el),
            receive: el.attr("receive").map(str::to_string),
        }),
        "call" => Some(call(ctx, el)),
        "respond" => Some(Mediator::Respond),
        "drop" => Some(Mediator::Drop),
        "loopback" => Some(Mediator::Loopback),
        "sequence" => match el.attr("key") {
            Some(key) if !key.trim().is_empty() => Some(Mediator::SequenceRef {
                key: key.trim().to_string(),
            }),
            _ => {
                ctx.error(
                    el.pos,
                    "<sequence> used as a mediator needs a key attribute",
                );
                None
            }
        },
        "header" => header(ctx, el),
        local => match ContentMediator::from_local(local) {
            Some(kind) => Some(Mediator::Content(kind, el.clone())),
            None => Some(unsupported(ctx, el)),
        },
    }
}

fn unsupported(ctx: &mut Ctx<'_>, el: &Element) -> Mediator {
    ctx.warn(
        el.pos,
        format!("mediator <{}> is not supported yet", el.qname()),
    );
    Mediator::Unsupported(el.clone())
}

fn log(ctx: &mut Ctx<'_>, el: &Element) -> Mediator {
    let level = match ctx.choice_attr(el, "level", &["simple", "headers", "full", "custom"]) {
        Some("headers") => LogLevel::Headers,
        Some("full") => LogLevel::Full,
        Some("custom") => LogLevel::Custom,
        _ => LogLevel::Simple,
    };
    let categories = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    let category = match ctx.choice_attr(el, "category", &categories) {
        Some("TRACE") => LogCategory::Trace,
        Some("DEBUG") => LogCategory::Debug,
        Some("WARN") => LogCategory::Warn,
        Some("ERROR") => LogCategory::Error,
        Some("FATAL") => LogCategory::Fatal,
        _ => LogCategory::Info,
    };
    let separator = el.attr("separator").unwrap_or(",").to_string();

    let mut message = None;
    let mut properties = Vec::new();
    for child in el.elements() {
        if is_synapse(child, "message") {
            message = Some(child.text());
        } else if is_synapse(child, "property") {
            let Some(name) = ctx.required(child, "name") else {
                continue;
            };
            let what = format!("log property '{name}'");
            if let Some(value) = ctx.required_value(child, &what) {
                properties.push(LogProperty {
                    name: name.to_string(),
                    value,
                });
            }
        } else if !is_synapse(child, "description") {
            ctx.unknown_child(child, "log");
        }
    }
    Mediator::Log {
        level,
        category,
        separator,
        message,
        properties,
    }
}

fn property(ctx: &mut Ctx<'_>, el: &Element) -> Option<Mediator> {
    let name = ctx.required(el, "name")?.to_string();
    let action = action(ctx, el);
    let scope = match el.attribute("scope") {
        None => "default".to_string(),
        Some(attr) => {
            let scope = attr.value.trim().to_ascii_lowercase();
            if !PROPERTY_SCOPES.contains(&scope.as_str()) {
                ctx.error(
                    attr.pos,
                    format!(
                        "invalid property scope '{}' (expected {})",
                        attr.value,
                        PROPERTY_SCOPES.join(", ")
                    ),
                );
                return None;
            }
            scope
        }
    };
    let value_type = ctx
        .choice_attr(el, "type", &PROPERTY_TYPES)
        .map(str::to_string);
    let pattern = el.attr("pattern").map(str::to_string);
    let group = ctx.number_attr(el, "group");
    let value = match action {
        PropertyAction::Set => Some(ctx.required_value(el, &format!("property '{name}'"))?),
        PropertyAction::Remove => None,
    };
    Some(Mediator::Property {
        name,
        action,
        scope,
        value,
        value_type,
        pattern,
        group,
    })
}

fn property_group(ctx: &mut Ctx<'_>, el: &Element) -> Mediator {
    let mut nodes = Vec::new();
    for child in el.elements() {
        if is_synapse(child, "property") {
            if let Some(mediator) = property(ctx, child) {
                nodes.push(MediatorNode {
                    origin: ctx.origin(child.pos),
                    mediator,
                });
            }
        } else if !is_synapse(child, "description") {
            ctx.error(
                child.pos,
                format!(
                    "<propertyGroup> may only contain <property> elements, found <{}>",
                    child.qname()
                ),
            );
        }
    }
    Mediator::PropertyGroup(nodes)
}

fn call(ctx: &mut Ctx<'_>, el: &Element) -> Mediator {
    let has_source_or_target = el
        .elements()
        .any(|c| is_synapse(c, "source") || is_synapse(c, "target"));
    if has_source_or_target {
        ctx.warn(
            el.pos,
            "mediator <call> with <source> or <target> is not supported yet",
        );
        return Mediator::Unsupported(el.clone());
    }
    Mediator::Call {
        blocking: ctx.bool_attr(el, "blocking", false),
        endpoint: endpoint_child(ctx, el),
    }
}

fn header(ctx: &mut Ctx<'_>, el: &Element) -> Option<Mediator> {
    let name = ctx.required(el, "name")?.to_string();
    let ns = match name.split_once(':') {
        None => None,
        Some((prefix, _)) => match el.resolve_prefix(prefix) {
            Some(uri) => Some(uri.to_string()),
            None => {
                let pos = el.attribute("name").map_or(el.pos, |a| a.pos);
                ctx.error(
                    pos,
                    format!("namespace prefix '{prefix}' of header name '{name}' is not declared"),
                );
                return None;
            }
        },
    };
    let action = action(ctx, el);
    let scope = ctx
        .choice_attr(el, "scope", &["default", "transport"])
        .map(str::to_string);
    let value = match action {
        PropertyAction::Set => Some(ctx.required_value(el, &format!("header '{name}'"))?),
        PropertyAction::Remove => None,
    };
    Some(Mediator::Header {
        name,
        ns,
        action,
        scope,
        value,
    })
}

/// `action="set|remove"`, default set.
fn action(ctx: &mut Ctx<'_>, el: &Element) -> PropertyAction {
    match ctx.choice_attr(el, "action", &["set", "remove"]) {
        Some("remove") => PropertyAction::Remove,
        _ => PropertyAction::Set,
    }
}

/// The `<endpoint>` child of send/call, if any (only one is allowed).
fn endpoint_child(ctx: &mut Ctx<'_>, el: &Element) -> Option<EndpointRef> {
    let mut endpoints = el.elements().filter(|c| is_synapse(c, "endpoint"));
    let first = endpoints.next()?;
    if let Some(extra) = endpoints.next() {
        ctx.error(
            extra.pos,
            format!("<{}> may have only one <endpoint>", el.local),
        );
    }
    endpoint::reference(ctx, first)
}
