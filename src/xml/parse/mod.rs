//! Builds a [`Document`] from one `Bytes` buffer with quick-xml's borrowing slice reader.
//!
//! Every name, attribute value and text the reader hands out is a `&str` inside the buffer; the
//! builder records it as a byte range (pointer offset), so nothing is copied unless it needs
//! unescaping, end-of-line normalization or joining. Namespaces are resolved here (element and
//! attribute prefixes → namespace nodes), well-formedness that quick-xml leaves to the caller is
//! checked here (end-tag names, one root element, no text outside it, unique attributes, no `<` in
//! attribute values), and the safety rules apply: DOCTYPE refused, only predefined entities and
//! character references, depth/node/attribute limits. Scratch vectors are reused across tags: no
//! allocation per event once they have grown.
//!
//! Must not: keep references into the buffer (spans only), or expand anything not in the input.

use bytes::Bytes;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::error::{XmlError, XmlErrorKind};
use super::escape::{eol_normalized, push_eol_normalized, push_ref, RefError};
use super::tree::{Document, Elem, Node, ParseOptions, Span, NONE};
use super::XML_NS;
use crate::xpath::dom::{NodeId, NodeKind};

impl Document {
    /// Parses a whole body with the default [`ParseOptions`].
    pub fn parse(bytes: Bytes) -> Result<Document, XmlError> {
        Document::parse_with(bytes, &ParseOptions::default())
    }

    /// Parses a whole body. The input must be UTF-8 (a leading byte-order mark is skipped; the
    /// `encoding` of the XML declaration is not consulted). The tree borrows from `bytes`.
    pub fn parse_with(bytes: Bytes, opts: &ParseOptions) -> Result<Document, XmlError> {
        if bytes.len() >= (1 << 31) {
            return Err(XmlError::at(
                &[],
                0,
                XmlErrorKind::Limit,
                "document of 2 GiB or more",
            ));
        }
        let mut b = Builder::new(&bytes, opts);
        b.run()?;
        let Builder {
            nodes,
            elems,
            attr_ids,
            ns_lists,
            strs,
            root_elem,
            has_default_undecl,
            ..
        } = b;
        Ok(Document {
            src: bytes,
            nodes,
            elems,
            attr_ids,
            ns_lists,
            strs,
            root_elem,
            has_default_undecl,
            ns_axis: Default::default(),
        })
    }
}

struct RawAttr {
    name: Span,
    local_off: u32,
    value_start: usize,
    value_len: usize,
    src_start: usize,
    src_end: usize,
}

/// The text node being accumulated from adjacent Text / CDATA / reference events.
#[derive(Default)]
struct TextAcc {
    active: bool,
    start: usize,
    end: usize,
    span: Span,
    /// Start of the owned copy in `strs`, when the text had to be owned.
    owned_from: Option<usize>,
}

struct Builder<'s> {
    src: &'s [u8],
    opts: &'s ParseOptions,
    nodes: Vec<Node>,
    elems: Vec<Elem>,
    attr_ids: Vec<NodeId>,
    ns_lists: Vec<NodeId>,
    strs: String,
    root_elem: NodeId,
    has_default_undecl: bool,
    stack: Vec<NodeId>,
    /// Per open element (beside `stack`): the namespace node of the default namespace in
    /// scope there, or NONE.
    default_ns: Vec<u32>,
    text: TextAcc,
    attrs: Vec<RawAttr>,
    decls: Vec<RawAttr>,
    sort_scratch: Vec<NodeId>,
    xml_ns: NodeId,
}

fn new_node(kind: NodeKind, parent: u32) -> Node {
    Node {
        name: Span::EMPTY,
        value: Span::EMPTY,
        src_start: 0,
        src_end: 0,
        parent,
        next: NONE,
        prev: NONE,
        end: 0,
        ns: NONE,
        aux: 0,
        local_off: 0,
        kind,
    }
}

fn new_elem(attr_start: usize, ns_start: usize) -> Elem {
    Elem {
        first_child: NONE,
        last_child: NONE,
        attr_start: attr_start as u32,
        attr_len: 0,
        ns_start: ns_start as u32,
        ns_len: 0,
        own_ns: 0,
        tag_end: 0,
        empty: false,
        undeclares_default: false,
    }
}

impl<'s> Builder<'s> {
    fn new(src: &'s [u8], opts: &'s ParseOptions) -> Self {
        let mut strs = String::with_capacity(64);
        strs.push_str("xml");
        strs.push_str(XML_NS);
        // SOAP bodies run at about 10 bytes per node; over-reserving costs only untouched memory.
        let mut nodes = Vec::with_capacity(src.len() / 8 + 8);
        let mut root = new_node(NodeKind::Root, NONE);
        root.src_end = src.len() as u32;
        nodes.push(root);
        let mut elems = Vec::with_capacity(src.len() / 16 + 2);
        elems.push(new_elem(0, 0));
        Builder {
            src,
            opts,
            nodes,
            elems,
            attr_ids: Vec::with_capacity(src.len() / 64 + 4),
            ns_lists: Vec::with_capacity(16),
            strs,
            root_elem: NONE,
            has_default_undecl: false,
            stack: Vec::with_capacity(32),
            default_ns: Vec::with_capacity(32),
            text: TextAcc::default(),
            attrs: Vec::new(),
            decls: Vec::new(),
            sort_scratch: Vec::new(),
            xml_ns: NONE,
        }
    }

    fn err(&self, offset: usize, kind: XmlErrorKind, msg: impl Into<String>) -> XmlError {
        XmlError::at(self.src, offset, kind, msg)
    }

    fn ref_err(&self, offset: usize, (kind, msg): RefError) -> XmlError {
        self.err(offset, kind, msg)
    }

    /// Byte offset of `s` in the source (the reader only hands out slices of it).
    fn off(&self, s: &str, at: usize) -> Result<usize, XmlError> {
        let p = s.as_ptr() as usize;
        let base = self.src.as_ptr() as usize;
        if p >= base && p + s.len() <= base + self.src.len() {
            Ok(p - base)
        } else {
            Err(self.err(
                at,
                XmlErrorKind::Syntax,
                "internal: event not borrowed from input",
            ))
        }
    }

    fn span_bytes(&self, s: Span) -> &[u8] {
        let (a, b) = (s.start as usize, s.start as usize + s.byte_len());
        let buf = if s.is_owned() {
            self.strs.as_bytes()
        } else {
            self.src
        };
        buf.get(a..b).unwrap_or(&[])
    }

    fn run(&mut self) -> Result<(), XmlError> {
        let base = if self.src.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut reader = Reader::from_reader(&self.src[base..]);
        // End-tag names are checked against our own stack (saves quick-xml's name buffer).
        reader.config_mut().check_end_names = false;
        let mut pos = base;
        loop {
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let kind = match e {
                        quick_xml::Error::Encoding(_) => XmlErrorKind::Encoding,
                        _ => XmlErrorKind::Syntax,
                    };
                    let at = base + reader.error_position() as usize;
                    return Err(self.err(at, kind, e.to_string()));
                }
            };
            let after = base + reader.buffer_position() as usize;
            match event {
                Event::Start(e) => {
                    self.flush_text()?;
                    self.start(&e, pos, after, false)?;
                }
                Event::Empty(e) => {
                    self.flush_text()?;
                    self.start(&e, pos, after, true)?;
                }
                Event::End(e) => {
                    self.flush_text()?;
                    self.end(e.name().0, pos, after)?;
                }
                Event::Text(t) => self.text(&t, pos, after, false)?,
                Event::CData(c) => self.text(&c, pos, after, true)?,
                Event::GeneralRef(r) => self.reference(&r, pos, after)?,
                Event::Comment(c) => {
                    self.flush_text()?;
                    let value = self.text_span(&c, pos)?;
                    self.leaf(NodeKind::Comment, Span::EMPTY, value, pos, after)?;
                }
                Event::PI(p) => {
                    self.flush_text()?;
                    let target = p.target();
                    let name = Span::src(self.off(target, pos)?, target.len());
                    let value = self.text_span(p.content().trim_start(), pos)?;
                    self.leaf(NodeKind::ProcessingInstruction, name, value, pos, after)?;
                }
                Event::Decl(_) => {
                    if pos != base {
                        return Err(self.err(
                            pos,
                            XmlErrorKind::Syntax,
                            "XML declaration not at the start",
                        ));
                    }
                }
                Event::DocType(_) => {
                    return Err(self.err(pos, XmlErrorKind::DocType, "DOCTYPE is not allowed"));
                }
                Event::Eof => break,
            }
            pos = after;
        }
        self.flush_text()?;
        if let Some(&open) = self.stack.last() {
            let name = String::from_utf8_lossy(self.span_bytes(self.nodes[open as usize].name));
            return Err(self.err(
                self.src.len(),
                XmlErrorKind::Syntax,
                format!("unclosed element <{name}>"),
            ));
        }
        if self.root_elem == NONE {
            return Err(self.err(self.src.len(), XmlErrorKind::Syntax, "no root element"));
        }
        self.nodes[0].end = (self.nodes.len() - 1) as u32;
        Ok(())
    }

    /// A span for comment/PI text: borrowed unless it holds `\r`.
    fn text_span(&mut self, s: &str, at: usize) -> Result<Span, XmlError> {
        if s.is_empty() {
            return Ok(Span::EMPTY);
        }
        Ok(match eol_normalized(s) {
            std::borrow::Cow::Borrowed(b) => Span::src(self.off(b, at)?, b.len()),
            std::borrow::Cow::Owned(o) => self.push_owned(&o),
        })
    }

    fn push_owned(&mut self, s: &str) -> Span {
        let start = self.strs.len();
        self.strs.push_str(s);
        Span::owned(start, s.len())
    }

    fn check_count(&self, at: usize) -> Result<(), XmlError> {
        if self.nodes.len() > self.opts.max_nodes || self.ns_lists.len() > self.opts.max_nodes {
            return Err(self.err(at, XmlErrorKind::Limit, "too many nodes"));
        }
        Ok(())
    }

    /// Appends `node` as the last child of the current element (or of the document node).
    fn link(&mut self, mut node: Node) -> NodeId {
        let id = self.nodes.len() as NodeId;
        let parent = self.stack.last().copied().unwrap_or(0);
        node.parent = parent;
        let pe = self.nodes[parent as usize].aux as usize;
        let last = self.elems[pe].last_child;
        if last == NONE {
            self.elems[pe].first_child = id;
        } else {
            self.nodes[last as usize].next = id;
            node.prev = last;
        }
        self.elems[pe].last_child = id;
        node.end = id;
        self.nodes.push(node);
        id
    }

    fn leaf(
        &mut self,
        kind: NodeKind,
        name: Span,
        value: Span,
        pos: usize,
        after: usize,
    ) -> Result<(), XmlError> {
        let mut n = new_node(kind, 0);
        n.name = name;
        n.value = value;
        n.src_start = pos as u32;
        n.src_end = after as u32;
        self.link(n);
        self.check_count(pos)
    }

    fn text(&mut self, s: &str, pos: usize, after: usize, cdata: bool) -> Result<(), XmlError> {
        if self.stack.is_empty() {
            if cdata || !s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
                return Err(self.err(pos, XmlErrorKind::Syntax, "text outside the root element"));
            }
            return Ok(());
        }
        if !self.text.active {
            self.text = TextAcc {
                active: true,
                start: pos,
                end: after,
                span: Span::EMPTY,
                owned_from: None,
            };
            if memchr::memchr(b'\r', s.as_bytes()).is_none() {
                self.text.span = Span::src(self.off(s, pos)?, s.len());
                return Ok(());
            }
        }
        self.text.end = after;
        self.own_text();
        push_eol_normalized(&mut self.strs, s);
        Ok(())
    }

    /// Makes the accumulated text owned (copied to the end of `strs`) so more can be appended.
    fn own_text(&mut self) {
        if self.text.owned_from.is_none() {
            let start = self.strs.len();
            let span = self.text.span;
            let (a, b) = (span.start as usize, span.start as usize + span.byte_len());
            if let Some(s) = self.src.get(a..b).and_then(|s| std::str::from_utf8(s).ok()) {
                self.strs.push_str(s);
            }
            self.text.owned_from = Some(start);
        }
    }

    fn reference(&mut self, name: &str, pos: usize, after: usize) -> Result<(), XmlError> {
        if self.stack.is_empty() {
            return Err(self.err(
                pos,
                XmlErrorKind::Syntax,
                "reference outside the root element",
            ));
        }
        if !self.text.active {
            self.text = TextAcc {
                active: true,
                start: pos,
                end: after,
                span: Span::EMPTY,
                owned_from: None,
            };
        }
        self.text.end = after;
        self.own_text();
        push_ref(&mut self.strs, name).map_err(|e| self.ref_err(pos, e))
    }

    fn flush_text(&mut self) -> Result<(), XmlError> {
        if !self.text.active {
            return Ok(());
        }
        self.text.active = false;
        let value = match self.text.owned_from.take() {
            Some(from) => Span::owned(from, self.strs.len() - from),
            None => self.text.span,
        };
        if value.byte_len() == 0 {
            return Ok(());
        }
        let (start, end) = (self.text.start, self.text.end);
        self.leaf(NodeKind::Text, Span::EMPTY, value, start, end)
    }

    fn end(&mut self, name: &str, pos: usize, after: usize) -> Result<(), XmlError> {
        self.default_ns.pop();
        let Some(open) = self.stack.pop() else {
            return Err(self.err(
                pos,
                XmlErrorKind::Syntax,
                format!("unexpected end tag </{name}>"),
            ));
        };
        let open_name = self.span_bytes(self.nodes[open as usize].name);
        if open_name != name.as_bytes() {
            let expected = String::from_utf8_lossy(open_name).into_owned();
            return Err(self.err(
                pos,
                XmlErrorKind::Syntax,
                format!("expected </{expected}>, found </{name}>"),
            ));
        }
        let last = (self.nodes.len() - 1) as u32;
        let node = &mut self.nodes[open as usize];
        node.end = last;
        node.src_end = after as u32;
        Ok(())
    }
}

mod start;
