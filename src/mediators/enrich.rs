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
use crate::json::{JsonPath, JsonPathResult};
use crate::message::context::BodyType;
use crate::message::{Expr, MessageContext, Value};
use crate::synapse::model::Element;
use crate::xml::{Content, Fragment};
use crate::xpath::dom::{Dom, NodeKind};

#[derive(Debug, Clone)]
pub struct Enrich {
    pub source: Source,
    pub clone: bool,
    pub target: Target,
    pub action: Action,
    /// Synapse's `isNativeJsonSupportEnabled`, decided from the configuration as
    /// `EnrichMediatorFactory` does: a message with a JSON payload is then enriched as JSON
    /// (JSONPath sources and targets, JSON properties and inline JSON), else through XML.
    pub native_json: bool,
    /// The `{expression}`s written in an inline source, replaced per message
    /// (Synapse's `InlineExpressionUtil`).
    pub inline_exprs: Vec<(String, Value)>,
}

/// Where enrich takes its value from.
#[derive(Debug, Clone)]
pub enum Source {
    Custom(Arc<Expr>),
    /// `xpath="json-eval(…)"`: the paths (several only for the `remove` action, which takes a
    /// comma-separated list).
    Json(Vec<Arc<JsonPath>>),
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
    /// `xpath="json-eval(…)"`.
    Json(Arc<JsonPath>),
    /// `type="key"`: the member named last in `json-eval($.a.b)` (`b`) of what the rest
    /// selects (`$.a`) is renamed to the source's text.
    Key { parent: Arc<JsonPath>, name: String },
    Envelope,
    Body,
    Property(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Replace,
    Child,
    Sibling,
    /// Takes the source's JSONPath matches out of the body or a property (JSON only).
    Remove,
}

/// The paths of a `remove` source: Synapse splits `json-eval(a,b)` at its commas (here only at
/// those outside brackets, quotes and parentheses, where Synapse would cut a path in two).
fn split_paths(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut from) = (0i32, None, 0);
    for (i, ch) in list.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&list[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[from..]);
    parts
}

/// Synapse's `InlineExpressionUtil` pattern: `{` + no whitespace, `"`, `,`, `<`, `>`, `}`, `]` + `}`.
fn inline_expressions(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let len = after
            .find(|c: char| c.is_whitespace() || "\",<>}]".contains(c))
            .unwrap_or(after.len());
        if len > 0 && after[len..].starts_with('}') {
            found.push(&rest[open..open + len + 2]);
            rest = &after[len + 1..];
        } else {
            rest = after;
        }
    }
    found
}

/// Gson's lenient reading of a text as one JSON value, as Synapse's enrich reads inline text and
/// string properties: JSON as written, else a single unquoted word is a string. None for
/// anything else (Gson refuses it).
fn gson_value(text: &str) -> Option<serde_json::Value> {
    let t = text.trim();
    if let Ok(v) = serde_json::from_str(t) {
        return Some(v);
    }
    let word = !t.is_empty()
        && !t.starts_with(['"', '\''])
        && !t.contains(|c: char| c.is_whitespace() || "/\\;#={}[]:,".contains(c));
    word.then(|| serde_json::Value::String(t.to_string()))
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
        let action = match tgt.attr("action").unwrap_or("replace") {
            "replace" => Action::Replace,
            "child" => Action::Child,
            "sibling" => Action::Sibling,
            "remove" => Action::Remove,
            other => {
                c.error(&to, format!("unknown enrich action '{other}'"));
                return None;
            }
        };
        let mut inline_xml = false;
        let mut inline_text = None;
        let source = match src.attr("type").unwrap_or("custom") {
            "custom" => {
                let x = src.attr("xpath").unwrap_or("");
                match super::json_eval_path(x) {
                    Some(list) if action == Action::Remove => Source::Json(
                        split_paths(list)
                            .into_iter()
                            .map(|p| super::compile_json_path(c, p, &so))
                            .collect::<Option<_>>()?,
                    ),
                    Some(path) => Source::Json(vec![super::compile_json_path(c, path, &so)?]),
                    None => Source::Custom(super::xpath(c, x, src, &so)?),
                }
            }
            "envelope" => Source::Envelope,
            "body" => Source::Body,
            "property" => Source::Property(src.attr("property").unwrap_or("").to_string()),
            "inline" => match (src.elements().next(), src.attr("key")) {
                (Some(child), _) => {
                    inline_xml = true;
                    let text = super::format_xml(child);
                    inline_text = Some(text.clone());
                    Source::Inline(text)
                }
                (None, _) if !src.text().trim().is_empty() => {
                    let text = src.text();
                    let t = text.trim();
                    inline_xml = match gson_value(t) {
                        Some(v) => v.is_null(),
                        None => !(t.starts_with('{') && t.ends_with('}')),
                    };
                    inline_text = Some(text.clone());
                    Source::Inline(text)
                }
                (None, Some(k)) => match super::local_text(c, k.trim()) {
                    Some(text) => Source::Inline(text),
                    None => Source::InlineKey(k.trim().to_string()),
                },
                (None, None) => {
                    c.error(&so, "an inline enrich source needs XML, text or a key");
                    return None;
                }
            },
            other => {
                c.error(&so, format!("unknown enrich source type '{other}'"));
                return None;
            }
        };
        let target = match tgt.attr("type").unwrap_or("custom") {
            "custom" => {
                let x = tgt.attr("xpath").unwrap_or("");
                match super::json_eval_path(x) {
                    Some(path) => {
                        let p = super::compile_json_path(c, path, &to)?;
                        if action == Action::Replace && p.is_whole_body() {
                            c.error(
                                &to,
                                "enrich cannot replace the root path ($) of a custom target: \
                                 use type=\"body\" with action=\"replace\"",
                            );
                            return None;
                        }
                        Target::Json(p)
                    }
                    None => Target::Custom(super::xpath(c, x, tgt, &to)?),
                }
            }
            "envelope" => Target::Envelope,
            "body" => Target::Body,
            "property" => Target::Property(tgt.attr("property").unwrap_or("").to_string()),
            "key" => {
                let x = tgt.attr("xpath").unwrap_or("");
                let split = super::json_eval_path(x).and_then(|p| p.rsplit_once('.'));
                let Some((parent, name)) = split else {
                    c.error(
                        &to,
                        "an enrich target of type 'key' needs xpath=\"json-eval($.path.key)\"",
                    );
                    return None;
                };
                Target::Key {
                    parent: super::compile_json_path(c, parent, &to)?,
                    name: name.to_string(),
                }
            }
            other => {
                c.error(&to, format!("unsupported enrich target type '{other}'"));
                return None;
            }
        };
        // EnrichMediatorFactory.validateTypeCombination and populateTarget: refused at deploy.
        let refused = match (&source, &target, action) {
            (Source::Envelope, Target::Custom(_) | Target::Json(_), _)
            | (Source::Envelope | Source::Body, Target::Envelope | Target::Body, _)
            | (Source::Custom(_) | Source::Json(_), Target::Envelope, _) => {
                Some("this source type cannot enrich this target type")
            }
            (Source::Body, Target::Key { .. }, _) => Some("the body cannot name a key"),
            (_, Target::Key { .. } | Target::Envelope, a) if a != Action::Replace => {
                Some("this target type takes only action=\"replace\"")
            }
            (Source::Custom(_), _, Action::Remove) => {
                Some("the remove action needs a json-eval(…) source (it removes JSON only)")
            }
            (_, _, Action::Remove) if !matches!(source, Source::Json(_)) => {
                Some("the remove action needs a custom json-eval(…) source")
            }
            (_, Target::Custom(_) | Target::Json(_) | Target::Envelope, Action::Remove) => {
                Some("the remove action works on the body or a property")
            }
            _ => None,
        };
        if let Some(why) = refused {
            c.error(&to, format!("enrich: {why}"));
            return None;
        }
        let inline_exprs = match &inline_text {
            Some(text) => inline_expressions(text)
                .into_iter()
                .map(|m| {
                    let inner = &m[1..m.len() - 1];
                    let value = match super::json_eval_path(inner) {
                        Some(path) => super::json_path(c, path, &so),
                        None => match super::xpath(c, inner, src, &so) {
                            Some(x) => Value::XPath(x),
                            None => Value::Unsupported(inner.to_string()),
                        },
                    };
                    (m.to_string(), value)
                })
                .collect(),
            None => Vec::new(),
        };
        // EnrichMediatorFactory's conditions for enriching JSON natively.
        let source_custom = matches!(source, Source::Custom(_) | Source::Json(_));
        let target_custom = matches!(target, Target::Custom(_) | Target::Json(_));
        let source_json = matches!(source, Source::Json(_));
        let target_json = matches!(target, Target::Json(_));
        let envelope = matches!(source, Source::Envelope) || matches!(target, Target::Envelope);
        // (Either side is not custom, or is a JSONPath: the factory's four conditions.)
        let native_json = !inline_xml
            && !envelope
            && (!source_custom || source_json)
            && (!target_custom || target_json);
        if (source_json || target_json || matches!(target, Target::Key { .. })) && !native_json {
            c.warn(
                at,
                "enrich mixes a json-eval(…) path with an XML source or target: Synapse does \
                 not enrich JSON this way, and the mediator faults when it runs",
            );
        }
        let clone = src.attr("clone").is_none_or(|c| c.trim() != "false");
        Some(Enrich {
            source,
            clone,
            target,
            action,
            native_json,
            inline_exprs,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        // Boxed: the JSON and XML paths together would otherwise enlarge every mediator's
        // future (sequences nest, and a flow's stack is bounded).
        Box::pin(self.run_boxed(rt, ctx)).await
    }
}

impl Enrich {
    async fn run_boxed(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        // The inline text with its `{expression}`s replaced; Synapse then enriches as XML when
        // the result reads as XML.
        let inline = match &self.source {
            Source::Inline(text) if !self.inline_exprs.is_empty() => {
                Some(self.replace_inline(rt, ctx, text).await?)
            }
            _ => None,
        };
        let inline_xml = inline.as_deref().is_some_and(|t| as_fragment(t).is_some());
        let json_property = match &self.source {
            Source::Property(p) => match ctx.props.get(p.as_str()) {
                None => Some(None),
                Some(v) if as_fragment(v).is_some() => None,
                Some(v) => match gson_value(v) {
                    Some(j) if j.is_null() => None,
                    Some(j) => Some(Some(j)),
                    None => Some(Some(serde_json::Value::String(v.as_str().to_owned()))),
                },
            },
            _ => Some(None),
        };
        match json_property {
            Some(property)
                if self.native_json && ctx.body_type == BodyType::Json && !inline_xml =>
            {
                enrich_json(rt, ctx, self, inline.as_deref(), property).await?
            }
            _ => enrich(rt, ctx, self, inline.as_deref()).await?,
        }
        Ok(Flow::Continue)
    }

    /// `InlineExpressionUtil.replaceDynamicValues`: each `{expression}` becomes its value; a value
    /// that is neither XML nor JSON is quoted unless the text already quotes it (and an empty
    /// `json-eval` value is always quoted).
    async fn replace_inline(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        text: &str,
    ) -> Result<String> {
        let mut text = text.to_string();
        for (m, value) in &self.inline_exprs {
            let Some(at) = text.find(m.as_str()) else {
                continue;
            };
            let quoted = at > 0
                && text[..at].ends_with('"')
                && text[at + m.len()..].starts_with('"');
            let mut v = rt.eval(ctx, value).await?;
            let json = serde_json::from_str::<serde_json::Value>(v.trim()).is_ok();
            if (v.is_empty() && m.contains("json-eval("))
                || (as_fragment(&v).is_none() && !json && (v.is_empty() || !quoted))
            {
                v = format!("\"{v}\"");
            }
            text = text.replace(m.as_str(), &v);
        }
        Ok(text)
    }
}

/// The payload as JSON, the way Synapse's native-JSON enrich reads it.
async fn json_payload(ctx: &mut MessageContext) -> Result<serde_json::Value> {
    let bytes = ctx.body_bytes().await?;
    crate::json::parse(&bytes)
        .map_err(|e| ctx.bad_content(format!("the message is not valid JSON: {e}")))
}

fn set_json_payload(ctx: &mut MessageContext, json: &serde_json::Value) {
    let text = crate::json::to_compact_string(json);
    ctx.set_content_typed(Bytes::from(text), None, BodyType::Json);
}

/// Enrich on a JSON payload (Synapse's `Source.evaluateJson` and `Target.insertJson`). What
/// Synapse only logs (a sibling action, a scalar for the body) is logged here too and leaves the
/// message as it was; what it throws (a path that finds nothing) faults.
async fn enrich_json(
    rt: &impl Runtime,
    ctx: &mut MessageContext,
    e: &Enrich,
    inline: Option<&str>,
    property: Option<serde_json::Value>,
) -> Result<()> {
    use serde_json::Value as J;
    let mut body = json_payload(ctx).await?;
    if e.action == Action::Remove {
        let Source::Json(paths) = &e.source else {
            return Err(Error::mediation("source Xpath is mandatory for the Remove action"));
        };
        return match &e.target {
            Target::Body => {
                match remove_json(&mut body, paths)? {
                    true => ctx.set_content_typed(Bytes::new(), None, BodyType::Json),
                    false => set_json_payload(ctx, &body),
                }
                Ok(())
            }
            Target::Property(p) => {
                let Some(text) = ctx.props.get(p.as_str()) else {
                    return Err(Error::mediation(format!(
                        "Cannot perform the remove operation. Data type of the property {p} is \
                         not string | JSON"
                    )));
                };
                let mut json = crate::json::parse(text.as_bytes()).map_err(|err| {
                    Error::mediation(format!("the property {p} is not valid JSON: {err}"))
                })?;
                let value = match remove_json(&mut json, paths)? {
                    true => String::new(),
                    false => crate::json::to_compact_string(&json),
                };
                ctx.props.insert(p.clone().into(), value.into());
                Ok(())
            }
            _ => Err(Error::mediation("the remove action works on the body or a property")),
        };
    }
    let not_found = |what: &str| {
        Error::mediation(format!("Failed to get the source for Enriching: {what}"))
    };
    let mut body_changed = false;
    let src: J = match &e.source {
        Source::Json(paths) => {
            let p = &paths[0];
            let v = match p.evaluate(&body) {
                JsonPathResult::Value(v) => v,
                JsonPathResult::List(items) => J::Array(items),
                JsonPathResult::NotFound => {
                    return Err(not_found(&format!("no results for path {}", p.as_str())))
                }
            };
            if !e.clone {
                body_changed = p.delete(&mut body);
            }
            v
        }
        Source::Body => body.clone(),
        Source::Inline(text) => {
            let text = inline.unwrap_or(text);
            gson_value(text).ok_or_else(|| not_found("the inline text is not JSON"))?
        }
        Source::InlineKey(k) => {
            let text = match rt.registry().lookup(k).await? {
                Some(r) => r.text().into_owned(),
                None => String::new(),
            };
            match gson_value(&text) {
                Some(v) if !text.trim().is_empty() => v,
                _ => return Err(not_found(&format!("no inline JSON at key '{k}'"))),
            }
        }
        Source::Property(p) => {
            property.ok_or_else(|| not_found(&format!("the property {p} is not set")))?
        }
        Source::Custom(_) | Source::Envelope => {
            return Err(Error::mediation(
                "enrich: this source cannot be read from a JSON payload",
            ))
        }
    };
    match &e.target {
        Target::Json(p) => match e.action {
            Action::Replace => {
                if !p.set(&mut body, &src) {
                    return Err(Error::mediation(format!(
                        "enrich: no results for path {}",
                        p.as_str()
                    )));
                }
                body_changed = true;
            }
            Action::Child => {
                let mut receiving = match p.evaluate(&body) {
                    JsonPathResult::Value(v) => v,
                    JsonPathResult::List(items) => J::Array(items),
                    JsonPathResult::NotFound => {
                        return Err(Error::mediation(format!(
                            "enrich: no results for path {}",
                            p.as_str()
                        )))
                    }
                };
                // Synapse re-reads the source from its text, where a JSON null is the word
                // `null` and becomes the string "null".
                let src = if src.is_null() { J::String("null".into()) } else { src };
                match (&mut receiving, src) {
                    (J::Array(items), s) => items.push(s),
                    (J::Object(into), J::Object(from)) => into.extend(from),
                    (r, _) => tracing::warn!(
                        "enrich: cannot append since the target element is not a JSON array or \
                         JSONObject: {}",
                        crate::json::to_compact_string(r)
                    ),
                }
                if p.is_whole_body() {
                    body = receiving;
                } else {
                    p.set(&mut body, &receiving);
                }
                body_changed = true;
            }
            _ => tracing::warn!("enrich: action sibling is not supported for JSON; use child"),
        },
        Target::Body => match (e.action, &src) {
            (Action::Replace, J::Object(_) | J::Array(_)) => {
                body = src;
                body_changed = true;
            }
            (Action::Replace, _) => tracing::warn!(
                "enrich: unsupported JSON payload {}: only JSON arrays and objects can be \
                 enriched to the body",
                crate::json::to_compact_string(&src)
            ),
            _ => tracing::warn!("enrich: only replace is supported for a JSON body target"),
        },
        Target::Property(name) => match e.action {
            Action::Replace => {
                ctx.props
                    .insert(name.clone().into(), crate::json::to_compact_string(&src).into());
            }
            Action::Child => match ctx.props.get(name.as_str()).map(|v| gson_value(v)) {
                Some(Some(J::Array(mut items))) => {
                    items.push(src);
                    let text = crate::json::to_compact_string(&J::Array(items));
                    ctx.props.insert(name.clone().into(), text.into());
                }
                Some(_) => tracing::warn!(
                    "enrich: cannot add a child to property {name}: it is not a JSON array"
                ),
                None => tracing::warn!("enrich: cannot find the property {name} to enrich"),
            },
            _ => tracing::warn!(
                "enrich: action sibling is not supported when enriching properties with JSON"
            ),
        },
        Target::Key { parent, name } => {
            let J::String(new_name) = &src else {
                return Err(Error::mediation(
                    "Failed to get the new key name from source for Enriching. Key name must be \
                     a string.",
                ));
            };
            parent
                .rename_key(&mut body, name, new_name)
                .map_err(|why| Error::mediation(format!("Failed to rename the key: {why}")))?;
            body_changed = true;
        }
        Target::Custom(_) | Target::Envelope => {
            return Err(Error::mediation(
                "enrich: this target cannot be written in a JSON payload",
            ))
        }
    }
    if body_changed {
        set_json_payload(ctx, &body);
    }
    Ok(())
}

/// Synapse's `removeJSONFromString`: each path's matches are deleted (`$` empties the whole
/// payload: true); a path that finds nothing is an error.
fn remove_json(json: &mut serde_json::Value, paths: &[Arc<JsonPath>]) -> Result<bool> {
    let mut emptied = false;
    for p in paths {
        if p.is_whole_body() {
            emptied = true;
            continue;
        }
        if matches!(p.evaluate(json), JsonPathResult::NotFound) || !p.delete(json) {
            return Err(Error::mediation(format!(
                "Error occurred while executing the action : remove: no results for path {}",
                p.as_str()
            )));
        }
    }
    Ok(emptied)
}

async fn enrich(
    rt: &impl Runtime,
    ctx: &mut MessageContext,
    e: &Enrich,
    inline: Option<&str>,
) -> Result<()> {
    if e.action == Action::Remove {
        // Synapse's XML path has no remove (a "TODO" in EnrichMediator): nothing changes.
        tracing::warn!("enrich: the remove action applies to JSON payloads only; nothing removed");
        return Ok(());
    }
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
            let v = ctx.props.get(p.as_str()).map_or("", |v| v.as_str());
            match as_fragment(v) {
                Some(f) => Src::Xml(f, v.to_owned()),
                None => Src::Text(v.to_owned()),
            }
        }
        Source::Inline(text) => {
            let text = inline.unwrap_or(text);
            match as_fragment(text) {
                Some(f) => Src::Xml(f, text.to_string()),
                None => Src::Text(text.to_string()),
            }
        }
        Source::Json(_) => {
            return Err(Error::mediation(
                "enrich: a json-eval(…) source needs a JSON payload",
            ))
        }
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
            ctx.props.insert(p.clone().into(), src_text(&src).into());
            Ok(())
        }
        Target::Envelope => {
            let text = src_text(&src);
            ctx.set_content(Bytes::from(text), None);
            Ok(())
        }
        Target::Json(_) | Target::Key { .. } => Err(Error::mediation(
            "enrich: a json-eval(…) target needs a JSON payload",
        )),
        // Text that reads as a JSON object or array replaces the body as a JSON payload
        // (Synapse's Target.insertElementToBody).
        Target::Body
            if e.action == Action::Replace
                && matches!(&src, Src::Text(s) if matches!(
                    gson_value(s),
                    Some(serde_json::Value::Object(_) | serde_json::Value::Array(_))
                )) =>
        {
            ctx.set_content_typed(Bytes::from(src_text(&src)), None, BodyType::Json);
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
                (Action::Remove, _) => return Ok(()),
            }
            .map_err(edit_err)?;
            let out = ed.finish();
            ctx.set_content(out, None);
            Ok(())
        }
    }
}
