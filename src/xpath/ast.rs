//! The compiled form of an expression: an AST whose names are already resolved (namespace URIs
//! instead of prefixes, functions as an enum, Synapse variables as typed references), with the
//! `//` abbreviation folded where that is safe. Built once by the parser, walked per message by
//! `eval`. Everything here is owned, so a compiled `XPath` is `Send + Sync`.

use super::datefmt::DatePattern;
use super::synapse::{PropertyName, VarRef};

/// XPath's 13 axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    Ancestor,
    AncestorOrSelf,
    Attribute,
    Child,
    Descendant,
    DescendantOrSelf,
    Following,
    FollowingSibling,
    Namespace,
    Parent,
    Preceding,
    PrecedingSibling,
    SelfNode,
}

impl Axis {
    pub(crate) fn from_name(name: &str) -> Option<Axis> {
        Some(match name {
            "ancestor" => Axis::Ancestor,
            "ancestor-or-self" => Axis::AncestorOrSelf,
            "attribute" => Axis::Attribute,
            "child" => Axis::Child,
            "descendant" => Axis::Descendant,
            "descendant-or-self" => Axis::DescendantOrSelf,
            "following" => Axis::Following,
            "following-sibling" => Axis::FollowingSibling,
            "namespace" => Axis::Namespace,
            "parent" => Axis::Parent,
            "preceding" => Axis::Preceding,
            "preceding-sibling" => Axis::PrecedingSibling,
            "self" => Axis::SelfNode,
            _ => return None,
        })
    }

    /// Reverse axes deliver (and number for predicates) nodes nearest-first.
    pub(crate) fn is_reverse(self) -> bool {
        matches!(
            self,
            Axis::Ancestor | Axis::AncestorOrSelf | Axis::Preceding | Axis::PrecedingSibling
        )
    }
}

/// A node test.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeTest {
    /// `node()`.
    AnyNode,
    /// `text()`.
    Text,
    /// `comment()`.
    Comment,
    /// `processing-instruction()` / `processing-instruction('target')`.
    Pi(Option<String>),
    /// `*`: any node of the axis' principal type.
    Principal,
    /// `prefix:*`: principal type in the namespace `uri`.
    NsWildcard(String),
    /// A name: principal type with this namespace URI (`""` for none) and local name.
    Name { uri: String, local: String },
}

/// A predicate and what the compiler knows about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pred {
    pub expr: Expr,
    pub kind: PredKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PredKind {
    /// A constant number: keep the node at exactly this position.
    Position(f64),
    /// Never a number and independent of position()/last(): a plain boolean filter.
    Boolean,
    /// Anything else: evaluate, then number → position test, other → boolean.
    Dynamic,
}

/// One location step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub axis: Axis,
    pub test: NodeTest,
    pub preds: Vec<Pred>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// Built-in functions: XPath 1.0 core, Jaxen's extensions that Synapse exposes, Synapse's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Last,
    Position,
    Count,
    Id,
    LocalName,
    NamespaceUri,
    Name,
    String,
    Concat,
    StartsWith,
    Contains,
    SubstringBefore,
    SubstringAfter,
    Substring,
    StringLength,
    NormalizeSpace,
    Translate,
    Boolean,
    Not,
    True,
    False,
    Lang,
    Number,
    Sum,
    Floor,
    Ceiling,
    Round,
    // Jaxen extension functions (registered in Jaxen's default function context).
    EndsWith,
    UpperCase,
    LowerCase,
    // Synapse extension functions (get-property has its own node, see Expr::GetProperty).
    Base64Encode,
    Base64Decode,
    UrlEncode,
    UrlDecode,
    /// `wso2:vault-lookup('alias')`: a secure-vault secret (answered by the context).
    VaultLookup,
}

/// Static type of an expression, as far as the compiler can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    NodeSet,
    String,
    Number,
    Boolean,
    /// Variables and get-property(): only known at run time.
    Any,
}

impl Func {
    /// Name, minimum and maximum argument count (`None`: unbounded), result type.
    pub(crate) fn signature(self) -> (&'static str, usize, Option<usize>, Ty) {
        use Func::*;
        match self {
            Last => ("last", 0, Some(0), Ty::Number),
            Position => ("position", 0, Some(0), Ty::Number),
            Count => ("count", 1, Some(1), Ty::Number),
            Id => ("id", 1, Some(1), Ty::NodeSet),
            LocalName => ("local-name", 0, Some(1), Ty::String),
            NamespaceUri => ("namespace-uri", 0, Some(1), Ty::String),
            Name => ("name", 0, Some(1), Ty::String),
            String => ("string", 0, Some(1), Ty::String),
            Concat => ("concat", 2, None, Ty::String),
            StartsWith => ("starts-with", 2, Some(2), Ty::Boolean),
            Contains => ("contains", 2, Some(2), Ty::Boolean),
            SubstringBefore => ("substring-before", 2, Some(2), Ty::String),
            SubstringAfter => ("substring-after", 2, Some(2), Ty::String),
            Substring => ("substring", 2, Some(3), Ty::String),
            StringLength => ("string-length", 0, Some(1), Ty::Number),
            NormalizeSpace => ("normalize-space", 0, Some(1), Ty::String),
            Translate => ("translate", 3, Some(3), Ty::String),
            Boolean => ("boolean", 1, Some(1), Ty::Boolean),
            Not => ("not", 1, Some(1), Ty::Boolean),
            True => ("true", 0, Some(0), Ty::Boolean),
            False => ("false", 0, Some(0), Ty::Boolean),
            Lang => ("lang", 1, Some(1), Ty::Boolean),
            Number => ("number", 0, Some(1), Ty::Number),
            Sum => ("sum", 1, Some(1), Ty::Number),
            Floor => ("floor", 1, Some(1), Ty::Number),
            Ceiling => ("ceiling", 1, Some(1), Ty::Number),
            Round => ("round", 1, Some(1), Ty::Number),
            EndsWith => ("ends-with", 2, Some(2), Ty::Boolean),
            UpperCase => ("upper-case", 1, Some(2), Ty::String),
            LowerCase => ("lower-case", 1, Some(2), Ty::String),
            Base64Encode => ("base64Encode", 1, Some(2), Ty::String),
            Base64Decode => ("base64Decode", 1, Some(2), Ty::String),
            UrlEncode => ("url-encode", 1, Some(2), Ty::String),
            UrlDecode => ("url-decode", 1, Some(2), Ty::String),
            VaultLookup => ("vault-lookup", 1, Some(2), Ty::String),
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Func> {
        use Func::*;
        const ALL: [Func; 35] = [
            Last,
            Position,
            Count,
            Id,
            LocalName,
            NamespaceUri,
            Name,
            String,
            Concat,
            StartsWith,
            Contains,
            SubstringBefore,
            SubstringAfter,
            Substring,
            StringLength,
            NormalizeSpace,
            Translate,
            Boolean,
            Not,
            True,
            False,
            Lang,
            Number,
            Sum,
            Floor,
            Ceiling,
            Round,
            EndsWith,
            UpperCase,
            LowerCase,
            Base64Encode,
            Base64Decode,
            UrlEncode,
            UrlDecode,
            VaultLookup,
        ];
        ALL.into_iter().find(|f| f.signature().0 == name)
    }
}

/// `get-property(...)`, resolved at compile time when its scope and name are literals.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GetProperty {
    /// Literal arguments: scope, name and optional SYSTEM_DATE format are known.
    Static {
        name: PropertyName,
        /// The parsed SYSTEM_DATE pattern (`Some` exactly when `name` is SYSTEM_DATE).
        date: Option<DatePattern>,
    },
    /// At least one argument is computed: interpreted per call, like Synapse does.
    Dynamic(Vec<Expr>),
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// `a or b or ...` (flattened: long chains do not deepen the tree).
    Or(Vec<Expr>),
    /// `a and b and ...` (flattened).
    And(Vec<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    /// `a | b | ...` (flattened).
    Union(Vec<Expr>),
    Literal(String),
    Number(f64),
    Var(VarRef),
    Call(Func, Vec<Expr>),
    GetProperty(GetProperty),
    /// The root of the context node's tree (`/`).
    Root,
    /// The context node (start of a relative location path).
    ContextNode,
    /// `start` (a node-set expression) followed by location steps.
    Path(Box<Expr>, Vec<Step>),
    /// A filter expression `primary[p1][p2]...` (positions in document order).
    Filter(Box<Expr>, Vec<Pred>),
}

impl Expr {
    /// Static result type.
    pub(crate) fn ty(&self) -> Ty {
        match self {
            Expr::Or(..) | Expr::And(..) | Expr::Cmp(..) => Ty::Boolean,
            Expr::Arith(..) | Expr::Neg(_) | Expr::Number(_) => Ty::Number,
            Expr::Literal(_) => Ty::String,
            Expr::Union(..) | Expr::Root | Expr::ContextNode | Expr::Path(..) => Ty::NodeSet,
            Expr::Filter(base, _) => base.ty(),
            Expr::Var(v) => v.ty(),
            Expr::Call(f, _) => f.signature().3,
            Expr::GetProperty(_) => Ty::Any,
        }
    }

    /// Whether the value depends on the context position or size (position()/last() used
    /// directly, not inside a nested predicate, which has its own focus).
    pub(crate) fn uses_position(&self) -> bool {
        match self {
            Expr::Call(Func::Position | Func::Last, _) => true,
            Expr::Call(_, args) => args.iter().any(Expr::uses_position),
            Expr::GetProperty(GetProperty::Dynamic(args)) => args.iter().any(Expr::uses_position),
            Expr::Or(v) | Expr::And(v) | Expr::Union(v) => v.iter().any(Expr::uses_position),
            Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) => a.uses_position() || b.uses_position(),
            Expr::Neg(a) | Expr::Path(a, _) | Expr::Filter(a, _) => a.uses_position(),
            _ => false,
        }
    }
}
