//! Endpoints: where `send` and `call` deliver a message.
//!
//! Leaf endpoints (`address`, `http` with a URI template, `default` = the message's `To`) are compiled
//! here from the model: addresses parsed once, templates compiled once, QoS resolved to durations.
//! Group endpoints (failover, loadbalance), suspension and templates arrive with the endpoints issue.

use std::time::Duration;

use http::Method;

use crate::http::client::Origin;
use crate::mediation::mediator::{Scope, ValueRt};
use crate::synapse::model::{self, EndpointKind, Qos, TimeoutAction};
use crate::synapse::uri_template::ExpandTemplate;

/// A parsed `http://host:port/path?query` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub origin: Origin,
    /// Path and query, at least `/`.
    pub path_and_query: String,
}

impl Address {
    pub fn parse(uri: &str) -> Result<Address, String> {
        let u: http::Uri = uri
            .trim()
            .parse()
            .map_err(|e| format!("'{uri}' is not a valid URI: {e}"))?;
        let https = match u.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(s) => {
                return Err(format!(
                    "'{uri}': the {s} transport is not supported (only http and https)"
                ))
            }
            None => return Err(format!("'{uri}' is not an absolute URI")),
        };
        let host = u.host().ok_or_else(|| format!("'{uri}' has no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = u.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path_and_query = u
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let path_and_query = if path_and_query.is_empty() {
            "/".into()
        } else {
            path_and_query
        };
        Ok(Address {
            origin: Origin { https, host, port },
            path_and_query,
        })
    }

    /// The `Host` header value for this address.
    pub fn authority(&self) -> String {
        let default = if self.origin.https { 443 } else { 80 };
        let host = if self.origin.host.contains(':') {
            format!("[{}]", self.origin.host)
        } else {
            self.origin.host.clone()
        };
        if self.origin.port == default {
            host
        } else {
            format!("{host}:{}", self.origin.port)
        }
    }
}

#[derive(Debug, Clone)]
pub enum EpKind {
    Address(Address),
    Http {
        template: ExpandTemplate,
        method: Option<Method>,
    },
    /// The message's `To` address (set by the header mediator or the request).
    Default,
    /// An endpoint type mint does not implement yet: using it raises a fault.
    Unsupported(String),
}

/// A compiled endpoint.
#[derive(Debug, Clone)]
pub struct EndpointRt {
    pub name: String,
    pub kind: EpKind,
    /// Endpoint `<timeout><duration>`; None = the global timeout.
    pub timeout: Option<Duration>,
    pub timeout_action: TimeoutAction,
    /// `format="soap11|soap12|pox|get|rest|json"`.
    pub format: Option<String>,
    /// `<property>` children, set on the message before sending.
    pub properties: Vec<(String, ValueRt, Scope)>,
}

impl EndpointRt {
    /// Stands in for an endpoint that failed to compile (the deploy fails anyway).
    pub fn placeholder() -> EndpointRt {
        EndpointRt {
            name: String::new(),
            kind: EpKind::Unsupported("invalid".into()),
            timeout: None,
            timeout_action: TimeoutAction::None,
            format: None,
            properties: Vec::new(),
        }
    }

    /// Name for logs and error messages (`anonymous` for inline endpoints without one).
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            "anonymous"
        } else {
            &self.name
        }
    }
}

/// Compiles an endpoint; returns it with warnings, or an error message.
pub fn compile(
    e: &model::Endpoint,
    properties: Vec<(String, ValueRt, Scope)>,
) -> Result<(EndpointRt, Vec<String>), String> {
    let mut warnings = Vec::new();
    let (kind, qos, format) = match &e.kind {
        EndpointKind::Address { uri, format, qos } => (
            EpKind::Address(Address::parse(uri)?),
            Some(qos),
            format.clone(),
        ),
        EndpointKind::Http {
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
            (EpKind::Http { template, method }, Some(qos), None)
        }
        EndpointKind::Default { format, qos } => (EpKind::Default, Some(qos), format.clone()),
        EndpointKind::Unsupported(el) => {
            warnings.push(format!(
                "endpoint type '{}' is not supported yet; sending to it raises a fault",
                el.local
            ));
            (EpKind::Unsupported(el.local.clone()), None, None)
        }
    };
    let (timeout, timeout_action) = match qos.and_then(|q: &Qos| q.timeout.as_ref()) {
        Some(t) => (t.duration_ms.map(Duration::from_millis), t.action),
        None => (None, TimeoutAction::None),
    };
    if let Some(q) = qos {
        if q.suspend_on_failure.is_some() || q.mark_for_suspension.is_some() {
            // Parsed and accepted; the suspension state machine arrives with the endpoints issue.
        }
    }
    let rt = EndpointRt {
        name: e.name.clone().unwrap_or_default(),
        kind,
        timeout,
        timeout_action,
        format,
        properties,
    };
    Ok((rt, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses() {
        let a = Address::parse("http://127.0.0.1:19090/services/SimpleStockQuoteService").unwrap();
        assert_eq!(
            a.origin,
            Origin {
                https: false,
                host: "127.0.0.1".into(),
                port: 19090
            }
        );
        assert_eq!(a.path_and_query, "/services/SimpleStockQuoteService");
        assert_eq!(a.authority(), "127.0.0.1:19090");
        let b = Address::parse("https://example.org").unwrap();
        assert_eq!(
            (b.origin.port, b.path_and_query.as_str(), b.authority()),
            (443, "/", "example.org".to_string())
        );
        assert!(Address::parse("jms:/queue").is_err());
        assert!(Address::parse("/relative").is_err());
    }
}
