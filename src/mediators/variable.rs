//! `<variable name="…" [type="…"] (value="…" | expression="…") [action="remove"]/>` (MI 4.4):
//! sets or removes a variable (`${vars.name}`). A static `value` is converted to its `type` at
//! deployment; an `expression` is evaluated per message: as text for `STRING` and `XML`, as its
//! value without a type, and for `BOOLEAN`, `INTEGER`, `LONG`, `DOUBLE` and `JSON` its value must
//! already be of that type (MI does not convert; a mismatch is a fault).

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{MessageContext, Value};
use crate::synapse::model::Element;
use crate::synexpr::Val;

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub enum Action {
    Remove,
    Set(Val),
    Evaluate { value: Value, ty: Option<Type> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Integer,
    Long,
    Double,
    Json,
    Xml,
}

impl Type {
    fn parse(s: &str) -> Option<Type> {
        Some(match s {
            "STRING" => Type::String,
            "BOOLEAN" => Type::Boolean,
            "INTEGER" => Type::Integer,
            "LONG" => Type::Long,
            "DOUBLE" => Type::Double,
            "JSON" => Type::Json,
            "XML" => Type::Xml,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Type::String => "STRING",
            Type::Boolean => "BOOLEAN",
            Type::Integer => "INTEGER",
            Type::Long => "LONG",
            Type::Double => "DOUBLE",
            Type::Json => "JSON",
            Type::Xml => "XML",
        }
    }
}

/// A static value converted to `ty` as MI does at deployment.
fn convert(text: &str, ty: Option<Type>) -> Option<Val> {
    Some(match ty {
        None | Some(Type::String) => Val::Str(text.to_string()),
        Some(Type::Boolean) => {
            let t = text.trim();
            Val::Bool(t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("yes") || t == "1")
        }
        Some(Type::Integer) => Val::Int(text.trim().parse().ok()?),
        Some(Type::Long) => Val::Long(text.trim().parse().ok()?),
        Some(Type::Double) => Val::Double(text.trim().parse().ok()?),
        Some(Type::Json) => match crate::json::parse(text.as_bytes()) {
            Ok(v) => Val::from_json(v),
            Err(_) => Val::Str(text.to_string()),
        },
        Some(Type::Xml) => {
            crate::xml::Document::parse(bytes::Bytes::from(text.trim().to_string())).ok()?;
            Val::Xml(text.trim().to_string())
        }
    })
}

impl Mediate for Variable {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        r.known_attrs(
            el,
            &["name", "type", "value", "expression", "action", "description"],
        );
        let Some(name) = el.attr("name").filter(|n| !n.trim().is_empty()) else {
            r.error(
                el.pos,
                "The 'name' attribute is required for the configuration of a variable mediator",
            );
            return None;
        };
        let name = name.to_string();
        if el.attr("action") == Some("remove") {
            return Some(Variable {
                name,
                action: Action::Remove,
            });
        }
        let ty = match el.attr("type") {
            None => None,
            Some(t) => match Type::parse(t) {
                Some(ty) => Some(ty),
                None => {
                    r.error(
                        el.pos,
                        format!("Unknown type : {t} for the variable mediator or the variable value cannot be converted into the specified type."),
                    );
                    return None;
                }
            },
        };
        let action = match (el.attr("value"), el.attr("expression")) {
            (Some(v), _) => match convert(v, ty) {
                Some(val) => Action::Set(val),
                None => {
                    r.error(
                        el.pos,
                        format!(
                            "Unknown type : {} for the variable mediator or the variable value cannot be converted into the specified type.",
                            ty.map_or("STRING", Type::name)
                        ),
                    );
                    return None;
                }
            },
            (None, Some(e)) => Action::Evaluate {
                value: super::expression(c, e, el, at),
                ty,
            },
            (None, None) => {
                r.error(
                    el.pos,
                    "'value' or 'expression' attributes is required for a variable mediator when action is SET",
                );
                return None;
            }
        };
        Some(Variable { name, action })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let v = match &self.action {
            Action::Remove => {
                ctx.vars.remove(&self.name);
                return Ok(Flow::Continue);
            }
            Action::Set(v) => v.clone(),
            Action::Evaluate { value, ty } => {
                let v = match ty {
                    Some(Type::String) => Val::Str(rt.eval(ctx, value).await?),
                    Some(Type::Xml) => {
                        let text = rt.eval(ctx, value).await?;
                        convert(&text, Some(Type::Xml)).ok_or_else(|| {
                            Error::mediation(format!(
                                "the result of '{}' is not XML",
                                expression_text(value)
                            ))
                        })?
                    }
                    _ => rt.eval_object(ctx, value).await?,
                };
                let fits = match ty {
                    None | Some(Type::String) | Some(Type::Xml) => true,
                    Some(Type::Boolean) => matches!(v, Val::Bool(_)),
                    Some(Type::Integer) => matches!(v, Val::Int(_)),
                    Some(Type::Long) => matches!(v, Val::Long(_)),
                    Some(Type::Double) => matches!(v, Val::Double(_)),
                    Some(Type::Json) => !matches!(v, Val::Xml(_) | Val::Null)
                        && !(matches!(&v, Val::Str(s) if s.is_empty())),
                };
                if !fits {
                    return Err(Error::mediation(format!(
                        "Expression '{}' result does not match the expected data type '{}'",
                        expression_text(value),
                        ty.map_or("", Type::name)
                    )));
                }
                v
            }
        };
        if !v.is_null() {
            ctx.vars.insert(self.name.clone(), v);
        }
        Ok(Flow::Continue)
    }
}

/// The expression as written, for messages.
fn expression_text(v: &Value) -> String {
    match v {
        Value::Synapse(e) => format!("${{{}}}", e.expr.source()),
        Value::XPath(x) => x.source().to_string(),
        Value::JsonPath(p) => format!("json-eval({})", p.as_str()),
        Value::Literal(s) | Value::Xml(s) | Value::Unsupported(s) => s.clone(),
        other => format!("{other:?}"),
    }
}
