//! The result tree, with libxslt's rules for declaring namespaces on it, and its serialization
//! as libxml2 writes it.

use super::Fallback;

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

pub(crate) type Id = usize;

#[derive(Debug)]
pub(crate) struct Elem {
    pub prefix: String,
    pub local: String,
    /// The element's namespace `(prefix, uri)` (prefix `""`: the default namespace).
    pub ns: Option<(String, String)>,
    /// Namespace declarations in the order made; `("", "")` is `xmlns=""`.
    pub decls: Vec<(String, String)>,
    /// `(prefix, local, uri, value)`.
    pub attrs: Vec<(String, String, String, String)>,
    pub children: Vec<Id>,
}

#[derive(Debug)]
pub(crate) enum Node {
    Root(Vec<Id>),
    Elem(Elem),
    Text(String),
    Comment(String),
    Pi(String, String),
}

pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    pub parents: Vec<Id>,
    /// The output names no encoding: libxml2 then writes non-ASCII characters in attribute
    /// values as character references.
    pub ascii_attrs: bool,
}

impl Tree {
    pub(crate) fn new() -> Tree {
        Tree {
            nodes: vec![Node::Root(Vec::new())],
            parents: vec![0],
            ascii_attrs: true,
        }
    }

    fn children_mut(&mut self, p: Id) -> &mut Vec<Id> {
        match &mut self.nodes[p] {
            Node::Root(c) => c,
            Node::Elem(e) => &mut e.children,
            _ => unreachable!("only the root and elements have children"),
        }
    }

    pub(crate) fn children(&self, p: Id) -> &[Id] {
        match &self.nodes[p] {
            Node::Root(c) => c,
            Node::Elem(e) => &e.children,
            _ => &[],
        }
    }

    pub(crate) fn elem(&self, n: Id) -> Option<&Elem> {
        match &self.nodes[n] {
            Node::Elem(e) => Some(e),
            _ => None,
        }
    }

    fn elem_mut(&mut self, n: Id) -> &mut Elem {
        match &mut self.nodes[n] {
            Node::Elem(e) => e,
            _ => unreachable!("an element"),
        }
    }

    fn push(&mut self, parent: Id, node: Node) -> Id {
        let id = self.nodes.len();
        self.nodes.push(node);
        self.parents.push(parent);
        self.children_mut(parent).push(id);
        id
    }

    /// Appends text to `parent`, joined to a text node just before it.
    pub(crate) fn text(&mut self, parent: Id, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(&last) = self.children(parent).last() {
            if let Node::Text(t) = &mut self.nodes[last] {
                t.push_str(s);
                return;
            }
        }
        self.push(parent, Node::Text(s.to_string()));
    }

    pub(crate) fn comment(&mut self, parent: Id, s: &str) {
        self.push(parent, Node::Comment(s.to_string()));
    }

    pub(crate) fn pi(&mut self, parent: Id, target: &str, data: &str) {
        self.push(parent, Node::Pi(target.to_string(), data.to_string()));
    }

    /// A node outside the result, to collect what a sequence constructor makes.
    pub(crate) fn detached(&mut self) -> Id {
        let id = self.nodes.len();
        self.nodes.push(Node::Root(Vec::new()));
        self.parents.push(id);
        id
    }

    pub(crate) fn text_of(&self, n: Id) -> Option<&str> {
        match &self.nodes[n] {
            Node::Text(t) => Some(t),
            _ => None,
        }
    }

    /// A new element (no namespace yet, no declarations) under `parent`.
    pub(crate) fn element(&mut self, parent: Id, prefix: &str, local: &str) -> Id {
        self.push(
            parent,
            Node::Elem(Elem {
                prefix: prefix.to_string(),
                local: local.to_string(),
                ns: None,
                decls: Vec::new(),
                attrs: Vec::new(),
                children: Vec::new(),
            }),
        )
    }

    fn parent_elem(&self, n: Id) -> Option<Id> {
        let p = self.parents[n];
        (p != n && matches!(self.nodes[p], Node::Elem(_))).then_some(p)
    }

    /// libxml2's `xmlSearchNs`: the URI bound to `prefix` at `n` (`""` for the default
    /// namespace when `xmlns=""` is in effect), looking at `n` and its ancestors.
    pub(crate) fn search(&self, mut n: Id, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        loop {
            if let Node::Elem(e) = &self.nodes[n] {
                if let Some((_, u)) = e.decls.iter().find(|(p, _)| p == prefix) {
                    return Some(u);
                }
            } else {
                return None;
            }
            n = self.parents[n];
        }
    }

    /// `xmlNewNs`: declares `prefix` on `n` unless `n` declares it already.
    pub(crate) fn declare(&mut self, n: Id, prefix: &str, uri: &str) {
        if prefix == "xml" {
            return;
        }
        let e = self.elem_mut(n);
        if !e.decls.iter().any(|(p, _)| p == prefix) {
            e.decls.push((prefix.to_string(), uri.to_string()));
        }
    }

    /// libxslt's `xsltCopyNamespaceList(Internal)`: copies declarations to `n`, skipping those
    /// already in effect there.
    pub(crate) fn copy_decls<'a>(
        &mut self,
        n: Id,
        decls: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        for (p, u) in decls {
            if u == super::compile::XSLT_NS {
                continue;
            }
            if let Some((np, nu)) = &self.elem(n).and_then(|e| e.ns.clone()) {
                if np == p && nu == u {
                    continue;
                }
            }
            if self.search(n, p) == Some(u) {
                continue;
            }
            self.declare(n, p, u);
        }
    }

    /// libxslt's `xsltGetSpecialNamespace`: the prefix under which `uri` is bound for `target`
    /// (declaring it there when needed). With an empty `uri` and `prefix`: undeclares an
    /// inherited default namespace (`xmlns=""`) and returns None.
    pub(crate) fn special_ns(
        &mut self,
        target: Id,
        uri: &str,
        prefix: &str,
    ) -> Result<Option<(String, String)>, Fallback> {
        if prefix.is_empty() && uri.is_empty() {
            let e = self.elem(target).expect("an element");
            if let Some((_, u)) = e.decls.iter().find(|(p, _)| p.is_empty()) {
                return if u.is_empty() {
                    Ok(None)
                } else {
                    Err(Fallback("a default namespace cannot be undeclared"))
                };
            }
            if let Some(parent) = self.parent_elem(target) {
                if self.elem(parent).is_some_and(|e| e.ns.is_none()) {
                    return Ok(None);
                }
                match self.search(parent, "") {
                    None | Some("") => return Ok(None),
                    Some(_) => self.declare(target, "", ""),
                }
            }
            return Ok(None);
        }
        if prefix == "xml" {
            return Ok(Some(("xml".into(), XML_NS.into())));
        }
        let e = self.elem(target).expect("an element");
        if let Some((_, u)) = e.decls.iter().find(|(p, _)| p == prefix) {
            return if u == uri {
                Ok(Some((prefix.into(), uri.into())))
            } else {
                Err(Fallback("a namespace prefix bound twice on one element"))
            };
        }
        if let Some(parent) = self.parent_elem(target) {
            if let Some((pp, pu)) = self.elem(parent).and_then(|e| e.ns.as_ref()) {
                if pp.is_empty() == prefix.is_empty() && pp == prefix && pu == uri {
                    return Ok(Some((prefix.into(), uri.into())));
                }
            }
            if let Some(u) = self.search(parent, prefix) {
                if u == uri {
                    return Ok(Some((prefix.into(), uri.into())));
                }
                let e = self.elem(target).expect("an element");
                if e.attrs.iter().any(|a| a.0 == prefix && !prefix.is_empty()) {
                    return Err(Fallback("a namespace prefix in use by an attribute"));
                }
            }
        }
        self.declare(target, prefix, uri);
        Ok(Some((prefix.into(), uri.into())))
    }

    pub(crate) fn set_ns(&mut self, n: Id, ns: Option<(String, String)>) {
        let e = self.elem_mut(n);
        if let Some((p, _)) = &ns {
            e.prefix = p.clone();
        } else {
            e.prefix.clear();
        }
        e.ns = ns;
    }

    /// Sets an attribute (replacing one with the same expanded name, in place).
    pub(crate) fn attribute(
        &mut self,
        n: Id,
        prefix: &str,
        local: &str,
        uri: &str,
        value: String,
    ) -> Result<(), Fallback> {
        let e = self.elem_mut(n);
        if !e.children.is_empty() {
            return Err(Fallback("an attribute added after children"));
        }
        match e.attrs.iter_mut().find(|a| a.1 == local && a.2 == uri) {
            Some(a) => {
                a.0 = prefix.to_string();
                a.3 = value;
            }
            None => e.attrs.push((
                prefix.to_string(),
                local.to_string(),
                uri.to_string(),
                value,
            )),
        }
        Ok(())
    }

    /// The result as libxml2 writes it, when it is one element (the XML declaration left out).
    pub(crate) fn serialize(&self) -> Result<String, Fallback> {
        let [top] = self.children(0) else {
            return Err(Fallback("a result that is not one element"));
        };
        if self.elem(*top).is_none() {
            return Err(Fallback("a result that is not one element"));
        }
        let mut out = String::with_capacity(1024);
        self.write(*top, &mut out);
        Ok(out)
    }

    fn write(&self, n: Id, out: &mut String) {
        match &self.nodes[n] {
            Node::Root(_) => {}
            Node::Text(t) => escape(t, out, false, self.ascii_attrs),
            Node::Comment(c) => {
                out.push_str("<!--");
                out.push_str(c);
                out.push_str("-->");
            }
            Node::Pi(t, d) => {
                out.push_str("<?");
                out.push_str(t);
                if !d.is_empty() {
                    out.push(' ');
                    out.push_str(d);
                }
                out.push_str("?>");
            }
            Node::Elem(e) => {
                out.push('<');
                qname(&e.prefix, &e.local, out);
                for (p, u) in &e.decls {
                    if p.is_empty() {
                        out.push_str(" xmlns=\"");
                    } else {
                        out.push_str(" xmlns:");
                        out.push_str(p);
                        out.push_str("=\"");
                    }
                    escape(u, out, true, self.ascii_attrs);
                    out.push('"');
                }
                for (p, l, _, v) in &e.attrs {
                    out.push(' ');
                    qname(p, l, out);
                    out.push_str("=\"");
                    escape(v, out, true, self.ascii_attrs);
                    out.push('"');
                }
                if e.children.is_empty() {
                    out.push_str("/>");
                    return;
                }
                out.push('>');
                for &c in &e.children {
                    self.write(c, out);
                }
                out.push_str("</");
                qname(&e.prefix, &e.local, out);
                out.push('>');
            }
        }
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
/// every non-ASCII character as a character reference when the output names no encoding).
fn escape(s: &str, out: &mut String, attr: bool, ascii_attrs: bool) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if attr && ascii_attrs && b >= 0x80 {
            if b & 0xC0 == 0x80 {
                continue;
            }
            out.push_str(&s[start..i]);
            let c = s[i..].chars().next().unwrap_or('\u{FFFD}');
            out.push_str(&format!("&#x{:X};", u32::from(c)));
            start = i + c.len_utf8();
            continue;
        }
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\r' => "&#13;",
            b'"' if attr => "&quot;",
            b'\n' if attr => "&#10;",
            b'\t' if attr => "&#9;",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}
