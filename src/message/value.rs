//! What mediators read from a message, compiled: values (literals, property reads, XPath,
//! JSONPath), property types and the ids of sequences and endpoints.

use crate::xpath::MessageField;
pub use crate::xpath::Scope;

/// Defines a `u32` id of one kind of program item (kept apart by type: a sequence's id cannot index
/// the endpoints).
macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            /// The id of the item at `index` (programs hold far fewer than 2^32 items).
            pub fn new(index: usize) -> Self {
                $name(u32::try_from(index).unwrap_or(u32::MAX))
            }

            /// The item's index in its table.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id!(
    /// A sequence: its index in the program's sequences.
    SeqId
);
id!(
    /// An endpoint: its index in the program's endpoints.
    EpId
);

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
pub enum Value {
    Literal(String),
    /// Inline XML, serialized.
    Xml(String),
    /// `get-property('name')` (or with the `default` scope) of a message field (`To`,
    /// `Action`, `MESSAGE_FORMAT`, `FAULT`, …), which Synapse answers before any property.
    Field(MessageField),
    /// `get-property('name')` of any other name: the property, else the local entry of that
    /// name (as Synapse falls back to `getEntry`).
    GetProperty(String),
    /// A property as it is set, nothing else: `$ctx:name`, `$trp:name`, `$axis2:name`,
    /// `get-property('transport' | 'axis2', 'name')`.
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
    /// A Synapse expression (`${…}`, MI 4.4).
    Synapse(std::sync::Arc<SynapseExpr>),
    /// An expression mint cannot evaluate yet (XPath and JSONPath arrive with the XPath issue);
    /// evaluating it raises a mediation fault naming the expression.
    Unsupported(String),
}

/// A compiled Synapse expression with its `xpath()` calls ready for the message's XPath engine.
#[derive(Debug)]
pub struct SynapseExpr {
    pub expr: crate::synexpr::Expression,
    /// Its `xpath()` calls, each with the variable it reads (None: the message).
    pub xpaths: Vec<(std::sync::Arc<Expr>, Option<String>)>,
}

impl SynapseExpr {
    pub fn new(expr: crate::synexpr::Expression) -> SynapseExpr {
        let xpaths = expr
            .xpaths()
            .iter()
            .map(|x| {
                (
                    std::sync::Arc::new(Expr::new(x.xpath.clone())),
                    x.variable.clone(),
                )
            })
            .collect();
        SynapseExpr { expr, xpaths }
    }
}

impl Value {
    /// `get-property(scope, name)` as a value read without XPath, when it is one: a message
    /// field or a property (then a local entry) in the default scope, a transport or axis2
    /// property, a registry resource. None for what only XPath answers (`SYSTEM_DATE`,
    /// `SYSTEM_TIME`, other scopes).
    fn get_property(scope: &str, name: String) -> Option<Value> {
        if name.is_empty() || name == "SYSTEM_DATE" || name == "SYSTEM_TIME" {
            return None;
        }
        Some(match Scope::from_name(scope)? {
            Scope::Default => match MessageField::from_name(&name) {
                Some(field) => Value::Field(field),
                None => Value::GetProperty(name),
            },
            scope @ (Scope::Transport | Scope::Axis2) => Value::Property { scope, name },
            Scope::Registry => {
                let (key, property) = match name.split_once('@') {
                    Some((k, p)) => (k.to_string(), Some(p.to_string())),
                    None => (name, None),
                };
                Value::Registry { key, property }
            }
            _ => return None,
        })
    }

    /// Compiles an expression: the property-read forms are recognised, the rest is unsupported.
    pub fn expression(text: &str) -> Value {
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
                    return Value::Property {
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
            // The scope as the XPath function reads it (a first argument that is no scope name
            // makes a date format: left to XPath).
            let read = match parts.as_slice() {
                [name] => unquote(name).map(|n| ("default".to_string(), n)),
                [scope, name] => unquote(scope).zip(unquote(name)),
                _ => None,
            };
            if let Some(v) = read.and_then(|(scope, name)| Value::get_property(&scope, name)) {
                return v;
            }
        }
        Value::Unsupported(text.to_string())
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
