//! Running a [`Program`] over one element of a parsed message.

use std::borrow::Cow;

use super::compile::{Avt, AvtPart, Instr, Program, Select};
use super::output::Out;
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

type Result<T> = std::result::Result<T, Fallback>;

impl Program {
    /// Transforms element `top` of `doc`, seen as the root element of the input document
    /// (what libxslt sees when given that element on its own). The result element as libxslt
    /// writes it, without the XML declaration.
    pub fn transform(&self, doc: &Document, top: NodeId) -> Result<String> {
        let range = doc.source_range(top);
        // libxml2 keeps CDATA sections as nodes of their own; mint's tree joins them to the
        // text around them.
        if memchr::memmem::find(&doc.source()[range.clone()], b"<![CDATA[").is_some() {
            return Err(Fallback("a CDATA section in the input"));
        }
        let dom = Subtree { dom: doc, top };
        let capacity = range.len() + 256;
        let mut ex = Exec {
            p: self,
            doc,
            dom: &dom,
            top,
            out: Out::new(!self.encoding, self.indent, capacity),
            depth: 0,
            scratch: Vec::with_capacity(64),
            top_decls: None,
        };
        crate::xpath::with_exponents(|| ex.process(ROOT, 1, 1, None))?;
        if self.method_implied
            && ex
                .out
                .first_top_local
                .is_some_and(|l| l.eq_ignore_ascii_case("html"))
        {
            return Err(Fallback("an html result"));
        }
        ex.out.finish()
    }

    /// [`Program::transform`] as a whole document: the XML declaration libxslt writes (unless
    /// `omit-xml-declaration`), then the result element (what fastXSLT sends).
    pub fn transform_document(&self, doc: &Document, top: NodeId) -> Result<Vec<u8>> {
        let body = self.transform(doc, top)?;
        let decl = self.declaration.as_deref().unwrap_or("");
        let mut out = Vec::with_capacity(decl.len() + body.len() + 1);
        out.extend_from_slice(decl.as_bytes());
        out.extend_from_slice(body.as_bytes());
        // libxslt ends the document with a newline unless told `indent="no"`.
        if self.final_newline {
            out.push(b'\n');
        }
        Ok(out)
    }
}

struct Exec<'a> {
    p: &'a Program,
    doc: &'a Document,
    dom: &'a Subtree<'a, Document>,
    top: NodeId,
    out: Out<'a>,
    depth: usize,
    /// Node lists being processed, innermost last: each `apply` pushes its nodes and
    /// truncates them when done (one allocation for the whole transformation).
    scratch: Vec<NodeId>,
    /// The top element's declarations in libxslt's copy of the input, made once (finding them
    /// walks the whole subtree).
    top_decls: Option<Vec<(&'a str, &'a str)>>,
}

/// The context: node, position, size.
#[derive(Clone, Copy)]
struct Focus {
    node: NodeId,
    pos: usize,
    size: usize,
}

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

    fn children(dom: &Subtree<'_, Document>, n: NodeId, out: &mut Vec<NodeId>) {
        let mut c = dom.first_child(n);
        while let Some(x) = c {
            out.push(x);
            c = dom.next_sibling(x);
        }
    }

    /// The first child element of `n` named `(uri, local)`.
    fn child_named(&self, n: NodeId, uri: &str, local: &str) -> Option<NodeId> {
        let mut c = self.dom.first_child(n);
        while let Some(x) = c {
            if self.is_named(x, uri, local) {
                return Some(x);
            }
            c = self.dom.next_sibling(x);
        }
        None
    }

    fn is_named(&self, x: NodeId, uri: &str, local: &str) -> bool {
        self.dom.kind(x) == NodeKind::Element
            && self.dom.local_name(x) == local
            && self.dom.namespace_uri(x) == uri
    }

    /// Pushes the nodes `s` selects, in document order, onto `out`.
    fn nodes(&self, s: &Select, f: Focus, out: &mut Vec<NodeId>) -> Result<()> {
        let dom = self.dom;
        if dom.kind(f.node) == NodeKind::Attribute
            && matches!(s, Select::Children | Select::AttributesAndChildren)
        {
            // libxslt walks an attribute's text node here; XPath has none.
            return Err(Fallback("the children of an attribute"));
        }
        match s {
            Select::Children => Self::children(dom, f.node, out),
            Select::AttributesAndChildren => {
                if dom.kind(f.node) == NodeKind::Element {
                    out.extend_from_slice(dom.attributes(f.node));
                }
                Self::children(dom, f.node, out);
            }
            Select::Child { uri, local } => {
                let mut c = dom.first_child(f.node);
                while let Some(x) = c {
                    if self.is_named(x, uri, local) {
                        out.push(x);
                    }
                    c = dom.next_sibling(x);
                }
            }
            Select::Current => out.push(f.node),
            Select::Any(x) => match self.eval(x, f)? {
                Value::NodeSet(n) => out.extend_from_slice(&n),
                _ => return Err(Fallback("a select that is no node-set")),
            },
        }
        Ok(())
    }

    /// Selects onto the scratch stack; the range of the new nodes there.
    fn select(&mut self, s: &Select, f: Focus) -> Result<std::ops::Range<usize>> {
        let start = self.scratch.len();
        let mut scratch = std::mem::take(&mut self.scratch);
        let r = self.nodes(s, f, &mut scratch);
        self.scratch = scratch;
        r?;
        Ok(start..self.scratch.len())
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Fallback("templates nested too deep"));
        }
        Ok(())
    }

    /// Applies templates to the nodes at `range` of the scratch stack, then drops them.
    fn apply(&mut self, range: std::ops::Range<usize>, mode: Option<&str>) -> Result<()> {
        let size = range.len();
        let start = range.start;
        for i in range {
            let n = self.scratch[i];
            self.process(n, i - start + 1, size, mode)?;
        }
        self.scratch.truncate(start);
        Ok(())
    }

    /// Applies the best template rule for `node` (or the built-in one).
    fn process(&mut self, node: NodeId, pos: usize, size: usize, mode: Option<&str>) -> Result<()> {
        self.enter()?;
        let p: &'a Program = self.p;
        let rule = p
            .rules
            .iter()
            .find(|r| r.mode.as_deref() == mode && r.pattern.matches(self.dom, node));
        let f = Focus { node, pos, size };
        match rule {
            Some(r) => self.exec(&p.bodies[r.body].instrs, f, Some(r.body))?,
            None => match self.dom.kind(node) {
                NodeKind::Root | NodeKind::Element => {
                    let range = self.select(&Select::Children, f)?;
                    self.apply(range, mode)?;
                }
                NodeKind::Text | NodeKind::Attribute => {
                    let d: &'a Subtree<'a, Document> = self.dom;
                    let v = d.string_value(node);
                    if v.is_empty() {
                        // libxslt adds an empty text node (`<r></r>`, not `<r/>`).
                        return Err(Fallback("an empty attribute by the built-in template"));
                    }
                    self.out.text(&v)?;
                }
                _ => {}
            },
        }
        self.depth -= 1;
        Ok(())
    }

    /// The declarations on source element `n` in libxslt's copy of the input.
    fn decls(&mut self, n: NodeId) -> Result<Vec<(&'a str, &'a str)>> {
        let d: &'a Document = self.doc;
        let decls = if n == self.top {
            self.top_decls
                .get_or_insert_with(|| d.standalone_namespaces(n))
                .clone()
        } else {
            d.declared_namespaces(n)
        };
        // mint's tree does not keep where `xmlns=""` stood among the others.
        if decls.len() > 1 && decls.contains(&("", "")) {
            return Err(Fallback("xmlns=\"\" beside other declarations"));
        }
        Ok(decls)
    }

    /// Gives the element just opened the namespace (`uri`, `prefix`) of its name, or
    /// undeclares an inherited default namespace. `parent_has_ns`: whether the element it
    /// went into has a namespace.
    fn name_ns(&mut self, uri: &'a str, prefix: &'a str, parent_has_ns: bool) -> Result<()> {
        if !uri.is_empty() {
            let p = self.out.special_ns(uri, prefix)?;
            self.out.set_ns(p, uri);
        } else if parent_has_ns {
            self.out.special_ns("", "")?;
        }
        Ok(())
    }

    /// Runs a sequence constructor. `template` is the body (of a template rule or named
    /// template) whose first-level literal result elements take its inherited namespaces.
    fn exec(&mut self, instrs: &'a [Instr], f: Focus, template: Option<usize>) -> Result<()> {
        let p: &'a Program = self.p;
        for i in instrs {
            match i {
                Instr::Text(t) => self.out.text(t)?,
                Instr::ValueOf(s) => self.value_of(s, f)?,
                Instr::Literal(l) => {
                    let parent_has_ns = self.out.current_has_ns();
                    self.out.open(&l.prefix, &l.local)?;
                    self.out
                        .copy_decls(l.decls.iter().map(|(p, u)| (p.as_str(), u.as_str())), true);
                    self.name_ns(&l.uri, &l.prefix, parent_has_ns)?;
                    if let Some(t) = template {
                        for (p, u) in &p.bodies[t].inherited {
                            if self.out.search(0, p) != Some(u.as_str()) {
                                self.out.declare(p, u);
                            }
                        }
                        if !l.uri.is_empty() {
                            let ns = self.out.special_ns(&l.uri, &l.prefix)?;
                            self.out.set_ns(ns, &l.uri);
                        }
                    }
                    for (prefix, local, uri, value) in &l.attrs {
                        let value = self.avt(value, f)?;
                        let prefix = if uri.is_empty() {
                            ""
                        } else {
                            self.out.special_ns(uri, prefix)?.unwrap_or_default()
                        };
                        self.out
                            .attribute(prefix, Cow::Borrowed(local), uri, Cow::Owned(value))?;
                    }
                    self.exec(&l.body, f, None)?;
                    self.out.close();
                }
                Instr::ApplyTemplates { select, mode } => {
                    let range = self.select(select.as_ref().unwrap_or(&Select::Children), f)?;
                    self.apply(range, mode.as_deref())?;
                }
                Instr::CallTemplate(c) => {
                    self.enter()?;
                    let b = p.calls[*c];
                    self.exec(&p.bodies[b].instrs, f, Some(b))?;
                    self.depth -= 1;
                }
                Instr::ForEach(s, body) => {
                    let range = self.select(s, f)?;
                    let (start, size) = (range.start, range.len());
                    for i in range {
                        let g = Focus {
                            node: self.scratch[i],
                            pos: i - start + 1,
                            size,
                        };
                        self.exec(body, g, None)?;
                    }
                    self.scratch.truncate(start);
                }
                Instr::Copy(body) => self.copy(f, body)?,
                Instr::CopyOf(Select::Any(x)) => match self.eval(x, f)? {
                    Value::NodeSet(nodes) => {
                        for n in nodes {
                            self.copy_tree(n, false)?;
                        }
                    }
                    other => {
                        let s = self.string(other);
                        self.out.text(&s)?;
                    }
                },
                Instr::CopyOf(s) => {
                    let range = self.select(s, f)?;
                    let start = range.start;
                    for i in range {
                        self.copy_tree(self.scratch[i], false)?;
                    }
                    self.scratch.truncate(start);
                }
                Instr::If(test, body) => {
                    if self.eval(test, f)?.to_boolean() {
                        self.exec(body, f, None)?;
                    }
                }
                Instr::Choose(whens, otherwise) => {
                    let mut chosen = otherwise;
                    for (test, body) in whens {
                        if self.eval(test, f)?.to_boolean() {
                            chosen = body;
                            break;
                        }
                    }
                    self.exec(chosen, f, None)?;
                }
                Instr::Attribute(name, body) => {
                    if !self.out.in_element() {
                        return Err(Fallback("an attribute outside an element"));
                    }
                    let name = self.avt(name, f)?;
                    if name.contains(':') || name == "xmlns" || !super::pattern::is_qname(&name) {
                        return Err(Fallback("an attribute name mint does not write"));
                    }
                    self.out.capture();
                    let r = self.exec(body, f, None);
                    let value = self.out.captured();
                    r?;
                    self.out
                        .attribute("", Cow::Owned(name), "", Cow::Owned(value))?;
                }
            }
        }
        Ok(())
    }

    fn value_of(&mut self, s: &Select, f: Focus) -> Result<()> {
        let d: &'a Subtree<'a, Document> = self.dom;
        match s {
            Select::Child { uri, local } => {
                if let Some(c) = self.child_named(f.node, uri, local) {
                    self.out.text(&d.string_value(c))?;
                }
                Ok(())
            }
            Select::Current => self.out.text(&d.string_value(f.node)),
            Select::Any(x) => {
                let s = self.string(self.eval(x, f)?);
                self.out.text(&s)
            }
            other => {
                let range = self.select(other, f)?;
                let first = self.scratch.get(range.start).copied();
                self.scratch.truncate(range.start);
                if let (Some(first), false) = (first, range.is_empty()) {
                    self.out.text(&d.string_value(first))?;
                }
                Ok(())
            }
        }
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

    fn name(&self, n: NodeId) -> (&'a str, &'a str, &'a str) {
        let d: &'a Subtree<'a, Document> = self.dom;
        (d.prefix(n), d.local_name(n), d.namespace_uri(n))
    }

    /// `xsl:copy`.
    fn copy(&mut self, f: Focus, body: &'a [Instr]) -> Result<()> {
        let n = f.node;
        let d: &'a Subtree<'a, Document> = self.dom;
        match d.kind(n) {
            NodeKind::Root => self.exec(body, f, None),
            NodeKind::Element => {
                let (prefix, local, uri) = self.name(n);
                let parent_has_ns = self.out.current_has_ns();
                self.out.open(prefix, local)?;
                let decls = self.decls(n)?;
                self.out.copy_decls(decls, false);
                self.name_ns(uri, prefix, parent_has_ns)?;
                self.exec(body, f, None)?;
                self.out.close();
                Ok(())
            }
            NodeKind::Attribute => self.copy_attr(n),
            NodeKind::Text => self.out.text(&d.string_value(n)),
            NodeKind::Comment => self.out.comment(&d.string_value(n)),
            NodeKind::ProcessingInstruction => {
                let data = d.string_value(n);
                if data.is_empty() {
                    // `<?pi ?>` and `<?pi?>` are one node in mint's tree, two in libxml2's.
                    return Err(Fallback("a processing instruction without data"));
                }
                self.out.pi(d.local_name(n), &data)
            }
            NodeKind::Namespace => Err(Fallback("a copied namespace node")),
        }
    }

    fn copy_attr(&mut self, a: NodeId) -> Result<()> {
        if !self.out.in_element() {
            return Err(Fallback("an attribute outside an element"));
        }
        let (prefix, local, uri) = self.name(a);
        let prefix = if uri.is_empty() {
            ""
        } else {
            self.out.special_ns(uri, prefix)?.unwrap_or_default()
        };
        let d: &'a Subtree<'a, Document> = self.dom;
        self.out
            .attribute(prefix, Cow::Borrowed(local), uri, d.string_value(a))
    }

    /// `xsl:copy-of` of one node (libxslt's `xsltCopyTree`).
    fn copy_tree(&mut self, n: NodeId, visited: bool) -> Result<()> {
        let d: &'a Subtree<'a, Document> = self.dom;
        match d.kind(n) {
            NodeKind::Root => {
                let mut c = d.first_child(n);
                while let Some(x) = c {
                    self.copy_tree(x, visited)?;
                    c = d.next_sibling(x);
                }
                Ok(())
            }
            NodeKind::Element => {
                let (prefix, local, uri) = self.name(n);
                let parent_has_ns = self.out.current_has_ns();
                if !visited && n != self.top {
                    // Every namespace in scope, nearest declaration first, unless the output
                    // binds it the same way where the copy goes.
                    let mut seen: Vec<(&'a str, &'a str)> = Vec::new();
                    let mut m = n;
                    loop {
                        for decl in self.decls(m)? {
                            if !seen.iter().any(|s| s.0 == decl.0) {
                                seen.push(decl);
                            }
                        }
                        if m == self.top {
                            break;
                        }
                        match d.parent(m) {
                            Some(p) => m = p,
                            None => break,
                        }
                    }
                    let needed: Vec<_> = seen
                        .into_iter()
                        .filter(|&(p, u)| self.out.search(0, p) != Some(u))
                        .collect();
                    self.out.open(prefix, local)?;
                    for (p, u) in needed {
                        self.out.declare(p, u);
                    }
                } else {
                    self.out.open(prefix, local)?;
                    let decls = self.decls(n)?;
                    self.out.copy_decls(decls, false);
                }
                self.name_ns(uri, prefix, parent_has_ns)?;
                for &a in d.attributes(n) {
                    self.copy_attr(a)?;
                }
                let mut c = d.first_child(n);
                while let Some(x) = c {
                    self.copy_tree(x, true)?;
                    c = d.next_sibling(x);
                }
                self.out.close();
                Ok(())
            }
            NodeKind::Attribute => self.copy_attr(n),
            NodeKind::Namespace => Err(Fallback("a copied namespace node")),
            _ => self.copy(
                Focus {
                    node: n,
                    pos: 1,
                    size: 1,
                },
                &[],
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
