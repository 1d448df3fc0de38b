//! SOAP helpers: version detection (streaming and on the tree), envelope parts, new envelopes.

use super::{bench_payloads, borrowed_from, canon, compat_bodies, parse};
use crate::xml::soap::{build_envelope, soap_version_of, SOAP11_ENV_NS, SOAP12_ENV_NS};
use crate::xml::{Document, SoapVersion};

#[test]
fn streaming_version_agrees_with_the_tree() {
    let mut seen = (0, 0, 0);
    for (name, body) in bench_payloads().into_iter().chain(compat_bodies()) {
        let doc = Document::parse(body.clone()).unwrap();
        let v = soap_version_of(&body);
        assert_eq!(v, doc.soap_version(), "{name}");
        match v {
            Some(SoapVersion::Soap11) => seen.0 += 1,
            Some(SoapVersion::Soap12) => seen.1 += 1,
            None => seen.2 += 1,
        }
    }
    assert!(seen.0 > 0 && seen.1 > 0 && seen.2 > 0, "{seen:?}");
}

#[test]
fn streaming_version_edge_cases() {
    let v = |s: &str| soap_version_of(s.as_bytes());
    assert_eq!(v("\u{feff}<?xml version='1.0'?>\n<!-- c --><?pi x?>\n<e:Envelope xmlns:e='http://www.w3.org/2003/05/soap-envelope'/>"), Some(SoapVersion::Soap12));
    assert_eq!(
        v("<Envelope xmlns='http://schemas.xmlsoap.org/soap/envelope/'><Body/></Envelope>"),
        Some(SoapVersion::Soap11)
    );
    // The prefix used by the tag must be the one bound to the envelope namespace.
    assert_eq!(
        v("<s:Envelope xmlns:e='http://schemas.xmlsoap.org/soap/envelope/' xmlns:s='urn:x'/>"),
        None
    );
    assert_eq!(v("<Envelope/>"), None);
    assert_eq!(
        v("<s:Body xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'/>"),
        None
    );
    assert_eq!(
        v("<!DOCTYPE x><s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'/>"),
        None
    );
    assert_eq!(v("{\"json\": true}"), None);
    assert_eq!(v(""), None);
}

#[test]
fn envelope_parts() {
    let (_, body) = &bench_payloads()[1];
    let doc = Document::parse(body.clone()).unwrap();
    let header = doc.soap_header().unwrap();
    assert_eq!(doc.local(header), "Header");
    let blocks: Vec<_> = doc.soap_header_blocks().collect();
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        (doc.ns(blocks[0]), doc.local(blocks[0])),
        ("http://someuri", "routing")
    );
    assert_eq!(doc.local(doc.soap_body().unwrap()), "Body");
    let payload = doc.soap_payload().unwrap();
    assert_eq!(
        (doc.ns(payload), doc.local(payload)),
        ("http://services.samples/xsd", "buyStocks")
    );
    // The payload declares its own prefix: the self-contained copy is a zero-copy slice.
    let bytes = doc.payload_bytes().unwrap();
    assert!(borrowed_from(std::str::from_utf8(&bytes).unwrap(), body));

    let no_header = parse(&format!("<s:Envelope xmlns:s='{SOAP12_ENV_NS}'><s:Body><p:x xmlns:p='urn:p'/></s:Body></s:Envelope>"));
    assert_eq!(no_header.soap_version(), Some(SoapVersion::Soap12));
    assert_eq!(no_header.soap_header(), None);
    assert_eq!(no_header.soap_header_blocks().count(), 0);
    let empty_body = parse(&format!(
        "<s:Envelope xmlns:s='{SOAP11_ENV_NS}'><s:Body/></s:Envelope>"
    ));
    assert_eq!(empty_body.soap_payload(), None);
    let pox = parse("<order><symbol>IBM</symbol></order>");
    assert_eq!((pox.soap_version(), pox.soap_body()), (None, None));
    assert_eq!(
        &pox.payload_bytes().unwrap()[..],
        b"<order><symbol>IBM</symbol></order>"
    );
}

#[test]
fn payload_relying_on_envelope_prefix_gets_declarations() {
    let doc = parse(&format!(
        "<s:Envelope xmlns:s='{SOAP11_ENV_NS}' xmlns:m='urn:m' xmlns='urn:d'><s:Body><m:op><x>1</x></m:op></s:Body></s:Envelope>"
    ));
    let bytes = doc.payload_bytes().unwrap();
    assert_eq!(
        &bytes[..],
        b"<m:op xmlns:m=\"urn:m\" xmlns=\"urn:d\"><x>1</x></m:op>"
    );
}

#[test]
fn build_envelope_around_pox() {
    for version in [SoapVersion::Soap11, SoapVersion::Soap12] {
        let pox = b"<?xml version='1.0' encoding='UTF-8'?>\n<order xmlns='urn:o'><symbol>IBM &amp; co</symbol></order>";
        let env = build_envelope(version, Some(b"<h:t xmlns:h='urn:h'>1</h:t>"), pox);
        assert_eq!(soap_version_of(&env), Some(version));
        let doc = Document::parse(env).unwrap();
        assert_eq!(doc.soap_version(), Some(version));
        assert_eq!(doc.soap_header_blocks().count(), 1);
        let payload = doc.soap_payload().unwrap();
        let original = parse(std::str::from_utf8(pox).unwrap());
        let copy = Document::parse(doc.standalone_bytes(payload)).unwrap();
        assert_eq!(canon(&copy, 0), canon(&original, 0));
    }
    let env = build_envelope(SoapVersion::Soap11, None, b"");
    let doc = Document::parse(env).unwrap();
    assert_eq!((doc.soap_header(), doc.soap_payload()), (None, None));
    assert!(doc.soap_body().is_some());
}
