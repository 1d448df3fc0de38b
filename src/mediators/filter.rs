//! `<filter>`: runs `<then>` when the condition holds (`xpath`, as XPath's `boolean()`, or
//! `source` matching `regex` as a whole), else `<else>`; without then/else, the children run when
//! it holds.

use std::sync::Arc;

use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::content::{Evaluated, Want};
use crate::message::{Expr, MessageContext, Value};
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct Filter {
    pub cond: Cond,
    pub then: Vec<Mediator>,
    pub otherwise: Vec<Mediator>,
}

/// A filter condition.
#[derive(Debug, Clone)]
pub enum Cond {
    /// `xpath="…"`: XPath `boolean()`.
    XPath(Arc<Expr>),
    /// `source="…" regex="…"`: the source's string value matches the whole regex (Java's
    /// `Matcher.matches`).
    Regex { source: Value, regex: super::WholeMatch },
    /// `xpath="${…}"` (MI 4.4) or `xpath="json-eval(…)"`: holds when the expression's text is
    /// `true` (any case).
    Expression(Value),
}

impl Mediate for Filter {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let cond = match (el.attr("xpath"), el.attr("source"), el.attr("regex")) {
            // A Synapse expression, or `json-eval(…)` (Synapse's SynapseJsonPath: the filter
            // holds when the result's text is `true`, as Java's Boolean.parseBoolean reads it).
            (Some(x), _, _)
                if crate::synexpr::inner(x).is_some()
                    || x.trim_start().starts_with("json-eval(") =>
            {
                Cond::Expression(super::expression(c, x, el, at))
            }
            (Some(x), _, _) => Cond::XPath(super::xpath(c, x, el, at)?),
            (None, Some(src), Some(re)) => {
                let source = super::expression(c, src, el, at);
                Cond::Regex {
                    source,
                    regex: super::regex(c, re, at)?,
                }
            }
            _ => {
                c.error(
                    at,
                    "filter needs xpath=\"…\" or source=\"…\" with regex=\"…\"",
                );
                return None;
            }
        };
        let then_el = el.elements().find(|e| e.local == "then");
        let else_el = el.elements().find(|e| e.local == "else");
        let (then, otherwise) = match then_el {
            Some(t) => {
                let then = super::branch(c, t, &super::at(t, at));
                let otherwise = match else_el {
                    Some(e) => super::branch(c, e, &super::at(e, at)),
                    None => Vec::new(),
                };
                (then, otherwise)
            }
            // Without then/else, the children run when the condition holds.
            None => (super::branch(c, el, at), Vec::new()),
        };
        Some(Filter {
            cond,
            then,
            otherwise,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let ok = match &self.cond {
            Cond::XPath(x) => match rt.eval_xpath(ctx, x, Want::Bool).await?.0 {
                Evaluated::Bool(b) => b,
                Evaluated::Text(t) => t.is_some_and(|t| !t.is_empty()),
                Evaluated::Nodes(n) => !n.is_empty(),
            },
            Cond::Expression(v) => rt.eval(ctx, v).await?.eq_ignore_ascii_case("true"),
            Cond::Regex { source, regex } => {
                let v = rt.eval(ctx, source).await?;
                regex.is_match(&v)
            }
        };
        let branch = if ok { &self.then } else { &self.otherwise };
        Ok(rt.run_list(ctx, branch).await)
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        vec![&self.then, &self.otherwise]
    }
}
