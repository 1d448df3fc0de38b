//! `<clone>`: runs a full copy of the message through each `<target>` (or one target
//! `iterations` times), as Synapse's CloneMediator does. Each copy has the parent's content,
//! properties and headers, a new message id, `messageSequence[.id]` = `i/n` and
//! `aggregateCorelation[.id]` = the parent's message id. The parent stops unless
//! `continueParent` is true (`true`, `1` or `yes`, as WSO2 reads it). How the copies run is
//! [`super::target`]'s.

use super::iterate::set_sequence;
use super::target::{self, Target};
use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{MessageContext, Value};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;

#[derive(Debug, Clone)]
pub struct Clone {
    pub id: Option<String>,
    pub continue_parent: bool,
    pub sequential: bool,
    /// `iterations`: the one target runs this many times (a number or `{expression}`).
    pub iterations: Option<Value>,
    pub targets: Vec<Target>,
}

impl Mediate for Clone {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        c.reader(&at.file).known_attrs(
            el,
            &[
                "id",
                "continueParent",
                "sequential",
                "iterations",
                "description",
            ],
        );
        let continue_parent = el.attr("continueParent").is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("true") || v == "1" || v.eq_ignore_ascii_case("yes")
        });
        let sequential = el.attr("sequential") == Some("true");
        let targets: Vec<Target> = el
            .elements()
            .filter(|e| is_synapse(e, "target"))
            .map(|t| Target::compile(c, t, &super::at(t, at)))
            .collect();
        for child in el.elements() {
            if !is_synapse(child, "target") && !is_synapse(child, "description") {
                c.reader(&at.file).unknown_child(child, "clone");
            }
        }
        let iterations = match el.attr("iterations") {
            None => None,
            Some(_) if targets.len() != 1 => {
                c.error(at, "a clone with iterations must have exactly one <target>");
                return None;
            }
            Some(text) => {
                let text = text.trim();
                if !text.starts_with('{') && text.parse::<u32>().is_err() {
                    c.error(at, format!("iterations '{text}' is not a number"));
                    return None;
                }
                Some(super::dynamic_value(c, text, el, at))
            }
        };
        c.needs_continuations();
        Some(Clone {
            id: el.attr("id").map(str::to_string),
            continue_parent,
            sequential,
            iterations,
            targets,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        // Boxed: a split's future is large, and the future of every mediator list would
        // otherwise carry it (and the stack of each nested sequence with it).
        Box::pin(self.run_boxed(rt, ctx)).await
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        self.targets.iter().filter_map(Target::branch).collect()
    }
}

impl Clone {
    async fn run_boxed(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let n = match &self.iterations {
            Some(v) => {
                let text = rt.eval(ctx, v).await?;
                text.trim().parse::<usize>().map_err(|_| {
                    Error::mediation(format!(
                        "Error while parsing iterations number in clone mediator: '{text}'"
                    ))
                })?
            }
            None => self.targets.len(),
        };
        if n == 0 {
            return Ok(if self.continue_parent {
                Flow::Continue
            } else {
                Flow::Stop
            });
        }
        let body = ctx.body_bytes().await?;
        let (group, root) = target::begin(rt, ctx, n)?;
        let parent_id = ctx.message_id().to_string();
        let mut parts = Vec::with_capacity(n);
        for i in 0..n {
            if self.iterations.is_some() {
                // Each copy carries its own 1-based index; the parent keeps the last.
                ctx.props
                    .insert("CLONED_ITERATION_INDEX".into(), (i + 1).to_string().into());
            }
            let mut part = ctx.fork(body.clone(), ctx.body_type);
            part.xml = ctx.xml.clone();
            set_sequence(&mut part, self.id.as_deref(), &parent_id, i, n);
            let target = match self.iterations {
                Some(_) => &self.targets[0],
                None => &self.targets[i],
            };
            parts.push((part, target));
        }
        target::run_parts(rt, &group, parts.into_iter(), self.sequential).await;
        Ok(target::finish(ctx, &group, root, self.continue_parent))
    }
}
