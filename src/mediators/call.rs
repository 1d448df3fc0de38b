//! `<call>`: sends the message to its endpoint and goes on with the response as the current
//! message. A timeout whose endpoint says `responseAction=discard` ends the flow without a fault
//! handler (the client gets the timeout answer).
//!
//! MI 4.4's `<source>` and `<target>`: the request's content can come from elsewhere than the
//! body (`custom` XPath or `json-eval`, `property`, `variable`, `inline`, `envelope`, with an
//! optional `contentType`), and the response can go to a variable (as MI's map
//! `{"payload", "headers", "attributes": {"statusCode"}}`) or a property instead of the body;
//! then the message goes on as it was before the call.

use bytes::Bytes;

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{ErrorKind, Result};
use crate::message::content::{Evaluated, Want};
use crate::message::context::BodyType;
use crate::message::{EpId, MessageContext, Value};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;
use crate::synexpr::Val;
use crate::xpath::dom::NodeKind;

#[derive(Debug, Clone)]
pub struct Call {
    pub endpoint: Option<EpId>,
    pub source: Option<Source>,
    pub target: Option<Target>,
}

/// Where the request's content comes from.
#[derive(Debug, Clone)]
pub struct Source {
    pub kind: SourceKind,
    /// `contentType`: the outgoing message type.
    pub content_type: Option<String>,
}

#[derive(Debug, Clone)]
pub enum SourceKind {
    Body,
    Envelope,
    Custom(Value),
    Property(String),
    Variable(String),
    Inline(String),
}

/// Where the response goes.
#[derive(Debug, Clone)]
pub enum Target {
    Body,
    Property(Value),
    Variable(Value),
}

impl Mediate for Call {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        // `blocking` changes how WSO2 waits for the response, not what the flow sees.
        c.reader(&at.file).bool_attr(el, "blocking", false);
        let mut source = None;
        let mut target = None;
        for child in el.elements() {
            let cat = super::at(child, at);
            if is_synapse(child, "source") {
                c.reader(&at.file)
                    .known_attrs(child, &["type", "contentType"]);
                let text = child.text();
                let kind = match child.attr("type").unwrap_or("custom") {
                    "body" => SourceKind::Body,
                    "envelope" => SourceKind::Envelope,
                    "custom" => SourceKind::Custom(super::expression(c, text.trim(), child, &cat)),
                    "property" => SourceKind::Property(text.trim().to_string()),
                    "variable" => SourceKind::Variable(text.trim().to_string()),
                    "inline" => SourceKind::Inline(match child.elements().next() {
                        Some(x) => super::format_xml(x),
                        None => text.trim().to_string(),
                    }),
                    other => {
                        c.error(&cat, format!("unknown call source type '{other}'"));
                        return None;
                    }
                };
                source = Some(Source {
                    kind,
                    content_type: child.attr("contentType").map(str::to_string),
                });
            } else if is_synapse(child, "target") {
                c.reader(&at.file).known_attrs(child, &["type"]);
                let text = child.text();
                let t = text.trim();
                let name = super::dynamic_value(c, t, child, &cat);
                target = Some(match child.attr("type").unwrap_or("body") {
                    "body" => Target::Body,
                    "property" => Target::Property(name),
                    "variable" => Target::Variable(name),
                    other => {
                        c.error(&cat, format!("unknown call target type '{other}'"));
                        return None;
                    }
                });
            }
        }
        // A target without a source sends the body, as in MI.
        if target.is_some() && source.is_none() {
            source = Some(Source {
                kind: SourceKind::Body,
                content_type: None,
            });
        }
        Some(Call {
            endpoint: super::send::endpoint_child(c, el, at),
            source,
            target,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let keep = match &self.target {
            Some(Target::Property(_) | Target::Variable(_)) => Some(Saved::take(ctx).await?),
            _ => None,
        };
        if ctx.controls && ctx.prop_true("OUT_ONLY") {
            // Fire and forget (Synapse's out-only call): the request goes out as it would, and
            // the flow goes on at once with the message as it was. Boxed, as for send.
            Box::pin(self.out_only(rt, ctx)).await?;
            return Ok(Flow::Continue);
        }
        if let Some(s) = &self.source {
            source(rt, ctx, s).await?;
        }
        match rt.call(ctx, self.endpoint).await {
            Ok(()) => {}
            Err(e) if e.is_discarded() => {
                ctx.fault = Some((ErrorKind::Timeout, 101504, e.to_string()));
                return Ok(Flow::Stop);
            }
            Err(e) => {
                if let Some(saved) = keep {
                    saved.restore(ctx);
                }
                return Err(e);
            }
        }
        let (Some(target), Some(saved)) = (&self.target, keep) else {
            return Ok(Flow::Continue);
        };
        let body = ctx.body_bytes().await?;
        match target {
            Target::Property(name) => {
                let name = rt.eval(ctx, name).await?;
                let text = String::from_utf8_lossy(&body).into_owned();
                saved.restore(ctx);
                ctx.props.insert(name.into(), text.into());
            }
            Target::Variable(name) => {
                let name = rt.eval(ctx, name).await?;
                if name.is_empty() {
                    saved.restore(ctx);
                    return Err(crate::error::Error::mediation("Variable key cannot be null"));
                }
                let payload = match ctx.body_type {
                    BodyType::Json => crate::json::parse(&body)
                        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned())),
                    _ => serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()),
                };
                let mut headers = serde_json::Map::new();
                for (k, v) in ctx.headers.iter() {
                    if let Ok(v) = v.to_str() {
                        headers.insert(k.as_str().to_string(), serde_json::Value::String(v.to_string()));
                    }
                }
                let value = serde_json::json!({
                    "payload": payload,
                    "headers": headers,
                    "attributes": {"statusCode": ctx.status.as_u16()},
                });
                saved.restore(ctx);
                ctx.vars.insert(name, Val::Json(value));
            }
            Target::Body => {}
        }
        Ok(Flow::Continue)
    }
}

/// The request's content from the source.
async fn source(rt: &impl Runtime, ctx: &mut MessageContext, s: &Source) -> Result<()> {
    let (text, body_type): (String, BodyType) = match &s.kind {
        SourceKind::Body | SourceKind::Envelope => (String::new(), ctx.body_type),
        SourceKind::Custom(Value::XPath(x)) => match rt.eval_xpath(ctx, x, Want::Nodes).await? {
            (Evaluated::Nodes(nodes), Some(doc)) => {
                let mut out = String::new();
                for n in nodes {
                    if doc.kind(n) == NodeKind::Element {
                        out.push_str(&String::from_utf8_lossy(&doc.standalone_bytes(n)));
                    } else {
                        out.push_str(&crate::xpath::Dom::string_value(&*doc, n));
                    }
                }
                (out, BodyType::Xml)
            }
            (Evaluated::Text(t), _) => (t.unwrap_or_default(), BodyType::Other),
            _ => (String::new(), BodyType::Other),
        },
        SourceKind::Custom(v @ Value::JsonPath(_)) => (rt.eval(ctx, v).await?, BodyType::Json),
        SourceKind::Custom(v) => (rt.eval(ctx, v).await?, BodyType::Other),
        SourceKind::Property(p) => (ctx.props.get(p.as_str()).cloned().unwrap_or_default().to_string(), BodyType::Other),
        SourceKind::Variable(v) => match ctx.vars.get(v) {
            Some(Val::Json(j)) => (crate::json::to_compact_string(j), BodyType::Json),
            Some(Val::Xml(x)) => (x.clone(), BodyType::Xml),
            Some(other) => (other.text().into_owned(), BodyType::Other),
            None => (String::new(), BodyType::Other),
        },
        SourceKind::Inline(t) => (t.clone(), BodyType::Other),
    };
    if !matches!(s.kind, SourceKind::Body | SourceKind::Envelope) {
        let body_type = match body_type {
            BodyType::Other => {
                let t = text.trim_start();
                if t.starts_with('<') {
                    BodyType::Xml
                } else if t.starts_with('{') || t.starts_with('[') {
                    BodyType::Json
                } else {
                    BodyType::Other
                }
            }
            known => known,
        };
        ctx.set_content_typed(Bytes::from(text), None, body_type);
    }
    if let Some(ct) = &s.content_type {
        ctx.axis2.insert("messageType".into(), ct.as_str().into());
        ctx.axis2.insert("ContentType".into(), ct.as_str().into());
    }
    Ok(())
}

/// The message as it was before a call whose response goes elsewhere.
struct Saved {
    body: Bytes,
    body_type: BodyType,
    headers: http::HeaderMap,
    axis2: crate::message::context::Props,
    is_response: bool,
    status: http::StatusCode,
    xml: Option<std::sync::Arc<crate::xml::Document>>,
}

impl Saved {
    async fn take(ctx: &mut MessageContext) -> Result<Saved> {
        let body = ctx.body_bytes().await?;
        Ok(Saved {
            body,
            body_type: ctx.body_type,
            headers: ctx.headers.clone(),
            axis2: ctx.axis2.clone(),
            is_response: ctx.is_response,
            status: ctx.status,
            xml: ctx.xml.clone(),
        })
    }

    fn restore(self, ctx: &mut MessageContext) {
        ctx.set_content_typed(self.body, None, self.body_type);
        ctx.xml = self.xml;
        ctx.headers = self.headers;
        ctx.axis2 = self.axis2;
        ctx.is_response = self.is_response;
        ctx.status = self.status;
    }
}

impl Call {
    /// The request (from `source`) goes out on a copy of the message; nobody waits.
    async fn out_only(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<()> {
        let mut copy = super::send::detached_copy(ctx).await?;
        if let Some(s) = &self.source {
            source(rt, &mut copy, s).await?;
        }
        let job = super::Detached::Call {
            endpoint: self.endpoint,
        };
        rt.detach(copy, job).await;
        Ok(())
    }
}
