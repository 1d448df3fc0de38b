//! `<switch source="…">`: runs the first `<case regex="…">` whose regex matches the source's
//! string value as a whole (Java's `Matcher.matches`), else `<default>`.

use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::{MessageContext, Value};
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct Switch {
    pub source: Value,
    pub cases: Vec<(super::WholeMatch, Vec<Mediator>)>,
    pub default: Vec<Mediator>,
}

impl Mediate for Switch {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let Some(src) = el.attr("source") else {
            c.error(at, "switch needs a source attribute");
            return None;
        };
        let source = super::expression(c, src, el, at);
        let mut cases = Vec::new();
        let mut default = Vec::new();
        for e in el.elements() {
            let e_at = super::at(e, at);
            match e.local.as_str() {
                "case" => {
                    let Some(re) = e.attr("regex") else {
                        c.error(&e_at, "case needs a regex attribute");
                        continue;
                    };
                    if let Some(r) = super::regex(c, re, &e_at) {
                        let body = super::branch(c, e, &e_at);
                        cases.push((r, body));
                    }
                }
                "default" => default = super::branch(c, e, &e_at),
                "description" => {}
                other => c.warn(&e_at, format!("unexpected <{other}> in switch ignored")),
            }
        }
        Some(Switch {
            source,
            cases,
            default,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let v = rt.eval(ctx, &self.source).await?;
        let branch = self
            .cases
            .iter()
            .find(|(re, _)| re.is_match(&v))
            .map(|(_, b)| b)
            .unwrap_or(&self.default);
        Ok(rt.run_list(ctx, branch).await)
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        let mut all: Vec<&[Mediator]> = self.cases.iter().map(|(_, b)| b.as_slice()).collect();
        all.push(&self.default);
        all
    }
}
