//! Synapse's XPath extensions: the `$prefix:name` variables, `get-property()`, and the
//! [`XPathContext`] trait through which the mediation engine answers them.
//!
//! Semantics follow WSO2 Synapse's `SynapseXPathVariableContext` and `GetPropertyFunction`:
//! names are resolved at compile time where the arguments are literals, so per-message work is
//! one trait call. This module owns no message state and must not: everything message-specific
//! comes through the trait.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use super::ast::Ty;
use super::dom::NodeId;

/// Where a property lives (the `scope` of `get-property(scope, name)` and of the variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Synapse message-context properties (`$ctx:`, `get-property('x')`). An engine should fall
    /// back to local entries when no property has the name, as Synapse does.
    Default,
    /// Axis2 message-context properties (`$axis2:`, `get-property('axis2', x)`).
    Axis2,
    /// Axis2 client options (`get-property('axis2-client', x)`).
    Axis2Client,
    /// Transport headers (`$trp:`, `get-property('transport', x)`); match names
    /// case-insensitively, as Synapse's header map does.
    Transport,
    /// Operation-context properties (`$operation:`).
    Operation,
    /// Registry resources: the name is the key as written, `path` or `path@property`
    /// (see [`split_registry_key`]); answer the resource text or the resource property.
    Registry,
    /// Java system properties in Synapse (`$sys:`, `get-property('system', x)`); a missing one
    /// reads as the empty string.
    System,
    /// Environment variables (`get-property('env', x)`).
    Env,
    /// Parameters of the innermost sequence-template call (`$func:`, `get-property('func', x)`).
    Func,
    /// `conf/file.properties` (`get-property('file', x)`).
    File,
    /// Configuration values (`$config:`, `${configs.x}`).
    Config,
    /// MI 4.4 variables (`$var:`).
    Variable,
}

impl Scope {
    /// The scope a `get-property()` scope argument names, if any.
    pub fn from_name(name: &str) -> Option<Scope> {
        Some(match name {
            "default" => Scope::Default,
            "axis2" => Scope::Axis2,
            "axis2-client" => Scope::Axis2Client,
            "transport" => Scope::Transport,
            "operation" => Scope::Operation,
            "registry" => Scope::Registry,
            "system" => Scope::System,
            "env" => Scope::Env,
            "func" => Scope::Func,
            "file" => Scope::File,
            _ => return None,
        })
    }
}

/// Message facts that `get-property()` answers itself in the default scope, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageField {
    /// `To`: the WS-Addressing To / request URL (also the source of `$url:` parameters).
    To,
    /// `From`.
    From,
    /// `Action` (WS-Addressing action / SOAPAction).
    Action,
    /// `FaultTo`.
    FaultTo,
    /// `ReplyTo`.
    ReplyTo,
    /// `RelatesTo`.
    RelatesTo,
    /// `MessageID`.
    MessageId,
    /// `FAULT`: `"true"` when the message is a SOAP fault, else `""`.
    Fault,
    /// `MESSAGE_FORMAT`: `pox`, `get`, `soap11` or `soap12`.
    MessageFormat,
    /// `OperationName`.
    OperationName,
    /// `OperationNamespace`.
    OperationNamespace,
}

impl MessageField {
    /// The field a default-scope property name refers to, if any.
    pub fn from_name(name: &str) -> Option<MessageField> {
        Some(match name {
            "To" => MessageField::To,
            "From" => MessageField::From,
            "Action" => MessageField::Action,
            "FaultTo" => MessageField::FaultTo,
            "ReplyTo" => MessageField::ReplyTo,
            "RelatesTo" => MessageField::RelatesTo,
            "MessageID" => MessageField::MessageId,
            "FAULT" => MessageField::Fault,
            "MESSAGE_FORMAT" => MessageField::MessageFormat,
            "OperationName" => MessageField::OperationName,
            "OperationNamespace" => MessageField::OperationNamespace,
            _ => return None,
        })
    }
}

/// A property value as the engine stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue<'a> {
    /// Text (the common case; `type="STRING"` and unconverted values).
    String(Cow<'a, str>),
    /// `type="INTEGER"|"LONG"|"SHORT"|"FLOAT"|"DOUBLE"`: XPath treats it as a number.
    Number(f64),
    /// `type="BOOLEAN"`: XPath treats it as a boolean (so `<filter xpath="$ctx:flag">` works).
    Boolean(bool),
    /// XML held by the property, as nodes **of the document being evaluated** (sorted in
    /// document order). An engine whose XML property lives in another tree should return its
    /// string value instead.
    Nodes(Vec<NodeId>),
}

/// The instant `SYSTEM_DATE` / `SYSTEM_TIME` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Milliseconds since the Unix epoch.
    pub epoch_millis: i64,
    /// Offset of the local time zone from UTC, in seconds (used by `SYSTEM_DATE` formats).
    pub utc_offset_secs: i32,
}

impl Clock {
    /// The current time, in UTC.
    pub fn now_utc() -> Clock {
        let epoch_millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Clock {
            epoch_millis,
            utc_offset_secs: 0,
        }
    }
}

/// What an expression may ask of the message being mediated. Implemented by the mediation
/// engine; [`NoContext`] answers nothing (handy for tests and constant expressions).
pub trait XPathContext {
    /// A property in `scope`, or `None` when it is not set (XPath then sees `""`).
    fn property(&self, scope: Scope, name: &str) -> Option<PropertyValue<'_>>;

    /// An entry of a map-valued default-scope property: `$prefix:key` for any prefix that is not
    /// one of Synapse's own (`ctx`, `axis2`, `trp`, `url`, `func`, `operation`, `sys`,
    /// `config`, `var`) reads `key` from the map stored under the property named `prefix`.
    fn map_entry(&self, _property: &str, _key: &str) -> Option<Cow<'_, str>> {
        None
    }

    /// A message fact answered by `get-property()` in the default scope.
    fn message_field(&self, _field: MessageField) -> Option<Cow<'_, str>> {
        None
    }

    /// The entry (local entry, else registry resource) `key` names, as text: what
    /// `get-property('key')` answers when no default-scope property has the name (Synapse's
    /// `getEntry`). Not consulted for `$ctx:key`, which reads the property only.
    fn entry(&self, _key: &str) -> Option<Cow<'_, str>> {
        None
    }

    /// A query parameter for `$url:name`. The default follows Synapse: the query string of the
    /// `To` address is split on `&`, names match case-insensitively, the first match wins, its
    /// value is %-decoded; a missing parameter reads as `""`.
    fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        let to = self.message_field(MessageField::To)?;
        query_param_from_url(&to, name).map(Cow::Owned)
    }

    /// `$env`: the SOAP envelope element.
    fn soap_envelope(&self) -> Option<NodeId> {
        None
    }

    /// `$body`: the SOAP body element (for a POX message, whatever element the engine treats
    /// as the body holder).
    fn soap_body(&self) -> Option<NodeId> {
        None
    }

    /// `$header`: the SOAP header element.
    fn soap_header(&self) -> Option<NodeId> {
        None
    }

    /// A secure-vault secret for `wso2:vault-lookup('alias')` (`None` reads as the alias itself,
    /// as WSO2's `SecretManager.getSecret` answers an unknown one).
    fn vault_lookup(&self, _alias: &str) -> Option<Cow<'_, str>> {
        None
    }

    /// The time `SYSTEM_DATE` and `SYSTEM_TIME` report (default: now, in UTC).
    fn clock(&self) -> Clock {
        Clock::now_utc()
    }
}

/// An [`XPathContext`] with no message: every property is unset, there is no envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContext;

impl XPathContext for NoContext {
    fn property(&self, _scope: Scope, _name: &str) -> Option<PropertyValue<'_>> {
        None
    }
}

/// Splits a registry key `path@property` into its parts (as Synapse does: exactly one `@`
/// names a resource property; otherwise the whole key is the path).
pub fn split_registry_key(key: &str) -> (&str, Option<&str>) {
    let mut parts = key.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(path), Some(prop), None) => (path, Some(prop)),
        _ => (key, None),
    }
}

/// Synapse's `$url:` lookup over a full URL (see [`XPathContext::query_param`]).
pub fn query_param_from_url(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    for param in query.split('&') {
        let mut kv = param.split('=');
        let key = kv.next().unwrap_or("");
        if key.eq_ignore_ascii_case(name) {
            return Some(super::codec::percent_decode_lenient(
                kv.next().unwrap_or(""),
                false,
            ));
        }
    }
    None
}

/// A `$...` variable, resolved at compile time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VarRef {
    Body,
    Header,
    Envelope,
    Scoped(Scope, String),
    Url(String),
    MapEntry { property: String, key: String },
}

impl VarRef {
    /// Resolves `$prefix:local` / `$local`; `None` for an unknown unprefixed variable.
    pub(crate) fn resolve(prefix: Option<&str>, local: &str) -> Option<VarRef> {
        let scoped = |s| Some(VarRef::Scoped(s, local.to_owned()));
        match prefix {
            None => match local {
                "body" => Some(VarRef::Body),
                "header" => Some(VarRef::Header),
                "env" => Some(VarRef::Envelope),
                _ => None,
            },
            Some("ctx") => scoped(Scope::Default),
            Some("axis2") => scoped(Scope::Axis2),
            Some("trp") => scoped(Scope::Transport),
            Some("func") => scoped(Scope::Func),
            Some("operation") => scoped(Scope::Operation),
            Some("sys") => scoped(Scope::System),
            Some("config") => scoped(Scope::Config),
            Some("var") => scoped(Scope::Variable),
            Some("url") => Some(VarRef::Url(local.to_owned())),
            Some(other) => Some(VarRef::MapEntry {
                property: other.to_owned(),
                key: local.to_owned(),
            }),
        }
    }

    pub(crate) fn ty(&self) -> Ty {
        match self {
            VarRef::Body | VarRef::Header | VarRef::Envelope => Ty::NodeSet,
            VarRef::Url(_) | VarRef::MapEntry { .. } => Ty::String,
            VarRef::Scoped(..) => Ty::Any,
        }
    }

    pub(crate) fn reads_content(&self) -> bool {
        matches!(self, VarRef::Body | VarRef::Header | VarRef::Envelope)
    }
}

/// What a `get-property()` call asks for, once its arguments are known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PropertyName {
    /// `SYSTEM_DATE` (any scope).
    SystemDate,
    /// `SYSTEM_TIME` (any scope).
    SystemTime,
    /// A default-scope message fact.
    Field(MessageField),
    /// A plain property lookup.
    Scoped(Scope, String),
    /// Empty name or unknown scope: Synapse answers `""`.
    Nothing,
}

impl PropertyName {
    /// Interprets `get-property` arguments the way `GetPropertyFunction.call` does. Returns the
    /// name and the date format (only meaningful for `SYSTEM_DATE`).
    pub(crate) fn from_args(args: &[String]) -> (PropertyName, Option<String>) {
        let (scope, key, format) = match args {
            [key] => ("default", key.as_str(), None),
            [first, second] if Scope::from_name(first).is_none() => {
                ("default", first.as_str(), Some(second.clone()))
            }
            [scope, key] => (scope.as_str(), key.as_str(), None),
            [scope, key, format, ..] => (scope.as_str(), key.as_str(), Some(format.clone())),
            [] => return (PropertyName::Nothing, None),
        };
        let name = if key.is_empty() {
            PropertyName::Nothing
        } else if key == "SYSTEM_DATE" {
            PropertyName::SystemDate
        } else if key == "SYSTEM_TIME" {
            PropertyName::SystemTime
        } else {
            match Scope::from_name(scope) {
                Some(Scope::Default) => match MessageField::from_name(key) {
                    Some(field) => PropertyName::Field(field),
                    None => PropertyName::Scoped(Scope::Default, key.to_owned()),
                },
                Some(s) => PropertyName::Scoped(s, key.to_owned()),
                None => PropertyName::Nothing,
            }
        };
        (name, format)
    }

    /// Whether answering needs the message content (Synapse builds the message for `FAULT`
    /// and `From`).
    pub(crate) fn reads_content(&self) -> bool {
        matches!(
            self,
            PropertyName::Field(MessageField::Fault | MessageField::From)
        )
    }
}
