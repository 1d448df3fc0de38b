//! JSON text writers matching the Java libraries WSO2 uses: StAXON's string encoder (XML → JSON
//! output) and Gson's compact `toString()` (what `json-eval` returns for objects and arrays).

use std::fmt::Write as _;

use serde_json::Value;

/// Appends `s` as a quoted JSON string the way StAXON's `JsonStreamTargetImpl` encodes it:
/// `"`, `\`, `\b`, `\f`, `\n`, `\r`, `\t` escaped, other control characters as `\u00XX`
/// (upper-case hex), everything else (including `/` and non-ASCII) as is.
pub(crate) fn push_staxon_string(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s, true);
    out.push('"');
}

/// Gson's `JsonWriter` escaping (not HTML-safe): like StAXON but `\u00xx` in lower case, and
/// U+2028 / U+2029 escaped.
fn push_gson_string(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s, false);
    out.push('"');
}

fn push_escaped(out: &mut String, s: &str, staxon: bool) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            c if (c as u32) < 0x20 => None,
            '\u{2028}' | '\u{2029}' if !staxon => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None if staxon => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
}

/// Compact JSON text of a value as Gson's `JsonElement.toString()` writes it: no spaces, keys in
/// document order, numbers as written in the source.
pub fn to_compact_string(v: &Value) -> String {
    let mut out = String::new();
    push_compact(&mut out, v);
    out
}

pub(crate) fn push_compact(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => push_gson_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_compact(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_gson_string(out, k);
                out.push(':');
                push_compact(out, item);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staxon_and_gson_escapes() {
        let mut s = String::new();
        push_staxon_string(&mut s, "a\"b\\c\n\u{1}/é\u{2028}");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001/é\u{2028}\"");
        let v: Value =
            serde_json::from_str(r#"{"k":"\u001f\u2028<&>","n":1.50,"a":[true,null]}"#).unwrap();
        assert_eq!(
            to_compact_string(&v),
            "{\"k\":\"\\u001f\\u2028<&>\",\"n\":1.50,\"a\":[true,null]}"
        );
    }
}
