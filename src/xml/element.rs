//! XML text → a generic [`Element`] tree with positions, for configuration files: Synapse
//! artifacts, registry resources, `registry.xml` and CAR descriptors.
//!
//! This module owns the one place where artifact XML is tokenised (quick-xml's `Reader` over a
//! `&str`). It adds what quick-xml leaves to its callers:
//! - 1-based `line:col` positions (columns count characters) for every element and attribute;
//! - namespace resolution, with every element carrying all declarations in scope (`ns_scope`), so
//!   that expressions written on an element can use the prefixes declared around it;
//! - each element's exact source text (`source`), for inline XML that must be reproduced verbatim;
//! - text assembled from `Text`, `CDATA` and entity-reference events (the five predefined entities
//!   and character references; any other entity is an error).
//!
//! Lookups come in two kinds: by qualified name as written ([`Element::attr`]) and by local
//! name whatever the prefix ([`Element::attr_local`], [`Element::child_local`],
//! [`Element::children_local`]), the way Axiom's `getChildrenWithLocalName` reads CAR
//! descriptors.
//!
//! Safety: a DOCTYPE is refused (no entity expansion attacks), nesting is limited to
//! [`MAX_DEPTH`] levels, a document to [`MAX_ELEMENTS`] elements, the namespace bindings in scope
//! to [`MAX_NAMESPACES`], and the tree built to
//! [`MAX_TREE_BYTES`] of source copies and namespace scopes (each element carries both, so
//! without a bound a deep or namespace-heavy document grows quadratically once parsed).
//! Malformed XML is an error with the position where it was found.

use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use quick_xml::XmlVersion;

pub use crate::diag::Pos;

/// A generic XML element kept with positions: used for inline XML content (local entries, inline
/// property values, payload formats) and for mediators mint does not model yet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Element {
    /// Prefix as written (`""` when none).
    pub prefix: String,
    pub local: String,
    /// Resolved namespace URI (`""` when none).
    pub ns: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
    pub pos: Pos,
    /// All namespace declarations in scope at this element (own and inherited), innermost last;
    /// `("", uri)` is the default namespace. Expressions use these prefixes.
    pub ns_scope: Vec<(String, String)>,
    /// The element's exact source text, from `<` to the end of its end tag (or `/>`).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attr {
    /// Qualified name as written (`xmlns:foo`, `name`, `soapenv:mustUnderstand`).
    pub name: String,
    /// Unescaped value.
    pub value: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    /// Unescaped text (CDATA included), whitespace kept as is.
    Text(String),
    Comment(String),
}

/// Deepest element nesting accepted in one document.
pub const MAX_DEPTH: usize = 512;

/// Most elements accepted in one document, so that a document of tiny elements cannot turn into
/// a tree many times its size (a CAR with 65 536 dependencies needs about as many).
pub const MAX_ELEMENTS: usize = 250_000;

/// Most namespace bindings in scope at one element; prefixes are looked up by scanning the
/// scope, so this also bounds the work per element and per attribute.
pub const MAX_NAMESPACES: usize = 256;

/// Most bytes the tree of one document may hold in per-element copies: every element's
/// [`Element::source`] and its [`Element::ns_scope`] entries (each counted as its text plus the
/// size of the pair). Both repeat what enclosing elements hold, so they are what could grow
/// faster than the document; everything else in the tree is bounded by the document's length.
pub const MAX_TREE_BYTES: usize = 256 << 20;

/// The namespace bound to the `xml` prefix by definition.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The namespace bound to the `xmlns` prefix by definition.
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Parses one XML document and returns its root element. Comments and processing instructions
/// outside the root are ignored. On error, returns the position of the problem and a message.
pub fn parse_document(text: &str) -> Result<Element, (Pos, String)> {
    parse(text, MAX_TREE_BYTES)
}

/// [`parse_document`] with the tree bounded to `max_tree_bytes` (see [`MAX_TREE_BYTES`]).
fn parse(text: &str, max_tree_bytes: usize) -> Result<Element, (Pos, String)> {
    // A byte-order mark is not part of the document; editors do not count it as a column.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = LineIndex::new(text);
    Builder {
        text,
        lines: &lines,
        stack: Vec::new(),
        pending: String::new(),
        root: None,
        elements: 0,
        tree_bytes: 0,
        max_tree_bytes,
    }
    .run()
    .map_err(|(offset, message)| (lines.pos(offset), message))
}

impl Element {
    /// The attribute named `name` (qualified name as written), if present.
    pub fn attribute(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// The value of the attribute named `name` (qualified name as written), if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attribute(name).map(|a| a.value.as_str())
    }

    /// The value of the first attribute whose local name is `local`, whatever its prefix;
    /// namespace declarations (`xmlns`, `xmlns:*`) are not attributes here.
    pub fn attr_local(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| {
                let (prefix, name) = split_qname(&a.name);
                name == local && prefix != "xmlns" && a.name != "xmlns"
            })
            .map(|a| a.value.as_str())
    }

    /// The child elements, in document order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|node| match node {
            Node::Element(el) => Some(el),
            _ => None,
        })
    }

    /// The child elements whose local name is `local`, whatever their namespace, in document
    /// order (Axiom's `getChildrenWithLocalName`).
    pub fn children_local<'a>(&'a self, local: &'a str) -> impl Iterator<Item = &'a Element> {
        self.elements().filter(move |el| el.local == local)
    }

    /// The first child element whose local name is `local`, whatever its namespace.
    pub fn child_local(&self, local: &str) -> Option<&Element> {
        self.elements().find(|el| el.local == local)
    }

    /// The concatenated text of the direct text children (CDATA included).
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|node| match node {
                Node::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The qualified name as written (`prefix:local` or `local`).
    pub fn qname(&self) -> String {
        if self.prefix.is_empty() {
            self.local.clone()
        } else {
            format!("{}:{}", self.prefix, self.local)
        }
    }

    /// The namespace URI bound to `prefix` at this element (`""` = the default namespace).
    pub fn resolve_prefix(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        lookup(&self.ns_scope, prefix)
    }
}

/// Finds the binding of `prefix` in a scope list (innermost last).
fn lookup<'a>(scope: &'a [(String, String)], prefix: &str) -> Option<&'a str> {
    scope
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, uri)| uri.as_str())
}

/// Maps byte offsets to 1-based line and character column.
struct LineIndex<'t> {
    text: &'t str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts[line - 1];
        let col = match self.text.get(start..offset) {
            Some(prefix) => prefix.chars().count(),
            None => offset - start,
        };
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }
}

/// An element whose end tag has not been read yet.
struct Open {
    element: Element,
    /// Byte offset of its `<`.
    start: usize,
}

/// Offset-tagged error used while building; converted to a [`Pos`] at the end.
type BuildError = (usize, String);

struct Builder<'t, 'l> {
    text: &'t str,
    lines: &'l LineIndex<'t>,
    stack: Vec<Open>,
    /// Text read since the last markup, not yet attached to an element.
    pending: String,
    root: Option<Element>,
    /// Elements opened so far.
    elements: usize,
    /// Bytes charged against `max_tree_bytes` so far.
    tree_bytes: usize,
    /// [`MAX_TREE_BYTES`], or less in tests.
    max_tree_bytes: usize,
}

impl<'t> Builder<'t, '_> {
    fn run(mut self) -> Result<Element, BuildError> {
        let mut reader = Reader::from_str(self.text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);

        loop {
            let offset = to_usize(reader.buffer_position());
            let event = reader
                .read_event()
                .map_err(|e| (to_usize(reader.error_position()), e.to_string()))?;
            let end = to_usize(reader.buffer_position());
            match event {
                Event::Start(start) => {
                    self.flush_text(offset)?;
                    let element = self.open(&start, offset)?;
                    self.stack.push(Open {
                        element,
                        start: offset,
                    });
                }
                Event::Empty(start) => {
                    self.flush_text(offset)?;
                    let mut element = self.open(&start, offset)?;
                    element.source = self.source(offset, end)?;
                    self.close(element);
                }
                Event::End(_) => {
                    self.flush_text(offset)?;
                    // quick-xml has checked that the end tag matches the innermost open element.
                    if let Some(open) = self.stack.pop() {
                        let mut element = open.element;
                        element.source = self.source(open.start, end)?;
                        self.close(element);
                    }
                }
                Event::Text(text) => self.pending.push_str(&text.xml10_content()),
                Event::CData(cdata) => self.pending.push_str(&cdata.xml10_content()),
                Event::GeneralRef(reference) => {
                    let resolved = if reference.is_char_ref() {
                        match reference.resolve_char_ref() {
                            Ok(Some(ch)) => ch,
                            _ => {
                                return Err((
                                    offset,
                                    format!("invalid character reference '&{};'", &*reference),
                                ))
                            }
                        }
                    } else {
                        predefined_entity(&reference).ok_or_else(|| {
                            (offset, format!("undefined entity '&{};'", &*reference))
                        })?
                    };
                    self.pending.push(resolved);
                }
                Event::Comment(comment) => {
                    self.flush_text(offset)?;
                    if let Some(open) = self.stack.last_mut() {
                        let content = comment.xml10_content().into_owned();
                        open.element.children.push(Node::Comment(content));
                    }
                }
                Event::DocType(_) => return Err((offset, "DOCTYPE is not allowed".to_string())),
                Event::Decl(_) | Event::PI(_) => self.flush_text(offset)?,
                Event::Eof => {
                    self.flush_text(offset)?;
                    if let Some(open) = self.stack.last() {
                        return Err((
                            open.start,
                            format!("element <{}> is not closed", open.element.qname()),
                        ));
                    }
                    return self
                        .root
                        .ok_or_else(|| (offset, "document has no root element".to_string()));
                }
            }
        }
    }

    /// Attaches pending text to the innermost open element; outside the root only whitespace
    /// is allowed.
    fn flush_text(&mut self, offset: usize) -> Result<(), BuildError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let text = std::mem::take(&mut self.pending);
        match self.stack.last_mut() {
            Some(open) => open.element.children.push(Node::Text(text)),
            None if text.trim().is_empty() => {}
            None => {
                let content_offset = offset.saturating_sub(text.len());
                return Err((
                    content_offset,
                    "text is not allowed outside the root element".to_string(),
                ));
            }
        }
        Ok(())
    }

    /// Builds the element for a start (or empty) tag at `offset`: name, namespaces, attributes.
    fn open(&mut self, start: &BytesStart<'_>, offset: usize) -> Result<Element, BuildError> {
        if self.root.is_some() && self.stack.is_empty() {
            return Err((offset, "only one root element is allowed".to_string()));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err((
                offset,
                format!("elements are nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err((offset, format!("more than {MAX_ELEMENTS} elements")));
        }

        let mut attrs = Vec::new();
        let mut declared: Vec<(String, String)> = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| self.attr_error(&e, offset))?;
            let name = attr.key.0;
            let attr_offset = offset_in(self.text, name).unwrap_or(offset);
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| {
                    (
                        attr_offset,
                        format!("invalid value of attribute '{name}': {e}"),
                    )
                })?
                .into_owned();
            if name == "xmlns" {
                declared.push((String::new(), value.clone()));
            } else if let Some(prefix) = name.strip_prefix("xmlns:") {
                if value.is_empty() {
                    return Err((
                        attr_offset,
                        format!("namespace prefix '{prefix}' cannot be bound to an empty URI"),
                    ));
                }
                declared.push((prefix.to_string(), value.clone()));
            }
            attrs.push(Attr {
                name: name.to_string(),
                value,
                pos: self.lines.pos(attr_offset),
            });
        }

        let mut ns_scope = self
            .stack
            .last()
            .map(|open| open.element.ns_scope.clone())
            .unwrap_or_default();
        if declared.len() > MAX_NAMESPACES {
            return Err((offset, too_many_namespaces()));
        }
        for (prefix, uri) in declared {
            ns_scope.retain(|(p, _)| *p != prefix);
            // `xmlns=""` removes the default namespace rather than binding it to "".
            if !(prefix.is_empty() && uri.is_empty()) {
                ns_scope.push((prefix, uri));
            }
        }
        if ns_scope.len() > MAX_NAMESPACES {
            return Err((offset, too_many_namespaces()));
        }
        let scope_bytes = ns_scope
            .iter()
            .map(|(prefix, uri)| size_of::<(String, String)>() + prefix.len() + uri.len())
            .sum();
        self.charge(scope_bytes, offset)?;

        let qname = start.name().0;
        let (prefix, local) = split_qname(qname);
        let ns = resolve(&ns_scope, prefix).ok_or_else(|| {
            (
                offset,
                format!("namespace prefix '{prefix}' of <{qname}> is not declared"),
            )
        })?;
        for attr in &attrs {
            let (attr_prefix, _) = split_qname(&attr.name);
            if !attr_prefix.is_empty()
                && attr_prefix != "xmlns"
                && resolve(&ns_scope, attr_prefix).is_none()
            {
                return Err((
                    offset_in(self.text, &attr.name).unwrap_or(offset),
                    format!(
                        "namespace prefix '{attr_prefix}' of attribute '{}' is not declared",
                        attr.name
                    ),
                ));
            }
        }

        Ok(Element {
            prefix: prefix.to_string(),
            local: local.to_string(),
            ns: ns.to_string(),
            attrs,
            children: Vec::new(),
            pos: self.lines.pos(offset),
            ns_scope,
            source: String::new(),
        })
    }

    /// Turns an attribute syntax error (positions relative to the tag content) into a message at
    /// the offending place.
    fn attr_error(&self, error: &AttrError, tag_offset: usize) -> BuildError {
        let at = |relative: usize| tag_offset + 1 + relative;
        match *error {
            AttrError::ExpectedEq(p) => (at(p), "attribute name must be followed by '='".into()),
            AttrError::ExpectedValue(p) => (at(p), "'=' must be followed by a quoted value".into()),
            AttrError::UnquotedValue(p) => (at(p), "attribute value must be quoted".into()),
            AttrError::ExpectedQuote(p, _) => (at(p), "attribute value is not closed".into()),
            AttrError::Duplicated(p, _) => {
                let rest = self.text.get(at(p)..).unwrap_or_default();
                let name: String = rest
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '=')
                    .collect();
                (at(p), format!("attribute '{name}' is given twice"))
            }
        }
    }

    /// Attaches a finished element to its parent, or makes it the root.
    fn close(&mut self, element: Element) {
        match self.stack.last_mut() {
            Some(parent) => parent.element.children.push(Node::Element(element)),
            None => self.root = Some(element),
        }
    }

    /// The source text of the element at `start..end`, charged against [`MAX_TREE_BYTES`].
    fn source(&mut self, start: usize, end: usize) -> Result<String, BuildError> {
        let text = self.text.get(start..end).unwrap_or_default();
        self.charge(text.len(), start)?;
        Ok(text.to_string())
    }

    /// Adds `bytes` to the tree's size; past the bound the document is refused at `offset`
    /// (the element being built).
    fn charge(&mut self, bytes: usize, offset: usize) -> Result<(), BuildError> {
        self.tree_bytes = self.tree_bytes.saturating_add(bytes);
        if self.tree_bytes > self.max_tree_bytes {
            let limit = self.max_tree_bytes;
            return Err((
                offset,
                format!(
                    "the document is too large once parsed: its elements' source copies and \
                     namespace scopes exceed {limit} bytes"
                ),
            ));
        }
        Ok(())
    }
}

/// Resolves an element prefix (`""` = default namespace, which may be unbound = no namespace).
fn resolve<'a>(scope: &'a [(String, String)], prefix: &str) -> Option<&'a str> {
    match prefix {
        "" => Some(lookup(scope, "").unwrap_or("")),
        "xml" => Some(XML_NS),
        "xmlns" => Some(XMLNS_NS),
        _ => lookup(scope, prefix),
    }
}

fn too_many_namespaces() -> String {
    format!("more than {MAX_NAMESPACES} namespace prefixes are in scope")
}

fn split_qname(qname: &str) -> (&str, &str) {
    qname.split_once(':').unwrap_or(("", qname))
}

fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

/// Byte offset of `inner` within `outer`, when `inner` is a sub-slice of it.
fn offset_in(outer: &str, inner: &str) -> Option<usize> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (start + inner.len() <= outer.len()).then_some(start)
}

fn to_usize(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (u32, u32, String) {
        let (pos, message) = parse_document(text).unwrap_err();
        (pos.line, pos.col, message)
    }

    #[test]
    fn local_name_lookups_ignore_prefixes_and_namespace_declarations() {
        let root = parse_document(
            "<c:r xmlns:c=\"urn:c\" xmlns:name=\"urn:n\" c:name=\"a\" name=\"b\">\
             <c:x>1</c:x><x>2</x><y/><x xmlns=\"urn:d\">3</x></c:r>",
        )
        .unwrap();
        assert_eq!(
            root.attr_local("name"),
            Some("a"),
            "first match, prefix ignored"
        );
        assert_eq!(root.attr("name"), Some("b"));
        assert_eq!(root.attr_local("c"), None, "xmlns:c is a declaration");
        assert_eq!(root.attr_local("xmlns"), None);
        let xs: Vec<String> = root.children_local("x").map(Element::text).collect();
        assert_eq!(xs, ["1", "2", "3"]);
        assert_eq!(root.child_local("x").map(|x| x.ns.as_str()), Some("urn:c"));
        assert!(root.child_local("z").is_none());
    }

    #[test]
    fn text_joins_text_cdata_and_references_across_comments() {
        let root = parse_document("<r>a&lt;<!-- c --><![CDATA[&]]>&#65;<x>no</x>b</r>").unwrap();
        assert_eq!(root.text(), "a<&Ab");
    }

    #[test]
    fn more_than_max_elements_is_refused_at_the_first_one_too_many() {
        // The column shows that the element before the refused one, the 250 000th, was taken.
        let over = format!("<r>{}</r>", "<a/>".repeat(MAX_ELEMENTS));
        let col = u32::try_from(4 + 4 * (MAX_ELEMENTS - 1)).unwrap();
        assert_eq!(
            err(&over),
            (1, col, "more than 250000 elements".to_string())
        );
    }

    #[test]
    fn more_than_max_namespaces_in_scope_is_refused() {
        let decls = |n: usize| -> String { (0..n).map(|i| format!(" xmlns:p{i}=\"u\"")).collect() };
        assert!(parse_document(&format!("<r{}><x/></r>", decls(MAX_NAMESPACES))).is_ok());
        let message = "more than 256 namespace prefixes are in scope".to_string();
        let on_one = format!("<r{}/>", decls(MAX_NAMESPACES + 1));
        assert_eq!(err(&on_one), (1, 1, message.clone()));
        let inherited = format!("<r{}>\n<x xmlns:q=\"v\"/></r>", decls(MAX_NAMESPACES));
        assert_eq!(err(&inherited), (2, 1, message));
    }

    #[test]
    fn a_tree_quadratic_in_the_document_is_refused() {
        // Each child copies the root's scope: 100 bindings of 1 KiB URIs, 100 children (~10 MiB).
        let uri = "u".repeat(1024);
        let decls: String = (0..100).map(|i| format!(" xmlns:p{i}=\"{uri}\"")).collect();
        let wide = format!("<r{decls}>{}</r>", "<a/>".repeat(100));
        let (pos, message) = parse(&wide, 1 << 20).unwrap_err();
        assert!(message.contains("exceed 1048576 bytes"), "{message}");
        assert!(pos.col > 1, "refused at a child, not at the root: {pos:?}");

        // Each element copies its source: 50 levels around 100 KiB of text (~5 MiB).
        let deep = format!(
            "{}{}{}",
            "<a>".repeat(50),
            "x".repeat(100 << 10),
            "</a>".repeat(50)
        );
        let (_, message) = parse(&deep, 1 << 20).unwrap_err();
        assert!(message.contains("source copies"), "{message}");

        assert!(parse(&wide, 64 << 20).is_ok());
        assert!(parse(&deep, 64 << 20).is_ok());
    }
}
