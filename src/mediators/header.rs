//! `<header>`: sets or removes a transport (HTTP) header, the WS-Addressing `To` or `Action`, or a
//! SOAP header block (replacing a block of the same name; a POX message has none to change).

use std::sync::Arc;

use http::HeaderName;

use super::edit::{as_fragment, edit_err};
use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{MessageContext, Value};
use crate::synapse::model::Element;
use crate::xml::{escape_text, Content, Document, Fragment, SoapVersion};
use crate::xpath::dom::{Dom, NodeId};

#[derive(Debug, Clone)]
pub struct Header {
    pub target: Target,
    /// None = remove.
    pub value: Option<Value>,
}

#[derive(Debug, Clone)]
pub enum Target {
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

impl Mediate for Header {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        let name = r.required(el, "name")?.to_string();
        let ns = match name.split_once(':') {
            None => None,
            Some((prefix, _)) => match el.resolve_prefix(prefix) {
                Some(uri) => Some(uri.to_string()),
                None => {
                    let pos = el.attribute("name").map_or(el.pos, |a| a.pos);
                    r.error(
                        pos,
                        format!(
                            "namespace prefix '{prefix}' of header name '{name}' is not declared"
                        ),
                    );
                    return None;
                }
            },
        };
        let remove = r.choice_attr(el, "action", &["set", "remove"]) == Some("remove");
        let transport = r.choice_attr(el, "scope", &["default", "transport"]) == Some("transport");
        let spec = if remove {
            None
        } else {
            Some(r.required_value(el, &format!("header '{name}'"))?)
        };
        let target = if transport {
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(h) => Target::Transport(h),
                Err(_) => {
                    c.error(at, format!("'{name}' is not a valid HTTP header name"));
                    return None;
                }
            }
        } else {
            let (prefix, local) = name.split_once(':').unwrap_or(("", name.as_str()));
            match (local, ns) {
                ("To", None) => Target::To,
                ("Action", None) => Target::Action,
                (_, ns) => Target::Soap {
                    ns: ns.unwrap_or_default(),
                    prefix: prefix.to_string(),
                    local: local.to_string(),
                },
            }
        };
        let value = spec.map(|v| super::value(c, &v, at));
        Some(Header { target, value })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let v = match &self.value {
            Some(v) => Some(rt.eval(ctx, v).await?),
            None => None,
        };
        match (&self.target, v) {
            (Target::Transport(name), Some(v)) => ctx.set_header(name.clone(), &v)?,
            (Target::Transport(name), None) => {
                ctx.headers.remove(name);
            }
            (Target::To, v) => ctx.to = v,
            (Target::Action, v) => ctx.action = v,
            (Target::Soap { ns, prefix, local }, v) => {
                soap_header(ctx, ns, prefix, local, v).await?;
            }
        }
        Ok(Flow::Continue)
    }
}

/// Sets (replacing a block of the same name) or removes a SOAP header block.
async fn soap_header(
    ctx: &mut MessageContext,
    ns: &str,
    prefix: &str,
    local: &str,
    value: Option<String>,
) -> Result<()> {
    let doc: Arc<Document> = ctx.document().await?;
    if doc.soap_version().is_none() {
        // A POX message has no SOAP header to change.
        return Ok(());
    }
    let existing: Vec<NodeId> = doc
        .soap_header_blocks()
        .filter(|&b| doc.local_name(b) == local && doc.namespace_uri(b) == ns)
        .collect();
    let mut ed = doc.edit();
    match value {
        None => {
            for b in existing {
                ed.remove(b).map_err(edit_err)?;
            }
        }
        Some(v) => {
            let block_xml = if as_fragment(&v).is_some() {
                v.clone()
            } else {
                let qn = if prefix.is_empty() {
                    local.to_string()
                } else {
                    format!("{prefix}:{local}")
                };
                let decl = if ns.is_empty() {
                    String::new()
                } else if prefix.is_empty() {
                    format!(" xmlns=\"{}\"", crate::xml::escape_attr(ns))
                } else {
                    format!(" xmlns:{prefix}=\"{}\"", crate::xml::escape_attr(ns))
                };
                format!("<{qn}{decl}>{}</{qn}>", escape_text(&v))
            };
            let block = Fragment::parse(&block_xml).map_err(edit_err)?;
            match (existing.first(), doc.soap_header(), doc.soap_body()) {
                (Some(&b), _, _) => ed.replace(b, Content::Xml(block)).map_err(edit_err)?,
                (None, Some(h), _) => ed.append_child(h, Content::Xml(block)).map_err(edit_err)?,
                (None, None, Some(body)) => {
                    let env_prefix = doc.prefix(doc.root_element()).to_string();
                    let hq = if env_prefix.is_empty() {
                        "Header".to_string()
                    } else {
                        format!("{env_prefix}:Header")
                    };
                    let v = doc
                        .soap_version()
                        .map(SoapVersion::namespace)
                        .unwrap_or_default();
                    // A new Header element holding the block, before the Body.
                    let pfx = if env_prefix.is_empty() {
                        String::new()
                    } else {
                        format!(":{env_prefix}")
                    };
                    let full =
                        Fragment::parse(&format!("<{hq} xmlns{pfx}=\"{v}\">{block_xml}</{hq}>"))
                            .map_err(edit_err)?;
                    ed.insert_before(body, Content::Xml(full))
                        .map_err(edit_err)?;
                }
                _ => return Err(Error::mediation("the SOAP message has no body")),
            }
        }
    }
    let out = ed.finish();
    ctx.set_content(out, None);
    Ok(())
}
