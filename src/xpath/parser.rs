//! Recursive-descent parser for XPath 1.0 (spec §2-§3 grammar) producing the resolved AST.
//!
//! Name resolution happens here (with `resolve`): prefixes become namespace URIs (unknown
//! prefix → error; the artifact's default namespace is never applied to unprefixed names),
//! function names become [`Func`] (unknown → error; a function's prefix is ignored, as Jaxen
//! does, so Synapse's `fn:concat(...)` and `synapse:get-property(...)` work), `$prefix:name`
//! becomes a Synapse variable reference, and literal `get-property()` arguments are
//! interpreted once.
//! Every node's depth is tracked so no tree deeper than [`MAX_DEPTH`] is ever built.

use super::ast::{Axis, Expr, Func, NodeTest, Pred, Step, Ty};
use super::lexer::{tokenize, Tok, Token};
use super::resolve::{binop, dos, fold_steps, is_node_type, pred, resolve_call, BinOp};
use super::synapse::VarRef;
use super::{CompileError, CompileErrorKind as K};

/// Maximum depth of the expression tree (bounds evaluation recursion). Chains of `or`, `and`
/// and `|` are flattened, so only real nesting counts.
pub(crate) const MAX_DEPTH: usize = 64;

/// Maximum nesting of parentheses, predicates and function arguments (bounds parser
/// recursion; a debug build spends several KiB of stack per level).
pub(crate) const MAX_NESTING: usize = 32;

/// The namespace the `xml` prefix is always bound to.
pub(crate) const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

type Res<T> = Result<T, CompileError>;

/// An expression and the depth of its tree.
struct Node {
    e: Expr,
    d: usize,
}

struct Parser<'a, 'n> {
    len: usize,
    toks: Vec<Token<'a>>,
    i: usize,
    ns: &'n [(String, String)],
    nesting: usize,
}

/// Parses and resolves `src` with the in-scope namespace declarations `ns` (later entries
/// override earlier ones with the same prefix; the `""` entry is ignored).
pub(crate) fn parse(src: &str, ns: &[(String, String)]) -> Res<Expr> {
    // JSONPath's `$.` would be a confusing lexical error: say what it is instead.
    let trimmed = src.trim_start();
    if trimmed.starts_with("json-eval(") {
        return Err(CompileError::new(src.len() - trimmed.len(), K::JsonPath));
    }
    let toks = tokenize(src)?;
    if toks.is_empty() {
        return Err(CompileError::new(0, K::Empty));
    }
    let mut p = Parser {
        len: src.len(),
        toks,
        i: 0,
        ns,
        nesting: 0,
    };
    let n = p.expr()?;
    match p.peek() {
        None => Ok(n.e),
        Some(t) => Err(p.err(K::Unexpected {
            found: t.describe(),
            expected: "an operator or the end of the expression",
        })),
    }
}

impl<'a> Parser<'a, '_> {
    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok<'a>> {
        self.toks.get(self.i + k).map(|t| &t.tok)
    }

    /// Offset of the current token (end of input when none).
    fn at(&self) -> usize {
        self.toks.get(self.i).map_or(self.len, |t| t.at)
    }

    fn err(&self, kind: K) -> CompileError {
        CompileError::new(self.at(), kind)
    }

    fn eat(&mut self, t: &Tok<'_>) -> bool {
        if self.peek() == Some(t) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self, expected: &'static str) -> CompileError {
        match self.peek() {
            Some(t) => self.err(K::Unexpected {
                found: t.describe(),
                expected,
            }),
            None => self.err(K::UnexpectedEnd(expected)),
        }
    }

    fn expect(&mut self, t: &Tok<'_>, expected: &'static str) -> Res<()> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn mk(&self, e: Expr, d: usize) -> Res<Node> {
        if d > MAX_DEPTH {
            return Err(self.err(K::TooDeep));
        }
        Ok(Node { e, d })
    }

    fn bin(&self, f: impl FnOnce(Box<Expr>, Box<Expr>) -> Expr, a: Node, b: Node) -> Res<Node> {
        let d = 1 + a.d.max(b.d);
        self.mk(f(Box::new(a.e), Box::new(b.e)), d)
    }

    fn resolve(&self, prefix: &str, at: usize) -> Res<String> {
        if prefix == "xml" {
            return Ok(XML_NS.to_owned());
        }
        self.ns
            .iter()
            .rev()
            .find(|(p, _)| !p.is_empty() && p == prefix)
            .map(|(_, uri)| uri.clone())
            .ok_or_else(|| CompileError::new(at, K::UnknownPrefix(prefix.to_owned())))
    }

    fn expr(&mut self) -> Res<Node> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.err(K::TooDeep));
        }
        let r = self.binary(0);
        self.nesting -= 1;
        r
    }

    /// Precedence climbing over the binary operators (fewer stack frames per nesting level
    /// than one function per grammar level).
    fn binary(&mut self, min_prec: u8) -> Res<Node> {
        let mut l = self.unary()?;
        while let Some((prec, op)) = self.peek().and_then(binop) {
            if prec < min_prec {
                break;
            }
            self.i += 1;
            let r = self.binary(prec + 1)?;
            l = match (op, l.e) {
                // Flatten chains of the associative operators.
                (BinOp::Or, Expr::Or(mut v)) | (BinOp::And, Expr::And(mut v)) => {
                    v.push(r.e);
                    self.mk(op.build_n(v), l.d.max(r.d + 1))?
                }
                (op, e) => self.bin(|a, b| op.build(a, b), Node { e, d: l.d }, r)?,
            };
        }
        Ok(l)
    }

    fn unary(&mut self) -> Res<Node> {
        let mut minuses = 0usize;
        while self.eat(&Tok::Minus) {
            minuses += 1;
        }
        let n = self.union()?;
        match minuses {
            0 => Ok(n),
            m if m % 2 == 1 => self.mk(Expr::Neg(Box::new(n.e)), n.d + 1),
            // --x is number(x).
            _ => self.mk(Expr::Call(Func::Number, vec![n.e]), n.d + 1),
        }
    }

    fn union(&mut self) -> Res<Node> {
        let mut l = self.path_expr()?;
        while self.peek() == Some(&Tok::Pipe) {
            let at = self.at();
            self.i += 1;
            let r = self.path_expr()?;
            for side in [&l, &r] {
                if !matches!(side.e.ty(), Ty::NodeSet | Ty::Any) {
                    return Err(CompileError::new(at, K::NotNodeSet("an operand of '|'")));
                }
            }
            l = match l.e {
                Expr::Union(mut v) => {
                    v.push(r.e);
                    self.mk(Expr::Union(v), l.d.max(r.d + 1))?
                }
                e => self.mk(Expr::Union(vec![e, r.e]), 1 + l.d.max(r.d))?,
            };
        }
        Ok(l)
    }

    fn starts_step(&self) -> bool {
        match self.peek() {
            Some(Tok::Dot | Tok::DotDot | Tok::At | Tok::Star | Tok::NsStar(_)) => true,
            Some(Tok::Name(p, l)) => match self.peek_at(1) {
                Some(Tok::LParen) => p.is_none() && is_node_type(l),
                _ => true,
            },
            _ => false,
        }
    }

    fn path_expr(&mut self) -> Res<Node> {
        match self.peek() {
            Some(Tok::Slash) => {
                self.i += 1;
                if self.starts_step() {
                    self.path(
                        Node {
                            e: Expr::Root,
                            d: 1,
                        },
                        Vec::new(),
                    )
                } else {
                    self.mk(Expr::Root, 1)
                }
            }
            Some(Tok::DoubleSlash) => {
                self.i += 1;
                self.path(
                    Node {
                        e: Expr::Root,
                        d: 1,
                    },
                    vec![dos()],
                )
            }
            _ if self.starts_step() => self.path(
                Node {
                    e: Expr::ContextNode,
                    d: 1,
                },
                Vec::new(),
            ),
            _ => self.filter_expr(),
        }
    }

    /// Parses a relative location path after `steps` and builds `start/steps`.
    fn path(&mut self, start: Node, mut steps: Vec<Step>) -> Res<Node> {
        let mut d = 0;
        loop {
            let (s, sd) = self.step()?;
            steps.push(s);
            d = d.max(sd);
            match self.peek() {
                Some(Tok::Slash) => self.i += 1,
                Some(Tok::DoubleSlash) => {
                    self.i += 1;
                    steps.push(dos());
                }
                _ => break,
            }
        }
        let steps = fold_steps(steps);
        let depth = 1 + start.d.max(d);
        match (start.e, steps.is_empty()) {
            (Expr::ContextNode, true) => self.mk(Expr::ContextNode, 1),
            (Expr::Root, true) => self.mk(Expr::Root, 1),
            (e, _) => self.mk(Expr::Path(Box::new(e), steps), depth),
        }
    }

    fn step(&mut self) -> Res<(Step, usize)> {
        let abbreviated = |axis| {
            Ok((
                Step {
                    axis,
                    test: NodeTest::AnyNode,
                    preds: Vec::new(),
                },
                0,
            ))
        };
        if self.eat(&Tok::Dot) {
            return abbreviated(Axis::SelfNode);
        }
        if self.eat(&Tok::DotDot) {
            return abbreviated(Axis::Parent);
        }
        let axis = if self.eat(&Tok::At) {
            Axis::Attribute
        } else if let (Some(Tok::Name(p, l)), Some(Tok::ColonColon)) =
            (self.peek(), self.peek_at(1))
        {
            let name = match p {
                Some(p) => format!("{p}:{l}"),
                None => (*l).to_owned(),
            };
            let axis = Axis::from_name(&name).ok_or_else(|| self.err(K::UnknownAxis(name)))?;
            self.i += 2;
            axis
        } else {
            Axis::Child
        };
        let test = self.node_test()?;
        let (preds, d) = self.predicates()?;
        Ok((Step { axis, test, preds }, d))
    }

    fn node_test(&mut self) -> Res<NodeTest> {
        let at = self.at();
        match self.peek().cloned() {
            Some(Tok::Star) => {
                self.i += 1;
                Ok(NodeTest::Principal)
            }
            Some(Tok::NsStar(p)) => {
                self.i += 1;
                Ok(NodeTest::NsWildcard(self.resolve(p, at)?))
            }
            Some(Tok::Name(None, l))
                if is_node_type(l) && self.peek_at(1) == Some(&Tok::LParen) =>
            {
                self.i += 2;
                let test = match l {
                    "node" => NodeTest::AnyNode,
                    "text" => NodeTest::Text,
                    "comment" => NodeTest::Comment,
                    _ => match self.peek() {
                        Some(Tok::Literal(s)) => {
                            let target = (*s).to_owned();
                            self.i += 1;
                            NodeTest::Pi(Some(target))
                        }
                        _ => NodeTest::Pi(None),
                    },
                };
                self.expect(&Tok::RParen, "')'")?;
                Ok(test)
            }
            Some(Tok::Name(p, l)) => {
                self.i += 1;
                let uri = match p {
                    Some(p) => self.resolve(p, at)?,
                    None => String::new(),
                };
                Ok(NodeTest::Name {
                    uri,
                    local: l.to_owned(),
                })
            }
            _ => Err(self.unexpected("a node test")),
        }
    }

    fn predicates(&mut self) -> Res<(Vec<Pred>, usize)> {
        let mut preds = Vec::new();
        let mut d = 0;
        while self.eat(&Tok::LBracket) {
            let n = self.expr()?;
            self.expect(&Tok::RBracket, "']'")?;
            d = d.max(n.d);
            preds.push(pred(n.e));
        }
        Ok((preds, d))
    }

    fn filter_expr(&mut self) -> Res<Node> {
        let at = self.at();
        let mut n = self.primary()?;
        if self.peek() == Some(&Tok::LBracket) {
            if !matches!(n.e.ty(), Ty::NodeSet | Ty::Any) {
                return Err(CompileError::new(
                    at,
                    K::NotNodeSet("a filtered expression"),
                ));
            }
            let (preds, d) = self.predicates()?;
            let depth = 1 + n.d.max(d);
            n = self.mk(Expr::Filter(Box::new(n.e), preds), depth)?;
        }
        let steps = match self.peek() {
            Some(Tok::Slash) => Vec::new(),
            Some(Tok::DoubleSlash) => vec![dos()],
            _ => return Ok(n),
        };
        if !matches!(n.e.ty(), Ty::NodeSet | Ty::Any) {
            return Err(CompileError::new(
                at,
                K::NotNodeSet("the expression before '/'"),
            ));
        }
        self.i += 1;
        self.path(n, steps)
    }

    fn primary(&mut self) -> Res<Node> {
        let at = self.at();
        match self.peek().cloned() {
            Some(Tok::Var(p, l)) => {
                self.i += 1;
                let v = VarRef::resolve(p, l)
                    .ok_or_else(|| CompileError::new(at, K::UnknownVariable(l.to_owned())))?;
                self.mk(Expr::Var(v), 1)
            }
            Some(Tok::LParen) => {
                self.i += 1;
                let n = self.expr()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(n)
            }
            Some(Tok::Literal(s)) => {
                self.i += 1;
                self.mk(Expr::Literal(s.to_owned()), 1)
            }
            Some(Tok::Number(v)) => {
                self.i += 1;
                self.mk(Expr::Number(v), 1)
            }
            Some(Tok::Name(_, l)) if self.peek_at(1) == Some(&Tok::LParen) => {
                self.i += 2;
                self.call(l, at)
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// Parses the arguments of a call (after its `(`); the recursion path stays small:
    /// checks happen in [`resolve_call`] once the arguments are built.
    fn call(&mut self, name: &str, at: usize) -> Res<Node> {
        let mut args = Vec::new();
        let mut d = 0;
        if !self.eat(&Tok::RParen) {
            loop {
                let n = self.expr()?;
                d = d.max(n.d);
                args.push(n.e);
                if !self.eat(&Tok::Comma) {
                    self.expect(&Tok::RParen, "',' or ')'")?;
                    break;
                }
            }
        }
        let e = resolve_call(name, args, at)?;
        self.mk(e, d + 1)
    }
}
