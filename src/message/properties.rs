//! The property table: how a property is read, set and removed in each scope. Both readers of
//! properties use it: a value compiled to a plain property read (`$ctx:x`, `get-property('x')`)
//! and the XPath context behind every other expression, so the two cannot disagree. What needs
//! the program or the registry (local entries behind a default-scope miss, registry resources) is
//! added by the engine on top.

use std::borrow::Cow;

use super::context::MessageContext;
use super::value::Scope;
use crate::error::{Error, Result};
use crate::xpath::MessageField;

/// The message facts `get-property()` answers by name in the default scope, before any property
/// of that name (as Synapse's `GetPropertyFunction` does).
pub fn field(ctx: &MessageContext, f: MessageField) -> Option<Cow<'_, str>> {
    match f {
        MessageField::To => Some(match &ctx.to {
            Some(to) => Cow::Borrowed(to.as_str()),
            None => Cow::Owned(ctx.uri.to_string()),
        }),
        MessageField::Action => ctx.action.as_deref().map(Cow::Borrowed),
        MessageField::MessageFormat => Some(Cow::Borrowed(ctx.message_format())),
        MessageField::MessageId => ctx.message_id_if_made().map(Cow::Borrowed),
        MessageField::Fault => Some(Cow::Borrowed(if ctx.is_fault { "true" } else { "" })),
        _ => None,
    }
}

/// Reads a property as it is set (`$ctx:x`, `$trp:x`, …), or None. What `get-property()` adds
/// in the default scope (the message [`field`]s first, the local entry of the name after a
/// miss) and the registry scope are the engine's (they need the program and the registry); the
/// system, file and configuration scopes are not supported and read as unset.
pub fn get<'a>(ctx: &'a MessageContext, scope: Scope, name: &str) -> Option<Cow<'a, str>> {
    let borrowed = |v: &'a super::context::PropValue| Cow::Borrowed(v.as_str());
    match scope {
        // A template's parameter, else (outside templates) a property, as mint read it before.
        Scope::Func => match ctx.func_stack.last() {
            Some(frame) => frame.get(name).map(|v| Cow::Borrowed(v.as_str())),
            None => ctx.props.get(name).map(borrowed),
        },
        Scope::Default | Scope::Operation | Scope::Axis2Client | Scope::Variable => {
            ctx.props.get(name).map(borrowed)
        }
        Scope::Axis2 => ctx.axis2.get(name).map(borrowed).or_else(|| match name {
            // Synapse's transport sets both to the client's IP (no reverse lookup).
            "REMOTE_ADDR" | "REMOTE_HOST" => ctx.remote.map(|ip| Cow::Owned(ip.to_string())),
            _ => None,
        }),
        Scope::Transport => ctx
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(Cow::Borrowed),
        Scope::Env => std::env::var(name).ok().map(Cow::Owned),
        Scope::Registry | Scope::System | Scope::File | Scope::Config => None,
    }
}

/// The control properties the send path acts on: setting one marks the message
/// ([`MessageContext::controls`]), so that a message without any is not looked up for them.
pub const CONTROL: [&str; 8] = [
    "OUT_ONLY",
    "FORCE_SC_ACCEPTED",
    "FORCE_ERROR_ON_SOAP_FAULT",
    "FORCE_HTTP_1.0",
    "NO_KEEPALIVE",
    "POST_TO_URI",
    "DISABLE_CHUNKING",
    "FORCE_HTTP_CONTENT_LENGTH",
];

/// Sets a property, with the side effects of Synapse's control properties. Registry writes are
/// the engine's; the other scopes mint cannot write are an error.
pub fn set(ctx: &mut MessageContext, name: &str, scope: Scope, value: String) -> Result<()> {
    if !ctx.controls && CONTROL.contains(&name) {
        ctx.controls = true;
    }
    match scope {
        Scope::Default | Scope::Operation | Scope::Axis2Client => {
            if name == "RESPONSE" {
                ctx.is_response = value.eq_ignore_ascii_case("true");
            }
            ctx.props.insert(name.to_string().into(), value.into());
        }
        Scope::Axis2 => {
            if name == "messageType" {
                ctx.axis2
                    .insert("ContentType".into(), value.as_str().into());
            }
            ctx.axis2.insert(name.to_string().into(), value.into());
        }
        Scope::Transport => {
            let h = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::mediation(format!("'{name}' is not a valid header name")))?;
            ctx.set_header(h, &value)?;
        }
        Scope::Registry
        | Scope::System
        | Scope::Env
        | Scope::Func
        | Scope::File
        | Scope::Config
        | Scope::Variable => {
            return Err(Error::mediation(format!(
                "property '{name}': this scope is not supported yet"
            )));
        }
    }
    Ok(())
}

/// Removes a property; removing from a scope mint cannot write does nothing (as WSO2 ignores
/// `action="remove"` for the registry).
pub fn remove(ctx: &mut MessageContext, name: &str, scope: Scope) {
    match scope {
        Scope::Default | Scope::Operation | Scope::Axis2Client => {
            ctx.props.remove(name);
        }
        Scope::Axis2 => {
            if name == "TRANSPORT_HEADERS" {
                // Synapse's idiom for dropping every transport header of the message.
                ctx.headers.clear();
            }
            ctx.axis2.remove(name);
        }
        Scope::Transport => {
            ctx.headers.remove(name);
        }
        _ => {}
    }
}

/// The scopes a property mediator may name, and the scope each is kept in: `trace` and
/// `analytics` are kept with the message's local properties, as `operation` is.
pub const PROPERTY_SCOPES: [(&str, Scope); 10] = [
    ("default", Scope::Default),
    ("transport", Scope::Transport),
    ("axis2", Scope::Axis2),
    ("axis2-client", Scope::Axis2Client),
    ("operation", Scope::Operation),
    ("registry", Scope::Registry),
    ("system", Scope::System),
    ("env", Scope::Env),
    ("trace", Scope::Operation),
    ("analytics", Scope::Operation),
];

/// The scope a property mediator's `scope` attribute names (lower-cased), if it is one.
pub fn scope_named(name: &str) -> Option<Scope> {
    PROPERTY_SCOPES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, s)| s)
}
