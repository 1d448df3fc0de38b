//! Match patterns without predicates (`/`, `a`, `p:a`, `p:*`, `*`, `@a`, `@*`, `node()`,
//! `text()`, `comment()`, `processing-instruction()`, joined by `/` and `//`, alternatives by
//! `|`), their default priorities (XSLT 1.0 §5.5) and matching.

use crate::xpath::dom::{Dom, NodeId, NodeKind};

#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// An expanded name.
    Name {
        uri: String,
        local: String,
    },
    /// `p:*`.
    AnyIn(String),
    /// `*` (elements on the child axis, attributes on the attribute axis).
    Principal,
    Node,
    Text,
    Comment,
    Pi(Option<String>),
}

#[derive(Debug, Clone)]
struct Step {
    attribute: bool,
    test: Test,
    /// How this step relates to the one before it (to its left).
    descendant: bool,
}

/// One alternative of a pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// Left to right.
    steps: Vec<Step>,
    /// Starts with `/` (the first step's parent must be the document node).
    absolute: bool,
    /// Starts with `//` (which matches as the same pattern without it, at priority 0.5).
    descendant_root: bool,
}

impl Pattern {
    /// Parses `text` into its alternatives; `resolve` maps a prefix to its namespace. `Err` is
    /// the reason it is not handled here.
    pub(crate) fn parse(
        text: &str,
        resolve: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<Pattern>, &'static str> {
        if text.contains(['[', '$', '"', '\'']) {
            return Err("a pattern with predicates, variables or literals");
        }
        let mut out = Vec::new();
        for alt in text.split('|') {
            let alt = alt.trim_matches(super::XML_WS);
            if alt.is_empty() {
                return Err("an empty pattern");
            }
            if alt.starts_with("id(") || alt.starts_with("key(") {
                return Err("an id() or key() pattern");
            }
            let descendant_root = alt.starts_with("//");
            let (absolute, rest) = match alt.strip_prefix("//") {
                Some(r) => (false, r),
                None => match alt.strip_prefix('/') {
                    Some(r) => (true, r),
                    None => (false, alt),
                },
            };
            let mut steps = Vec::new();
            if !rest.trim_matches(super::XML_WS).is_empty() {
                let mut descendant = false;
                for (i, part) in rest.split('/').enumerate() {
                    let part = part.trim_matches(super::XML_WS);
                    if part.is_empty() {
                        if i == 0 || descendant {
                            return Err("a malformed pattern");
                        }
                        descendant = true;
                        continue;
                    }
                    steps.push(step(part, descendant, resolve)?);
                    descendant = false;
                }
                if descendant {
                    return Err("a malformed pattern");
                }
            } else if !absolute {
                return Err("a malformed pattern");
            }
            out.push(Pattern {
                steps,
                absolute,
                descendant_root,
            });
        }
        Ok(out)
    }

    /// The default priority (XSLT 1.0 §5.5).
    pub(crate) fn priority(&self) -> f64 {
        match (self.absolute || self.descendant_root, self.steps.as_slice()) {
            (false, [one]) => match &one.test {
                Test::Name { .. } | Test::Pi(Some(_)) => 0.0,
                Test::AnyIn(_) => -0.25,
                _ => -0.5,
            },
            _ => 0.5,
        }
    }

    pub(crate) fn matches<D: Dom + ?Sized>(&self, dom: &D, n: NodeId) -> bool {
        if self.steps.is_empty() {
            return self.absolute && dom.kind(n) == NodeKind::Root;
        }
        self.match_from(dom, n, self.steps.len() - 1)
    }

    /// Whether `n` matches steps `..=i`, step `i` being matched against `n` itself.
    fn match_from<D: Dom + ?Sized>(&self, dom: &D, n: NodeId, i: usize) -> bool {
        let s = &self.steps[i];
        if !step_matches(dom, n, s) {
            return false;
        }
        let Some(parent) = dom.parent(n) else {
            return false;
        };
        if i == 0 {
            return !self.absolute || dom.kind(parent) == NodeKind::Root;
        }
        if s.descendant {
            let mut a = Some(parent);
            while let Some(p) = a {
                if self.match_from(dom, p, i - 1) {
                    return true;
                }
                a = dom.parent(p);
            }
            false
        } else {
            self.match_from(dom, parent, i - 1)
        }
    }
}

fn step_matches<D: Dom + ?Sized>(dom: &D, n: NodeId, s: &Step) -> bool {
    let kind = dom.kind(n);
    if s.attribute {
        if kind != NodeKind::Attribute {
            return false;
        }
    } else if !matches!(
        kind,
        NodeKind::Element | NodeKind::Text | NodeKind::Comment | NodeKind::ProcessingInstruction
    ) {
        return false;
    }
    let principal = if s.attribute {
        NodeKind::Attribute
    } else {
        NodeKind::Element
    };
    match &s.test {
        Test::Node => true,
        Test::Text => kind == NodeKind::Text,
        Test::Comment => kind == NodeKind::Comment,
        Test::Pi(t) => {
            kind == NodeKind::ProcessingInstruction
                && t.as_deref().is_none_or(|t| dom.local_name(n) == t)
        }
        Test::Principal => kind == principal,
        Test::AnyIn(uri) => kind == principal && dom.namespace_uri(n) == uri,
        Test::Name { uri, local } => {
            kind == principal && dom.local_name(n) == local && dom.namespace_uri(n) == uri
        }
    }
}

fn step(
    text: &str,
    descendant: bool,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Result<Step, &'static str> {
    let (attribute, t) = if let Some(r) = text.strip_prefix('@') {
        (true, r.trim_matches(super::XML_WS))
    } else if let Some(r) = text.strip_prefix("attribute::") {
        (true, r.trim_matches(super::XML_WS))
    } else if let Some(r) = text.strip_prefix("child::") {
        (false, r.trim_matches(super::XML_WS))
    } else {
        (false, text)
    };
    if t.contains("::") {
        return Err("a pattern axis mint does not run");
    }
    let compact: String = t.chars().filter(|c| !super::XML_WS.contains(c)).collect();
    let test = match compact.as_str() {
        "node()" => Test::Node,
        "text()" => Test::Text,
        "comment()" => Test::Comment,
        "processing-instruction()" => Test::Pi(None),
        "*" => Test::Principal,
        _ if compact.contains('(') => return Err("a pattern node test mint does not run"),
        name => {
            if !is_qname(name) && !name.ends_with(":*") {
                return Err("a malformed pattern");
            }
            match name.split_once(':') {
                Some((p, "*")) => Test::AnyIn(resolve(p).ok_or("an undeclared prefix")?),
                Some((p, local)) => Test::Name {
                    uri: resolve(p).ok_or("an undeclared prefix")?,
                    local: local.to_string(),
                },
                None => Test::Name {
                    uri: String::new(),
                    local: name.to_string(),
                },
            }
        }
    };
    Ok(Step {
        attribute,
        test,
        descendant,
    })
}

/// A QName: NCName characters (ASCII letters, digits, `_`, `-`, `.`, any non-ASCII
/// non-whitespace), not starting with a digit, `-` or `.`, with at most one `:` inside.
pub(crate) fn is_qname(s: &str) -> bool {
    let ncname = |p: &str| {
        let mut c = p.chars();
        c.next().is_some_and(|f| {
            if f.is_ascii() {
                f.is_ascii_alphabetic() || f == '_'
            } else {
                !f.is_whitespace()
            }
        }) && c.all(|c| {
            if c.is_ascii() {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
            } else {
                !c.is_whitespace()
            }
        })
    };
    match s.split_once(':') {
        Some((p, l)) => ncname(p) && ncname(l),
        None => ncname(s),
    }
}
