//! The tree-based JSON → XML writer mint used before the streaming one (`stream_xml.rs`): kept
//! as the oracle the streaming converter is checked against (`convert.rs`).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::json::names::key_to_name;
use crate::json::to_xml::push_text;
use crate::json::{JsonError, JsonSettings};

/// The XML infoset of a parsed JSON payload (an object or an array).
pub(super) fn value_to_xml(v: &Value, settings: &JsonSettings) -> Result<String, JsonError> {
    let mut w = Writer {
        out: String::new(),
        pi: settings.xml_out_multiple_pi,
    };
    match v {
        Value::Object(_) => w.element("jsonObject", v)?,
        Value::Array(items) => {
            if items.is_empty() && !w.pi {
                w.out.push_str("<jsonArray/>");
            } else {
                w.out.push_str("<jsonArray>");
                w.array_items("jsonElement", items)?;
                w.out.push_str("</jsonArray>");
            }
        }
        _ => return Err(JsonError::NotContainer),
    }
    Ok(w.out)
}

struct Writer {
    out: String,
    pi: bool,
}

impl Writer {
    /// One `name` element per item (an item that is itself an array nests a `<jsonArray>`).
    fn array_items(&mut self, name: &str, items: &[Value]) -> Result<(), JsonError> {
        if self.pi {
            let _ = write!(self.out, "<?xml-multiple {name}?>");
        }
        for item in items {
            match item {
                Value::Array(inner) => {
                    let _ = write!(self.out, "<{name}>");
                    self.nested_array(inner)?;
                    let _ = write!(self.out, "</{name}>");
                }
                _ => self.element(name, item)?,
            }
        }
        Ok(())
    }

    fn nested_array(&mut self, items: &[Value]) -> Result<(), JsonError> {
        if items.is_empty() && !self.pi {
            self.out.push_str("<jsonArray/>");
            return Ok(());
        }
        self.out.push_str("<jsonArray>");
        self.array_items("jsonElement", items)?;
        self.out.push_str("</jsonArray>");
        Ok(())
    }

    /// The element `name` (already a valid XML name) holding `v`.
    fn element(&mut self, name: &str, v: &Value) -> Result<(), JsonError> {
        match v {
            Value::Object(map) => self.object(name, map),
            Value::Array(items) => {
                // Only reached for a top-level member value handled by `members`; kept total.
                let _ = write!(self.out, "<{name}>");
                self.nested_array(items)?;
                let _ = write!(self.out, "</{name}>");
                Ok(())
            }
            Value::Null => {
                let _ = write!(self.out, "<{name}/>");
                Ok(())
            }
            Value::String(s) if s.is_empty() => {
                let _ = write!(self.out, "<{name}/>");
                Ok(())
            }
            _ => {
                let _ = write!(self.out, "<{name}>");
                push_text(&mut self.out, &primitive_text(v), false)?;
                let _ = write!(self.out, "</{name}>");
                Ok(())
            }
        }
    }

    fn object(&mut self, name: &str, map: &Map<String, Value>) -> Result<(), JsonError> {
        let is_attr = |k: &str, v: &Value| k.len() > 1 && k.starts_with('@') && is_primitive(v);
        let _ = write!(self.out, "<{name}");
        for (k, v) in map.iter().filter(|(k, v)| is_attr(k, v)) {
            let attr = key_to_name(&k[1..])?;
            let _ = write!(self.out, " {attr}=\"");
            push_text(&mut self.out, &primitive_text(v), true)?;
            self.out.push('"');
        }
        let text = map.get("$").filter(|v| is_primitive(v));
        let has_children = map
            .iter()
            .any(|(k, v)| !(is_attr(k, v) || (k == "$" && is_primitive(v))));
        if text.is_none() && !has_children {
            self.out.push_str("/>");
            return Ok(());
        }
        self.out.push('>');
        if let Some(t) = text {
            push_text(&mut self.out, &primitive_text(t), false)?;
        }
        for (k, v) in map {
            if is_attr(k, v) || (k == "$" && is_primitive(v)) {
                continue;
            }
            let child = key_to_name(k)?;
            match v {
                Value::Array(items) => self.array_items(&child, items)?,
                _ => self.element(&child, v)?,
            }
        }
        let _ = write!(self.out, "</{name}>");
        Ok(())
    }
}

fn is_primitive(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

/// Text of a primitive: strings as is, numbers as written, `true`/`false`, `null` as empty.
fn primitive_text(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        Value::Number(n) => std::borrow::Cow::Owned(n.to_string()),
        Value::Bool(b) => std::borrow::Cow::Borrowed(if *b { "true" } else { "false" }),
        _ => std::borrow::Cow::Borrowed(""),
    }
}
