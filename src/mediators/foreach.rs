//! `<foreach>` (the classic form): runs a sequence on each element its `expression` selects, on
//! the same message, and puts the results back in place, as Synapse's ForEachMediator does:
//! - XML: the selected elements are taken out; each in turn becomes the whole payload (in a new
//!   envelope for a SOAP message), the sequence runs, and the payload's first element is appended
//!   to the parent of the first selected element; the message is that document afterwards.
//! - JSON (`json-eval` of an array): each item becomes the payload in turn, and the array is
//!   replaced by the payloads the sequence left.
//! - `[id_]FOREACH_COUNTER` counts the iterations and `[id_]FOREACH_ORIGINAL_MESSAGE` keeps the
//!   message as it was. Properties set inside the loop stay (there is one message).
//! - The sequence may not contain `call`, `send` or `callout` (an error at deployment for an
//!   inline sequence; WSO2 checks a named one at run time, mint does not).
//! - A sequence that stops ends the loop (the elements not reached are lost, as in WSO2); one that
//!   fails runs the fault handler, unless `continueLoopOnFailure="true"`, which goes on with the
//!   next element (a failed JSON item is left out, a failed XML element is kept as it was).
//!
//! MI 4.4's form (`collection="${…}"`) is [`Collection`]: each item runs on its own copy of the
//! message, and the results replace the collection (or go to a variable).

use std::sync::Arc;

use bytes::Bytes;

use super::iterate::Path;
use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::json::{JsonPath, JsonPathResult};
use crate::message::content::{Evaluated, Want};
use crate::message::context::BodyType;
use crate::message::{Expr, MessageContext, SeqId};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;
use crate::xml::{Content, Fragment};
use crate::xpath::dom::NodeKind;

#[derive(Debug, Clone)]
pub struct ForEach {
    pub id: Option<String>,
    pub expression: Path,
    pub body: Body,
    pub continue_on_failure: bool,
}

/// What runs on each element.
#[derive(Debug, Clone)]
pub enum Body {
    Inline(Vec<Mediator>),
    Sequence(SeqId),
    /// MI 4.4's form (`collection=…`).
    Collection(Box<Collection>),
}

impl Mediate for ForEach {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        if el.attr("collection").is_some_and(|v| !v.trim().is_empty()) {
            let collection = Collection::compile(c, el, at)?;
            return Some(ForEach {
                id: None,
                expression: Path::Json(Arc::new(JsonPath::compile("$").ok()?)),
                body: Body::Collection(Box::new(collection)),
                continue_on_failure: false,
            });
        }
        let mut r = c.reader(&at.file);
        r.known_attrs(
            el,
            &[
                "id",
                "expression",
                "sequence",
                "continueLoopOnFailure",
                "description",
            ],
        );
        let text = r.required(el, "expression")?.to_string();
        let continue_on_failure = r.bool_attr(el, "continueLoopOnFailure", false);
        let expression = Path::compile(c, &text, el, at)?;
        if let Path::Json(p) = &expression {
            if !p.is_whole_body() && !p.is_definite() {
                c.error(
                    at,
                    format!(
                        "foreach over '{}': mint writes the results back only to a path of \
                         names and indices",
                        p.as_str()
                    ),
                );
                return None;
            }
        }
        let inline = el.elements().find(|e| is_synapse(e, "sequence"));
        for child in el.elements() {
            if !is_synapse(child, "sequence") && !is_synapse(child, "description") {
                c.reader(&at.file).unknown_child(child, "foreach");
            }
        }
        let body = match (el.attr("sequence"), inline) {
            (Some(key), _) => Body::Sequence(c.sequence_key(key.trim(), at)?),
            (None, Some(seq)) => {
                let sat = super::at(seq, at);
                for m in seq.elements() {
                    if ["call", "send", "callout"].contains(&m.local.as_str()) && is_synapse(m, &m.local) {
                        c.error(
                            &super::at(m, at),
                            "the sequence of a foreach cannot contain call, send or callout",
                        );
                        return None;
                    }
                }
                Body::Inline(super::list(c, seq, &sat))
            }
            (None, None) => {
                c.error(at, "foreach needs a sequence (sequence=\"…\" or an inline <sequence>)");
                return None;
            }
        };
        Some(ForEach {
            id: el.attr("id").map(str::to_string),
            expression,
            body,
            continue_on_failure,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        // Boxed: a split's future is large, and the future of every mediator list would
        // otherwise carry it (and the stack of each nested sequence with it).
        Box::pin(self.run_boxed(rt, ctx)).await
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        match &self.body {
            Body::Inline(list) => vec![list],
            Body::Collection(c) => vec![&c.body],
            _ => Vec::new(),
        }
    }
}

/// How one iteration ended.
enum Step {
    Done,
    /// The sequence stopped: the loop ends.
    Stopped,
    /// The sequence failed and `continueLoopOnFailure` let the loop go on.
    Failed,
    /// A fault handler ran or the client was answered: the flow ends here.
    Ended,
}

impl ForEach {
    async fn step(&self, rt: &impl Runtime, ctx: &mut MessageContext, counter: &str, i: usize) -> Step {
        let faulted = ctx.fault.is_some();
        if self.continue_on_failure {
            ctx.catching += 1;
        }
        let flow = match &self.body {
            Body::Inline(list) => rt.run_list(ctx, list).await,
            Body::Sequence(id) => rt.run_sequence(ctx, *id).await,
            Body::Collection(_) => Flow::Stop,
        };
        if self.continue_on_failure {
            ctx.catching -= 1;
        }
        ctx.props.insert(counter.to_string().into(), (i + 1).to_string().into());
        if ctx.caught.take().is_some() {
            return Step::Failed;
        }
        if ctx.responded || (!faulted && ctx.fault.is_some()) {
            return Step::Ended;
        }
        match flow {
            Flow::Continue => Step::Done,
            Flow::Stop if self.continue_on_failure => Step::Done,
            Flow::Stop => Step::Stopped,
        }
    }

    async fn run_xml(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        x: &Expr,
        counter: &str,
    ) -> Result<Flow> {
        let (nodes, doc) = match rt.eval_xpath(ctx, x, Want::Nodes).await? {
            (Evaluated::Nodes(n), Some(doc)) => (n, doc),
            _ => return Ok(Flow::Continue),
        };
        let elements: Vec<_> = nodes
            .into_iter()
            .filter(|&n| doc.kind(n) == NodeKind::Element)
            .collect();
        if elements.is_empty() {
            return Ok(Flow::Continue);
        }
        let soap = if ctx.body_type == BodyType::Xml {
            doc.soap_version()
        } else {
            None
        };
        let mut done: Vec<u8> = Vec::new();
        for (i, &e) in elements.iter().enumerate() {
            let element = doc.standalone_bytes(e);
            let payload = match soap {
                Some(v) => crate::xml::soap::build_envelope(v, None, &element),
                None => element.clone(),
            };
            ctx.set_content_typed(payload, None, BodyType::Xml);
            let step = self.step(rt, ctx, counter, i).await;
            if let Step::Ended = step {
                return Ok(Flow::Stop);
            }
            let result = match step {
                Step::Failed => element,
                _ => {
                    let now = ctx.document().await?;
                    let first = match now.soap_version() {
                        Some(_) => now.soap_payload(),
                        None => Some(now.root_element()),
                    };
                    match first {
                        Some(p) => now.standalone_bytes(p),
                        None => {
                            return Err(Error::mediation(
                                "foreach: the sequence left the message without a payload",
                            ))
                        }
                    }
                }
            };
            done.extend_from_slice(&result);
            if let Step::Stopped = step {
                break;
            }
        }
        let out = replace_elements(&doc, &elements, &done)?;
        ctx.set_content_typed(out, None, BodyType::Xml);
        Ok(Flow::Continue)
    }

    async fn run_json(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        p: &JsonPath,
        counter: &str,
    ) -> Result<Flow> {
        use serde_json::Value as J;
        let whole = JsonPath::compile("$").map_err(|e| Error::mediation(e.to_string()))?;
        let mut root = match rt.eval_json(ctx, &whole).await? {
            JsonPathResult::Value(v) => v,
            _ => J::Null,
        };
        let items = match rt.eval_json(ctx, p).await? {
            JsonPathResult::Value(J::Array(items)) | JsonPathResult::List(items) => items,
            _ => {
                return Err(Error::mediation(format!(
                    "JSON element expressed by the path {} is not a valid JSON array",
                    p.as_str()
                )))
            }
        };
        if items.is_empty() {
            return Ok(Flow::Continue);
        }
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let text = crate::json::to_compact_string(&item);
            ctx.set_content_typed(Bytes::from(text), None, BodyType::Json);
            let step = self.step(rt, ctx, counter, i).await;
            match step {
                Step::Ended => return Ok(Flow::Stop),
                Step::Failed => continue,
                Step::Done | Step::Stopped => {
                    if let JsonPathResult::Value(v) = rt.eval_json(ctx, &whole).await? {
                        results.push(v);
                    }
                }
            }
            if let Step::Stopped = step {
                break;
            }
        }
        let results = J::Array(results);
        if p.is_whole_body() {
            root = results;
        } else if let Some(slot) = p.value_mut(&mut root) {
            *slot = results;
        }
        let text = crate::json::to_compact_string(&root);
        ctx.set_content_typed(Bytes::from(text), None, BodyType::Json);
        Ok(Flow::Continue)
    }
}

impl ForEach {
    async fn run_boxed(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        if let Body::Collection(c) = &self.body {
            return c.run(rt, ctx).await;
        }
        let prefix = self.id.as_deref().map(|id| format!("{id}_")).unwrap_or_default();
        let original = ctx.body_bytes().await?;
        ctx.props.insert(
            format!("{prefix}FOREACH_ORIGINAL_MESSAGE").into(),
            String::from_utf8_lossy(&original).into_owned().into(),
        );
        let counter = format!("{prefix}FOREACH_COUNTER");
        ctx.props.insert(counter.clone().into(), "0".into());
        match &self.expression {
            Path::XPath(x) => self.run_xml(rt, ctx, x, &counter).await,
            Path::Json(p) => self.run_json(rt, ctx, p, &counter).await,
        }
    }
}

/// MI 4.4's foreach (`ForEachMediatorV2`): `collection="${…}"` (a JSON array) is split into
/// one branch per item, each on a copy of the message whose payload is the item; the branches
/// run concurrently (`parallel-execution`, default true) or one by one with `counter-variable`
/// holding the index. Then, unless `continue-without-aggregation`, each branch's payload
/// replaces its item where the collection was read (`update-original`, the default), or the
/// results go to `target-variable` as a JSON array or, with `result-content-type="XML"`, inside
/// `<result-enclosing-element>`; results are in item order. The original message goes on after
/// the branches have ended (MI continues it when they are aggregated). A branch that stops
/// contributes nothing: its item stays as it was (MI never completes then).
///
/// A collection that is one `xpath()` call (`${xpath('//a')}`, or `${xpath('//a', 'v')}` over the
/// XML variable `v` holds) iterates over the elements it selects: each branch's payload is the
/// element, and updating the original takes the elements out and appends the branches' payloads
/// to the first one's parent, as MI's ForEachMediatorV2 does.
#[derive(Debug, Clone)]
pub struct Collection {
    pub collection: Arc<crate::message::SynapseExpr>,
    pub parallel: bool,
    pub aggregate: bool,
    pub update_original: bool,
    pub target_variable: Option<String>,
    pub result_xml: bool,
    pub enclosing: Option<String>,
    pub counter: Option<String>,
    pub body: Vec<Mediator>,
    id: String,
}

impl Collection {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Collection> {
        let mut r = c.reader(&at.file);
        r.known_attrs(
            el,
            &[
                "collection",
                "parallel-execution",
                "continue-without-aggregation",
                "update-original",
                "target-variable",
                "result-content-type",
                "result-enclosing-element",
                "counter-variable",
                "description",
            ],
        );
        let text = el.attr("collection").unwrap_or_default();
        let Some(inner) = crate::synexpr::inner(text) else {
            r.error(el.pos, "collection must be a Synapse expression ${…}");
            return None;
        };
        let parallel = el.attr("parallel-execution") != Some("false");
        let aggregate = !el
            .attr("continue-without-aggregation")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let update_original = el.attr("update-original") != Some("false");
        let target_variable = el.attr("target-variable").map(str::to_string);
        let result_type = el.attr("result-content-type");
        let enclosing = el.attr("result-enclosing-element").map(str::to_string);
        let counter = el.attr("counter-variable").map(str::to_string);
        if counter.is_some() && parallel {
            r.error(
                el.pos,
                "counter-variable is allowed only with parallel-execution=\"false\"",
            );
            return None;
        }
        if aggregate && !update_original {
            if target_variable.is_none() || !matches!(result_type, Some("JSON" | "XML")) {
                r.error(
                    el.pos,
                    "update-original=\"false\" needs target-variable and result-content-type JSON or XML",
                );
                return None;
            }
            if result_type == Some("XML") && enclosing.is_none() {
                r.error(
                    el.pos,
                    "result-content-type=\"XML\" needs result-enclosing-element",
                );
                return None;
            }
        }
        let Some(seq) = el.elements().find(|e| is_synapse(e, "sequence")) else {
            r.error(el.pos, "foreach needs a <sequence>");
            return None;
        };
        let collection = super::synapse_expression(c, inner, el, at)?;
        if aggregate
            && update_original
            && collection.expr.location().is_none()
            && collection.expr.as_xpath().is_none()
        {
            c.error(
                at,
                format!(
                    "foreach updates the original collection, so '{text}' must read the payload \
                     or a variable with a fixed path, or be one xpath() call"
                ),
            );
            return None;
        }
        let body = super::list(c, seq, &super::at(seq, at));
        c.needs_continuations();
        Some(Collection {
            collection,
            parallel,
            aggregate,
            update_original,
            target_variable,
            result_xml: result_type == Some("XML"),
            enclosing,
            counter,
            body,
            id: format!("{:x}", at.pos.line as u64 * 100_003 + at.pos.col as u64),
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        use crate::synexpr::Val;
        let source = match self.collection.expr.as_xpath() {
            Some(i) => self.xml_source(rt, ctx, i).await?,
            None => match rt
                .eval_object(ctx, &crate::message::Value::Synapse(self.collection.clone()))
                .await?
            {
                Val::Json(serde_json::Value::Array(items)) => Source::Json(items),
                _ => {
                    return Err(Error::mediation(format!(
                        "Expression ${{{}}} did not resolve to a valid array",
                        self.collection.expr.source()
                    )))
                }
            },
        };
        let bodies: Vec<(Bytes, BodyType)> = match &source {
            Source::Json(items) => items
                .iter()
                .map(|item| (Bytes::from(crate::json::to_compact_string(item)), BodyType::Json))
                .collect(),
            Source::Xml {
                doc,
                elements,
                variable,
            } => {
                // A SOAP message's branches are SOAP messages.
                let soap = match (&ctx.body_type, variable) {
                    (BodyType::Xml, None) => doc.soap_version(),
                    _ => None,
                };
                elements
                    .iter()
                    .map(|&e| {
                        let element = doc.standalone_bytes(e);
                        let body = match soap {
                            Some(v) => crate::xml::soap::build_envelope(v, None, &element),
                            None => element,
                        };
                        (body, BodyType::Xml)
                    })
                    .collect()
            }
        };
        if bodies.is_empty() {
            return Ok(Flow::Continue);
        }
        // Counted against the request's limit; the branches start splits of their own.
        let budget = super::target::begin_branches(rt, ctx, bodies.len())?;
        let n = bodies.len();
        let parent_id = ctx.message_id().to_string();
        let mut branches = Vec::with_capacity(n);
        for (i, (body, body_type)) in bodies.into_iter().enumerate() {
            let mut part = ctx.fork(body, body_type);
            part.split = None;
            part.split_budget = Some(budget.clone());
            super::iterate::set_sequence(&mut part, Some(&self.id), &parent_id, i, n);
            part.props.insert("SCATTER_MESSAGES".into(), "true".into());
            if let Some(counter) = &self.counter {
                part.vars.insert(counter.clone(), Val::Int(i as i32));
            }
            branches.push(super::gather::Branch {
                ctx: part,
                list: &self.body,
            });
        }
        let done = super::gather::run(
            rt,
            branches,
            !self.parallel,
            super::gather::Until::default(),
            None,
        )
        .await;
        if !self.aggregate {
            return Ok(Flow::Continue);
        }
        let whole = JsonPath::compile("$").map_err(|e| Error::mediation(e.to_string()))?;
        let xml_results = self.result_xml || matches!(source, Source::Xml { .. });
        let mut results: Vec<Option<serde_json::Value>> = vec![None; n];
        let mut xml: Vec<Option<Bytes>> = vec![None; n];
        for (i, mut part) in done {
            if xml_results && (self.update_original || self.result_xml) {
                let doc = part.document().await?;
                xml[i] = doc.payload_bytes();
            } else if let JsonPathResult::Value(v) = rt.eval_json(&mut part, &whole).await? {
                results[i] = Some(v);
            }
        }
        if !self.update_original {
            let name = self.target_variable.clone().unwrap_or_default();
            let v = if self.result_xml {
                let tag = self.enclosing.as_deref().unwrap_or("result");
                let mut out = format!("<{tag}>");
                for x in xml.into_iter().flatten() {
                    out.push_str(&String::from_utf8_lossy(&x));
                }
                out.push_str(&format!("</{tag}>"));
                Val::Xml(out)
            } else {
                Val::Json(serde_json::Value::Array(
                    results
                        .into_iter()
                        .map(|r| r.unwrap_or(serde_json::Value::Null))
                        .collect(),
                ))
            };
            ctx.vars.insert(name, v);
            return Ok(Flow::Continue);
        }
        match source {
            Source::Json(items) => self.update_json(rt, ctx, items, results).await,
            Source::Xml {
                doc,
                elements,
                variable,
            } => {
                // MI detaches the collection's elements and appends the results to the parent
                // of the first (at its end), in item order; an item whose branch did not end
                // normally is gone.
                let results: Vec<u8> = xml.into_iter().flatten().flatten().collect();
                let out = replace_elements(&doc, &elements, &results)?;
                match variable {
                    None => ctx.set_content(out, None),
                    Some(name) => {
                        let text = String::from_utf8_lossy(&out).into_owned();
                        ctx.vars.insert(name, Val::Xml(text));
                    }
                }
                Ok(Flow::Continue)
            }
        }
    }

    /// The elements `${xpath(…)}` selects, in the message or in the XML a variable holds.
    async fn xml_source(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        i: usize,
    ) -> Result<Source> {
        let (x, variable) = &self.collection.xpaths[i];
        let (nodes, doc) = match variable {
            None => match rt.eval_xpath(ctx, x, Want::Nodes).await? {
                (Evaluated::Nodes(n), Some(doc)) => (n, doc),
                _ => (Vec::new(), ctx.document().await?),
            },
            Some(name) => {
                let doc = ctx.variable_document(name).map_err(Error::mediation)?;
                match rt.eval_xpath_on(ctx, x, &doc, Want::Nodes).await? {
                    Evaluated::Nodes(n) => (n, doc),
                    _ => (Vec::new(), doc),
                }
            }
        };
        let elements: Vec<_> = nodes
            .into_iter()
            .filter(|&n| doc.kind(n) == NodeKind::Element)
            .collect();
        if elements.is_empty() {
            return Err(Error::mediation(format!(
                "Expression ${{{}}} did not resolve to a valid array",
                self.collection.expr.source()
            )));
        }
        Ok(Source::Xml {
            doc,
            elements,
            variable: variable.clone(),
        })
    }

    /// Writes the branches' results over the JSON array the collection read.
    async fn update_json(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        items: Vec<serde_json::Value>,
        results: Vec<Option<serde_json::Value>>,
    ) -> Result<Flow> {
        use crate::synexpr::Val;
        let array = serde_json::Value::Array(
            results
                .into_iter()
                .zip(items)
                .map(|(r, item)| r.unwrap_or(item))
                .collect(),
        );
        let Some((var, path)) = self.collection.expr.location() else {
            return Ok(Flow::Continue);
        };
        let whole = JsonPath::compile("$").map_err(|e| Error::mediation(e.to_string()))?;
        let mut root = match var {
            None => match rt.eval_json(ctx, &whole).await? {
                JsonPathResult::Value(v) => v,
                _ => serde_json::Value::Null,
            },
            Some(name) => match ctx.vars.get(name) {
                Some(v) => v.to_json(),
                None => serde_json::Value::Null,
            },
        };
        match path {
            None => root = array,
            Some(p) => {
                if let Some(slot) = p.value_mut(&mut root) {
                    *slot = array;
                }
            }
        }
        match var {
            None => {
                let text = crate::json::to_compact_string(&root);
                ctx.set_content_typed(Bytes::from(text), None, BodyType::Json);
            }
            Some(name) => {
                ctx.vars.insert(name.to_string(), Val::from_json(root));
            }
        }
        Ok(Flow::Continue)
    }
}

/// What a collection foreach iterates over.
enum Source {
    Json(Vec<serde_json::Value>),
    /// Elements of `doc`: the message's document, or the one a variable holds.
    Xml {
        doc: Arc<crate::xml::Document>,
        elements: Vec<crate::xpath::dom::NodeId>,
        variable: Option<String>,
    },
}

/// `doc` with `elements` taken out and `results` (well-formed XML, possibly several elements)
/// appended to the parent of the first of them, as both foreach forms put their results back.
fn replace_elements(
    doc: &crate::xml::Document,
    elements: &[crate::xpath::dom::NodeId],
    results: &[u8],
) -> Result<Bytes> {
    let Some(parent) = elements
        .first()
        .and_then(|&e| doc.parent(e))
        .filter(|&p| doc.kind(p) == NodeKind::Element)
    else {
        return Err(Error::mediation(
            "foreach: the collection's elements have no parent element to put the results in",
        ));
    };
    let mut ed = doc.edit();
    for &e in elements {
        ed.remove(e).map_err(super::edit::edit_err)?;
    }
    if !results.is_empty() {
        let processed =
            Fragment::parse(&String::from_utf8_lossy(results)).map_err(super::edit::edit_err)?;
        ed.append_child(parent, Content::Xml(processed))
            .map_err(super::edit::edit_err)?;
    }
    Ok(ed.finish())
}
