//! `<enrich>`: copies a source (an XPath's nodes, the body, the envelope, a property, inline
//! content) into a target (an XPath's node, the body, the envelope, a property), replacing it or
//! adding a child or sibling, as Synapse does.

use std::sync::Arc;

use bytes::Bytes;

use super::edit::{as_fragment, edit_err};
use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::content::{Evaluated, Want};
use crate::message::{Expr, MessageContext};
use crate::synapse::model::Element;
use crate::xml::{Content, Fragment};
use crate::xpath::dom::{Dom, NodeKind};

#[derive(Debug, Clone)]
pub struct Enrich {
    pub source: Source,
    pub clone: bool,
    pub target: Target,
    pub action: Action,
}

/// Where enrich takes its value from.
#[derive(Debug, Clone)]
pub enum Source {
    Custom(Arc<Expr>),
    Envelope,
    Body,
    Property(String),
    /// Inline XML or text (from the element, or a local entry at deploy time).
    Inline(String),
    /// A registry key, read when the mediator runs.
    InlineKey(String),
}

/// Where enrich puts it.
#[derive(Debug, Clone)]
pub enum Target {
    Custom(Arc<Expr>),
    Envelope,
    Body,
    Property(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Replace,
    Child,
    Sibling,
}

impl Mediate for Enrich {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let (Some(src), Some(tgt)) = (
            el.elements().find(|c| c.local == "source"),
            el.elements().find(|c| c.local == "target"),
        ) else {
            c.error(at, "enrich needs <source> and <target>");
            return None;
        };
        let so = super::at(src, at);
        let to = super::at(tgt, at);
        let source = match src.attr("type").unwrap_or("custom") {
            "custom" => Source::Custom(super::xpath(c, src.attr("xpath").unwrap_or(""), src, &so)?),
            "envelope" => Source::Envelope,
            "body" => Source::Body,
            "property" => Source::Property(src.attr("property").unwrap_or("").to_string()),
            "inline" => match (src.attr("key"), src.elements().next()) {
                (Some(k), _) => match super::local_text(c, k.trim()) {
                    Some(text) => Source::Inline(text),
                    None => Source::InlineKey(k.trim().to_string()),
                },
                (None, Some(child)) => Source::Inline(super::format_xml(child)),
                (None, None) => Source::Inline(src.text()),
            },
            other => {
                c.error(&so, format!("unknown enrich source type '{other}'"));
                return None;
            }
        };
        let target = match tgt.attr("type").unwrap_or("custom") {
            "custom" => Target::Custom(super::xpath(c, tgt.attr("xpath").unwrap_or(""), tgt, &to)?),
            "envelope" => Target::Envelope,
            "body" => Target::Body,
            "property" => Target::Property(tgt.attr("property").unwrap_or("").to_string()),
            other => {
                c.error(&to, format!("unsupported enrich target type '{other}'"));
                return None;
            }
        };
        let action = match tgt.attr("action").unwrap_or("replace") {
            "replace" => Action::Replace,
            "child" => Action::Child,
            "sibling" => Action::Sibling,
            other => {
                c.error(&to, format!("unknown enrich action '{other}'"));
                return None;
            }
        };
        let clone = src.attr("clone").is_none_or(|c| c.trim() != "false");
        Some(Enrich {
            source,
            clone,
            target,
            action,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        enrich(rt, ctx, self).await?;
        Ok(Flow::Continue)
    }
}

async fn enrich(rt: &impl Runtime, ctx: &mut MessageContext, e: &Enrich) -> Result<()> {
    // The source, as XML fragments or text.
    enum Src {
        /// Parsed XML and its text.
        Xml(Fragment, String),
        Text(String),
    }
    let xml = |text: String| -> Result<Src> {
        let f = Fragment::parse(&text).map_err(edit_err)?;
        Ok(Src::Xml(f, text))
    };
    let src = match &e.source {
        Source::Custom(x) => match rt.eval_xpath(ctx, x, Want::Nodes).await? {
            (Evaluated::Nodes(nodes), Some(doc)) => {
                let all_elements =
                    !nodes.is_empty() && nodes.iter().all(|&n| doc.kind(n) == NodeKind::Element);
                if all_elements {
                    let mut bytes = Vec::new();
                    for &n in &nodes {
                        bytes.extend_from_slice(&doc.standalone_bytes(n));
                    }
                    xml(String::from_utf8_lossy(&bytes).into_owned())?
                } else {
                    Src::Text(
                        nodes
                            .iter()
                            .map(|&n| doc.string_value(n).into_owned())
                            .collect(),
                    )
                }
            }
            (Evaluated::Text(t), _) => Src::Text(t.unwrap_or_default()),
            _ => Src::Text(String::new()),
        },
        Source::Body => {
            let doc = ctx.document().await?;
            let body = doc.soap_body();
            let payload: Vec<u8> = match body {
                Some(b) => doc
                    .child_elements(b)
                    .flat_map(|c| doc.standalone_bytes(c).to_vec())
                    .collect(),
                None => doc.standalone_bytes(doc.root_element()).to_vec(),
            };
            xml(String::from_utf8_lossy(&payload).into_owned()).unwrap_or(Src::Text(String::new()))
        }
        Source::Envelope => {
            let doc = ctx.document().await?;
            xml(String::from_utf8_lossy(doc.source()).into_owned())?
        }
        Source::Property(p) => {
            let v = ctx.props.get(p).cloned().unwrap_or_default();
            match as_fragment(&v) {
                Some(f) => Src::Xml(f, v),
                None => Src::Text(v),
            }
        }
        Source::Inline(text) => match as_fragment(text) {
            Some(f) => Src::Xml(f, text.clone()),
            None => Src::Text(text.clone()),
        },
        Source::InlineKey(k) => {
            let text = match rt.registry().lookup(k).await? {
                Some(r) => r.text().into_owned(),
                None => {
                    return Err(Error::mediation(format!(
                        "enrich source key '{k}' not found"
                    )))
                }
            };
            match as_fragment(&text) {
                Some(f) => Src::Xml(f, text),
                None => Src::Text(text),
            }
        }
    };
    let src_text = |s: &Src| match s {
        Src::Xml(_, t) | Src::Text(t) => t.clone(),
    };
    match &e.target {
        Target::Property(p) => {
            ctx.props.insert(p.clone(), src_text(&src));
            Ok(())
        }
        Target::Envelope => {
            let text = src_text(&src);
            ctx.set_content(Bytes::from(text), None);
            Ok(())
        }
        Target::Body | Target::Custom(_) => {
            let (doc, targets) = match &e.target {
                Target::Custom(x) => match rt.eval_xpath(ctx, x, Want::Nodes).await? {
                    (Evaluated::Nodes(n), Some(d)) => (d, n),
                    _ => {
                        return Err(Error::mediation(format!(
                            "enrich target '{}' selects no node",
                            x.source()
                        )))
                    }
                },
                // Synapse acts on the body's first element (the payload of a SOAP message,
                // the document element of plain XML): it is replaced, gets the child, or
                // gets the sibling. Only an empty SOAP body takes the source as its child.
                _ => {
                    let d = ctx.document().await?;
                    let t = match d.soap_version() {
                        Some(_) => match d.soap_payload() {
                            Some(p) => p,
                            None => {
                                let Some(b) = d.soap_body() else {
                                    return Err(Error::mediation("the SOAP message has no body"));
                                };
                                let content = match &src {
                                    Src::Xml(f, _) => Content::Xml(f.clone()),
                                    Src::Text(s) => Content::Text(s.clone()),
                                };
                                let mut ed = d.edit();
                                ed.append_child(b, content).map_err(edit_err)?;
                                let out = ed.finish();
                                ctx.set_content(out, None);
                                return Ok(());
                            }
                        },
                        None => d.root_element(),
                    };
                    (d, vec![t])
                }
            };
            let Some(&t) = targets.first() else {
                return Err(Error::mediation("enrich target selects no node"));
            };
            let content = match &src {
                Src::Xml(f, _) => Content::Xml(f.clone()),
                Src::Text(s) => Content::Text(s.clone()),
            };
            let mut ed = doc.edit();
            match (e.action, doc.kind(t)) {
                (Action::Replace, NodeKind::Text | NodeKind::Attribute) => {
                    ed.set_text(t, src_text(&src))
                }
                (Action::Replace, _) => match content {
                    Content::Text(s) => ed.set_text(t, s),
                    c => ed.replace(t, c),
                },
                (Action::Child, _) => ed.append_child(t, content),
                (Action::Sibling, _) => ed.insert_after(t, content),
            }
            .map_err(edit_err)?;
            let out = ed.finish();
            ctx.set_content(out, None);
            Ok(())
        }
    }
}
