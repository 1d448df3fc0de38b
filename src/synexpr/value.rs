//! The values a Synapse expression computes, with the type rules MI 4.4 applies to them (see
//! `/work/notes`-derived module docs in [`super`]).

use std::borrow::Cow;

/// One value. Numbers keep Java's kinds, because the result's text depends on them (`10 / 2` is
/// `5`, `10 / 2.0` is `5.0`) and so do the operators (`<` refuses a `Long`).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    /// Java `Integer`.
    Int(i32),
    /// Java `Long` (large literals, `now()`, integer overflow of `+` and `*`).
    Long(i64),
    /// Java `Double`.
    Double(f64),
    Str(String),
    /// A JSON object or array (JSON scalars are unwrapped to the variants above).
    Json(serde_json::Value),
    /// XML (an `xpath()` node-set or an XML variable), serialized.
    Xml(String),
}

impl Val {
    /// A JSON value as MI's Gson provider unwraps it: strings, booleans, null, integral numbers
    /// as `Int` (or `Long` beyond i32), others as `Double`; objects and arrays stay JSON.
    pub fn from_json(v: serde_json::Value) -> Val {
        use serde_json::Value as J;
        match v {
            J::Null => Val::Null,
            J::Bool(b) => Val::Bool(b),
            J::String(s) => Val::Str(s),
            J::Number(n) => {
                if let Some(i) = n.as_i64() {
                    match i32::try_from(i) {
                        Ok(i) => Val::Int(i),
                        Err(_) => Val::Long(i),
                    }
                } else {
                    let text = n.to_string();
                    let integral = !text.contains(['.', 'e', 'E']);
                    match (integral, text.parse::<i64>()) {
                        (true, Ok(i)) => Val::Long(i),
                        _ => Val::Double(n.as_f64().unwrap_or(f64::NAN)),
                    }
                }
            }
            other => Val::Json(other),
        }
    }

    /// A value as JSON (for arrays built from values, JSON payloads, variables).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Val::Null => J::Null,
            Val::Bool(b) => J::Bool(*b),
            Val::Int(i) => J::from(*i),
            Val::Long(i) => J::from(*i),
            Val::Double(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
            Val::Str(s) | Val::Xml(s) => J::String(s.clone()),
            Val::Json(j) => j.clone(),
        }
    }

    /// A value read from text that MI re-parses (headers, properties, parameters, configs):
    /// an `Int`, else a `Long`, else a `Double` (Java's `parseDouble`), else the text.
    pub fn reparsed(text: &str) -> Val {
        if let Ok(i) = text.parse::<i32>() {
            return Val::Int(i);
        }
        if let Ok(i) = text.parse::<i64>() {
            return Val::Long(i);
        }
        let t = text.trim();
        let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
        let looks_numeric = !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
            || matches!(t, "NaN" | "Infinity" | "-Infinity" | "+Infinity");
        if looks_numeric {
            if let Ok(d) = t.parse::<f64>() {
                return Val::Double(d);
            }
        }
        Val::Str(text.to_string())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// MI's "is a string": a string value.
    pub fn is_string(&self) -> bool {
        matches!(self, Val::Str(_))
    }

    /// MI's "integer or double" (what `<`, `isNumber` and the math functions accept; not `Long`).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// Any number.
    pub fn is_numeric(&self) -> bool {
        matches!(self, Val::Int(_) | Val::Long(_) | Val::Double(_))
    }

    /// The text MI renders: strings as they are (one pair of surrounding quotes removed),
    /// doubles as Java's `Double.toString`, JSON compact, null as `""`.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Val::Null => Cow::Borrowed(""),
            Val::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Val::Int(i) => Cow::Owned(i.to_string()),
            Val::Long(i) => Cow::Owned(i.to_string()),
            Val::Double(d) => Cow::Owned(crate::xpath::stringify::java_double_to_string(*d)),
            Val::Str(s) => Cow::Borrowed(strip_quotes(s)),
            Val::Json(j) => Cow::Owned(crate::json::to_compact_string(j)),
            Val::Xml(x) => Cow::Borrowed(x),
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "boolean",
            Val::Int(_) => "integer",
            Val::Long(_) => "long",
            Val::Double(_) => "double",
            Val::Str(_) => "string",
            Val::Json(serde_json::Value::Array(_)) => "array",
            Val::Json(_) => "object",
            Val::Xml(_) => "xml",
        }
    }
}

/// One pair of matching surrounding quotes removed (MI's string reading).
pub fn strip_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &s[1..s.len() - 1]
    } else {
        s
    }
}
