//! The compiled program: what the compiler produces from the artifacts and every shard's
//! engine runs, immutable once built. It depends on the compiled mediators ([`crate::mediators`],
//! whose values and ids are [`crate::message`]'s), the library tier and telemetry's counters;
//! never on the artifact model, the compiler, the engine or the server.
//!
//! References are resolved to indices ([`SeqId`], [`EpId`]) into [`Program::sequences`] and
//! [`Program::endpoints`].

pub mod endpoint;
pub mod scheduled;
pub mod suspension;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use http::Method;

pub use self::endpoint::Endpoint;
pub use crate::mediators::Mediator;
pub use crate::message::{EpId, SeqId};
use crate::telemetry::metrics::{Kind, Metrics, ServiceStats};
use crate::uri_template::{UriTemplate, UrlMapping};
use crate::xml::element::Element;

/// A local entry (`<localEntry key="…">`), as expressions and mediators read it.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalEntry {
    /// Text content.
    Text(String),
    /// One inline XML element.
    Xml(Element),
    /// `src="url"`.
    Src(String),
}

/// A compiled sequence.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub name: String,
    pub mediators: Vec<Mediator>,
    /// `onError`: the fault handler for failures inside this sequence.
    pub on_error: Option<SeqId>,
}

/// A compiled proxy service.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub name: String,
    pub http: bool,
    pub https: bool,
    pub in_seq: Option<SeqId>,
    pub out_seq: Option<SeqId>,
    pub fault_seq: Option<SeqId>,
    pub endpoint: Option<EpId>,
    /// The WSDL served at `?wsdl`, when `publishWSDL` names a local entry or inline definitions.
    pub wsdl: Option<String>,
    /// Request counters (set by [`Program::attach_stats`]).
    pub stats: Option<Arc<ServiceStats>>,
}

#[derive(Debug, Clone)]
pub enum Matcher {
    Template(UriTemplate),
    Mapping(UrlMapping),
    Default,
}

#[derive(Debug, Clone)]
pub struct Resource {
    /// Empty = every method.
    pub methods: Vec<Method>,
    pub matcher: Matcher,
    pub protocol: Option<String>,
    pub content_type: Option<String>,
    pub in_seq: Option<SeqId>,
    pub out_seq: Option<SeqId>,
    pub fault_seq: Option<SeqId>,
}

#[derive(Debug, Clone)]
pub struct Api {
    pub name: String,
    pub context: String,
    pub version: Option<String>,
    pub url_versioned: bool,
    pub hostname: Option<String>,
    pub port: Option<u16>,
    pub resources: Vec<Resource>,
    /// MI's `RESTBasicAuthHandler` guards the API: every request is authenticated against the
    /// user store first.
    pub basic_auth: bool,
    /// The CORS handler is listed before the basic-auth handler.
    pub cors_first: bool,
    /// MI 4.5's per-API CORS handler; the global CORS settings apply when `None`.
    pub cors: Option<crate::config::security::ApiCors>,
    /// Request counters (set by [`Program::attach_stats`]).
    pub stats: Option<Arc<ServiceStats>>,
}

/// Everything a shard needs to serve, immutable after deployment.
#[derive(Debug, Clone)]
pub struct Program {
    pub proxies: HashMap<String, Proxy>,
    /// Sorted by context length, longest first (Synapse's API table order).
    pub apis: Vec<Api>,
    pub sequences: Vec<Sequence>,
    pub endpoints: Vec<Endpoint>,
    pub named_sequences: HashMap<String, SeqId>,
    pub named_endpoints: HashMap<String, EpId>,
    pub local_entries: HashMap<String, LocalEntry>,
    pub main: SeqId,
    pub fault: SeqId,
    /// A mediator resumes split parts after itself (iterate, clone): the engine then keeps each
    /// flow's position in the message (its continuation frames). Without one, it keeps none.
    pub continuations: bool,
    /// `_resource_mismatch_handler_` / `_method_not_allowed_handler_` when defined.
    pub resource_mismatch: Option<SeqId>,
    pub method_not_allowed: Option<SeqId>,
    /// `<messageStore>`s by name (started by the deployer, see [`crate::stores`]).
    pub stores: Vec<crate::stores::StoreDef>,
    /// `<messageProcessor>`s.
    pub processors: Vec<scheduled::Processor>,
    /// `<task>`s.
    pub tasks: Vec<scheduled::Task>,
    /// Registry files this configuration was compiled from (sequences and endpoints by key),
    /// present or not: the hot-deployment watcher recompiles when one changes or appears.
    pub registry_deps: Vec<PathBuf>,
}

impl Program {
    /// Wires every proxy, API and endpoint to its counters, and tells `metrics` what is deployed.
    pub fn attach_stats(&mut self, metrics: &Metrics) {
        let mut deployed = Vec::new();
        for p in self.proxies.values_mut() {
            p.stats = Some(metrics.service(Kind::Proxy, &p.name, ""));
            deployed.push((Kind::Proxy, p.name.clone()));
        }
        for a in &mut self.apis {
            a.stats = Some(metrics.service(Kind::Api, &a.name, &a.context));
            deployed.push((Kind::Api, a.name.clone()));
        }
        for e in &mut self.endpoints {
            let label = e.metric_label();
            e.stats = Some(metrics.service(Kind::Endpoint, &label, ""));
        }
        metrics.set_deployed(deployed);
    }
}

/// Sequences by id.
impl std::ops::Index<SeqId> for Vec<Sequence> {
    type Output = Sequence;
    fn index(&self, id: SeqId) -> &Sequence {
        &self[id.index()]
    }
}

/// Endpoints by id.
impl std::ops::Index<EpId> for Vec<Endpoint> {
    type Output = Endpoint;
    fn index(&self, id: EpId) -> &Endpoint {
        &self[id.index()]
    }
}
