//! Compiled endpoints: where `send` and `call` deliver a message.
//!
//! Leaf endpoints (`address`, `http` with a URI template, `default` = the message's `To`) carry
//! their address parsed once, their template compiled once and their QoS resolved to durations.
//! Group endpoints (failover, loadbalance) hold the ids of their children. Every leaf carries its
//! shared suspension [`EndpointState`].

use std::sync::Arc;
use std::time::Duration;

use http::Method;

use super::suspension::{EndpointState, Policy};
use crate::message::{EpId, Scope, Value};
use crate::telemetry::metrics::ServiceStats;
use crate::uri_template::ExpandTemplate;

pub use crate::http::upstream::Origin;

/// What a timed-out call does (`<timeout><responseAction>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutAction {
    /// Run the fault handler (101504).
    Fault,
    /// Drop the late response; the flow ends.
    Discard,
    /// No action configured: as `fault`.
    None,
}

/// A parsed `http://host:port/path?query` address.
#[derive(Debug, Clone)]
pub struct Address {
    pub origin: Origin,
    /// Path and query, at least `/`.
    path_and_query: String,
    /// The `Host` header for this address (`host[:port]`, the port only when not the default),
    /// made once when the address is parsed.
    host_header: http::HeaderValue,
    /// The request target (origin form, dot-segments removed) of `path_and_query`, made when
    /// first sent to and kept: `None` inside when the path is not a valid one.
    target: std::sync::OnceLock<Option<http::Uri>>,
}

/// Equal addresses: the same origin, path and query (the request target follows from them).
impl PartialEq for Address {
    fn eq(&self, other: &Address) -> bool {
        self.origin == other.origin
            && self.path_and_query == other.path_and_query
            && self.host_header == other.host_header
    }
}

impl Eq for Address {}

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
        let default = if https { 443 } else { 80 };
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let authority = if port == default {
            bracketed
        } else {
            format!("{bracketed}:{port}")
        };
        let host_header = http::HeaderValue::try_from(authority)
            .map_err(|_| format!("'{uri}': the host cannot be sent in a Host header"))?;
        Ok(Address {
            origin: Origin { https, host, port },
            path_and_query,
            host_header,
            target: std::sync::OnceLock::new(),
        })
    }

    /// Path and query, at least `/`.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// The same address with another path and query.
    pub fn with_path_and_query(&self, path_and_query: String) -> Address {
        Address {
            origin: self.origin.clone(),
            path_and_query,
            host_header: self.host_header.clone(),
            target: std::sync::OnceLock::new(),
        }
    }

    /// The request target in origin form (dot-segments removed), or `None` when the path and
    /// query do not make one.
    pub fn target(&self) -> Option<&http::Uri> {
        self.target
            .get_or_init(|| {
                crate::http::rules::normalize_path_and_query(&self.path_and_query)
                    .parse()
                    .ok()
            })
            .as_ref()
    }

    /// The `Host` header value for this address.
    pub fn host_header(&self) -> &http::HeaderValue {
        &self.host_header
    }

    /// The authority (`host[:port]`) of this address, as sent in `Host`.
    pub fn authority(&self) -> &str {
        // Made from a `String` in `parse`: always UTF-8.
        self.host_header.to_str().unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub enum EndpointKind {
    Address(Address),
    Http {
        template: ExpandTemplate,
        method: Option<Method>,
    },
    /// The message's `To` address (set by the header mediator or the request).
    Default,
    /// The first child ready to send; on a transport error, the next one.
    Failover {
        children: Vec<EpId>,
        dynamic: bool,
    },
    /// Round robin over the ready children (weighted when `weights` is not empty); with
    /// `failover`, a transport error tries the next child.
    Loadbalance {
        children: Vec<EpId>,
        failover: bool,
        weights: Vec<u32>,
        /// `<session type="http"/>`: requests of a known session go to the child that started it.
        sticky: Option<Arc<Sticky>>,
    },
    /// An endpoint type mint does not implement yet: using it raises a fault.
    Unsupported(String),
    /// `key-expression`: the expression gives the key of a defined endpoint per message.
    Dynamic(Value),
    /// A key that named no endpoint and no registry resource at deploy time: using it raises a
    /// fault, as WSO2 does at run time (the watcher redeploys when the resource appears).
    Missing(String),
}

/// An endpoint's `format`, as Synapse's Axis2FlexibleMEPClient applies it before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SOAP 1.1 (`text/xml`), POST; a SOAP 1.2 envelope is converted, other content wrapped.
    Soap11,
    /// SOAP 1.2 (`application/soap+xml`), POST; likewise.
    Soap12,
    /// Plain XML (`application/xml`): the SOAP body's first element.
    Pox,
    /// GET, the payload's first element's children as query parameters.
    Get,
    /// REST: the message type is kept; `REST_URL_POSTFIX` is appended.
    Rest,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "soap11" => Format::Soap11,
            "soap12" => Format::Soap12,
            "pox" => Format::Pox,
            "get" => Format::Get,
            "rest" => Format::Rest,
            _ => return None,
        })
    }
}

/// A compiled endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub kind: EndpointKind,
    /// Endpoint `<timeout><duration>`; None = the global timeout.
    pub timeout: Option<Duration>,
    pub timeout_action: TimeoutAction,
    /// `format="soap11|soap12|pox|get|rest"`: how the message goes out.
    pub format: Option<Format>,
    /// `<property>` children, set on the message before sending.
    pub properties: Vec<(String, Value, Scope)>,
    /// Suspension policy (leaf endpoints).
    pub policy: Policy,
    /// Shared by every shard: ACTIVE / TIMEOUT / SUSPENDED.
    pub state: Arc<EndpointState>,
    /// Request counters (set by the deployer).
    pub stats: Option<Arc<ServiceStats>>,
}

impl Endpoint {
    /// The `endpoint` label of its metrics: the name, else `scheme://host:port/path` of an
    /// anonymous address. The label is public (the metrics port needs no credentials), so it never
    /// carries the query or fragment (API keys live there) nor userinfo (`Address` keeps none).
    pub fn metric_label(&self) -> String {
        if !self.name.is_empty() {
            return self.name.clone();
        }
        match &self.kind {
            EndpointKind::Address(a) => {
                let path = a.path_and_query.split(['?', '#']).next().unwrap_or("/");
                let host = if a.origin.host.contains(':') {
                    format!("[{}]", a.origin.host)
                } else {
                    a.origin.host.clone()
                };
                format!(
                    "{}://{host}:{}{path}",
                    if a.origin.https { "https" } else { "http" },
                    a.origin.port,
                )
            }
            _ => "anonymous".into(),
        }
    }

    /// Stands in for an endpoint that failed to compile (the deploy fails anyway).
    pub fn placeholder() -> Endpoint {
        Endpoint {
            name: String::new(),
            kind: EndpointKind::Unsupported("invalid".into()),
            timeout: None,
            timeout_action: TimeoutAction::None,
            format: None,
            properties: Vec::new(),
            policy: Policy::default(),
            state: Arc::default(),
            stats: None,
        }
    }

    /// Whether this endpoint has a suspension state of its own: leaves with an address do;
    /// groups, `key-expression`, `default` and unusable endpoints do not (their children or
    /// targets do, or there is nothing to suspend).
    pub fn tracks_state(&self) -> bool {
        !matches!(
            self.kind,
            EndpointKind::Failover { .. }
                | EndpointKind::Loadbalance { .. }
                | EndpointKind::Dynamic(_)
                | EndpointKind::Default
                | EndpointKind::Unsupported(_)
                | EndpointKind::Missing(_)
        )
    }

    /// The `loadbalance.weight` property (weighted round robin), default 1.
    pub fn weight(&self) -> u32 {
        self.properties
            .iter()
            .find(|(n, _, _)| n == "loadbalance.weight")
            .and_then(|(_, v, _)| match v {
                Value::Literal(s) => s.trim().parse().ok(),
                _ => None,
            })
            .unwrap_or(1)
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

/// Synapse's HTTP sticky sessions (`HttpSessionDispatcher`): the backend starts a session with
/// `Set-Cookie`; its first `name=value` pair is the session id, bound to the child that answered.
/// A later request whose `Cookie` header carries a bound pair goes to that child only (sticky mode
/// does not fail over, as in Synapse).
///
/// The table is shared by every shard — a client's next connection may land on another core —
/// so it is a concurrent moka cache: the one shared structure on the request path, and only for
/// endpoints that ask for sessions. Entries idle longer than `sessionTimeout` (default 30 min)
/// are dropped, and the table holds at most 100 000 sessions.
#[derive(Debug)]
pub struct Sticky {
    table: moka::sync::Cache<String, usize>,
}

impl Sticky {
    pub fn new(timeout_ms: Option<u64>) -> Sticky {
        let idle = Duration::from_millis(timeout_ms.filter(|&t| t > 0).unwrap_or(30 * 60 * 1000));
        Sticky {
            table: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(idle)
                .build(),
        }
    }

    /// The child bound to a session id in the request's `Cookie` headers.
    pub fn lookup(&self, headers: &http::HeaderMap) -> Option<usize> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| self.table.get(pair.trim()))
    }

    /// Binds the session a response starts (`Set-Cookie`) to `child`.
    pub fn learn(&self, headers: &http::HeaderMap, child: usize) {
        for v in headers.get_all(http::header::SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or("").trim();
            if pair.contains('=') && !self.table.contains_key(pair) {
                self.table.insert(pair.to_string(), child);
            }
        }
    }
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
            (443, "/", "example.org")
        );
        assert!(Address::parse("jms:/queue").is_err());
        assert!(Address::parse("/relative").is_err());
    }

    #[test]
    fn metric_label_hides_query_and_userinfo() {
        let label = |uri: &str| {
            let mut e = Endpoint::placeholder();
            e.kind = EndpointKind::Address(Address::parse(uri).unwrap());
            e.metric_label()
        };
        assert_eq!(
            label("https://user:s3cret@api.example.org/v1/quote?apikey=K123&x=1"),
            "https://api.example.org:443/v1/quote"
        );
        assert_eq!(label("http://[::1]:8080/a?token=t"), "http://[::1]:8080/a");
        assert_eq!(label("http://h"), "http://h:80/");
        let mut named = Endpoint::placeholder();
        named.name = "QuoteEP".into();
        assert_eq!(named.metric_label(), "QuoteEP");
    }
}
