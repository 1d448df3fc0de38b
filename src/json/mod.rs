//! JSON message support as WSO2 Micro Integrator does it: the JSON ↔ XML conversion rules of
//! Synapse's StAXON-based `JsonUtil`, and a Jayway-compatible JSONPath for `json-eval(...)` and
//! payloadFactory `evaluator="json"`.
//!
//! Owns: parsing JSON bodies into [`serde_json::Value`] (key order preserved, number text kept as
//! written), [`json_to_xml`] (`<jsonObject>` / `<jsonArray><jsonElement>` infoset),
//! [`xml_to_json`] / [`element_to_json`] (wrappers stripped, auto array, auto primitive, `@attr`,
//! `$` text, empty element → `null`), the conversion switches ([`JsonSettings`], WSO2 defaults),
//! and [`JsonPath`] with WSO2's `json-eval` string rendering ([`JsonPathResult::to_synapse_string`]).
//!
//! Memory: [`json_to_xml`] writes while reading (no JSON tree, `stream_xml.rs`), and
//! [`JsonPath::evaluate_bytes`] walks the raw payload for definite name/index paths, so the
//! common JSON-reading mediations take a few times the body, not a tree of it.
//!
//! Must not: do I/O, log, read configuration (the caller builds [`JsonSettings`] from
//! `deployment.toml`), or know about message contexts.
//!
//! ## Why `serde_json`
//! `serde_json` with `preserve_order` (XML element order follows key order) and
//! `arbitrary_precision` (a number keeps its text: `25.0000` stays `25.0000` through JSON → XML,
//! and `json-eval` renders numbers as written, like Gson's lazily parsed numbers in WSO2).
//! sonic-rs parses faster but stores numbers as `f64`/`i64`, which loses that text.

mod names;
mod number;
pub mod path;
pub mod schema;
mod stream_xml;
mod to_json;
mod to_xml;
mod write;

#[cfg(test)]
mod tests;

pub use path::{JsonPath, JsonPathResult};
pub use stream_xml::json_to_xml_into;
pub use to_json::{element_to_json, xml_to_json};
pub use to_xml::json_to_xml;
pub use write::to_compact_string;

use regex::Regex;
use thiserror::Error;

use crate::xml::XmlError;

/// What went wrong in a JSON operation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonError {
    /// The input is not well-formed JSON.
    #[error("malformed JSON: {message} at line {line}, column {col}")]
    Syntax {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        col: usize,
        /// What the parser expected.
        message: String,
    },
    /// A JSON payload whose top level is not an object or an array (WSO2 refuses these too).
    #[error("JSON payload must be an object or an array")]
    NotContainer,
    /// An empty key cannot become an XML element name.
    #[error("an empty JSON key cannot become an XML element name")]
    EmptyKey,
    /// A string holds a character XML 1.0 cannot carry (control characters).
    #[error("character U+{0:04X} cannot appear in XML")]
    InvalidXmlChar(u32),
    /// The XML input is not well-formed.
    #[error("malformed XML: {0}")]
    Xml(#[from] XmlError),
    /// An element holds both text and child elements (StAXON refuses mixed content).
    #[error("mixed content is not supported in XML to JSON conversion (element <{element}>)")]
    MixedContent {
        /// Local name of the element.
        element: String,
    },
    /// The JSONPath expression does not compile.
    #[error("invalid JSONPath `{path}` at offset {offset}: {message}")]
    Path {
        /// The expression as given.
        path: String,
        /// Byte offset of the problem.
        offset: usize,
        /// What was expected.
        message: String,
    },
}

/// The JSON ↔ XML conversion switches. Every default is WSO2 MI's.
#[derive(Debug, Clone)]
pub struct JsonSettings {
    /// XML → JSON: text that looks like a number, `true`, `false` or `null` is written unquoted
    /// (attribute values never are). `[mediation] synapse.enable_auto_primitive`. Default: `true`.
    pub auto_primitive: bool,
    /// XML → JSON: number-like values matching this regex stay strings even with
    /// `auto_primitive`. `[mediation] synapse.disable_auto_primitive_regex`. Default: none.
    /// WSO2 requires a whole-value match: build it with
    /// [`JsonSettings::with_disable_auto_primitive_regex`], which anchors it.
    pub disable_auto_primitive_regex: Option<Regex>,
    /// XML → JSON: an empty element becomes `null` (`true`) or `""` (`false`).
    /// `synapse.commons.enableXmlNullForEmptyElement`. Default: `true`.
    pub empty_as_null: bool,
    /// XML → JSON: consecutive siblings with the same name become one array.
    /// `[mediation] synapse.json_out_auto_array`. Default: `true`.
    pub auto_array: bool,
    /// XML → JSON: `<?xml-multiple name?>` starts an array (so 0 or 1 items stay an array).
    /// `synapse.commons.json.output.jsonoutMultiplePI`. Default: `true`.
    pub multiple_pi: bool,
    /// XML → JSON: `nil="true"` makes the element `null` (and an empty element `""`).
    /// `[mediation] synapse.enable_xml_nil`. Default: `false` (`{"@nil":"true"}`).
    pub xml_nil: bool,
    /// JSON → XML: write `<?xml-multiple name?>` before the items of every array, so a later
    /// XML → JSON restores arrays of 0 or 1 items. `synapse.commons.json.output.xmloutMultiplePI`.
    /// Default: `false` (the `JsonStreamBuilder` behaviour).
    pub xml_out_multiple_pi: bool,
}

impl Default for JsonSettings {
    fn default() -> Self {
        JsonSettings {
            auto_primitive: true,
            disable_auto_primitive_regex: None,
            empty_as_null: true,
            auto_array: true,
            multiple_pi: true,
            xml_nil: false,
            xml_out_multiple_pi: false,
        }
    }
}

impl JsonSettings {
    /// Sets [`JsonSettings::disable_auto_primitive_regex`] from its `deployment.toml` text,
    /// anchored so it must match the whole value (Java `Matcher.matches()`).
    pub fn with_disable_auto_primitive_regex(mut self, re: &str) -> Result<Self, regex::Error> {
        self.disable_auto_primitive_regex = Some(Regex::new(&format!("^(?:{re})$"))?);
        Ok(self)
    }
}

/// Parses a JSON document (key order and number text preserved).
pub fn parse(json: &[u8]) -> Result<serde_json::Value, JsonError> {
    serde_json::from_slice(json).map_err(syntax_error)
}

fn syntax_error(e: serde_json::Error) -> JsonError {
    JsonError::Syntax {
        line: e.line(),
        col: e.column(),
        message: strip_position(&e.to_string()),
    }
}

/// serde_json appends " at line L column C" to its messages; [`JsonError`] carries those apart.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}
