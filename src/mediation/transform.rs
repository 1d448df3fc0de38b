//! The mediators that change the message content: payloadFactory, enrich, makefault and the
//! SOAP-header form of the header mediator. Each edits the parsed body through `crate::xml`'s
//! editor (which copies untouched byte ranges) and replaces the body once.

use std::sync::Arc;

use bytes::Bytes;

use super::Engine;
use crate::error::{Error, ErrorKind, Result, Side};
use crate::message::content::{Evaluated, Want};
use crate::message::context::{BodyType, MessageContext};
use crate::program::mediator::{
    Enrich, EnrichAction, EnrichSource, EnrichTarget, FaultCode, Format, MakeFault, Media,
    PayloadFactory, Value,
};
use crate::xml::soap::build_envelope;
use crate::xml::{escape_text, Content, Document, Fragment, SoapVersion};
use crate::xpath::dom::{Dom, NodeId, NodeKind};

fn bad(msg: impl Into<String>) -> Error {
    Error::mediation(msg)
}

fn edit_err(e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Mediation,
        Side::Internal,
        format!("editing the message: {e}"),
    )
}

/// Sets a new body and the content type that goes with it.
fn set_content(ctx: &mut MessageContext, body: Bytes, content_type: Option<&str>) {
    set_content_typed(ctx, body, content_type, BodyType::Xml)
}

fn set_content_typed(
    ctx: &mut MessageContext,
    body: Bytes,
    content_type: Option<&str>,
    body_type: BodyType,
) {
    ctx.set_body(body);
    ctx.body_type = body_type;
    ctx.axis2.remove("NO_ENTITY_BODY");
    if let Some(ct) = content_type {
        ctx.axis2.insert("messageType".into(), ct.to_string());
        ctx.axis2.insert("ContentType".into(), ct.to_string());
    }
}

/// Whether text looks like XML that should be inserted as XML (and parses).
fn as_fragment(text: &str) -> Option<Fragment> {
    let t = text.trim_start();
    if !t.starts_with('<') {
        return None;
    }
    Fragment::parse(text).ok()
}

/// `<a x="1"></a>` → `<a x="1"/>`: empty elements written the way WSO2's serializer does.
fn collapse_empty_elements(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find("></") {
        let (before, after) = rest.split_at(i);
        let start = before.rfind('<');
        let collapsed = start.and_then(|st| {
            let tag = &before[st + 1..];
            if tag.starts_with(['/', '?', '!']) || tag.ends_with('/') {
                return None;
            }
            let name = tag.split(|c: char| c.is_whitespace()).next()?;
            let close = format!("></{name}>");
            after.starts_with(&close).then_some(close.len())
        });
        match collapsed {
            Some(close_len) => {
                out.push_str(before);
                out.push_str("/>");
                rest = &after[close_len..];
            }
            None => {
                out.push_str(before);
                out.push_str("></");
                rest = &after[3..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn json_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

impl Engine {
    pub(super) async fn payload_factory(
        &self,
        ctx: &mut MessageContext,
        pf: &PayloadFactory,
    ) -> Result<()> {
        let format = match &pf.format {
            Format::Inline(f) => f.clone(),
            Format::Key(k) => match self.registry.lookup(k).await? {
                Some(r) => r.text().into_owned(),
                None => {
                    return Err(bad(format!(
                        "payloadFactory format '{k}' not found in the registry"
                    )))
                }
            },
        };
        let mut values = Vec::with_capacity(pf.args.len());
        for a in &pf.args {
            let v = self.eval(ctx, &a.value).await?;
            values.push((v, a.literal));
        }
        let mut out = String::with_capacity(format.len() + 64);
        let mut rest = format.as_str();
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            let n: usize = after[..digits].parse().unwrap_or(0);
            match values.get(n.wrapping_sub(1)) {
                Some((v, literal)) => match pf.media {
                    Media::Xml if !*literal && as_fragment(v).is_some() => out.push_str(v),
                    Media::Xml => out.push_str(&escape_text(v)),
                    Media::Json => {
                        let quoted = out.ends_with('"') && after[digits..].starts_with('"');
                        // An XML value becomes JSON; JSON objects and arrays go in raw (replacing
                        // the template's quotes); strings are escaped.
                        let raw = if !*literal && as_fragment(v).is_some() {
                            crate::json::xml_to_json(v.as_bytes(), &self.json).ok()
                        } else if !*literal
                            && (v.trim_start().starts_with('{') || v.trim_start().starts_with('['))
                            && crate::json::parse(v.as_bytes()).is_ok()
                        {
                            Some(v.trim().to_string())
                        } else {
                            None
                        };
                        match raw {
                            Some(j) if quoted => {
                                out.pop();
                                out.push_str(&j);
                                rest = &after[digits + 1..];
                                continue;
                            }
                            Some(j) => out.push_str(&j),
                            None if quoted => out.push_str(&json_escape(v)),
                            None => out.push_str(v),
                        }
                    }
                    Media::Text => out.push_str(v),
                },
                None => out.push_str(&rest[i..i + 1 + digits]),
            }
            rest = &after[digits..];
        }
        out.push_str(rest);
        if pf.media == Media::Xml {
            out = collapse_empty_elements(&out);
        }
        match pf.media {
            Media::Xml => {
                // A SOAP message keeps its envelope (and headers): the payload replaces the body.
                let current = ctx.axis2.get("messageType").cloned().unwrap_or_default();
                let soap = current.contains("text/xml") || current.contains("soap+xml");
                let doc = if soap {
                    ctx.optional_document().await?
                } else {
                    None
                };
                match doc.as_ref().and_then(|d| d.soap_version().map(|v| (d, v))) {
                    Some((d, v)) => {
                        let header = d.soap_header().map(|h| d.source_slice(h));
                        let body = build_envelope(v, header.as_deref(), out.as_bytes());
                        set_content(ctx, body, None);
                    }
                    None => {
                        let ct = if current.contains("xml") {
                            None
                        } else {
                            Some("application/xml")
                        };
                        set_content(ctx, Bytes::from(out), ct);
                    }
                }
            }
            Media::Json => set_content_typed(
                ctx,
                Bytes::from(out),
                Some("application/json"),
                BodyType::Json,
            ),
            Media::Text => {
                set_content_typed(ctx, Bytes::from(out), Some("text/plain"), BodyType::Other)
            }
        }
        Ok(())
    }

    pub(super) async fn enrich(&self, ctx: &mut MessageContext, e: &Enrich) -> Result<()> {
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
            EnrichSource::Custom(x) => match self.eval_xpath(ctx, x, Want::Nodes).await? {
                (Evaluated::Nodes(nodes), Some(doc)) => {
                    let all_elements = !nodes.is_empty()
                        && nodes.iter().all(|&n| doc.kind(n) == NodeKind::Element);
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
            EnrichSource::Body => {
                let doc = ctx.document().await?;
                let body = doc.soap_body();
                let payload: Vec<u8> = match body {
                    Some(b) => doc
                        .child_elements(b)
                        .flat_map(|c| doc.standalone_bytes(c).to_vec())
                        .collect(),
                    None => doc.standalone_bytes(doc.root_element()).to_vec(),
                };
                xml(String::from_utf8_lossy(&payload).into_owned())
                    .unwrap_or(Src::Text(String::new()))
            }
            EnrichSource::Envelope => {
                let doc = ctx.document().await?;
                xml(String::from_utf8_lossy(doc.source()).into_owned())?
            }
            EnrichSource::Property(p) => {
                let v = ctx.props.get(p).cloned().unwrap_or_default();
                match as_fragment(&v) {
                    Some(f) => Src::Xml(f, v),
                    None => Src::Text(v),
                }
            }
            EnrichSource::Inline(text) => match as_fragment(text) {
                Some(f) => Src::Xml(f, text.clone()),
                None => Src::Text(text.clone()),
            },
            EnrichSource::InlineKey(k) => {
                let text = match self.registry.lookup(k).await? {
                    Some(r) => r.text().into_owned(),
                    None => return Err(bad(format!("enrich source key '{k}' not found"))),
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
            EnrichTarget::Property(p) => {
                ctx.props.insert(p.clone(), src_text(&src));
                Ok(())
            }
            EnrichTarget::Envelope => {
                let text = src_text(&src);
                set_content(ctx, Bytes::from(text), None);
                Ok(())
            }
            EnrichTarget::Body | EnrichTarget::Custom(_) => {
                let (doc, targets) = match &e.target {
                    EnrichTarget::Custom(x) => match self.eval_xpath(ctx, x, Want::Nodes).await? {
                        (Evaluated::Nodes(n), Some(d)) => (d, n),
                        _ => {
                            return Err(bad(format!(
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
                                        return Err(bad("the SOAP message has no body"));
                                    };
                                    let content = match &src {
                                        Src::Xml(f, _) => Content::Xml(f.clone()),
                                        Src::Text(s) => Content::Text(s.clone()),
                                    };
                                    let mut ed = d.edit();
                                    ed.append_child(b, content).map_err(edit_err)?;
                                    let out = ed.finish();
                                    set_content(ctx, out, None);
                                    return Ok(());
                                }
                            },
                            None => d.root_element(),
                        };
                        (d, vec![t])
                    }
                };
                let Some(&t) = targets.first() else {
                    return Err(bad("enrich target selects no node"));
                };
                let content = match &src {
                    Src::Xml(f, _) => Content::Xml(f.clone()),
                    Src::Text(s) => Content::Text(s.clone()),
                };
                let mut ed = doc.edit();
                match (e.action, doc.kind(t)) {
                    (EnrichAction::Replace, NodeKind::Text | NodeKind::Attribute) => {
                        ed.set_text(t, src_text(&src))
                    }
                    (EnrichAction::Replace, _) => match content {
                        Content::Text(s) => ed.set_text(t, s),
                        c => ed.replace(t, c),
                    },
                    (EnrichAction::Child, _) => ed.append_child(t, content),
                    (EnrichAction::Sibling, _) => ed.insert_after(t, content),
                }
                .map_err(edit_err)?;
                let out = ed.finish();
                set_content(ctx, out, None);
                Ok(())
            }
        }
    }

    pub(super) async fn make_fault(&self, ctx: &mut MessageContext, f: &MakeFault) -> Result<()> {
        let reason = match &f.reason {
            Some(v) => self.eval(ctx, v).await?,
            None => String::new(),
        };
        let detail = match &f.detail {
            Some(Value::Xml(x)) => x.clone(),
            Some(v) => escape_text(&self.eval(ctx, v).await?).into_owned(),
            None => String::new(),
        };
        let version = match f.version.as_deref() {
            Some("soap12") => Some(SoapVersion::Soap12),
            Some("pox") => None,
            Some(_) => Some(SoapVersion::Soap11),
            None => {
                let d = ctx.optional_document().await?;
                Some(
                    d.and_then(|d| d.soap_version())
                        .unwrap_or(SoapVersion::Soap11),
                )
            }
        };
        let (code_ns, code_prefix, code_local) = match &f.code {
            Some(FaultCode::QName { ns, prefix, local }) => {
                (ns.clone(), prefix.clone(), local.clone())
            }
            Some(FaultCode::Expr(v)) => {
                let text = self.eval(ctx, v).await?;
                let (p, l) = text
                    .split_once(':')
                    .map(|(p, l)| (p.to_string(), l.to_string()))
                    .unwrap_or((String::new(), text));
                (String::new(), p, l)
            }
            None => (String::new(), String::new(), "Server".into()),
        };
        let body = match version {
            None => format!("<Exception>{}</Exception>", escape_text(&reason)),
            Some(v) => {
                let env = v.namespace();
                // The fault code's prefix: the envelope's own when it names the SOAP namespace.
                let (qname, decl) =
                    if code_ns == env || code_ns.is_empty() && code_prefix.is_empty() {
                        (format!("soapenv:{code_local}"), String::new())
                    } else if code_prefix.is_empty() {
                        (code_local.clone(), String::new())
                    } else {
                        (
                            format!("{code_prefix}:{code_local}"),
                            format!(
                                " xmlns:{code_prefix}=\"{}\"",
                                crate::xml::escape_attr(&code_ns)
                            ),
                        )
                    };
                let inner = match v {
                    SoapVersion::Soap11 => {
                        let mut s = format!("<soapenv:Fault{decl}><faultcode>{qname}</faultcode><faultstring>{}</faultstring>", escape_text(&reason));
                        if let Some(r) = &f.role {
                            s.push_str(&format!("<faultactor>{}</faultactor>", escape_text(r)));
                        }
                        if !detail.is_empty() {
                            s.push_str(&format!("<detail>{detail}</detail>"));
                        }
                        s.push_str("</soapenv:Fault>");
                        s
                    }
                    SoapVersion::Soap12 => {
                        let mut s = format!(
                            "<soapenv:Fault{decl}><soapenv:Code><soapenv:Value>{qname}</soapenv:Value></soapenv:Code><soapenv:Reason><soapenv:Text xml:lang=\"en\">{}</soapenv:Text></soapenv:Reason>",
                            escape_text(&reason)
                        );
                        if let Some(n) = &f.node {
                            s.push_str(&format!("<soapenv:Node>{}</soapenv:Node>", escape_text(n)));
                        }
                        if let Some(r) = &f.role {
                            s.push_str(&format!("<soapenv:Role>{}</soapenv:Role>", escape_text(r)));
                        }
                        if !detail.is_empty() {
                            s.push_str(&format!("<soapenv:Detail>{detail}</soapenv:Detail>"));
                        }
                        s.push_str("</soapenv:Fault>");
                        s
                    }
                };
                format!("<soapenv:Envelope xmlns:soapenv=\"{env}\"><soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>")
            }
        };
        let ct = match version {
            Some(SoapVersion::Soap12) => "application/soap+xml",
            Some(SoapVersion::Soap11) => "text/xml",
            None => "application/xml",
        };
        set_content(ctx, Bytes::from(body), Some(ct));
        ctx.is_fault = true;
        if f.response {
            ctx.is_response = true;
        }
        Ok(())
    }

    /// The header mediator on a SOAP header block: set (replacing a block of the same name) or
    /// remove.
    pub(super) async fn soap_header(
        &self,
        ctx: &mut MessageContext,
        ns: &str,
        prefix: &str,
        local: &str,
        value: Option<String>,
    ) -> Result<()> {
        let doc: Arc<Document> = ctx.document().await?;
        if doc.soap_version().is_none() {
            // A POX message has no SOAP header to change.
            return Ok(());
        }
        let existing: Vec<NodeId> = doc
            .soap_header_blocks()
            .filter(|&b| doc.local_name(b) == local && doc.namespace_uri(b) == ns)
            .collect();
        let mut ed = doc.edit();
        match value {
            None => {
                for b in existing {
                    ed.remove(b).map_err(edit_err)?;
                }
            }
            Some(v) => {
                let block_xml = if as_fragment(&v).is_some() {
                    v.clone()
                } else {
                    let qn = if prefix.is_empty() {
                        local.to_string()
                    } else {
                        format!("{prefix}:{local}")
                    };
                    let decl = if ns.is_empty() {
                        String::new()
                    } else if prefix.is_empty() {
                        format!(" xmlns=\"{}\"", crate::xml::escape_attr(ns))
                    } else {
                        format!(" xmlns:{prefix}=\"{}\"", crate::xml::escape_attr(ns))
                    };
                    format!("<{qn}{decl}>{}</{qn}>", escape_text(&v))
                };
                let block = Fragment::parse(&block_xml).map_err(edit_err)?;
                match (existing.first(), doc.soap_header(), doc.soap_body()) {
                    (Some(&b), _, _) => ed.replace(b, Content::Xml(block)).map_err(edit_err)?,
                    (None, Some(h), _) => {
                        ed.append_child(h, Content::Xml(block)).map_err(edit_err)?
                    }
                    (None, None, Some(body)) => {
                        let env_prefix = doc.prefix(doc.root_element()).to_string();
                        let hq = if env_prefix.is_empty() {
                            "Header".to_string()
                        } else {
                            format!("{env_prefix}:Header")
                        };
                        let v = doc
                            .soap_version()
                            .map(SoapVersion::namespace)
                            .unwrap_or_default();
                        // A new Header element holding the block, before the Body.
                        let pfx = if env_prefix.is_empty() {
                            String::new()
                        } else {
                            format!(":{env_prefix}")
                        };
                        let full = Fragment::parse(&format!(
                            "<{hq} xmlns{pfx}=\"{v}\">{block_xml}</{hq}>"
                        ))
                        .map_err(edit_err)?;
                        ed.insert_before(body, Content::Xml(full))
                            .map_err(edit_err)?;
                    }
                    _ => return Err(bad("the SOAP message has no body")),
                }
            }
        }
        let out = ed.finish();
        set_content(ctx, out, None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_elements_collapse() {
        assert_eq!(
            collapse_empty_elements("<m:a x=\"1\"></m:a><b>t</b><c></c>"),
            "<m:a x=\"1\"/><b>t</b><c/>"
        );
        assert_eq!(collapse_empty_elements("<a><b></c>"), "<a><b></c>");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_escape("a\"b\\\n"), "a\\\"b\\\\\\n");
    }
}
