//! JSONPath evaluation with Jayway's rules (see the parent module docs). Matches are borrowed
//! from the document; only name-list leaves and function results are built.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::{CmpOp, Expr, Func, JsonPathResult, Operand, PathExpr, Selector, Step};
use crate::json::number::java_double;

/// Jayway threw (a definite step met a missing or mistyped node).
struct Refused;

pub(super) fn evaluate(expr: &PathExpr, root: &Value) -> JsonPathResult {
    match path_value(expr, root, root) {
        Some(PathOut::One(v)) => JsonPathResult::Value(v.into_owned()),
        Some(PathOut::Many(items)) => {
            JsonPathResult::List(items.into_iter().map(Cow::into_owned).collect())
        }
        None => JsonPathResult::NotFound,
    }
}

enum PathOut<'a> {
    One(Cow<'a, Value>),
    Many(Vec<Cow<'a, Value>>),
}

/// Evaluates a path from the root (`$`) or from `cur` (`@`), then its function.
fn path_value<'a>(expr: &PathExpr, root: &'a Value, cur: &'a Value) -> Option<PathOut<'a>> {
    let start = if expr.root { root } else { cur };
    let matches: Vec<Cow<'a, Value>> = select(&expr.steps, root, (start, ()))
        .ok()?
        .into_iter()
        .map(|(v, ())| v)
        .collect();
    let out = if expr.is_definite() {
        PathOut::One(matches.into_iter().next()?)
    } else {
        PathOut::Many(matches)
    };
    match expr.func {
        None => Some(out),
        Some(f) => {
            let model = match out {
                PathOut::One(v) => v,
                PathOut::Many(items) => Cow::Owned(Value::Array(
                    items.into_iter().map(Cow::into_owned).collect(),
                )),
            };
            function(f, &model).map(|v| PathOut::One(Cow::Owned(v)))
        }
    }
}

/// What a match carries besides its value: nothing when evaluating, its location when locating
/// the matches to change them (Jayway's `set` / `delete`).
trait Trail: Clone {
    /// A name list as the last step yields one merged object (reading), or each member
    /// (locating).
    const MERGES_NAMES: bool;
    /// The trail one member further.
    fn to(&self, member: impl FnOnce() -> Member) -> Self;
}

impl Trail for () {
    const MERGES_NAMES: bool = true;
    fn to(&self, _: impl FnOnce() -> Member) {}
}

impl Trail for Vec<Member> {
    const MERGES_NAMES: bool = false;
    fn to(&self, member: impl FnOnce() -> Member) -> Vec<Member> {
        let mut at = Vec::with_capacity(self.len() + 1);
        at.extend_from_slice(self);
        at.push(member());
        at
    }
}

/// One step from a container to what it holds: an object's key or an array's index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member {
    Key(String),
    Index(usize),
}

/// Where the matches of a path from the root are, in Jayway's order; None when Jayway
/// refuses the path (a definite step meets a missing or mistyped node).
pub(super) fn locate(expr: &PathExpr, root: &Value) -> Option<Vec<Vec<Member>>> {
    let matches = select(&expr.steps, root, (root, Vec::new())).ok()?;
    Some(matches.into_iter().map(|(_, at)| at).collect())
}

type Found<'a, T> = Vec<(Cow<'a, Value>, T)>;

fn select<'a, T: Trail>(
    steps: &[Step],
    root: &'a Value,
    start: (&'a Value, T),
) -> Result<Found<'a, T>, Refused> {
    let mut cur: Found<'a, T> = vec![(Cow::Borrowed(start.0), start.1)];
    let mut upstream_definite = true;
    for (i, step) in steps.iter().enumerate() {
        let leaf = i + 1 == steps.len();
        let mut next = Vec::new();
        for (node, at) in &cur {
            match node {
                Cow::Borrowed(v) => apply(step, v, at, leaf, upstream_definite, root, &mut next)?,
                Cow::Owned(v) => {
                    let mut local = Vec::new();
                    apply(step, v, at, leaf, upstream_definite, root, &mut local)?;
                    next.extend(
                        local
                            .into_iter()
                            .map(|(c, at)| (Cow::Owned(c.into_owned()), at)),
                    );
                }
            }
        }
        upstream_definite &= step.is_definite();
        cur = next;
    }
    Ok(cur)
}

fn apply<'a, T: Trail>(
    step: &Step,
    node: &'a Value,
    at: &T,
    leaf: bool,
    upstream_definite: bool,
    root: &Value,
    out: &mut Found<'a, T>,
) -> Result<(), Refused> {
    match step {
        Step::Child(sel) => child(sel, node, at, leaf, upstream_definite, root, out),
        Step::Scan(sel) => {
            scan(sel, node, at, root, out);
            Ok(())
        }
    }
}

fn child<'a, T: Trail>(
    sel: &Selector,
    node: &'a Value,
    at: &T,
    leaf: bool,
    upstream_definite: bool,
    root: &Value,
    out: &mut Found<'a, T>,
) -> Result<(), Refused> {
    let refuse = || {
        if upstream_definite {
            Err(Refused)
        } else {
            Ok(())
        }
    };
    match sel {
        Selector::Name(n) => match node {
            Value::Object(m) => match m.get(n) {
                Some(v) => out.push((Cow::Borrowed(v), at.to(|| Member::Key(n.clone())))),
                None if !leaf && upstream_definite => return Err(Refused),
                None => {}
            },
            _ => return refuse(),
        },
        Selector::Names(ns) => match node {
            Value::Object(m) if leaf && T::MERGES_NAMES => {
                let merged: Map<String, Value> = ns
                    .iter()
                    .filter_map(|n| m.get(n).map(|v| (n.clone(), v.clone())))
                    .collect();
                out.push((Cow::Owned(Value::Object(merged)), at.clone()));
            }
            Value::Object(m) => members(ns, m, at, out),
            _ => return refuse(),
        },
        Selector::Wildcard => children(node, at, out),
        Selector::Index(_) | Selector::Indexes(_) | Selector::Slice(..) => match node {
            Value::Array(items) => indexed(sel, items, at, out),
            _ => return refuse(),
        },
        Selector::Filter(e) => match node {
            Value::Array(items) => out.extend(
                items
                    .iter()
                    .enumerate()
                    .filter(|(_, item)| test(e, item, root))
                    .map(|(i, item)| (Cow::Borrowed(item), at.to(|| Member::Index(i)))),
            ),
            Value::Object(_) if test(e, node, root) => {
                out.push((Cow::Borrowed(node), at.clone()));
            }
            _ => {}
        },
    }
    Ok(())
}
fn members<'a, T: Trail>(
    names: &[String],
    m: &'a Map<String, Value>,
    at: &T,
    out: &mut Found<'a, T>,
) {
    out.extend(names.iter().filter_map(|n| {
        m.get(n)
            .map(|v| (Cow::Borrowed(v), at.to(|| Member::Key(n.clone()))))
    }));
}

fn children<'a, T: Trail>(node: &'a Value, at: &T, out: &mut Found<'a, T>) {
    match node {
        Value::Object(m) => out.extend(
            m.iter()
                .map(|(k, v)| (Cow::Borrowed(v), at.to(|| Member::Key(k.clone())))),
        ),
        Value::Array(items) => out.extend(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (Cow::Borrowed(v), at.to(|| Member::Index(i)))),
        ),
        _ => {}
    }
}

fn indexed<'a, T: Trail>(sel: &Selector, items: &'a [Value], at: &T, out: &mut Found<'a, T>) {
    let len = items.len() as i64;
    let found = |i: usize| (Cow::Borrowed(&items[i]), at.to(|| Member::Index(i)));
    let index = |i: i64| {
        let i = if i < 0 { len + i } else { i };
        usize::try_from(i).ok().filter(|&i| i < items.len())
    };
    match sel {
        Selector::Index(i) => out.extend(index(*i).map(found)),
        Selector::Indexes(is) => out.extend(is.iter().filter_map(|&i| index(i)).map(found)),
        Selector::Slice(from, to) => {
            let start = match *from {
                Some(f) if f < 0 => (len + f).max(0),
                Some(f) => f.min(len),
                None => 0,
            };
            let end = match *to {
                Some(t) if t < 0 => (len + t).max(0),
                Some(t) => t.min(len),
                None => len,
            };
            if start < end {
                out.extend((start as usize..end as usize).map(found));
            }
        }
        _ => {}
    }
}

/// `..sel`: `sel` applied to every container, in document pre-order (Jayway's walk).
fn scan<'a, T: Trail>(
    sel: &Selector,
    node: &'a Value,
    at: &T,
    root: &Value,
    out: &mut Found<'a, T>,
) {
    match (sel, node) {
        (Selector::Name(n), Value::Object(m)) => members(std::slice::from_ref(n), m, at, out),
        (Selector::Names(ns), Value::Object(m)) => members(ns, m, at, out),
        (Selector::Wildcard, _) => children(node, at, out),
        (Selector::Index(_) | Selector::Indexes(_) | Selector::Slice(..), Value::Array(items)) => {
            indexed(sel, items, at, out);
        }
        (Selector::Filter(e), Value::Object(_)) if test(e, node, root) => {
            out.push((Cow::Borrowed(node), at.clone()));
        }
        _ => {}
    }
    match node {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| scan(sel, v, &at.to(|| Member::Key(k.clone())), root, out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| scan(sel, v, &at.to(|| Member::Index(i)), root, out)),
        _ => {}
    }
}

fn test(e: &Expr, item: &Value, root: &Value) -> bool {
    match e {
        Expr::Or(a, b) => test(a, item, root) || test(b, item, root),
        Expr::And(a, b) => test(a, item, root) && test(b, item, root),
        Expr::Not(a) => !test(a, item, root),
        Expr::Exists(op) => match op {
            Operand::Path(p) => match path_value(p, root, item) {
                Some(PathOut::One(_)) => true,
                Some(PathOut::Many(items)) => !items.is_empty(),
                None => false,
            },
            Operand::Lit(Value::Bool(b)) => *b,
            Operand::Lit(Value::Null) => false,
            _ => true,
        },
        Expr::Cmp(l, op, r) => compare(l, *op, r, item, root),
    }
}

fn operand<'a>(op: &'a Operand, item: &'a Value, root: &'a Value) -> Option<Cow<'a, Value>> {
    match op {
        Operand::Lit(v) => Some(Cow::Borrowed(v)),
        Operand::Regex(_) => None,
        Operand::Path(p) => match path_value(p, root, item)? {
            PathOut::One(v) => Some(v),
            PathOut::Many(items) => Some(Cow::Owned(Value::Array(
                items.into_iter().map(Cow::into_owned).collect(),
            ))),
        },
    }
}

fn compare(l: &Operand, op: CmpOp, r: &Operand, item: &Value, root: &Value) -> bool {
    match op {
        CmpOp::Ne => return !compare(l, CmpOp::Eq, r, item, root),
        CmpOp::Nin => return !compare(l, CmpOp::In, r, item, root),
        CmpOp::Match => {
            let (re, other) = match (l, r) {
                (_, Operand::Regex(re)) => (re, l),
                (Operand::Regex(re), _) => (re, r),
                _ => return false,
            };
            return match operand(other, item, root).as_deref() {
                Some(Value::String(s)) => re.is_match(s),
                Some(Value::Number(n)) => re.is_match(&n.to_string()),
                Some(Value::Bool(b)) => re.is_match(&b.to_string()),
                _ => false,
            };
        }
        _ => {}
    }
    let (Some(a), Some(b)) = (operand(l, item, root), operand(r, item, root)) else {
        return false;
    };
    match op {
        CmpOp::Eq => equal(&a, &b),
        CmpOp::In => match b.as_ref() {
            Value::Array(items) => items.iter().any(|x| equal(&a, x)),
            _ => false,
        },
        CmpOp::Lt => order(&a, &b) == Some(Ordering::Less),
        CmpOp::Le => matches!(order(&a, &b), Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => order(&a, &b) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order(&a, &b), Some(Ordering::Greater | Ordering::Equal)),
        _ => false,
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// Jayway's `==`: numbers numerically (a numeric string counts as its number), otherwise same
/// type and same value.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num(a) == num(b),
        (Value::Number(_), Value::String(s)) | (Value::String(s), Value::Number(_)) => {
            let n = if matches!(a, Value::Number(_)) { a } else { b };
            s.trim().parse::<f64>().ok() == num(n)
        }
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num(a)?.partial_cmp(&num(b)?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn function(f: Func, model: &Value) -> Option<Value> {
    match f {
        Func::Length | Func::Size => Some(Value::from(match model {
            Value::Array(items) => items.len(),
            Value::Object(m) => m.len(),
            Value::String(s) => s.chars().count(),
            _ => return None,
        })),
        Func::Keys => match model {
            Value::Object(m) => Some(Value::Array(
                m.keys().map(|k| Value::String(k.clone())).collect(),
            )),
            _ => None,
        },
        Func::First => model.as_array()?.first().cloned(),
        Func::Last => model.as_array()?.last().cloned(),
        Func::Min | Func::Max | Func::Avg | Func::Sum | Func::Stddev => {
            let nums: Vec<f64> = model.as_array()?.iter().filter_map(num).collect();
            if nums.is_empty() {
                return None;
            }
            let n = nums.len() as f64;
            let sum: f64 = nums.iter().sum();
            let v = match f {
                Func::Min => nums.iter().copied().fold(f64::INFINITY, f64::min),
                Func::Max => nums.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                Func::Avg => sum / n,
                Func::Sum => sum,
                _ => {
                    let mean = sum / n;
                    (nums.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
                }
            };
            serde_json::from_str(&java_double(v)).ok()
        }
    }
}
