//! A test-only arena [`Dom`] built from quick-xml events. Ids are in document order: element,
//! then its namespace nodes (one per prefix in scope, not shared), its attributes, then its
//! children. Adjacent text (including CDATA and references) is merged into one text node.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::xpath::dom::{Dom, NodeId, NodeKind};

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

#[derive(Debug, Clone)]
struct Node {
    kind: NodeKind,
    parent: Option<NodeId>,
    first_child: Option<NodeId>,
    last_child: Option<NodeId>,
    next: Option<NodeId>,
    prev: Option<NodeId>,
    attrs: Vec<NodeId>,
    nss: Vec<NodeId>,
    local: String,
    uri: String,
    prefix: String,
    value: String,
    end: NodeId,
}

impl Node {
    fn new(kind: NodeKind, parent: Option<NodeId>) -> Node {
        Node {
            kind,
            parent,
            first_child: None,
            last_child: None,
            next: None,
            prev: None,
            attrs: Vec::new(),
            nss: Vec::new(),
            local: String::new(),
            uri: String::new(),
            prefix: String::new(),
            value: String::new(),
            end: 0,
        }
    }
}

/// The test document.
#[derive(Debug, Clone)]
pub struct TestDom {
    nodes: Vec<Node>,
}

struct Builder {
    nodes: Vec<Node>,
    /// Open elements with their in-scope (prefix, uri) bindings.
    stack: Vec<(NodeId, Vec<(String, String)>)>,
    text: String,
}

impl Builder {
    fn id(&self) -> NodeId {
        self.nodes.len() as NodeId
    }

    fn parent(&self) -> NodeId {
        self.stack.last().map_or(0, |(id, _)| *id)
    }

    fn scope(&self) -> Vec<(String, String)> {
        self.stack
            .last()
            .map_or_else(|| vec![("xml".into(), XML_NS.into())], |(_, s)| s.clone())
    }

    fn append_child(&mut self, node: Node) -> NodeId {
        let id = self.id();
        let parent = self.parent();
        let prev = self.nodes[parent as usize].last_child;
        self.nodes.push(Node {
            prev,
            end: id,
            ..node
        });
        match prev {
            Some(p) => self.nodes[p as usize].next = Some(id),
            None => self.nodes[parent as usize].first_child = Some(id),
        }
        self.nodes[parent as usize].last_child = Some(id);
        id
    }

    fn flush_text(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let value = std::mem::take(&mut self.text);
        if self.stack.is_empty() {
            return; // whitespace outside the document element
        }
        let mut n = Node::new(NodeKind::Text, Some(self.parent()));
        n.value = value;
        self.append_child(n);
    }

    fn start(&mut self, e: &BytesStart<'_>) {
        self.flush_text();
        let mut scope = self.scope();
        let mut attrs = Vec::new();
        for a in e.attributes().flatten() {
            let key = a.key.0.to_owned();
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default();
            if key == "xmlns" {
                scope.retain(|(p, _)| !p.is_empty());
                scope.push((String::new(), value));
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                scope.retain(|(q, _)| q != p);
                scope.push((p.to_owned(), value));
            } else {
                attrs.push((key, value));
            }
        }
        let resolve = |prefix: &str, default: bool| -> String {
            if prefix.is_empty() && !default {
                return String::new();
            }
            scope
                .iter()
                .find(|(p, _)| p == prefix)
                .map(|(_, u)| u.clone())
                .unwrap_or_default()
        };
        let qname = e.name().0.to_owned();
        let (prefix, local) = match qname.split_once(':') {
            Some((p, l)) => (p.to_owned(), l.to_owned()),
            None => (String::new(), qname.clone()),
        };
        let mut el = Node::new(NodeKind::Element, Some(self.parent()));
        el.uri = resolve(&prefix, true);
        el.prefix = prefix;
        el.local = local;
        let id = self.append_child(el);
        for (p, u) in scope
            .iter()
            .filter(|(p, u)| !(p.is_empty() && u.is_empty()))
        {
            let mut n = Node::new(NodeKind::Namespace, Some(id));
            n.local = p.clone();
            n.value = u.clone();
            n.end = self.id();
            let nid = self.id();
            self.nodes.push(n);
            self.nodes[id as usize].nss.push(nid);
        }
        for (key, value) in attrs {
            let (prefix, local) = match key.split_once(':') {
                Some((p, l)) => (p.to_owned(), l.to_owned()),
                None => (String::new(), key.clone()),
            };
            let mut n = Node::new(NodeKind::Attribute, Some(id));
            n.uri = resolve(&prefix, false);
            n.prefix = prefix;
            n.local = local;
            n.value = value;
            n.end = self.id();
            let aid = self.id();
            self.nodes.push(n);
            self.nodes[id as usize].attrs.push(aid);
        }
        self.stack.push((id, scope));
    }

    fn end(&mut self) {
        self.flush_text();
        if let Some((id, _)) = self.stack.pop() {
            self.nodes[id as usize].end = self.id() - 1;
        }
    }
}

impl TestDom {
    /// Parses `xml`; panics on malformed input (tests only).
    pub fn parse(xml: &str) -> TestDom {
        let mut reader = Reader::from_str(xml);
        let mut b = Builder {
            nodes: vec![Node::new(NodeKind::Root, None)],
            stack: Vec::new(),
            text: String::new(),
        };
        loop {
            match reader.read_event().expect("well-formed test XML") {
                Event::Start(e) => b.start(&e),
                Event::Empty(e) => {
                    b.start(&e);
                    b.end();
                }
                Event::End(_) => b.end(),
                Event::Text(t) => b.text.push_str(&t.xml10_content()),
                Event::CData(t) => b.text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        b.text.push(c);
                    } else {
                        b.text.push_str(match &*r {
                            "lt" => "<",
                            "gt" => ">",
                            "amp" => "&",
                            "apos" => "'",
                            "quot" => "\"",
                            other => panic!("unknown entity {other}"),
                        });
                    }
                }
                Event::Comment(t) => {
                    b.flush_text();
                    let mut n = Node::new(NodeKind::Comment, Some(b.parent()));
                    n.value = t.xml10_content().into_owned();
                    b.append_child(n);
                }
                Event::PI(pi) => {
                    b.flush_text();
                    let mut n = Node::new(NodeKind::ProcessingInstruction, Some(b.parent()));
                    n.local = pi.target().to_owned();
                    n.value = pi.content().trim_start().to_owned();
                    b.append_child(n);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let last = b.id() - 1;
        b.nodes[0].end = last;
        TestDom { nodes: b.nodes }
    }

    fn n(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The id of the first element with this local name (test convenience).
    pub fn find(&self, local: &str) -> NodeId {
        self.nodes
            .iter()
            .position(|n| n.kind == NodeKind::Element && n.local == local)
            .expect("element present") as NodeId
    }

    /// A compact description of a node: `name` for elements, `@name` for attributes,
    /// `"text"` for text, `#comment`, `?target`, `ns:prefix`, `/` for the root.
    pub fn label(&self, id: NodeId) -> String {
        let n = self.n(id);
        match n.kind {
            NodeKind::Root => "/".into(),
            NodeKind::Element => n.local.clone(),
            NodeKind::Attribute => format!("@{}", n.local),
            NodeKind::Text => format!("\"{}\"", n.value),
            NodeKind::Comment => "#comment".into(),
            NodeKind::ProcessingInstruction => format!("?{}", n.local),
            NodeKind::Namespace => format!("ns:{}", n.local),
        }
    }
}

impl Dom for TestDom {
    fn kind(&self, n: NodeId) -> NodeKind {
        self.n(n).kind
    }
    fn parent(&self, n: NodeId) -> Option<NodeId> {
        self.n(n).parent
    }
    fn first_child(&self, n: NodeId) -> Option<NodeId> {
        self.n(n).first_child
    }
    fn next_sibling(&self, n: NodeId) -> Option<NodeId> {
        match self.n(n).kind {
            NodeKind::Attribute | NodeKind::Namespace => None,
            _ => self.n(n).next,
        }
    }
    fn prev_sibling(&self, n: NodeId) -> Option<NodeId> {
        match self.n(n).kind {
            NodeKind::Attribute | NodeKind::Namespace => None,
            _ => self.n(n).prev,
        }
    }
    fn attributes(&self, n: NodeId) -> &[NodeId] {
        &self.n(n).attrs
    }
    fn namespaces(&self, n: NodeId) -> &[NodeId] {
        &self.n(n).nss
    }
    fn local_name(&self, n: NodeId) -> &str {
        &self.n(n).local
    }
    fn namespace_uri(&self, n: NodeId) -> &str {
        &self.n(n).uri
    }
    fn prefix(&self, n: NodeId) -> &str {
        &self.n(n).prefix
    }
    fn string_value(&self, n: NodeId) -> Cow<'_, str> {
        let node = self.n(n);
        match node.kind {
            NodeKind::Root | NodeKind::Element => {
                let mut s = String::new();
                for id in n..=node.end {
                    let d = self.n(id);
                    if d.kind == NodeKind::Text {
                        s.push_str(&d.value);
                    }
                }
                Cow::Owned(s)
            }
            _ => Cow::Borrowed(&node.value),
        }
    }
    fn subtree_end(&self, n: NodeId) -> NodeId {
        self.n(n).end
    }
}
