//! Endpoints: definitions (`endpoints/` artifacts, registry resources, inline `<endpoint>`s in
//! send/call/target) and references (`<endpoint key="..."/>`). Leaf endpoints (address, http,
//! default), their QoS settings and the failover / loadbalance groups are modelled; other
//! endpoint types are kept whole as [`EndpointKind::Unsupported`] with a warning.

use std::str::FromStr;

use crate::synapse::model::{
    Element, Endpoint, EndpointKind, EndpointProperty, EndpointRef, EndpointTemplate,
    MarkForSuspension, Qos, SuspendOnFailure, Timeout, TimeoutAction, ValueSpec,
};

use super::{in_synapse_ns, Reader};

/// Child elements of `<endpoint>` that give its type.
const ENDPOINT_TYPES: [&str; 9] = [
    "address",
    "http",
    "default",
    "wsdl",
    "failover",
    "loadbalance",
    "recipientlist",
    "dynamicLoadBalance",
    "class",
];

/// Message formats an address or default endpoint may force.
const FORMATS: [&str; 6] = ["soap11", "soap12", "pox", "get", "rest", "json"];

/// Methods an http endpoint may force.
const HTTP_METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"];

/// An `<endpoint>` where one is used (send, call, proxy target): a key reference or an inline
/// definition.
pub(super) fn reference(ctx: &mut Reader<'_>, el: &Element) -> Option<EndpointRef> {
    if let Some(attr) = el.attribute("key") {
        let key = attr.value.trim();
        if key.is_empty() {
            ctx.error(attr.pos, "attribute 'key' of <endpoint> is empty");
            return None;
        }
        return Some(EndpointRef::Key {
            key: key.to_string(),
            origin: ctx.origin(attr.pos),
        });
    }
    if let Some(attr) = el.attribute("key-expression") {
        return Some(EndpointRef::Inline(Box::new(Endpoint {
            name: el.attr("name").map(str::to_string),
            origin: ctx.origin(attr.pos),
            kind: EndpointKind::Dynamic(ValueSpec::Expression {
                text: attr.value.trim().to_string(),
                namespaces: el.ns_scope.clone(),
            }),
            properties: Vec::new(),
        })));
    }
    definition(ctx, el).map(|endpoint| EndpointRef::Inline(Box::new(endpoint)))
}

/// An `<endpoint>` that defines an endpoint (named or not). None when it defines nothing usable.
pub(super) fn definition(ctx: &mut Reader<'_>, el: &Element) -> Option<Endpoint> {
    if let Some(attr) = el
        .attribute("key")
        .or_else(|| el.attribute("key-expression"))
    {
        ctx.error(
            attr.pos,
            "an endpoint definition cannot be a key reference; define an address, http or default endpoint",
        );
        return None;
    }
    let templated = el.attribute("template").is_some();
    let mut properties = Vec::new();
    let mut type_element: Option<&Element> = None;
    for child in el.elements() {
        if !in_synapse_ns(child) {
            ctx.unknown_child(child, "endpoint");
            continue;
        }
        let local = child.local.as_str();
        match local {
            "property" => properties.extend(property(ctx, child)),
            // `<session>` goes with loadbalance; `<parameter>` with template endpoints.
            "description" | "session" | "parameter" => {}
            _ if ENDPOINT_TYPES.contains(&local) => match type_element {
                Some(previous) => ctx.error(
                    child.pos,
                    format!(
                        "<endpoint> has more than one type: <{}> and <{local}>",
                        previous.local
                    ),
                ),
                None => type_element = Some(child),
            },
            _ => ctx.unknown_child(child, "endpoint"),
        }
    }

    let kind = if let Some(template) = el.attr("template").filter(|_| templated) {
        let params = el
            .elements()
            .filter(|c| c.local == "parameter")
            .filter_map(|p| {
                Some((
                    ctx.required(p, "name")?.to_string(),
                    p.attr("value").unwrap_or("").to_string(),
                ))
            })
            .collect();
        EndpointKind::Template {
            template: template.to_string(),
            uri: el.attr("uri").map(str::to_string),
            params,
        }
    } else if let Some(type_element) = type_element {
        kind(ctx, el, type_element)?
    } else {
        ctx.error(
            el.pos,
            "<endpoint> has no address, http, default or other endpoint type",
        );
        return None;
    };
    Some(Endpoint {
        name: el.attr("name").map(str::to_string),
        origin: ctx.origin(el.pos),
        kind,
        properties,
    })
}

/// A `<template>` whose body is an `<endpoint>`.
pub(super) fn template(ctx: &mut Reader<'_>, el: &Element) -> Option<EndpointTemplate> {
    let name = ctx.required(el, "name")?.to_string();
    let mut params = Vec::new();
    let mut endpoint = None;
    for child in el.elements() {
        match child.local.as_str() {
            "parameter" => params.extend(ctx.required(child, "name").map(str::to_string)),
            "endpoint" if endpoint.is_none() => endpoint = Some(child.clone()),
            "endpoint" => ctx.error(child.pos, "a <template> holds one <endpoint>"),
            "description" => {}
            _ => ctx.unknown_child(child, "template"),
        }
    }
    Some(EndpointTemplate {
        name,
        params,
        endpoint: endpoint?,
        origin: ctx.origin(el.pos),
    })
}

/// The endpoint type given by `el`, a child of the `<endpoint>` element `endpoint`.
fn kind(ctx: &mut Reader<'_>, endpoint: &Element, el: &Element) -> Option<EndpointKind> {
    match el.local.as_str() {
        "address" => {
            let format = format(ctx, el);
            let qos = qos(ctx, el);
            let uri = ctx.required(el, "uri")?.trim().to_string();
            Some(EndpointKind::Address { uri, format, qos })
        }
        "http" => {
            let method = ctx
                .choice_attr(el, "method", &HTTP_METHODS)
                .map(str::to_string);
            let qos = qos(ctx, el);
            let uri_template = ctx.required(el, "uri-template")?.trim().to_string();
            Some(EndpointKind::Http {
                uri_template,
                method,
                qos,
            })
        }
        "default" => Some(EndpointKind::Default {
            format: format(ctx, el),
            qos: qos(ctx, el),
        }),
        "failover" | "loadbalance" => {
            let mut children = Vec::new();
            for child in el.elements() {
                match child.local.as_str() {
                    "endpoint" if in_synapse_ns(child) => children.extend(reference(ctx, child)),
                    "member" => ctx.warn(
                        child.pos,
                        "<member> load-balance members are not supported yet; use <endpoint> children",
                    ),
                    _ => ctx.unknown_child(child, &el.local),
                }
            }
            if children.is_empty() {
                ctx.error(el.pos, format!("<{}> has no <endpoint> children", el.local));
                return None;
            }
            let flag = |name: &str| {
                !el.attr(name)
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
            };
            if el.local == "failover" {
                Some(EndpointKind::Failover {
                    children,
                    dynamic: flag("dynamic"),
                })
            } else {
                let session_el = endpoint.elements().find(|c| c.local == "session");
                let session = session_el.and_then(|c| c.attr("type")).map(str::to_string);
                let session_timeout_ms = session_el
                    .and_then(|s| s.elements().find(|c| c.local == "sessionTimeout"))
                    .and_then(|t| t.text().trim().parse().ok());
                Some(EndpointKind::Loadbalance {
                    children,
                    failover: flag("failover"),
                    algorithm: el.attr("algorithm").map(str::to_string),
                    session,
                    session_timeout_ms,
                })
            }
        }
        other => {
            ctx.warn(el.pos, format!("<{other}> endpoints are not supported yet"));
            Some(EndpointKind::Unsupported(endpoint.clone()))
        }
    }
}

fn format(ctx: &mut Reader<'_>, el: &Element) -> Option<String> {
    ctx.choice_attr(el, "format", &FORMATS).map(str::to_string)
}

/// `<property name value|expression [scope]/>` on an endpoint.
fn property(ctx: &mut Reader<'_>, el: &Element) -> Option<EndpointProperty> {
    let name = ctx.required(el, "name")?.to_string();
    let value = ctx.required_value(el, &format!("endpoint property '{name}'"))?;
    let scope = el
        .attr("scope")
        .map_or_else(|| "default".to_string(), |s| s.trim().to_ascii_lowercase());
    let scope_origin = ctx.origin(el.attribute("scope").map_or(el.pos, |a| a.pos));
    Some(EndpointProperty {
        name,
        value,
        scope,
        scope_origin,
    })
}

/// The QoS children of a leaf endpoint element (`<address>`, `<http>`, `<default>`).
fn qos(ctx: &mut Reader<'_>, el: &Element) -> Qos {
    let mut qos = Qos::default();
    for child in el.elements() {
        if !in_synapse_ns(child) {
            ctx.unknown_child(child, &el.local);
            continue;
        }
        match child.local.as_str() {
            "timeout" => qos.timeout = Some(timeout(ctx, child)),
            "suspendOnFailure" => qos.suspend_on_failure = Some(suspend_on_failure(ctx, child)),
            "markForSuspension" => {
                qos.mark_for_suspension = Some(mark_for_suspension(ctx, child));
            }
            // Messages its author wanted signed or encrypted are not sent in the clear.
            "enableSec" => ctx.error(
                child.pos,
                "<enableSec> on an endpoint: WS-Security is not implemented by mint; the endpoint would send in the clear what its author wanted signed or encrypted",
            ),
            "enableAddressing" | "enableRM" | "retryConfig" | "authentication" => {
                ctx.warn(
                    child.pos,
                    format!(
                        "<{}> on an endpoint is not supported yet and is ignored",
                        child.local
                    ),
                );
            }
            "description" => {}
            _ => ctx.unknown_child(child, &el.local),
        }
    }
    qos
}

fn timeout(ctx: &mut Reader<'_>, el: &Element) -> Timeout {
    let mut timeout = Timeout {
        duration_ms: None,
        action: TimeoutAction::None,
    };
    for child in el.elements() {
        match child.local.as_str() {
            "duration" if in_synapse_ns(child) => {
                let text = child.text();
                if text.trim().starts_with('{') {
                    ctx.warn(
                        child.pos,
                        "expression timeouts ({...}) are not supported yet; the global timeout applies",
                    );
                } else {
                    timeout.duration_ms = number(ctx, child);
                }
            }
            "responseAction" if in_synapse_ns(child) => {
                let text = child.text();
                timeout.action = match text.trim().to_ascii_lowercase().as_str() {
                    "fault" => TimeoutAction::Fault,
                    "discard" => TimeoutAction::Discard,
                    _ => {
                        ctx.error(
                            child.pos,
                            format!(
                                "invalid timeout responseAction '{}' (expected fault or discard)",
                                text.trim()
                            ),
                        );
                        TimeoutAction::None
                    }
                };
            }
            _ => ctx.unknown_child(child, "timeout"),
        }
    }
    timeout
}

fn suspend_on_failure(ctx: &mut Reader<'_>, el: &Element) -> SuspendOnFailure {
    let mut suspend = SuspendOnFailure::default();
    for child in el.elements().filter(|c| in_synapse_ns(c)) {
        match child.local.as_str() {
            "errorCodes" => suspend.error_codes = error_codes(ctx, child),
            "initialDuration" => suspend.initial_duration_ms = number(ctx, child),
            "progressionFactor" => suspend.progression_factor = number(ctx, child),
            "maximumDuration" => suspend.maximum_duration_ms = number(ctx, child),
            _ => ctx.unknown_child(child, "suspendOnFailure"),
        }
    }
    suspend
}

fn mark_for_suspension(ctx: &mut Reader<'_>, el: &Element) -> MarkForSuspension {
    let mut mark = MarkForSuspension::default();
    for child in el.elements().filter(|c| in_synapse_ns(c)) {
        match child.local.as_str() {
            "errorCodes" => mark.error_codes = error_codes(ctx, child),
            "retriesBeforeSuspension" => mark.retries_before_suspension = number(ctx, child),
            "retryDelay" => mark.retry_delay_ms = number(ctx, child),
            _ => ctx.unknown_child(child, "markForSuspension"),
        }
    }
    mark
}

/// The number in an element's text; None (reported) when it does not parse.
fn number<T: FromStr>(ctx: &mut Reader<'_>, el: &Element) -> Option<T> {
    let text = el.text();
    let parsed = text.trim().parse().ok();
    if parsed.is_none() {
        ctx.error(
            el.pos,
            format!("<{}> must be a number, found '{}'", el.local, text.trim()),
        );
    }
    parsed
}

/// `<errorCodes>101504, 101505</errorCodes>`: comma-separated integers (`-1` allowed).
fn error_codes(ctx: &mut Reader<'_>, el: &Element) -> Vec<i64> {
    let text = el.text();
    let mut codes = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        match item.parse() {
            Ok(code) => codes.push(code),
            Err(_) => ctx.error(
                el.pos,
                format!("error code '{item}' in <errorCodes> is not a number"),
            ),
        }
    }
    codes
}
