//! JSON: WSO2's JSON → XML and XML → JSON conversions and JSONPath on arbitrary input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mint::json::{json_to_xml, parse, xml_to_json, JsonPath, JsonSettings};

fuzz_target!(|data: &[u8]| {
    let settings = JsonSettings::default();
    if let Ok(xml) = json_to_xml(data, &settings) {
        // What JSON → XML writes must be XML that converts back.
        let _ = xml_to_json(xml.as_bytes(), &settings);
    }
    let _ = xml_to_json(data, &settings);
    if let Ok(text) = std::str::from_utf8(data) {
        let (path, doc) = text.split_once('\n').unwrap_or((text, "{}"));
        if let (Ok(p), Ok(v)) = (JsonPath::compile(path), parse(doc.as_bytes())) {
            let _ = p.evaluate(&v).to_synapse_string();
        }
    }
});
