//! The Synapse artifact model: what the parser produces from one artifact file and what the deployer
//! compiles. Plain data, `Send + Clone`, no behaviour. Every node that can be wrong carries its `Pos`
//! so that the deployer can report `file:line:col` for reference errors too.

pub use crate::diag::{Diagnostic, Origin, Pos};
pub use crate::xml::element::{Attr, Element, Node};

/// Everything deployable from one home, before references are checked.
#[derive(Debug, Clone, Default)]
pub struct Artifacts {
    pub proxies: Vec<Proxy>,
    pub apis: Vec<Api>,
    pub sequences: Vec<Sequence>,
    pub endpoints: Vec<Endpoint>,
    pub local_entries: Vec<LocalEntry>,
    /// `<template>`s that define an endpoint.
    pub endpoint_templates: Vec<EndpointTemplate>,
    /// `<template>`s that define a sequence: their parameters (the sequence itself is in
    /// `sequences`, named [`template_sequence_name`] of the template).
    pub sequence_templates: Vec<SequenceTemplate>,
    /// `<messageStore>`s.
    pub stores: Vec<MessageStore>,
    /// `<messageProcessor>`s.
    pub processors: Vec<MessageProcessor>,
    /// `<task>`s.
    pub tasks: Vec<Task>,
    /// Files that parsed but whose artifact kind mint does not deploy yet (templates, tasks, …).
    pub unsupported: Vec<(Origin, String)>,
    /// Inline sequences of artifacts left out for their errors: compiled only so that the
    /// problems of their mediators are reported too.
    pub orphans: Vec<Sequence>,
}

// ------------------------------------------------------------------------------------------------
// Top-level artifacts
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Proxy {
    pub name: String,
    pub origin: Origin,
    /// `transports="http https"`; default both.
    pub transports: Vec<String>,
    pub start_on_load: bool,
    pub target: Target,
    /// `<publishWSDL key|uri|inline>`: the local entry / registry key, URI, or inline definitions.
    pub publish_wsdl: Option<PublishWsdl>,
    /// `<parameter name="...">value</parameter>` children.
    pub parameters: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Target {
    pub in_sequence: Option<SeqRef>,
    pub out_sequence: Option<SeqRef>,
    pub fault_sequence: Option<SeqRef>,
    pub endpoint: Option<EndpointRef>,
}

#[derive(Debug, Clone)]
pub enum PublishWsdl {
    Key(String),
    Uri(String),
    Inline(Element),
}

#[derive(Debug, Clone)]
pub struct Api {
    pub name: String,
    pub origin: Origin,
    /// Always starts with `/`; `{version}` already replaced for `version-type="context"`.
    pub context: String,
    pub version: Option<String>,
    pub version_type: VersionType,
    pub hostname: Option<String>,
    pub port: Option<u16>,
    pub resources: Vec<Resource>,
    /// MI's basic-auth handler (`RESTBasicAuthHandler`) guards the API.
    pub basic_auth: bool,
    /// The CORS handler comes before the basic-auth handler (it answers preflights unauthenticated).
    pub cors_first: bool,
    /// MI 4.5's per-API CORS handler, when the API has it.
    pub cors: Option<crate::config::security::ApiCors>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionType {
    #[default]
    None,
    Context,
    Url,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub origin: Origin,
    /// Upper-case methods; empty = every method.
    pub methods: Vec<String>,
    pub matcher: ResourceMatcher,
    /// `protocol="http|https"`; None = both.
    pub protocol: Option<String>,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    pub in_sequence: Option<SeqRef>,
    pub out_sequence: Option<SeqRef>,
    pub fault_sequence: Option<SeqRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceMatcher {
    UriTemplate(String),
    UrlMapping(String),
    Default,
}

/// A sequence: a named artifact, or the body of an inline in/out/fault sequence (name None).
#[derive(Debug, Clone, Default)]
pub struct Sequence {
    pub name: Option<String>,
    pub origin: Origin,
    /// `onError="seqKey"`: the fault sequence for errors raised inside this sequence.
    pub on_error: Option<String>,
    /// The sequence's element: its child elements are the mediators, which `mediators/` reads
    /// and compiles (each mediator is one module there, parsing included).
    pub element: Element,
}

/// `<template name="T"><parameter name="p" [defaultValue] [isMandatory]/>…<sequence>…</sequence>`.
#[derive(Debug, Clone)]
pub struct SequenceTemplate {
    pub name: String,
    pub origin: Origin,
    pub params: Vec<TemplateParam>,
}

#[derive(Debug, Clone)]
pub struct TemplateParam {
    pub name: String,
    pub default: Option<String>,
    pub mandatory: bool,
}

/// The name a sequence template's sequence is deployed under (not a name an artifact can have:
/// Synapse names cannot contain `#`).
pub fn template_sequence_name(template: &str) -> String {
    format!("#template#{template}")
}

/// A sequence given inline or by key (`inSequence="key"` attribute or `<sequence key="..."/>`).
#[derive(Debug, Clone)]
pub enum SeqRef {
    Inline(Sequence),
    Key { key: String, origin: Origin },
}

#[derive(Debug, Clone)]
pub struct LocalEntry {
    pub key: String,
    pub origin: Origin,
    pub value: LocalEntryValue,
}

#[derive(Debug, Clone)]
pub enum LocalEntryValue {
    /// Text content (trimmed of surrounding whitespace only when it holds no element).
    Text(String),
    /// The single inline XML element.
    Xml(Element),
    /// `src="url"`.
    Src(String),
}

// ------------------------------------------------------------------------------------------------
// Values
// ------------------------------------------------------------------------------------------------

/// A value given as a literal, an expression (XPath / `json-eval(...)`, compiled by the deployer
/// with the namespaces in scope), or inline XML.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSpec {
    Literal(String),
    Expression {
        text: String,
        /// Namespace declarations in scope where the expression was written.
        namespaces: Vec<(String, String)>,
    },
    Inline(Element),
}

// ------------------------------------------------------------------------------------------------
// Endpoints
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum EndpointRef {
    Key { key: String, origin: Origin },
    Inline(Box<Endpoint>),
}

/// `<template name="T"><parameter name="p"/>…<endpoint name="$name">…</endpoint></template>`.
#[derive(Debug, Clone)]
pub struct EndpointTemplate {
    pub name: String,
    pub params: Vec<String>,
    /// The `<endpoint>` element, instantiated by text substitution (as Synapse does).
    pub endpoint: Element,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Set for named endpoint artifacts; optional for inline ones.
    pub name: Option<String>,
    pub origin: Origin,
    pub kind: EndpointKind,
    /// `<property name value scope/>` children, applied before sending.
    pub properties: Vec<EndpointProperty>,
}

#[derive(Debug, Clone)]
pub struct EndpointProperty {
    pub name: String,
    pub value: ValueSpec,
    /// Lower-cased as written; `default` when absent.
    pub scope: String,
    /// Where the scope is written (the `scope` attribute, else the element).
    pub scope_origin: Origin,
}

#[derive(Debug, Clone)]
pub enum EndpointKind {
    Address {
        uri: String,
        /// `format="soap11|soap12|pox|get|rest|json"`.
        format: Option<String>,
        qos: Qos,
    },
    Http {
        uri_template: String,
        /// Upper-cased `method`, None = the incoming method.
        method: Option<String>,
        qos: Qos,
    },
    Default {
        format: Option<String>,
        qos: Qos,
    },
    /// `<failover [dynamic]>`: the first child ready to send; on a transport error the next.
    Failover {
        children: Vec<EndpointRef>,
        /// `dynamic="true"` (default): go back to the first child once it recovers.
        dynamic: bool,
    },
    /// `<loadbalance [algorithm] [failover]>`: round robin over the children ready to send.
    Loadbalance {
        children: Vec<EndpointRef>,
        /// `failover="true"` (default): on a transport error try the next child.
        failover: bool,
        /// The algorithm class as written (`…RoundRobin` is the default; `…WeightedRoundRobin`
        /// reads each child's `loadbalance.weight` property).
        algorithm: Option<String>,
        /// `<session type="…"/>` (sticky sessions).
        session: Option<String>,
        /// `<session><sessionTimeout>ms</sessionTimeout></session>`.
        session_timeout_ms: Option<u64>,
    },
    /// `<endpoint template="T" uri="…"><parameter name value/></endpoint>`: an instance of an
    /// endpoint template, with `$name`, `$uri` and each `$param` substituted.
    Template {
        template: String,
        uri: Option<String>,
        params: Vec<(String, String)>,
    },
    /// `<endpoint key-expression="xpath"/>`: the key is computed per message.
    Dynamic(ValueSpec),
    /// wsdl, recipientlist, … : parsed by a later issue.
    Unsupported(Element),
}

/// Quality-of-service settings shared by leaf endpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Qos {
    pub timeout: Option<Timeout>,
    pub suspend_on_failure: Option<SuspendOnFailure>,
    pub mark_for_suspension: Option<MarkForSuspension>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timeout {
    /// Milliseconds; None when only `responseAction` was given.
    pub duration_ms: Option<u64>,
    pub action: TimeoutAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutAction {
    Fault,
    Discard,
    None,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuspendOnFailure {
    pub error_codes: Vec<i64>,
    pub initial_duration_ms: Option<i64>,
    pub progression_factor: Option<f64>,
    pub maximum_duration_ms: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MarkForSuspension {
    pub error_codes: Vec<i64>,
    pub retries_before_suspension: Option<u32>,
    pub retry_delay_ms: Option<u64>,
}

// ------------------------------------------------------------------------------------------------
// Message stores, message processors and scheduled tasks
// ------------------------------------------------------------------------------------------------

/// A `<parameter name="…">value</parameter>` of a store or processor, where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub value: String,
    pub pos: Pos,
}

/// `<messageStore name class><parameter name>…</parameter>*</messageStore>`.
#[derive(Debug, Clone)]
pub struct MessageStore {
    pub name: String,
    pub origin: Origin,
    /// The Java class naming the kind of store (in-memory, JDBC, RabbitMQ, JMS, …).
    pub class: String,
    pub params: Vec<Param>,
}

/// `<messageProcessor name class messageStore [targetEndpoint]><parameter name>…</parameter>*`.
#[derive(Debug, Clone)]
pub struct MessageProcessor {
    pub name: String,
    pub origin: Origin,
    pub class: String,
    pub store: String,
    pub target_endpoint: Option<(String, Pos)>,
    pub params: Vec<Param>,
}

/// `<task name class [group]><trigger …/><property name value|inline/>*</task>`.
#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub origin: Origin,
    pub class: String,
    pub trigger: Trigger,
    pub properties: Vec<TaskProperty>,
}

/// When a task runs (`<trigger>`).
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// `interval` seconds apart, `count` times (None: without end).
    Interval { seconds: u64, count: Option<u64> },
    /// A Quartz cron expression.
    Cron(String),
    /// Once, at deployment.
    Once,
}

/// A task's `<property name value/>` or `<property name><inline xml/></property>`.
#[derive(Debug, Clone)]
pub struct TaskProperty {
    pub name: String,
    pub pos: Pos,
    pub value: TaskValue,
}

#[derive(Debug, Clone)]
pub enum TaskValue {
    Text(String),
    Xml(Element),
}
