//! The arena tree of one parsed body: [`Document`], its read API for mediators, and the
//! [`Dom`] implementation the XPath engine evaluates over.
//!
//! Layout: every node is a [`Node`] in one `Vec`, indexed by its `NodeId` in document order (the
//! document node 0; then each element followed by its own namespace nodes, its attribute nodes,
//! then its children). Names, attribute values, text, comments and PI data are [`Span`]s: byte
//! ranges into the original `Bytes`, or — only when the text needed unescaping, end-of-line
//! normalization or joining (text + CDATA) — ranges into one owned side `String`.
//!
//! Namespace nodes are created once per declaration and shared by every element in its scope;
//! each element's in-scope list is a slice of `ns_lists` (an element that declares nothing shares
//! its parent's slice). The implicit `xml` namespace node sits right after the document element.
//!
//! Must not: parse (that is `parse/`), mutate after construction (edits are an overlay, see
//! `write.rs`), or copy names/values that need no unescaping.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::xpath::dom::{Dom, NodeId, NodeKind};

/// "No node" in link fields.
pub(crate) const NONE: u32 = u32::MAX;
/// Flag bit in [`Span::len`]: the span indexes the owned side buffer, not the source.
const OWNED: u32 = 1 << 31;

/// A string of the document: `len` bytes at `start` in the source buffer, or in the owned side
/// buffer when the [`OWNED`] bit of `len` is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Span {
    pub(crate) const EMPTY: Span = Span { start: 0, len: 0 };

    pub(crate) fn src(start: usize, len: usize) -> Span {
        // Parsing refuses buffers of 2 GiB or more, so both fit without the flag bit.
        Span {
            start: start as u32,
            len: len as u32,
        }
    }

    pub(crate) fn owned(start: usize, len: usize) -> Span {
        Span {
            start: start as u32,
            len: (len as u32) | OWNED,
        }
    }

    pub(crate) fn is_owned(self) -> bool {
        self.len & OWNED != 0
    }

    pub(crate) fn byte_len(self) -> usize {
        (self.len & !OWNED) as usize
    }
}

/// One node of the arena.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    /// Qualified name (element, attribute), PI target, or prefix (namespace node).
    pub(crate) name: Span,
    /// Text / comment / PI data / attribute value / namespace URI. Unused for elements.
    pub(crate) value: Span,
    /// Raw bytes of the node in the source (element: start tag to end tag; attribute:
    /// `name="value"`; namespace node: its `xmlns` declaration).
    pub(crate) src_start: u32,
    pub(crate) src_end: u32,
    pub(crate) parent: u32,
    pub(crate) next: u32,
    pub(crate) prev: u32,
    /// Last id of the subtree (the node itself for leaves).
    pub(crate) end: u32,
    /// Namespace node binding this element's/attribute's namespace, or [`NONE`].
    pub(crate) ns: u32,
    /// Root and elements: index into `Document::elems`.
    pub(crate) aux: u32,
    /// Offset of the local part in `name` (0, or prefix length + 1).
    pub(crate) local_off: u32,
    pub(crate) kind: NodeKind,
}

/// Extra data of the document node and of elements.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Elem {
    pub(crate) first_child: u32,
    pub(crate) last_child: u32,
    pub(crate) attr_start: u32,
    pub(crate) attr_len: u32,
    pub(crate) ns_start: u32,
    pub(crate) ns_len: u32,
    /// Namespace nodes declared by this element: ids `n + 1 ..= n + own_ns`.
    pub(crate) own_ns: u32,
    /// Offset just past the `>` of the start tag.
    pub(crate) tag_end: u32,
    /// Written as an empty-element tag (`<x/>`).
    pub(crate) empty: bool,
    /// Carries `xmlns=""`.
    pub(crate) undeclares_default: bool,
}

/// Limits applied while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Maximum element nesting depth. Default: 512.
    pub max_depth: usize,
    /// Maximum number of nodes (elements, attributes, text, comments, PIs, namespace nodes and
    /// in-scope namespace list entries). Default: 4,194,304.
    pub max_nodes: usize,
    /// Maximum attributes (including `xmlns` declarations) on one element. Default: 1,024.
    pub max_attributes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_depth: 512,
            max_nodes: 1 << 22,
            max_attributes: 1024,
        }
    }
}

/// One parsed XML document borrowing from its source `Bytes`.
///
/// Node ids are `u32` arena indices in document order; id 0 is the document node. Ids given to
/// the methods below must come from this document: an unknown id inside the arena's range is
/// another node, and one past it stands for the document node (past the arena are only the
/// namespace axis's per-element namespace nodes).
#[derive(Debug, Clone)]
pub struct Document {
    pub(crate) src: Bytes,
    pub(crate) nodes: Vec<Node>,
    pub(crate) elems: Vec<Elem>,
    pub(crate) attr_ids: Vec<NodeId>,
    pub(crate) ns_lists: Vec<NodeId>,
    pub(crate) strs: String,
    pub(crate) root_elem: NodeId,
    pub(crate) has_default_undecl: bool,
    /// Each element's own namespace nodes, built when the namespace axis is first used.
    pub(crate) ns_axis: OnceLock<NsAxis>,
}

/// XPath gives every element its own namespace node per prefix in scope, where the tree keeps
/// one node per declaration, shared by the elements in its scope. The namespace axis hands out
/// ids past the arena instead, one per (element, declaration): `count(//namespace::*)` counts
/// them per element and their parent is the element. Everywhere else such an id stands for its
/// declaration's node ([`Document::node`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct NsAxis {
    /// The first id past the arena.
    base: u32,
    /// Per element (by its `elems` index): its range in `ids`.
    ranges: Vec<(u32, u32)>,
    ids: Vec<NodeId>,
    /// Per id from `base`: the element and the declaration's node.
    owners: Vec<(NodeId, NodeId)>,
}

/// Iterator over the children of a node (see [`Document::children`]).
#[derive(Debug, Clone)]
pub struct Children<'d> {
    doc: &'d Document,
    next: u32,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        if self.next == NONE {
            return None;
        }
        let n = self.next;
        self.next = self.doc.node(n).next;
        Some(n)
    }
}

impl Document {
    /// The source buffer the document was parsed from (unchanged).
    pub fn source(&self) -> &Bytes {
        &self.src
    }

    /// Gives the source buffer back, dropping the tree.
    pub fn into_source(self) -> Bytes {
        self.src
    }

    /// Number of nodes in the arena (ids are `0..node_count()`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The document element.
    pub fn root_element(&self) -> NodeId {
        self.root_elem
    }

    /// The kind of node `n`.
    pub fn kind(&self, n: NodeId) -> NodeKind {
        self.node(n).kind
    }

    /// Parent of `n` (the owning element for attributes and namespace nodes), `None` for the
    /// document node.
    pub fn parent(&self, n: NodeId) -> Option<NodeId> {
        match self.ns_owner(n) {
            Some((element, _)) => Some(element),
            None => some(self.node(n).parent),
        }
    }

    /// Children of the document node or of an element, in order (elements, text, comments,
    /// PIs). Empty for other nodes.
    pub fn children(&self, n: NodeId) -> Children<'_> {
        let next = match self.elem(n) {
            Some(e) => e.first_child,
            None => NONE,
        };
        Children { doc: self, next }
    }

    /// Child elements of `n`, in order.
    pub fn child_elements(&self, n: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.children(n)
            .filter(move |&c| self.node(c).kind == NodeKind::Element)
    }

    /// The first child element of `n` with namespace URI `ns` (`""` for none) and local name
    /// `local`.
    pub fn child_element(&self, n: NodeId, ns: &str, local: &str) -> Option<NodeId> {
        self.child_elements(n).find(|&c| self.is(c, ns, local))
    }

    /// True when `n` is an element with namespace URI `ns` and local name `local`.
    pub fn is(&self, n: NodeId, ns: &str, local: &str) -> bool {
        self.node(n).kind == NodeKind::Element && self.local(n) == local && self.ns(n) == ns
    }

    /// Qualified name as written (`soapenv:Body`); PI target; prefix of a namespace node.
    pub fn name(&self, n: NodeId) -> &str {
        self.str(self.node(n).name)
    }

    /// Local name of an element or attribute (PI target, prefix of a namespace node).
    pub fn local(&self, n: NodeId) -> &str {
        let node = self.node(n);
        let name = self.str(node.name);
        name.get(node.local_off as usize..).unwrap_or("")
    }

    /// Prefix of an element or attribute as written (`""` when unprefixed).
    pub fn prefix(&self, n: NodeId) -> &str {
        let node = self.node(n);
        if node.local_off == 0 || !matches!(node.kind, NodeKind::Element | NodeKind::Attribute) {
            return "";
        }
        let name = self.str(node.name);
        name.get(..node.local_off as usize - 1).unwrap_or("")
    }

    /// Namespace URI of an element or attribute (`""` when none).
    pub fn ns(&self, n: NodeId) -> &str {
        let node = self.node(n);
        if node.ns == NONE || !matches!(node.kind, NodeKind::Element | NodeKind::Attribute) {
            return "";
        }
        self.str(self.node(node.ns).value)
    }

    /// The value of a text, attribute, comment, PI or namespace node (unescaped); `""` for
    /// elements and the document node (use [`Document::text_content`] for those).
    pub fn value(&self, n: NodeId) -> &str {
        self.str(self.node(n).value)
    }

    /// Attribute nodes of an element, in document order (no `xmlns` declarations).
    pub fn attribute_nodes(&self, n: NodeId) -> &[NodeId] {
        match self.elem(n) {
            Some(e) => {
                let s = e.attr_start as usize;
                &self.attr_ids[s..s + e.attr_len as usize]
            }
            None => &[],
        }
    }

    /// The attribute node of element `n` with namespace `ns` (`""` for unprefixed attributes)
    /// and local name `local`.
    pub fn attribute_node(&self, n: NodeId, ns: &str, local: &str) -> Option<NodeId> {
        self.attribute_nodes(n)
            .iter()
            .copied()
            .find(|&a| self.local(a) == local && self.ns(a) == ns)
    }

    /// The value of the attribute of element `n` with namespace `ns` and local name `local`.
    pub fn attribute(&self, n: NodeId, ns: &str, local: &str) -> Option<&str> {
        self.attribute_node(n, ns, local).map(|a| self.value(a))
    }

    /// XPath string-value: concatenated descendant text for the document node and elements
    /// (borrowed when it is one text node), the value for other nodes.
    pub fn text_content(&self, n: NodeId) -> Cow<'_, str> {
        let node = self.node(n);
        if !matches!(node.kind, NodeKind::Element | NodeKind::Root) {
            return Cow::Borrowed(self.str(node.value));
        }
        let mut texts = (n + 1..=node.end).filter(|&i| self.node(i).kind == NodeKind::Text);
        let Some(first) = texts.next() else {
            return Cow::Borrowed("");
        };
        let Some(second) = texts.next() else {
            return Cow::Borrowed(self.value(first));
        };
        let mut s = String::from(self.value(first));
        s.push_str(self.value(second));
        for t in texts {
            s.push_str(self.value(t));
        }
        Cow::Owned(s)
    }

    /// Byte range of node `n` in the source: an element from `<` of its start tag to past `>`
    /// of its end tag; text with its references/CDATA markup as written; an attribute as
    /// `name="value"`; the whole buffer for the document node.
    pub fn source_range(&self, n: NodeId) -> Range<usize> {
        let node = self.node(n);
        node.src_start as usize..node.src_end as usize
    }

    /// The bytes of [`Document::source_range`] as a zero-copy slice of the source. The markup
    /// is as written: prefixes declared on ancestors are not declared in it (use
    /// [`Document::standalone_bytes`] for a self-contained copy).
    pub fn source_slice(&self, n: NodeId) -> Bytes {
        self.src.slice(self.source_range(n))
    }

    /// The arena node of `n`; for an element's own namespace node, its declaration's node.
    #[inline]
    pub(crate) fn node(&self, n: NodeId) -> &Node {
        match self.nodes.get(n as usize) {
            Some(node) => node,
            None => &self.nodes[self.ns_owner(n).map_or(0, |(_, decl)| decl) as usize],
        }
    }

    /// The element and declaration node of an element's own namespace node.
    fn ns_owner(&self, n: NodeId) -> Option<(NodeId, NodeId)> {
        let axis = self.ns_axis.get()?;
        axis.owners.get(n.checked_sub(axis.base)? as usize).copied()
    }

    fn ns_axis(&self) -> &NsAxis {
        self.ns_axis.get_or_init(|| {
            let mut axis = NsAxis {
                base: self.nodes.len() as u32,
                ranges: vec![(0, 0); self.elems.len()],
                ..NsAxis::default()
            };
            for (n, node) in self.nodes.iter().enumerate() {
                if node.kind != NodeKind::Element {
                    continue;
                }
                let start = axis.ids.len() as u32;
                for &decl in self.ns_list(n as NodeId) {
                    let Some(id) = axis.base.checked_add(axis.owners.len() as u32) else {
                        break;
                    };
                    if id == NONE {
                        break;
                    }
                    axis.owners.push((n as NodeId, decl));
                    axis.ids.push(id);
                }
                axis.ranges[node.aux as usize] = (start, axis.ids.len() as u32 - start);
            }
            axis
        })
    }

    pub(crate) fn elem(&self, n: NodeId) -> Option<&Elem> {
        let node = self.node(n);
        match node.kind {
            NodeKind::Element | NodeKind::Root => Some(&self.elems[node.aux as usize]),
            _ => None,
        }
    }

    /// In-scope namespace nodes of an element.
    pub(crate) fn ns_list(&self, n: NodeId) -> &[NodeId] {
        match self.elem(n) {
            Some(e) => {
                let s = e.ns_start as usize;
                &self.ns_lists[s..s + e.ns_len as usize]
            }
            None => &[],
        }
    }

    /// The namespace node binding `prefix` (`""`: default namespace) in scope at element `n`.
    pub(crate) fn lookup_ns(&self, n: NodeId, prefix: &str) -> Option<NodeId> {
        self.ns_list(n)
            .iter()
            .copied()
            .find(|&b| self.str(self.node(b).name) == prefix)
    }

    pub(crate) fn src_bytes(&self, start: u32, end: u32) -> &[u8] {
        self.src.get(start as usize..end as usize).unwrap_or(&[])
    }

    /// The text of a span.
    pub(crate) fn str(&self, s: Span) -> &str {
        let start = s.start as usize;
        let end = start + s.byte_len();
        if s.is_owned() {
            return self.strs.get(start..end).unwrap_or("");
        }
        let bytes = self.src.get(start..end).unwrap_or(&[]);
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: source spans are only created by the parser from `&str` slices that quick-xml
        // handed out after UTF-8 validation (or from sub-slices split at ASCII bytes), so they
        // cover valid UTF-8 and start/end on character boundaries. The buffer is immutable.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

fn some(id: u32) -> Option<NodeId> {
    (id != NONE).then_some(id)
}

impl Dom for Document {
    fn kind(&self, n: NodeId) -> NodeKind {
        self.node(n).kind
    }

    fn parent(&self, n: NodeId) -> Option<NodeId> {
        Document::parent(self, n)
    }

    fn first_child(&self, n: NodeId) -> Option<NodeId> {
        self.elem(n).and_then(|e| some(e.first_child))
    }

    fn next_sibling(&self, n: NodeId) -> Option<NodeId> {
        self.nodes.get(n as usize).and_then(|node| some(node.next))
    }

    fn prev_sibling(&self, n: NodeId) -> Option<NodeId> {
        self.nodes.get(n as usize).and_then(|node| some(node.prev))
    }

    fn attributes(&self, n: NodeId) -> &[NodeId] {
        self.attribute_nodes(n)
    }

    fn namespaces(&self, n: NodeId) -> &[NodeId] {
        match self.nodes.get(n as usize) {
            Some(node) if node.kind == NodeKind::Element => {
                let axis = self.ns_axis();
                let (start, len) = axis.ranges[node.aux as usize];
                &axis.ids[start as usize..(start + len) as usize]
            }
            _ => &[],
        }
    }

    fn local_name(&self, n: NodeId) -> &str {
        match self.node(n).kind {
            NodeKind::Element | NodeKind::Attribute | NodeKind::ProcessingInstruction => {
                self.local(n)
            }
            NodeKind::Namespace => self.name(n),
            _ => "",
        }
    }

    fn namespace_uri(&self, n: NodeId) -> &str {
        self.ns(n)
    }

    fn prefix(&self, n: NodeId) -> &str {
        Document::prefix(self, n)
    }

    fn string_value(&self, n: NodeId) -> Cow<'_, str> {
        self.text_content(n)
    }

    fn subtree_end(&self, n: NodeId) -> NodeId {
        match self.nodes.get(n as usize) {
            Some(node) => node.end,
            None => n,
        }
    }
}
