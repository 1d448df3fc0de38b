//! One element of a document seen as the root element of a document of its own.

use std::borrow::Cow;

use crate::xpath::dom::{Dom, NodeId, NodeKind};

/// `top` of `dom` as the only child of the document node: its ancestors and siblings are out of
/// reach (`/` is the document node above `top`, `..` of `top` is that document node).
pub(crate) struct Subtree<'a, D: ?Sized> {
    pub dom: &'a D,
    pub top: NodeId,
}

const ROOT: NodeId = 0;

impl<D: Dom + ?Sized> Dom for Subtree<'_, D> {
    fn kind(&self, n: NodeId) -> NodeKind {
        self.dom.kind(n)
    }

    fn parent(&self, n: NodeId) -> Option<NodeId> {
        if n == self.top {
            Some(ROOT)
        } else {
            self.dom.parent(n)
        }
    }

    fn first_child(&self, n: NodeId) -> Option<NodeId> {
        if n == ROOT {
            Some(self.top)
        } else {
            self.dom.first_child(n)
        }
    }

    fn next_sibling(&self, n: NodeId) -> Option<NodeId> {
        if n == self.top || n == ROOT {
            None
        } else {
            self.dom.next_sibling(n)
        }
    }

    fn prev_sibling(&self, n: NodeId) -> Option<NodeId> {
        if n == self.top || n == ROOT {
            None
        } else {
            self.dom.prev_sibling(n)
        }
    }

    fn attributes(&self, n: NodeId) -> &[NodeId] {
        self.dom.attributes(n)
    }

    fn namespaces(&self, n: NodeId) -> &[NodeId] {
        self.dom.namespaces(n)
    }

    fn local_name(&self, n: NodeId) -> &str {
        self.dom.local_name(n)
    }

    fn namespace_uri(&self, n: NodeId) -> &str {
        self.dom.namespace_uri(n)
    }

    fn prefix(&self, n: NodeId) -> &str {
        self.dom.prefix(n)
    }

    fn string_value(&self, n: NodeId) -> Cow<'_, str> {
        if n == ROOT {
            self.dom.string_value(self.top)
        } else {
            self.dom.string_value(n)
        }
    }

    fn subtree_end(&self, n: NodeId) -> NodeId {
        if n == ROOT {
            self.dom.subtree_end(self.top)
        } else {
            self.dom.subtree_end(n)
        }
    }
}
