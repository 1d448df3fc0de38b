//! The message content as mediators see it: the lazily parsed XML view of the body, the XPath
//! context that answers Synapse's variables and `get-property()` from the message context, and
//! expression evaluation (with registry look-ups fetched off the shard before evaluating).
//!
//! A flow whose expressions only read properties never parses the body: such expressions are
//! evaluated against an empty document.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::context::{BodyType, MessageContext};
use super::Engine;
use crate::error::{Error, ErrorKind, Result, Side};
use crate::program::mediator::Expr;
use crate::registry::Resource;
use crate::xml::Document;
use crate::xpath::dom::NodeId;
use crate::xpath::{EmptyDom, XPath, XPathContext};
use crate::xpath::{MessageField, PropertyValue, Scope as XScope};

/// SOAP 1.1 envelope WSO2 gives a message without a body (GET, DELETE…).
const EMPTY_ENVELOPE: &[u8] =
    b"<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body/></soapenv:Envelope>";

impl MessageContext {
    /// The body parsed as XML (parsed once; re-parsed after the body changes).
    pub async fn document(&mut self) -> Result<Arc<Document>> {
        if let Some(d) = &self.xml {
            return Ok(d.clone());
        }
        let bytes = self.body_bytes().await?;
        let bytes = if self.body_type == BodyType::Json
            && !bytes.iter().all(u8::is_ascii_whitespace)
        {
            // WSO2's XML view of a JSON body: <jsonObject>… inside a SOAP envelope's body,
            // written in one buffer.
            const OPEN: &str = "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>";
            const CLOSE: &str = "</soapenv:Body></soapenv:Envelope>";
            let mut xml = String::with_capacity(OPEN.len() + 2 * bytes.len() + CLOSE.len());
            xml.push_str(OPEN);
            crate::json::json_to_xml_into(&bytes, &crate::json::JsonSettings::default(), &mut xml)
                .map_err(|e| self.bad_content(format!("the message is not valid JSON: {e}")))?;
            xml.push_str(CLOSE);
            Bytes::from(xml)
        } else {
            bytes
        };
        let bytes = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            Bytes::from_static(EMPTY_ENVELOPE)
        } else {
            bytes
        };
        let doc = Document::parse(bytes)
            .map_err(|e| self.bad_content(format!("the message is not well-formed XML: {e}")))?;
        let doc = Arc::new(doc);
        self.xml = Some(doc.clone());
        Ok(doc)
    }
}

impl MessageContext {
    /// The body as XML for mediators that can do without it (payloadFactory keeping a SOAP
    /// envelope, makefault choosing its SOAP version): None when the body is empty or not
    /// well-formed XML. A body that could not be read is an error, except inside a fault handler,
    /// which is already handling that failure and may be building the answer to it.
    pub async fn optional_document(&mut self) -> Result<Option<Arc<Document>>> {
        match self.body_bytes().await {
            Ok(b) if b.is_empty() => Ok(None),
            Ok(_) => Ok(self.document().await.ok()),
            Err(_) if self.fault.is_some() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A content error blamed on whoever sent the current message.
    pub fn bad_content(&self, message: String) -> Error {
        let side = if self.is_response {
            Side::Backend
        } else {
            Side::Client
        };
        Error::new(ErrorKind::BadContent, side, message)
    }
}

/// Answers XPath's questions from one message.
pub struct MessageXPathContext<'a> {
    pub engine: &'a Engine,
    pub ctx: &'a MessageContext,
    pub doc: Option<&'a Document>,
    /// Registry resources fetched for this evaluation (None: the key does not exist).
    pub fetched: &'a HashMap<String, Option<Arc<Resource>>>,
    /// Registry keys asked for but neither fetched nor cached: fetched, then evaluation repeats.
    pub misses: RefCell<Vec<String>>,
}

impl XPathContext for MessageXPathContext<'_> {
    fn property(&self, scope: XScope, name: &str) -> Option<PropertyValue<'_>> {
        let s = |v: &str| Some(PropertyValue::String(Cow::Owned(v.to_string())));
        match scope {
            XScope::Default
            | XScope::Operation
            | XScope::Axis2Client
            | XScope::Func
            | XScope::Variable => {
                if let Some(v) = self.ctx.props.get(name) {
                    return s(v);
                }
                match name {
                    "To" => self.ctx.to.as_deref().and_then(s),
                    "MESSAGE_FORMAT" => s(self.ctx.message_format()),
                    _ => match self.engine.config.local_entries.get(name) {
                        Some(crate::program::LocalEntry::Text(t)) => s(t),
                        Some(crate::program::LocalEntry::Xml(x)) => s(&x.source),
                        _ => None,
                    },
                }
            }
            XScope::Axis2 => self.ctx.axis2.get(name).and_then(|v| s(v)),
            XScope::Transport => self
                .ctx
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(s),
            XScope::Registry => {
                let (key, prop) = crate::xpath::split_registry_key(name);
                let found = match self.fetched.get(key) {
                    Some(f) => f.clone(),
                    None => match self.engine.registry.cached(key) {
                        Some(r) => Some(r),
                        None => {
                            self.misses.borrow_mut().push(key.to_string());
                            None
                        }
                    },
                };
                match (found, prop) {
                    (Some(r), Some(p)) => s(r.property(p).unwrap_or("")),
                    (Some(r), None) => s(&r.text()),
                    // A missing resource reads as "" (as WSO2 answers).
                    (None, _) => s(""),
                }
            }
            XScope::Env => std::env::var(name).ok().and_then(|v| s(&v)),
            XScope::System | XScope::File | XScope::Config => None,
        }
    }

    fn message_field(&self, f: MessageField) -> Option<Cow<'_, str>> {
        match f {
            MessageField::To => Some(Cow::Owned(
                self.ctx
                    .to
                    .clone()
                    .unwrap_or_else(|| self.ctx.uri.to_string()),
            )),
            MessageField::Action => self.ctx.action.as_deref().map(Cow::Borrowed),
            MessageField::MessageFormat => self
                .ctx
                .axis2
                .get("messageType")
                .map(|s| Cow::Borrowed(s.as_str())),
            MessageField::Fault => Some(Cow::Borrowed(if self.ctx.is_fault {
                "true"
            } else {
                "false"
            })),
            _ => None,
        }
    }

    fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        crate::xpath::query_param_from_url(&self.ctx.uri.to_string(), name).map(Cow::Owned)
    }

    fn soap_envelope(&self) -> Option<NodeId> {
        let d = self.doc?;
        d.soap_version().map(|_| d.root_element())
    }

    fn soap_body(&self) -> Option<NodeId> {
        let d = self.doc?;
        d.soap_body().or_else(|| Some(d.root_element()))
    }

    fn soap_header(&self) -> Option<NodeId> {
        self.doc?.soap_header()
    }
}

/// WS-Addressing namespaces (final and submission).
const WSA: [&str; 2] = [
    "http://www.w3.org/2005/08/addressing",
    "http://schemas.xmlsoap.org/ws/2004/08/addressing",
];

/// The `wsa:To` header block of a SOAP message, if any.
pub fn wsa_to(doc: &Document) -> Option<String> {
    use crate::xpath::dom::Dom;
    doc.soap_header_blocks()
        .find(|&b| doc.local_name(b) == "To" && WSA.contains(&doc.namespace_uri(b)))
        .map(|b| doc.text_content(b).trim().to_string())
        .filter(|t| !t.is_empty())
}

/// What an evaluation returns to a mediator.
pub enum Evaluated {
    Text(Option<String>),
    Bool(bool),
    Nodes(Vec<NodeId>),
}

#[derive(Clone, Copy)]
pub enum Want {
    /// Synapse's string form (property, log, switch, payloadFactory args).
    Text,
    /// XPath `boolean()` (filter).
    Bool,
    /// A node-set (enrich).
    Nodes,
}

impl Engine {
    /// Evaluates a compiled XPath against the message, fetching registry resources it asks for.
    pub async fn eval_xpath(
        &self,
        ctx: &mut MessageContext,
        x: &Expr,
        want: Want,
    ) -> Result<(Evaluated, Option<Arc<Document>>)> {
        if let Some(r) = self.eval_streaming(ctx, x, want).await? {
            return Ok((r, None));
        }
        let doc = if x.reads_content() || matches!(want, Want::Nodes) {
            Some(ctx.document().await?)
        } else {
            None
        };
        // Evaluation is synchronous and bounded by its work budget (`crate::xpath`, about a few
        // dozen passes over the document); other connections on the shard get their turn
        // between evaluations.
        glommio::yield_if_needed().await;
        // Registry keys the expression reads are fetched off the shard, then it is evaluated
        // again with them at hand (bounded: keys can be computed from other keys).
        let mut fetched: HashMap<String, Option<Arc<Resource>>> = HashMap::new();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let cx = MessageXPathContext {
                engine: self,
                ctx,
                doc: doc.as_deref(),
                fetched: &fetched,
                misses: RefCell::new(Vec::new()),
            };
            let result = match &doc {
                Some(d) => evaluate(x, d.as_ref(), &cx, d.root_element(), want, Some(d)),
                None => evaluate(x, &EmptyDom, &cx, 0, want, None),
            };
            let misses = cx.misses.into_inner();
            if misses.is_empty() || attempt == 4 {
                let r = result
                    .map_err(|e| Error::mediation(format!("evaluating '{}': {e}", x.source())))?;
                return Ok((r, doc));
            }
            for key in misses {
                let res = self.registry.lookup(&key).await?;
                fetched.insert(key, res);
            }
        }
    }
}

impl Engine {
    /// Converts the body to what `messageType` asks for before it leaves: XML → JSON when the
    /// message type is JSON and the body is XML, JSON → XML (SOAP 1.1, SOAP 1.2 or POX) the
    /// other way round. A body no mediator read is never converted twice or parsed needlessly.
    /// A body whose read failed (and that no mediator replaced) cannot go out: its error is
    /// returned.
    pub async fn convert_for_output(&self, ctx: &mut MessageContext) -> Result<()> {
        if let Some(e) = ctx.body_failure() {
            return Err(e);
        }
        let mt = ctx
            .axis2
            .get("messageType")
            .map(|m| m.to_ascii_lowercase())
            .unwrap_or_default();
        let wants = BodyType::of(&mt);
        if wants == ctx.body_type
            || wants == BodyType::Other
            || ctx.body_type == BodyType::Other
            || matches!(ctx.body, crate::http::body::Body::Empty)
        {
            return Ok(());
        }
        match wants {
            BodyType::Json => {
                let doc = ctx.document().await?;
                let node = doc.soap_payload().unwrap_or_else(|| doc.root_element());
                let json = if doc.soap_version().is_some() && doc.soap_payload().is_none() {
                    String::from("{}")
                } else {
                    crate::json::element_to_json(&doc, node, &self.json).map_err(|e| {
                        Error::new(
                            ErrorKind::BadContent,
                            Side::Internal,
                            format!("XML to JSON: {e}"),
                        )
                    })?
                };
                ctx.set_body(Bytes::from(json));
                ctx.body_type = BodyType::Json;
            }
            BodyType::Xml => {
                let bytes = ctx.body_bytes().await?;
                let xml = crate::json::json_to_xml(&bytes, &self.json).map_err(|e| {
                    Error::new(
                        ErrorKind::BadContent,
                        Side::Internal,
                        format!("JSON to XML: {e}"),
                    )
                })?;
                let out = if mt.contains("soap+xml") {
                    crate::xml::soap::build_envelope(
                        crate::xml::SoapVersion::Soap12,
                        None,
                        xml.as_bytes(),
                    )
                } else if mt == "text/xml" {
                    crate::xml::soap::build_envelope(
                        crate::xml::SoapVersion::Soap11,
                        None,
                        xml.as_bytes(),
                    )
                } else {
                    Bytes::from(xml)
                };
                ctx.set_body(out);
                ctx.body_type = BodyType::Xml;
            }
            BodyType::Other => {}
        }
        if let Some(ct) = ctx.axis2.get("ContentType").cloned() {
            if let Ok(v) = http::HeaderValue::from_str(&ct) {
                ctx.headers.insert(http::header::CONTENT_TYPE, v);
            }
        }
        Ok(())
    }

    /// `json-eval`: Jayway JSONPath over the body as JSON, rendered as WSO2 does.
    pub async fn eval_json_path(
        &self,
        ctx: &mut MessageContext,
        p: &crate::json::JsonPath,
    ) -> Result<String> {
        if let Some(e) = ctx.body_failure() {
            return Err(e);
        }
        let text = match ctx.body_type {
            BodyType::Json => ctx.body_bytes().await?,
            _ if matches!(ctx.body, crate::http::body::Body::Empty) => return Ok(String::new()),
            _ => {
                let doc = ctx.document().await?;
                let node = doc.soap_payload().unwrap_or_else(|| doc.root_element());
                let json = crate::json::element_to_json(&doc, node, &self.json).map_err(|e| {
                    Error::new(
                        ErrorKind::BadContent,
                        Side::Internal,
                        format!("XML to JSON: {e}"),
                    )
                })?;
                Bytes::from(json)
            }
        };
        if p.is_whole_body() {
            return Ok(String::from_utf8_lossy(&text).into_owned());
        }
        let result = p
            .evaluate_bytes(&text)
            .map_err(|e| ctx.bad_content(format!("the message is not valid JSON: {e}")))?;
        Ok(result.to_synapse_string())
    }

    /// Answers a simple location path by scanning the body bytes, without building the tree,
    /// when the body has not been parsed yet. None: use the tree (also when the scan meets
    /// something only the tree answers like Synapse, e.g. an element with child elements).
    /// A body that cannot be read is an error, never an empty document.
    async fn eval_streaming(
        &self,
        ctx: &mut MessageContext,
        x: &Expr,
        want: Want,
    ) -> Result<Option<Evaluated>> {
        let Some(stream) = x.stream.as_ref() else {
            return Ok(None);
        };
        // The scanner reads XML bytes: a JSON body (whatever messageType says) needs the tree
        // path's XML view.
        if ctx.xml.is_some() || matches!(want, Want::Nodes) || ctx.body_type == BodyType::Json {
            return Ok(None);
        }
        let bytes = ctx.body_bytes().await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        Ok(match want {
            Want::Bool => stream
                .first_match(&bytes)
                .ok()
                .map(|m| Evaluated::Bool(m.is_some())),
            Want::Text if x.stream_string => stream
                .first_string(&bytes)
                .ok()
                .map(|s| Evaluated::Text(Some(s.map(Cow::into_owned).unwrap_or_default()))),
            Want::Text => {
                let element = matches!(stream.target(), crate::xml::StreamTarget::Element);
                let mut out = String::new();
                let mut tree_needed = false;
                let scan = stream.for_each_match(&bytes, |m| {
                    let text = if element { &m.direct_text } else { &m.value };
                    if element && text.trim().is_empty() {
                        tree_needed = true;
                        return std::ops::ControlFlow::Break(());
                    }
                    out.push_str(if element { text.trim() } else { text });
                    std::ops::ControlFlow::Continue(())
                });
                (scan.is_ok() && !tree_needed).then_some(Evaluated::Text(Some(out)))
            }
            Want::Nodes => None,
        })
    }
}

fn evaluate<D: crate::xpath::dom::Dom + ?Sized>(
    x: &XPath,
    dom: &D,
    cx: &MessageXPathContext<'_>,
    node: NodeId,
    want: Want,
    doc: Option<&Arc<Document>>,
) -> std::result::Result<Evaluated, crate::xpath::EvalError> {
    match want {
        Want::Bool => x.evaluate_boolean(dom, cx, node).map(Evaluated::Bool),
        Want::Nodes => x.evaluate(dom, cx, node).map(|v| match v {
            crate::xpath::Value::NodeSet(n) => Evaluated::Nodes(n),
            other => Evaluated::Text(Some(other.into_string_value(dom))),
        }),
        Want::Text => {
            let mut ser = |n: NodeId, out: &mut String| {
                if let Some(d) = doc {
                    out.push_str(&String::from_utf8_lossy(&d.standalone_bytes(n)));
                }
            };
            x.evaluate_synapse_string(dom, cx, node, &mut ser)
                .map(Evaluated::Text)
        }
    }
}
