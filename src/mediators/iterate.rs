//! `<iterate>`: splits the message into one part per element its `expression` selects (XPath, or
//! `json-eval` over a JSON array) and runs each part through the `<target>`, as Synapse's
//! IterateMediator does:
//! - a part is the selected element alone (the original SOAP headers kept for a SOAP message), or
//!   with `preservePayload="true"` the original payload without the selected elements, the part's
//!   element appended under `attachPath` (XML) or put at `attachPath` (JSON);
//! - each part gets `messageSequence[.id]` = `i/n` (0-based) and `aggregateCorelation[.id]` = the
//!   parent's message id, which an `<aggregate>` correlates and counts on;
//! - the parent stops after the split unless `continueParent="true"`, and then goes on unchanged.
//!
//! How the parts run (concurrently on the shard, bounded; a part that made a `call` goes on after
//! the iterate) is [`super::target`]'s. Unlike Synapse, the parent continues after its parts have
//! ended, not beside them.

use std::sync::Arc;

use bytes::Bytes;

use super::target::{self, Target};
use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::json::{JsonPath, JsonPathResult};
use crate::message::content::{Evaluated, Want};
use crate::message::context::BodyType;
use crate::message::{Expr, MessageContext, Value};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;
use crate::xml::{Content, Fragment};
use crate::xpath::dom::NodeKind;

#[derive(Debug, Clone)]
pub struct Iterate {
    pub id: Option<String>,
    pub expression: Path,
    /// `attachPath`, with `preservePayload="true"` only.
    pub attach: Option<Path>,
    pub preserve_payload: bool,
    pub continue_parent: bool,
    pub sequential: bool,
    pub target: Target,
}

/// An XPath or a `json-eval` JSONPath.
#[derive(Debug, Clone)]
pub enum Path {
    XPath(Arc<Expr>),
    Json(Arc<JsonPath>),
}

impl Path {
    /// Compiles `text`: `json-eval(…)` as a JSONPath, anything else as an XPath.
    pub fn compile(c: &mut impl Compile, text: &str, el: &Element, at: &Origin) -> Option<Path> {
        if let Some(inner) = super::json_eval_path(text) {
            return match super::json_path(c, inner, at) {
                Value::JsonPath(p) => Some(Path::Json(p)),
                _ => None,
            };
        }
        super::xpath(c, text, el, at).map(Path::XPath)
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        match self {
            Path::XPath(x) => x.source(),
            Path::Json(p) => p.as_str(),
        }
    }
}

impl Mediate for Iterate {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        r.known_attrs(
            el,
            &[
                "id",
                "expression",
                "attachPath",
                "preservePayload",
                "continueParent",
                "sequential",
                "description",
            ],
        );
        let expression = r.required(el, "expression")?.to_string();
        // Synapse reads these with Boolean.valueOf (any case) and sequential only as "true".
        let flag = |name: &str| {
            el.attr(name)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let preserve_payload = flag("preservePayload");
        let continue_parent = flag("continueParent");
        let sequential = el.attr("sequential") == Some("true");
        let expression = Path::compile(c, &expression, el, at)?;
        let attach = match el.attr("attachPath") {
            Some(_) if !preserve_payload => {
                c.error(
                    at,
                    "attachPath is given but preservePayload is not true (WSO2 refuses this)",
                );
                return None;
            }
            Some(text) => {
                let attach = Path::compile(c, text, el, at)?;
                if matches!(attach, Path::Json(_)) != matches!(expression, Path::Json(_)) {
                    c.error(
                        at,
                        "attachPath and expression must both be XPath or both json-eval",
                    );
                    return None;
                }
                Some(attach)
            }
            None if preserve_payload => Some(match &expression {
                Path::Json(_) => Path::Json(Arc::new(JsonPath::compile("$").ok()?)),
                Path::XPath(_) => {
                    c.warn(
                        at,
                        "preservePayload without attachPath attaches each part to the SOAP \
                         envelope itself (WSO2's default '.'), which WSO2 refuses at run time",
                    );
                    Path::XPath(super::xpath(c, ".", el, at)?)
                }
            }),
            None => None,
        };
        let mut targets = el.elements().filter(|e| is_synapse(e, "target"));
        let Some(first) = targets.next() else {
            c.error(at, "iterate needs a <target>");
            return None;
        };
        for extra in targets {
            c.warn(
                &super::at(extra, at),
                "only the first <target> of an iterate runs, as in WSO2",
            );
        }
        for child in el.elements() {
            if !is_synapse(child, "target") && !is_synapse(child, "description") {
                c.reader(&at.file).unknown_child(child, "iterate");
            }
        }
        let target = Target::compile(c, first, &super::at(first, at));
        c.needs_continuations();
        Some(Iterate {
            id: el.attr("id").map(str::to_string),
            expression,
            attach,
            preserve_payload,
            continue_parent,
            sequential,
            target,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        // Boxed: a split's future is large, and the future of every mediator list would
        // otherwise carry it (and the stack of each nested sequence with it).
        Box::pin(self.run_boxed(rt, ctx)).await
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        self.target.branch().into_iter().collect()
    }
}

/// The properties Synapse's splitters set on part `i` of `n`: `messageSequence[.id]` = `i/n` and
/// the correlation `aggregateCorelation[.id]` = the parent's message id (the bare name always).
pub fn set_sequence(
    part: &mut MessageContext,
    id: Option<&str>,
    parent_id: &str,
    i: usize,
    n: usize,
) {
    part.props
        .insert("aggregateCorelation".into(), parent_id.to_string().into());
    match id {
        Some(id) => {
            part.props
                .insert(format!("aggregateCorelation.{id}").into(), parent_id.to_string().into());
            part.props
                .insert(format!("messageSequence.{id}").into(), format!("{i}/{n}").into());
        }
        None => {
            part.props.insert("messageSequence".into(), format!("{i}/{n}").into());
        }
    }
}

impl Iterate {
    /// The parts' contents for an XPath expression.
    async fn xml_parts(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        x: &Expr,
    ) -> Result<Vec<(Bytes, BodyType)>> {
        let (nodes, doc) = match rt.eval_xpath(ctx, x, Want::Nodes).await? {
            (Evaluated::Nodes(nodes), Some(doc)) => (nodes, doc),
            // A string, number or boolean splits into nothing.
            _ => return Ok(Vec::new()),
        };
        let elements: Vec<_> = nodes
            .into_iter()
            .filter(|&n| doc.kind(n) == NodeKind::Element)
            .collect();
        if elements.is_empty() {
            return Ok(Vec::new());
        }
        // A SOAP message's parts are SOAP messages; plain XML (and the XML view of JSON) gives
        // plain XML parts.
        let soap = if ctx.body_type == BodyType::Xml {
            doc.soap_version()
        } else {
            None
        };
        if !self.preserve_payload {
            let header = soap.and_then(|_| doc.soap_header_content());
            return Ok(elements
                .iter()
                .map(|&e| {
                    let element = doc.standalone_bytes(e);
                    let body = match soap {
                        Some(v) => crate::xml::soap::build_envelope(v, header.as_deref(), &element),
                        None => element,
                    };
                    (body, BodyType::Xml)
                })
                .collect());
        }
        let Some(Path::XPath(attach)) = &self.attach else {
            return Err(Error::mediation("iterate: no attach path"));
        };
        let attach_to = match rt.eval_xpath(ctx, attach, Want::Nodes).await? {
            (Evaluated::Nodes(n), _) => n.first().copied(),
            _ => None,
        };
        let Some(attach_to) = attach_to.filter(|&n| doc.kind(n) == NodeKind::Element) else {
            return Err(Error::mediation(format!(
                "Error in attaching the splitted elements :: Unable to get the attach path \
                 specified by the expression {}",
                attach.source()
            )));
        };
        if soap.is_some() && attach_to == doc.root_element() {
            return Err(Error::mediation(
                "Error in attaching the splitted elements :: SOAP Envelope can not have children \
                 other than SOAP Header and Body",
            ));
        }
        let mut out = Vec::with_capacity(elements.len());
        for &e in &elements {
            let mut ed = doc.edit();
            for &m in &elements {
                ed.remove(m).map_err(super::edit::edit_err)?;
            }
            ed.append_child(
                attach_to,
                Content::Xml(Fragment::from_node(doc.clone(), e)),
            )
            .map_err(super::edit::edit_err)?;
            out.push((ed.finish(), BodyType::Xml));
        }
        Ok(out)
    }

    /// The parts' contents for a `json-eval` expression.
    async fn json_parts(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        p: &JsonPath,
    ) -> Result<Vec<(Bytes, BodyType)>> {
        let attach_text = self.attach.as_ref().map(Path::text).unwrap_or("$");
        let members = match rt.eval_json(ctx, p).await? {
            JsonPathResult::Value(serde_json::Value::Array(items)) => items,
            JsonPathResult::List(items) => items,
            JsonPathResult::Value(v) if p.as_str().trim() == attach_text.trim() => vec![v],
            JsonPathResult::NotFound if !self.preserve_payload && p.is_whole_body() => {
                return Ok(Vec::new())
            }
            _ => {
                return Err(Error::mediation(format!(
                    "JSON element expressed by the path {} is not a valid JSON array that can \
                     be iterated",
                    p.as_str()
                )))
            }
        };
        let write = |v: &serde_json::Value| Bytes::from(crate::json::to_compact_string(v));
        if !self.preserve_payload {
            return Ok(members.iter().map(|m| (write(m), BodyType::Json)).collect());
        }
        let Some(Path::Json(attach)) = &self.attach else {
            return Err(Error::mediation("iterate: no attach path"));
        };
        // The payload without the iterated array, each member put at the attach path.
        let text = ctx.body_bytes().await?;
        let mut root = if ctx.body_type == BodyType::Json {
            crate::json::parse(&text).map_err(|e| ctx.bad_content(format!("invalid JSON: {e}")))?
        } else {
            match rt
                .eval_json(ctx, &JsonPath::compile("$").map_err(|e| Error::mediation(e.to_string()))?)
                .await?
            {
                JsonPathResult::Value(v) => v,
                _ => serde_json::Value::Null,
            }
        };
        if p.as_str().trim() != attach.as_str().trim() {
            if let Some(array) = p.value_mut(&mut root) {
                *array = serde_json::Value::Array(Vec::new());
            }
        }
        if !attach.is_whole_body() && attach.value_mut(&mut root).is_none() {
            return Err(Error::mediation(format!(
                "Error in attaching the splitted elements :: Unable to get the attach path \
                 specified by the expression {}",
                attach.as_str()
            )));
        }
        let mut out = Vec::with_capacity(members.len());
        for m in members {
            let body = if attach.is_whole_body() {
                m
            } else {
                let mut whole = root.clone();
                if let Some(slot) = attach.value_mut(&mut whole) {
                    *slot = m;
                }
                whole
            };
            out.push((write(&body), BodyType::Json));
        }
        Ok(out)
    }
}

impl Iterate {
    async fn run_boxed(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let bodies = match &self.expression {
            Path::XPath(x) => self.xml_parts(rt, ctx, x).await?,
            Path::Json(p) => self.json_parts(rt, ctx, p).await?,
        };
        let (group, root) = target::begin(rt, ctx, bodies.len())?;
        let parent_id = ctx.message_id().to_string();
        let n = bodies.len();
        let parent = &*ctx;
        let parts = bodies
            .into_iter()
            .enumerate()
            .map(|(i, (body, body_type))| {
                let mut part = parent.fork(body, body_type);
                set_sequence(&mut part, self.id.as_deref(), &parent_id, i, n);
                (part, &self.target)
            });
        target::run_parts(rt, &group, parts, self.sequential).await;
        Ok(target::finish(ctx, &group, root, self.continue_parent))
    }
}
