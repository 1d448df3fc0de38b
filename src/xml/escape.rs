//! Character-level rules shared by the tree builder, the streaming matcher and the writer:
//! resolving references (only the five predefined entities and character references, nothing
//! else, ever), end-of-line and attribute-value normalization, and escaping for output.
//! Every function returns borrowed input when nothing had to change. Must not: allocate when the
//! input needs no change, or know about trees.

use std::borrow::Cow;

use super::error::XmlErrorKind;

/// A reference resolution failure: kind and message; the caller knows the offset.
pub(crate) type RefError = (XmlErrorKind, String);

/// The replacement of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    Char(char),
    Str(&'static str),
}

impl Resolved {
    pub(crate) fn push_to(self, out: &mut String) {
        match self {
            Resolved::Char(c) => out.push(c),
            Resolved::Str(s) => out.push_str(s),
        }
    }
}

/// Resolves the reference `&name;`: a character reference or one of the five predefined
/// entities. Anything else is an error (there are no other entities, by design).
pub(crate) fn resolve_ref(name: &str) -> Result<Resolved, RefError> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix('x') {
            Some(hex) if !hex.starts_with('+') => u32::from_str_radix(hex, 16).ok(),
            Some(_) => None,
            None if !num.starts_with('+') => num.parse::<u32>().ok(),
            None => None,
        };
        return match code.and_then(char::from_u32).filter(|&c| is_xml_char(c)) {
            Some(c) => Ok(Resolved::Char(c)),
            None => Err((
                XmlErrorKind::Entity,
                format!("invalid character reference &{name};"),
            )),
        };
    }
    Ok(Resolved::Str(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => {
            return Err((
                XmlErrorKind::Entity,
                format!("undefined entity &{name}; (only the predefined entities are allowed)"),
            ))
        }
    }))
}

/// Appends the replacement text of the reference `&name;` to `out`.
pub(crate) fn push_ref(out: &mut String, name: &str) -> Result<(), RefError> {
    resolve_ref(name)?.push_to(out);
    Ok(())
}

/// XML 1.0 `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `s` to `out` with XML 1.0 end-of-line normalization (`\r\n` and `\r` become `\n`).
pub(crate) fn push_eol_normalized(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = memchr::memchr(b'\r', rest.as_bytes()) {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        if rest.as_bytes().first() == Some(&b'\n') {
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
}

/// `s` with end-of-line normalization applied; borrowed when `s` holds no `\r`.
pub(crate) fn eol_normalized(s: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\r', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    push_eol_normalized(&mut out, s);
    Cow::Owned(out)
}

/// The value of a raw (still escaped) attribute value: references resolved, whitespace
/// normalized as XML 1.0 requires (`\t`, `\n`, `\r\n` and `\r` become one space; characters
/// produced by references are kept as they are). A raw `<` is an error. Borrowed when unchanged.
pub(crate) fn attr_value(raw: &str) -> Result<Cow<'_, str>, RefError> {
    let bytes = raw.as_bytes();
    let Some(first) = bytes
        .iter()
        .position(|b| matches!(b, b'&' | b'<' | b'\t' | b'\n' | b'\r'))
    else {
        return Ok(Cow::Borrowed(raw));
    };
    let mut out = String::with_capacity(raw.len());
    out.push_str(&raw[..first]);
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'&' => {
                let end = memchr::memchr(b';', &bytes[i..]).ok_or_else(|| {
                    (
                        XmlErrorKind::Syntax,
                        "unterminated reference in attribute value".to_string(),
                    )
                })?;
                push_ref(&mut out, &raw[i + 1..i + end])?;
                i += end + 1;
            }
            b'<' => {
                return Err((
                    XmlErrorKind::Syntax,
                    "'<' is not allowed in an attribute value".to_string(),
                ))
            }
            b'\r' => {
                out.push(' ');
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
            }
            b'\t' | b'\n' => {
                out.push(' ');
                i += 1;
            }
            _ => {
                // Copy the run up to the next special byte (always a char boundary: ASCII).
                let run = bytes[i..]
                    .iter()
                    .position(|b| matches!(b, b'&' | b'<' | b'\t' | b'\n' | b'\r'))
                    .map_or(bytes.len(), |p| i + p);
                out.push_str(&raw[i..run]);
                i = run;
            }
        }
    }
    Ok(Cow::Owned(out))
}

/// Escapes text content: `&`, `<` and `>`. Borrowed when nothing needs escaping.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    escape_with(s, |b| matches!(b, b'&' | b'<' | b'>'))
}

/// Escapes an attribute value for a `"`-quoted attribute: `&`, `<`, `"`, and `\t`, `\n`, `\r` as
/// character references so they survive attribute-value normalization on re-parse.
pub fn escape_attr(s: &str) -> Cow<'_, str> {
    escape_with(s, |b| {
        matches!(b, b'&' | b'<' | b'"' | b'\t' | b'\n' | b'\r')
    })
}

fn escape_with(s: &str, special: impl Fn(u8) -> bool) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let Some(first) = bytes.iter().position(|&b| special(b)) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    let mut start = first;
    for (i, &b) in bytes.iter().enumerate().skip(first) {
        if !special(b) {
            continue;
        }
        out.push_str(&s[start..i]);
        out.push_str(match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\t' => "&#9;",
            b'\n' => "&#10;",
            _ => "&#13;",
        });
        start = i + 1;
    }
    out.push_str(&s[start..]);
    Cow::Owned(out)
}

/// True when `s` is an XML name (QName or NCName) for our purposes: ASCII characters limited to
/// letters, digits, `_`, `-`, `.` and `:` (not first: digits, `-`, `.`); any non-ASCII
/// character except whitespace is accepted.
pub(crate) fn is_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if first.is_ascii() && NAME[first as usize] != START {
        return false;
    }
    // ASCII bytes by table; a non-ASCII character is accepted unless it is whitespace.
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            if NAME[b as usize] == NOT {
                return false;
            }
            i += 1;
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            if c.is_whitespace() {
                return false;
            }
            i += c.len_utf8();
        }
    }
    true
}

const NOT: u8 = 0;
const START: u8 = 1;
const INNER: u8 = 2;

/// Per ASCII byte: may start a name, may appear inside one, or neither.
static NAME: [u8; 128] = {
    let mut t = [NOT; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            START
        } else if c.is_ascii_digit() || c == b'-' || c == b'.' {
            INNER
        } else {
            NOT
        };
        b += 1;
    }
    t
};
