//! MI 4.4's Synapse expressions (`${…}`), compiled once at deployment and evaluated per message:
//! the grammar and its precedence ([`parse`]), the value kinds and their text ([`value`]), the
//! operators ([`number`]), the function library ([`functions`]) and evaluation against a message
//! reached through [`eval::Env`]. Behaviour follows wso2/wso2-synapse
//! `modules/core/src/main/java/org/apache/synapse/util/synapse/expression/` and its unit tests.
//!
//! What mint does not have yet: `hashicorp-vault()` fails when evaluated, with a warning at
//! deployment (`wso2-vault()` reads `[secrets]`). `configs.key` is read at deployment (the
//! environment, else `conf/file.properties`, as the rest of mint's configurables).

pub mod eval;
pub mod functions;
pub mod number;
pub mod parse;
pub mod value;

pub use eval::Env;
pub use parse::{ParamKind, ParseError};
pub use value::Val;

use parse::{Node, PathSpec, Root};

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct Expression {
    src: String,
    root: Node,
    xpaths: Vec<XPathCall>,
    reads_payload: bool,
}

/// An `xpath()` call of an expression.
#[derive(Debug, Clone)]
pub struct XPathCall {
    /// What it evaluates. With a variable, MI evaluates `$var:NAME` followed by the text, so a
    /// `//a` there is `.//a` from the variable's element: that is how it is compiled.
    pub xpath: crate::xpath::XPath,
    /// `xpath(expression, 'name')`: evaluated on the XML the variable holds.
    pub variable: Option<String>,
}

/// The expression of an attribute written `${…}` (the whole value), without the braces.
pub fn inner(text: &str) -> Option<&str> {
    text.trim()
        .strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
}

struct Sink<'n> {
    namespaces: &'n [(String, String)],
    xpaths: Vec<XPathCall>,
}

impl parse::XPathSink for Sink<'_> {
    fn xpath(&mut self, text: &str, variable: Option<&str>) -> Result<usize, String> {
        let x = match variable {
            None => crate::xpath::compile(text, self.namespaces),
            Some(_) if !text.trim_start().starts_with(['/', '[']) => {
                return Err(
                    "with a variable, the XPath goes on from the variable's element: it must \
                     start with '/' or '['"
                        .into(),
                )
            }
            // `.` and `self::*` rather than `self::node()`: Synapse's string conversion of
            // the result changes when the text contains `node()`.
            Some(_) => {
                let text = text.trim_start();
                let from = if text.starts_with('/') {
                    "."
                } else {
                    "self::*"
                };
                crate::xpath::compile(&format!("{from}{text}"), self.namespaces)
            }
        }
        .map_err(|e| e.to_string())?;
        self.xpaths.push(XPathCall {
            xpath: x,
            variable: variable.map(str::to_string),
        });
        Ok(self.xpaths.len() - 1)
    }
}

impl Expression {
    /// Compiles the text inside `${…}`; `namespaces` are the prefixes in scope for `xpath()`.
    pub fn compile(text: &str, namespaces: &[(String, String)]) -> Result<Expression, ParseError> {
        if text.trim().is_empty() {
            return Err(ParseError {
                offset: 0,
                message: "empty expression".into(),
            });
        }
        let mut sink = Sink {
            namespaces,
            xpaths: Vec::new(),
        };
        let root = parse::parse(text, &mut sink)?;
        let reads_payload = reads_payload(&root);
        Ok(Expression {
            src: text.to_string(),
            root,
            xpaths: sink.xpaths,
            reads_payload,
        })
    }

    /// The expression as written (inside `${…}`).
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The `xpath()` calls, in the order [`Env::xpath`] numbers them.
    pub fn xpaths(&self) -> &[XPathCall] {
        &self.xpaths
    }

    /// The `xpath()` call the whole expression is, if it is one (`${xpath('//a')}`): its index.
    pub fn as_xpath(&self) -> Option<usize> {
        match self.root {
            Node::XPath(i) => Some(i),
            _ => None,
        }
    }

    /// Whether evaluating needs the payload as JSON.
    pub fn reads_payload(&self) -> bool {
        self.reads_payload
    }

    /// The functions it calls that mint does not have.
    pub fn unsupported(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        walk(&self.root, &mut |n| {
            if let Node::Call { name, .. } = n {
                if *name == "hashicorp-vault" {
                    out.push(*name);
                }
            }
        });
        out
    }

    /// Replaces each `configs.key` with its value from `value` (MI reads it as its
    /// number or text); returns the keys without a value, which stay (and fail when evaluated).
    pub fn resolve_configs(&mut self, value: impl Fn(&str) -> Option<String>) -> Vec<String> {
        let mut missing = Vec::new();
        walk_mut(&mut self.root, &mut |n| {
            if let Node::Access(Root::Config(key), None) = n {
                match value(key) {
                    Some(v) => *n = Node::Lit(Val::reparsed(&v)),
                    None => missing.push(key.clone()),
                }
            }
        });
        missing
    }

    /// Whether its value comes out of JSON (a payload path, or a path into a variable): what MI
    /// holds as a Gson JsonPrimitive or JsonElement, which payloadFactory escapes differently
    /// from the plain strings of variables, properties, headers and `xpath()`.
    pub fn yields_json(&self) -> bool {
        matches!(
            &self.root,
            Node::Access(Root::Payload, _) | Node::Access(Root::Var(_), Some(_))
        )
    }

    /// Where a plain access expression reads from, for writing results back there (foreach):
    /// the variable (None: the payload) and the fixed path after it (None: the whole value).
    pub fn location(&self) -> Option<(Option<&str>, Option<&crate::json::JsonPath>)> {
        let (var, path) = match &self.root {
            Node::Access(Root::Payload, p) => (None, p),
            Node::Access(Root::Var(v), p) => (Some(v.as_str()), p),
            _ => return None,
        };
        match path {
            None => Some((var, None)),
            Some(PathSpec::Fixed(p)) => Some((var, Some(&**p))),
            Some(PathSpec::Dynamic { .. }) => None,
        }
    }

    /// Evaluates to a value (MI's `objectValueOf` before its error handling).
    pub fn eval(&self, env: &dyn Env) -> Result<Val, String> {
        eval::eval(&self.root, env)
    }
}

fn walk(n: &Node, f: &mut dyn FnMut(&Node)) {
    f(n);
    let path = |p: &Option<PathSpec>, f: &mut dyn FnMut(&Node)| {
        if let Some(PathSpec::Dynamic { holes, .. }) = p {
            for h in holes {
                walk(h, f);
            }
        }
    };
    match n {
        Node::Lit(_) | Node::XPath(_) => {}
        Node::Array(items) => items.iter().for_each(|i| walk(i, f)),
        Node::Bin(_, a, b) => {
            walk(a, f);
            walk(b, f);
        }
        Node::Cond(c, a, b) => {
            walk(c, f);
            walk(a, f);
            walk(b, f);
        }
        Node::Access(_, p) => path(p, f),
        Node::Call {
            args,
            path: p,
            property,
            ..
        } => {
            args.iter().for_each(|a| walk(a, f));
            path(p, f);
            if let Some(pr) = property {
                walk(pr, f);
            }
        }
        Node::Exists(e) => walk(e, f),
    }
}

/// [`walk`], allowing `f` to replace the nodes it visits (before their children are visited).
fn walk_mut(n: &mut Node, f: &mut dyn FnMut(&mut Node)) {
    f(n);
    let path = |p: &mut Option<PathSpec>, f: &mut dyn FnMut(&mut Node)| {
        if let Some(PathSpec::Dynamic { holes, .. }) = p {
            for h in holes {
                walk_mut(h, f);
            }
        }
    };
    match n {
        Node::Lit(_) | Node::XPath(_) => {}
        Node::Array(items) => items.iter_mut().for_each(|i| walk_mut(i, f)),
        Node::Bin(_, a, b) => {
            walk_mut(a, f);
            walk_mut(b, f);
        }
        Node::Cond(c, a, b) => {
            walk_mut(c, f);
            walk_mut(a, f);
            walk_mut(b, f);
        }
        Node::Access(_, p) => path(p, f),
        Node::Call {
            args,
            path: p,
            property,
            ..
        } => {
            args.iter_mut().for_each(|a| walk_mut(a, f));
            path(p, f);
            if let Some(pr) = property {
                walk_mut(pr, f);
            }
        }
        Node::Exists(e) => walk_mut(e, f),
    }
}

fn reads_payload(root: &Node) -> bool {
    let mut found = false;
    walk(root, &mut |n| {
        if let Node::Access(Root::Payload, _) = n {
            found = true;
        }
    });
    found
}

/// A text with `${…}` placeholders (log `<message>`, payload templates): the literal pieces and,
/// between each two, an expression.
#[derive(Debug, Clone)]
pub struct Template {
    pub pieces: Vec<String>,
    pub exprs: Vec<Expression>,
}

impl Template {
    /// Splits `text` at each `${…}` (up to the first `}`, as MI's pattern does) and compiles the
    /// expressions; an error gives the placeholder's byte offset in `text`.
    pub fn compile(text: &str, namespaces: &[(String, String)]) -> Result<Template, ParseError> {
        let mut pieces: Vec<String> = vec![String::new()];
        let mut exprs = Vec::new();
        fn push(pieces: &mut [String], s: &str) {
            if let Some(p) = pieces.last_mut() {
                p.push_str(s);
            }
        }
        let mut rest = text;
        let mut at = 0;
        while let Some(i) = rest.find("${") {
            let Some(end) = rest[i + 2..].find('}') else {
                break;
            };
            let body = &rest[i + 2..i + 2 + end];
            if body.is_empty() || body.contains('\n') {
                push(&mut pieces, &rest[..i + 3 + end]);
            } else {
                push(&mut pieces, &rest[..i]);
                let e = Expression::compile(body, namespaces).map_err(|e| ParseError {
                    offset: at + i + 2 + e.offset,
                    message: e.message,
                })?;
                exprs.push(e);
                pieces.push(String::new());
            }
            at += i + 3 + end;
            rest = &rest[i + 3 + end..];
        }
        push(&mut pieces, rest);
        Ok(Template { pieces, exprs })
    }
}
