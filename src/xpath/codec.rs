//! Byte-level helpers behind Synapse's `base64Encode`, `base64Decode`, `url-encode` and
//! `url-decode` XPath functions, and the `$url:` variable: Java charsets (the few Synapse
//! configurations name), commons-codec's lenient Base64, and commons-httpclient's
//! `URIUtil.encodePathQuery`.

use percent_encoding::{percent_encode, AsciiSet, CONTROLS};

/// A Java charset name we can encode to and decode from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    Utf8,
    Latin1,
    Ascii,
    Utf16Be,
    Utf16Le,
    /// Java's "UTF-16": big-endian with a byte-order mark when encoding; BOM-sniffing decode.
    Utf16,
}

impl Charset {
    /// Looks a Java charset name up (case-insensitive, common aliases).
    pub(crate) fn from_name(name: &str) -> Option<Charset> {
        let n = name.trim().to_ascii_uppercase().replace('_', "-");
        Some(match n.as_str() {
            "UTF-8" | "UTF8" | "UNICODE-1-1-UTF-8" => Charset::Utf8,
            "ISO-8859-1" | "ISO8859-1" | "LATIN1" | "ISO-LATIN-1" | "8859-1" | "L1" | "CP819"
            | "IBM819" | "IBM-819" | "819" | "CSISOLATIN1" | "ISO-IR-100" | "ISO-8859-1:1987" => {
                Charset::Latin1
            }
            "US-ASCII" | "ASCII" | "US" | "ASCII7" | "646" | "ISO646-US" | "CP367" | "IBM367"
            | "CSASCII" | "DEFAULT" | "ISO-IR-6" | "ANSI-X3.4-1968" | "ANSI-X3.4-1986"
            | "ISO-646.IRV:1983" => Charset::Ascii,
            "UTF-16BE" | "X-UTF-16BE" | "ISO-10646-UCS-2" | "UNICODEBIGUNMARKED" => {
                Charset::Utf16Be
            }
            "UTF-16LE" | "X-UTF-16LE" | "UNICODELITTLEUNMARKED" => Charset::Utf16Le,
            "UTF-16" | "UTF16" | "UNICODE" => Charset::Utf16,
            _ => return None,
        })
    }

    /// `String.getBytes(charset)`: unmappable characters become `?`.
    pub(crate) fn encode(self, s: &str) -> Vec<u8> {
        match self {
            Charset::Utf8 => s.as_bytes().to_vec(),
            Charset::Latin1 => s
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
            Charset::Ascii => s
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
            Charset::Utf16Be | Charset::Utf16 => {
                let mut out = Vec::with_capacity(2 * s.len() + 2);
                if self == Charset::Utf16 && !s.is_empty() {
                    out.extend_from_slice(&[0xFE, 0xFF]);
                }
                s.encode_utf16()
                    .for_each(|u| out.extend_from_slice(&u.to_be_bytes()));
                out
            }
            Charset::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        }
    }

    /// `new String(bytes, charset)`: malformed input becomes U+FFFD.
    pub(crate) fn decode(self, bytes: &[u8]) -> String {
        match self {
            Charset::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Charset::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
            Charset::Ascii => bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii() {
                        char::from(b)
                    } else {
                        '\u{FFFD}'
                    }
                })
                .collect(),
            Charset::Utf16Be => decode_utf16(bytes, true),
            Charset::Utf16Le => decode_utf16(bytes, false),
            Charset::Utf16 => match bytes {
                [0xFE, 0xFF, rest @ ..] => decode_utf16(rest, true),
                [0xFF, 0xFE, rest @ ..] => decode_utf16(rest, false),
                _ => decode_utf16(bytes, true),
            },
        }
    }
}

fn decode_utf16(bytes: &[u8], big_endian: bool) -> String {
    let units = bytes.chunks(2).map(|c| match (c, big_endian) {
        ([a, b], true) => u16::from_be_bytes([*a, *b]),
        ([a, b], false) => u16::from_le_bytes([*a, *b]),
        _ => 0xFFFD,
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 with padding, no line breaks.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Lenient Base64 decoding like commons-codec: characters outside the alphabet are skipped,
/// both the standard and the URL-safe alphabet are accepted, decoding stops at `=`, and a
/// dangling partial group contributes the bytes it completes.
pub(crate) fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut n = 0;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// Characters commons-httpclient's `URI.allowed_abs_path` leaves alone: unreserved
/// (`A-Za-z0-9-_.!~*'()`) plus `: @ & = $ , ; /`. Everything else is %-encoded.
const PATH_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `URI.allowed_query`: unreserved plus the reserved characters `; / ? : @ & = + $ ,`.
const QUERY_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `URIUtil.encodePathQuery(s, charset)`: the part before the first `?` is encoded as a path,
/// the rest as a query (so `/`, `&`, `=` survive; spaces become `%20`).
pub(crate) fn url_encode(s: &str, charset: Charset) -> String {
    match s.split_once('?') {
        None => percent_encode(&charset.encode(s), PATH_ENCODE).to_string(),
        Some((path, query)) => format!(
            "{}?{}",
            percent_encode(&charset.encode(path), PATH_ENCODE),
            percent_encode(&charset.encode(query), QUERY_ENCODE)
        ),
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// %-decodes into bytes; a malformed escape is kept literally; `+` becomes a space when
/// `plus_as_space` (form encoding, as Java's `URLDecoder`).
pub(crate) fn percent_decode_bytes(s: &str, plus_as_space: bool) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = b.get(i + 1).copied().and_then(hex_val);
                let lo = b.get(i + 2).copied().and_then(hex_val);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus_as_space => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    out
}

/// %-decodes as UTF-8 (lossy), keeping malformed escapes.
pub(crate) fn percent_decode_lenient(s: &str, plus_as_space: bool) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(s, plus_as_space)).into_owned()
}
