//! Attribute splitting and XML-name checks, shared by the tree builder (`xml/parse`) and the
//! streaming checker (`xml/stream/check.rs`) so that both accept and refuse the same tags.
//!
//! A start tag's attributes are split as quick-xml 0.42 splits them (its `Attributes` with checks
//! off): the usual shape (whitespace, an ASCII name, `=`, a quoted value) on a fast path of our
//! own that is proven equal to quick-xml's on that shape (test below); anything else goes to
//! quick-xml, which splits it and says what is wrong.
//!
//! Must not: allocate (names and values are slices of the tag), or unescape values (callers do).

use quick_xml::events::attributes::Attributes;

use super::escape::is_name;

/// Why a tag's attributes were refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SplitError {
    /// quick-xml's description of the malformed attribute.
    Malformed(String),
    /// An attribute name that is not an XML name.
    InvalidName,
    /// More than the limit.
    TooMany,
}

impl SplitError {
    /// The message the parsers report.
    pub(crate) fn message(&self) -> String {
        match self {
            SplitError::Malformed(e) => format!("malformed attribute: {e}"),
            SplitError::InvalidName => "invalid attribute name".to_string(),
            SplitError::TooMany => "too many attributes".to_string(),
        }
    }
}

/// The attributes of `tag` (the text between `<` and the tag's `>` or `/>`, its name
/// `name_len` bytes long), each as (name, raw value) to `each`, in order; at most `max`.
#[inline]
pub(crate) fn split<'a>(
    tag: &'a str,
    name_len: usize,
    max: usize,
    mut each: impl FnMut(&'a str, &'a str),
) -> Result<(), SplitError> {
    match split_plain(tag, name_len, max, &mut each) {
        Plain::Done => Ok(()),
        // Resume past what the plain path already handed out: quick-xml splits the rest the
        // same way from there (an attribute always ends at its closing quote).
        Plain::Other(taken) => split_general(tag, name_len, max, taken, each),
    }
}

/// What [`split_plain`] did: all of the tag, or `taken` attributes before a shape it leaves
/// to quick-xml.
enum Plain {
    Done,
    Other(usize),
}

/// The fast path: every attribute written as whitespace, an ASCII XML name, `=`, a quoted value
/// (and whitespace may end the tag).
#[inline(always)]
fn split_plain<'a>(
    tag: &'a str,
    name_len: usize,
    max: usize,
    each: &mut impl FnMut(&'a str, &'a str),
) -> Plain {
    let b = tag.as_bytes();
    let mut i = name_len;
    let mut taken = 0;
    loop {
        let before = i;
        while b.get(i).is_some_and(|&c| is_ws(c)) {
            i += 1;
        }
        if i == b.len() {
            return Plain::Done;
        }
        if i == before {
            return Plain::Other(taken);
        }
        let key = i;
        if b.get(i)
            .is_none_or(|&c| NAME_CLASS[usize::from(c)] & NOT_START != 0)
        {
            return Plain::Other(taken);
        }
        while b
            .get(i)
            .is_some_and(|&c| NAME_CLASS[usize::from(c)] & (NOT_NAME | WIDE) == 0)
        {
            i += 1;
        }
        let quote = match (b.get(i), b.get(i + 1)) {
            (Some(b'='), Some(&q)) if q == b'"' || q == b'\'' => q,
            _ => return Plain::Other(taken),
        };
        let value = i + 2;
        let Some(k) = memchr::memchr(quote, b.get(value..).unwrap_or_default()) else {
            return Plain::Other(taken);
        };
        if taken >= max {
            return Plain::Other(taken);
        }
        // Split at ASCII bytes: character boundaries.
        match (tag.get(key..i), tag.get(value..value + k)) {
            (Some(k), Some(v)) => each(k, v),
            _ => return Plain::Other(taken),
        }
        taken += 1;
        i = value + k + 1;
    }
}

/// quick-xml's split of the whole tag, skipping the first `skip` attributes (already handed
/// out by the fast path), with the name check and the limit.
#[inline(never)]
fn split_general<'a>(
    tag: &'a str,
    name_len: usize,
    max: usize,
    skip: usize,
    mut each: impl FnMut(&'a str, &'a str),
) -> Result<(), SplitError> {
    for (n, a) in Attributes::new(tag, name_len)
        .with_checks(false)
        .enumerate()
    {
        let a = a.map_err(|e| SplitError::Malformed(e.to_string()))?;
        let key = a.key.0;
        let valid = match ascii_name(key.as_bytes()) {
            AsciiName::Name(_) => true,
            AsciiName::Invalid => false,
            AsciiName::NotAscii => is_name(key),
        };
        if !valid {
            return Err(SplitError::InvalidName);
        }
        if n >= max {
            return Err(SplitError::TooMany);
        }
        if n < skip {
            continue;
        }
        let std::borrow::Cow::Borrowed(value) = a.value else {
            return Err(SplitError::Malformed(
                "value not borrowed from the tag".into(),
            ));
        };
        each(key, value);
    }
    Ok(())
}

/// XML whitespace.
#[inline(always)]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Byte classes for [`ascii_name`]: an ASCII byte that cannot continue a name, one that cannot
/// start it, a byte >= 0x80 (decided by the slow path), `:`.
const NOT_NAME: u8 = 1;
const NOT_START: u8 = 2;
const WIDE: u8 = 4;
const COLON: u8 = 8;
static NAME_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c >= 0x80 {
            WIDE
        } else {
            let start = c.is_ascii_alphabetic() || c == b'_' || c == b':';
            let more = start || c.is_ascii_digit() || c == b'-' || c == b'.';
            let mut k = 0;
            if !more {
                k |= NOT_NAME;
            }
            if !start {
                k |= NOT_START;
            }
            if c == b':' {
                k |= COLON;
            }
            k
        };
        b += 1;
    }
    t
};

/// Whether `b` may be part of an XML name without a prefix: an ASCII letter, digit, `-`, `.` or
/// `_`.
#[inline(always)]
pub(crate) fn plain_name_byte(b: u8) -> bool {
    NAME_CLASS[usize::from(b)] & (NOT_NAME | WIDE | COLON) == 0
}

/// Whether `b` may begin an XML name without a prefix: an ASCII letter or `_`.
#[inline(always)]
pub(crate) fn plain_name_start(b: u8) -> bool {
    NAME_CLASS[usize::from(b)] & (NOT_NAME | NOT_START | WIDE | COLON) == 0
}

/// What [`ascii_name`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AsciiName {
    /// An ASCII XML name, with the position of its first `:`.
    Name(Option<usize>),
    /// Not an XML name.
    Invalid,
    /// A byte >= 0x80: decide on the decoded text.
    NotAscii,
}

/// Whether `name` is an XML name (as [`is_name`]) when it is ASCII. Names of letters only (the
/// usual ones) are decided a word at a time; others with one table load per byte.
#[inline(always)]
pub(crate) fn ascii_name(name: &[u8]) -> AsciiName {
    let Some(&first) = name.first() else {
        return AsciiName::Invalid;
    };
    if only_letters(name) {
        return AsciiName::Name(None);
    }
    let all = name
        .iter()
        .fold(0u8, |acc, &b| acc | NAME_CLASS[usize::from(b)]);
    if all & WIDE != 0 {
        return AsciiName::NotAscii;
    }
    if all & NOT_NAME != 0 || NAME_CLASS[usize::from(first)] & NOT_START != 0 {
        return AsciiName::Invalid;
    }
    AsciiName::Name(if all & COLON != 0 {
        memchr::memchr(b':', name)
    } else {
        None
    })
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// True when every byte of `name` (4 bytes or more; shorter: `false`) is an ASCII letter,
/// tested eight bytes at a time (overlapping loads cover the ends).
#[inline(always)]
fn only_letters(name: &[u8]) -> bool {
    let n = name.len();
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&name[i..i + 8]);
        u64::from_le_bytes(w)
    };
    let half = |i: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&name[i..i + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    match n {
        0..=3 => false,
        // Both halves in one word: bytes past 4 come from the overlapping second load.
        4..=8 => letters(half(0) | (half(n - 4) << 32)),
        _ => {
            let mut i = 0;
            while i + 8 < n {
                if !letters(word(i)) {
                    return false;
                }
                i += 8;
            }
            letters(word(n - 8))
        }
    }
}

/// True when all eight bytes of `w` are ASCII letters.
#[inline(always)]
fn letters(w: u64) -> bool {
    letter_run(w) == 8
}

/// How many of the bytes of `w` (little-endian), from the first, are ASCII letters.
#[inline(always)]
pub(crate) fn letter_run(w: u64) -> usize {
    // Upper case folded to lower: bit 7 of `x + 0x1F` says `x >= 0x61` (`a`), of `x + 0x05`
    // says `x >= 0x7B`, exactly for every byte below the first that is 0x80 or more (a carry
    // out of such a byte only reaches later ones).
    let x = w | (ONES * 0x20);
    let letters = x.wrapping_add(ONES * 0x1F) & !x.wrapping_add(ONES * 0x05) & !w & HIGHS;
    ((!letters & HIGHS).trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::{
        ascii_name, letter_run, plain_name_byte, plain_name_start, split, AsciiName, SplitError,
    };
    use crate::xml::escape::is_name;
    use quick_xml::events::attributes::Attributes;

    /// `split` hands out exactly what quick-xml's `Attributes` (checks off) splits, and fails
    /// where it fails (or on a name that is not an XML name, or past the limit); tags from
    /// pieces of attribute syntax, all combinations of three.
    #[test]
    fn split_is_quick_xmls() {
        let pieces = [
            " ", "\t", "\n", "a", "p:k", "xmlns", "xmlns:p", "1", "-", "=", "'", "\"", "v", "='x'",
            "=\"y\"", " k='1'", "&amp;", "<", ">", "é", "''", "= ",
        ];
        let mut ok = 0;
        for x in pieces {
            for y in pieces {
                for z in pieces {
                    for w in ["", " q='2'", "'", " "] {
                        let tag = format!("e{x}{y}{z}{w}");
                        let mut ours = Vec::new();
                        let r = split(&tag, 1, 3, |k, v| ours.push((k, v)));
                        let mut theirs = Vec::new();
                        let mut want = Ok(());
                        for a in Attributes::new(&tag, 1).with_checks(false) {
                            match a {
                                Ok(a) if !is_name(a.key.0) => {
                                    want = Err(SplitError::InvalidName);
                                    break;
                                }
                                Ok(_) if theirs.len() == 3 => {
                                    want = Err(SplitError::TooMany);
                                    break;
                                }
                                Ok(a) => theirs.push((a.key.0, a.value.into_owned())),
                                Err(e) => {
                                    want = Err(SplitError::Malformed(e.to_string()));
                                    break;
                                }
                            }
                        }
                        assert_eq!(r, want, "{tag:?}");
                        if r.is_ok() {
                            ok += 1;
                            let ours: Vec<(&str, String)> =
                                ours.into_iter().map(|(k, v)| (k, v.to_string())).collect();
                            assert_eq!(ours, theirs, "{tag:?}");
                        }
                    }
                }
            }
        }
        assert!(ok > 250, "only {ok} tags split");
    }

    /// The limit holds on the fast path too.
    #[test]
    fn the_limit_holds_on_the_plain_path() {
        let mut n = 0;
        assert_eq!(split("e a='1' b='2'", 1, 2, |_, _| n += 1), Ok(()));
        assert_eq!(n, 2);
        assert_eq!(
            split("e a='1' b='2' c='3'", 1, 2, |_, _| {}),
            Err(SplitError::TooMany)
        );
    }

    /// `letter_run` counts the leading ASCII letters of a word, whatever follows them.
    #[test]
    fn letter_run_counts_leading_letters() {
        for b in 0..=255u8 {
            for at in 0..8 {
                for after in [0u8, b'a', 0xFF, 0x80, b'Z'] {
                    let mut w = [b'q'; 8];
                    w[at] = b;
                    for x in w.iter_mut().skip(at + 1) {
                        *x = after;
                    }
                    let want = w.iter().take_while(|c| c.is_ascii_alphabetic()).count();
                    assert_eq!(letter_run(u64::from_le_bytes(w)), want, "{w:?}");
                }
            }
        }
    }

    /// The plain run's name bytes are the name bytes other than `:` and wide ones; its name
    /// starts, the name starts among those.
    #[test]
    fn plain_name_bytes_are_unprefixed_ascii_name_bytes() {
        for b in 0..=255u8 {
            let more = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
            assert_eq!(plain_name_byte(b), more, "{b}");
            assert_eq!(
                plain_name_start(b),
                b.is_ascii_alphabetic() || b == b'_',
                "{b}"
            );
        }
    }

    /// The table decides ASCII names exactly as `is_name`, and finds the first `:`.
    #[test]
    fn ascii_names_as_is_name() {
        let alphabet: Vec<u8> = (0u8..128).collect();
        let mut names: Vec<Vec<u8>> = vec![Vec::new()];
        for &a in &alphabet {
            names.push(vec![a]);
            for b in [b'a', b':', b'-', b'1', b'.', b'_', b' ', a] {
                names.push(vec![a, b]);
                names.push(vec![b'x', a, b]);
            }
        }
        names.push(b"p:q:r".to_vec());
        // One byte of every kind at every place of longer names (the word-at-a-time path).
        for len in 1..=20 {
            names.push(vec![b'Z'; len]);
            for at in 0..len {
                for b in (0u8..=0x7F).chain([0x80, 0xC3, 0xFF]) {
                    let mut n = vec![b'q'; len];
                    n[at] = b;
                    names.push(n);
                }
            }
        }
        for n in &names {
            if n.iter().any(|&b| b >= 0x80) {
                assert_eq!(ascii_name(n), AsciiName::NotAscii, "{n:?}");
                continue;
            }
            let s = std::str::from_utf8(n).expect("ASCII");
            let want = if is_name(s) {
                AsciiName::Name(n.iter().position(|&b| b == b':'))
            } else {
                AsciiName::Invalid
            };
            assert_eq!(ascii_name(n), want, "{s:?}");
        }
        assert_eq!(ascii_name("é".as_bytes()), AsciiName::NotAscii);
        assert_eq!(ascii_name("aé b".as_bytes()), AsciiName::NotAscii);
    }
}
