//! JSON → XML without building the JSON tree (the rules are in `to_xml.rs`), written while
//! walking the input; `tests/convert.rs` holds it to the output of a tree-based writer.
//!
//! The input is validated once as a whole (so errors carry the positions and messages of a
//! full parse); then each object is split into its members as borrowed raw slices (an object's
//! attributes and `$` text must be written before its children, whatever their order), and each
//! array is walked one item at a time. Memory is the output plus, per open object, its member
//! list: no per-value allocation (strings are copied only when they hold escapes). Work is the
//! input size times the nesting depth of objects and arrays.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{self, Write as _};

use serde::de::{Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::names::key_to_name;
use super::to_xml::push_text;
use super::{JsonError, JsonSettings};

/// Appends the XML infoset of the JSON payload `json` (an object or an array) to `out`.
pub fn json_to_xml_into(
    json: &[u8],
    settings: &JsonSettings,
    out: &mut String,
) -> Result<(), JsonError> {
    let raw: &RawValue = serde_json::from_slice(json).map_err(super::syntax_error)?;
    let mut w = Writer {
        out,
        pi: settings.xml_out_multiple_pi,
    };
    match Kind::of(raw) {
        Kind::Object => w.element("jsonObject", raw),
        Kind::Array => {
            if is_empty_array(raw) && !w.pi {
                w.out.push_str("<jsonArray/>");
                Ok(())
            } else {
                w.out.push_str("<jsonArray>");
                w.array_items("jsonElement", raw)?;
                w.out.push_str("</jsonArray>");
                Ok(())
            }
        }
        _ => Err(JsonError::NotContainer),
    }
}

/// What a raw value is, from its first byte (the input is valid JSON).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Array,
    String,
    Null,
    /// Numbers, `true`, `false`: their text is written as it is.
    Literal,
}

impl Kind {
    fn of(raw: &RawValue) -> Kind {
        match raw.get().trim_start().as_bytes().first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b'n') => Kind::Null,
            _ => Kind::Literal,
        }
    }

    fn is_primitive(self) -> bool {
        !matches!(self, Kind::Object | Kind::Array)
    }
}

fn is_empty_array(raw: &RawValue) -> bool {
    raw.get().trim()[1..].trim_start().starts_with(']')
}

/// A decoded JSON string, borrowed from the input when it holds no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// An object's members in first-occurrence order; a repeated key keeps its first place and
/// takes the last value (as the parsed tree does).
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut v: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
                let mut index: Option<HashMap<Cow<'de, str>, usize>> = None;
                while let Some((Str(k), raw)) = map.next_entry::<Str<'de>, &'de RawValue>()? {
                    if v.len() >= 16 && index.is_none() {
                        index = Some(
                            v.iter()
                                .enumerate()
                                .map(|(i, (k, _))| (k.clone(), i))
                                .collect(),
                        );
                    }
                    let at = match &index {
                        Some(ix) => ix.get(&k).copied(),
                        None => v.iter().position(|(x, _)| *x == k),
                    };
                    match at {
                        Some(i) => v[i].1 = raw,
                        None => {
                            if let Some(ix) = &mut index {
                                ix.insert(k.clone(), v.len());
                            }
                            v.push((k, raw));
                        }
                    }
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// The raw items of an array, one at a time.
fn for_each_item<'a>(
    raw: &'a RawValue,
    mut f: impl FnMut(&'a RawValue) -> Result<(), JsonError>,
) -> Result<(), JsonError> {
    struct V<'f, F>(&'f mut F, Option<JsonError>);
    impl<'de, F: FnMut(&'de RawValue) -> Result<(), JsonError>> Visitor<'de> for V<'_, F> {
        type Value = Option<JsonError>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
            while let Some(item) = seq.next_element::<&'de RawValue>()? {
                if let Err(e) = (self.0)(item) {
                    // Stop converting; the rest is skipped unread by returning at once.
                    self.1 = Some(e);
                    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                    break;
                }
            }
            Ok(self.1)
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    match de.deserialize_seq(V(&mut f, None)) {
        Ok(None) => Ok(()),
        Ok(Some(e)) => Err(e),
        Err(e) => Err(super::syntax_error(e)),
    }
}

fn members(raw: &RawValue) -> Result<Members<'_>, JsonError> {
    serde_json::from_str(raw.get()).map_err(super::syntax_error)
}

fn string(raw: &RawValue) -> Result<Cow<'_, str>, JsonError> {
    let Str(s) = serde_json::from_str(raw.get()).map_err(super::syntax_error)?;
    Ok(s)
}

struct Writer<'o> {
    out: &'o mut String,
    pi: bool,
}

impl Writer<'_> {
    /// The text of a primitive: strings decoded, booleans as written, numbers as the parsed
    /// tree writes them (as written, an exponent normalized), null empty.
    fn primitive_text<'a>(&self, raw: &'a RawValue) -> Result<Cow<'a, str>, JsonError> {
        let text = raw.get().trim();
        Ok(match Kind::of(raw) {
            Kind::String => string(raw)?,
            Kind::Null => Cow::Borrowed(""),
            _ if text.starts_with(['t', 'f']) => Cow::Borrowed(text),
            _ if !text.contains(['e', 'E']) => Cow::Borrowed(text),
            _ => {
                let n: serde_json::Number =
                    serde_json::from_str(text).map_err(super::syntax_error)?;
                Cow::Owned(n.to_string())
            }
        })
    }

    /// One `name` element per item (an item that is itself an array nests a `<jsonArray>`).
    fn array_items(&mut self, name: &str, raw: &RawValue) -> Result<(), JsonError> {
        if self.pi {
            let _ = write!(self.out, "<?xml-multiple {name}?>");
        }
        for_each_item(raw, |item| match Kind::of(item) {
            Kind::Array => {
                let _ = write!(self.out, "<{name}>");
                self.nested_array(item)?;
                let _ = write!(self.out, "</{name}>");
                Ok(())
            }
            _ => self.element(name, item),
        })
    }

    fn nested_array(&mut self, raw: &RawValue) -> Result<(), JsonError> {
        if is_empty_array(raw) && !self.pi {
            self.out.push_str("<jsonArray/>");
            return Ok(());
        }
        self.out.push_str("<jsonArray>");
        self.array_items("jsonElement", raw)?;
        self.out.push_str("</jsonArray>");
        Ok(())
    }

    /// The element `name` (already a valid XML name) holding `raw`.
    fn element(&mut self, name: &str, raw: &RawValue) -> Result<(), JsonError> {
        match Kind::of(raw) {
            Kind::Object => self.object(name, raw),
            Kind::Array => {
                let _ = write!(self.out, "<{name}>");
                self.nested_array(raw)?;
                let _ = write!(self.out, "</{name}>");
                Ok(())
            }
            Kind::Null => {
                let _ = write!(self.out, "<{name}/>");
                Ok(())
            }
            _ => {
                let text = self.primitive_text(raw)?;
                if text.is_empty() {
                    let _ = write!(self.out, "<{name}/>");
                    return Ok(());
                }
                let _ = write!(self.out, "<{name}>");
                push_text(self.out, &text, false)?;
                let _ = write!(self.out, "</{name}>");
                Ok(())
            }
        }
    }

    fn object(&mut self, name: &str, raw: &RawValue) -> Result<(), JsonError> {
        let Members(map) = members(raw)?;
        let is_attr =
            |k: &str, v: &RawValue| k.len() > 1 && k.starts_with('@') && Kind::of(v).is_primitive();
        let is_text = |k: &str, v: &RawValue| k == "$" && Kind::of(v).is_primitive();
        let _ = write!(self.out, "<{name}");
        for (k, v) in map.iter().filter(|(k, v)| is_attr(k, v)) {
            let attr = key_to_name(&k[1..])?;
            let _ = write!(self.out, " {attr}=\"");
            let text = self.primitive_text(v)?;
            push_text(self.out, &text, true)?;
            self.out.push('"');
        }
        let text = map.iter().find(|(k, _)| k == "$").map(|(_, v)| *v);
        let text = text.filter(|v| Kind::of(v).is_primitive());
        let has_children = map.iter().any(|(k, v)| !(is_attr(k, v) || is_text(k, v)));
        if text.is_none() && !has_children {
            self.out.push_str("/>");
            return Ok(());
        }
        self.out.push('>');
        if let Some(t) = text {
            let t = self.primitive_text(t)?;
            push_text(self.out, &t, false)?;
        }
        for (k, v) in &map {
            if is_attr(k, v) || is_text(k, v) {
                continue;
            }
            let child = key_to_name(k)?;
            match Kind::of(v) {
                Kind::Array => self.array_items(&child, v)?,
                _ => self.element(&child, v)?,
            }
        }
        let _ = write!(self.out, "</{name}>");
        Ok(())
    }
}

/// The value of member `name` of a raw object (the last one when the name repeats, as the parsed
/// tree keeps); `None` when `raw` is not an object or has no such member.
pub(crate) fn raw_member<'a>(
    raw: &'a RawValue,
    name: &str,
) -> Result<Option<&'a RawValue>, JsonError> {
    if Kind::of(raw) != Kind::Object {
        return Ok(None);
    }
    struct V<'n>(&'n str);
    impl<'de> Visitor<'de> for V<'_> {
        type Value = Option<&'de RawValue>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(Str(k)) = map.next_key::<Str<'de>>()? {
                let v = map.next_value::<&'de RawValue>()?;
                if k == self.0 {
                    found = Some(v);
                }
            }
            Ok(found)
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    de.deserialize_map(V(name)).map_err(super::syntax_error)
}

/// Item `index` of a raw array (negative: from the end); `None` when `raw` is not an array or
/// the index is out of range.
pub(crate) fn raw_item(raw: &RawValue, index: i64) -> Result<Option<&RawValue>, JsonError> {
    if Kind::of(raw) != Kind::Array {
        return Ok(None);
    }
    let mut items: Vec<&RawValue> = Vec::new();
    let mut found = None;
    let mut at = 0i64;
    for_each_item(raw, |item| {
        if index < 0 {
            items.push(item);
        } else if at == index {
            found = Some(item);
        }
        at += 1;
        Ok(())
    })?;
    if index < 0 {
        let i = items.len() as i64 + index;
        return Ok(usize::try_from(i).ok().and_then(|i| items.get(i).copied()));
    }
    Ok(found)
}

/// Validates `json` as a whole and returns it as one raw value.
pub(crate) fn raw_document(json: &[u8]) -> Result<&RawValue, JsonError> {
    serde_json::from_slice(json).map_err(super::syntax_error)
}
