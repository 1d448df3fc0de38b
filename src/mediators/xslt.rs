//! `<xslt>`: transforms part of the message with an XSLT 1.0 stylesheet, as Synapse's
//! XSLTMediator does: on mint's own engine ([`crate::xslt`]) when the stylesheet keeps to its
//! subset, with libxslt's exact output, otherwise on libxslt (through [`crate::xmllib`]):
//! - `key`: a local entry or registry resource holding the stylesheet, or `{expression}`
//!   evaluated per message (a registry key only: mint does not search local entries for it);
//! - `source` (XPath): the element transformed; by default the first element of the SOAP body
//!   (the root element of a plain XML message, and of a JSON message's XML view);
//! - the result (its root element) replaces the source, or with `target` goes into that
//!   property as text; text output (`xsl:output method="text"`) is wrapped in Axis2's
//!   `<axis2ns:text>` element, as MI wraps it;
//! - `<property name value|expression>` children are the stylesheet's string parameters;
//! - `<resource location="…" key="…"/>` children map what an `xsl:import`, `xsl:include` or
//!   `document()` names to a local entry or registry resource (Synapse's ResourceMap); nothing
//!   else can be read.
//!
//! Stylesheets are compiled once per shard: a local entry's at first use after each deployment
//! (and once at deployment, to report a broken one with its position), a registry resource's
//! whenever the registry cache gives a new copy (its `cachableDuration`). `<feature>` and
//! `<attribute>` children are warned about (not honoured).

use std::rc::Rc;
use std::sync::Arc;

use super::compiled_key::Key;
use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::content::{Evaluated, Want};
use crate::message::context::BodyType;
use crate::message::{Expr, MessageContext, Value};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;
use crate::xml::{Content, Fragment};
use crate::xpath::dom::NodeKind;
use super::compiled_key::Sheet;

/// Axis2's wrapper of text content (the payload of a text message).
const TEXT_NS: &str = "http://ws.apache.org/commons/ns/payload";

#[derive(Debug, Clone)]
pub struct Xslt {
    key: Key,
    source: Option<Arc<Expr>>,
    target: Option<String>,
    params: Vec<(String, Value)>,
}

impl Mediate for Xslt {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        r.known_attrs(el, &["key", "source", "target", "useCache", "description"]);
        let key_text = r.required(el, "key").map(str::to_string)?;
        let mut params = Vec::new();
        let mut specs = Vec::new();
        let mut resources = Vec::new();
        for child in el.elements() {
            if is_synapse(child, "property") {
                if let Some(name) = r.required(child, "name") {
                    let what = format!("xslt parameter '{name}'");
                    if let Some(v) = r.required_value(child, &what) {
                        specs.push((name.to_string(), v, super::at(child, at)));
                    }
                }
            } else if is_synapse(child, "feature") || is_synapse(child, "attribute") {
                r.warn(
                    child.pos,
                    format!(
                        "xslt <{}> '{}' is not honoured by mint (libxslt runs with its defaults)",
                        child.local,
                        child.attr("name").unwrap_or_default()
                    ),
                );
            } else if is_synapse(child, "resource") {
                resources.extend(super::compiled_key::resource(&mut r, child));
            } else if !is_synapse(child, "description") {
                r.unknown_child(child, "xslt");
            }
        }
        for (name, v, pat) in specs {
            params.push((name, super::value(c, &v, &pat)));
        }
        let source = match el.attr("source") {
            Some(s) => Some(super::xpath(c, s, el, at)?),
            None => None,
        };
        let key = Key::compile_all::<Sheet>(c, &[(&key_text, el)], &resources, at)?;
        Some(Xslt {
            key,
            source,
            target: el.attr("target").map(str::to_string),
            params,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let sheet: Rc<Sheet> = self.key.get(rt, ctx).await.map_err(|e| {
            Error::mediation(format!("Unable to perform XSLT transformation: {e}"))
        })?;
        let mut params = Vec::with_capacity(self.params.len());
        for (name, v) in &self.params {
            params.push((name.as_str(), rt.eval(ctx, v).await?));
        }
        let (doc, node) = source_element(rt, ctx, self.source.as_deref())
            .await?
            .ok_or_else(|| Error::mediation("The evaluation of the XSLT source resulted in no element"))?;
        // Synchronous and bounded (libxslt's recursion limit, the native engine's depth
        // limit); other connections on the shard get their turn before it.
        glommio::yield_if_needed().await;
        let native = match &sheet.native {
            Some(p) => match p.transform(&doc, node) {
                Ok(r) => Some(r),
                Err(why) => {
                    tracing::debug!("xslt: libxslt runs this message: {why}");
                    None
                }
            },
            None => None,
        };
        let result = match native {
            Some(r) => r,
            None => {
                let input = doc.standalone_bytes(node);
                let pairs: Vec<(&str, &str)> =
                    params.iter().map(|(n, v)| (*n, v.as_str())).collect();
                let out = sheet.lib.transform(&input, &pairs).map_err(|e| {
                    Error::mediation(format!("Unable to perform XSLT transformation: {e}"))
                })?;
                result_element(&out)
            }
        };
        if let Some(target) = &self.target {
            ctx.props.insert(target.clone().into(), result.into());
            return Ok(Flow::Continue);
        }
        // libxslt's output is spliced as it is (not parsed again), except where it replaces the
        // root element (which must then be checked to be one element) or declares a DOCTYPE.
        let text_output = result.starts_with("<axis2ns:text ");
        let html = result.get(..5).is_some_and(|t| t.eq_ignore_ascii_case("<html"));
        // (An element first: a leading comment or PI goes through the parse.)
        let element_first = result
            .as_bytes()
            .get(1)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
        let splice = node != doc.root_element()
            && element_first
            && (text_output || (sheet.lib.writes_xml() && !html))
            && !crate::xmllib::has_doctype(result.as_bytes());
        let content = if splice {
            Content::Raw(result)
        } else {
            Content::Xml(Fragment::parse(&result).map_err(super::edit::edit_err)?)
        };
        let mut ed = doc.edit();
        ed.replace(node, content).map_err(super::edit::edit_err)?;
        let body = ed.finish();
        ctx.set_content_typed(body, None, BodyType::Xml);
        Ok(Flow::Continue)
    }
}

/// The transformation's output as the element that replaces the source: without its XML
/// declaration; text output wrapped as Axis2 wraps a text payload.
fn result_element(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let mut t = text.trim_start();
    if t.starts_with("<?xml") {
        t = t.find("?>").map(|i| &t[i + 2..]).unwrap_or("").trim_start();
    }
    if t.starts_with('<') {
        return t.trim_end().to_string();
    }
    format!(
        "<axis2ns:text xmlns:axis2ns=\"{TEXT_NS}\">{}</axis2ns:text>",
        crate::xml::escape_text(&text)
    )
}

/// The element a transformation or validation applies to: the one `source` selects first, by
/// default the SOAP body's first element (the root element of plain XML, and of a JSON
/// message's XML view); None when that is no element.
pub(super) async fn source_element(
    rt: &impl Runtime,
    ctx: &mut MessageContext,
    source: Option<&Expr>,
) -> Result<Option<(Arc<crate::xml::Document>, crate::xpath::dom::NodeId)>> {
    let doc = ctx.document().await?;
    let node = match source {
        None => Some(doc.soap_payload().unwrap_or_else(|| doc.root_element())),
        Some(x) => match rt.eval_xpath(ctx, x, Want::Nodes).await? {
            (Evaluated::Nodes(n), _) => n.first().copied(),
            _ => None,
        },
    };
    Ok(node
        .filter(|&n| doc.kind(n) == NodeKind::Element)
        .map(|n| (doc, n)))
}

