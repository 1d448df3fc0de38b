//! Running a [`Program`] over one element of a parsed message.

use super::compile::{Avt, AvtPart, Instr, Program};
use super::output::{Id, Tree};
use super::subtree::Subtree;
use super::Fallback;
use crate::xml::Document;
use crate::xpath::dom::{Dom, NodeId, NodeKind};
use crate::xpath::{NoContext, Value, XPath};

/// Nested template applications (and calls) before the transformation is left to libxslt,
/// whose own limit (3000) then applies: deep recursion is rare, and this keeps the shard's
/// stack small.
const MAX_DEPTH: usize = 128;

const ROOT: NodeId = 0;

impl Program {
    /// Transforms element `top` of `doc`, seen as the root element of the input document
    /// (what libxslt sees when given that element on its own). The result element as libxslt
    /// writes it, without the XML declaration.
    pub fn transform(&self, doc: &Document, top: NodeId) -> std::result::Result<String, Fallback> {
        let dom = Subtree { dom: doc, top };
        let mut ex = Exec {
            p: self,
            doc,
            dom: &dom,
            top,
            out: Tree::new(),
            depth: 0,
        };
        ex.out.ascii_attrs = !self.encoding;
        crate::xpath::with_exponents(|| ex.process(ROOT, 1, 1, None, 0))?;
        if self.method_implied {
            if let Some(&first) = ex.out.children(0).first() {
                if ex
                    .out
                    .elem(first)
                    .is_some_and(|e| e.ns.is_none() && e.local.eq_ignore_ascii_case("html"))
                {
                    return Err(Fallback("an html result"));
                }
            }
        }
        ex.out.serialize()
    }
}

impl Program {
    /// [`Program::transform`] as a whole document: the XML declaration libxslt writes (unless
    /// `omit-xml-declaration`), then the result element (what fastXSLT sends).
    pub fn transform_document(
        &self,
        doc: &Document,
        top: NodeId,
    ) -> std::result::Result<Vec<u8>, Fallback> {
        let body = self.transform(doc, top)?;
        let decl = self.declaration.as_deref().unwrap_or("");
        let mut out = Vec::with_capacity(decl.len() + body.len());
        out.extend_from_slice(decl.as_bytes());
        out.extend_from_slice(body.as_bytes());
        Ok(out)
    }
}

struct Exec<'a> {
    p: &'a Program,
    doc: &'a Document,
    dom: &'a Subtree<'a, Document>,
    top: NodeId,
    out: Tree,
    depth: usize,
}

/// The context: node, position, size.
#[derive(Clone, Copy)]
struct Focus {
    node: NodeId,
    pos: usize,
    size: usize,
}

type Result<T> = std::result::Result<T, Fallback>;

impl<'a> Exec<'a> {
    fn eval(&self, x: &XPath, f: Focus) -> Result<Value> {
        x.evaluate_at(self.dom, &NoContext, f.node, f.pos, f.size)
            .map_err(|_| Fallback("an XPath error"))
    }

    /// A value as text, numbers written as libxml2 writes them.
    fn string(&self, v: Value) -> String {
        match v {
            Value::Number(n) => libxml2_number(n),
            other => other.into_string_value(self.dom),
        }
    }

    fn nodes(&self, x: &XPath, f: Focus) -> Result<Vec<NodeId>> {
        match self.eval(x, f)? {
            Value::NodeSet(n) => Ok(n),
            _ => Err(Fallback("a select that is no node-set")),
        }
    }

    fn children(&self, n: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut c = self.dom.first_child(n);
        while let Some(x) = c {
            out.push(x);
            c = self.dom.next_sibling(x);
        }
        out
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Fallback("templates nested too deep"));
        }
        Ok(())
    }

    fn apply(&mut self, nodes: &[NodeId], mode: Option<&str>, insert: Id) -> Result<()> {
        for (i, &n) in nodes.iter().enumerate() {
            self.process(n, i + 1, nodes.len(), mode, insert)?;
        }
        Ok(())
    }

    /// Applies the best template rule for `node` (or the built-in one).
    fn process(
        &mut self,
        node: NodeId,
        pos: usize,
        size: usize,
        mode: Option<&str>,
        insert: Id,
    ) -> Result<()> {
        self.enter()?;
        let rule = self
            .p
            .rules
            .iter()
            .find(|r| r.mode.as_deref() == mode && r.pattern.matches(self.dom, node));
        let f = Focus { node, pos, size };
        match rule {
            Some(r) => {
                let b = r.body;
                self.exec(&self.p.bodies[b].instrs, f, insert, Some(b))?;
            }
            None => match self.dom.kind(node) {
                NodeKind::Root | NodeKind::Element => {
                    let children = self.children(node);
                    self.apply(&children, mode, insert)?;
                }
                NodeKind::Text | NodeKind::Attribute => {
                    let v = self.dom.string_value(node);
                    self.out.text(insert, &v);
                }
                _ => {}
            },
        }
        self.depth -= 1;
        Ok(())
    }

    /// The declarations on source element `n` in libxslt's copy of the input.
    fn decls(&self, n: NodeId) -> Vec<(&'a str, &'a str)> {
        let d: &'a Document = self.doc;
        if n == self.top {
            d.standalone_namespaces(n)
        } else {
            d.declared_namespaces(n)
        }
    }

    fn has_ns(&self, insert: Id) -> bool {
        self.out.elem(insert).is_some_and(|e| e.ns.is_some())
    }

    /// Gives the new element `e` the namespace of source or stylesheet name (`uri`, `prefix`),
    /// or undeclares an inherited default namespace.
    fn name_ns(&mut self, e: Id, insert: Id, uri: &str, prefix: &str) -> Result<()> {
        if !uri.is_empty() {
            let ns = self.out.special_ns(e, uri, prefix)?;
            self.out.set_ns(e, ns);
        } else if self.has_ns(insert) {
            self.out.special_ns(e, "", "")?;
        }
        Ok(())
    }

    /// Runs a sequence constructor. `template` is the body (of a template rule or named
    /// template) whose first-level literal result elements take its inherited namespaces.
    fn exec(
        &mut self,
        instrs: &[Instr],
        f: Focus,
        insert: Id,
        template: Option<usize>,
    ) -> Result<()> {
        for i in instrs {
            match i {
                Instr::Text(t) => self.out.text(insert, t),
                Instr::ValueOf(x) => {
                    let s = self.string(self.eval(x, f)?);
                    self.out.text(insert, &s);
                }
                Instr::Literal(l) => {
                    let e = self.out.element(insert, &l.prefix, &l.local);
                    self.out
                        .copy_decls(e, l.decls.iter().map(|(p, u)| (p.as_str(), u.as_str())));
                    self.name_ns(e, insert, &l.uri, &l.prefix)?;
                    if let Some(t) = template {
                        for (p, u) in &self.p.bodies[t].inherited {
                            if self.out.search(e, p) != Some(u) {
                                self.out.declare(e, p, u);
                            }
                        }
                        if !l.uri.is_empty() {
                            let ns = self.out.special_ns(e, &l.uri, &l.prefix)?;
                            self.out.set_ns(e, ns);
                        }
                    }
                    for (prefix, local, uri, value) in &l.attrs {
                        let value = self.avt(value, f)?;
                        let prefix = if uri.is_empty() {
                            String::new()
                        } else {
                            self.out
                                .special_ns(e, uri, prefix)?
                                .map(|(p, _)| p)
                                .unwrap_or_default()
                        };
                        self.out.attribute(e, &prefix, local, uri, value)?;
                    }
                    self.exec(&l.body, f, e, None)?;
                }
                Instr::ApplyTemplates { select, mode } => {
                    let nodes = match select {
                        Some(x) => self.nodes(x, f)?,
                        None => self.children(f.node),
                    };
                    self.apply(&nodes, mode.as_deref(), insert)?;
                }
                Instr::CallTemplate(c) => {
                    self.enter()?;
                    let b = self.p.calls[*c];
                    self.exec(&self.p.bodies[b].instrs, f, insert, Some(b))?;
                    self.depth -= 1;
                }
                Instr::ForEach(x, body) => {
                    let nodes = self.nodes(x, f)?;
                    let size = nodes.len();
                    for (j, &n) in nodes.iter().enumerate() {
                        let g = Focus {
                            node: n,
                            pos: j + 1,
                            size,
                        };
                        self.exec(body, g, insert, None)?;
                    }
                }
                Instr::Copy(body) => self.copy(f, body, insert)?,
                Instr::CopyOf(x) => match self.eval(x, f)? {
                    Value::NodeSet(nodes) => {
                        for n in nodes {
                            self.copy_tree(n, insert, false)?;
                        }
                    }
                    other => {
                        let s = self.string(other);
                        self.out.text(insert, &s);
                    }
                },
                Instr::If(test, body) => {
                    if self.eval(test, f)?.to_boolean() {
                        self.exec(body, f, insert, None)?;
                    }
                }
                Instr::Choose(whens, otherwise) => {
                    let mut chosen = None;
                    for (test, body) in whens {
                        if self.eval(test, f)?.to_boolean() {
                            chosen = Some(body);
                            break;
                        }
                    }
                    self.exec(chosen.unwrap_or(otherwise), f, insert, None)?;
                }
                Instr::Attribute(name, body) => {
                    if self.out.elem(insert).is_none() {
                        return Err(Fallback("an attribute outside an element"));
                    }
                    let name = self.avt(name, f)?;
                    let name = name.trim();
                    if name.contains(':') || name == "xmlns" || !super::pattern::is_qname(name) {
                        return Err(Fallback("an attribute name mint does not write"));
                    }
                    let value = self.capture(body, f)?;
                    self.out.attribute(insert, "", name, "", value)?;
                }
            }
        }
        Ok(())
    }

    /// The text a sequence constructor makes (for `xsl:attribute`).
    fn capture(&mut self, body: &[Instr], f: Focus) -> Result<String> {
        let scratch = self.out.detached();
        self.exec(body, f, scratch, None)?;
        let mut s = String::new();
        for &c in self.out.children(scratch) {
            match self.out.text_of(c) {
                Some(t) => s.push_str(t),
                None => return Err(Fallback("an attribute value with markup")),
            }
        }
        Ok(s)
    }

    fn avt(&self, avt: &Avt, f: Focus) -> Result<String> {
        let mut s = String::new();
        for part in avt {
            match part {
                AvtPart::Text(t) => s.push_str(t),
                AvtPart::Expr(x) => {
                    let v = self.string(self.eval(x, f)?);
                    s.push_str(&v);
                }
            }
        }
        Ok(s)
    }

    /// `xsl:copy`.
    fn copy(&mut self, f: Focus, body: &[Instr], insert: Id) -> Result<()> {
        let n = f.node;
        match self.dom.kind(n) {
            NodeKind::Root => self.exec(body, f, insert, None),
            NodeKind::Element => {
                let (prefix, local, uri) = self.name(n);
                let e = self.out.element(insert, prefix, local);
                let decls = self.decls(n);
                self.out.copy_decls(e, decls);
                self.name_ns(e, insert, uri, prefix)?;
                self.exec(body, f, e, None)
            }
            NodeKind::Attribute => self.copy_attr(n, insert),
            NodeKind::Text => {
                let v = self.dom.string_value(n);
                self.out.text(insert, &v);
                Ok(())
            }
            NodeKind::Comment => {
                let v = self.dom.string_value(n);
                self.out.comment(insert, &v);
                Ok(())
            }
            NodeKind::ProcessingInstruction => {
                let v = self.dom.string_value(n);
                self.out.pi(insert, self.dom.local_name(n), &v);
                Ok(())
            }
            NodeKind::Namespace => Err(Fallback("a copied namespace node")),
        }
    }

    fn name(&self, n: NodeId) -> (&'a str, &'a str, &'a str) {
        let d: &'a Subtree<'a, Document> = self.dom;
        (d.prefix(n), d.local_name(n), d.namespace_uri(n))
    }

    fn copy_attr(&mut self, a: NodeId, target: Id) -> Result<()> {
        if self.out.elem(target).is_none() {
            return Err(Fallback("an attribute outside an element"));
        }
        let (prefix, local, uri) = self.name(a);
        let prefix = if uri.is_empty() {
            String::new()
        } else {
            self.out
                .special_ns(target, uri, prefix)?
                .map(|(p, _)| p)
                .unwrap_or_default()
        };
        let value = self.dom.string_value(a).into_owned();
        self.out.attribute(target, &prefix, local, uri, value)
    }

    /// `xsl:copy-of` of one node (libxslt's `xsltCopyTree`).
    fn copy_tree(&mut self, n: NodeId, insert: Id, visited: bool) -> Result<()> {
        match self.dom.kind(n) {
            NodeKind::Root => {
                for c in self.children(n) {
                    self.copy_tree(c, insert, visited)?;
                }
                Ok(())
            }
            NodeKind::Element => {
                let (prefix, local, uri) = self.name(n);
                let e = self.out.element(insert, prefix, local);
                if !visited && n != self.top {
                    // Every namespace in scope, nearest declaration first.
                    let mut seen: Vec<(&str, &str)> = Vec::new();
                    let mut m = n;
                    loop {
                        for d in self.decls(m) {
                            if !seen.iter().any(|s| s.0 == d.0) {
                                seen.push(d);
                            }
                        }
                        if m == self.top {
                            break;
                        }
                        match self.dom.parent(m) {
                            Some(p) => m = p,
                            None => break,
                        }
                    }
                    for (p, u) in seen {
                        if self.out.search(insert, p) != Some(u) {
                            self.out.declare(e, p, u);
                        }
                    }
                } else {
                    let decls = self.decls(n);
                    self.out.copy_decls(e, decls);
                }
                self.name_ns(e, insert, uri, prefix)?;
                for &a in self.dom.attributes(n) {
                    self.copy_attr(a, e)?;
                }
                for c in self.children(n) {
                    self.copy_tree(c, e, true)?;
                }
                Ok(())
            }
            NodeKind::Attribute => self.copy_attr(n, insert),
            NodeKind::Namespace => Err(Fallback("a copied namespace node")),
            _ => self.copy(
                Focus {
                    node: n,
                    pos: 1,
                    size: 1,
                },
                &[],
                insert,
            ),
        }
    }
}

/// A number as libxml2's XPath writes it (`xmlXPathFormatNumber`): integers in `int` range as
/// such, others with 15 significant digits (scientific notation outside 1e-5..1e9), trailing
/// zeros removed.
pub(crate) fn libxml2_number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if n == 0.0 {
        return "0".into();
    }
    if n > f64::from(i32::MIN) && n < f64::from(i32::MAX) && n == n.trunc() {
        return format!("{}", n as i32);
    }
    let abs = n.abs();
    let (mut digits, exponent) = if !(1e-5..=1e9).contains(&abs) {
        let s = format!("{n:.14e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        (
            m.to_string(),
            Some(format!("e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())),
        )
    } else {
        let integer_place = abs.log10() as i32;
        let fraction = if integer_place > 0 {
            15 - integer_place - 1
        } else {
            15 - integer_place
        };
        (format!("{n:.*}", fraction.max(0) as usize), None)
    };
    if digits.contains('.') {
        while digits.ends_with('0') {
            digits.pop();
        }
        if digits.ends_with('.') {
            digits.pop();
        }
    }
    if let Some(e) = exponent {
        digits.push_str(&e);
    }
    digits
}
