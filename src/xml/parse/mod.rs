//! Builds a [`Document`] from one `Bytes` buffer with mint's tokenizer (`xml/lex.rs`, quick-xml's
//! rules) after one UTF-8 check of the whole buffer.
//!
//! Tokens are positions in the buffer; the builder records names, attribute values and text as
//! byte ranges, so nothing is copied unless it needs unescaping, end-of-line normalization or
//! joining. Namespaces are resolved here (element and attribute prefixes → namespace nodes),
//! well-formedness the tokenizer leaves to the caller is checked here (one root element, no text
//! outside it, XML names, unique attributes, no `<` in attribute values; the tokenizer checks
//! end-tag names), and the safety rules apply: DOCTYPE refused, only predefined entities and
//! character references, depth/node/attribute limits. Scratch vectors are reused across tags: no
//! allocation per event once they have grown.
//!
//! Must not: keep references into the buffer (spans only), or expand anything not in the input.

use bytes::Bytes;

use super::error::{XmlError, XmlErrorKind};
use super::escape::{eol_normalized, push_eol_normalized, push_ref, RefError};
use super::lex::{Lexer, Tok};
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
        // One check of the whole buffer (quick-xml checked each event as it read it); every
        // token boundary is an ASCII byte, so the pieces below are `&str` slices of `doc`.
        let doc = std::str::from_utf8(&bytes).map_err(|e| {
            XmlError::at(
                &bytes,
                e.valid_up_to(),
                XmlErrorKind::Encoding,
                "invalid UTF-8",
            )
        })?;
        let mut b = Builder::new(doc, opts);
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
    /// `src`, known to be UTF-8.
    doc: &'s str,
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
    fn new(doc: &'s str, opts: &'s ParseOptions) -> Self {
        let src = doc.as_bytes();
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
            doc,
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

    /// The text of `src[start..end]` (token boundaries, which fall on ASCII bytes).
    fn piece(&self, start: usize, end: usize, at: usize) -> Result<&'s str, XmlError> {
        let doc: &'s str = self.doc;
        doc.get(start..end).ok_or_else(|| {
            self.err(
                at,
                XmlErrorKind::Syntax,
                "internal: token not on a character boundary",
            )
        })
    }

    fn run(&mut self) -> Result<(), XmlError> {
        let base = if self.src.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut lex = Lexer::new(self.src, base);
        let mut pos = base;
        loop {
            let tok = lex.next()?;
            let after = lex.pos;
            match tok {
                Tok::Start {
                    name_end,
                    content_end,
                    empty,
                } => {
                    self.flush_text()?;
                    self.start(pos, name_end, content_end, after, empty)?;
                }
                Tok::End => {
                    self.flush_text()?;
                    self.end(after);
                }
                Tok::Text => {
                    let t = self.piece(pos, after, pos)?;
                    self.text(t, pos, after, false)?;
                }
                Tok::CData => {
                    let t = self.piece(pos + 9, after - 3, pos)?;
                    self.text(t, pos, after, true)?;
                }
                Tok::Ref => {
                    let name = self.piece(pos + 1, after - 1, pos)?;
                    self.reference(name, pos, after)?;
                }
                Tok::Comment => {
                    self.flush_text()?;
                    let c = self.piece(pos + 4, after - 3, pos)?;
                    let value = self.text_span(c, pos)?;
                    self.leaf(NodeKind::Comment, Span::EMPTY, value, pos, after)?;
                }
                Tok::Pi => {
                    let content = self.piece(pos + 2, after - 2, pos)?;
                    let b = content.as_bytes();
                    // quick-xml's rule: `<?xml` and then whitespace or the end is the declaration.
                    if b.starts_with(b"xml")
                        && (b.len() == 3 || matches!(b[3], b' ' | b'\t' | b'\r' | b'\n'))
                    {
                        if pos != base {
                            return Err(self.err(
                                pos,
                                XmlErrorKind::Syntax,
                                "XML declaration not at the start",
                            ));
                        }
                    } else {
                        self.flush_text()?;
                        let split = b
                            .iter()
                            .position(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
                            .unwrap_or(b.len());
                        let name = Span::src(pos + 2, split);
                        let rest = content.get(split..).unwrap_or_default();
                        let value = self.text_span(rest.trim_start(), pos)?;
                        self.leaf(NodeKind::ProcessingInstruction, name, value, pos, after)?;
                    }
                }
                Tok::DocType => {
                    return Err(self.err(pos, XmlErrorKind::DocType, "DOCTYPE is not allowed"));
                }
                Tok::Eof => break,
            }
            pos = after;
        }
        self.flush_text()?;
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

    /// The end tag of the innermost open element (the tokenizer checked its name).
    fn end(&mut self, after: usize) {
        self.default_ns.pop();
        if let Some(open) = self.stack.pop() {
            let last = (self.nodes.len() - 1) as u32;
            let node = &mut self.nodes[open as usize];
            node.end = last;
            node.src_end = after as u32;
        }
    }
}

mod start;
