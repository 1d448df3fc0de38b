//! The expression grammar as MI 4.4's ANTLR grammar accepts it, with its precedence (loosest
//! first): `? :`; the comparisons (one level, left to right); `and`/`or`/`&&`/`||` (one level,
//! binding tighter than comparisons, right to left); `+ -`; `* / %`. There is no unary minus
//! (`-3` is a number literal, so `5-3` is an error and `5 - 3` is not) and no `!` outside JSONPath
//! filters (`not(x)` is the function). Identifiers may contain `-` (`vars.x-1` is the variable
//! `x-1`). String literals keep their escapes as written.
//!
//! A payload or variable path (`payload.a[0].b`, `$..book[?(@.price > vars.max)]`) is kept as
//! JSONPath text: compiled here when it is fixed, or filled in per message where a bracket holds
//! an expression (MI substitutes the value's text, quoting strings).

use std::sync::Arc;

use super::value::Val;
use crate::json::JsonPath;

/// A compile error at a byte offset of the expression.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

/// Where a root access reads from.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    Payload,
    Var(String),
    Header(String),
    /// `props.synapse.x` (false) / `props.axis2.x` (true).
    Property {
        axis2: bool,
        name: String,
    },
    /// `params.queryParams.x` / `pathParams` / `functionParams`.
    Param {
        kind: ParamKind,
        name: String,
    },
    Config(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Query,
    Path,
    Function,
}

/// A JSONPath after a root or a function: fixed, or with holes filled per message.
#[derive(Debug, Clone)]
pub enum PathSpec {
    Fixed(Arc<JsonPath>),
    /// Text pieces with an expression between each two (its value's text goes there).
    Dynamic {
        pieces: Vec<String>,
        holes: Vec<Node>,
    },
}

#[derive(Debug, Clone)]
pub enum Node {
    Lit(Val),
    Array(Vec<Node>),
    Bin(Op, Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    Access(Root, Option<PathSpec>),
    Call {
        name: &'static str,
        args: Vec<Node>,
        /// `object(s).a`, `array(s)[0]`, `registry(k).a`.
        path: Option<PathSpec>,
        /// `registry(k).property("p")`.
        property: Option<Box<Node>>,
    },
    Exists(Box<Node>),
    /// `xpath('…')`: the index of the XPath among the expression's XPaths.
    XPath(usize),
}

/// What the parser needs from its caller: compiling an `xpath()` argument.
pub trait XPathSink {
    /// Compiles the XPath text, to be evaluated on the message or (`xpath(expr, 'name')`) on
    /// the XML the variable holds; the index it is stored at, or an error message.
    fn xpath(&mut self, text: &str, variable: Option<&str>) -> Result<usize, String>;
}

pub fn parse(src: &str, sink: &mut dyn XPathSink) -> Result<Node, ParseError> {
    let mut p = Parser { src, pos: 0, sink };
    let node = p.expression()?;
    p.skip_ws();
    if p.pos < src.len() {
        return Err(p.err("Parse error: leftover input after parsing expression"));
    }
    Ok(node)
}

struct Parser<'s, 'k> {
    src: &'s str,
    pos: usize,
    sink: &'k mut dyn XPathSink,
}

/// Function names the grammar accepts (MI's FUNCTIONS token).
use super::functions::NAMES as FUNCTIONS;

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

impl Parser<'_, '_> {
    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn bytes(&self) -> &[u8] {
        self.src.as_bytes()
    }

    fn skip_ws(&mut self) {
        while self.pos < self.src.len() && self.bytes()[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes().get(self.pos).copied()
    }

    fn eat(&mut self, s: &str) -> bool {
        self.skip_ws();
        if self.src[self.pos..].starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// A word operator (`and`, `or`) not followed by identifier characters.
    fn eat_word(&mut self, w: &str) -> bool {
        self.skip_ws();
        let rest = &self.src[self.pos..];
        if rest.starts_with(w) && !rest.as_bytes().get(w.len()).is_some_and(|b| is_ident(*b)) {
            self.pos += w.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &str) -> Result<(), ParseError> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.err(format!("Syntax error: expected '{s}'")))
        }
    }

    fn expression(&mut self) -> Result<Node, ParseError> {
        let cond = self.comparison()?;
        if self.eat("?") {
            let yes = self.expression()?;
            self.expect(":")?;
            let no = self.expression()?;
            return Ok(Node::Cond(Box::new(cond), Box::new(yes), Box::new(no)));
        }
        Ok(cond)
    }

    fn comparison(&mut self) -> Result<Node, ParseError> {
        let mut left = self.logical()?;
        loop {
            let op = if self.eat("==") {
                Op::Eq
            } else if self.eat("!=") {
                Op::Ne
            } else if self.eat(">=") {
                Op::Ge
            } else if self.eat("<=") {
                Op::Le
            } else if self.eat(">") {
                Op::Gt
            } else if self.eat("<") {
                Op::Lt
            } else {
                return Ok(left);
            };
            let right = self.logical()?;
            left = Node::Bin(op, Box::new(left), Box::new(right));
        }
    }

    fn logical(&mut self) -> Result<Node, ParseError> {
        let left = self.additive()?;
        let op = if self.eat("&&") || self.eat_word("and") {
            Op::And
        } else if self.eat("||") || self.eat_word("or") {
            Op::Or
        } else {
            return Ok(left);
        };
        let right = self.logical()?;
        Ok(Node::Bin(op, Box::new(left), Box::new(right)))
    }

    fn additive(&mut self) -> Result<Node, ParseError> {
        let mut left = self.term()?;
        loop {
            self.skip_ws();
            let b = self.bytes();
            // `-` directly followed by a digit is a number literal (as in MI's lexer).
            let op = match b.get(self.pos) {
                Some(b'+') => Op::Add,
                Some(b'-') if !b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) => Op::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.term()?;
            left = Node::Bin(op, Box::new(left), Box::new(right));
        }
    }

    fn term(&mut self) -> Result<Node, ParseError> {
        let mut left = self.factor()?;
        loop {
            let op = match self.peek() {
                Some(b'*') => Op::Mul,
                Some(b'/') => Op::Div,
                Some(b'%') => Op::Rem,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.factor()?;
            left = Node::Bin(op, Box::new(left), Box::new(right));
        }
    }

    fn factor(&mut self) -> Result<Node, ParseError> {
        let Some(b) = self.peek() else {
            return Err(self.err("Syntax error: expected an expression"));
        };
        match b {
            b'(' => {
                self.pos += 1;
                let e = self.expression()?;
                self.expect(")")?;
                Ok(e)
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat("]") {
                    loop {
                        items.push(self.expression()?);
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Node::Array(items))
            }
            b'"' | b'\'' => self.string().map(Node::Lit),
            b'-' | b'0'..=b'9' => self.number(),
            b'$' => {
                self.pos += 1;
                let path = self.path(true)?;
                Ok(Node::Access(Root::Payload, path))
            }
            _ if is_ident_start(b) => self.word(),
            _ => Err(self.err(format!(
                "Syntax error: unexpected '{}'",
                self.src[self.pos..].chars().next().unwrap_or(' ')
            ))),
        }
    }

    fn string(&mut self) -> Result<Val, ParseError> {
        let start = self.pos;
        let q = self.bytes()[self.pos];
        let mut i = self.pos + 1;
        while i < self.src.len() {
            match self.bytes()[i] {
                b'\\' => i += 2,
                c if c == q => {
                    self.pos = i + 1;
                    // MI keeps the escapes as written.
                    return Ok(Val::Str(self.src[start + 1..i].to_string()));
                }
                _ => i += 1,
            }
        }
        self.pos = start;
        Err(self.err("Syntax error: unterminated string"))
    }

    fn number(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        let b = self.bytes();
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == digits {
            return Err(self.err("Syntax error: unexpected '-' (there is no unary minus)"));
        }
        let mut fraction = false;
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            fraction = true;
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        self.pos = i;
        let text = &self.src[start..i];
        let v = if fraction {
            Val::Double(text.parse().map_err(|_| self.err("invalid number"))?)
        } else if let Ok(n) = text.parse::<i32>() {
            Val::Int(n)
        } else if let Ok(n) = text.parse::<i64>() {
            Val::Long(n)
        } else {
            Val::Double(text.parse().map_err(|_| self.err("invalid number"))?)
        };
        Ok(Node::Lit(v))
    }

    fn ident(&mut self) -> &str {
        let start = self.pos;
        while self.pos < self.src.len() && is_ident(self.bytes()[self.pos]) {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    /// A name after a root: `.name`, `["name"]`, `.["name"]`.
    fn member_name(&mut self, what: &str) -> Result<String, ParseError> {
        let dot = self.eat(".");
        if self.peek() == Some(b'[') {
            self.pos += 1;
            self.skip_ws();
            let s = match self.bytes().get(self.pos) {
                Some(b'"' | b'\'') => self.string()?,
                _ => return Err(self.err(format!("Syntax error: expected a quoted {what} name"))),
            };
            self.expect("]")?;
            return Ok(s.text().into_owned());
        }
        if !dot {
            return Err(self.err(format!("Syntax error: expected '.' and a {what} name")));
        }
        let name = self.ident().to_string();
        if name.is_empty() {
            return Err(self.err(format!("Syntax error: expected a {what} name")));
        }
        Ok(name)
    }

    fn word(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        let w = self.ident().to_string();
        match w.as_str() {
            "true" => Ok(Node::Lit(Val::Bool(true))),
            "false" => Ok(Node::Lit(Val::Bool(false))),
            "null" => Ok(Node::Lit(Val::Null)),
            "payload" => {
                let path = self.path(true)?;
                Ok(Node::Access(Root::Payload, path))
            }
            "vars" => {
                let name = self.member_name("variable")?;
                let path = self.path(true)?;
                Ok(Node::Access(Root::Var(name), path))
            }
            "headers" => Ok(Node::Access(
                Root::Header(self.member_name("header")?),
                None,
            )),
            "configs" => Ok(Node::Access(
                Root::Config(self.member_name("config")?),
                None,
            )),
            "props" | "properties" => {
                self.expect(".")?;
                let scope = self.ident().to_string();
                let axis2 = match scope.as_str() {
                    "axis2" => true,
                    "synapse" => false,
                    _ => {
                        return Err(
                            self.err("Syntax error: a property scope must be 'synapse' or 'axis2'")
                        )
                    }
                };
                let name = self.member_name("property")?;
                Ok(Node::Access(Root::Property { axis2, name }, None))
            }
            "params" => {
                self.expect(".")?;
                let kind = match self.ident() {
                    "queryParams" => ParamKind::Query,
                    "pathParams" => ParamKind::Path,
                    "functionParams" => ParamKind::Function,
                    _ => return Err(self.err(
                        "Syntax error: params must be queryParams, pathParams or functionParams",
                    )),
                };
                let name = self.member_name("parameter")?;
                Ok(Node::Access(Root::Param { kind, name }, None))
            }
            _ => {
                let Some(&name) = FUNCTIONS.iter().find(|f| **f == w) else {
                    self.pos = start;
                    return Err(self.err(format!("Invalid expression: unknown name '{w}'")));
                };
                if self.peek() != Some(b'(') {
                    self.pos = start;
                    return Err(self.err(format!("Syntax error: '{w}' must be called")));
                }
                self.pos += 1;
                self.call(name)
            }
        }
    }

    fn call(&mut self, name: &'static str) -> Result<Node, ParseError> {
        let args_at = self.pos;
        let mut args = Vec::new();
        if !self.eat(")") {
            loop {
                args.push(self.expression()?);
                if self.eat(")") {
                    break;
                }
                self.expect(",")?;
            }
        }
        match name {
            "exists" => {
                let [arg] = <[Node; 1]>::try_from(args)
                    .map_err(|_| self.err("Invalid function: exists takes one argument"))?;
                return Ok(Node::Exists(Box::new(arg)));
            }
            "xpath" => {
                let (text, variable) = match args.as_slice() {
                    [Node::Lit(Val::Str(s))] => (s.clone(), None),
                    [Node::Lit(Val::Str(s)), Node::Lit(Val::Str(v))] => (s.clone(), Some(v)),
                    [_, _] => {
                        return Err(ParseError {
                            offset: args_at,
                            message: "xpath(expression, variable) takes a quoted XPath and a \
                                      quoted variable name"
                                .into(),
                        })
                    }
                    _ => {
                        return Err(ParseError {
                            offset: args_at,
                            message: "xpath() takes a quoted XPath".into(),
                        })
                    }
                };
                let i = self
                    .sink
                    .xpath(&text, variable.map(String::as_str))
                    .map_err(|m| ParseError {
                        offset: args_at,
                        message: format!("Invalid XPATH expression : {text}: {m}"),
                    })?;
                return Ok(Node::XPath(i));
            }
            _ => {}
        }
        let mut property = None;
        let mut path = None;
        if matches!(name, "registry" | "object" | "array") {
            if name == "registry" && self.src[self.pos..].starts_with(".property(") {
                self.pos += ".property(".len();
                let p = self.expression()?;
                self.expect(")")?;
                property = Some(Box::new(p));
            } else {
                path = self.path(false)?;
            }
        }
        Ok(Node::Call {
            name,
            args,
            path,
            property,
        })
    }

    /// The JSONPath right after a root or function (no whitespace inside, as MI's rewrite drops
    /// it): `.a`, `..a`, `.*`, `[…]`, `.length()`…
    fn path(&mut self, _root: bool) -> Result<Option<PathSpec>, ParseError> {
        let start = self.pos;
        let src = self.src;
        let b = src.as_bytes();
        let mut i = self.pos;
        let mut pieces = vec![String::from("$")];
        let mut holes = Vec::new();
        loop {
            match b.get(i) {
                Some(b'.') => {
                    let mut j = i + 1;
                    if b.get(j) == Some(&b'.') {
                        j += 1;
                    }
                    if b.get(j) == Some(&b'*') {
                        j += 1;
                    } else if b.get(j) == Some(&b'[') {
                        // `.[…]` is `[…]`.
                        if let Some(p) = pieces.last_mut() {
                            p.push_str(&src[i..j - 1]);
                        }
                        i = j;
                        continue;
                    } else {
                        let k = j;
                        while b.get(j).is_some_and(|c| is_ident(*c)) {
                            j += 1;
                        }
                        if j == k {
                            break;
                        }
                        if src[j..].starts_with("()") {
                            j += 2;
                        }
                    }
                    if let Some(p) = pieces.last_mut() {
                        p.push_str(&src[i..j]);
                    }
                    i = j;
                }
                Some(b'[') => {
                    let end = bracket_end(b, i).ok_or_else(|| ParseError {
                        offset: i,
                        message: "Syntax error: unclosed '['".into(),
                    })?;
                    let inner = &src[i + 1..end];
                    self.bracket(inner, i + 1, &mut pieces, &mut holes)?;
                    i = end + 1;
                }
                _ => break,
            }
        }
        self.pos = i;
        if i == start {
            return Ok(None);
        }
        if holes.is_empty() {
            let text = pieces.concat();
            let p = JsonPath::compile(&text).map_err(|e| ParseError {
                offset: start,
                message: format!("invalid path '{text}': {e}"),
            })?;
            return Ok(Some(PathSpec::Fixed(Arc::new(p))));
        }
        Ok(Some(PathSpec::Dynamic { pieces, holes }))
    }

    /// One `[…]` of a path: kept as written, or with each expression inside it made a hole.
    fn bracket(
        &mut self,
        inner: &str,
        at: usize,
        pieces: &mut Vec<String>,
        holes: &mut Vec<Node>,
    ) -> Result<(), ParseError> {
        let t = inner.trim();
        let push = |pieces: &mut Vec<String>, s: &str| {
            if let Some(p) = pieces.last_mut() {
                p.push_str(s);
            }
        };
        let fixed = t == "*"
            || t.starts_with('"')
            || t.starts_with('\'')
            || t.bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b':' | b',' | b' '));
        if fixed {
            push(pieces, &format!("[{inner}]"));
            return Ok(());
        }
        if t.starts_with('?') || t.starts_with('(') {
            // A filter: expressions of the message inside it (not `@`, not `$`, which Jayway
            // reads itself) are filled in.
            push(pieces, "[");
            let mut k = 0;
            let bytes = inner.as_bytes();
            while k < bytes.len() {
                let c = bytes[k];
                if c == b'"' || c == b'\'' {
                    let e = bytes[k + 1..]
                        .iter()
                        .position(|x| *x == c)
                        .map_or(bytes.len(), |p| k + 1 + p + 1);
                    push(pieces, &inner[k..e.min(bytes.len())]);
                    k = e;
                    continue;
                }
                let word_start = k == 0
                    || !is_ident(bytes[k - 1]) && bytes[k - 1] != b'.' && bytes[k - 1] != b'@';
                if word_start && is_ident_start(c) {
                    let mut e = k;
                    while e < bytes.len() && is_ident(bytes[e]) {
                        e += 1;
                    }
                    let w = &inner[k..e];
                    let root = matches!(
                        w,
                        "payload"
                            | "vars"
                            | "headers"
                            | "configs"
                            | "props"
                            | "properties"
                            | "params"
                    ) || (FUNCTIONS.contains(&w) && inner[e..].starts_with('('));
                    if root {
                        let mut sub = Parser {
                            src: &self.src[..at + inner.len()],
                            pos: at + k,
                            sink: &mut *self.sink,
                        };
                        let node = sub.factor()?;
                        let end = sub.pos - at;
                        holes.push(node);
                        pieces.push(String::new());
                        k = end;
                        continue;
                    }
                    push(pieces, w);
                    k = e;
                    continue;
                }
                let ch_len = inner[k..].chars().next().map_or(1, char::len_utf8);
                push(pieces, &inner[k..k + ch_len]);
                k += ch_len;
            }
            push(pieces, "]");
            if !t.starts_with('?') {
                // MI always writes a filter: `[(…)]` becomes `[?(…)]`.
                if let Some(p) = pieces
                    .iter_mut()
                    .find(|p| p.ends_with("[(") || p.contains("[("))
                {
                    *p = p.replacen("[(", "[?(", 1);
                }
            }
            return Ok(());
        }
        // Expressions, separated by `,` (several indexes) or `:` (a slice).
        push(pieces, "[");
        let mut sub = Parser {
            src: &self.src[..at + inner.len()],
            pos: at,
            sink: &mut *self.sink,
        };
        loop {
            if sub.peek().is_some_and(|c| c != b':' && c != b',') {
                let node = sub.expression()?;
                holes.push(node);
                pieces.push(String::new());
            }
            match sub.peek() {
                Some(b':') => {
                    sub.pos += 1;
                    push(pieces, ":");
                }
                Some(b',') => {
                    sub.pos += 1;
                    push(pieces, ",");
                }
                None => break,
                Some(_) => return Err(sub.err("Syntax error in index")),
            }
        }
        push(pieces, "]");
        Ok(())
    }
}

/// The index of the `]` closing the `[` at `open` (quotes and nesting respected).
fn bracket_end(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}
