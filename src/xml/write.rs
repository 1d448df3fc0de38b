//! Serialization of an edited document (the overlay recorded by `edit.rs`) and of self-contained
//! copies of single nodes.
//!
//! The walk only descends into elements that contain an edit; every untouched run of siblings is
//! one `extend_from_slice` of the source. Elements copied to a new place (from this document or a
//! [`super::Fragment`]) are copied verbatim too, with namespace declarations added to their start
//! tag for exactly the prefixes (and default namespace) the subtree uses but inherits from outside
//! and that the output does not already bind the same way at that point.
//!
//! Must not: re-escape or re-format untouched content, or emit a declaration the output already
//! has in scope.

use bytes::Bytes;

use super::edit::{Content, Op, OpKind};
use super::escape::{escape_attr, escape_text};
use super::tree::{Document, NONE};
use super::XML_NS;
use crate::xpath::dom::{NodeId, NodeKind};

/// Serializes `doc` with `ops` applied.
pub(crate) fn serialize(doc: &Document, mut ops: Vec<Op>) -> Bytes {
    // Stable: per target, operations stay in recorded order.
    ops.sort_by_key(|o| o.target);
    let mut w = Writer::new(doc, &ops);
    w.document();
    Bytes::from(w.out)
}

impl Document {
    /// A self-contained serialization of node `n`: for an element, its source bytes with the
    /// namespace declarations it inherits from ancestors added to its start tag — the zero-copy
    /// source slice when it needs none. Text, comments and PIs are returned as written; an
    /// attribute gives its escaped value; the document node gives its root element.
    pub fn standalone_bytes(&self, n: NodeId) -> Bytes {
        let n = if self.kind(n) == NodeKind::Root {
            self.root_element()
        } else {
            n
        };
        match self.kind(n) {
            NodeKind::Element => {
                let mut w = Writer::new(self, &[]);
                w.collect_required(self, n);
                let needs = w.req.iter().any(|&(p, u)| !(p.is_empty() && u.is_empty()));
                if !needs {
                    return self.source_slice(n);
                }
                w.copy_element(self, n);
                Bytes::from(w.out)
            }
            NodeKind::Attribute => Bytes::from(escape_text(self.value(n)).into_owned()),
            NodeKind::Namespace => Bytes::new(),
            _ => self.source_slice(n),
        }
    }
}

impl Document {
    /// The namespace declarations element `n` carries, as `(prefix, uri)` in the order written
    /// (`("", "")` stands for `xmlns=""`); empty for other nodes.
    pub fn declared_namespaces(&self, n: NodeId) -> Vec<(&str, &str)> {
        let Some(e) = self.elem(n).filter(|_| self.kind(n) == NodeKind::Element) else {
            return Vec::new();
        };
        let mut out: Vec<(&str, &str)> = (n + 1..=n + e.own_ns)
            .map(|b| (self.name(b), self.value(b)))
            .collect();
        if e.undeclares_default {
            out.push(("", ""));
        }
        out
    }

    /// The namespace declarations on element `n`'s start tag as [`Document::standalone_bytes`]
    /// writes it: the bindings its subtree inherits from outside (in order of first use), then
    /// its own.
    pub fn standalone_namespaces(&self, n: NodeId) -> Vec<(&str, &str)> {
        let mut w = Writer {
            doc: self,
            ops: &[],
            out: Vec::new(),
            scope: Vec::new(),
            req: Vec::new(),
        };
        w.collect_required(self, n);
        let mut out: Vec<(&str, &str)> = w
            .req
            .iter()
            .copied()
            .filter(|&(p, u)| !(p.is_empty() && u.is_empty()))
            .collect();
        out.extend(self.declared_namespaces(n));
        out
    }
}

struct Writer<'a> {
    doc: &'a Document,
    ops: &'a [Op],
    out: Vec<u8>,
    /// Bindings in scope in the output at the current position: (prefix, uri); `("", "")`
    /// records an undeclared default namespace.
    scope: Vec<(&'a str, &'a str)>,
    /// Scratch: bindings a copied subtree needs from outside.
    req: Vec<(&'a str, &'a str)>,
}

impl<'a> Writer<'a> {
    fn new(doc: &'a Document, ops: &'a [Op]) -> Self {
        Writer {
            doc,
            ops,
            out: Vec::with_capacity(doc.source().len() + 256),
            scope: Vec::new(),
            req: Vec::new(),
        }
    }

    fn ops_for(&self, n: NodeId) -> &'a [Op] {
        let ops = self.ops;
        let lo = ops.partition_point(|o| o.target < n);
        let hi = lo + ops[lo..].partition_point(|o| o.target <= n);
        &ops[lo..hi]
    }

    /// True when some operation targets `n` or a node of its subtree.
    fn touched(&self, n: NodeId) -> bool {
        let lo = self.ops.partition_point(|o| o.target < n);
        lo < self.ops.len() && self.ops[lo].target <= self.doc.node(n).end
    }

    /// True when element `n` must be re-emitted (an edit inside it, or on its start tag).
    fn inner_touched(&self, n: NodeId, own: &[Op]) -> bool {
        let end = self.doc.node(n).end;
        let lo = self.ops.partition_point(|o| o.target <= n);
        (lo < self.ops.len() && self.ops[lo].target <= end)
            || own.iter().any(|o| {
                matches!(
                    o.kind,
                    OpKind::SetChildren(_)
                        | OpKind::Prepend(_)
                        | OpKind::Append(_)
                        | OpKind::SetAttr { .. }
                )
            })
    }

    fn raw(&mut self, d: &Document, start: u32, end: u32) {
        self.out.extend_from_slice(d.src_bytes(start, end));
    }

    fn document(&mut self) {
        let d = self.doc;
        let mut pos = 0;
        for c in d.children(0) {
            let node = *d.node(c);
            self.raw(d, pos, node.src_start);
            self.child(c);
            pos = node.src_end;
        }
        self.raw(d, pos, d.source().len() as u32);
    }

    /// Emits base node `n` at its original place, with the edits that target it.
    fn child(&mut self, n: NodeId) {
        let d = self.doc;
        let ops = self.ops_for(n);
        for op in ops {
            if let OpKind::Before(c) = &op.kind {
                self.content(c);
            }
        }
        let last = ops
            .iter()
            .rev()
            .find(|o| matches!(o.kind, OpKind::Remove | OpKind::Replace(_)));
        match last.map(|o| &o.kind) {
            Some(OpKind::Replace(c)) => self.content(c),
            Some(_) => {}
            None => {
                let node = *d.node(n);
                if node.kind == NodeKind::Element && self.inner_touched(n, ops) {
                    self.element(n, ops);
                } else {
                    self.raw(d, node.src_start, node.src_end);
                }
            }
        }
        for op in ops.iter().rev() {
            if let OpKind::After(c) = &op.kind {
                self.content(c);
            }
        }
    }

    /// Re-emits base element `n` in place: start tag (rebuilt only for attribute edits), edited
    /// children, end tag.
    fn element(&mut self, n: NodeId, ops: &'a [Op]) {
        let d = self.doc;
        let node = *d.node(n);
        let Some(&e) = d.elem(n) else { return };
        let mark = self.scope.len();
        for b in n + 1..=n + e.own_ns {
            self.scope.push((d.name(b), d.value(b)));
        }
        if e.undeclares_default {
            self.scope.push(("", ""));
        }
        let attrs_edited = ops.iter().any(|o| matches!(o.kind, OpKind::SetAttr { .. }))
            || d.attribute_nodes(n)
                .iter()
                .any(|&a| !self.ops_for(a).is_empty());
        if attrs_edited {
            self.start_tag(n, ops);
        } else {
            let tag = d.src_bytes(node.src_start, e.tag_end);
            match tag.strip_suffix(b"/>").filter(|_| e.empty) {
                Some(open) => {
                    self.out.extend_from_slice(open);
                    self.out.push(b'>');
                }
                None => self.out.extend_from_slice(tag),
            }
        }
        for op in ops.iter().rev() {
            if let OpKind::Prepend(c) = &op.kind {
                self.content(c);
            }
        }
        let set = ops.iter().rev().find_map(|o| match &o.kind {
            OpKind::SetChildren(c) => Some(c),
            _ => None,
        });
        match set {
            Some(c) => self.content(c),
            None => {
                let mut run: Option<(u32, u32)> = None;
                for c in d.children(n) {
                    let cn = *d.node(c);
                    if self.touched(c) {
                        if let Some((a, b)) = run.take() {
                            self.raw(d, a, b);
                        }
                        self.child(c);
                    } else {
                        run = Some((run.map_or(cn.src_start, |r| r.0), cn.src_end));
                    }
                }
                if let Some((a, b)) = run {
                    self.raw(d, a, b);
                }
            }
        }
        for op in ops {
            if let OpKind::Append(c) = &op.kind {
                self.content(c);
            }
        }
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(d.name(n).as_bytes());
        self.out.push(b'>');
        self.scope.truncate(mark);
    }

    /// A start tag rebuilt from the original declarations and attributes as written, minus
    /// removed/overridden attributes, plus set ones.
    fn start_tag(&mut self, n: NodeId, ops: &'a [Op]) {
        let d = self.doc;
        let Some(&e) = d.elem(n) else { return };
        self.out.push(b'<');
        self.out.extend_from_slice(d.name(n).as_bytes());
        for b in n + 1..=n + e.own_ns {
            let bn = *d.node(b);
            if bn.src_end > bn.src_start {
                self.out.push(b' ');
                self.raw(d, bn.src_start, bn.src_end);
            }
        }
        if e.undeclares_default {
            self.out.extend_from_slice(b" xmlns=\"\"");
        }
        let set_attrs: Vec<(usize, &'a str, &'a str)> = ops
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match &o.kind {
                OpKind::SetAttr { ns, local, .. } => Some((i, ns.as_str(), local.as_str())),
                _ => None,
            })
            .collect();
        for &a in d.attribute_nodes(n) {
            let removed = !self.ops_for(a).is_empty();
            let overridden = set_attrs
                .iter()
                .any(|&(_, ns, l)| d.local(a) == l && d.ns(a) == ns);
            if !removed && !overridden {
                let an = *d.node(a);
                self.out.push(b' ');
                self.raw(d, an.src_start, an.src_end);
            }
        }
        let mut declared: Vec<&str> = Vec::new();
        for (k, &(i, ns, local)) in set_attrs.iter().enumerate() {
            if set_attrs[k + 1..]
                .iter()
                .any(|&(_, n2, l2)| n2 == ns && l2 == local)
            {
                continue; // a later set of the same attribute wins
            }
            let OpKind::SetAttr {
                value,
                prefix,
                declare,
                ..
            } = &ops[i].kind
            else {
                continue;
            };
            if *declare && !declared.contains(&prefix.as_str()) {
                declared.push(prefix);
                self.scope.push((prefix, ns));
                self.out.extend_from_slice(b" xmlns:");
                self.out.extend_from_slice(prefix.as_bytes());
                self.out.extend_from_slice(b"=\"");
                self.out.extend_from_slice(escape_attr(ns).as_bytes());
                self.out.push(b'"');
            }
            self.out.push(b' ');
            if !prefix.is_empty() {
                self.out.extend_from_slice(prefix.as_bytes());
                self.out.push(b':');
            }
            self.out.extend_from_slice(local.as_bytes());
            self.out.extend_from_slice(b"=\"");
            self.out.extend_from_slice(escape_attr(value).as_bytes());
            self.out.push(b'"');
        }
        self.out.push(b'>');
    }

    fn content(&mut self, c: &'a Content) {
        match c {
            Content::Text(s) => self.out.extend_from_slice(escape_text(s).as_bytes()),
            Content::Raw(s) => self.raw_element(s),
            Content::Node(n) => self.copy(self.doc, *n),
            Content::Xml(f) => match f.single {
                Some(n) => self.copy(&f.doc, n),
                None => {
                    for c in f.doc.children(f.parent) {
                        self.copy(&f.doc, c);
                    }
                }
            },
        }
    }

    /// Emits trusted element text; a default namespace in scope here is undeclared on its first
    /// element when that element declares none.
    fn raw_element(&mut self, s: &str) {
        let inherits = self.lookup("").is_some_and(|ns| !ns.is_empty());
        // The first start tag: up to its `>` outside quoted values.
        let mut quote = None;
        let tag_end = s
            .char_indices()
            .find(|&(_, c)| match (quote, c) {
                (None, '"' | '\'') => {
                    quote = Some(c);
                    false
                }
                (Some(q), c) if c == q => {
                    quote = None;
                    false
                }
                (None, '>') => true,
                _ => false,
            })
            .map_or(s.len(), |(i, _)| i);
        let tag = &s[..tag_end];
        let name_end = tag
            .find(|c: char| c.is_ascii_whitespace() || c == '/')
            .unwrap_or(tag_end);
        let declares = tag
            .split(|c: char| c.is_ascii_whitespace())
            .any(|a| a.starts_with("xmlns="));
        if inherits && !declares && s.starts_with('<') {
            self.out.extend_from_slice(&s.as_bytes()[..name_end]);
            self.out.extend_from_slice(b" xmlns=\"\"");
            self.out.extend_from_slice(&s.as_bytes()[name_end..]);
        } else {
            self.out.extend_from_slice(s.as_bytes());
        }
    }

    /// Emits a copy of node `n` of `d` at the current output position.
    fn copy(&mut self, d: &'a Document, n: NodeId) {
        let node = *d.node(n);
        match node.kind {
            NodeKind::Root => self.copy(d, d.root_element()),
            NodeKind::Element => self.copy_element(d, n),
            NodeKind::Attribute => self
                .out
                .extend_from_slice(escape_text(d.value(n)).as_bytes()),
            NodeKind::Namespace => {}
            _ => self.raw(d, node.src_start, node.src_end),
        }
    }

    /// The namespace URI `prefix` has in the output here (`None`: unbound prefix).
    fn lookup(&self, prefix: &str) -> Option<&'a str> {
        match self.scope.iter().rev().find(|(p, _)| *p == prefix) {
            Some(&(_, u)) => Some(u),
            None if prefix.is_empty() => Some(""),
            None if prefix == "xml" => Some(XML_NS),
            None => None,
        }
    }

    /// Copies element `e` of `d` verbatim, declaring on its start tag whatever it inherits and
    /// the output does not bind the same way here.
    fn copy_element(&mut self, d: &'a Document, e: NodeId) {
        self.collect_required(d, e);
        let node = *d.node(e);
        let qname = d.name(e);
        self.out.push(b'<');
        self.out.extend_from_slice(qname.as_bytes());
        let req = std::mem::take(&mut self.req);
        for &(p, uri) in &req {
            if self.lookup(p) == Some(uri) {
                continue;
            }
            self.out
                .extend_from_slice(if p.is_empty() { b" xmlns" } else { b" xmlns:" });
            self.out.extend_from_slice(p.as_bytes());
            self.out.extend_from_slice(b"=\"");
            self.out.extend_from_slice(escape_attr(uri).as_bytes());
            self.out.push(b'"');
        }
        self.req = req;
        let name_end = node.src_start + 1 + qname.len() as u32;
        self.raw(d, name_end, node.src_end);
    }

    /// Fills `self.req` with the bindings the subtree of `e` uses but inherits from outside it.
    fn collect_required(&mut self, d: &'a Document, e: NodeId) {
        self.req.clear();
        let end = d.node(e).end;
        for x in e..=end {
            let node = d.node(x);
            let kind = node.kind;
            if !matches!(kind, NodeKind::Element | NodeKind::Attribute) {
                continue;
            }
            let prefix = d.prefix(x);
            if prefix == "xml" || (kind == NodeKind::Attribute && prefix.is_empty()) {
                continue;
            }
            let need = if node.ns == NONE {
                // An unprefixed element in no namespace: inherits "no default namespace" unless
                // an `xmlns=""` inside the subtree (on x or an ancestor below e) provides it.
                (!undeclared_within(d, x, e)).then_some(("", ""))
            } else {
                let b = node.ns;
                (d.node(b).parent < e).then(|| (prefix, d.value(b)))
            };
            if let Some(pair) = need {
                if !self.req.contains(&pair) {
                    self.req.push(pair);
                }
            }
        }
    }
}

/// True when an element from `x` up to `top` (inclusive) carries `xmlns=""`.
fn undeclared_within(d: &Document, mut x: NodeId, top: NodeId) -> bool {
    if !d.has_default_undecl {
        return false;
    }
    loop {
        if d.elem(x).is_some_and(|e| e.undeclares_default) {
            return true;
        }
        if x == top {
            return false;
        }
        match d.parent(x) {
            Some(p) => x = p,
            None => return false,
        }
    }
}
