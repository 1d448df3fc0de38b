//! `<aggregate>`: collects the parts of a split (iterate, clone) and, once complete, runs
//! `onComplete` on one message built from them, as Synapse's AggregateMediator does.
//!
//! - **Correlation**: a part belongs to the aggregation of its `aggregateCorelation[.id]`
//!   property (the splitter's parent message id); with `correlateOn`, every message the
//!   expression matches joins one aggregation (Synapse keys it by the expression's text), and a
//!   `false` result lets the message pass. A message without correlation passes through.
//! - **Completion**, whichever comes first: as many parts as the first part's
//!   `messageSequence[.id]` (`i/n`) says, `messageCount min` or `max` (≤ 0: unused; numbers or
//!   `{expressions}` read on the first part), or `completeCondition timeout` (whole seconds).
//!   A part that does not complete the aggregation stops there; one arriving after completion is
//!   dropped.
//! - **The aggregated message** is the first part to arrive (its properties, its envelope): for
//!   XML, its body keeps its own payload (or becomes its matches when they lie deeper) and every
//!   other part's `onComplete expression` matches are added as body children, in arrival order,
//!   wrapped in the `enclosingElementProperty` element when one is named. For `json-eval`, the
//!   body is a JSON array of each part's result (`aggregateElementType="child"` merges objects),
//!   inside `{"<enclosing element's name>": …}` when named.
//!
//! mint keeps aggregations per request (see [`crate::message::split`]): `correlateOn` therefore
//! collects the parts of the request's own split, never messages of other requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::iterate::Path;
use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::json::JsonPathResult;
use crate::message::content::{Evaluated, Want};
use crate::message::context::BodyType;
use crate::message::split::{Aggregation, Collected, SplitGroup};
use crate::message::{MessageContext, SeqId, Value};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;
use crate::xml::{Document, Fragment};
use crate::xpath::dom::NodeKind;

#[derive(Debug, Clone)]
pub struct Aggregate {
    pub id: Option<String>,
    pub correlate_on: Option<Path>,
    pub timeout: Option<Duration>,
    pub min: Option<Value>,
    pub max: Option<Value>,
    /// `onComplete expression`; None: the first child of each message's body.
    pub expression: Option<Path>,
    pub on_complete: OnComplete,
    pub enclosing: Option<String>,
    /// `aggregateElementType="child"`: JSON objects are merged into one.
    pub merge_objects: bool,
}

/// What runs on the aggregated message.
#[derive(Debug, Clone)]
pub enum OnComplete {
    Inline(Vec<Mediator>),
    Sequence(SeqId),
    /// No `<onComplete>` (WSO2 fails when the aggregation completes), or a sequence key that
    /// names nothing.
    Missing(String),
}

impl Mediate for Aggregate {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        c.reader(&at.file)
            .known_attrs(el, &["id", "description"]);
        let mut correlate_on = None;
        let mut timeout = None;
        let (mut min, mut max) = (None, None);
        let mut expression = None;
        let mut on_complete = None;
        let mut enclosing = None;
        let mut merge_objects = false;
        for child in el.elements() {
            let cat = super::at(child, at);
            match child.local.as_str() {
                "correlateOn" if is_synapse(child, "correlateOn") => {
                    c.reader(&at.file).known_attrs(child, &["expression"]);
                    let text = c.reader(&at.file).required(child, "expression")?.to_string();
                    correlate_on = Some(Path::compile(c, &text, child, &cat)?);
                }
                "completeCondition" if is_synapse(child, "completeCondition") => {
                    c.reader(&at.file).known_attrs(child, &["timeout"]);
                    if let Some(t) = child.attr("timeout") {
                        match t.trim().parse::<u64>() {
                            Ok(0) => {}
                            Ok(secs) => timeout = Some(Duration::from_secs(secs)),
                            Err(_) => {
                                c.error(
                                    &cat,
                                    format!("completeCondition timeout '{t}' is not a whole number of seconds"),
                                );
                                return None;
                            }
                        }
                    }
                    for mc in child.elements() {
                        if !is_synapse(mc, "messageCount") {
                            c.reader(&at.file).unknown_child(mc, "completeCondition");
                            continue;
                        }
                        c.reader(&at.file).known_attrs(mc, &["min", "max"]);
                        let mat = super::at(mc, at);
                        min = count(c, mc, "min", &mat)?;
                        max = count(c, mc, "max", &mat)?;
                    }
                }
                "onComplete" if is_synapse(child, "onComplete") => {
                    c.reader(&at.file).known_attrs(
                        child,
                        &[
                            "expression",
                            "sequence",
                            "enclosingElementProperty",
                            "aggregateElementType",
                        ],
                    );
                    expression = match child.attr("expression") {
                        Some(text) => Some(Path::compile(c, text, child, &cat)?),
                        None => None,
                    };
                    enclosing = child.attr("enclosingElementProperty").map(str::to_string);
                    merge_objects = match child.attr("aggregateElementType").map(str::trim) {
                        None | Some("root") => false,
                        Some("child") => true,
                        Some(other) => {
                            c.error(
                                &cat,
                                format!("aggregateElementType '{other}' is neither root nor child"),
                            );
                            return None;
                        }
                    };
                    on_complete = Some(match child.attr("sequence") {
                        Some(key) => match c.sequence_key(key.trim(), &cat) {
                            Some(id) => OnComplete::Sequence(id),
                            None => OnComplete::Missing(format!(
                                "Unable to find the sequence for the mediation of the aggregated message: '{}'",
                                key.trim()
                            )),
                        },
                        // Without children, WSO2's onComplete drops the aggregated message.
                        None => OnComplete::Inline(super::list(c, child, &cat)),
                    });
                }
                "description" => {}
                _ => c.reader(&at.file).unknown_child(child, "aggregate"),
            }
        }
        if correlate_on.is_some() && (min.is_none() || max.is_none()) {
            c.warn(
                at,
                "correlateOn without both messageCount min and max fails at run time in WSO2; \
                 mint completes it by the other conditions",
            );
        }
        let on_complete = on_complete.unwrap_or_else(|| {
            c.warn(
                at,
                "aggregate has no <onComplete>: completing it is a fault, as in WSO2",
            );
            OnComplete::Missing(
                "Unable to find the sequence for the mediation of the aggregated message".into(),
            )
        });
        Some(Aggregate {
            id: el.attr("id").map(str::to_string),
            correlate_on,
            timeout,
            min,
            max,
            expression,
            on_complete,
            enclosing,
            merge_objects,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        // Boxed: a split's future is large, and the future of every mediator list would
        // otherwise carry it (and the stack of each nested sequence with it).
        Box::pin(self.run_boxed(rt, ctx)).await
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        match &self.on_complete {
            OnComplete::Inline(list) => vec![list],
            _ => Vec::new(),
        }
    }
}

/// `min` / `max` of `<messageCount>`: a number or `{expression}`.
fn count(c: &mut impl Compile, el: &Element, name: &str, at: &Origin) -> Option<Option<Value>> {
    let Some(text) = el.attr(name).map(str::trim) else {
        return Some(None);
    };
    if !text.starts_with('{') && text.parse::<f64>().is_err() {
        c.error(at, format!("messageCount {name} '{text}' is not a number"));
        return None;
    }
    Some(Some(super::dynamic_value(c, text, el, at)))
}

/// Waits until the aggregation completes (false) or `timeout` after it was opened passes (true).
async fn wait(group: &SplitGroup, owner: usize, key: &str, timeout: Duration) -> bool {
    let deadline = group
        .with_open(owner, key, |a| a.and_then(|a| a.deadline))
        .unwrap_or_else(|| Instant::now() + timeout);
    let completed = std::future::poll_fn(|cx| {
        if group.is_completed(owner, key) {
            return std::task::Poll::Ready(false);
        }
        group.with_open(owner, key, |a| {
            if let Some(a) = a {
                a.waiter = Some(cx.waker().clone());
            }
        });
        std::task::Poll::Pending
    });
    let timer = async {
        glommio::timer::Timer::new(deadline.saturating_duration_since(Instant::now())).await;
        true
    };
    futures_lite::future::or(completed, timer).await
}

impl Aggregate {
    /// The correlation key, or None when the message passes through.
    async fn correlation(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
    ) -> Result<Option<String>> {
        match &self.correlate_on {
            Some(Path::XPath(x)) => match rt.eval_xpath(ctx, x, Want::Nodes).await?.0 {
                Evaluated::Bool(false) => Ok(None),
                Evaluated::Nodes(n) if n.is_empty() => Err(Error::mediation(format!(
                    "Failed to evaluate correlate expression: {}",
                    x.source()
                ))),
                _ => Ok(Some(x.source().to_string())),
            },
            Some(Path::Json(p)) => match rt.eval_json(ctx, p).await? {
                JsonPathResult::Value(serde_json::Value::Bool(false)) => Ok(None),
                JsonPathResult::NotFound => Err(Error::mediation(format!(
                    "Failed to evaluate correlate expression: {}",
                    p.as_str()
                ))),
                _ => Ok(Some(p.as_str().to_string())),
            },
            None => {
                let name = match &self.id {
                    Some(id) => format!("aggregateCorelation.{id}"),
                    None => "aggregateCorelation".to_string(),
                };
                Ok(ctx.props.get(name.as_str()).map(|v| v.as_str().to_owned()))
            }
        }
    }

    /// `n` of the first part's `messageSequence[.id]` (`i/n`).
    fn total(&self, ctx: &MessageContext) -> Option<usize> {
        let name = match &self.id {
            Some(id) => format!("messageSequence.{id}"),
            None => "messageSequence".to_string(),
        };
        ctx.props
            .get(name.as_str())?
            .split('/')
            .nth(1)?
            .trim()
            .parse()
            .ok()
    }

    /// `min` / `max` on the first part: ≤ 0 (or unset) is unused.
    async fn count(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        v: Option<&Value>,
    ) -> Result<i64> {
        let Some(v) = v else {
            return Ok(-1);
        };
        let text = rt.eval(ctx, v).await?;
        text.trim()
            .parse::<f64>()
            .map(|f| f as i64)
            .map_err(|_| Error::mediation(format!("messageCount '{text}' is not a number")))
    }

    /// A copy of the first part, the base of the aggregated message.
    async fn keep(&self, ctx: &mut MessageContext) -> Result<MessageContext> {
        let body = ctx.body_bytes().await?;
        let mut first = ctx.fork(body, ctx.body_type);
        first.xml = ctx.xml.clone();
        first.called = ctx.called;
        Ok(first)
    }

    /// What one part contributes.
    async fn collect(&self, rt: &impl Runtime, ctx: &mut MessageContext, first: bool) -> Collected {
        let result = match &self.expression {
            Some(Path::Json(p)) => {
                return match rt.eval_json(ctx, p).await {
                    Ok(r) => Collected::Json(json_element(r)),
                    Err(e) => Collected::Failed(e),
                }
            }
            Some(Path::XPath(x)) => xml_matches(rt, ctx, Some(x), first).await,
            None => xml_matches(rt, ctx, None, first).await,
        };
        match result {
            Ok(parts) => Collected::Xml(parts),
            Err(e) => Collected::Failed(e),
        }
    }

    /// Completes the aggregation: the aggregated message replaces `ctx` and runs onComplete.
    async fn complete(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        group: &SplitGroup,
        owner: usize,
        key: &str,
    ) -> Result<Flow> {
        let Some(agg) = group.close(owner, key) else {
            return Ok(Flow::Stop);
        };
        let Some(mut msg) = agg.first else {
            return Ok(Flow::Stop);
        };
        let frames = std::mem::take(&mut ctx.frames);
        msg.frames = frames;
        *ctx = msg;
        self.build(ctx, agg.collected)?;
        match &self.on_complete {
            OnComplete::Inline(list) => Ok(rt.run_list(ctx, list).await),
            OnComplete::Sequence(id) => Ok(rt.run_sequence(ctx, *id).await),
            OnComplete::Missing(msg) => Err(Error::mediation(msg.clone())),
        }
    }

    /// Writes the aggregated content into the first part's message.
    fn build(&self, ctx: &mut MessageContext, collected: Vec<Collected>) -> Result<()> {
        if matches!(self.expression, Some(Path::Json(_))) {
            return self.build_json(ctx, collected);
        }
        let what = self
            .expression
            .as_ref()
            .map(|p| match p {
                Path::XPath(x) => x.source().to_string(),
                Path::Json(p) => p.as_str().to_string(),
            })
            .unwrap_or_else(|| "the first child of the body".into());
        let mut children: Vec<Bytes> = Vec::new();
        for (i, c) in collected.into_iter().enumerate() {
            match c {
                Collected::Xml(parts) if parts.is_empty() && i > 0 => {
                    return Err(Error::mediation(format!(
                        "Error evaluating expression: {what}: Could not find matching elements to aggregate."
                    )))
                }
                Collected::Xml(parts) => children.extend(parts),
                Collected::Failed(e) => {
                    return Err(Error::mediation(format!(
                        "Error evaluating expression: {what}: {e}"
                    )))
                }
                Collected::Json(_) => {}
            }
        }
        let children = match &self.enclosing {
            Some(p) => enclose(ctx, p, &children)?,
            None => children.concat(),
        };
        let soap = if ctx.body_type == BodyType::Xml {
            ctx.xml
                .as_ref()
                .and_then(|d| d.soap_version().map(|v| (v, d.clone())))
        } else {
            None
        };
        let body = match soap {
            Some((v, doc)) => {
                let header = doc.soap_header_content();
                crate::xml::soap::build_envelope(v, header.as_deref(), &children)
            }
            None => {
                let single = Fragment::parse(&String::from_utf8_lossy(&children))
                    .is_ok_and(|f| f.is_single_element());
                if single {
                    Bytes::from(children)
                } else {
                    // Several elements: a body of several children, of which only the first
                    // goes on the wire as plain XML (Synapse's POX formatter).
                    let out = crate::xml::soap::build_envelope(
                        crate::xml::SoapVersion::Soap11,
                        None,
                        &children,
                    );
                    ctx.set_content_typed(out, None, BodyType::Xml);
                    ctx.payload_only = true;
                    return Ok(());
                }
            }
        };
        ctx.set_content_typed(body, None, BodyType::Xml);
        Ok(())
    }

    fn build_json(&self, ctx: &mut MessageContext, collected: Vec<Collected>) -> Result<()> {
        use serde_json::Value as J;
        let mut results = Vec::with_capacity(collected.len());
        for c in collected {
            match c {
                Collected::Json(v) => results.push(v.unwrap_or(J::Null)),
                Collected::Failed(e) => return Err(e),
                Collected::Xml(_) => {}
            }
        }
        let result = if self.merge_objects {
            let mut merged = serde_json::Map::new();
            for r in results {
                let J::Object(o) = r else {
                    return Err(Error::mediation(
                        "Error merging aggregation results using JSONPath: a result is not a JSON object",
                    ));
                };
                merge(&mut merged, o);
            }
            J::Object(merged)
        } else {
            J::Array(results)
        };
        let result = match &self.enclosing {
            Some(p) => {
                let name = enclosing_name(ctx, p)?;
                let mut o = serde_json::Map::new();
                o.insert(name, result);
                J::Object(o)
            }
            None => result,
        };
        let text = crate::json::to_compact_string(&result);
        ctx.set_content_typed(Bytes::from(text), None, BodyType::Json);
        Ok(())
    }
}

/// The elements an XPath (or, without one, the body's first child) selects in a part. The first
/// part keeps its whole payload when its first match is a child of the body (Synapse leaves its
/// envelope as it is).
async fn xml_matches(
    rt: &impl Runtime,
    ctx: &mut MessageContext,
    x: Option<&crate::message::Expr>,
    first: bool,
) -> Result<Vec<Bytes>> {
    let (nodes, doc): (Vec<_>, Arc<Document>) = match x {
        Some(x) => match rt.eval_xpath(ctx, x, Want::Nodes).await? {
            (Evaluated::Nodes(n), Some(doc)) => (n, doc),
            _ => (Vec::new(), ctx.document().await?),
        },
        None => {
            let doc = ctx.document().await?;
            let first = match doc.soap_version() {
                Some(_) => doc.soap_payload(),
                None => Some(doc.root_element()),
            };
            (first.into_iter().collect(), doc)
        }
    };
    let body = doc.soap_body();
    let payload: Vec<_> = match body {
        Some(b) => doc.child_elements(b).collect(),
        None => vec![doc.root_element()],
    };
    let mut out = Vec::new();
    for &n in &nodes {
        if doc.kind(n) != NodeKind::Element {
            continue;
        }
        if doc.soap_version().is_some() && n == doc.root_element() {
            return Err(Error::mediation("Could not add SOAPEnvelope as child element."));
        }
        out.push(n);
    }
    let whole = match out.first() {
        None => true,
        Some(n) => payload.contains(n),
    };
    let chosen = if first && whole { payload } else { out };
    Ok(chosen
        .into_iter()
        .map(|n| doc.standalone_bytes(n))
        .collect())
}

/// Synapse's `getJSONElement`: several matches are an array, one is itself, none is null (an
/// array value counts as its items).
fn json_element(r: JsonPathResult) -> Option<serde_json::Value> {
    let mut items = match r {
        JsonPathResult::Value(serde_json::Value::Array(items)) | JsonPathResult::List(items) => {
            items
        }
        JsonPathResult::Value(v) => return Some(v),
        JsonPathResult::NotFound => return None,
    };
    match items.len() {
        0 => None,
        1 => items.pop(),
        _ => Some(serde_json::Value::Array(items)),
    }
}

/// Deep-merges `from` into `into`; a key in both becomes an array of both values.
fn merge(into: &mut serde_json::Map<String, serde_json::Value>, from: serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value as J;
    for (k, v) in from {
        match into.get_mut(&k) {
            None => {
                into.insert(k, v);
            }
            Some(J::Object(a)) if v.is_object() => {
                if let J::Object(b) = v {
                    merge(a, b);
                }
            }
            Some(J::Array(a)) => match v {
                J::Array(b) => a.extend(b),
                other => a.push(other),
            },
            Some(existing) => {
                let old = existing.take();
                *existing = J::Array(vec![old, v]);
            }
        }
    }
}

/// The enclosing element property's XML, with `children` inside it.
fn enclose(ctx: &MessageContext, property: &str, children: &[Bytes]) -> Result<Vec<u8>> {
    let text = ctx.props.get(property).ok_or_else(|| {
        Error::mediation(format!("Enclosing Element property: {property} not found"))
    })?;
    wrap(property, text, children)
}

/// `children` (each a standalone element) inside the element `text` (the value of `property`),
/// after its own content. They are spliced in as bytes, not parsed again; when the enclosing
/// element binds a default namespace, a child that declares none gets `xmlns=""`, so that it
/// stays in the namespace it had.
fn wrap(property: &str, text: &str, children: &[Bytes]) -> Result<Vec<u8>> {
    let doc = Document::parse(Bytes::from(text.trim().to_string())).map_err(|_| {
        Error::mediation(format!(
            "Enclosing Element property: {property} is not an OMElement"
        ))
    })?;
    let root = doc.root_element();
    let src = doc.source();
    let range = doc.source_range(root);
    let element = &src[range.clone()];
    let mut tag = super::edit::start_tag(element);
    // `xmlns=""` on the enclosing element undeclares nothing: written in an artifact to keep it
    // out of Synapse's namespace, it is not written out (AXIOM does not).
    tag.attrs
        .retain(|a| !(a.name == b"xmlns" && a.value.is_empty()));
    let default_bound = tag
        .attrs
        .iter()
        .any(|a| a.name == b"xmlns" && !a.value.is_empty());
    let name = doc.name(root).as_bytes();
    let size: usize = children.iter().map(|c| c.len() + 9).sum();
    let mut out = Vec::with_capacity(src.len() + size + name.len() + 3);
    out.extend_from_slice(&src[..range.start]);
    out.push(b'<');
    out.extend_from_slice(name);
    for a in &tag.attrs {
        out.push(b' ');
        out.extend_from_slice(a.whole);
    }
    out.push(b'>');
    if !tag.self_closing {
        let close = memchr::memmem::rfind(element, b"</").unwrap_or(element.len());
        out.extend_from_slice(&element[tag.len.min(close)..close]);
    }
    for child in children {
        let declares = super::edit::start_tag(child).attrs.iter().any(|a| a.name == b"xmlns");
        if default_bound && !declares {
            let name_end = 1 + child
                .iter()
                .skip(1)
                .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
                .unwrap_or(child.len().saturating_sub(1));
            out.extend_from_slice(&child[..name_end]);
            out.extend_from_slice(b" xmlns=\"\"");
            out.extend_from_slice(&child[name_end..]);
        } else {
            out.extend_from_slice(child);
        }
    }
    out.extend_from_slice(b"</");
    out.extend_from_slice(name);
    out.push(b'>');
    out.extend_from_slice(&src[range.end..]);
    Ok(out)
}


/// The local name of the enclosing element property (JSON aggregation uses only the name).
fn enclosing_name(ctx: &MessageContext, property: &str) -> Result<String> {
    let text = ctx.props.get(property).ok_or_else(|| {
        Error::mediation(format!("Enclosing Element property: {property} not found"))
    })?;
    let doc = Document::parse(Bytes::from(text.trim().to_string())).map_err(|_| {
        Error::mediation(format!(
            "Enclosing Element property: {property} is not an OMElement"
        ))
    })?;
    Ok(doc.local(doc.root_element()).to_string())
}

impl Aggregate {
    async fn run_boxed(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let Some(key) = self.correlation(rt, ctx).await? else {
            // Nothing to correlate on: the message passes, as in WSO2.
            return Ok(Flow::Continue);
        };
        let Some(group) = ctx.split.clone() else {
            return Err(Error::mediation(
                "aggregate with correlateOn: mint aggregates the parts of one request's split, \
                 and this message is not a part of one",
            ));
        };
        let owner = self as *const Aggregate as usize;
        // Whether this part opens the aggregation is decided again after every await: reading a
        // part's body awaits the network, and another part may open it meanwhile (the earlier
        // check-then-insert lost one of two parts that both saw none open, and the aggregation
        // then never completed).
        let first = loop {
            if group.is_completed(owner, &key) {
                // A part arriving after its aggregation completed is dropped, as in WSO2.
                return Ok(Flow::Stop);
            }
            let first = group.with_open(owner, &key, |a| a.is_none());
            let collected = self.collect(rt, ctx, first).await;
            if first {
                let agg = Aggregation {
                    min: self.count(rt, ctx, self.min.as_ref()).await?,
                    max: self.count(rt, ctx, self.max.as_ref()).await?,
                    total: self.total(ctx),
                    deadline: self.timeout.map(|t| Instant::now() + t),
                    first: Some(self.keep(ctx).await?),
                    collected: vec![collected],
                    waiter: None,
                };
                // No await from here to the insert.
                if group.with_open(owner, &key, |a| a.is_none()) && !group.is_completed(owner, &key)
                {
                    group.insert_open(owner, key.clone(), agg);
                    break true;
                }
            } else {
                let mut collected = Some(collected);
                let joined = group.with_open(owner, &key, |a| match a {
                    Some(a) => {
                        a.collected.extend(collected.take());
                        true
                    }
                    None => false,
                });
                if joined {
                    break false;
                }
            }
        };
        let complete = group.with_open(owner, &key, |a| a.is_some_and(|a| a.is_complete()));
        if complete {
            return self.complete(rt, ctx, &group, owner, &key).await;
        }
        if first {
            if let Some(t) = self.timeout {
                // The first part waits for the timeout (not counted as running meanwhile), and
                // completes the aggregation with what has arrived unless others complete it.
                group.set_parked(true);
                let timed_out = wait(&group, owner, &key, t).await;
                group.set_parked(false);
                if timed_out {
                    return self.complete(rt, ctx, &group, owner, &key).await;
                }
            }
        }
        Ok(Flow::Stop)
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    fn wrapped(enclosing: &str, children: &str) -> String {
        let children: Vec<bytes::Bytes> = children
            .split_inclusive("/>")
            .map(|c| bytes::Bytes::copy_from_slice(c.as_bytes()))
            .collect();
        String::from_utf8(wrap("P", enclosing, &children).unwrap()).unwrap()
    }

    #[test]
    fn the_enclosing_element_takes_the_parts_after_its_own_content() {
        assert_eq!(wrapped("<r/>", "<a/><b/>"), "<r><a/><b/></r>");
        assert_eq!(
            wrapped(r#"<r xmlns="" k="v" />"#, "<a/>"),
            r#"<r k="v"><a/></r>"#
        );
        assert_eq!(wrapped("<r><x/></r >", "<a/>"), "<r><x/><a/></r>");
        assert_eq!(
            wrapped(r#"<p:r xmlns:p="urn:p"/>"#, "<a/>"),
            r#"<p:r xmlns:p="urn:p"><a/></p:r>"#
        );
        // A default namespace on the enclosing element must not capture unprefixed parts.
        assert_eq!(
            wrapped(r#"<r xmlns="urn:r"/>"#, r#"<a/><b xmlns="urn:b"/>"#),
            r#"<r xmlns="urn:r"><a xmlns=""/><b xmlns="urn:b"/></r>"#
        );
        assert!(wrap("P", "not xml", &[]).is_err());
    }
}
