//! `<validate>`: checks part of the message against an XML Schema (libxml2, through
//! [`crate::xmllib`]), as Synapse's ValidateMediator does:
//! - `<schema key="…"/>`: a local entry or registry resource holding the schema, or
//!   `{expression}`; compiled once per shard;
//! - `source` (XPath): the element validated; by default the first element of the SOAP body (the
//!   root element of a plain XML message, and of a JSON message's XML view);
//! - a message that does not validate gets `ERROR_MESSAGE` (every violation, in libxml2's words:
//!   WSO2 reports Xerces's) and `ERROR_DETAIL`, and runs the `<on-fail>` mediators; the flow
//!   goes on after the validate mediator if they let it, as in Synapse.
//!
//! - several `<schema>`s are combined into one schema, as Java's `SchemaFactory` combines them;
//! - `<resource location="…" key="…"/>` children map what an `xs:import`/`xs:include` names to
//!   a local entry or registry resource (Synapse's ResourceMap); nothing else can be read.
//!
//! Not built: JSONPath sources (a deployment error: a guard must not run with part of its
//! rules), JSON Schema (MI validates a JSON message against one: in mint a JSON message is a
//! fault) and features (warned).

use std::rc::Rc;
use std::sync::Arc;

use super::compiled_key::Key;
use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{Expr, MessageContext};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;
use crate::xmllib::Schema;

#[derive(Debug, Clone)]
pub struct Validate {
    schema: Key,
    source: Option<Arc<Expr>>,
    on_fail: Vec<Mediator>,
}

impl Mediate for Validate {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        r.known_attrs(el, &["source", "cache-schema", "description"]);
        let mut schemas = Vec::new();
        let mut resources = Vec::new();
        let mut on_fail = None;
        for child in el.elements() {
            if is_synapse(child, "schema") {
                if let Some(k) = r.required(child, "key") {
                    schemas.push((k.to_string(), child));
                }
            } else if is_synapse(child, "on-fail") {
                on_fail = Some(child);
            } else if is_synapse(child, "feature") || is_synapse(child, "property") {
                r.warn(
                    child.pos,
                    format!(
                        "validate feature '{}' is not honoured by mint (libxml2 validates with its \
                         defaults)",
                        child.attr("name").unwrap_or_default()
                    ),
                );
            } else if is_synapse(child, "resource") {
                resources.extend(super::compiled_key::resource(&mut r, child));
            } else if !is_synapse(child, "description") {
                r.unknown_child(child, "validate");
            }
        }
        if schemas.is_empty() {
            r.error(el.pos, "validate needs a <schema key=\"…\"/>");
            return None;
        }
        let Some(on_fail) = on_fail else {
            r.error(el.pos, "validate needs an <on-fail>");
            return None;
        };
        let source = match el.attr("source") {
            Some(s) if s.trim_start().starts_with("json-eval(") || s.trim_start().starts_with('$') => {
                r.error(
                    el.pos,
                    "validate against a JSON Schema (a JSONPath source) is not supported by mint yet",
                );
                return None;
            }
            Some(s) => Some(super::xpath(c, s, el, at)?),
            None => None,
        };
        let keys: Vec<(&str, &Element)> = schemas.iter().map(|(k, e)| (k.as_str(), *e)).collect();
        let schema = Key::compile_all::<Schema>(c, &keys, &resources, &super::at(keys[0].1, at))?;
        let on_fail = super::list(c, on_fail, &super::at(on_fail, at));
        Some(Validate {
            schema,
            source,
            on_fail,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        if ctx.body_type == crate::message::context::BodyType::Json {
            return Err(Error::mediation(
                "validating a JSON message (against a JSON Schema, as MI does) is not supported \
                 by mint yet",
            ));
        }
        let schema: Rc<Schema> = self.schema.get(rt, ctx).await?;
        let (doc, node) = super::xslt::source_element(rt, ctx, self.source.as_deref())
            .await?
            .ok_or_else(|| {
                Error::mediation(
                    "The evaluation of the XPath expression of the validate source did not \
                     result in an OMNode",
                )
            })?;
        let input = doc.standalone_bytes(node);
        // Synchronous and bounded by the input's size; other connections on the shard get their
        // turn before it.
        glommio::yield_if_needed().await;
        let violations = match schema.validate(&input) {
            Ok(Ok(())) => return Ok(Flow::Continue),
            Ok(Err(v)) => v,
            Err(e) => return Err(Error::mediation(format!("Error validating the source: {e}"))),
        };
        let message = violations.join("; ");
        ctx.props.insert("ERROR_MESSAGE".into(), message.clone());
        ctx.props.insert("ERROR_DETAIL".into(), message);
        Ok(rt.run_list(ctx, &self.on_fail).await)
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        vec![&self.on_fail]
    }
}
