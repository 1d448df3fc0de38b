//! JSON → XML as WSO2's `JsonStreamBuilder` builds the infoset: an object becomes
//! `<jsonObject>…</jsonObject>`, an array `<jsonArray><jsonElement>…</jsonElement>…</jsonArray>`;
//! a named array repeats its element (`{"a":[1,2]}` → `<a>1</a><a>2</a>`; `[]` leaves nothing);
//! an array inside an array becomes a nested `<jsonArray>`; `null`, `""` and `{}` become empty
//! elements; `"@x"` keys with primitive values become attributes and a `"$"` key the text
//! (StAXON conventions); keys that are not XML names are escaped (see `names.rs`).

use super::{JsonError, JsonSettings};

/// Returns the XML infoset of the JSON payload `json` as well-formed XML text, written while
/// reading the input (no JSON tree; see `stream_xml.rs`).
pub fn json_to_xml(json: &[u8], settings: &JsonSettings) -> Result<String, JsonError> {
    let mut out = String::with_capacity(json.len().saturating_mul(2));
    super::json_to_xml_into(json, settings, &mut out)?;
    Ok(out)
}

/// Appends XML-escaped text (`&`, `<`, `>`, `\r`; in attributes also `"`, `\t`, `\n`), refusing
/// characters XML 1.0 cannot carry.
pub(crate) fn push_text(out: &mut String, s: &str, attr: bool) -> Result<(), JsonError> {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if attr => out.push_str("&quot;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(JsonError::InvalidXmlChar(c as u32))
            }
            c => out.push(c),
        }
    }
    Ok(())
}
