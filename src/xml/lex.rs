//! mint's XML tokenizer, used by the tree builder (`xml/parse`) and the streaming matcher: splits the input into the tokens quick-xml's reader
//! would emit as events, with the same acceptance rules for what it reads, but without building
//! events, validating UTF-8 token by token or keeping a name buffer. Tokens are positions in the
//! input; callers convert only the pieces they need to `&str`.
//!
//! Rules kept from quick-xml 0.42 (its default configuration, which both callers used before):
//! - text runs up to `<` or `&`; `&name;` is a reference token (a `&` without `;` before the next
//!   `&`, `<` or the end is an error);
//! - `<!--` … `-->`, `<![CDATA[` … `]]>`, `<?` … `?>` (at least `<??>`; the XML declaration is a
//!   PI here); `<!` followed by anything else is an error, except `D`/`d` (a DOCTYPE, refused);
//! - a tag runs to the first `>` outside `"…"` or `'…'`; `/>` makes it empty; its name is the
//!   text up to the first XML whitespace (as quick-xml's `name_len`);
//! - an end tag's name (trailing whitespace trimmed) must equal the name of the innermost open
//!   start tag; an end tag with nothing open is an error; open elements at the end are an error;
//! - unclosed markup of any kind at the end is an error;
//! - the input must be UTF-8: [`Lexer::check_utf8`] validates everything consumed so far in one
//!   pass (quick-xml validates every event as it reads it; callers check before they report a
//!   result, so nothing is answered from input that is not UTF-8 up to the answer).
//!
//! Must not: allocate per token (the open-name stack is reused), or read past the token it
//! returns.

use memchr::memmem;

use crate::xml::attrs::{letter_run, plain_name_byte, plain_name_start};
use crate::xml::error::{XmlError, XmlErrorKind};

/// One token; its bytes are `input[start..lexer.pos]` where `start` was the position before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `<name …>` or `<name …/>`: the name ends at `name_end`, the attributes at `content_end`
    /// (before `/>` or `>`).
    Start {
        name_end: usize,
        content_end: usize,
        empty: bool,
    },
    /// `</name>` (already checked against the open start tag).
    End,
    /// Character data up to `<`, `&` or the end (never empty).
    Text,
    /// `<![CDATA[…]]>`.
    CData,
    /// `&name;`.
    Ref,
    /// `<!--…-->`.
    Comment,
    /// `<?…?>`, including the XML declaration.
    Pi,
    /// `<!DOCTYPE` (not read further: always refused).
    DocType,
    /// The end of the input (no element open).
    Eof,
}

/// Byte classes for the scanning loops: one table load per byte.
const NAME_STOP: u8 = 1;
const TEXT_STOP: u8 = 2;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    // A start tag's name ends at whitespace (quick-xml's rule); `>`, `/` and quotes end the
    // fast path.
    let stops = [b' ', b'\t', b'\r', b'\n', b'>', b'/', b'"', b'\''];
    let mut i = 0;
    while i < stops.len() {
        t[stops[i] as usize] |= NAME_STOP;
        i += 1;
    }
    t[b'<' as usize] |= TEXT_STOP;
    t[b'&' as usize] |= TEXT_STOP;
    t
};

/// XML whitespace as quick-xml defines it.
#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// An open start tag: its name's range, and whether the name holds no quote.
struct Open {
    start: usize,
    end: usize,
    plain: bool,
}

pub(crate) struct Lexer<'a> {
    input: &'a [u8],
    /// The next byte to read.
    pub(crate) pos: usize,
    /// The open start tags, innermost last.
    open: Vec<Open>,
    /// `input[..valid]` is known to be UTF-8.
    valid: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer over `input` starting at `base` (past a byte-order mark).
    pub(crate) fn new(input: &'a [u8], base: usize) -> Self {
        Lexer {
            input,
            pos: base,
            open: Vec::with_capacity(16),
            valid: base,
        }
    }

    /// How many elements are open.
    pub(crate) fn depth(&self) -> usize {
        self.open.len()
    }

    #[cold]
    #[inline(never)]
    fn err(&self, at: usize, kind: XmlErrorKind, msg: &str) -> XmlError {
        XmlError::at(self.input, at, kind, msg)
    }

    /// The end of the input with elements open.
    #[cold]
    #[inline(never)]
    fn unclosed(&self) -> XmlError {
        let name = self
            .open
            .last()
            .map(|o| String::from_utf8_lossy(&self.input[o.start..o.end]))
            .unwrap_or_default();
        let msg = format!("unclosed element <{name}>");
        self.err(self.input.len(), XmlErrorKind::Syntax, &msg)
    }

    /// Validates as UTF-8 what was consumed since the last check.
    pub(crate) fn check_utf8(&mut self) -> Result<(), XmlError> {
        let end = self.pos.min(self.input.len());
        if self.valid < end {
            if let Err(e) = std::str::from_utf8(&self.input[self.valid..end]) {
                let at = self.valid + e.valid_up_to();
                return Err(self.err(at, XmlErrorKind::Encoding, "invalid UTF-8"));
            }
            self.valid = end;
        }
        Ok(())
    }

    /// The next token.
    #[inline(always)]
    pub(crate) fn next(&mut self) -> Result<Tok, XmlError> {
        let s = self.input;
        let start = self.pos;
        match s.get(start) {
            None if self.open.is_empty() => Ok(Tok::Eof),
            None => Err(self.unclosed()),
            Some(b'<') => self.markup(start),
            Some(b'&') => self.reference(start),
            Some(_) => {
                self.pos = text_end(s, start + 1);
                Ok(Tok::Text)
            }
        }
    }

    #[inline(never)]
    fn reference(&mut self, start: usize) -> Result<Tok, XmlError> {
        let s = self.input;
        match memchr::memchr3(b';', b'&', b'<', &s[start + 1..]) {
            Some(k) if s[start + 1 + k] == b';' => {
                self.pos = start + 1 + k + 1;
                Ok(Tok::Ref)
            }
            _ => Err(self.err(
                start,
                XmlErrorKind::Syntax,
                "unclosed reference (a `&` without `;`)",
            )),
        }
    }

    #[inline(always)]
    fn markup(&mut self, start: usize) -> Result<Tok, XmlError> {
        let s = self.input;
        match s.get(start + 1) {
            None => Err(self.err(start, XmlErrorKind::Syntax, "unclosed tag")),
            Some(b'/') => self.end_tag(start),
            Some(b'!') => self.bang(start),
            Some(b'?') => match memmem::find(&s[start + 1..], b"?>") {
                // At least `<??>`: `<?>` is not a processing instruction.
                Some(k) if k >= 1 => {
                    self.pos = start + 1 + k + 2;
                    Ok(Tok::Pi)
                }
                Some(_) => {
                    Err(self.err(start, XmlErrorKind::Syntax, "empty processing instruction"))
                }
                None => Err(self.err(
                    start,
                    XmlErrorKind::Syntax,
                    "unclosed processing instruction",
                )),
            },
            Some(_) => self.start_tag(start),
        }
    }

    /// `<name …>` or `<name …/>` at `start`.
    #[inline(always)]
    fn start_tag(&mut self, start: usize) -> Result<Tok, XmlError> {
        let s = self.input;
        // Fast path: a name ending at whitespace, `>` or `/>` (no quote inside it).
        let from = start + 1;
        let stop = name_stop(s, from);
        // The name holds no quote on the fast path (quotes end it).
        let (name_end, close, plain) = match stop.map(|i| (i, s[i])) {
            Some((i, b'>')) => (i, i, true),
            Some((i, b'/')) if s.get(i + 1) == Some(&b'>') => (i, i + 1, true),
            Some((i, b)) if is_ws(b) => (i, self.tag_close(start, i)?, true),
            None => return Err(self.err(start, XmlErrorKind::Syntax, "unclosed tag")),
            // A `/` or a quote inside the name: quick-xml's rules as they are.
            Some(_) => {
                let close = self.tag_close(start, from)?;
                let content_end = if s[close - 1] == b'/' {
                    close - 1
                } else {
                    close
                };
                let name_end = s[from..content_end]
                    .iter()
                    .position(|&b| is_ws(b))
                    .map_or(content_end, |k| from + k);
                let plain = !s[from..name_end].iter().any(|&b| b == b'"' || b == b'\'');
                (name_end, close, plain)
            }
        };
        // `s[from] != b'/'` (that is an end tag), so a `/` just before `>` is past the `<`.
        let empty = s[close - 1] == b'/';
        let content_end = if empty { close - 1 } else { close };
        if !empty {
            self.open.push(Open {
                start: from,
                end: name_end,
                plain,
            });
        }
        self.pos = close + 1;
        Ok(Tok::Start {
            name_end,
            content_end,
            empty,
        })
    }

    #[inline(always)]
    fn end_tag(&mut self, start: usize) -> Result<Tok, XmlError> {
        let s = self.input;
        let from = start + 2;
        // Fast path: `</name>` exactly, for a name without quotes (a quote in the name would
        // change where quick-xml finds the `>`).
        if let Some(o) = self.open.last() {
            let n = o.end - o.start;
            if o.plain
                && s.get(from + n) == Some(&b'>')
                && same(&s[from..from + n], &s[o.start..o.end])
            {
                self.open.pop();
                self.pos = from + n + 1;
                return Ok(Tok::End);
            }
        }
        let close = self.tag_close(start, from)?;
        let mut name_end = close;
        while name_end > from && is_ws(s[name_end - 1]) {
            name_end -= 1;
        }
        let name = &s[from..name_end];
        match self.open.pop() {
            Some(o) if same(&s[o.start..o.end], name) => {}
            Some(o) => {
                let msg = format!(
                    "expected </{}>, found </{}>",
                    String::from_utf8_lossy(&s[o.start..o.end]),
                    String::from_utf8_lossy(name)
                );
                return Err(self.err(start, XmlErrorKind::Syntax, &msg));
            }
            None => {
                let msg = format!("unexpected end tag </{}>", String::from_utf8_lossy(name));
                return Err(self.err(start, XmlErrorKind::Syntax, &msg));
            }
        }
        self.pos = close + 1;
        Ok(Tok::End)
    }

    #[inline(never)]
    fn bang(&mut self, start: usize) -> Result<Tok, XmlError> {
        let s = self.input;
        let rest = &s[start..];
        let (tok, open, close): (Tok, &[u8], &[u8]) = match s.get(start + 2) {
            Some(b'-') => (Tok::Comment, b"<!--", b"-->"),
            Some(b'[') => (Tok::CData, b"<![CDATA[", b"]]>"),
            Some(b'D' | b'd') => return Ok(Tok::DocType),
            _ => return Err(self.err(start, XmlErrorKind::Syntax, "invalid `<!` markup")),
        };
        if !rest.starts_with(open) {
            return Err(self.err(start, XmlErrorKind::Syntax, "invalid `<!` markup"));
        }
        match memmem::find(&rest[open.len()..], close) {
            Some(k) => {
                self.pos = start + open.len() + k + close.len();
                Ok(tok)
            }
            None => Err(self.err(
                start,
                XmlErrorKind::Syntax,
                if tok == Tok::Comment {
                    "unclosed comment"
                } else {
                    "unclosed CDATA section"
                },
            )),
        }
    }

    /// The index of the `>` closing the tag that starts at `start`, searching from `from`:
    /// the first `>` outside quoted attribute values.
    #[inline(never)]
    fn tag_close(&self, start: usize, from: usize) -> Result<usize, XmlError> {
        let s = self.input;
        let mut i = from;
        loop {
            let Some(k) = s[i..]
                .iter()
                .position(|&b| matches!(b, b'>' | b'"' | b'\''))
            else {
                return Err(self.err(start, XmlErrorKind::Syntax, "unclosed tag"));
            };
            i += k;
            let q = s[i];
            if q == b'>' {
                return Ok(i);
            }
            match memchr::memchr(q, &s[i + 1..]) {
                Some(k) => i += 1 + k + 1,
                None => {
                    return Err(self.err(start, XmlErrorKind::Syntax, "unclosed attribute value"))
                }
            }
        }
    }
}

impl Lexer<'_> {
    /// Reads ahead over the markup most documents are made of, with every check a caller of
    /// [`Lexer::next`] would make on it, in one tight loop: text without references followed by
    /// a tag, `<name>` and `<name/>` whose name is an ASCII XML name without a prefix or
    /// attributes, and `</name>` closing the innermost open element. Stops, consuming nothing of
    /// it, at anything else (a reference, other markup, whitespace or anything more in a tag,
    /// text outside the root element or at the end of the input) and where the caller's limits
    /// say: an end tag is read only while more than `floor` elements are open before it, a
    /// start tag only while fewer than `max_open` are and `watched(name, open, low)` is false
    /// (`open` elements before it, `low` the fewest that were open during the run; asked last,
    /// so that a false answer means the tag is read). Does not
    /// run unless `room` nodes are more than the rest of the input could hold (a text run and
    /// an element are a node each, and at least a byte).
    ///
    /// Returns the nodes read and the fewest elements that were open; [`Lexer::depth`] is the
    /// new depth. A caller that also applies the tree's rules (the streaming checker) has
    /// nothing to add for these tokens beyond counting their nodes: their names are XML names,
    /// they bind and use no prefix, and their text is inside the root element. UTF-8 is left to
    /// [`Lexer::check_utf8`], as for every token.
    #[inline(always)]
    pub(crate) fn plain_run(
        &mut self,
        floor: usize,
        max_open: usize,
        room: usize,
        mut watched: impl FnMut(&[u8], usize, usize) -> bool,
    ) -> (usize, usize) {
        let s = self.input;
        let mut pos = self.pos;
        let open = &mut self.open;
        let mut low = open.len();
        if room <= s.len().saturating_sub(pos) {
            return (0, low);
        }
        let mut nodes = 0;
        while let Some(&b) = s.get(pos) {
            let depth = open.len();
            if depth == 0 {
                break;
            }
            // The text before the tag, if any: a node of its own.
            let (lt, text) = if b == b'<' {
                (pos, 0)
            } else {
                let end = text_end(s, pos + 1);
                if s.get(end) != Some(&b'<') || b == b'&' {
                    break;
                }
                (end, 1)
            };
            match s.get(lt + 1) {
                Some(b'/') => {
                    let Some(o) = open.last() else { break };
                    let (from, n) = (lt + 2, o.end - o.start);
                    let closes = depth > floor
                        && o.plain
                        && s.get(from + n) == Some(&b'>')
                        && same(&s[from..from + n], &s[o.start..o.end]);
                    if !closes {
                        break;
                    }
                    open.pop();
                    low = low.min(depth - 1);
                    pos = from + n + 1;
                    nodes += text;
                }
                Some(&c) if plain_name_start(c) => {
                    if depth >= max_open {
                        break;
                    }
                    let from = lt + 1;
                    let mut end = from;
                    if from + 8 <= s.len() {
                        end += letter_run(word_at(s, from));
                    }
                    while s.get(end).is_some_and(|&b| plain_name_byte(b)) {
                        end += 1;
                    }
                    let empty = match s.get(end) {
                        Some(b'>') => false,
                        Some(b'/') if s.get(end + 1) == Some(&b'>') => true,
                        _ => break,
                    };
                    // Last: the caller may count the element as read when it answers false.
                    if watched(&s[from..end], depth, low) {
                        break;
                    }
                    if empty {
                        pos = end + 2;
                    } else {
                        open.push(Open {
                            start: from,
                            end,
                            plain: true,
                        });
                        pos = end + 1;
                    }
                    nodes += text + 1;
                }
                _ => break,
            }
        }
        self.pos = pos;
        (nodes, low)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Eight bytes of `s` from `i` (which must be in range) as a little-endian word.
#[inline(always)]
fn word_at(s: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[i..i + 8]);
    u64::from_le_bytes(w)
}

/// High bit set in each byte of `w` that is zero, exact up to the lowest such byte (a borrow
/// may flag bytes above it): `trailing_zeros() / 8` is the index of the first zero byte.
#[inline(always)]
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

/// The first byte at or after `from` that ends a start tag's name on the fast path
/// ([`NAME_STOP`]), or `None` at the end of the input. Words with no byte below `?` (all the
/// stops are) are skipped eight bytes at a time; the rest byte by byte with the table.
#[inline(always)]
fn name_stop(s: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 8 <= s.len() {
        // Bytes below 0x3F, exact up to the first one (as `zero_bytes`); bytes >= 0x80 are not
        // flagged.
        let w = word_at(s, i);
        let low = w.wrapping_sub(ONES * 0x3F) & !w & HIGHS;
        if low != 0 {
            let first = i + (low.trailing_zeros() / 8) as usize;
            if let Some(k) = s[first..i + 8]
                .iter()
                .position(|&b| CLASS[usize::from(b)] & NAME_STOP != 0)
            {
                return Some(first + k);
            }
        }
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&b| CLASS[usize::from(b)] & NAME_STOP != 0)
        .map(|k| i + k)
}

/// The end of the text starting at `from`: the next `<` or `&`, or the end of the input. The
/// first words are tested eight bytes at a time (text between tags is short), long runs go to
/// `memchr2`.
#[inline(always)]
fn text_end(s: &[u8], from: usize) -> usize {
    let mut i = from;
    let near = (from + 32).min(s.len());
    while i + 8 <= near {
        let w = word_at(s, i);
        let hit =
            zero_bytes(w ^ (ONES * u64::from(b'<'))) | zero_bytes(w ^ (ONES * u64::from(b'&')));
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    if near < s.len() {
        return memchr::memchr2(b'<', b'&', &s[i..]).map_or(s.len(), |k| i + k);
    }
    s[i..]
        .iter()
        .position(|&b| CLASS[usize::from(b)] & TEXT_STOP != 0)
        .map_or(s.len(), |k| i + k)
}

/// Byte equality for the short slices names are: word compares instead of a `memcmp` call.
#[inline(always)]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |x: &[u8], i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&x[i..i + 8]);
        u64::from_le_bytes(w)
    };
    let half = |x: &[u8], i: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&x[i..i + 4]);
        u32::from_le_bytes(w)
    };
    match n {
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        // Two overlapping loads cover the slice.
        4..=8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        9..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// Every token of `input` as `(kind, start, end, name length, content length)` (the lengths
/// for start tags only), up to the first error, which is returned too. Checks UTF-8 before
/// recording each token, as quick-xml does per event. For the differential test against
/// quick-xml.
#[cfg(test)]
pub(crate) type TokRecord = (&'static str, usize, usize, usize, usize);

#[cfg(test)]
pub(crate) fn lex_all(input: &[u8]) -> (Vec<TokRecord>, bool) {
    let base = if input.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut lex = Lexer::new(input, base);
    let mut out = Vec::new();
    loop {
        let start = lex.pos;
        let tok = match lex.next() {
            Ok(t) => t,
            Err(_) => return (out, true),
        };
        if lex.check_utf8().is_err() {
            return (out, true);
        }
        let rec = |kind| (kind, start, lex.pos, 0, 0);
        out.push(match tok {
            Tok::Start {
                name_end,
                content_end,
                empty,
            } => (
                if empty { "empty" } else { "start" },
                start,
                lex.pos,
                name_end - start - 1,
                content_end - start - 1,
            ),
            Tok::End => rec("end"),
            Tok::Text => rec("text"),
            Tok::CData => rec("cdata"),
            Tok::Ref => rec("ref"),
            Tok::Comment => rec("comment"),
            Tok::Pi => rec("pi"),
            Tok::DocType => {
                out.push(("doctype", start, start, 0, 0));
                return (out, false);
            }
            Tok::Eof => return (out, false),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn same_is_byte_equality() {
        let a: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=a.len() {
            let x = &a[..n];
            let y = x.to_vec();
            assert!(same(x, &y), "{n}");
            assert!(!same(x, &a[..n.saturating_sub(1)]) || n == 0, "{n}");
            for i in 0..n {
                let mut z = y.clone();
                z[i] ^= 1;
                assert!(!same(x, &z), "{n} {i}");
            }
        }
        // Empty `String`s have dangling pointers: never read.
        assert!(same(String::new().as_bytes(), Vec::new().as_slice()));
    }
}
