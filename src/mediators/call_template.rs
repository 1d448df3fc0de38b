//! `<call-template target="T"><with-param name="p" value="…"/></call-template>`: runs the
//! sequence template `T` with its parameters, as Synapse's InvokeMediator does. Each
//! `with-param` value is a literal or `{expression}` (XPath, `json-eval`, MI 4.4's `${…}`),
//! evaluated on the caller's message; a parameter left out takes its `defaultValue`. Inside the
//! template, `$func:p`, `get-property('func', 'p')` and `${params.functionParams.p}` read them.

use std::collections::HashMap;

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{MessageContext, SeqId, Value};
use crate::synapse::model::{template_sequence_name, Element};
use crate::synapse::parse::is_synapse;

#[derive(Debug, Clone)]
pub struct CallTemplate {
    pub target: String,
    /// The template's sequence; None when the template does not exist (a fault when run).
    pub sequence: Option<SeqId>,
    /// `with-param`s, by name.
    pub args: Vec<(String, Value)>,
    /// Parameters not given: their default values (None: mandatory without a default).
    pub defaults: Vec<(String, Option<String>)>,
}

impl Mediate for CallTemplate {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        r.known_attrs(el, &["target", "onError", "description"]);
        let target = r.required(el, "target")?.trim().to_string();
        let mut args = Vec::new();
        let mut given = Vec::new();
        for p in el.elements() {
            if !is_synapse(p, "with-param") {
                if !is_synapse(p, "description") {
                    c.reader(&at.file).unknown_child(p, "call-template");
                }
                continue;
            }
            let pat = super::at(p, at);
            let Some(name) = c.reader(&at.file).required(p, "name").map(str::to_string) else {
                continue;
            };
            let text = p.attr("value").unwrap_or_default();
            let value = super::dynamic_value(c, text, p, &pat);
            given.push(name.clone());
            args.push((name, value));
        }
        let Some(params) = c.sequence_template(&target).map(|t| t.params.clone()) else {
            c.warn(
                at,
                format!("template '{target}' is not defined; calling it raises a fault"),
            );
            return Some(CallTemplate {
                target,
                sequence: None,
                args,
                defaults: Vec::new(),
            });
        };
        let mut defaults = Vec::new();
        let mut unknown = Vec::new();
        for name in &given {
            if !params.iter().any(|p| &p.name == name) {
                unknown.push(name.clone());
            }
        }
        for p in &params {
            if given.contains(&p.name) {
                continue;
            }
            if p.mandatory && p.default.is_none() {
                let msg = format!(
                    "call-template '{target}' does not give the mandatory parameter '{}'",
                    p.name
                );
                c.warn(at, msg);
            }
            defaults.push((p.name.clone(), p.default.clone()));
        }
        for name in unknown {
            c.warn(
                at,
                format!("template '{target}' has no parameter '{name}'; it is passed anyway"),
            );
        }
        let sequence = c.sequence_key(&template_sequence_name(&target), at);
        Some(CallTemplate {
            target,
            sequence,
            args,
            defaults,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let Some(seq) = self.sequence else {
            return Err(Error::mediation(format!(
                "Sequence template {} cannot be found",
                self.target
            )));
        };
        let mut frame = HashMap::with_capacity(self.args.len() + self.defaults.len());
        for (name, value) in &self.args {
            frame.insert(name.clone(), rt.eval(ctx, value).await?);
        }
        for (name, default) in &self.defaults {
            match default {
                Some(d) => {
                    frame.insert(name.clone(), d.clone());
                }
                None => {
                    return Err(Error::mediation(format!(
                        "the mandatory parameter '{name}' of template {} is not given",
                        self.target
                    )))
                }
            }
        }
        ctx.func_stack.push(frame);
        let flow = rt.run_sequence(ctx, seq).await;
        ctx.func_stack.pop();
        Ok(flow)
    }
}
