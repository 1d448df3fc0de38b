//! XPath: compiling arbitrary expressions and evaluating them on a fixed SOAP document.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mint::xml::Document;
use mint::xpath::{compile, NoContext};

const DOC: &[u8] = b"<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Header><t:r xmlns:t=\"urn:t\">h</t:r></soapenv:Header><soapenv:Body><m:buy xmlns:m=\"urn:m\"><order id=\"1\"><symbol>IBM</symbol><price>1.5</price></order><order id=\"2\"><symbol>SUN</symbol></order></m:buy></soapenv:Body></soapenv:Envelope>";

fuzz_target!(|data: &[u8]| {
    let Ok(expr) = std::str::from_utf8(data) else { return };
    let ns = [("m".to_string(), "urn:m".to_string()), ("t".to_string(), "urn:t".to_string())];
    let Ok(x) = compile(expr, &ns) else { return };
    let Ok(doc) = Document::parse(Bytes::from_static(DOC)) else { return };
    let _ = x.evaluate(&doc, &NoContext, doc.root_element());
});
