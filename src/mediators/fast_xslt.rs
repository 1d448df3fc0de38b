//! `<fastXSLT key="…"/>`: WSO2's streaming form of the xslt mediator. The stylesheet is applied
//! to the message as it arrived (the whole SOAP envelope, or the plain XML document), and its
//! output becomes the message, without building mint's tree of the message on the way in or
//! parsing the output on the way out. There is no `source`, `target` or parameter, as in WSO2;
//! the stylesheet comes from a local entry, the registry or `{expression}` as for
//! [`super::xslt`].

use bytes::Bytes;

use super::compiled_key::Key;
use super::compiled_key::Sheet;
use std::rc::Rc;
use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::context::BodyType;
use crate::message::MessageContext;
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct FastXslt {
    key: Key,
}

impl Mediate for FastXslt {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        r.known_attrs(el, &["key", "description"]);
        for child in el.elements() {
            r.unknown_child(child, "fastXSLT");
        }
        let key_text = r.required(el, "key").map(str::to_string)?;
        Some(FastXslt {
            key: Key::compile::<Sheet>(c, &key_text, el, at)?,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let sheet: Rc<Sheet> = self.key.get(rt, ctx).await?;
        // mint's own engine runs on the message's tree (XML messages only: libxslt reads the
        // bytes as they came, whatever mint would make of them).
        let mut out = None;
        if let (Some(p), BodyType::Xml) = (&sheet.native, ctx.body_type) {
            // A body mint cannot parse goes to libxslt, which reports it as fastXSLT always did
            // (an error reading the body stays an error).
            let doc = match ctx.document().await {
                Ok(d) => Some(d),
                Err(e) if e.kind == crate::error::ErrorKind::BadContent => None,
                Err(e) => return Err(e),
            };
            // Comments or PIs beside the root element are part of what libxslt transforms.
            if let Some(doc) = doc.filter(|d| d.children(0).count() == 1) {
                glommio::yield_if_needed().await;
                match p.transform_document(&doc, doc.root_element()) {
                    Ok(o) => out = Some(o),
                    Err(why) => tracing::debug!("fastXSLT: libxslt runs this message: {why}"),
                }
            }
        }
        let out = match out {
            Some(o) => o,
            None => {
                let input = ctx.body_bytes().await?;
                // Synchronous and bounded (libxslt's recursion limit); other connections on
                // the shard get their turn before it.
                glommio::yield_if_needed().await;
                sheet.lib.transform(&input, &[]).map_err(|e| {
                    Error::mediation(format!("Unable to perform fast XSLT transformation: {e}"))
                })?
            }
        };
        ctx.set_content_typed(Bytes::from(out), None, BodyType::Xml);
        Ok(Flow::Continue)
    }
}
