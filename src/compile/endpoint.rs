//! Endpoints: model → [`Endpoint`]. Leaves are compiled here; groups (failover, loadbalance)
//! over children the compiler has already compiled.

use std::sync::Arc;
use std::time::Duration;

use http::Method;

use crate::message::{EpId, Scope, Value};
use crate::program::endpoint::{Address, Endpoint, EndpointKind, Format, Sticky, TimeoutAction};
use crate::program::suspension::Policy;
use crate::synapse::model::{self, MarkForSuspension, Qos, SuspendOnFailure};
use crate::uri_template::ExpandTemplate;

/// The QoS policy of one leaf endpoint, with WSO2's defaults for what is not set.
pub fn policy(sof: Option<&SuspendOnFailure>, mfs: Option<&MarkForSuspension>) -> Policy {
    let d = Policy::default();
    Policy {
        timeout_codes: mfs.map(|m| m.error_codes.clone()).unwrap_or_default(),
        retries_before_suspension: mfs
            .and_then(|m| m.retries_before_suspension)
            .map(i64::from)
            .unwrap_or(d.retries_before_suspension),
        retry_delay_ms: mfs
            .and_then(|m| m.retry_delay_ms)
            .map(|d| d as i64)
            .unwrap_or(d.retry_delay_ms),
        suspend_codes: sof.map(|s| s.error_codes.clone()).unwrap_or_default(),
        initial_ms: sof
            .and_then(|s| s.initial_duration_ms)
            .unwrap_or(d.initial_ms),
        progression: sof
            .and_then(|s| s.progression_factor)
            .unwrap_or(d.progression),
        maximum_ms: sof
            .and_then(|s| s.maximum_duration_ms)
            .unwrap_or(d.maximum_ms),
    }
}

fn timeout_action(a: model::TimeoutAction) -> TimeoutAction {
    match a {
        model::TimeoutAction::Fault => TimeoutAction::Fault,
        model::TimeoutAction::Discard => TimeoutAction::Discard,
        model::TimeoutAction::None => TimeoutAction::None,
    }
}

/// Compiles an endpoint; returns it with warnings, or an error message.
pub fn leaf(
    e: &model::Endpoint,
    properties: Vec<(String, Value, Scope)>,
) -> Result<(Endpoint, Vec<String>), String> {
    let mut warnings = Vec::new();
    let (kind, qos, format) = match &e.kind {
        model::EndpointKind::Address { uri, format, qos } => (
            EndpointKind::Address(Address::parse(uri)?),
            Some(qos),
            format.clone(),
        ),
        model::EndpointKind::Http {
            uri_template,
            method,
            qos,
        } => {
            let template = ExpandTemplate::parse(uri_template)
                .map_err(|m| format!("bad uri-template '{uri_template}': {m}"))?;
            let method = match method {
                Some(m) => Some(
                    Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                        .map_err(|_| format!("'{m}' is not an HTTP method"))?,
                ),
                None => None,
            };
            (EndpointKind::Http { template, method }, Some(qos), None)
        }
        model::EndpointKind::Default { format, qos } => {
            (EndpointKind::Default, Some(qos), format.clone())
        }
        model::EndpointKind::Failover { .. }
        | model::EndpointKind::Loadbalance { .. }
        | model::EndpointKind::Template { .. }
        | model::EndpointKind::Dynamic(_) => {
            return Err(
                "internal: group and template endpoints are compiled by the deployer".into(),
            );
        }
        model::EndpointKind::Unsupported(el) => {
            warnings.push(format!(
                "endpoint type '{}' is not supported yet; sending to it raises a fault",
                el.local
            ));
            (EndpointKind::Unsupported(el.local.clone()), None, None)
        }
    };
    let (timeout, timeout_action) = match qos.and_then(|q: &Qos| q.timeout.as_ref()) {
        Some(t) => (
            t.duration_ms.map(Duration::from_millis),
            timeout_action(t.action),
        ),
        None => (None, TimeoutAction::None),
    };
    let policy = policy(
        qos.and_then(|q| q.suspend_on_failure.as_ref()),
        qos.and_then(|q| q.mark_for_suspension.as_ref()),
    );
    let format = match format.as_deref() {
        None => None,
        Some(f) => match Format::parse(f) {
            Some(f) => Some(f),
            None => {
                warnings.push(format!(
                    "format=\"{f}\" is not one Synapse applies (soap11, soap12, pox, get, rest): \
                     the message goes out as it is"
                ));
                None
            }
        },
    };
    let rt = Endpoint {
        name: e.name.clone().unwrap_or_default(),
        kind,
        timeout,
        timeout_action,
        format,
        properties,
        policy,
        state: Arc::default(),
        stats: None,
    };
    Ok((rt, warnings))
}

/// A failover / loadbalance endpoint over already compiled children.
pub fn group(
    e: &model::Endpoint,
    properties: Vec<(String, Value, Scope)>,
    children: Vec<EpId>,
    weights: Vec<u32>,
    sticky: Option<Arc<Sticky>>,
) -> Endpoint {
    let kind = match &e.kind {
        model::EndpointKind::Failover { dynamic, .. } => EndpointKind::Failover {
            children,
            dynamic: *dynamic,
        },
        model::EndpointKind::Loadbalance { failover, .. } => EndpointKind::Loadbalance {
            children,
            failover: *failover,
            weights,
            sticky,
        },
        _ => EndpointKind::Unsupported("group".into()),
    };
    Endpoint {
        name: e.name.clone().unwrap_or_default(),
        kind,
        timeout: None,
        timeout_action: TimeoutAction::None,
        format: None,
        properties,
        policy: Policy::default(),
        state: Arc::default(),
        stats: None,
    }
}
