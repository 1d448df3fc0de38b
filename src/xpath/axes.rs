//! The 13 axes (spec §2.2) and node tests (§2.3) over a [`Dom`].
//!
//! Each axis is walked without allocating (except `preceding`, which buffers one sibling
//! subtree at a time to reverse it), in *axis order*: document order for forward axes,
//! nearest-first for reverse ones. The visitor returns `false` to stop early.

use super::ast::{Axis, NodeTest};
use super::dom::{Dom, NodeId, NodeKind};

/// Calls `f` on every node of `axis` from `n`, in axis order, until `f` returns `false`.
/// Returns `false` when stopped early.
pub(crate) fn walk<D: Dom + ?Sized>(
    dom: &D,
    n: NodeId,
    axis: Axis,
    f: &mut impl FnMut(NodeId) -> bool,
) -> bool {
    let attr_like = matches!(dom.kind(n), NodeKind::Attribute | NodeKind::Namespace);
    match axis {
        Axis::SelfNode => f(n),
        Axis::Child => {
            if attr_like {
                return true;
            }
            siblings_from(dom, dom.first_child(n), f, D::next_sibling)
        }
        Axis::Descendant => !attr_like && descendants(dom, n, f),
        Axis::DescendantOrSelf => f(n) && (attr_like || descendants(dom, n, f)),
        Axis::Parent => dom.parent(n).is_none_or(&mut *f),
        Axis::Ancestor => ancestors(dom, dom.parent(n), f),
        Axis::AncestorOrSelf => f(n) && ancestors(dom, dom.parent(n), f),
        Axis::FollowingSibling => {
            attr_like || siblings_from(dom, dom.next_sibling(n), f, D::next_sibling)
        }
        Axis::PrecedingSibling => {
            attr_like || siblings_from(dom, dom.prev_sibling(n), f, D::prev_sibling)
        }
        Axis::Following => following(dom, n, attr_like, f),
        Axis::Preceding => preceding(dom, n, attr_like, f),
        Axis::Attribute => {
            dom.kind(n) != NodeKind::Element || dom.attributes(n).iter().all(|&a| f(a))
        }
        Axis::Namespace => {
            dom.kind(n) != NodeKind::Element || dom.namespaces(n).iter().all(|&a| f(a))
        }
    }
}

fn siblings_from<D: Dom + ?Sized>(
    dom: &D,
    mut cur: Option<NodeId>,
    f: &mut impl FnMut(NodeId) -> bool,
    next: fn(&D, NodeId) -> Option<NodeId>,
) -> bool {
    while let Some(c) = cur {
        if !f(c) {
            return false;
        }
        cur = next(dom, c);
    }
    true
}

fn ancestors<D: Dom + ?Sized>(
    dom: &D,
    mut cur: Option<NodeId>,
    f: &mut impl FnMut(NodeId) -> bool,
) -> bool {
    while let Some(c) = cur {
        if !f(c) {
            return false;
        }
        cur = dom.parent(c);
    }
    true
}

/// Pre-order walk of the descendants of `n` (excluding `n`).
pub(crate) fn descendants<D: Dom + ?Sized>(
    dom: &D,
    n: NodeId,
    f: &mut impl FnMut(NodeId) -> bool,
) -> bool {
    let Some(mut cur) = dom.first_child(n) else {
        return true;
    };
    loop {
        if !f(cur) {
            return false;
        }
        if let Some(c) = dom.first_child(cur) {
            cur = c;
            continue;
        }
        loop {
            if let Some(s) = dom.next_sibling(cur) {
                cur = s;
                break;
            }
            match dom.parent(cur) {
                Some(p) if p != n => cur = p,
                _ => return true,
            }
        }
    }
}

fn following<D: Dom + ?Sized>(
    dom: &D,
    n: NodeId,
    attr_like: bool,
    f: &mut impl FnMut(NodeId) -> bool,
) -> bool {
    let mut m = n;
    if attr_like {
        // Like Jaxen (Synapse's engine) and libxml2, start after the owner element: its
        // children are not on an attribute's following axis.
        match dom.parent(n) {
            Some(p) => m = p,
            None => return true,
        }
    }
    loop {
        let mut s = dom.next_sibling(m);
        while let Some(x) = s {
            if !f(x) || !descendants(dom, x, f) {
                return false;
            }
            s = dom.next_sibling(x);
        }
        match dom.parent(m) {
            Some(p) => m = p,
            None => return true,
        }
    }
}

fn preceding<D: Dom + ?Sized>(
    dom: &D,
    n: NodeId,
    attr_like: bool,
    f: &mut impl FnMut(NodeId) -> bool,
) -> bool {
    let mut m = n;
    if attr_like {
        // The owner element is an ancestor, hence excluded; start from it.
        match dom.parent(n) {
            Some(p) => m = p,
            None => return true,
        }
    }
    let mut buf = Vec::new();
    loop {
        let mut s = dom.prev_sibling(m);
        while let Some(x) = s {
            buf.clear();
            buf.push(x);
            descendants(dom, x, &mut |d| {
                buf.push(d);
                true
            });
            if !buf.iter().rev().all(|&d| f(d)) {
                return false;
            }
            s = dom.prev_sibling(x);
        }
        match dom.parent(m) {
            Some(p) => m = p,
            None => return true,
        }
    }
}

/// The principal node type of an axis (§2.3).
fn principal(axis: Axis) -> NodeKind {
    match axis {
        Axis::Attribute => NodeKind::Attribute,
        Axis::Namespace => NodeKind::Namespace,
        _ => NodeKind::Element,
    }
}

/// Whether node `n`, reached along `axis`, passes `test`.
pub(crate) fn matches<D: Dom + ?Sized>(dom: &D, n: NodeId, axis: Axis, test: &NodeTest) -> bool {
    let kind = dom.kind(n);
    match test {
        NodeTest::AnyNode => true,
        NodeTest::Text => kind == NodeKind::Text,
        NodeTest::Comment => kind == NodeKind::Comment,
        NodeTest::Pi(target) => {
            kind == NodeKind::ProcessingInstruction
                && target.as_deref().is_none_or(|t| dom.local_name(n) == t)
        }
        NodeTest::Principal => kind == principal(axis),
        NodeTest::NsWildcard(uri) => {
            kind == principal(axis) && kind != NodeKind::Namespace && dom.namespace_uri(n) == uri
        }
        NodeTest::Name { uri, local } => {
            kind == principal(axis)
                && dom.local_name(n) == local
                && if kind == NodeKind::Namespace {
                    uri.is_empty()
                } else {
                    dom.namespace_uri(n) == uri
                }
        }
    }
}
