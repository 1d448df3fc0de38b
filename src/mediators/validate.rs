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
//! - a JSON message (or a `json-eval(…)` source) is validated against a JSON Schema (the schema
//!   key's text is JSON; with several keys the last, as Synapse reads them), as MI 4.x does:
//!   `ERROR_MESSAGE` is the first violation, `ERROR_DETAIL` "Error while validating Json
//!   message" and every violation with its place; an empty payload is `{}`.
//!
//! Not built: features (warned).

use std::rc::Rc;

use super::compiled_key::{Compiled, Key};
use super::iterate::Path;
use super::{Compile, Flow, Mediate, Mediator, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::MessageContext;
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;
use crate::json::schema::JsonSchema;
use crate::xmllib::{Resources, Schema};

#[derive(Debug, Clone)]
pub struct Validate {
    schema: Key,
    source: Option<Path>,
    on_fail: Vec<Mediator>,
}

/// What the schema keys name: XML Schemas (combined), or a JSON Schema (their texts are JSON).
pub enum Checker {
    Xsd(Schema),
    Json(JsonSchema),
}

impl Compiled for Checker {
    const WHAT: &'static str = "schema";
    fn compile(texts: &[&[u8]], resources: Resources) -> std::result::Result<Self, String> {
        let json = |t: &[u8]| t.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        match texts.last() {
            Some(last) if texts.iter().all(|t| json(t)) => {
                let mapped = resources.entries();
                Ok(Checker::Json(JsonSchema::compile(last, &mapped)?))
            }
            _ => Ok(Checker::Xsd(Schema::compile(texts, resources)?)),
        }
    }
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
            Some(s) => Some(Path::compile(c, s, el, at)?),
            None => None,
        };
        let keys: Vec<(&str, &Element)> = schemas.iter().map(|(k, e)| (k.as_str(), *e)).collect();
        let schema = Key::compile_all::<Checker>(c, &keys, &resources, &super::at(keys[0].1, at))?;
        let on_fail = super::list(c, on_fail, &super::at(on_fail, at));
        Some(Validate {
            schema,
            source,
            on_fail,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let checker: Rc<Checker> = self.schema.get(rt, ctx).await?;
        let json_source = matches!(self.source, Some(Path::Json(_)));
        if json_source || ctx.body_type == crate::message::context::BodyType::Json {
            let Checker::Json(schema) = &*checker else {
                return Err(Error::mediation(
                    "Can not find valid JSON Schema content (the schema is an XML Schema; the \
                     message is JSON)",
                ));
            };
            return self.validate_json(rt, ctx, schema).await;
        }
        let Checker::Xsd(schema) = &*checker else {
            return Err(Error::mediation(
                "the schema is a JSON Schema; the message is XML",
            ));
        };
        let xpath = match &self.source {
            Some(Path::XPath(x)) => Some(x.as_ref()),
            _ => None,
        };
        let (doc, node) = super::xslt::source_element(rt, ctx, xpath)
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
        ctx.props.insert("ERROR_MESSAGE".into(), message.clone().into());
        ctx.props.insert("ERROR_DETAIL".into(), message.into());
        Ok(rt.run_list(ctx, &self.on_fail).await)
    }

    fn branches(&self) -> Vec<&[Mediator]> {
        vec![&self.on_fail]
    }
}

impl Validate {
    /// A JSON payload (or the `json-eval` source's value) against a JSON Schema.
    async fn validate_json(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        schema: &JsonSchema,
    ) -> Result<Flow> {
        use crate::json::path::JsonPathResult;
        let instance = match &self.source {
            Some(Path::Json(p)) => match rt.eval_json(ctx, p).await? {
                JsonPathResult::Value(v) => v,
                JsonPathResult::List(items) => serde_json::Value::Array(items),
                JsonPathResult::NotFound => serde_json::Value::Object(Default::default()),
            },
            _ => {
                let bytes = ctx.body_bytes().await?;
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    serde_json::Value::Object(Default::default())
                } else {
                    serde_json::from_slice(&bytes).map_err(|e| {
                        Error::mediation(format!("Error while validating the JSON Schema: {e}"))
                    })?
                }
            }
        };
        glommio::yield_if_needed().await;
        let violations = schema.validate(&instance);
        let Some((first, _)) = violations.first() else {
            return Ok(Flow::Continue);
        };
        let detail: Vec<&str> = violations.iter().map(|(_, d)| d.as_str()).collect();
        ctx.props.insert("ERROR_MESSAGE".into(), first.clone().into());
        ctx.props.insert(
            "ERROR_DETAIL".into(),
            format!("Error while validating Json message {}", detail.join("; ")).into(),
        );
        Ok(rt.run_list(ctx, &self.on_fail).await)
    }
}
