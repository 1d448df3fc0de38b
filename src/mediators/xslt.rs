//! `<xslt>`: transforms part of the message with an XSLT 1.0 stylesheet (libxslt, through
//! [`crate::xslt`]), as Synapse's XSLTMediator does:
//! - `key`: a local entry or registry resource holding the stylesheet, or `{expression}`
//!   evaluated per message (a registry key only: mint does not search local entries for it);
//! - `source` (XPath): the element transformed; by default the first element of the SOAP body
//!   (the root element of a plain XML message, and of a JSON message's XML view);
//! - the result (its root element) replaces the source, or with `target` goes into that
//!   property as text; text output (`xsl:output method="text"`) is wrapped in Axis2's
//!   `<axis2ns:text>` element, as MI wraps it;
//! - `<property name value|expression>` children are the stylesheet's string parameters.
//!
//! Stylesheets are compiled once per shard: a local entry's at first use after each deployment
//! (and once at deployment, to report a broken one with its position), a registry resource's
//! whenever the registry cache gives a new copy (its `cachableDuration`). `<feature>` and
//! `<attribute>` children are warned about (not honoured); `<resource>` imports are not supported
//! (a stylesheet cannot read files, so an `xsl:import` of one fails).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

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
use crate::xslt::Stylesheet;

/// Axis2's wrapper of text content (the payload of a text message).
const TEXT_NS: &str = "http://ws.apache.org/commons/ns/payload";

#[derive(Debug, Clone)]
pub struct Xslt {
    key: Key,
    source: Option<Arc<Expr>>,
    target: Option<String>,
    params: Vec<(String, Value)>,
}

/// Where the stylesheet comes from.
#[derive(Debug, Clone)]
pub(super) enum Key {
    /// A local entry's text (shared by the shards; each compiles its own).
    Local(Arc<str>),
    /// A registry resource, or a key computed per message.
    Lookup(Value),
}

impl Key {
    /// A `key` attribute: a local entry's stylesheet (compiled once here, so that a broken one
    /// is reported with its position), else a registry key, or `{expression}`.
    pub(super) fn compile(
        c: &mut impl Compile,
        key_text: &str,
        el: &Element,
        at: &Origin,
    ) -> Option<Key> {
        Some(match super::dynamic_value(c, key_text, el, at) {
            Value::Literal(k) => match super::local_text(c, k.trim()) {
                Some(text) => {
                    if let Err(e) = Stylesheet::compile(text.as_bytes()) {
                        c.error(at, format!("xslt stylesheet '{}': {e}", k.trim()));
                        return None;
                    }
                    Key::Local(Arc::from(text))
                }
                None => Key::Lookup(Value::Literal(k.trim().to_string())),
            },
            dynamic => {
                c.warn(
                    at,
                    "a computed xslt key is looked up in the registry only (mint does not search \
                     local entries for it)",
                );
                Key::Lookup(dynamic)
            }
        })
    }

    /// This shard's compiled stylesheet for this message.
    pub(super) async fn stylesheet(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
    ) -> Result<Rc<Stylesheet>> {
        match self {
            Key::Local(text) => compiled(SheetText::Local(text.clone())),
            Key::Lookup(v) => {
                let key = rt.eval(ctx, v).await?;
                let found = rt.registry().lookup(&key).await.map_err(|e| {
                    Error::mediation(format!(
                        "Unable to perform XSLT transformation using : {key}: {e}"
                    ))
                })?;
                match found {
                    Some(res) => compiled(SheetText::Registry(res)),
                    None => Err(Error::mediation(format!(
                        "Unable to perform XSLT transformation using : {key}: no such local \
                         entry or registry resource"
                    ))),
                }
            }
        }
    }
}

impl Mediate for Xslt {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        r.known_attrs(el, &["key", "source", "target", "useCache", "description"]);
        let key_text = r.required(el, "key").map(str::to_string)?;
        let mut params = Vec::new();
        let mut specs = Vec::new();
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
                r.warn(
                    child.pos,
                    "xslt <resource> is not supported yet: the stylesheet cannot import or include it",
                );
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
        let key = Key::compile(c, &key_text, el, at)?;
        Some(Xslt {
            key,
            source,
            target: el.attr("target").map(str::to_string),
            params,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let sheet = self.key.stylesheet(rt, ctx).await?;
        let mut params = Vec::with_capacity(self.params.len());
        for (name, v) in &self.params {
            params.push((name.as_str(), rt.eval(ctx, v).await?));
        }
        let doc = ctx.document().await?;
        let node = match &self.source {
            None => Some(doc.soap_payload().unwrap_or_else(|| doc.root_element())),
            Some(x) => match rt.eval_xpath(ctx, x, Want::Nodes).await? {
                (Evaluated::Nodes(n), _) => n.first().copied(),
                _ => None,
            },
        };
        let Some(node) = node.filter(|&n| doc.kind(n) == NodeKind::Element) else {
            return Err(Error::mediation(
                "The evaluation of the XSLT source resulted in no element",
            ));
        };
        let input = doc.standalone_bytes(node);
        let pairs: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        // Synchronous and bounded (libxslt's recursion limit); other connections on the shard
        // get their turn before it.
        glommio::yield_if_needed().await;
        let out = sheet
            .transform(&input, &pairs)
            .map_err(|e| Error::mediation(format!("Unable to perform XSLT transformation: {e}")))?;
        let result = result_element(&out);
        if let Some(target) = &self.target {
            ctx.props.insert(target.clone(), result);
            return Ok(Flow::Continue);
        }
        let fragment = Fragment::parse(&result).map_err(super::edit::edit_err)?;
        let mut ed = doc.edit();
        ed.replace(node, Content::Xml(fragment))
            .map_err(super::edit::edit_err)?;
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

/// Where a stylesheet's text came from: what the shard's cache is keyed by (the value is kept
/// alive by its entry, so its address is never reused while cached).
enum SheetText {
    Local(Arc<str>),
    Registry(Arc<crate::registry::Resource>),
}

impl SheetText {
    fn address(&self) -> usize {
        match self {
            SheetText::Local(t) => Arc::as_ptr(t) as *const u8 as usize,
            SheetText::Registry(r) => Arc::as_ptr(r) as usize,
        }
    }

    fn text(&self) -> &[u8] {
        match self {
            SheetText::Local(t) => t.as_bytes(),
            SheetText::Registry(r) => &r.content,
        }
    }
}

/// Most stylesheets a shard keeps compiled; beyond, the cache starts again (redeployments and
/// registry refreshes leave old entries behind).
const CACHE_MAX: usize = 256;

thread_local! {
    static COMPILED: RefCell<HashMap<usize, (SheetText, Rc<Stylesheet>)>> = RefCell::default();
}

/// This shard's compiled stylesheet for `origin`, compiling it on first use.
fn compiled(origin: SheetText) -> Result<Rc<Stylesheet>> {
    let address = origin.address();
    if let Some(s) = COMPILED.with(|c| c.borrow().get(&address).map(|(_, s)| s.clone())) {
        return Ok(s);
    }
    let sheet = Rc::new(
        Stylesheet::compile(origin.text())
            .map_err(|e| Error::mediation(format!("xslt stylesheet: {e}")))?,
    );
    COMPILED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(address, (origin, sheet.clone()));
    });
    Ok(sheet)
}
