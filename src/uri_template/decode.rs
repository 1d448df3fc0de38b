//! `java.net.URLDecoder.decode(s, "UTF-8")`, byte for byte.

use std::borrow::Cow;
use std::fmt;

/// A malformed `%` escape: where Java's `URLDecoder` throws `IllegalArgumentException`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError;

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed percent-encoding")
    }
}

impl std::error::Error for DecodeError {}

/// Decodes like `java.net.URLDecoder.decode(s, "UTF-8")`: `+` becomes a space, each run of `%XX`
/// escapes is decoded as UTF-8 (malformed bytes become U+FFFD), every other character is kept.
///
/// Errors where Java throws: a `%` with fewer than two characters after it, or a pair that
/// `Integer.parseInt(pair, 16)` rejects or reads as negative. (Java also accepts `%+F` and `%-0`,
/// so this does too.) Synapse uses this for `query.param.*` values and legacy HTTP endpoint
/// values; URI-template captures keep `+` (see [`UriTemplate`](super::UriTemplate)).
pub fn url_decode(s: &str) -> Result<String, DecodeError> {
    decode_java(s, true).map(Cow::into_owned)
}

/// The decoder behind [`url_decode`]. `plus_as_space = false` is URI-template capture decoding,
/// `URLDecoder.decode(s.replaceAll("\\+", "%2B"))`: `+` stays `+` (and `%+5` is then malformed).
/// Borrows when there is nothing to decode.
pub(crate) fn decode_java(s: &str, plus_as_space: bool) -> Result<Cow<'_, str>, DecodeError> {
    if !plus_as_space && s.contains('+') {
        let protected = s.replace('+', "%2B");
        return decode_java(&protected, true).map(|c| Cow::Owned(c.into_owned()));
    }
    let special = |b: u8| b == b'%' || (plus_as_space && b == b'+');
    let bytes = s.as_bytes();
    let Some(first) = bytes.iter().position(|&b| special(b)) else {
        return Ok(Cow::Borrowed(s));
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut run: Vec<u8> = Vec::new();
    let mut i = first;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                run.clear();
                // Java: `while ((i + 2) < numChars && c == '%')`, then a lone trailing `%` throws.
                while i + 2 < bytes.len() && bytes[i] == b'%' {
                    run.push(java_hex_pair(bytes[i + 1], bytes[i + 2])?);
                    i += 3;
                }
                if i < bytes.len() && bytes[i] == b'%' {
                    return Err(DecodeError);
                }
                out.push_str(&String::from_utf8_lossy(&run));
            }
            b'+' if plus_as_space => {
                out.push(' ');
                i += 1;
            }
            _ => {
                // `i` follows an ASCII byte (or is `first`), so it is a char boundary; so is `end`.
                let end = bytes[i..]
                    .iter()
                    .position(|&b| special(b))
                    .map_or(bytes.len(), |p| i + p);
                out.push_str(&s[i..end]);
                i = end;
            }
        }
    }
    Ok(Cow::Owned(out))
}

/// `Integer.parseInt(pair, 16)` followed by Java's negative-value check.
fn java_hex_pair(a: u8, b: u8) -> Result<u8, DecodeError> {
    let digit = |c: u8| (c as char).to_digit(16).ok_or(DecodeError);
    match a {
        b'+' => Ok(digit(b)? as u8),
        b'-' if digit(b)? == 0 => Ok(0),
        b'-' => Err(DecodeError),
        _ => Ok((digit(a)? * 16 + digit(b)?) as u8),
    }
}
