//! Edits to a parsed body, recorded as an overlay: [`Editor`] collects operations keyed by node
//! id of the (immutable) [`Document`], [`Editor::finish`] serializes once (`write.rs`).
//!
//! Why an overlay and not arena mutation: node ids must stay in document order for the XPath
//! engine, and new content lives in other buffers. An overlay keeps the arena immutable and the
//! rules simple: unchanged subtrees are copied as byte ranges of the source, changed elements are
//! re-emitted around them, and when no operation was recorded `finish` hands back the very same
//! `Bytes`. The caller then treats the result as the new body (parsing it again if something
//! needs a tree). Each `finish` with changes serializes once.
//!
//! Semantics, DOM-like: `insert_before` keeps recorded order (A then B gives `A B n`),
//! `insert_after` puts the latest right after the node (`n B A`), `prepend_child` puts the latest
//! first, `append_child` keeps order. The last `replace`/`remove` of a node wins over earlier
//! ones, the last `set_children` likewise. Operations on nodes inside a subtree that is removed,
//! replaced or whose children are set are ignored. Content copied from the document
//! ([`Content::Node`]) is the node as parsed, without this editor's other edits.
//!
//! Must not: mutate the document, or resolve XPath (callers pass node ids).

use std::sync::Arc;

use bytes::Bytes;

use super::error::{EditError, XmlError, XmlErrorKind};
use super::escape::{escape_attr, escape_text, is_name};
use super::tree::Document;
use super::XML_NS;
use crate::xpath::dom::{NodeId, NodeKind};

/// New content for an edit.
#[derive(Debug, Clone)]
pub enum Content {
    /// Text, escaped on output.
    Text(String),
    /// A deep copy of a node of the document being edited, as parsed (an element keeps the
    /// namespace declarations it needs at its new place; an attribute contributes its value as
    /// text; the document node stands for its root element).
    Node(NodeId),
    /// Nodes parsed from XML text or taken from another document.
    Xml(Fragment),
    /// Well-formed XML element text written by a trusted serializer (libxslt's output), spliced
    /// as it is: every prefix it uses is declared in it. It is given `xmlns=""` when it declares
    /// no default namespace and one is in scope where it goes. Never for text from a message.
    /// Not for the root element (nothing checks that it is one element).
    Raw(String),
}

/// Parsed XML content to insert: the top-level nodes of a small document, sharable between
/// messages (it is immutable; clone is cheap).
#[derive(Debug, Clone)]
pub struct Fragment {
    pub(crate) doc: Arc<Document>,
    /// The nodes are the children of `parent`, unless `single` names one node.
    pub(crate) parent: NodeId,
    pub(crate) single: Option<NodeId>,
}

impl Fragment {
    /// Parses XML content (any mix of elements, text, comments; a leading XML declaration is
    /// skipped). Prefixes must be declared in the text itself.
    pub fn parse(xml: &str) -> Result<Fragment, XmlError> {
        Fragment::parse_in(xml, &[])
    }

    /// Parses XML content whose prefixes may also be bound by `namespaces` (`(prefix, uri)`
    /// pairs, `""` for the default namespace), as for a payload template written inside a
    /// Synapse configuration. Declarations are added on output only where needed.
    pub fn parse_in(xml: &str, namespaces: &[(&str, &str)]) -> Result<Fragment, XmlError> {
        let body = strip_decl(xml);
        let mut text = String::with_capacity(body.len() + 32 + namespaces.len() * 48);
        text.push_str("<_");
        for (prefix, uri) in namespaces {
            let bad = !prefix.is_empty() && (!is_name(prefix) || prefix.contains(':'));
            if bad || (uri.is_empty() && !prefix.is_empty()) {
                return Err(XmlError::at(
                    &[],
                    0,
                    XmlErrorKind::Namespace,
                    format!("invalid namespace binding {prefix}={uri}"),
                ));
            }
            text.push_str(if prefix.is_empty() {
                " xmlns"
            } else {
                " xmlns:"
            });
            text.push_str(prefix);
            text.push_str("=\"");
            text.push_str(&escape_attr(uri));
            text.push('"');
        }
        text.push('>');
        let shift = text.len();
        text.push_str(body);
        text.push_str("</_>");
        let doc = Document::parse(Bytes::from(text)).map_err(|e| {
            // Report the position inside the caller's text (`body` is a suffix of `xml`).
            let at = e.offset.saturating_sub(shift).min(body.len()) + (xml.len() - body.len());
            XmlError::at(xml.as_bytes(), at, e.kind, e.message)
        })?;
        let parent = doc.root_element();
        Ok(Fragment {
            doc: Arc::new(doc),
            parent,
            single: None,
        })
    }

    /// One element `{ns}local` holding `text` (escaped as needed), e.g. for a property value
    /// enriched into the body. `ns` may be `""`.
    pub fn text_element(ns: &str, local: &str, text: &str) -> Result<Fragment, EditError> {
        if !is_name(local) || local.contains(':') {
            return Err(EditError::InvalidName(local.to_string()));
        }
        // The namespace is bound on the wrapper, so output declares it only where needed.
        let xml = format!("<{local}>{}</{local}>", escape_text(text));
        Ok(Fragment::parse_in(&xml, &[("", ns)])?)
    }

    /// The root element of a whole document (e.g. a response body parsed elsewhere).
    pub fn from_document(doc: Document) -> Fragment {
        let root = doc.root_element();
        Fragment {
            doc: Arc::new(doc),
            parent: 0,
            single: Some(root),
        }
    }

    /// One node (and its subtree) of a shared document.
    pub fn from_node(doc: Arc<Document>, node: NodeId) -> Fragment {
        Fragment {
            doc,
            parent: 0,
            single: Some(node),
        }
    }

    /// The document holding the fragment's nodes.
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// The top-level nodes of the fragment, in order.
    pub fn nodes(&self) -> Vec<NodeId> {
        match self.single {
            Some(n) => vec![n],
            None => self.doc.children(self.parent).collect(),
        }
    }

    /// True when the fragment is exactly one element (whitespace text around it aside).
    pub fn is_single_element(&self) -> bool {
        if let Some(n) = self.single {
            return matches!(self.doc.kind(n), NodeKind::Element | NodeKind::Root);
        }
        let mut elements = 0;
        for c in self.doc.children(self.parent) {
            match self.doc.kind(c) {
                NodeKind::Element => elements += 1,
                NodeKind::Text if self.doc.value(c).trim().is_empty() => {}
                _ => return false,
            }
        }
        elements == 1
    }
}

/// Skips a byte-order mark, leading whitespace and an XML declaration.
fn strip_decl(xml: &str) -> &str {
    let s = xml.trim_start_matches('\u{feff}');
    let t = s.trim_start();
    if t.starts_with("<?xml") && t[5..].starts_with(|c: char| c.is_whitespace() || c == '?') {
        if let Some(end) = t.find("?>") {
            return &t[end + 2..];
        }
    }
    s
}

/// One recorded operation.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    pub(crate) target: NodeId,
    pub(crate) kind: OpKind,
}

#[derive(Debug, Clone)]
pub(crate) enum OpKind {
    Remove,
    Replace(Content),
    SetChildren(Content),
    Before(Content),
    After(Content),
    Prepend(Content),
    Append(Content),
    /// Set an attribute on the target element; `declare` when `prefix` must be declared.
    SetAttr {
        ns: String,
        local: String,
        value: String,
        prefix: String,
        declare: bool,
    },
    /// Remove the target attribute node.
    RemoveAttr,
}

/// Records edits against one [`Document`]; see the module docs for the model.
#[derive(Debug)]
pub struct Editor<'d> {
    pub(crate) doc: &'d Document,
    pub(crate) ops: Vec<Op>,
}

impl Document {
    /// Starts recording edits against this document.
    pub fn edit(&self) -> Editor<'_> {
        Editor {
            doc: self,
            ops: Vec::new(),
        }
    }
}

impl<'d> Editor<'d> {
    /// The document being edited.
    pub fn document(&self) -> &'d Document {
        self.doc
    }

    /// True once any operation has been recorded.
    pub fn is_changed(&self) -> bool {
        !self.ops.is_empty()
    }

    fn node(&self, n: NodeId) -> Result<NodeKind, EditError> {
        if (n as usize) < self.doc.node_count() {
            Ok(self.doc.kind(n))
        } else {
            Err(EditError::NoSuchNode(n))
        }
    }

    fn element(&self, n: NodeId) -> Result<(), EditError> {
        match self.node(n)? {
            NodeKind::Element => Ok(()),
            _ => Err(EditError::NotAnElement(n)),
        }
    }

    fn check_content(&self, c: &Content) -> Result<(), EditError> {
        if let Content::Node(n) = c {
            if self.node(*n)? == NodeKind::Namespace {
                return Err(EditError::Unsupported(*n));
            }
        }
        Ok(())
    }

    fn is_single_element(&self, c: &Content) -> bool {
        match c {
            Content::Text(_) | Content::Raw(_) => false,
            Content::Node(n) => matches!(self.doc.kind(*n), NodeKind::Element | NodeKind::Root),
            Content::Xml(f) => f.is_single_element(),
        }
    }

    /// A child node of an element (not the root element, not an attribute).
    fn inner(&self, n: NodeId) -> Result<(), EditError> {
        match self.node(n)? {
            NodeKind::Root => Err(EditError::TopLevel),
            NodeKind::Attribute | NodeKind::Namespace => Err(EditError::Unsupported(n)),
            _ if self.doc.parent(n) == Some(0) => Err(EditError::TopLevel),
            _ => Ok(()),
        }
    }

    fn push(&mut self, target: NodeId, kind: OpKind) {
        self.ops.push(Op { target, kind });
    }

    /// Replaces node `n` (element, text, comment, PI) by `content`. The root element can only
    /// be replaced by exactly one element.
    pub fn replace(&mut self, n: NodeId, content: Content) -> Result<(), EditError> {
        self.check_content(&content)?;
        if n == self.doc.root_element() {
            if matches!(content, Content::Raw(_)) || !self.is_single_element(&content) {
                return Err(EditError::TopLevel);
            }
        } else {
            self.inner(n)?;
        }
        self.push(n, OpKind::Replace(content));
        Ok(())
    }

    /// Removes node `n` (element, text, comment, PI or attribute). The root element cannot be
    /// removed.
    pub fn remove(&mut self, n: NodeId) -> Result<(), EditError> {
        if self.node(n)? == NodeKind::Attribute {
            self.push(n, OpKind::RemoveAttr);
            return Ok(());
        }
        self.inner(n)?;
        self.push(n, OpKind::Remove);
        Ok(())
    }

    /// Replaces all children of element `n` by `content`.
    pub fn set_children(&mut self, n: NodeId, content: Content) -> Result<(), EditError> {
        self.element(n)?;
        self.check_content(&content)?;
        self.push(n, OpKind::SetChildren(content));
        Ok(())
    }

    /// Sets the text of element `n` (replacing its children), of text node `n`, or the value of
    /// attribute node `n`.
    pub fn set_text(&mut self, n: NodeId, text: impl Into<String>) -> Result<(), EditError> {
        match self.node(n)? {
            NodeKind::Text => self.replace(n, Content::Text(text.into())),
            NodeKind::Attribute => {
                let doc = self.doc;
                let owner = doc.parent(n).ok_or(EditError::Unsupported(n))?;
                let kind = OpKind::SetAttr {
                    ns: doc.ns(n).into(),
                    local: doc.local(n).into(),
                    value: text.into(),
                    prefix: doc.prefix(n).into(),
                    declare: false,
                };
                self.push(owner, kind);
                Ok(())
            }
            _ => self.set_children(n, Content::Text(text.into())),
        }
    }

    /// Removes all children of element `n`.
    pub fn clear_children(&mut self, n: NodeId) -> Result<(), EditError> {
        self.set_children(n, Content::Text(String::new()))
    }

    /// Inserts `content` right before node `n` (see the module docs for ordering).
    pub fn insert_before(&mut self, n: NodeId, content: Content) -> Result<(), EditError> {
        self.inner(n)?;
        self.check_content(&content)?;
        self.push(n, OpKind::Before(content));
        Ok(())
    }

    /// Inserts `content` right after node `n`.
    pub fn insert_after(&mut self, n: NodeId, content: Content) -> Result<(), EditError> {
        self.inner(n)?;
        self.check_content(&content)?;
        self.push(n, OpKind::After(content));
        Ok(())
    }

    /// Inserts `content` as the first child of element `n`.
    pub fn prepend_child(&mut self, n: NodeId, content: Content) -> Result<(), EditError> {
        self.element(n)?;
        self.check_content(&content)?;
        self.push(n, OpKind::Prepend(content));
        Ok(())
    }

    /// Inserts `content` as the last child of element `n`.
    pub fn append_child(&mut self, n: NodeId, content: Content) -> Result<(), EditError> {
        self.element(n)?;
        self.check_content(&content)?;
        self.push(n, OpKind::Append(content));
        Ok(())
    }

    /// Sets attribute `{ns}local` of element `n` to `value` (replacing an existing one). A
    /// namespaced attribute reuses a prefix already bound to `ns` at the element, or declares a
    /// fresh `nsN` prefix on it.
    pub fn set_attribute(
        &mut self,
        n: NodeId,
        ns: &str,
        local: &str,
        value: &str,
    ) -> Result<(), EditError> {
        self.element(n)?;
        if !is_name(local) || local.contains(':') || ns == "http://www.w3.org/2000/xmlns/" {
            return Err(EditError::InvalidName(local.to_string()));
        }
        let (prefix, declare) = self.attr_prefix(n, ns);
        self.push(
            n,
            OpKind::SetAttr {
                ns: ns.into(),
                local: local.into(),
                value: value.into(),
                prefix,
                declare,
            },
        );
        Ok(())
    }

    /// Removes attribute `{ns}local` of element `n`; returns whether it existed.
    pub fn remove_attribute(
        &mut self,
        n: NodeId,
        ns: &str,
        local: &str,
    ) -> Result<bool, EditError> {
        self.element(n)?;
        match self.doc.attribute_node(n, ns, local) {
            Some(a) => {
                self.push(a, OpKind::RemoveAttr);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The prefix to write an attribute in namespace `ns` on element `n` with, and whether it
    /// must be declared there.
    fn attr_prefix(&self, n: NodeId, ns: &str) -> (String, bool) {
        if ns.is_empty() {
            return (String::new(), false);
        }
        if ns == XML_NS {
            return ("xml".into(), false);
        }
        let doc = self.doc;
        let in_scope = doc
            .ns_list(n)
            .iter()
            .map(|&b| (doc.name(b), doc.value(b)))
            .find(|&(p, u)| !p.is_empty() && u == ns);
        if let Some((p, _)) = in_scope {
            return (p.to_string(), false);
        }
        for op in self.ops.iter().filter(|o| o.target == n) {
            if let OpKind::SetAttr {
                ns: u,
                prefix,
                declare: true,
                ..
            } = &op.kind
            {
                if u == ns {
                    return (prefix.clone(), true);
                }
            }
        }
        let mut k = 1;
        loop {
            let p = format!("ns{k}");
            let used_in_scope = doc.lookup_ns(n, &p).is_some();
            let used_by_op = self.ops.iter().any(|o| {
                o.target == n && matches!(&o.kind, OpKind::SetAttr { prefix, .. } if *prefix == p)
            });
            if !used_in_scope && !used_by_op {
                return (p, true);
            }
            k += 1;
        }
    }

    /// Serializes the edited document. With no operation recorded this is the source `Bytes`
    /// itself (same buffer, no copy).
    pub fn finish(self) -> Bytes {
        if self.ops.is_empty() {
            return self.doc.source().clone();
        }
        super::write::serialize(self.doc, self.ops)
    }

    /// [`Editor::finish`], then parses the result.
    pub fn finish_document(self) -> Result<Document, XmlError> {
        Document::parse(self.finish())
    }
}
