//! Turning parsed pieces into resolved AST nodes: function calls (name, arity and argument
//! checks, Synapse's `get-property` interpreted at compile time), predicates (classified for
//! the evaluator), step folding, and the binary-operator table the parser climbs.

use super::ast::{
    ArithOp, Axis, CmpOp, Expr, Func, GetProperty, NodeTest, Pred, PredKind, Step, Ty,
};
use super::datefmt::{DatePattern, DEFAULT_PATTERN};
use super::lexer::Tok;
use super::synapse::PropertyName;
use super::{CompileError, CompileErrorKind as K};

type Res<T> = Result<T, CompileError>;

pub(crate) fn is_node_type(name: &str) -> bool {
    matches!(name, "node" | "text" | "comment" | "processing-instruction")
}

pub(crate) fn pred(e: Expr) -> Pred {
    let kind = match (&e, e.ty()) {
        (Expr::Number(n), _) => PredKind::Position(*n),
        (_, Ty::Boolean | Ty::String | Ty::NodeSet) if !e.uses_position() => PredKind::Boolean,
        _ => PredKind::Dynamic,
    };
    Pred { expr: e, kind }
}

pub(crate) fn is_dos(s: &Step) -> bool {
    s.axis == Axis::DescendantOrSelf && s.test == NodeTest::AnyNode && s.preds.is_empty()
}

/// Drops `self::node()` steps and folds `descendant-or-self::node()/child::x[non-positional]`
/// into `descendant::x[...]` (same result, one pass instead of one per node).
pub(crate) fn fold_steps(steps: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    for s in steps {
        if s.axis == Axis::SelfNode && s.test == NodeTest::AnyNode && s.preds.is_empty() {
            continue;
        }
        let foldable = s.axis == Axis::Child && s.preds.iter().all(|p| p.kind == PredKind::Boolean);
        if foldable && out.last().is_some_and(is_dos) {
            out.pop();
            out.push(Step {
                axis: Axis::Descendant,
                ..s
            });
            continue;
        }
        out.push(s);
    }
    out
}

/// Resolves and checks a function call once its arguments are parsed.
#[inline(never)]
pub(crate) fn resolve_call(name: &str, args: Vec<Expr>, at: usize) -> Res<Expr> {
    let err = |kind| CompileError::new(at, kind);
    if name == "get-property" {
        return get_property(args, at);
    }
    let f = match Func::from_name(name) {
        Some(f) => f,
        None => {
            return Err(err(match name {
                "json-eval" => K::JsonPath,
                "hmac-generate" | "encrypt" | "decrypt" | "evaluate" | "document" => {
                    K::UnsupportedFunction(name.to_owned())
                }
                _ => K::UnknownFunction(name.to_owned()),
            }))
        }
    };
    let (fname, min, max, _) = f.signature();
    if args.len() < min || max.is_some_and(|m| args.len() > m) {
        let expected = match max {
            Some(m) if m == min => m.to_string(),
            Some(m) => format!("{min} to {m}"),
            None => format!("at least {min}"),
        };
        return Err(err(K::Arity {
            name: fname,
            expected,
            got: args.len(),
        }));
    }
    let needs_nodes = matches!(
        f,
        Func::Count | Func::Sum | Func::LocalName | Func::NamespaceUri | Func::Name
    );
    if needs_nodes
        && args
            .iter()
            .any(|a| !matches!(a.ty(), Ty::NodeSet | Ty::Any))
    {
        return Err(err(K::NotNodeSet("the argument")));
    }
    Ok(Expr::Call(f, args))
}

pub(crate) fn get_property(args: Vec<Expr>, at: usize) -> Res<Expr> {
    if args.is_empty() || args.len() > 3 {
        return Err(CompileError::new(
            at,
            K::Arity {
                name: "get-property",
                expected: "1 to 3".to_owned(),
                got: args.len(),
            },
        ));
    }
    let literals: Option<Vec<String>> = args
        .iter()
        .map(|a| match a {
            Expr::Literal(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let Some(literals) = literals else {
        return Ok(Expr::GetProperty(GetProperty::Dynamic(args)));
    };
    let (name, format) = PropertyName::from_args(&literals);
    let date = if name == PropertyName::SystemDate {
        let pattern = format.as_deref().unwrap_or(DEFAULT_PATTERN);
        Some(DatePattern::parse(pattern).map_err(|c| CompileError::new(at, K::DateFormat(c)))?)
    } else {
        None
    };
    Ok(Expr::GetProperty(GetProperty::Static { name, date }))
}

/// A binary operator, for precedence climbing.
#[derive(Clone, Copy)]
pub(crate) enum BinOp {
    Or,
    And,
    Cmp(CmpOp),
    Arith(ArithOp),
}

impl BinOp {
    pub(crate) fn build(self, a: Box<Expr>, b: Box<Expr>) -> Expr {
        match self {
            BinOp::Or | BinOp::And => self.build_n(vec![*a, *b]),
            BinOp::Cmp(op) => Expr::Cmp(op, a, b),
            BinOp::Arith(op) => Expr::Arith(op, a, b),
        }
    }

    pub(crate) fn build_n(self, v: Vec<Expr>) -> Expr {
        match self {
            BinOp::And => Expr::And(v),
            _ => Expr::Or(v),
        }
    }
}

/// Precedence (higher binds tighter) of a binary operator token.
pub(crate) fn binop(t: &Tok<'_>) -> Option<(u8, BinOp)> {
    Some(match t {
        Tok::Or => (0, BinOp::Or),
        Tok::And => (1, BinOp::And),
        Tok::Eq => (2, BinOp::Cmp(CmpOp::Eq)),
        Tok::Neq => (2, BinOp::Cmp(CmpOp::Ne)),
        Tok::Lt => (3, BinOp::Cmp(CmpOp::Lt)),
        Tok::Le => (3, BinOp::Cmp(CmpOp::Le)),
        Tok::Gt => (3, BinOp::Cmp(CmpOp::Gt)),
        Tok::Ge => (3, BinOp::Cmp(CmpOp::Ge)),
        Tok::Plus => (4, BinOp::Arith(ArithOp::Add)),
        Tok::Minus => (4, BinOp::Arith(ArithOp::Sub)),
        Tok::Multiply => (5, BinOp::Arith(ArithOp::Mul)),
        Tok::Div => (5, BinOp::Arith(ArithOp::Div)),
        Tok::Mod => (5, BinOp::Arith(ArithOp::Mod)),
        _ => return None,
    })
}

pub(crate) fn dos() -> Step {
    Step {
        axis: Axis::DescendantOrSelf,
        test: NodeTest::AnyNode,
        preds: Vec::new(),
    }
}
