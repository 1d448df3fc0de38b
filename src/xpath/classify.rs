//! Deploy-time analysis of compiled expressions: does an expression read the message content
//! at all ([`reads_content`]), and is it a simple path a byte scanner can answer without
//! building a tree ([`SimplePath`])?

use std::num::NonZeroU32;

use super::ast::{Axis, Expr, Func, GetProperty, NodeTest, Pred, PredKind, Step, Ty};
use super::synapse::VarRef;

/// Whether evaluating `e` may look at the message content (the document). Expressions that
/// only read properties, headers, literals, `position()`... answer `false`, so flows made of
/// them can keep the message unparsed.
pub(crate) fn reads_content(e: &Expr) -> bool {
    match e {
        Expr::Root | Expr::ContextNode | Expr::Path(..) => true,
        Expr::Var(v) => v.reads_content(),
        Expr::GetProperty(GetProperty::Static { name, .. }) => name.reads_content(),
        // The name is only known per message: it could be FAULT.
        Expr::GetProperty(GetProperty::Dynamic(_)) => true,
        Expr::Call(f, args) => {
            let implicit_context = args.is_empty()
                && matches!(
                    f,
                    Func::String
                        | Func::StringLength
                        | Func::NormalizeSpace
                        | Func::Number
                        | Func::LocalName
                        | Func::NamespaceUri
                        | Func::Name
                );
            implicit_context || matches!(f, Func::Lang | Func::Id) || args.iter().any(reads_content)
        }
        Expr::Or(v) | Expr::And(v) | Expr::Union(v) => v.iter().any(reads_content),
        Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) => reads_content(a) || reads_content(b),
        Expr::Neg(a) => reads_content(a),
        Expr::Filter(a, preds) => reads_content(a) || preds.iter().any(|p| reads_content(&p.expr)),
        Expr::Literal(_) | Expr::Number(_) => false,
    }
}

/// Whether `e` is plain XPath 1.0 (see [`super::XPath::is_plain_xpath1`]).
pub(crate) fn plain_xpath1(e: &Expr) -> bool {
    // The namespace axis differs between engines (which declarations an element has), so
    // does id() (DTD and xml:id support).
    let steps = |steps: &[Step]| {
        steps
            .iter()
            .all(|s| s.axis != Axis::Namespace && s.preds.iter().all(|p| plain_xpath1(&p.expr)))
    };
    match e {
        Expr::Var(_) | Expr::GetProperty(_) => false,
        Expr::Call(f, args) => {
            !matches!(
                f,
                Func::Id
                    | Func::EndsWith
                    | Func::UpperCase
                    | Func::LowerCase
                    | Func::Base64Encode
                    | Func::Base64Decode
                    | Func::UrlEncode
                    | Func::UrlDecode
                    | Func::VaultLookup
            ) && args.iter().all(plain_xpath1)
                && !args
                    .iter()
                    .enumerate()
                    .any(|(i, a)| a.ty() == Ty::Number && takes_string(*f, i) && !small_integer(a))
        }
        Expr::Or(v) | Expr::And(v) | Expr::Union(v) => v.iter().all(plain_xpath1),
        Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) => plain_xpath1(a) && plain_xpath1(b),
        Expr::Neg(a) => plain_xpath1(a),
        Expr::Filter(a, preds) => plain_xpath1(a) && preds.iter().all(|p| plain_xpath1(&p.expr)),
        Expr::Path(a, s) => plain_xpath1(a) && steps(s),
        Expr::Literal(_) | Expr::Number(_) | Expr::Root | Expr::ContextNode => true,
    }
}

/// Whether `e` is always a small whole number (written the same way by every XPath engine).
fn small_integer(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Call(
            Func::Count | Func::StringLength | Func::Position | Func::Last,
            _
        )
    )
}

/// Whether argument `i` of `f` is converted to a string (where a number's text would show).
fn takes_string(f: Func, i: usize) -> bool {
    match f {
        Func::String
        | Func::Concat
        | Func::StartsWith
        | Func::Contains
        | Func::SubstringBefore
        | Func::SubstringAfter
        | Func::StringLength
        | Func::NormalizeSpace
        | Func::Translate => true,
        Func::Substring => i == 0,
        _ => false,
    }
}

/// Where a [`SimplePath`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// `/...`: the document root.
    Root,
    /// A relative path: the evaluation context node (Synapse evaluates against the SOAP
    /// envelope element, so `soapenv:Body/x` is relative to the envelope).
    Context,
    /// `$body/...`: the SOAP body element.
    Body,
    /// `$header/...`: the SOAP header element.
    Header,
}

/// One element step of a [`SimplePath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleStep {
    /// `false`: a child of the previous match (or of the anchor). `true`: an element at any
    /// depth below it (the step came after `//`).
    pub descendant: bool,
    /// Namespace URI the element must have: `Some("")` for an unprefixed name (no namespace),
    /// `Some(uri)` for `prefix:name` and `prefix:*`, `None` for `*` (any namespace).
    pub ns: Option<String>,
    /// Local name the element must have; `None` for `*` and `prefix:*`.
    pub local: Option<String>,
    /// `[n]`: the element must be the n-th (from 1) child **of its own parent** that passes
    /// this step's name test (XPath's child-axis position, also after `//`: `//order[1]` is
    /// every `order` that is the first `order` child of its parent, not the first `order` of
    /// the document). `None`: no position constraint.
    pub position: Option<NonZeroU32>,
}

/// What a [`SimplePath`] selects at the end of its element steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimpleTail {
    /// The matched elements themselves.
    Element,
    /// `.../text()`: the text-node children of the matched elements.
    Text,
    /// `.../@name`: that attribute of the matched elements. `ns` is `""` for an unprefixed
    /// attribute name.
    Attribute {
        /// Namespace URI of the attribute.
        ns: String,
        /// Local name of the attribute.
        local: String,
    },
}

/// An expression of the shape `[string(] anchor step/step/... [/text() | /@attr] [)]` where
/// every step is an element name test (`name`, `prefix:name`, `prefix:*`, `*`) on the child
/// axis, or after `//`, with at most one constant positive integer predicate.
///
/// Meaning, for a scanner: the expression's node-set is every node reached by matching the
/// steps in order from the anchor, in document order, without duplicates; with `string` set,
/// the result is the string-value of the **first** such node (`""` when none). Without it the
/// result is the whole node-set (Synapse's own string conversion of a node-set result joins
/// the nodes, which is the caller's business).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimplePath {
    /// Where matching starts.
    pub anchor: Anchor,
    /// The element steps, at least one.
    pub steps: Vec<SimpleStep>,
    /// What is selected from the last matched elements.
    pub tail: SimpleTail,
    /// Whether the path was wrapped in `string(...)`.
    pub string: bool,
}

fn is_dos(s: &Step) -> bool {
    s.axis == Axis::DescendantOrSelf && s.test == NodeTest::AnyNode && s.preds.is_empty()
}

/// `Some(None)`: no predicate; `Some(Some(n))`: one constant `[n]`; `None`: anything else.
fn position(preds: &[Pred]) -> Option<Option<NonZeroU32>> {
    match preds {
        [] => Some(None),
        [Pred {
            kind: PredKind::Position(p),
            ..
        }] if p.fract() == 0.0 && *p <= f64::from(u32::MAX) => NonZeroU32::new(*p as u32).map(Some),
        _ => None,
    }
}

/// Recognises the simple shape (see [`SimplePath`]); `None` for anything else.
pub(crate) fn simple_path(e: &Expr) -> Option<SimplePath> {
    let (e, string) = match e {
        Expr::Call(Func::String, args) if args.len() == 1 => (&args[0], true),
        other => (other, false),
    };
    let Expr::Path(start, steps) = e else {
        return None;
    };
    let anchor = match start.as_ref() {
        Expr::Root => Anchor::Root,
        Expr::ContextNode => Anchor::Context,
        Expr::Var(VarRef::Body) => Anchor::Body,
        Expr::Var(VarRef::Header) => Anchor::Header,
        _ => return None,
    };
    let mut out = Vec::new();
    let mut tail = SimpleTail::Element;
    let mut descendant = false;
    for (i, s) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        if is_dos(s) && !last && !descendant {
            descendant = true;
            continue;
        }
        if last && !descendant && s.preds.is_empty() {
            match (&s.axis, &s.test) {
                (Axis::Child, NodeTest::Text) => {
                    tail = SimpleTail::Text;
                    break;
                }
                (Axis::Attribute, NodeTest::Name { uri, local }) => {
                    tail = SimpleTail::Attribute {
                        ns: uri.clone(),
                        local: local.clone(),
                    };
                    break;
                }
                _ => {}
            }
        }
        let (desc, position) = match s.axis {
            Axis::Child => (descendant, position(&s.preds)?),
            // A folded `//name` (no predicates).
            Axis::Descendant if !descendant && s.preds.is_empty() => (true, None),
            _ => return None,
        };
        let (ns, local) = match &s.test {
            NodeTest::Name { uri, local } => (Some(uri.clone()), Some(local.clone())),
            NodeTest::NsWildcard(uri) => (Some(uri.clone()), None),
            NodeTest::Principal => (None, None),
            _ => return None,
        };
        out.push(SimpleStep {
            descendant: desc,
            ns,
            local,
            position,
        });
        descendant = false;
    }
    if out.is_empty() || descendant {
        return None;
    }
    Some(SimplePath {
        anchor,
        steps: out,
        tail,
        string,
    })
}
