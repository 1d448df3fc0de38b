//! XML → JSON as WSO2's `JsonUtil.writeAsJson` does it (StAXON writer with MI's settings).
//!
//! Rules, in the order WSO2 applies them:
//! - whitespace-only text nodes are dropped (`removeIndentations`); comments are ignored;
//! - namespace declarations and prefixes are dropped (elements and attributes);
//! - the root element becomes the only key of the top-level object;
//! - an object whose first key is `jsonObject`, `jsonArray` or `jsonElement` is replaced by that
//!   key's value (the stream target skips the brace), which strips the builder's wrappers;
//! - attributes become `"@name"` members (always strings), then either `"$"` for the text or the
//!   child elements; text next to child elements is refused (mixed content);
//! - consecutive siblings with the same name become an array (`auto_array`), and
//!   `<?xml-multiple name?>` starts one even for 0 or 1 items (`multiple_pi`); non-consecutive
//!   repeats give repeated keys, as WSO2 writes them;
//! - leaf text: `true`/`false`/`null`/numbers unquoted (`auto_primitive`, numbers written as Java
//!   `BigDecimal.toString()`), otherwise a string; an empty element is `null` (`empty_as_null`).

use bytes::Bytes;

use super::names::name_to_key;
use super::number::staxon_number;
use super::write::push_staxon_string;
use super::{JsonError, JsonSettings};
use crate::xml::Document;
use crate::xpath::dom::{NodeId, NodeKind};

const WRAPPERS: [&str; 3] = ["jsonObject", "jsonArray", "jsonElement"];
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Parses `xml` and converts its document element to JSON text.
pub fn xml_to_json(xml: &[u8], settings: &JsonSettings) -> Result<String, JsonError> {
    let doc = Document::parse(Bytes::copy_from_slice(xml))?;
    element_to_json(&doc, doc.root_element(), settings)
}

/// Converts element `el` of `doc` (for a SOAP message: the first child of the Body) to JSON text.
pub fn element_to_json(
    doc: &Document,
    el: NodeId,
    settings: &JsonSettings,
) -> Result<String, JsonError> {
    let conv = Converter { doc, s: settings };
    let key = name_to_key(doc.local(el)).into_owned();
    let top = strip_wrapper(Out::Obj(vec![(key, conv.element(el)?)]));
    let mut out = String::new();
    top.write(&mut out);
    Ok(out)
}

/// The JSON value being built (written once complete, so wrappers can be stripped).
enum Out {
    Null,
    /// A string, quoted on output.
    Str(String),
    /// A literal written as is (numbers, `true`, `false`).
    Raw(String),
    Arr(Vec<Out>),
    /// Members in order; keys may repeat, as in WSO2's output.
    Obj(Vec<(String, Out)>),
}

impl Out {
    fn write(&self, out: &mut String) {
        match self {
            Out::Null => out.push_str("null"),
            Out::Str(s) => push_staxon_string(out, s),
            Out::Raw(s) => out.push_str(s),
            Out::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Out::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_staxon_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// `{"jsonObject": v}` → `v` (WSO2 skips the object brace when its first name is a wrapper; with
/// more members it would write broken JSON, so those objects are kept whole).
fn strip_wrapper(o: Out) -> Out {
    match o {
        Out::Obj(mut members)
            if members.len() == 1 && WRAPPERS.contains(&members[0].0.as_str()) =>
        {
            match members.pop() {
                Some((_, v)) => v,
                None => Out::Obj(members),
            }
        }
        other => other,
    }
}

/// A run of members with one key: a single value, or an array.
enum Group {
    One(Out),
    Many(Vec<Out>),
}

struct Converter<'a> {
    doc: &'a Document,
    s: &'a JsonSettings,
}

impl Converter<'_> {
    fn element(&self, el: NodeId) -> Result<Out, JsonError> {
        let doc = self.doc;
        let mut nil = false;
        let mut members: Vec<(String, Out)> = Vec::new();
        for &a in doc.attribute_nodes(el) {
            let local = doc.local(a);
            if self.s.xml_nil
                && local == "nil"
                && doc.value(a) == "true"
                && matches!(doc.ns(a), "" | XSI_NS)
            {
                nil = true;
                continue;
            }
            members.push((format!("@{local}"), Out::Str(doc.value(a).to_string())));
        }

        let mut groups: Vec<(String, Group)> = Vec::new();
        let mut pending_array = false;
        let mut text: Option<String> = None;
        for c in doc.children(el) {
            match doc.kind(c) {
                NodeKind::Element => {
                    let key = name_to_key(doc.local(c)).into_owned();
                    let v = self.element(c)?;
                    if std::mem::take(&mut pending_array) {
                        groups.push((key, Group::Many(vec![v])));
                        continue;
                    }
                    match groups.last_mut() {
                        Some((k, Group::Many(items))) if *k == key => items.push(v),
                        Some((k, g @ Group::One(_))) if *k == key && self.s.auto_array => {
                            if let Group::One(first) = std::mem::replace(g, Group::Many(Vec::new()))
                            {
                                *g = Group::Many(vec![first, v]);
                            }
                        }
                        _ => groups.push((key, Group::One(v))),
                    }
                }
                NodeKind::Text => {
                    let t = doc.value(c);
                    if !t.chars().all(char::is_whitespace) {
                        text.get_or_insert_with(String::new).push_str(t);
                    }
                }
                NodeKind::ProcessingInstruction
                    if self.s.multiple_pi && doc.name(c) == "xml-multiple" =>
                {
                    let data = doc.value(c).trim();
                    if data.is_empty() {
                        pending_array = true;
                    } else {
                        groups.push((name_to_key(data).into_owned(), Group::Many(Vec::new())));
                    }
                }
                _ => {}
            }
        }

        if nil {
            return Ok(Out::Null);
        }
        if let Some(t) = &text {
            if !groups.is_empty() {
                return Err(JsonError::MixedContent {
                    element: doc.local(el).to_string(),
                });
            }
            if members.is_empty() {
                return Ok(self.primitive(t));
            }
            members.push(("$".to_string(), self.primitive(t)));
            return Ok(Out::Obj(members));
        }
        if members.is_empty() && groups.is_empty() {
            return Ok(if self.s.empty_as_null && !self.s.xml_nil {
                Out::Null
            } else {
                Out::Str(String::new())
            });
        }
        for (k, g) in groups {
            members.push((
                k,
                match g {
                    Group::One(v) => v,
                    Group::Many(items) => Out::Arr(items),
                },
            ));
        }
        Ok(strip_wrapper(Out::Obj(members)))
    }

    /// StAXON's `AutoPrimitiveTarget`; the custom regex only keeps would-be numbers as strings
    /// (`CustomRegexIgnoreAutoPrimitiveTarget`).
    fn primitive(&self, t: &str) -> Out {
        if !self.s.auto_primitive {
            return Out::Str(t.to_string());
        }
        match t {
            "true" | "false" => Out::Raw(t.to_string()),
            "null" => Out::Null,
            _ if self
                .s
                .disable_auto_primitive_regex
                .as_ref()
                .is_some_and(|re| re.is_match(t)) =>
            {
                Out::Str(t.to_string())
            }
            _ => match staxon_number(t) {
                Some(n) => Out::Raw(n),
                None => Out::Str(t.to_string()),
            },
        }
    }
}
