//! `<scatter-gather>` (MI 4.4's ScatterGather): runs each `<sequence>` on a copy of the message
//! (concurrently unless `parallel-execution="false"`), then gathers what the branches left:
//! `<aggregation expression="${…}">` is read on each branch that ended normally (and whose
//! `condition`, if any, reads `true`), in the order they finished, into a JSON array
//! (`result-content-type="JSON"`; a result that is not JSON goes in as a string) or into
//! `<result-enclosing-element>` (`XML`; each result's text parsed as XML). `target="body"`
//! makes that the payload of the last branch to finish (its properties, as in MI), with the
//! content type set; `target="variable"` puts it in `target-variable` and leaves the message as
//! it was. The gathering ends early at `timeout` (milliseconds, unlike aggregate's seconds) or
//! at `max-messages`; `min-messages` is accepted and has no effect beyond that, since every
//! branch is waited for anyway.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::context::BodyType;
use crate::message::{MessageContext, SynapseExpr, Value};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;
use crate::synexpr::Val;

#[derive(Debug, Clone)]
pub struct ScatterGather {
    pub parallel: bool,
    pub to_variable: Option<String>,
    pub xml: bool,
    pub enclosing: Option<String>,
    pub expression: Arc<SynapseExpr>,
    pub condition: Option<Value>,
    pub timeout: Option<Duration>,
    pub max: Option<Value>,
    pub branches: Vec<Vec<Mediator>>,
}

impl Mediate for ScatterGather {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        r.known_attrs(
            el,
            &[
                "parallel-execution",
                "target",
                "target-variable",
                "result-content-type",
                "result-enclosing-element",
                "description",
            ],
        );
        let parallel = el.attr("parallel-execution") != Some("false");
        let target = el.attr("target").map(|t| t.trim().to_ascii_lowercase());
        let to_variable = match target.as_deref() {
            Some("body") => None,
            Some("variable") => match el.attr("target-variable") {
                Some(v) => Some(v.to_string()),
                None => {
                    r.error(el.pos, "target=\"variable\" needs target-variable");
                    return None;
                }
            },
            _ => {
                r.error(el.pos, "scatter-gather needs target=\"body\" or \"variable\"");
                return None;
            }
        };
        let xml = match el.attr("result-content-type") {
            Some("JSON") => false,
            Some("XML") => true,
            _ => {
                r.error(
                    el.pos,
                    "scatter-gather needs result-content-type=\"JSON\" or \"XML\"",
                );
                return None;
            }
        };
        let enclosing = el.attr("result-enclosing-element").map(str::to_string);
        if xml && enclosing.is_none() {
            r.error(
                el.pos,
                "result-content-type=\"XML\" needs result-enclosing-element",
            );
            return None;
        }
        let Some(agg) = el.elements().find(|e| is_synapse(e, "aggregation")) else {
            r.error(el.pos, "scatter-gather needs an <aggregation>");
            return None;
        };
        r.known_attrs(
            agg,
            &[
                "expression",
                "condition",
                "timeout",
                "min-messages",
                "max-messages",
            ],
        );
        let aat = super::at(agg, at);
        let text = r.required(agg, "expression")?.to_string();
        let timeout = match agg.attr("timeout").map(str::trim) {
            None => None,
            Some(t) => match t.parse::<u64>() {
                Ok(ms) if ms > 0 => Some(Duration::from_millis(ms)),
                Ok(_) => None,
                Err(_) => {
                    r.error(agg.pos, format!("timeout '{t}' is not a number of milliseconds"));
                    return None;
                }
            },
        };
        let Some(inner) = crate::synexpr::inner(&text) else {
            c.error(&aat, "the aggregation expression must be a Synapse expression ${…}");
            return None;
        };
        let expression = super::synapse_expression(c, inner, agg, &aat)?;
        let condition = agg
            .attr("condition")
            .map(|t| super::expression(c, t, agg, &aat));
        let max = agg
            .attr("max-messages")
            .map(|t| super::dynamic_value(c, t.trim(), agg, &aat));
        // `min-messages` changes nothing here: every branch is waited for anyway.
        if let Some(t) = agg.attr("min-messages") {
            super::dynamic_value(c, t.trim(), agg, &aat);
        }
        let branches: Vec<Vec<Mediator>> = el
            .elements()
            .filter(|e| is_synapse(e, "sequence"))
            .map(|s| super::list(c, s, &super::at(s, at)))
            .collect();
        if branches.is_empty() {
            c.error(at, "scatter-gather needs at least one <sequence>");
            return None;
        }
        for child in el.elements() {
            if !["aggregation", "sequence", "description"].contains(&child.local.as_str()) {
                c.reader(&at.file).unknown_child(child, "scatter-gather");
            }
        }
        c.needs_continuations();
        Some(ScatterGather {
            parallel,
            to_variable,
            xml,
            enclosing,
            expression,
            condition,
            timeout,
            max,
            branches,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        // Boxed: a gather's future is large (see iterate).
        Box::pin(self.gather(rt, ctx)).await
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        self.branches.iter().map(Vec::as_slice).collect()
    }
}

impl ScatterGather {
    async fn gather(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let max = match &self.max {
            Some(v) => {
                let t = rt.eval(ctx, v).await?;
                match t.trim().parse::<f64>() {
                    Ok(m) if m > 0.0 => Some(m as usize),
                    Ok(_) => None,
                    Err(_) => {
                        return Err(Error::mediation(format!(
                            "max-messages '{t}' is not a number"
                        )))
                    }
                }
            }
            None => None,
        };
        // Counted against the request's limit; the branches start splits of their own.
        let budget = super::target::begin_branches(rt, ctx, self.branches.len())?;
        let body = ctx.body_bytes().await?;
        let n = self.branches.len();
        let parent_id = ctx.message_id().to_string();
        let branches = self
            .branches
            .iter()
            .enumerate()
            .map(|(i, list)| {
                let mut part = ctx.fork(body.clone(), ctx.body_type);
                part.xml = ctx.xml.clone();
                part.split = None;
                part.split_budget = Some(budget.clone());
                super::iterate::set_sequence(&mut part, None, &parent_id, i, n);
                part.props.insert("SCATTER_MESSAGES".into(), "true".into());
                super::gather::Branch { ctx: part, list }
            })
            .collect();
        let until = super::gather::Until {
            timeout: self.timeout,
            max,
        };
        let done =
            super::gather::run(rt, branches, !self.parallel, until, self.condition.as_ref()).await;
        let value = Value::Synapse(self.expression.clone());
        let mut json = Vec::new();
        let mut xml = String::new();
        let mut last = None;
        for (_, mut part) in done {
            if self.xml {
                let text = rt.eval(&mut part, &value).await?;
                crate::xml::Document::parse(Bytes::from(text.clone())).map_err(|e| {
                    Error::mediation(format!(
                        "the aggregation expression did not give XML: {e}"
                    ))
                })?;
                xml.push_str(&text);
            } else {
                json.push(match rt.eval_object(&mut part, &value).await? {
                    Val::Str(s) => serde_json::Value::String(s),
                    v => v.to_json(),
                });
            }
            last = Some(part);
        }
        let (result, content_type, body_type) = if self.xml {
            let tag = self.enclosing.as_deref().unwrap_or("result");
            (
                format!("<{tag}>{xml}</{tag}>"),
                "application/xml",
                BodyType::Xml,
            )
        } else {
            (
                crate::json::to_compact_string(&serde_json::Value::Array(json)),
                "application/json",
                BodyType::Json,
            )
        };
        match &self.to_variable {
            Some(name) => {
                let v = if self.xml {
                    Val::Xml(result)
                } else {
                    Val::from_json(crate::json::parse(result.as_bytes()).map_err(|e| {
                        Error::mediation(format!("gathered JSON: {e}"))
                    })?)
                };
                ctx.vars.insert(name.clone(), v);
            }
            None => {
                if let Some(mut last) = last {
                    last.frames = std::mem::take(&mut ctx.frames);
                    last.fault_stack = std::mem::take(&mut ctx.fault_stack);
                    last.depth = ctx.depth;
                    *ctx = last;
                }
                ctx.set_content_typed(Bytes::from(result), Some(content_type), body_type);
                if let Ok(v) = http::HeaderValue::from_str(content_type) {
                    ctx.headers.insert(http::header::CONTENT_TYPE, v);
                }
            }
        }
        Ok(Flow::Continue)
    }
}
