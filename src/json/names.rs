//! JSON keys ↔ XML element names, as Synapse's `JsonReaderDelegate` / `XmlReaderDelegate` map
//! them: a leading digit gets the `_JsonReader_PD_` prefix, a leading `$` becomes
//! `_JsonReader_PS_`, and any other character an XML name cannot hold becomes
//! `_JsonReader_<code point>_` (WSO2 does that only with `synapse.build_valid_nc_name=true` and
//! otherwise emits ill-formed XML; mint always does it, and always decodes it on the way back).

use std::borrow::Cow;

use super::JsonError;

const PD: &str = "_JsonReader_PD_";
const PS: &str = "_JsonReader_PS_";
const ID: &str = "_JsonReader_";

/// XML 1.0 (5th edition) NameStartChar, without `:`, narrowed to what mint's XML parser accepts
/// in ASCII.
fn is_name_start(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic() || c == '_';
    }
    matches!(c as u32,
        0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x2FF | 0x370..=0x37D | 0x37F..=0x1FFF
        | 0x200C..=0x200D | 0x2070..=0x218F | 0x2C00..=0x2FEF | 0x3001..=0xD7FF
        | 0xF900..=0xFDCF | 0xFDF0..=0xFFFD | 0x10000..=0xEFFFF)
}

/// XML 1.0 NameChar without `:`.
fn is_name_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    }
    is_name_start(c) || matches!(c as u32, 0xB7 | 0x300..=0x36F | 0x203F..=0x2040)
}

/// The XML element (or attribute) name for a JSON key.
pub(crate) fn key_to_name(key: &str) -> Result<Cow<'_, str>, JsonError> {
    let mut chars = key.chars();
    let first = chars.next().ok_or(JsonError::EmptyKey)?;
    let (prefix, rest) = if first.is_ascii_digit() {
        (PD, key)
    } else if first == '$' {
        (PS, &key[1..])
    } else {
        ("", key)
    };
    let valid = |i: usize, c: char| {
        if i == 0 && prefix.is_empty() {
            is_name_start(c)
        } else {
            is_name_char(c)
        }
    };
    if prefix.is_empty() && rest.chars().enumerate().all(|(i, c)| valid(i, c)) {
        return Ok(Cow::Borrowed(key));
    }
    let mut out = String::with_capacity(prefix.len() + rest.len() + 8);
    out.push_str(prefix);
    for (i, c) in rest.chars().enumerate() {
        if valid(i, c) {
            out.push(c);
        } else {
            out.push_str(ID);
            out.push_str(&(c as u32).to_string());
            out.push('_');
        }
    }
    Ok(Cow::Owned(out))
}

/// The JSON key for an XML local name (the inverse of [`key_to_name`]).
pub(crate) fn name_to_key(name: &str) -> Cow<'_, str> {
    if !name.contains(ID) {
        return Cow::Borrowed(name);
    }
    let (mut out, body) = if let Some(rest) = name.strip_prefix(PD) {
        (String::new(), rest)
    } else if let Some(rest) = name.strip_prefix(PS) {
        (String::from("$"), rest)
    } else {
        (String::new(), name)
    };
    let mut s = body;
    while let Some(i) = s.find(ID) {
        out.push_str(&s[..i]);
        let after = &s[i + ID.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let decoded = (digits > 0 && after.as_bytes().get(digits) == Some(&b'_'))
            .then(|| after[..digits].parse::<u32>().ok())
            .flatten()
            .and_then(char::from_u32);
        match decoded {
            Some(c) => {
                out.push(c);
                s = &after[digits + 1..];
            }
            None => {
                out.push_str(ID);
                s = after;
            }
        }
    }
    out.push_str(s);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_to_names_and_back() {
        let cases = [
            ("name", "name"),
            ("first-name", "first-name"),
            ("a.b", "a.b"),
            ("12X12", "_JsonReader_PD_12X12"),
            ("$ref", "_JsonReader_PS_ref"),
            ("$", "_JsonReader_PS_"),
            ("abc def", "abc_JsonReader_32_def"),
            ("a:b", "a_JsonReader_58_b"),
            ("-x", "_JsonReader_45_x"),
            ("@id", "_JsonReader_64_id"),
            ("名前", "名前"),
        ];
        for (key, name) in cases {
            assert_eq!(key_to_name(key).unwrap(), name, "{key}");
            assert_eq!(name_to_key(name), key, "{name}");
        }
        assert_eq!(key_to_name(""), Err(JsonError::EmptyKey));
    }

    #[test]
    fn undecodable_sequences_stay() {
        assert_eq!(name_to_key("a_JsonReader_x"), "a_JsonReader_x");
        assert_eq!(name_to_key("a_JsonReader_12"), "a_JsonReader_12");
    }
}
