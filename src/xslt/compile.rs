//! A stylesheet's text → [`Program`], or the reason it is left to libxslt.

use std::collections::HashMap;

use bytes::Bytes;

use super::pattern::{is_qname, Pattern};
use crate::xml::Document;
use crate::xpath::dom::{Dom, NodeId, NodeKind};
use crate::xpath::XPath;

pub(crate) const XSLT_NS: &str = "http://www.w3.org/1999/XSL/Transform";

/// A compiled stylesheet (see the module docs for what it may hold).
#[derive(Debug)]
pub struct Program {
    pub(crate) rules: Vec<Rule>,
    pub(crate) bodies: Vec<Body>,
    /// Per `xsl:call-template` (by [`Instr::CallTemplate`]'s index): the body it calls.
    pub(crate) calls: Vec<usize>,
    /// Whether `xsl:output` names no method (libxslt then writes HTML for an `html` result).
    pub(crate) method_implied: bool,
    /// Whether `xsl:output` names an encoding.
    pub(crate) encoding: bool,
    /// `xsl:output indent="yes"`.
    pub(crate) indent: bool,
    /// libxslt ends the document with a newline unless `indent="no"`.
    pub(crate) final_newline: bool,
    /// The XML declaration libxslt writes before the result (None: `omit-xml-declaration`).
    pub(crate) declaration: Option<String>,
}

/// One alternative of a template's match pattern.
#[derive(Debug)]
pub(crate) struct Rule {
    pub pattern: Pattern,
    pub priority: f64,
    pub mode: Option<String>,
    pub body: usize,
}

/// A template's content and the namespaces its first-level literal result elements declare.
#[derive(Debug)]
pub(crate) struct Body {
    pub instrs: Vec<Instr>,
    pub inherited: Vec<(String, String)>,
}

/// A node-set expression, with the shapes stylesheets use most answered without the XPath
/// evaluator.
#[derive(Debug)]
pub(crate) enum Select {
    /// `node()`: the children.
    Children,
    /// `@* | node()` (either order): the attributes, then the children.
    AttributesAndChildren,
    /// `name` or `p:name`: the child elements of that name.
    Child {
        uri: String,
        local: String,
    },
    /// `.`
    Current,
    Any(XPath),
}

#[derive(Debug)]
pub(crate) enum Instr {
    Text(String),
    Literal(Box<Literal>),
    ValueOf(Select),
    ApplyTemplates {
        select: Option<Select>,
        mode: Option<String>,
    },
    CallTemplate(usize),
    ForEach(Select, Vec<Instr>),
    Copy(Vec<Instr>),
    CopyOf(Select),
    If(XPath, Vec<Instr>),
    Choose(Vec<(XPath, Vec<Instr>)>, Vec<Instr>),
    /// `xsl:attribute` with an unprefixed name and no `namespace`.
    Attribute(Avt, Vec<Instr>),
}

#[derive(Debug)]
pub(crate) struct Literal {
    pub prefix: String,
    pub local: String,
    /// The element's namespace URI (`""`: none).
    pub uri: String,
    /// The declarations written on it in the stylesheet (less excluded prefixes).
    pub decls: Vec<(String, String)>,
    /// `(prefix, local, uri, value)`.
    pub attrs: Vec<(String, String, String, Avt)>,
    pub body: Vec<Instr>,
}

#[derive(Debug)]
pub(crate) enum AvtPart {
    Text(String),
    Expr(XPath),
}

pub(crate) type Avt = Vec<AvtPart>;

type Result<T> = std::result::Result<T, String>;

fn no<T>(what: impl Into<String>) -> Result<T> {
    Err(what.into())
}

struct Compiler<'d> {
    doc: &'d Document,
    /// Namespace URIs excluded from the result (`exclude-result-prefixes`).
    excluded: Vec<String>,
    bodies: Vec<Body>,
    named: HashMap<String, usize>,
    /// The template each `xsl:call-template` names, resolved once all are known.
    calls: Vec<String>,
}

impl Program {
    /// Compiles `text`, or says which construct makes it a stylesheet for libxslt.
    pub fn compile(text: &[u8]) -> Result<Program> {
        // mint's tree joins CDATA sections to the text around them; libxslt keeps them apart
        // (and strips the whitespace beside them).
        if memchr::memmem::find(text, b"<![CDATA[").is_some() {
            return no("a CDATA section");
        }
        let doc = Document::parse(Bytes::copy_from_slice(text))
            .map_err(|e| format!("not parsed by mint: {e}"))?;
        let root = doc.root_element();
        if doc.ns(root) != XSLT_NS || !matches!(doc.local(root), "stylesheet" | "transform") {
            return no("a simplified stylesheet");
        }
        let mut c = Compiler {
            doc: &doc,
            excluded: Vec::new(),
            bodies: Vec::new(),
            named: HashMap::new(),
            calls: Vec::new(),
        };
        for &a in doc.attribute_nodes(root) {
            match (doc.ns(a), doc.local(a)) {
                ("", "version" | "id") => {}
                ("", "exclude-result-prefixes") => {
                    for p in doc.value(a).split_whitespace() {
                        let p = if p == "#default" { "" } else { p };
                        let uri = c.resolve(root, p).ok_or("an undeclared excluded prefix")?;
                        c.excluded.push(uri);
                    }
                }
                (ns, local) => return no(format!("stylesheet attribute {ns}:{local}")),
            }
        }
        let mut method_implied = true;
        let mut encoding = false;
        let mut outputs = Vec::new();
        let mut templates = Vec::new();
        for n in doc.children(root) {
            match doc.kind(n) {
                NodeKind::Element => {}
                NodeKind::Text if doc.value(n).trim_matches(super::XML_WS).is_empty() => continue,
                NodeKind::Comment | NodeKind::ProcessingInstruction => continue,
                _ => return no("text at the top level"),
            }
            if doc.ns(n) != XSLT_NS {
                continue;
            }
            match doc.local(n) {
                "output" => {
                    let (implied, enc) = c.output(n)?;
                    method_implied &= implied;
                    encoding |= enc;
                    outputs.push(n);
                }
                "template" => templates.push(n),
                other => return no(format!("xsl:{other}")),
            }
        }
        let mut order = Vec::new();
        for t in templates {
            c.check_attrs(t, &["match", "name", "priority", "mode"])?;
            let instrs = c.sequence(t)?;
            let inherited = c.inherited(t);
            let body = c.bodies.len();
            c.bodies.push(Body { instrs, inherited });
            if let Some(name) = c.doc.attribute(t, "", "name") {
                let name = c.qname(t, name)?;
                // The last definition wins in libxslt only with import precedence; two of
                // the same name are an error.
                if c.named.insert(name, body).is_some() {
                    return no("two templates of one name");
                }
            }
            let Some(m) = c.doc.attribute(t, "", "match") else {
                continue;
            };
            let mode = match c.doc.attribute(t, "", "mode") {
                Some(m) => Some(c.qname(t, m)?),
                None => None,
            };
            let priority = match c.doc.attribute(t, "", "priority") {
                // libxslt reads an XPath number into a C float.
                Some(p) => match crate::xpath::parse_number(p) {
                    v if v.is_finite() => Some(f64::from(v as f32)),
                    _ => return no("a priority that is no number"),
                },
                None => None,
            };
            let resolve = |p: &str| c.resolve(t, p);
            for pattern in Pattern::parse(m, &resolve).map_err(str::to_string)? {
                order.push(Rule {
                    priority: priority.unwrap_or_else(|| pattern.priority()),
                    pattern,
                    mode: mode.clone(),
                    body,
                });
            }
        }
        let mut calls = Vec::with_capacity(c.calls.len());
        for name in &c.calls {
            match c.named.get(name) {
                Some(&b) => calls.push(b),
                None => return no(format!("a call of the missing template {name}")),
            }
        }
        // Highest priority first; among equal priorities the last in the stylesheet first
        // (libxslt picks the last one).
        order.reverse();
        order.sort_by(|a, b| b.priority.total_cmp(&a.priority));
        // The last xsl:output that names each attribute wins.
        let last = |name: &str| {
            outputs
                .iter()
                .rev()
                .find_map(|&o| doc.attribute(o, "", name).map(str::trim))
        };
        let declaration = match last("omit-xml-declaration") {
            Some("yes") => None,
            _ => {
                let mut d = format!("<?xml version=\"{}\"", last("version").unwrap_or("1.0"));
                if let Some(e) = last("encoding") {
                    d.push_str(&format!(" encoding=\"{e}\""));
                }
                d.push_str("?>\n");
                Some(d)
            }
        };
        let indent = last("indent") == Some("yes");
        Ok(Program {
            indent,
            final_newline: last("indent") != Some("no"),
            declaration,
            rules: order,
            bodies: c.bodies,
            calls,
            method_implied,
            encoding,
        })
    }
}

impl Compiler<'_> {
    fn resolve(&self, n: NodeId, prefix: &str) -> Option<String> {
        if prefix == "xml" {
            return Some("http://www.w3.org/XML/1998/namespace".into());
        }
        self.doc
            .namespaces(n)
            .iter()
            .find(|&&b| self.doc.local_name(b) == prefix)
            .map(|&b| self.doc.string_value(b).into_owned())
            .filter(|u| !(prefix.is_empty() && u.is_empty()))
            .or_else(|| prefix.is_empty().then(String::new))
    }

    /// An expanded name `{uri}local` for a QName in the stylesheet (no default namespace).
    fn qname(&self, n: NodeId, name: &str) -> Result<String> {
        let name = name.trim_matches(super::XML_WS);
        if !is_qname(name) {
            return no("a malformed name");
        }
        Ok(match name.split_once(':') {
            Some((p, l)) => format!(
                "{{{}}}{l}",
                self.resolve(n, p).ok_or("an undeclared prefix")?
            ),
            None => name.to_string(),
        })
    }

    fn check_attrs(&self, n: NodeId, known: &[&str]) -> Result<()> {
        for &a in self.doc.attribute_nodes(n) {
            let local = self.doc.local(a);
            if !self.doc.ns(a).is_empty() || !known.contains(&local) {
                return no(format!("xsl:{} attribute {local}", self.doc.local(n)));
            }
        }
        Ok(())
    }

    /// `xsl:output`: whether it names no method, and whether it names an encoding.
    fn output(&self, n: NodeId) -> Result<(bool, bool)> {
        let mut implied = true;
        let mut encoding = false;
        for &a in self.doc.attribute_nodes(n) {
            if !self.doc.ns(a).is_empty() {
                continue;
            }
            let v = self.doc.value(a).trim_matches(super::XML_WS);
            match self.doc.local(a) {
                "method" if v == "xml" => implied = false,
                "indent" if v == "no" || v == "yes" => {}
                "encoding" if v.eq_ignore_ascii_case("utf-8") => encoding = true,
                "omit-xml-declaration" if v == "yes" || v == "no" => {}
                "version" if v.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {}
                "media-type" => {}
                other => return no(format!("xsl:output {other}=\"{v}\"")),
            }
        }
        Ok((implied, encoding))
    }

    fn xpath(&self, n: NodeId, text: &str) -> Result<XPath> {
        let ns: Vec<(String, String)> = self
            .doc
            .namespaces(n)
            .iter()
            .map(|&b| {
                (
                    self.doc.local_name(b).to_string(),
                    self.doc.string_value(b).into_owned(),
                )
            })
            .filter(|(p, _)| !p.is_empty())
            .collect();
        let x = XPath::compile(text, &ns).map_err(|e| format!("XPath '{text}': {e}"))?;
        if !x.is_plain_xpath1() {
            return no(format!("XPath '{text}' beyond XPath 1.0"));
        }
        Ok(x)
    }

    /// Attribute `name` of `n` as a [`Select`].
    fn fast(&self, n: NodeId, name: &str) -> Result<Select> {
        let x = self.select(n, name)?;
        let compact: String = x
            .source()
            .chars()
            .filter(|c| !super::XML_WS.contains(c))
            .collect();
        let name = x.source().trim_matches(super::XML_WS);
        Ok(match compact.as_str() {
            "node()" | "child::node()" => Select::Children,
            "@*|node()" | "node()|@*" => Select::AttributesAndChildren,
            "." | "self::node()" => Select::Current,
            _ if is_qname(name) => {
                let (uri, local) = match name.split_once(':') {
                    Some((p, l)) => (self.resolve(n, p).ok_or("an undeclared prefix")?, l),
                    None => (String::new(), name),
                };
                Select::Child {
                    uri,
                    local: local.to_string(),
                }
            }
            _ => Select::Any(x),
        })
    }

    fn select(&self, n: NodeId, name: &str) -> Result<XPath> {
        match self.doc.attribute(n, "", name) {
            Some(s) => self.xpath(n, s),
            None => no(format!("xsl:{} without {name}", self.doc.local(n))),
        }
    }

    /// The namespaces a template's first-level literal result elements declare: those in
    /// scope on the template element, less the XSLT namespace and excluded ones (libxslt's
    /// `xsltGetInheritedNsList`).
    fn inherited(&self, t: NodeId) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut n = Some(t);
        while let Some(e) = n {
            if self.doc.kind(e) != NodeKind::Element {
                break;
            }
            for (p, u) in self.doc.declared_namespaces(e) {
                if u == XSLT_NS || self.excluded.iter().any(|x| x == u) {
                    continue;
                }
                if out.iter().any(|(q, _)| q == p) {
                    continue;
                }
                out.push((p.to_string(), u.to_string()));
            }
            n = self.doc.parent(e);
        }
        out
    }

    /// The instructions of a sequence constructor (the children of `n`).
    fn sequence(&mut self, n: NodeId) -> Result<Vec<Instr>> {
        let mut out = Vec::new();
        for c in self.doc.children(n) {
            match self.doc.kind(c) {
                NodeKind::Text => {
                    let t = self.doc.value(c);
                    if !t.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
                        out.push(Instr::Text(t.to_string()));
                    }
                }
                NodeKind::Element => out.push(self.instruction(c)?),
                _ => {}
            }
        }
        Ok(out)
    }

    fn instruction(&mut self, n: NodeId) -> Result<Instr> {
        let d = self.doc;
        if d.ns(n) != XSLT_NS {
            return self.literal(n);
        }
        Ok(match d.local(n) {
            "value-of" => {
                self.check_attrs(n, &["select"])?;
                Instr::ValueOf(self.fast(n, "select")?)
            }
            "apply-templates" => {
                self.check_attrs(n, &["select", "mode"])?;
                if d.child_elements(n).next().is_some() {
                    return no("xsl:apply-templates with xsl:sort or xsl:with-param");
                }
                Instr::ApplyTemplates {
                    select: match d.attribute(n, "", "select") {
                        Some(_) => Some(self.fast(n, "select")?),
                        None => None,
                    },
                    mode: match d.attribute(n, "", "mode") {
                        Some(m) => Some(self.qname(n, m)?),
                        None => None,
                    },
                }
            }
            "call-template" => {
                self.check_attrs(n, &["name"])?;
                if d.child_elements(n).next().is_some() {
                    return no("xsl:call-template with xsl:with-param");
                }
                let name = self.qname(n, d.attribute(n, "", "name").unwrap_or_default())?;
                self.calls.push(name.clone());
                Instr::CallTemplate(self.calls.len() - 1)
            }
            "for-each" => {
                self.check_attrs(n, &["select"])?;
                Instr::ForEach(self.fast(n, "select")?, self.sequence_no_sort(n)?)
            }
            "copy" => {
                self.check_attrs(n, &[])?;
                Instr::Copy(self.sequence(n)?)
            }
            "copy-of" => {
                self.check_attrs(n, &["select"])?;
                Instr::CopyOf(self.fast(n, "select")?)
            }
            "if" => {
                self.check_attrs(n, &["test"])?;
                Instr::If(self.select(n, "test")?, self.sequence(n)?)
            }
            "choose" => {
                self.check_attrs(n, &[])?;
                let mut whens = Vec::new();
                let mut otherwise = None;
                for c in d.children(n) {
                    match d.kind(c) {
                        NodeKind::Element => {}
                        NodeKind::Text if d.value(c).trim_matches(super::XML_WS).is_empty() => {
                            continue
                        }
                        NodeKind::Comment | NodeKind::ProcessingInstruction => continue,
                        _ => return no("text in xsl:choose"),
                    }
                    match (d.ns(c), d.local(c)) {
                        (XSLT_NS, "when") if otherwise.is_none() => {
                            self.check_attrs(c, &["test"])?;
                            whens.push((self.select(c, "test")?, self.sequence(c)?));
                        }
                        (XSLT_NS, "otherwise") if otherwise.is_none() => {
                            self.check_attrs(c, &[])?;
                            otherwise = Some(self.sequence(c)?);
                        }
                        _ => return no("a malformed xsl:choose"),
                    }
                }
                if whens.is_empty() {
                    return no("xsl:choose without xsl:when");
                }
                Instr::Choose(whens, otherwise.unwrap_or_default())
            }
            "text" => {
                self.check_attrs(n, &[])?;
                let mut t = String::new();
                for c in d.children(n) {
                    match d.kind(c) {
                        NodeKind::Text => t.push_str(d.value(c)),
                        NodeKind::Comment => {}
                        _ => return no("xsl:text with markup"),
                    }
                }
                Instr::Text(t)
            }
            "attribute" => {
                self.check_attrs(n, &["name"])?;
                let name = d.attribute(n, "", "name").unwrap_or_default();
                if name.contains(':') || name.trim_matches(super::XML_WS) == "xmlns" {
                    return no("xsl:attribute with a prefixed name");
                }
                Instr::Attribute(self.avt(n, name)?, self.sequence(n)?)
            }
            other => return no(format!("xsl:{other}")),
        })
    }

    /// The content of `xsl:for-each` (an `xsl:sort` is not run here).
    fn sequence_no_sort(&mut self, n: NodeId) -> Result<Vec<Instr>> {
        if self
            .doc
            .child_elements(n)
            .any(|c| self.doc.ns(c) == XSLT_NS && self.doc.local(c) == "sort")
        {
            return no("xsl:sort");
        }
        self.sequence(n)
    }

    fn literal(&mut self, n: NodeId) -> Result<Instr> {
        let d = self.doc;
        let mut attrs = Vec::new();
        for &a in d.attribute_nodes(n) {
            let (uri, local) = (d.ns(a), d.local(a));
            if uri == XSLT_NS {
                return no(format!("xsl:{local} on a literal result element"));
            }
            if d.prefix(a) == "xml" && local == "space" {
                return no("xml:space");
            }
            attrs.push((
                d.prefix(a).to_string(),
                local.to_string(),
                uri.to_string(),
                self.avt(n, d.value(a))?,
            ));
        }
        let decls = d
            .declared_namespaces(n)
            .into_iter()
            .filter(|(p, u)| p.is_empty() || !self.excluded.iter().any(|x| x == u))
            .map(|(p, u)| (p.to_string(), u.to_string()))
            .collect();
        Ok(Instr::Literal(Box::new(Literal {
            prefix: d.prefix(n).to_string(),
            local: d.local(n).to_string(),
            uri: d.ns(n).to_string(),
            decls,
            attrs,
            body: self.sequence(n)?,
        })))
    }

    /// An attribute value template.
    fn avt(&self, n: NodeId, text: &str) -> Result<Avt> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            lit.push_str(&rest[..i]);
            let c = rest.as_bytes()[i];
            let after = &rest[i + 1..];
            if after.as_bytes().first() == Some(&c) {
                lit.push(c as char);
                rest = &after[1..];
                continue;
            }
            if c == b'}' {
                return no("an unbalanced '}' in an attribute value template");
            }
            let Some(end) = after.find('}') else {
                return no("an unclosed '{' in an attribute value template");
            };
            let expr = &after[..end];
            if expr.contains(['\'', '"', '{']) {
                return no("an attribute value template with literals");
            }
            if !lit.is_empty() {
                parts.push(AvtPart::Text(std::mem::take(&mut lit)));
            }
            parts.push(AvtPart::Expr(self.xpath(n, expr)?));
            rest = &after[end + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(AvtPart::Text(lit));
        }
        Ok(parts)
    }
}
