//! Compiled mediators: what the deployer builds from the model and the engine runs per message.
//! References are resolved to indices ([`SeqId`], [`EpId`]) at deploy time.

use http::HeaderName;

use crate::diag::Origin;
pub use crate::message::value::{EpId, Expr, PropType, Scope, SeqId, Value};

/// What a `log` mediator writes besides its properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// To, From, WSAction, SOAPAction, ReplyTo, MessageID, Direction.
    Simple,
    /// Simple plus the transport headers.
    Headers,
    /// Headers plus the envelope.
    Full,
    /// Only the properties.
    Custom,
}

/// The log level a `log` mediator writes at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogCategory {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

#[derive(Debug, Clone)]
pub struct LogProp {
    pub name: String,
    pub value: Value,
}

/// A filter condition.
#[derive(Debug, Clone)]
pub enum Cond {
    /// `xpath="…"`: XPath `boolean()`.
    XPath(std::sync::Arc<Expr>),
    /// `source="…" regex="…"`: the source's string value matches the whole regex (Java's
    /// `Matcher.matches`).
    Regex { source: Value, regex: regex::Regex },
}

/// `payloadFactory media-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Xml,
    Json,
    Text,
}

/// One `<arg>` of payloadFactory.
#[derive(Debug, Clone)]
pub struct PfArg {
    pub value: Value,
    /// `literal="true"`: XML-looking values are inserted as text, not as XML.
    pub literal: bool,
}

#[derive(Debug, Clone)]
pub struct PayloadFactory {
    pub media: Media,
    /// The inline format, or a registry / local-entry key.
    pub format: Format,
    pub args: Vec<PfArg>,
}

#[derive(Debug, Clone)]
pub enum Format {
    Inline(String),
    Key(String),
}

/// Where enrich takes its value from.
#[derive(Debug, Clone)]
pub enum EnrichSource {
    Custom(std::sync::Arc<Expr>),
    Envelope,
    Body,
    Property(String),
    /// Inline XML or text (from the element, or a local entry / registry key at deploy time).
    Inline(String),
    InlineKey(String),
}

/// Where enrich puts it.
#[derive(Debug, Clone)]
pub enum EnrichTarget {
    Custom(std::sync::Arc<Expr>),
    Envelope,
    Body,
    Property(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrichAction {
    Replace,
    Child,
    Sibling,
}

#[derive(Debug, Clone)]
pub struct Enrich {
    pub source: EnrichSource,
    pub clone: bool,
    pub target: EnrichTarget,
    pub action: EnrichAction,
}

/// `makefault`.
#[derive(Debug, Clone)]
pub struct MakeFault {
    /// `soap11`, `soap12` or `pox`; None = the message's own version.
    pub version: Option<String>,
    /// Fault code: `(namespace uri, prefix, local)` from a QName value, or an expression.
    pub code: Option<FaultCode>,
    pub reason: Option<Value>,
    pub node: Option<String>,
    pub role: Option<String>,
    pub detail: Option<Value>,
    /// `response="true"`: the fault becomes a response (sent back by a following `send`).
    pub response: bool,
}

#[derive(Debug, Clone)]
pub enum FaultCode {
    QName {
        ns: String,
        prefix: String,
        local: String,
    },
    Expr(Value),
}

#[derive(Debug, Clone)]
pub enum HeaderTarget {
    /// An HTTP header (`scope="transport"`).
    Transport(HeaderName),
    /// WS-Addressing `To`: the address endpoint-less `send` uses.
    To,
    /// WS-Addressing `Action`: becomes the outgoing SOAPAction.
    Action,
    /// A SOAP header block `{ns}local` (written with `prefix`).
    Soap {
        ns: String,
        prefix: String,
        local: String,
    },
}

#[derive(Debug, Clone)]
pub enum Med {
    Log {
        level: LogLevel,
        category: LogCategory,
        separator: String,
        props: Vec<LogProp>,
    },
    SetProperty {
        name: String,
        scope: Scope,
        value: Value,
        ty: PropType,
    },
    RemoveProperty {
        name: String,
        scope: Scope,
    },
    Group(Vec<Med>),
    Send {
        endpoint: Option<EpId>,
        receive: Option<SeqId>,
    },
    Call {
        endpoint: Option<EpId>,
    },
    Respond,
    Drop,
    Loopback,
    Sequence(SeqId),
    Header {
        target: HeaderTarget,
        /// None = remove.
        value: Option<Value>,
    },
    Filter {
        cond: Cond,
        then: Vec<Med>,
        otherwise: Vec<Med>,
    },
    Switch {
        source: Value,
        cases: Vec<(regex::Regex, Vec<Med>)>,
        default: Vec<Med>,
    },
    PayloadFactory(Box<PayloadFactory>),
    Enrich(Box<Enrich>),
    MakeFault(Box<MakeFault>),
    /// Raises a fault with this message (a sequence key that resolved to nothing, as WSO2
    /// reports at run time).
    Raise(String),
    /// A mediator mint does not implement yet: raises a fault naming it.
    Unsupported {
        name: String,
        origin: Origin,
    },
}
