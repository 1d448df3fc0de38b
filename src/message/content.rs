//! The message's content as mediators see it: the body parsed as XML (a JSON body through WSO2's
//! XML view), and what an evaluation returns.

use std::sync::Arc;

use bytes::Bytes;

use super::context::{BodyType, MessageContext};
use crate::error::{Error, ErrorKind, Result, Side};
use crate::xml::Document;
use crate::xpath::dom::NodeId;

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
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        let bytes = if let (false, Some(view)) = (blank, self.builder_view(&bytes)) {
            view
        } else if self.body_type == BodyType::Json && !blank {
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

/// Axis2's wrapper element of a text payload (`PlainTextBuilder`).
const TEXT_NS: &str = "http://ws.apache.org/commons/ns/payload";

impl MessageContext {
    /// The XML view Axis2's builders make of a body that is not XML or JSON, inside a SOAP 1.1
    /// envelope: `text/plain` is one `<axis2ns:text>` element holding the text
    /// (`PlainTextBuilder`); `application/x-www-form-urlencoded` is `<xformValues>` with an
    /// element per field, its value decoded (`XFormURLEncodedBuilder`; a field whose name is no
    /// XML name is left out). None for anything else (read as XML).
    fn builder_view(&self, bytes: &[u8]) -> Option<Bytes> {
        let mt = self.builder_kind()?;
        let mut xml = String::from(
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>",
        );
        match mt {
            "text/plain" => {
                let text = String::from_utf8_lossy(bytes);
                xml.push_str(&format!(
                    "<axis2ns:text xmlns:axis2ns=\"{TEXT_NS}\">{}</axis2ns:text>",
                    crate::xml::escape_text(&text)
                ));
            }
            "application/x-www-form-urlencoded" => {
                xml.push_str("<xformValues>");
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(&s.replace('+', " "))
                        .decode_utf8_lossy()
                        .into_owned()
                };
                for pair in String::from_utf8_lossy(bytes).split('&') {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let (k, v) = (decode(k), decode(v));
                    if crate::xml::is_name(&k) && !k.contains(':') {
                        xml.push_str(&format!("<{k}>{}</{k}>", crate::xml::escape_text(&v)));
                    }
                }
                xml.push_str("</xformValues>");
            }
            _ => return None,
        }
        xml.push_str("</soapenv:Body></soapenv:Envelope>");
        Some(Bytes::from(xml))
    }

    /// The `messageType` of a body read through one of Axis2's non-XML builders (text, form);
    /// None for XML, JSON and anything else.
    pub fn builder_kind(&self) -> Option<&'static str> {
        if self.body_type != BodyType::Other {
            return None;
        }
        let mt = self.axis2.get("messageType")?;
        ["text/plain", "application/x-www-form-urlencoded"]
            .into_iter()
            .find(|k| mt.eq_ignore_ascii_case(k))
    }

    /// Where the message is addressed: `To` as set, else a SOAP message's WS-Addressing `To`
    /// header (kept as `To` from then on); None for a REST message without one.
    pub async fn to_address(&mut self) -> Option<String> {
        if self.to.is_none() && !self.doing_rest() {
            if let Ok(doc) = self.document().await {
                self.to = wsa_to(&doc);
            }
        }
        self.to.clone()
    }

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

/// The query a GET request makes of the payload (Axis2's `XFormURLEncodedFormatter`): each
/// child element of the payload's first element as `name=text`, form-encoded.
pub fn form_query(doc: &Document) -> String {
    use crate::xpath::dom::{Dom, NodeKind};
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let payload = match doc.soap_version() {
        Some(_) => doc.soap_payload(),
        None => Some(doc.root_element()),
    };
    let Some(payload) = payload else {
        return String::new();
    };
    let mut pairs = Vec::new();
    for c in doc.children(payload) {
        if doc.kind(c) == NodeKind::Element {
            pairs.push(format!(
                "{}={}",
                utf8_percent_encode(doc.local_name(c), NON_ALPHANUMERIC),
                utf8_percent_encode(&doc.text_content(c), NON_ALPHANUMERIC)
            ));
        }
    }
    pairs.join("&")
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

impl MessageContext {
    /// Replaces the body with new XML content, and the message type with `content_type` when
    /// given (as mediators that build content do).
    pub fn set_content(&mut self, body: Bytes, content_type: Option<&str>) {
        self.set_content_typed(body, content_type, BodyType::Xml)
    }

    /// Replaces the body with content of the given type.
    pub fn set_content_typed(
        &mut self,
        body: Bytes,
        content_type: Option<&str>,
        body_type: BodyType,
    ) {
        self.set_body(body);
        self.body_type = body_type;
        self.axis2.remove("NO_ENTITY_BODY");
        if let Some(ct) = content_type {
            self.axis2.insert("messageType".into(), ct.into());
            self.axis2.insert("ContentType".into(), ct.into());
        }
    }
}
