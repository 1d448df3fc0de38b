//! Evaluation of compiled expressions: operators, location paths, predicates and the
//! comparison rules of spec §3.4. Functions live in `functions`.
//!
//! Node-sets are kept sorted in document order without duplicates (node ids *are* document
//! order). Steps from several context nodes de-duplicate through a bitset sized by the largest
//! node id, so no intermediate grows beyond the document.
//!
//! Every evaluation has a work budget ([`Metered`]): the document is read through a wrapper
//! that counts tree moves and string-value reads, and evaluation stops with
//! [`EvalError::Budget`] once the budget is spent. The budget grows with the document (a few
//! dozen passes over it), so expressions linear in the document always finish while quadratic
//! ones on large bodies fail in milliseconds instead of holding the shard for seconds.

use std::cell::Cell;
use std::collections::HashSet;

use super::ast::{ArithOp, CmpOp, Expr, Pred, PredKind, Step};
use super::axes;
use super::dom::{Dom, NodeId, NodeKind};
use super::synapse::{PropertyValue, VarRef, XPathContext};
use super::value::{parse_number, Value};
use super::EvalError;

pub(crate) type R<T> = Result<T, EvalError>;

/// The evaluation focus: context node, position and size (§1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Focus {
    pub node: NodeId,
    pub pos: usize,
    pub size: usize,
}

/// Work units every evaluation may spend, whatever the document.
pub(crate) const BUDGET_BASE: u64 = 1 << 20;
/// Work units allowed per node of the document, on top of [`BUDGET_BASE`].
pub(crate) const BUDGET_PER_NODE: u64 = 64;

/// A document read under a work budget: one unit per move in the tree (parent, child,
/// sibling, each attribute or namespace node listed) and per node under a string-value read.
pub(crate) struct Metered<'a, D: Dom + ?Sized> {
    inner: &'a D,
    left: Cell<u64>,
}

impl<'a, D: Dom + ?Sized> Metered<'a, D> {
    /// `inner` with the budget its size allows.
    pub(crate) fn new(inner: &'a D) -> Self {
        let nodes = u64::from(inner.subtree_end(0)) + 1;
        Self::with_budget(
            inner,
            BUDGET_BASE.saturating_add(nodes.saturating_mul(BUDGET_PER_NODE)),
        )
    }

    pub(crate) fn with_budget(inner: &'a D, units: u64) -> Self {
        Metered {
            inner,
            left: Cell::new(units),
        }
    }

    #[inline(always)]
    fn spend(&self, units: u64) {
        self.left.set(self.left.get().saturating_sub(units));
    }

    /// Fails once the budget is spent.
    #[inline(always)]
    pub(crate) fn check(&self) -> R<()> {
        if self.left.get() == 0 {
            return Err(EvalError::Budget);
        }
        Ok(())
    }
}

impl<D: Dom + ?Sized> Dom for Metered<'_, D> {
    fn kind(&self, n: NodeId) -> NodeKind {
        self.inner.kind(n)
    }
    fn parent(&self, n: NodeId) -> Option<NodeId> {
        self.spend(1);
        self.inner.parent(n)
    }
    fn first_child(&self, n: NodeId) -> Option<NodeId> {
        self.spend(1);
        self.inner.first_child(n)
    }
    fn next_sibling(&self, n: NodeId) -> Option<NodeId> {
        self.spend(1);
        self.inner.next_sibling(n)
    }
    fn prev_sibling(&self, n: NodeId) -> Option<NodeId> {
        self.spend(1);
        self.inner.prev_sibling(n)
    }
    fn attributes(&self, n: NodeId) -> &[NodeId] {
        let a = self.inner.attributes(n);
        self.spend(1 + a.len() as u64);
        a
    }
    fn namespaces(&self, n: NodeId) -> &[NodeId] {
        let a = self.inner.namespaces(n);
        self.spend(1 + a.len() as u64);
        a
    }
    fn local_name(&self, n: NodeId) -> &str {
        self.inner.local_name(n)
    }
    fn namespace_uri(&self, n: NodeId) -> &str {
        self.inner.namespace_uri(n)
    }
    fn prefix(&self, n: NodeId) -> &str {
        self.inner.prefix(n)
    }
    fn string_value(&self, n: NodeId) -> std::borrow::Cow<'_, str> {
        let end = self.inner.subtree_end(n);
        self.spend(1 + u64::from(end.saturating_sub(n)));
        self.inner.string_value(n)
    }
    fn subtree_end(&self, n: NodeId) -> NodeId {
        self.inner.subtree_end(n)
    }
}

/// Evaluates expressions against one document and one message context.
pub(crate) struct Ev<'a, D: Dom + ?Sized> {
    pub dom: &'a Metered<'a, D>,
    pub cx: &'a dyn XPathContext,
}

/// A growable bitset over node ids.
#[derive(Default)]
struct Seen(Vec<u64>);

impl Seen {
    /// Marks `id`; `true` when it was not marked before.
    fn insert(&mut self, id: NodeId) -> bool {
        let (word, bit) = ((id / 64) as usize, id % 64);
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let fresh = self.0[word] & (1 << bit) == 0;
        self.0[word] |= 1 << bit;
        fresh
    }
}

/// Sorts and de-duplicates (for node lists of unknown order, e.g. from a property).
pub(crate) fn normalize(mut v: Vec<NodeId>) -> Vec<NodeId> {
    if !v.windows(2).all(|w| w[0] < w[1]) {
        v.sort_unstable();
        v.dedup();
    }
    v
}

/// Union of two sorted, duplicate-free lists.
fn merge(a: Vec<NodeId>, b: Vec<NodeId>) -> Vec<NodeId> {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Converts a property value to an XPath value.
pub(crate) fn from_property(v: PropertyValue<'_>) -> Value {
    match v {
        PropertyValue::String(s) => Value::String(s.into_owned()),
        PropertyValue::Number(n) => Value::Number(n),
        PropertyValue::Boolean(b) => Value::Boolean(b),
        PropertyValue::Nodes(n) => Value::NodeSet(normalize(n)),
    }
}

/// A missing (Java `null`) value: Jaxen compares `null` false with everything and converts it
/// to `""`, `NaN` and `false`, which is exactly how the empty node-set behaves.
pub(crate) fn null() -> Value {
    Value::NodeSet(Vec::new())
}

fn cmp_num(op: CmpOp, a: f64, b: f64) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

/// `a op b` becomes `b flip(op) a`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

impl<D: Dom + ?Sized> Ev<'_, D> {
    /// Evaluates `e`. Each arm is its own function so this frame, which every level of
    /// nesting adds to the stack, stays small.
    pub(crate) fn eval(&self, e: &Expr, f: Focus) -> R<Value> {
        self.dom.check()?;
        match e {
            Expr::Or(v) => Ok(Value::Boolean(self.any(v, f, true)?)),
            Expr::And(v) => Ok(Value::Boolean(!self.any(v, f, false)?)),
            Expr::Cmp(op, a, b) => self.eval_cmp(*op, a, b, f),
            Expr::Arith(op, a, b) => self.eval_arith(*op, a, b, f),
            Expr::Neg(a) => Ok(Value::Number(-self.number(a, f)?)),
            Expr::Union(v) => self.eval_union(v, f),
            Expr::Literal(s) => Ok(Value::String(s.clone())),
            Expr::Number(n) => Ok(Value::Number(*n)),
            Expr::Var(v) => Ok(self.var(v)),
            Expr::Call(func, args) => self.call(*func, args, f),
            Expr::GetProperty(g) => self.get_property(g, f),
            Expr::Root | Expr::ContextNode | Expr::Path(..) | Expr::Filter(..) => {
                Ok(Value::NodeSet(self.nodes(e, f)?))
            }
        }
    }

    fn eval_cmp(&self, op: CmpOp, a: &Expr, b: &Expr, f: Focus) -> R<Value> {
        let (va, vb) = (self.eval(a, f)?, self.eval(b, f)?);
        Ok(Value::Boolean(self.compare(op, &va, &vb)))
    }

    fn eval_arith(&self, op: ArithOp, a: &Expr, b: &Expr, f: Focus) -> R<Value> {
        let (x, y) = (self.number(a, f)?, self.number(b, f)?);
        Ok(Value::Number(match op {
            ArithOp::Add => x + y,
            ArithOp::Sub => x - y,
            ArithOp::Mul => x * y,
            ArithOp::Div => x / y,
            ArithOp::Mod => x % y,
        }))
    }

    fn eval_union(&self, v: &[Expr], f: Focus) -> R<Value> {
        let mut set = Vec::new();
        for e in v {
            set = merge(set, self.nodes(e, f)?);
        }
        Ok(Value::NodeSet(set))
    }

    /// Whether some operand's boolean value is `want` (short-circuit `or` / negated `and`).
    fn any(&self, v: &[Expr], f: Focus, want: bool) -> R<bool> {
        for e in v {
            if self.boolean(e, f)? == want {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(crate) fn boolean(&self, e: &Expr, f: Focus) -> R<bool> {
        Ok(match e {
            Expr::Root | Expr::ContextNode => true,
            _ => self.eval(e, f)?.to_boolean(),
        })
    }

    pub(crate) fn number(&self, e: &Expr, f: Focus) -> R<f64> {
        Ok(match e {
            Expr::Number(n) => *n,
            _ => self.eval(e, f)?.to_number(self.dom),
        })
    }

    pub(crate) fn string(&self, e: &Expr, f: Focus) -> R<String> {
        Ok(match e {
            Expr::Literal(s) => s.clone(),
            _ => self.eval(e, f)?.into_string_value(self.dom),
        })
    }

    /// Evaluates an expression that must yield a node-set.
    pub(crate) fn nodes(&self, e: &Expr, f: Focus) -> R<Vec<NodeId>> {
        match e {
            Expr::Root => Ok(vec![self.root(f.node)]),
            Expr::ContextNode => Ok(vec![f.node]),
            Expr::Path(start, steps) => {
                let mut set = self.nodes(start, f)?;
                for s in steps {
                    if set.is_empty() {
                        break;
                    }
                    set = self.step(&set, s)?;
                }
                Ok(set)
            }
            Expr::Filter(base, preds) => self.apply_preds(self.nodes(base, f)?, preds),
            other => match self.eval(other, f)? {
                Value::NodeSet(n) => Ok(n),
                _ => Err(EvalError::NotNodeSet("a path or union operand")),
            },
        }
    }

    pub(crate) fn root(&self, mut n: NodeId) -> NodeId {
        while let Some(p) = self.dom.parent(n) {
            n = p;
        }
        n
    }

    fn var(&self, v: &VarRef) -> Value {
        let node = |n: Option<NodeId>| Value::NodeSet(n.into_iter().collect());
        match v {
            VarRef::Body => node(self.cx.soap_body()),
            VarRef::Header => node(self.cx.soap_header()),
            VarRef::Envelope => node(self.cx.soap_envelope()),
            VarRef::Scoped(scope, name) => match self.cx.property(*scope, name) {
                Some(p) => from_property(p),
                None if *scope == super::Scope::System => Value::String(String::new()),
                None => null(),
            },
            VarRef::Url(name) => Value::String(
                self.cx
                    .query_param(name)
                    .map(|s| s.into_owned())
                    .unwrap_or_default(),
            ),
            VarRef::MapEntry { property, key } => match self.cx.map_entry(property, key) {
                Some(s) => Value::String(s.into_owned()),
                None => null(),
            },
        }
    }

    /// One location step applied to a document-ordered node-set.
    fn step(&self, input: &[NodeId], s: &Step) -> R<Vec<NodeId>> {
        let mut out = Vec::new();
        if let [only] = input {
            self.select(*only, s, &mut out)?;
            return Ok(out);
        }
        let mut seen = Seen::default();
        // For predicate-free descendant steps, a node inside an already-walked subtree adds
        // nothing new: skip it (keeps `//a//b` linear).
        let skip_nested = matches!(
            s.axis,
            super::ast::Axis::Descendant | super::ast::Axis::DescendantOrSelf
        ) && s.preds.is_empty();
        let mut covered: Option<NodeId> = None;
        for &n in input {
            self.dom.check()?;
            if skip_nested {
                let kind = self.dom.kind(n);
                let tree_node = !matches!(kind, NodeKind::Attribute | NodeKind::Namespace);
                if tree_node && covered.is_some_and(|end| n <= end) {
                    continue;
                }
                if tree_node {
                    covered = Some(self.dom.subtree_end(n).max(covered.unwrap_or(0)));
                }
            }
            let start = out.len();
            self.select(n, s, &mut out)?;
            let mut w = start;
            for r in start..out.len() {
                let id = out[r];
                if seen.insert(id) {
                    out[w] = id;
                    w += 1;
                }
            }
            out.truncate(w);
        }
        if !out.windows(2).all(|w| w[0] < w[1]) {
            out.sort_unstable();
        }
        Ok(out)
    }

    /// Appends the nodes step `s` selects from `n`, in document order.
    fn select(&self, n: NodeId, s: &Step, out: &mut Vec<NodeId>) -> R<()> {
        let start = out.len();
        // A leading constant position lets the walk stop early.
        let limit = match s.preds.first() {
            Some(Pred {
                kind: PredKind::Position(p),
                ..
            }) => {
                if *p >= 1.0 && p.fract() == 0.0 && *p <= u32::MAX as f64 {
                    Some(*p as usize)
                } else {
                    return Ok(());
                }
            }
            _ => None,
        };
        let dom = self.dom;
        let mut count = 0usize;
        axes::walk(dom, n, s.axis, &mut |id| {
            if axes::matches(dom, id, s.axis, &s.test) {
                out.push(id);
                count += 1;
                return Some(count) != limit;
            }
            true
        });
        self.dom.check()?;
        if !s.preds.is_empty() {
            let picked = out.split_off(start);
            out.extend(self.apply_preds(picked, &s.preds)?);
        }
        if s.axis.is_reverse() {
            out[start..].reverse();
        }
        Ok(())
    }

    /// Applies predicates in turn; positions are indexes into `nodes` (axis order).
    fn apply_preds(&self, mut nodes: Vec<NodeId>, preds: &[Pred]) -> R<Vec<NodeId>> {
        for p in preds {
            if nodes.is_empty() {
                break;
            }
            let size = nodes.len();
            nodes = match p.kind {
                PredKind::Position(k) => {
                    let idx = k - 1.0;
                    if idx >= 0.0 && idx.fract() == 0.0 && idx < size as f64 {
                        vec![nodes[idx as usize]]
                    } else {
                        Vec::new()
                    }
                }
                PredKind::Boolean | PredKind::Dynamic => {
                    let mut kept = Vec::with_capacity(size);
                    for (i, &node) in nodes.iter().enumerate() {
                        self.dom.check()?;
                        let f = Focus {
                            node,
                            pos: i + 1,
                            size,
                        };
                        let keep = if p.kind == PredKind::Boolean {
                            self.boolean(&p.expr, f)?
                        } else {
                            match self.eval(&p.expr, f)? {
                                Value::Number(x) => x == (i + 1) as f64,
                                other => other.to_boolean(),
                            }
                        };
                        if keep {
                            kept.push(node);
                        }
                    }
                    kept
                }
            };
        }
        Ok(nodes)
    }

    fn sv(&self, n: NodeId) -> std::borrow::Cow<'_, str> {
        self.dom.string_value(n)
    }

    /// `a op b` under the rules of §3.4.
    fn compare(&self, op: CmpOp, a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::NodeSet(x), Value::NodeSet(y)) => self.cmp_sets(op, x, y),
            (Value::NodeSet(x), atom) => self.cmp_set_atom(op, x, atom),
            (atom, Value::NodeSet(y)) => self.cmp_set_atom(flip(op), y, atom),
            (a, b) => self.cmp_atoms(op, a, b),
        }
    }

    fn cmp_atoms(&self, op: CmpOp, a: &Value, b: &Value) -> bool {
        let eq = matches!(op, CmpOp::Eq | CmpOp::Ne);
        if eq && (matches!(a, Value::Boolean(_)) || matches!(b, Value::Boolean(_))) {
            return (a.to_boolean() == b.to_boolean()) == (op == CmpOp::Eq);
        }
        if eq && !matches!(a, Value::Number(_)) && !matches!(b, Value::Number(_)) {
            return (a.as_cow(self.dom) == b.as_cow(self.dom)) == (op == CmpOp::Eq);
        }
        cmp_num(op, a.to_number(self.dom), b.to_number(self.dom))
    }

    /// `set op atom` (the set on the left).
    fn cmp_set_atom(&self, op: CmpOp, set: &[NodeId], atom: &Value) -> bool {
        match atom {
            Value::Boolean(b) => {
                self.cmp_atoms(op, &Value::Boolean(!set.is_empty()), &Value::Boolean(*b))
            }
            Value::Number(n) => set
                .iter()
                .any(|&id| cmp_num(op, parse_number(&self.sv(id)), *n)),
            Value::String(s) => match op {
                CmpOp::Eq => set.iter().any(|&id| self.sv(id) == s.as_str()),
                CmpOp::Ne => set.iter().any(|&id| self.sv(id) != s.as_str()),
                _ => {
                    let n = parse_number(s);
                    set.iter()
                        .any(|&id| cmp_num(op, parse_number(&self.sv(id)), n))
                }
            },
            Value::NodeSet(other) => self.cmp_sets(op, set, other),
        }
    }

    fn cmp_sets(&self, op: CmpOp, x: &[NodeId], y: &[NodeId]) -> bool {
        if x.is_empty() || y.is_empty() {
            return false;
        }
        match op {
            CmpOp::Eq => {
                let ys: HashSet<_> = y.iter().map(|&id| self.sv(id)).collect();
                x.iter().any(|&id| ys.contains(&self.sv(id)))
            }
            CmpOp::Ne => {
                // Some pair differs unless every string on both sides is the same one.
                let first = self.sv(x[0]);
                !x.iter().chain(y).all(|&id| self.sv(id) == first)
            }
            _ => {
                let nums = |s: &[NodeId]| -> Vec<f64> {
                    s.iter()
                        .map(|&id| parse_number(&self.sv(id)))
                        .filter(|n| !n.is_nan())
                        .collect()
                };
                let (xs, ys) = (nums(x), nums(y));
                let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
                let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if xs.is_empty() || ys.is_empty() {
                    return false;
                }
                match op {
                    CmpOp::Lt | CmpOp::Le => cmp_num(op, min(&xs), max(&ys)),
                    _ => cmp_num(op, max(&xs), min(&ys)),
                }
            }
        }
    }
}
