//! The tree parser's well-formedness rules for the streaming matcher, so that both accept and
//! refuse the same inputs: every token the matcher reads passes through [`Checker::token`],
//! whether the matcher is matching, skipping a subtree or reading to the end.
//!
//! Rules kept from `parse.rs` / `parse/start.rs` (beyond the tokenizer's, which are quick-xml's):
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

use super::lex::Tok;
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::escape::{attr_value, is_name};
use crate::xml::tree::ParseOptions;
use crate::xml::XML_NS;

const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// An open element: where its bindings start, and the size of its in-scope namespace list.
struct Open {
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
    open: Vec<Open>,
    /// Nodes and in-scope list entries the tree would have created so far.
    nodes: usize,
    ns_lists: usize,
    /// A run of text (text, CDATA, references) is open; `text_nonempty`: it holds characters.
    text_open: bool,
    text_nonempty: bool,
    /// Attributes of the current tag: (local name, namespace URI).
    attrs: Vec<(&'a str, Cow<'a, str>)>,
    /// `xmlns` attribute names of the current tag.
    decl_keys: Vec<&'a str>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(input: &'a [u8], base: usize) -> Self {
        Checker {
            input,
            base,
            opts: ParseOptions::default(),
            root_seen: false,
            bindings: Vec::new(),
            open: Vec::with_capacity(16),
            // The document node.
            nodes: 1,
            ns_lists: 0,
            text_open: false,
            text_nonempty: false,
            attrs: Vec::new(),
            decl_keys: Vec::new(),
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
                self.start(pos, name_end, content_end, empty)
            }
            Tok::End => {
                self.end_text()?;
                if let Some(o) = self.open.pop() {
                    self.bindings.truncate(o.mark);
                }
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

    /// One more node of the arena.
    fn node(&mut self, at: usize) -> Result<(), XmlError> {
        self.nodes += 1;
        self.check_count(at)
    }

    fn check_count(&self, at: usize) -> Result<(), XmlError> {
        if self.nodes > self.opts.max_nodes || self.ns_lists > self.opts.max_nodes {
            return Err(self.err(at, XmlErrorKind::Limit, "too many nodes"));
        }
        Ok(())
    }

    fn text(&mut self, pos: usize, after: usize, tok: Tok) -> Result<(), XmlError> {
        if self.open.is_empty() {
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
    fn resolve(&self, prefix: &str) -> Option<Cow<'a, str>> {
        if prefix == "xml" {
            return Some(Cow::Borrowed(XML_NS));
        }
        match self.bindings.iter().rev().find(|(p, _)| *p == prefix) {
            Some((_, uri)) if !uri.is_empty() => Some(uri.clone()),
            _ => None,
        }
    }

    fn start(
        &mut self,
        pos: usize,
        name_end: usize,
        content_end: usize,
        empty: bool,
    ) -> Result<(), XmlError> {
        if self.open.is_empty() {
            if self.root_seen {
                return Err(self.err(pos, XmlErrorKind::Syntax, "more than one root element"));
            }
            self.root_seen = true;
        }
        let qname = self.piece(pos + 1, name_end, pos)?;
        if !is_name(qname) {
            return Err(self.err(pos, XmlErrorKind::Syntax, "invalid element name"));
        }
        let is_root = self.open.is_empty();
        let parent_scope = self.open.last().map_or(0, |o| o.scope);
        let mark = self.bindings.len();
        self.attrs.clear();
        self.decl_keys.clear();
        // The element, and on the document element the implicit `xml` namespace node.
        self.nodes += 1 + usize::from(is_root);
        let mut own = usize::from(is_root);
        let mut overridden = 0;
        let mut undeclares = false;
        if content_end > name_end {
            let tag = self.piece(pos + 1, content_end, pos)?;
            let mut count = 0;
            let input = self.input;
            let malformed = |e: &dyn std::fmt::Display| {
                XmlError::at(
                    input,
                    pos,
                    XmlErrorKind::Syntax,
                    format!("malformed attribute: {e}"),
                )
            };
            // Declarations first: attribute prefixes may use bindings declared after them.
            for a in Attributes::new(tag, name_end - pos - 1).with_checks(false) {
                let a = a.map_err(|e| malformed(&e))?;
                let key = a.key.0;
                if !is_name(key) {
                    return Err(self.err(pos, XmlErrorKind::Syntax, "invalid attribute name"));
                }
                count += 1;
                if count > self.opts.max_attributes {
                    return Err(self.err(pos, XmlErrorKind::Limit, "too many attributes"));
                }
            }
            for a in Attributes::new(tag, name_end - pos - 1).with_checks(false) {
                let a = a.map_err(|e| malformed(&e))?;
                let key = a.key.0;
                let prefix = match key.strip_prefix("xmlns") {
                    Some("") => "",
                    Some(rest) => match rest.strip_prefix(':') {
                        Some(p) => p,
                        None => continue,
                    },
                    None => continue,
                };
                if self.decl_keys.contains(&key) {
                    return Err(self.err(
                        pos,
                        XmlErrorKind::Syntax,
                        format!("duplicate attribute {key}"),
                    ));
                }
                self.decl_keys.push(key);
                let uri = self.value(a.value, pos)?;
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
                    undeclares = true;
                } else {
                    own += 1;
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
                overridden += usize::from(first && inherited);
            }
            self.element_prefix(qname, pos)?;
            for a in Attributes::new(tag, name_end - pos - 1).with_checks(false) {
                let a = a.map_err(|e| malformed(&e))?;
                let key = a.key.0;
                if key == "xmlns" || key.starts_with("xmlns:") {
                    continue;
                }
                let (uri, local) = match key.split_once(':') {
                    Some((prefix, local)) => match self.resolve(prefix) {
                        Some(uri) => (uri, local),
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
                self.value(a.value, pos)?;
                self.nodes += 1;
                self.attrs.push((local, uri));
            }
            if self.attrs.len() > 1 {
                let dup = (1..self.attrs.len())
                    .any(|i| self.attrs[..i].iter().any(|b| *b == self.attrs[i]));
                if dup {
                    return Err(self.err(pos, XmlErrorKind::Syntax, "duplicate attribute"));
                }
            }
        }
        if content_end <= name_end {
            self.element_prefix(qname, pos)?;
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
            self.bindings.truncate(mark);
        } else {
            self.open.push(Open { mark, scope });
        }
        Ok(())
    }

    /// The element's prefix, if it has one, must be bound (after its own declarations).
    fn element_prefix(&self, qname: &str, pos: usize) -> Result<(), XmlError> {
        if let Some((prefix, _)) = qname.split_once(':') {
            if prefix == "xmlns" || self.resolve(prefix).is_none() {
                return Err(self.err(
                    pos,
                    XmlErrorKind::Namespace,
                    format!("unbound prefix in <{qname}>"),
                ));
            }
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
