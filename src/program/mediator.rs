//! Compiled mediators: what the deployer builds from the model and the engine runs per message.
//! References are resolved to indices ([`SeqId`], [`EpId`]) at deploy time.

use http::HeaderName;

use crate::diag::Origin;

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

/// Index of a sequence in [`crate::program::Program::sequences`].
pub type SeqId = usize;
/// Index of an endpoint in [`crate::program::Program::endpoints`].
pub type EpId = usize;

/// A compiled XPath, with its streaming form when it is a simple location path that can be
/// answered by scanning the body bytes without building a tree.
#[derive(Debug, Clone)]
pub struct Expr {
    pub xpath: crate::xpath::XPath,
    pub stream: Option<crate::xml::StreamPath>,
    /// `string(...)` around the path: the first match's string-value is the result.
    pub stream_string: bool,
}

impl std::ops::Deref for Expr {
    type Target = crate::xpath::XPath;
    fn deref(&self) -> &crate::xpath::XPath {
        &self.xpath
    }
}

impl Expr {
    pub fn new(xpath: crate::xpath::XPath) -> Expr {
        use crate::xml::{StreamAxis, StreamPath, StreamStep, StreamTarget};
        use crate::xpath::{Anchor, SimpleTail};
        let mut stream = None;
        let mut stream_string = false;
        if let Some(sp) = xpath.stream_path() {
            let mut steps = Vec::with_capacity(sp.steps.len() + 1);
            let anchored = match sp.anchor {
                Anchor::Root => true,
                // Synapse evaluates relative paths against the envelope (root) element.
                Anchor::Context => {
                    steps.push(StreamStep {
                        axis: StreamAxis::Child,
                        ns: None,
                        local: None,
                        position: None,
                    });
                    true
                }
                Anchor::Body | Anchor::Header => false,
            };
            if anchored {
                steps.extend(sp.steps.iter().map(|s| StreamStep {
                    axis: if s.descendant {
                        StreamAxis::Descendant
                    } else {
                        StreamAxis::Child
                    },
                    ns: s.ns.clone(),
                    local: s.local.clone(),
                    position: s.position,
                }));
                let target = match &sp.tail {
                    SimpleTail::Element => StreamTarget::Element,
                    SimpleTail::Text => StreamTarget::Text,
                    SimpleTail::Attribute { ns, local } => StreamTarget::Attribute {
                        ns: ns.clone(),
                        local: local.clone(),
                    },
                };
                stream = StreamPath::new(steps, target);
                stream_string = sp.string;
            }
        }
        Expr {
            xpath,
            stream,
            stream_string,
        }
    }
}

/// A value a mediator uses: fixed at deploy time, or computed per message.
#[derive(Debug, Clone)]
pub enum ValueRt {
    Literal(String),
    /// Inline XML, serialized.
    Xml(String),
    /// A property read, from the expressions mint already understands without XPath:
    /// `get-property('name')`, `get-property('scope', 'name')`, `$ctx:name`, `$trp:name`,
    /// `$axis2:name`.
    Property {
        scope: Scope,
        name: String,
    },
    /// `get-property('registry', 'key')` / `'key@property'`: a registry resource's content, or
    /// one of its properties; empty when missing (as WSO2 answers).
    Registry {
        key: String,
        property: Option<String>,
    },
    /// A compiled XPath 1.0 expression (with Synapse's functions and variables).
    XPath(std::sync::Arc<Expr>),
    /// `json-eval(<JSONPath>)` (or an `evaluator="json"` argument): Jayway JSONPath over the JSON
    /// body (an XML body is converted to JSON first, as WSO2 does).
    JsonPath(std::sync::Arc<crate::json::JsonPath>),
    /// An expression mint cannot evaluate yet (XPath and JSONPath arrive with the XPath issue);
    /// evaluating it raises a mediation fault naming the expression.
    Unsupported(String),
}

impl ValueRt {
    /// Compiles an expression: the property-read forms are recognised, the rest is unsupported.
    pub fn expression(text: &str) -> ValueRt {
        let t = text.trim();
        let simple = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-:".contains(&b))
        };
        for (prefix, scope) in [
            ("$ctx:", Scope::Default),
            ("$trp:", Scope::Transport),
            ("$axis2:", Scope::Axis2),
        ] {
            if let Some(name) = t.strip_prefix(prefix) {
                if simple(name) {
                    return ValueRt::Property {
                        scope,
                        name: name.to_string(),
                    };
                }
            }
        }
        if let Some(args) = t
            .strip_prefix("get-property(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let parts: Vec<&str> = args.split(',').map(str::trim).collect();
            let unquote = |s: &str| {
                s.strip_prefix('\'')
                    .and_then(|r| r.strip_suffix('\''))
                    .or_else(|| s.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
                    .map(str::to_string)
            };
            match parts.as_slice() {
                [name] => {
                    if let Some(name) = unquote(name) {
                        return ValueRt::Property {
                            scope: Scope::Default,
                            name,
                        };
                    }
                }
                [scope, name] => {
                    if let (Some(scope), Some(name)) = (unquote(scope), unquote(name)) {
                        if scope.eq_ignore_ascii_case("registry") {
                            let (key, property) = match name.split_once('@') {
                                Some((k, p)) => (k.to_string(), Some(p.to_string())),
                                None => (name, None),
                            };
                            return ValueRt::Registry { key, property };
                        }
                        let sc = Scope::parse(&scope.to_ascii_lowercase());
                        if matches!(sc, Scope::Default | Scope::Transport | Scope::Axis2) {
                            return ValueRt::Property { scope: sc, name };
                        }
                    }
                }
                _ => {}
            }
        }
        ValueRt::Unsupported(text.to_string())
    }
}

/// Property value types (`type="…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropType {
    String,
    Integer,
    Long,
    Short,
    Float,
    Double,
    Boolean,
    Om,
    Json,
}

impl PropType {
    pub fn parse(s: &str) -> Option<PropType> {
        Some(match s {
            "STRING" => PropType::String,
            "INTEGER" => PropType::Integer,
            "LONG" => PropType::Long,
            "SHORT" => PropType::Short,
            "FLOAT" => PropType::Float,
            "DOUBLE" => PropType::Double,
            "BOOLEAN" => PropType::Boolean,
            "OM" => PropType::Om,
            "JSON" => PropType::Json,
            _ => return None,
        })
    }

    /// Converts text to this type's canonical text form, as Java's `valueOf` + `toString` would.
    pub fn convert(self, text: &str) -> Result<String, String> {
        let t = text.trim();
        let bad = |ty: &str| format!("'{text}' is not a valid {ty}");
        Ok(match self {
            PropType::String | PropType::Om | PropType::Json => text.to_string(),
            PropType::Integer => t.parse::<i32>().map_err(|_| bad("INTEGER"))?.to_string(),
            PropType::Long => t.parse::<i64>().map_err(|_| bad("LONG"))?.to_string(),
            PropType::Short => t.parse::<i16>().map_err(|_| bad("SHORT"))?.to_string(),
            PropType::Float => {
                java_double_text(t.parse::<f32>().map_err(|_| bad("FLOAT"))? as f64, true)
            }
            PropType::Double => {
                java_double_text(t.parse::<f64>().map_err(|_| bad("DOUBLE"))?, false)
            }
            // Java's Boolean.valueOf: "true" (any case) is true, everything else false.
            PropType::Boolean => t.eq_ignore_ascii_case("true").to_string(),
        })
    }
}

/// Java's `Double.toString`/`Float.toString` for ordinary magnitudes: always a decimal point.
fn java_double_text(v: f64, float: bool) -> String {
    let s = if float {
        format!("{}", v as f32)
    } else {
        format!("{v}")
    };
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

#[derive(Debug, Clone)]
pub struct LogProp {
    pub name: String,
    pub value: ValueRt,
}

/// Where a property lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Default,
    Transport,
    Axis2,
    /// Accepted and stored with the default scope (operation, axis2-client, trace, analytics).
    OtherLocal,
    /// `registry`: writes go to the registry (`key` = content, `key@prop` = a property).
    Registry,
    /// `system`, `env`: not supported yet.
    Unsupported,
}

impl Scope {
    pub fn parse(s: &str) -> Scope {
        match s {
            "default" => Scope::Default,
            "transport" => Scope::Transport,
            "axis2" => Scope::Axis2,
            "axis2-client" | "operation" | "trace" | "analytics" => Scope::OtherLocal,
            "registry" => Scope::Registry,
            _ => Scope::Unsupported,
        }
    }
}

/// A filter condition.
#[derive(Debug, Clone)]
pub enum Cond {
    /// `xpath="…"`: XPath `boolean()`.
    XPath(std::sync::Arc<Expr>),
    /// `source="…" regex="…"`: the source's string value matches the whole regex (Java's
    /// `Matcher.matches`).
    Regex {
        source: ValueRt,
        regex: regex::Regex,
    },
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
    pub value: ValueRt,
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
    pub reason: Option<ValueRt>,
    pub node: Option<String>,
    pub role: Option<String>,
    pub detail: Option<ValueRt>,
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
    Expr(ValueRt),
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
        value: ValueRt,
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
        value: Option<ValueRt>,
    },
    Filter {
        cond: Cond,
        then: Vec<Med>,
        otherwise: Vec<Med>,
    },
    Switch {
        source: ValueRt,
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
