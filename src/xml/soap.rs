//! SOAP envelope helpers: which envelope a body is (SOAP 1.1, SOAP 1.2 or plain XML — "POX"),
//! where its header, header blocks, body and payload are, and building a new envelope around a
//! payload (POX → SOAP, faults). [`soap_version_of`] answers from the first start tag alone,
//! without building a tree.
//!
//! Must not: interpret header blocks (WS-Addressing, mustUnderstand processing belong to
//! mediation), or build fault semantics (the fault mediator composes them from these pieces).

use bytes::{BufMut, Bytes, BytesMut};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::escape::attr_value;
use super::tree::Document;
use crate::xpath::dom::NodeId;

/// SOAP 1.1 envelope namespace.
pub const SOAP11_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace.
pub const SOAP12_ENV_NS: &str = "http://www.w3.org/2003/05/soap-envelope";

/// A SOAP envelope version. A body that is not an envelope is POX (`Option::None` where a
/// version is returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SoapVersion {
    /// SOAP 1.1 (`text/xml`).
    Soap11,
    /// SOAP 1.2 (`application/soap+xml`).
    Soap12,
}

impl SoapVersion {
    /// The envelope namespace URI.
    pub fn namespace(self) -> &'static str {
        match self {
            SoapVersion::Soap11 => SOAP11_ENV_NS,
            SoapVersion::Soap12 => SOAP12_ENV_NS,
        }
    }

    /// The version whose envelope namespace is `uri`.
    pub fn from_namespace(uri: &str) -> Option<SoapVersion> {
        match uri {
            SOAP11_ENV_NS => Some(SoapVersion::Soap11),
            SOAP12_ENV_NS => Some(SoapVersion::Soap12),
            _ => None,
        }
    }

    /// The media type of messages of this version (without parameters).
    pub fn content_type(self) -> &'static str {
        match self {
            SoapVersion::Soap11 => "text/xml",
            SoapVersion::Soap12 => "application/soap+xml",
        }
    }
}

/// The SOAP version of a body from its first start tag only (an `Envelope` element in one of
/// the two envelope namespaces, declared on that tag); `None` for POX, non-XML or a document
/// that starts with a DOCTYPE. Reads past the XML declaration, comments and PIs; never builds a
/// tree.
pub fn soap_version_of(bytes: &[u8]) -> Option<SoapVersion> {
    let mut reader = Reader::from_reader(bytes);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                let qname = e.name().0;
                let (prefix, local) = match qname.split_once(':') {
                    Some((p, l)) => (p, l),
                    None => ("", qname),
                };
                if local != "Envelope" {
                    return None;
                }
                for a in e.attributes().with_checks(false) {
                    let a = a.ok()?;
                    let key = a.key.0;
                    let declares = match key.strip_prefix("xmlns") {
                        Some("") => prefix.is_empty(),
                        Some(rest) => rest.strip_prefix(':') == Some(prefix),
                        None => false,
                    };
                    if declares {
                        let uri = attr_value(&a.value).ok()?;
                        return SoapVersion::from_namespace(&uri);
                    }
                }
                return None;
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Text(t) if t.trim().is_empty() => {}
            _ => return None,
        }
    }
}

impl Document {
    /// The SOAP version when the root element is an `Envelope` in an envelope namespace.
    pub fn soap_version(&self) -> Option<SoapVersion> {
        let root = self.root_element();
        if self.local(root) != "Envelope" {
            return None;
        }
        SoapVersion::from_namespace(self.ns(root))
    }

    /// The `Header` element: the envelope's first child element, when it is one.
    pub fn soap_header(&self) -> Option<NodeId> {
        let v = self.soap_version()?;
        let first = self.child_elements(self.root_element()).next()?;
        self.is(first, v.namespace(), "Header").then_some(first)
    }

    /// The header blocks (child elements of the header), in order.
    pub fn soap_header_blocks(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.soap_header()
            .into_iter()
            .flat_map(|h| self.child_elements(h))
    }

    /// The header blocks as self-contained XML, one after the other (what goes inside a new
    /// envelope's `Header`): None without a header or blocks.
    pub fn soap_header_content(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for b in self.soap_header_blocks() {
            out.extend_from_slice(&self.standalone_bytes(b));
        }
        (!out.is_empty()).then_some(out)
    }

    /// The `Body` element of the envelope.
    pub fn soap_body(&self) -> Option<NodeId> {
        let v = self.soap_version()?;
        self.child_element(self.root_element(), v.namespace(), "Body")
    }

    /// The first child element of the body (the payload), if any.
    pub fn soap_payload(&self) -> Option<NodeId> {
        self.child_elements(self.soap_body()?).next()
    }

    /// The message payload as self-contained XML: the first body child of an envelope
    /// (declaring the prefixes it inherits), or the whole root element of a POX document.
    /// Zero-copy when nothing needs declaring.
    pub fn payload_bytes(&self) -> Option<Bytes> {
        match self.soap_version() {
            Some(_) => self.soap_payload().map(|p| self.standalone_bytes(p)),
            None => Some(self.standalone_bytes(self.root_element())),
        }
    }
}

/// Builds `<soapenv:Envelope><soapenv:Header>header</soapenv:Header><soapenv:Body>payload
/// </soapenv:Body></soapenv:Envelope>` (the header only when given). `payload` and `header` must
/// be self-contained XML content (a leading XML declaration or byte-order mark in `payload` is
/// dropped); see [`Document::payload_bytes`] and [`Document::standalone_bytes`].
pub fn build_envelope(version: SoapVersion, header: Option<&[u8]>, payload: &[u8]) -> Bytes {
    let payload = strip_prolog(payload);
    let ns = version.namespace();
    let mut out = BytesMut::with_capacity(payload.len() + header.map_or(0, <[u8]>::len) + 160);
    out.put_slice(b"<soapenv:Envelope xmlns:soapenv=\"");
    out.put_slice(ns.as_bytes());
    out.put_slice(b"\">");
    if let Some(h) = header {
        out.put_slice(b"<soapenv:Header>");
        out.put_slice(h);
        out.put_slice(b"</soapenv:Header>");
    }
    out.put_slice(b"<soapenv:Body>");
    out.put_slice(payload);
    out.put_slice(b"</soapenv:Body></soapenv:Envelope>");
    out.freeze()
}

/// Drops a byte-order mark and an XML declaration (with the whitespace after it).
fn strip_prolog(xml: &[u8]) -> &[u8] {
    let s = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let t = s.trim_ascii_start();
    if t.starts_with(b"<?xml")
        && t.get(5)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'?')
    {
        if let Some(end) = memchr::memmem::find(t, b"?>") {
            return t[end + 2..].trim_ascii_start();
        }
    }
    s
}
