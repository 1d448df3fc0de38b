//! The document model XPath evaluates over. the xml module's arena tree implements it; tests may
//! implement it over anything else. Node ids are arena indices in **document order**: for any two
//! nodes, `a < b` exactly when `a` comes before `b` in document order (an element's namespace and
//! attribute nodes come right after the element and before its children, as XPath 1.0 requires).

use std::borrow::Cow;

/// A node of the document (an arena index; see the module docs for the ordering guarantee).
pub type NodeId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// The document (root) node; its id is always 0.
    Root,
    Element,
    Attribute,
    Text,
    Comment,
    ProcessingInstruction,
    Namespace,
}

/// Read access to one parsed document.
pub trait Dom {
    fn kind(&self, n: NodeId) -> NodeKind;
    /// Parent: the element for attributes and namespace nodes; None for the root.
    fn parent(&self, n: NodeId) -> Option<NodeId>;
    /// First child (elements, text, comments, PIs; never attributes/namespaces).
    fn first_child(&self, n: NodeId) -> Option<NodeId>;
    fn next_sibling(&self, n: NodeId) -> Option<NodeId>;
    fn prev_sibling(&self, n: NodeId) -> Option<NodeId>;
    /// Attribute nodes of an element, in document order (namespace declarations excluded).
    fn attributes(&self, n: NodeId) -> &[NodeId];
    /// Namespace nodes of an element: its own, one per prefix in scope (including the implicit
    /// `xml` one), with the element as `parent`. Exception to the ordering rule: their ids need
    /// not sit between the element and its children (the tree numbers them past its arena).
    fn namespaces(&self, n: NodeId) -> &[NodeId];
    /// Local name (element, attribute; PI target; namespace prefix for namespace nodes).
    fn local_name(&self, n: NodeId) -> &str;
    /// Namespace URI of an element or attribute (`""` when none).
    fn namespace_uri(&self, n: NodeId) -> &str;
    /// Prefix as written (`""` when none).
    fn prefix(&self, n: NodeId) -> &str;
    /// XPath string-value: concatenated descendant text for root/element, the value for
    /// attribute/text/comment/PI/namespace nodes.
    fn string_value(&self, n: NodeId) -> Cow<'_, str>;
    /// The last node id in the subtree rooted at `n` (children and descendants, with their
    /// attributes), so that `n..=subtree_end(n)` is the subtree. For non-element nodes, `n`.
    fn subtree_end(&self, n: NodeId) -> NodeId;
}
