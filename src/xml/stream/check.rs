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

use crate::xml::attrs::{self, ascii_name, AsciiName, SplitError};
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::escape::{attr_value, is_name};
use crate::xml::lex::{same, Lexer, Tok};
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

    /// Reads ahead with [`Lexer::plain_run`] where the tree's rules add nothing to the
    /// tokenizer's but counting nodes: not inside a run of text (it is a node only once it
    /// ends), and only end tags that pop no namespace bindings and are read while more than
    /// `floor` elements are open; `max_open` and `watched` as there. The bindings of an empty
    /// element read last go out of scope first (a tag follows). Returns the fewest elements
    /// that were open during the run, `None` when it did not run.
    #[inline(always)]
    pub(super) fn plain_run(
        &mut self,
        lex: &mut Lexer<'_>,
        floor: usize,
        max_open: usize,
        watched: impl FnMut(&[u8], usize, usize) -> bool,
    ) -> Option<usize> {
        if self.text_open {
            return None;
        }
        self.leave_empty();
        let floor = self.open.last().map_or(0, |o| o.depth).max(floor);
        let room = self
            .opts
            .max_nodes
            .saturating_sub(self.nodes.max(self.ns_lists));
        let (nodes, low) = lex.plain_run(floor, max_open, room, watched);
        self.nodes += nodes;
        self.depth = lex.depth();
        Some(low)
    }

    /// The bindings of the empty element read last go out of scope (the next tag is read).
    #[inline(always)]
    pub(super) fn leave_empty(&mut self) {
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

    /// The attributes of `tag` (its name `name_len` bytes long) into `raw`: split as quick-xml
    /// splits them, with XML names, at most `max_attributes` (`xml/attrs.rs`).
    fn split_attributes(
        &self,
        raw: &mut Vec<(&'a str, Cow<'a, str>)>,
        tag: &'a str,
        name_len: usize,
        pos: usize,
    ) -> Result<(), XmlError> {
        attrs::split(tag, name_len, self.opts.max_attributes, |k, v| {
            raw.push((k, Cow::Borrowed(v)))
        })
        .map_err(|e| {
            let kind = match e {
                SplitError::TooMany => XmlErrorKind::Limit,
                _ => XmlErrorKind::Syntax,
            };
            self.err(pos, kind, e.message())
        })
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
