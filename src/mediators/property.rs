//! `<property>`: sets or removes a property in a scope (see `message::properties` for what each
//! scope means), converting the value to its `type` as Java would; the registry scope writes the
//! registry resource (`key`) or one of its properties (`key@name`).

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::properties::{self, PROPERTY_SCOPES};
use crate::message::{MessageContext, PropType, Scope, Value};
use crate::synapse::model::Element;

/// Values of a property mediator's `type` attribute.
const PROPERTY_TYPES: [&str; 9] = [
    "STRING", "INTEGER", "BOOLEAN", "DOUBLE", "FLOAT", "LONG", "SHORT", "OM", "JSON",
];

/// Synapse control properties mint stores but does not act on yet: the scope WSO2 reads each
/// in, and what it does there. Setting one is warned about at deployment (nothing silent).
/// (`COPY_CONTENT_LENGTH_FROM_INCOMING` is not among them: mint always sends a passed-through
/// body with the client's `Content-Length`, and any other body with its own, never chunked.)
const NOT_HONOURED: [(&str, Scope, &str); 2] = [
    ("TRANSPORT_HEADERS", Scope::Axis2, "replaces every transport header at once (removing it, which clears them, is honoured)"),
    ("FAULTS_AS_HTTP_200", Scope::Axis2, "sends SOAP faults with status 200; mint does so for makefault's faults, not for a backend's"),
];

#[derive(Debug, Clone)]
pub struct Property {
    pub name: String,
    pub scope: Scope,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub enum Action {
    Set { value: Value, ty: PropType },
    Remove,
}

impl Mediate for Property {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        let name = r.required(el, "name")?.to_string();
        let remove = r.choice_attr(el, "action", &["set", "remove"]) == Some("remove");
        let scope = match el.attribute("scope") {
            None => Scope::Default,
            Some(attr) => {
                let written = attr.value.trim().to_ascii_lowercase();
                match properties::scope_named(&written) {
                    Some(s) => s,
                    None => {
                        let names: Vec<&str> = PROPERTY_SCOPES.iter().map(|(n, _)| *n).collect();
                        r.error(
                            attr.pos,
                            format!(
                                "invalid property scope '{}' (expected {})",
                                attr.value,
                                names.join(", ")
                            ),
                        );
                        return None;
                    }
                }
            }
        };
        let ty = r.choice_attr(el, "type", &PROPERTY_TYPES);
        let pattern = el.attr("pattern").is_some();
        r.number_attr::<u32>(el, "group");
        let spec = if remove {
            None
        } else {
            Some(r.required_value(el, &format!("property '{name}'"))?)
        };
        if matches!(scope, Scope::System | Scope::Env) {
            let written = el.attr("scope").unwrap_or_default().trim().to_ascii_lowercase();
            c.warn(at, format!("property scope '{written}' is not supported yet"));
        }
        if scope == Scope::Registry && spec.is_none() {
            c.warn(
                at,
                "action=\"remove\" is ignored for the registry scope, as in WSO2",
            );
        }
        if scope == Scope::Registry && spec.is_some() && name.contains('@') {
            c.warn(
                at,
                format!(
                    "setting registry property '{name}' empties the resource's content, as WSO2 does"
                ),
            );
        }
        if pattern {
            c.warn(at, "property pattern/group is not supported yet");
        }
        // Removing TRANSPORT_HEADERS (every transport header) is honoured; setting it is not.
        let honoured_removal = name == "TRANSPORT_HEADERS" && spec.is_none();
        if let Some((_, _, effect)) = NOT_HONOURED
            .iter()
            .find(|(n, sc, _)| *n == name && *sc == scope && !honoured_removal)
        {
            c.warn(
                at,
                format!(
                    "control property '{name}' is stored, but mint does not act on it yet \
                     (in WSO2 it {effect})"
                ),
            );
        }
        let Some(spec) = spec else {
            return Some(Property {
                name,
                scope,
                action: Action::Remove,
            });
        };
        let ty = ty.and_then(PropType::parse).unwrap_or(PropType::String);
        let value = super::value(c, &spec, at);
        if let Value::Literal(text) = &value {
            if let Err(msg) = ty.convert(text) {
                c.error(at, msg);
            }
        }
        Some(Property {
            name,
            scope,
            action: Action::Set { value, ty },
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        match &self.action {
            Action::Set { value, ty } => {
                let text = rt.eval(ctx, value).await?;
                let text = ty.convert(&text).map_err(Error::mediation)?;
                if self.scope == Scope::Registry {
                    rt.registry().write(&self.name, &text).await?;
                } else {
                    properties::set(ctx, &self.name, self.scope, text)?;
                }
            }
            Action::Remove => properties::remove(ctx, &self.name, self.scope),
        }
        Ok(Flow::Continue)
    }
}
