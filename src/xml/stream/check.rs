//! The tree parser's well-formedness rules for the streaming matcher, so that both accept and
//! refuse the same inputs: every token the matcher reads passes through [`Checker::token`],
//! whether the matcher is matching, skipping a subtree or reading to the end.
//!
//! Rules kept from `xml/parse/mod.rs` / `xml/parse/start.rs` (beyond the tokenizer's, which are quick-xml's):
//! one root element; no text (other than whitespace), CDATA or reference outside it; the XML
//! declaration only at the start; element and attribute names that are XML names; attributes
//! as quick-xml splits them, with defined references in their values, at most
//! `max_attributes` per element, none twice by expanded name (namespace URI, local name);
//! `xmlns` declarations not repeated, the `xml` prefix not rebound, no binding of `xmlns` or to
//! the reserved URIs, no prefix bound to the empty URI; every prefix bound; and the node count
//! limit, counted as the tree counts its arena (namespace nodes and in-scope lists included).
//!
//! Must not: allocate per token (the binding stack and the scratch list are reused; a URI is
//! copied only when its declaration holds a reference).

use std::borrow::Cow;

use quick_xml::events::attributes::Attributes;

use super::lex::{same, Tok};
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::escape::{attr_value, is_name};
use crate::xml::tree::ParseOptions;
use crate::xml::XML_NS;

const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// An open element that declares namespaces: its depth, where its bindings start, and the
/// size of its in-scope namespace list.
struct Open {
    depth: usize,
    mark: usize,
    scope: usize,
}

pub(super) struct Checker<'a> {
    input: &'a [u8],
    base: usize,
    opts: ParseOptions,
    root_seen: bool,
    /// Namespace bindings in scope (prefix, URI; an empty URI undeclares the default),
    /// innermost last.
    bindings: Vec<(&'a str, Cow<'a, str>)>,
    /// Open elements.
    depth: usize,
    /// Where the bindings of the empty element just read start: they stay in scope until the
    /// next tag, so that the matcher, which reads the same tag after the checker, sees them.
    empty_mark: Option<usize>,
    /// The open elements that declare namespaces (the others have their parent's scope and
    /// bindings), innermost last.
    open: Vec<Open>,
    /// Nodes and in-scope list entries the tree would have created so far.
    nodes: usize,
    ns_lists: usize,
    /// A run of text (text, CDATA, references) is open; `text_nonempty`: it holds characters.
    text_open: bool,
    text_nonempty: bool,
    /// Attributes of the current tag as written (name, raw value).
    raw: Vec<(&'a str, Cow<'a, str>)>,
    /// Attributes of the current tag other than declarations: (local name, namespace URI).
    attrs: Vec<(&'a str, Cow<'a, str>)>,
    /// Indices into `attrs`, sorted, to find duplicates among many.
    order: Vec<usize>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(input: &'a [u8], base: usize) -> Self {
        Checker {
            input,
            base,
            opts: ParseOptions::default(),
            root_seen: false,
            bindings: Vec::new(),
            depth: 0,
            empty_mark: None,
            open: Vec::new(),
            // The document node.
            nodes: 1,
            ns_lists: 0,
            text_open: false,
            text_nonempty: false,
            raw: Vec::new(),
            attrs: Vec::new(),
            order: Vec::new(),
        }
    }

    #[cold]
    #[inline(never)]
    fn err(&self, at: usize, kind: XmlErrorKind, msg: impl Into<String>) -> XmlError {
        XmlError::at(self.input, at, kind, msg)
    }

    fn piece(&self, start: usize, end: usize, at: usize) -> Result<&'a str, XmlError> {
        let input: &'a [u8] = self.input;
        std::str::from_utf8(&input[start..end])
            .map_err(|_| self.err(at, XmlErrorKind::Encoding, "invalid UTF-8"))
    }

    /// Checks the token `tok` read from `input[pos..after]`.
    #[inline(always)]
    pub(super) fn token(&mut self, pos: usize, after: usize, tok: Tok) -> Result<(), XmlError> {
        match tok {
            Tok::Text | Tok::CData | Tok::Ref => self.text(pos, after, tok),
            Tok::Start {
                name_end,
                content_end,
                empty,
            } => {
                self.end_text()?;
                self.leave_empty();
                // The usual element: below the root, an ASCII name without a prefix, no
                // attributes. As `start` does for it.
                if content_end == name_end && self.depth > 0 {
                    if let AsciiName::Name(None) = ascii_name(&self.input[pos + 1..name_end]) {
                        self.nodes += 1;
                        self.check_count(pos)?;
                        self.depth += usize::from(!empty);
                        return Ok(());
                    }
                }
                self.start(pos, name_end, content_end, empty)
            }
            Tok::End => {
                self.end_text()?;
                self.leave_empty();
                if self.open.last().is_some_and(|o| o.depth == self.depth) {
                    if let Some(o) = self.open.pop() {
                        self.bindings.truncate(o.mark);
                    }
                }
                self.depth = self.depth.saturating_sub(1);
                Ok(())
            }
            Tok::Comment => {
                self.end_text()?;
                self.node(pos)
            }
            Tok::Pi => {
                self.end_text()?;
                let content = &self.input[pos + 2..after - 2];
                let decl = content.starts_with(b"xml")
                    && content
                        .get(3)
                        .is_none_or(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
                if !decl {
                    return self.node(pos);
                }
                if pos != self.base {
                    return Err(self.err(
                        pos,
                        XmlErrorKind::Syntax,
                        "XML declaration not at the start",
                    ));
                }
                Ok(())
            }
            Tok::DocType => Ok(()),
            Tok::Eof => {
                self.end_text()?;
                if !self.root_seen {
                    return Err(self.err(pos, XmlErrorKind::Syntax, "no root element"));
                }
                Ok(())
            }
        }
    }

    /// The bindings of the empty element read last go out of scope (the next tag is read).
    #[inline(always)]
    fn leave_empty(&mut self) {
        if let Some(mark) = self.empty_mark.take() {
            self.bindings.truncate(mark);
        }
    }

    /// One more node of the arena.
    fn node(&mut self, at: usize) -> Result<(), XmlError> {
        self.nodes += 1;
        self.check_count(at)
    }

    #[inline(always)]
    fn check_count(&self, at: usize) -> Result<(), XmlError> {
        if self.nodes.max(self.ns_lists) > self.opts.max_nodes {
            return Err(self.err(at, XmlErrorKind::Limit, "too many nodes"));
        }
        Ok(())
    }

    #[inline(always)]
    fn text(&mut self, pos: usize, after: usize, tok: Tok) -> Result<(), XmlError> {
        if self.depth == 0 {
            let blank = tok == Tok::Text
                && self.input[pos..after]
                    .iter()
                    .all(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
            if blank {
                return Ok(());
            }
            let what = if tok == Tok::Ref {
                "reference outside the root element"
            } else {
                "text outside the root element"
            };
            return Err(self.err(pos, XmlErrorKind::Syntax, what));
        }
        self.text_open = true;
        // Text and references are never empty; CDATA is when nothing is between its markers.
        self.text_nonempty |= tok != Tok::CData || after - pos > 12;
        Ok(())
    }

    /// The open run of text ends: it is a node when it holds characters.
    #[inline(always)]
    fn end_text(&mut self) -> Result<(), XmlError> {
        if !self.text_open {
            return Ok(());
        }
        self.text_open = false;
        let nonempty = std::mem::take(&mut self.text_nonempty);
        if nonempty {
            return self.node(self.input.len());
        }
        Ok(())
    }

    /// The namespace URI a written prefix (the part before a name's first `:`, possibly empty)
    /// is bound to; `None` when unbound (an empty prefix uses the default namespace, as the tree
    /// resolves it).
    #[inline(never)]
    pub(super) fn resolve(&self, prefix: &[u8]) -> Option<Cow<'a, str>> {
        if prefix == b"xml" {
            return Some(Cow::Borrowed(XML_NS));
        }
        match self
            .bindings
            .iter()
            .rev()
            .find(|(p, _)| same(p.as_bytes(), prefix))
        {
            Some((_, uri)) if !uri.is_empty() => Some(uri.clone()),
            _ => None,
        }
    }

    #[inline(never)]
    fn start(
        &mut self,
        pos: usize,
        name_end: usize,
        content_end: usize,
        empty: bool,
    ) -> Result<(), XmlError> {
        let is_root = self.depth == 0;
        if is_root {
            if self.root_seen {
                return Err(self.err(pos, XmlErrorKind::Syntax, "more than one root element"));
            }
            self.root_seen = true;
        }
        let input: &'a [u8] = self.input;
        let qname = &input[pos + 1..name_end];
        // Where the name's first `:` is, if it has one.
        let colon = match ascii_name(qname) {
            AsciiName::Name(colon) => colon,
            AsciiName::Invalid => {
                return Err(self.err(pos, XmlErrorKind::Syntax, "invalid element name"))
            }
            AsciiName::NotAscii => {
                if !is_name(self.piece(pos + 1, name_end, pos)?) {
                    return Err(self.err(pos, XmlErrorKind::Syntax, "invalid element name"));
                }
                memchr::memchr(b':', qname)
            }
        };
        let parent_scope = self.open.last().map_or(0, |o| o.scope);
        let mark = self.bindings.len();
        // The element, and on the document element the implicit `xml` namespace node.
        self.nodes += 1 + usize::from(is_root);
        let mut own = usize::from(is_root);
        let mut overridden = 0;
        let mut undeclares = false;
        // Between the name and the tag's end: whitespace only (the usual case), or attributes.
        let attributes = input.get(name_end..content_end).unwrap_or_default();
        if attributes.iter().all(|&b| is_ws(b)) {
            if let Some(c) = colon {
                self.element_prefix(qname, c, pos)?;
            }
        } else {
            let decls = self.attributes(pos, name_end, content_end, colon)?;
            own += decls.own;
            overridden = decls.overridden;
            undeclares = decls.undeclares;
        }
        // The element's in-scope list: its parent's (shared) unless it declares something.
        let scope = if own > 0 || undeclares {
            let s = parent_scope - overridden + own;
            self.ns_lists += s;
            s
        } else {
            parent_scope
        };
        self.check_count(pos)?;
        if empty {
            if self.bindings.len() > mark {
                self.empty_mark = Some(mark);
            }
        } else {
            self.depth += 1;
            if self.bindings.len() > mark || scope != parent_scope {
                self.open.push(Open {
                    depth: self.depth,
                    mark,
                    scope,
                });
            }
        }
        Ok(())
    }

    /// The attributes of the start tag at `pos` (`input[name_end..content_end]`, which is not
    /// only whitespace), split once as quick-xml splits them, then checked in the tree's order:
    /// names and the limit; namespace declarations (pushed on the binding stack); the element's
    /// prefix (its first `:` at `colon`); attribute prefixes, values and duplicates.
    #[inline(never)]
    fn attributes(
        &mut self,
        pos: usize,
        name_end: usize,
        content_end: usize,
        colon: Option<usize>,
    ) -> Result<Decls, XmlError> {
        let tag = self.piece(pos + 1, content_end, pos)?;
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        let r = self.split_attributes(&mut raw, tag, name_end - pos - 1, pos);
        let r = r.and_then(|()| self.declarations(&raw, pos));
        let r = r.and_then(|decls| {
            if let Some(c) = colon {
                self.element_prefix(&tag.as_bytes()[..name_end - pos - 1], c, pos)?;
            }
            self.plain_attributes(&raw, pos)?;
            Ok(decls)
        });
        self.raw = raw;
        r
    }

    /// The attributes of `tag` (its name `name_len` bytes long) into `raw`: well-formed as
    /// quick-xml splits them, with XML names, at most `max_attributes`.
    fn split_attributes(
        &self,
        raw: &mut Vec<(&'a str, Cow<'a, str>)>,
        tag: &'a str,
        name_len: usize,
        pos: usize,
    ) -> Result<(), XmlError> {
        if self.split_plain(raw, tag, name_len) {
            return Ok(());
        }
        raw.clear();
        for a in Attributes::new(tag, name_len).with_checks(false) {
            let a = a.map_err(|e| {
                self.err(
                    pos,
                    XmlErrorKind::Syntax,
                    format!("malformed attribute: {e}"),
                )
            })?;
            let key = a.key.0;
            let valid = match ascii_name(key.as_bytes()) {
                AsciiName::Name(_) => true,
                AsciiName::Invalid => false,
                AsciiName::NotAscii => is_name(key),
            };
            if !valid {
                return Err(self.err(pos, XmlErrorKind::Syntax, "invalid attribute name"));
            }
            if raw.len() >= self.opts.max_attributes {
                return Err(self.err(pos, XmlErrorKind::Limit, "too many attributes"));
            }
            raw.push((key, a.value));
        }
        Ok(())
    }

    /// The attributes of `tag` into `raw` when every one is written as usual: whitespace,
    /// an ASCII XML name, `=`, a quoted value (and whitespace may end the tag). quick-xml
    /// splits that shape into exactly these names and raw values, without error. `false` for
    /// any other shape (`raw` then holds a part), or more than `max_attributes`: quick-xml
    /// splits it, and reports what is wrong.
    #[inline(always)]
    fn split_plain(
        &self,
        raw: &mut Vec<(&'a str, Cow<'a, str>)>,
        tag: &'a str,
        name_len: usize,
    ) -> bool {
        let b = tag.as_bytes();
        let mut i = name_len;
        loop {
            let before = i;
            while b.get(i).is_some_and(|&c| is_ws(c)) {
                i += 1;
            }
            if i == b.len() {
                return true;
            }
            if i == before {
                return false;
            }
            let key = i;
            if b.get(i)
                .is_none_or(|&c| NAME_CLASS[usize::from(c)] & NOT_START != 0)
            {
                return false;
            }
            while b
                .get(i)
                .is_some_and(|&c| NAME_CLASS[usize::from(c)] & (NOT_NAME | WIDE) == 0)
            {
                i += 1;
            }
            let quote = match (b.get(i), b.get(i + 1)) {
                (Some(b'='), Some(&q)) if q == b'"' || q == b'\'' => q,
                _ => return false,
            };
            let value = i + 2;
            let Some(k) = memchr::memchr(quote, b.get(value..).unwrap_or_default()) else {
                return false;
            };
            if raw.len() >= self.opts.max_attributes {
                return false;
            }
            // Split at ASCII bytes: character boundaries.
            match (tag.get(key..i), tag.get(value..value + k)) {
                (Some(k), Some(v)) => raw.push((k, Cow::Borrowed(v))),
                _ => return false,
            }
            i = value + k + 1;
        }
    }

    /// The tag's namespace declarations, in order: not repeated, values with defined
    /// references, no rebinding of `xml`, no reserved binding, no prefix bound to "". Pushes
    /// the bindings (an `xml` declaration, accepted, is not one).
    fn declarations(
        &mut self,
        raw: &[(&'a str, Cow<'a, str>)],
        pos: usize,
    ) -> Result<Decls, XmlError> {
        let mark = self.bindings.len();
        let mut d = Decls {
            own: 0,
            undeclares: false,
            overridden: 0,
        };
        for (i, (key, value)) in raw.iter().enumerate() {
            let key: &'a str = key;
            let Some(prefix) = declared_prefix(key) else {
                continue;
            };
            if raw[..i].iter().any(|(k, _)| *k == key) {
                return Err(self.err(
                    pos,
                    XmlErrorKind::Syntax,
                    format!("duplicate attribute {key}"),
                ));
            }
            let uri = self.value(value.clone(), pos)?;
            if prefix == "xml" {
                if uri != XML_NS {
                    return Err(self.err(
                        pos,
                        XmlErrorKind::Namespace,
                        "the xml prefix cannot be rebound",
                    ));
                }
                // Accepted and ignored, as the tree does.
                continue;
            }
            if prefix == "xmlns" || uri == XML_NS || uri == XMLNS_NS {
                return Err(self.err(
                    pos,
                    XmlErrorKind::Namespace,
                    format!("reserved namespace binding {key}"),
                ));
            }
            if uri.is_empty() && !prefix.is_empty() {
                return Err(self.err(
                    pos,
                    XmlErrorKind::Namespace,
                    format!("{key} bound to an empty namespace"),
                ));
            }
            if uri.is_empty() {
                d.undeclares = true;
            } else {
                d.own += 1;
                self.nodes += 1;
            }
            self.bindings.push((prefix, uri));
        }
        // Entries of the parent's in-scope list replaced by this tag's declarations.
        for k in mark..self.bindings.len() {
            let prefix = self.bindings[k].0;
            let first = !self.bindings[mark..k].iter().any(|(p, _)| *p == prefix);
            let inherited = self.bindings[..mark]
                .iter()
                .rev()
                .find(|(p, _)| *p == prefix)
                .is_some_and(|(_, u)| !u.is_empty());
            d.overridden += usize::from(first && inherited);
        }
        Ok(d)
    }

    /// The attributes other than namespace declarations: prefixes bound, values with defined
    /// references, no two with one expanded name; a node each.
    fn plain_attributes(
        &mut self,
        raw: &[(&'a str, Cow<'a, str>)],
        pos: usize,
    ) -> Result<(), XmlError> {
        let mut attrs = std::mem::take(&mut self.attrs);
        attrs.clear();
        let r = self.expand_attributes(raw, &mut attrs, pos);
        let r = r.and_then(|()| {
            if attrs.len() > 1 && self.has_duplicate(&attrs) {
                return Err(self.err(pos, XmlErrorKind::Syntax, "duplicate attribute"));
            }
            Ok(())
        });
        self.attrs = attrs;
        r
    }

    fn expand_attributes(
        &mut self,
        raw: &[(&'a str, Cow<'a, str>)],
        attrs: &mut Vec<(&'a str, Cow<'a, str>)>,
        pos: usize,
    ) -> Result<(), XmlError> {
        for (key, value) in raw {
            let key: &'a str = key;
            if declared_prefix(key).is_some() {
                continue;
            }
            let (uri, local) = match memchr::memchr(b':', key.as_bytes()) {
                Some(c) => match self.resolve(&key.as_bytes()[..c]) {
                    Some(uri) => (uri, &key[c + 1..]),
                    None => {
                        return Err(self.err(
                            pos,
                            XmlErrorKind::Namespace,
                            format!("unbound prefix in attribute {key}"),
                        ))
                    }
                },
                None => (Cow::Borrowed(""), key),
            };
            self.value(value.clone(), pos)?;
            self.nodes += 1;
            attrs.push((local, uri));
        }
        Ok(())
    }

    /// True when two of `attrs` (local name, namespace URI) are equal: pairwise for a few,
    /// by sorting their indices for more.
    fn has_duplicate(&mut self, attrs: &[(&'a str, Cow<'a, str>)]) -> bool {
        const FEW: usize = 16;
        if attrs.len() <= FEW {
            return (1..attrs.len()).any(|i| attrs[..i].iter().any(|b| *b == attrs[i]));
        }
        let order = &mut self.order;
        order.clear();
        order.extend(0..attrs.len());
        order.sort_unstable_by(|&x, &y| attrs[x].cmp(&attrs[y]));
        order.windows(2).any(|w| attrs[w[0]] == attrs[w[1]])
    }

    /// The element's prefix (the part of its name `qname` before the first `:`, at `colon`)
    /// must be bound, after its own declarations.
    fn element_prefix(&self, qname: &[u8], colon: usize, pos: usize) -> Result<(), XmlError> {
        let prefix = &qname[..colon];
        if prefix == b"xmlns" || self.resolve(prefix).is_none() {
            return Err(self.err(
                pos,
                XmlErrorKind::Namespace,
                format!("unbound prefix in <{}>", String::from_utf8_lossy(qname)),
            ));
        }
        Ok(())
    }

    /// An attribute value: its references must be defined.
    fn value(&self, raw: Cow<'a, str>, pos: usize) -> Result<Cow<'a, str>, XmlError> {
        let map = |(k, m)| self.err(pos, k, m);
        Ok(match raw {
            Cow::Borrowed(v) => attr_value(v).map_err(map)?,
            Cow::Owned(v) => Cow::Owned(attr_value(&v).map_err(map)?.into_owned()),
        })
    }
}

/// What a tag's namespace declarations add: namespace nodes, whether the default namespace is
/// undeclared, and how many entries of the parent's in-scope list they replace.
struct Decls {
    own: usize,
    undeclares: bool,
    overridden: usize,
}

/// The prefix an attribute name declares (`""` for `xmlns`), or `None` when it is no
/// namespace declaration.
fn declared_prefix(key: &str) -> Option<&str> {
    match key.strip_prefix("xmlns")? {
        "" => Some(""),
        rest => rest.strip_prefix(':'),
    }
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

/// What [`ascii_name`] found.
#[derive(Debug, PartialEq, Eq)]
enum AsciiName {
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
fn ascii_name(name: &[u8]) -> AsciiName {
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
    if w & HIGHS != 0 {
        return false;
    }
    // Upper case folded to lower; every byte stays below 0x80, so the additions carry into no
    // other byte: bit 7 of `x + 0x1F` says `x >= 0x61` (`a`), of `x + 0x05` says `x >= 0x7B`.
    let x = w | (ONES * 0x20);
    let from_a = x.wrapping_add(ONES * 0x1F);
    let past_z = x.wrapping_add(ONES * 0x05);
    from_a & !past_z & HIGHS == HIGHS
}

#[cfg(test)]
mod tests {
    use super::{ascii_name, AsciiName, Checker};
    use crate::xml::escape::is_name;
    use quick_xml::events::attributes::Attributes;
    use std::borrow::Cow;

    /// Whenever the plain splitter takes a tag, quick-xml splits it into the same names and
    /// values without error; tags from pieces of attribute syntax, all combinations of three.
    #[test]
    fn plain_split_is_quick_xmls() {
        let pieces = [
            " ", "\t", "\n", "a", "p:k", "xmlns", "xmlns:p", "1", "-", "=", "'", "\"", "v", "='x'",
            "=\"y\"", " k='1'", "&amp;", "<", ">", "é", "''", "= ",
        ];
        let mut taken = 0;
        for x in pieces {
            for y in pieces {
                for z in pieces {
                    for w in ["", " q='2'", "'", " "] {
                        let tag = format!("e{x}{y}{z}{w}");
                        let checker = Checker::new(tag.as_bytes(), 0);
                        let mut raw = Vec::new();
                        if !checker.split_plain(&mut raw, &tag, 1) {
                            continue;
                        }
                        taken += 1;
                        let theirs: Vec<(&str, Cow<'_, str>)> = Attributes::new(&tag, 1)
                            .with_checks(false)
                            .map(|a| {
                                let a = a.unwrap_or_else(|e| panic!("{tag:?}: {e}"));
                                (a.key.0, a.value)
                            })
                            .collect();
                        assert_eq!(raw, theirs, "{tag:?}");
                    }
                }
            }
        }
        assert!(taken > 250, "only {taken} tags split plainly");
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
