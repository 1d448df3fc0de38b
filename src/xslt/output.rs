//! The result, written as it is made, with libxslt's rules for declaring namespaces on it and
//! libxml2's way of writing it.
//!
//! An element's start tag is held open (its declarations and attributes can still grow) until
//! its first child or its end; only the open elements are kept.

use std::borrow::Cow;

use super::Fallback;

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

type Str<'a> = Cow<'a, str>;

/// One open element.
struct Open<'a> {
    prefix: &'a str,
    local: &'a str,
    /// The element's namespace `(prefix, uri)` (prefix `""`: the default namespace).
    ns: Option<(&'a str, &'a str)>,
    /// Where its namespace declarations start in [`Out::decls`] (they run to the next open
    /// element's, or to the end: only the innermost element gets new ones).
    decl_start: usize,
    /// Where its attributes start in [`Out::attrs`] (the innermost element's run to the end).
    attr_start: usize,
    /// Its start tag is written (it has children).
    written: bool,
}

/// `(prefix, local, uri, value)`.
type Attr<'a> = (&'a str, Str<'a>, &'a str, Str<'a>);

pub(crate) struct Out<'a> {
    out: String,
    open: Vec<Open<'a>>,
    /// The open elements' namespace declarations, outermost first; `("", "")` is `xmlns=""`.
    decls: Vec<(&'a str, &'a str)>,
    /// The attributes of the innermost open element whose start tag is not written yet.
    attrs: Vec<Attr<'a>>,
    /// Elements written at the top level.
    top: usize,
    /// libxml2 writes non-ASCII characters in attribute values as character references when
    /// the output names no encoding.
    ascii_attrs: bool,
    /// Text collected for `xsl:attribute` instead of written (innermost last).
    captures: Vec<String>,
    /// The name of the first top-level element, when it has no namespace.
    pub first_top_local: Option<&'a str>,
    /// `xsl:output indent="yes"`: what was written, piece by piece, for [`indent`] to lay out.
    pieces: Option<Vec<Piece>>,
    /// Something written that libxml2 would write differently (found late, reported at the end).
    unfaithful: Option<&'static str>,
}

/// One piece of the unindented output: its kind and byte range.
#[derive(Clone, Copy)]
struct Piece {
    kind: PieceKind,
    start: usize,
    end: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PieceKind {
    /// A start tag with children to come.
    Start,
    /// An element without children (`<x/>`).
    Empty,
    End,
    Text,
    /// A comment or processing instruction.
    Other,
}

impl<'a> Out<'a> {
    pub(crate) fn new(ascii_attrs: bool, indent: bool, capacity: usize) -> Out<'a> {
        Out {
            out: String::with_capacity(capacity),
            open: Vec::with_capacity(16),
            decls: Vec::with_capacity(16),
            attrs: Vec::with_capacity(8),
            top: 0,
            ascii_attrs,
            captures: Vec::new(),
            first_top_local: None,
            pieces: indent.then(Vec::new),
            unfaithful: None,
        }
    }

    fn piece(&mut self, kind: PieceKind, start: usize) {
        let end = self.out.len();
        if let Some(p) = &mut self.pieces {
            p.push(Piece { kind, start, end });
        }
    }

    /// The result: one element, as libxml2 writes it (no XML declaration).
    pub(crate) fn finish(self) -> Result<String, Fallback> {
        if self.top != 1 || !self.open.is_empty() {
            return Err(Fallback("a result that is not one element"));
        }
        if let Some(why) = self.unfaithful {
            return Err(Fallback(why));
        }
        Ok(match &self.pieces {
            Some(p) => indent(&self.out, p),
            None => self.out,
        })
    }

    /// Writes the start tag of the innermost open element, which gets a child.
    fn child(&mut self) -> Result<(), Fallback> {
        if !self.captures.is_empty() {
            return Err(Fallback("an attribute value with markup"));
        }
        let Some(e) = self.open.last_mut() else {
            return Ok(());
        };
        if e.written {
            return Ok(());
        }
        e.written = true;
        let at = self.out.len();
        let e = self.open.last().expect("an open element");
        start_tag(
            &mut self.out,
            e,
            &self.decls[e.decl_start..],
            &self.attrs[e.attr_start..],
            self.ascii_attrs,
        );
        self.out.push('>');
        self.attrs.truncate(e.attr_start);
        self.piece(PieceKind::Start, at);
        Ok(())
    }

    pub(crate) fn text(&mut self, s: &str) -> Result<(), Fallback> {
        if s.is_empty() {
            return Ok(());
        }
        if let Some(c) = self.captures.last_mut() {
            c.push_str(s);
            return Ok(());
        }
        if self.open.is_empty() {
            return Err(Fallback("text at the top of the result"));
        }
        self.child()?;
        let at = self.out.len();
        escape(s, &mut self.out, false, self.ascii_attrs);
        self.piece(PieceKind::Text, at);
        Ok(())
    }

    pub(crate) fn comment(&mut self, s: &str) -> Result<(), Fallback> {
        if self.open.is_empty() {
            return Err(Fallback("a comment at the top of the result"));
        }
        self.child()?;
        let at = self.out.len();
        self.out.push_str("<!--");
        self.out.push_str(s);
        self.out.push_str("-->");
        self.piece(PieceKind::Other, at);
        Ok(())
    }

    pub(crate) fn pi(&mut self, target: &str, data: &str) -> Result<(), Fallback> {
        if self.open.is_empty() {
            return Err(Fallback(
                "a processing instruction at the top of the result",
            ));
        }
        self.child()?;
        let at = self.out.len();
        self.out.push_str("<?");
        self.out.push_str(target);
        if !data.is_empty() {
            self.out.push(' ');
            self.out.push_str(data);
        }
        self.out.push_str("?>");
        self.piece(PieceKind::Other, at);
        Ok(())
    }

    /// Opens a new element (no namespace yet, no declarations) inside the current one.
    pub(crate) fn open(&mut self, prefix: &'a str, local: &'a str) -> Result<(), Fallback> {
        if self.open.is_empty() {
            if !self.captures.is_empty() {
                return Err(Fallback("an attribute value with markup"));
            }
            self.top += 1;
            if self.top > 1 {
                return Err(Fallback("a result that is not one element"));
            }
        } else {
            self.child()?;
        }
        self.open.push(Open {
            prefix,
            local,
            ns: None,
            decl_start: self.decls.len(),
            attr_start: self.attrs.len(),
            written: false,
        });
        Ok(())
    }

    /// Closes the innermost open element.
    pub(crate) fn close(&mut self) {
        let e = self.open.pop().expect("an open element");
        if self.open.is_empty() && e.ns.is_none() && self.first_top_local.is_none() {
            self.first_top_local = Some(e.local);
        }
        let at = self.out.len();
        if e.written {
            self.out.push_str("</");
            qname(e.prefix, e.local, &mut self.out);
            self.out.push('>');
            self.piece(PieceKind::End, at);
        } else {
            start_tag(
                &mut self.out,
                &e,
                &self.decls[e.decl_start..],
                &self.attrs[e.attr_start..],
                self.ascii_attrs,
            );
            self.out.push_str("/>");
            self.attrs.truncate(e.attr_start);
            self.piece(PieceKind::Empty, at);
        }
        self.decls.truncate(e.decl_start);
    }

    /// Whether the innermost open element (the one new content goes into) has a namespace.
    pub(crate) fn current_has_ns(&self) -> bool {
        self.open.last().is_some_and(|e| e.ns.is_some())
    }

    pub(crate) fn in_element(&self) -> bool {
        !self.open.is_empty()
    }

    /// libxml2's `xmlSearchNs` from the open element `depth` (0: the innermost) outwards: the
    /// URI bound to `prefix` (`""` for the default namespace when `xmlns=""` is in effect).
    pub(crate) fn search(&self, depth: usize, prefix: &str) -> Option<&'a str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        // The declarations of the open elements up to `depth` from the innermost.
        let n = self.open.len().checked_sub(depth)?;
        let end = match self.open.get(n) {
            Some(e) => e.decl_start,
            None => self.decls.len(),
        };
        self.decls[..end]
            .iter()
            .rev()
            .find(|(p, _)| *p == prefix)
            .map(|(_, u)| *u)
    }

    /// `xmlNewNs`: declares `prefix` on the innermost element unless it declares it already.
    pub(crate) fn declare(&mut self, prefix: &'a str, uri: &'a str) {
        if prefix == "xml" {
            return;
        }
        let e = self.open.last().expect("an open element");
        if !self.decls[e.decl_start..].iter().any(|(p, _)| *p == prefix) {
            if uri.contains(['&', '<']) {
                // libxml2 keeps such a URI with character references (`&#38;`) and writes it so.
                self.unfaithful = Some("a namespace URI with & or <");
            }
            self.decls.push((prefix, uri));
        }
    }

    /// libxslt's `xsltCopyNamespaceList` (a literal result element's, `literal`: without the
    /// XSLT namespace) and `xsltCopyNamespaceListInternal` (a copied input element's): copies
    /// declarations to the innermost element, skipping those already in effect there.
    pub(crate) fn copy_decls(
        &mut self,
        decls: impl IntoIterator<Item = (&'a str, &'a str)>,
        literal: bool,
    ) {
        for (p, u) in decls {
            if literal && u == super::compile::XSLT_NS {
                continue;
            }
            let e = self.open.last().expect("an open element");
            if e.ns.is_some_and(|(np, nu)| np == p && nu == u) {
                continue;
            }
            if self.search(0, p) == Some(u) {
                continue;
            }
            self.declare(p, u);
        }
    }

    /// libxslt's `xsltGetSpecialNamespace` for the innermost element: the prefix under which
    /// `uri` is bound there (declaring it when needed). With an empty `uri` and `prefix`:
    /// undeclares an inherited default namespace (`xmlns=""`) and returns None.
    pub(crate) fn special_ns(
        &mut self,
        uri: &'a str,
        prefix: &'a str,
    ) -> Result<Option<&'a str>, Fallback> {
        let n = self.open.len();
        let target = &self.open[n - 1];
        let parent = n.checked_sub(2).map(|i| &self.open[i]);
        if prefix.is_empty() && uri.is_empty() {
            if let Some((_, u)) = self.decls[target.decl_start..]
                .iter()
                .find(|(p, _)| p.is_empty())
            {
                return if u.is_empty() {
                    Ok(None)
                } else {
                    Err(Fallback("a default namespace cannot be undeclared"))
                };
            }
            if let Some(parent) = parent {
                if parent.ns.is_none() {
                    return Ok(None);
                }
                match self.search(1, "") {
                    None | Some("") => return Ok(None),
                    Some(_) => self.declare("", ""),
                }
            }
            return Ok(None);
        }
        if prefix == "xml" {
            return Ok(Some("xml"));
        }
        if let Some((_, u)) = self.decls[target.decl_start..]
            .iter()
            .find(|(p, _)| *p == prefix)
        {
            return if *u == uri {
                Ok(Some(prefix))
            } else {
                Err(Fallback("a namespace prefix bound twice on one element"))
            };
        }
        if let Some(parent) = parent {
            if let Some((pp, pu)) = parent.ns {
                if pp == prefix && pu == uri {
                    return Ok(Some(prefix));
                }
            }
            if let Some(u) = self.search(1, prefix) {
                if u == uri {
                    return Ok(Some(prefix));
                }
                if !prefix.is_empty()
                    && !target.written
                    && self.attrs[target.attr_start..]
                        .iter()
                        .any(|a| a.0 == prefix)
                {
                    return Err(Fallback("a namespace prefix in use by an attribute"));
                }
            }
        }
        self.declare(prefix, uri);
        Ok(Some(prefix))
    }

    /// Sets the innermost element's namespace (and so its prefix).
    pub(crate) fn set_ns(&mut self, prefix: Option<&'a str>, uri: &'a str) {
        let e = self.open.last_mut().expect("an open element");
        match prefix {
            Some(p) => {
                e.prefix = p;
                e.ns = Some((p, uri));
            }
            None => {
                e.prefix = "";
                e.ns = None;
            }
        }
    }

    /// Sets an attribute on the innermost element (replacing one with the same expanded name,
    /// in place).
    pub(crate) fn attribute(
        &mut self,
        prefix: &'a str,
        local: Str<'a>,
        uri: &'a str,
        value: Str<'a>,
    ) -> Result<(), Fallback> {
        let Some(e) = self.open.last_mut() else {
            return Err(Fallback("an attribute outside an element"));
        };
        if e.written || !self.captures.is_empty() {
            return Err(Fallback("an attribute added after children"));
        }
        let start = e.attr_start;
        match self.attrs[start..]
            .iter_mut()
            .find(|a| a.1 == local && a.2 == uri)
        {
            Some(a) => {
                a.0 = prefix;
                a.3 = value;
            }
            None => self.attrs.push((prefix, local, uri, value)),
        }
        Ok(())
    }

    /// Starts collecting text (for `xsl:attribute`).
    pub(crate) fn capture(&mut self) {
        self.captures.push(String::new());
    }

    /// The text collected since the matching [`Out::capture`].
    pub(crate) fn captured(&mut self) -> String {
        self.captures.pop().unwrap_or_default()
    }
}

/// The output laid out as libxml2 writes it with formatting on (`xmlNodeDumpOutputInternal`):
/// each element on a line of its own, indented two spaces per level (at most 30 levels),
/// except inside an element that has a text child, whose content is written as it is.
fn indent(out: &str, pieces: &[Piece]) -> String {
    // Which start tags have a text child.
    let mut has_text = vec![false; pieces.len()];
    let mut open: Vec<usize> = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        match p.kind {
            PieceKind::Start => open.push(i),
            PieceKind::End => {
                open.pop();
            }
            PieceKind::Text => {
                if let Some(&s) = open.last() {
                    has_text[s] = true;
                }
            }
            _ => {}
        }
    }
    let mut r = String::with_capacity(out.len() + out.len() / 4);
    let pad = |r: &mut String, level: usize| {
        for _ in 0..level.min(30) {
            r.push_str("  ");
        }
    };
    // Per open element: whether its content is laid out.
    let mut formatted: Vec<bool> = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        let text = &out[p.start..p.end];
        let level = formatted.len();
        // The root element is neither indented nor followed by a newline.
        let laid_out = formatted.last().copied().unwrap_or(false);
        match p.kind {
            PieceKind::Start => {
                if laid_out {
                    pad(&mut r, level);
                }
                r.push_str(text);
                let inner = (level == 0 || laid_out) && !has_text[i];
                if inner {
                    r.push('\n');
                }
                formatted.push(inner);
            }
            PieceKind::End => {
                let inner = formatted.pop().unwrap_or(false);
                if inner {
                    pad(&mut r, formatted.len());
                }
                r.push_str(text);
                if formatted.last().copied().unwrap_or(false) {
                    r.push('\n');
                }
            }
            PieceKind::Text => r.push_str(text),
            PieceKind::Empty | PieceKind::Other => {
                if laid_out {
                    pad(&mut r, level);
                }
                r.push_str(text);
                if laid_out {
                    r.push('\n');
                }
            }
        }
    }
    r
}

fn start_tag(
    out: &mut String,
    e: &Open<'_>,
    decls: &[(&str, &str)],
    attrs: &[Attr<'_>],
    ascii_attrs: bool,
) {
    out.push('<');
    qname(e.prefix, e.local, out);
    for (p, u) in decls {
        if p.is_empty() {
            out.push_str(" xmlns=");
        } else {
            out.push_str(" xmlns:");
            out.push_str(p);
            out.push('=');
        }
        quoted(u, out);
    }
    for (p, l, _, v) in attrs {
        out.push(' ');
        qname(p, l, out);
        out.push_str("=\"");
        escape(v, out, true, ascii_attrs);
        out.push('"');
    }
}

/// libxml2's `xmlBufWriteQuotedString` (how it writes a namespace URI): as it is, in double
/// quotes, in single quotes when it holds a double quote, and with `&quot;` for the double
/// quotes when it holds both kinds.
fn quoted(s: &str, out: &mut String) {
    if !s.contains('"') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else if !s.contains('\'') {
        out.push('\'');
        out.push_str(s);
        out.push('\'');
    } else {
        out.push('"');
        out.push_str(&s.replace('"', "&quot;"));
        out.push('"');
    }
}

fn qname(prefix: &str, local: &str, out: &mut String) {
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(local);
}

/// libxml2's escaping for text (`&`, `<`, `>`, CR) and attribute values (also `"`, LF, TAB, and
/// every non-ASCII character as a character reference when `ascii_attrs`).
fn escape(s: &str, out: &mut String, attr: bool, ascii_attrs: bool) {
    let table = match (attr, ascii_attrs) {
        (false, _) => &TEXT,
        (true, false) => &ATTR,
        (true, true) => &ATTR_ASCII,
    };
    let bytes = s.as_bytes();
    let Some(first) = bytes.iter().position(|&b| table[b as usize]) else {
        out.push_str(s);
        return;
    };
    out.push_str(&s[..first]);
    let mut start = first;
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        if !table[b as usize] {
            i += 1;
            continue;
        }
        out.push_str(&s[start..i]);
        if b >= 0x80 {
            let c = s[i..].chars().next().unwrap_or('\u{FFFD}');
            out.push_str(&format!("&#x{:X};", u32::from(c)));
            i += c.len_utf8();
            start = i;
            continue;
        }
        out.push_str(match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\r' => "&#13;",
            b'"' => "&quot;",
            b'\n' => "&#10;",
            _ => "&#9;",
        });
        i += 1;
        start = i;
    }
    out.push_str(&s[start..]);
}

/// The bytes [`escape`] replaces: in text; in attribute values; and with every non-ASCII
/// character (its first byte) too.
static TEXT: [bool; 256] = table(b"&<>\r", false);
static ATTR: [bool; 256] = table(b"&<>\r\"\n\t", false);
static ATTR_ASCII: [bool; 256] = table(b"&<>\r\"\n\t", true);

const fn table(special: &[u8], non_ascii_leads: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    if non_ascii_leads {
        // Lead bytes of multi-byte characters (continuation bytes 0x80..0xC0 are skipped
        // with their character).
        let mut b = 0xC0;
        while b < 256 {
            t[b] = true;
            b += 1;
        }
    }
    t
}
