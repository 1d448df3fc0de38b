//! Jayway-compatible JSONPath for `json-eval(...)` and payloadFactory `evaluator="json"`.
//!
//! Semantics follow Jayway JsonPath 2.x with its default options, as WSO2's `SynapseJsonPath`
//! uses it:
//! - a **definite** path (only names and single indices) yields one value, or nothing, which
//!   Jayway reports as `PathNotFoundException` and WSO2 renders as `""`;
//! - an **indefinite** path (wildcards, deep scan, filters, slices, index or name lists) yields
//!   the list of matches, rendered as a JSON array (`[]` when nothing matched);
//! - a missing leaf is skipped; a missing or mistyped step whose upstream is definite makes the
//!   whole evaluation fail (Jayway throws), e.g. `$.missing[*]` → nothing;
//! - a name list as the last step (`$['a','b']`) yields one object of the present members (and
//!   keeps the path definite);
//! - filters compare numbers numerically, a number and a numeric string as numbers, strings
//!   lexicographically (`<`…), and `=~ /re/i` matches the whole string.
//!
//! [`JsonPathResult::to_synapse_string`] renders like `SynapseJsonPath.stringValueOf`: strings
//! unquoted, numbers as written, `null` as `null`, objects and arrays as compact JSON.

mod eval;
mod parse;

pub use eval::Member;

use regex::Regex;
use serde_json::Value;

use super::write::to_compact_string;
use super::JsonError;

/// A compiled JSONPath expression.
#[derive(Debug, Clone)]
pub struct JsonPath {
    src: String,
    expr: PathExpr,
}

/// What a [`JsonPath`] evaluated to.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonPathResult {
    /// A definite path (or a function) produced this value.
    Value(Value),
    /// An indefinite path: every match, in Jayway's order.
    List(Vec<Value>),
    /// No match for a definite path, or a step Jayway refuses (it throws; WSO2 returns `""`).
    NotFound,
}

impl JsonPathResult {
    /// The text `json-eval(...)` yields in WSO2: strings unquoted, numbers as written, booleans,
    /// `null` as `null`, objects and arrays (and lists of matches) as compact JSON, nothing as
    /// `""`.
    pub fn to_synapse_string(&self) -> String {
        match self {
            JsonPathResult::Value(Value::String(s)) => s.clone(),
            JsonPathResult::Value(v @ (Value::Object(_) | Value::Array(_))) => to_compact_string(v),
            JsonPathResult::Value(Value::Number(n)) => n.to_string(),
            JsonPathResult::Value(Value::Bool(b)) => b.to_string(),
            JsonPathResult::Value(Value::Null) => "null".to_string(),
            JsonPathResult::List(items) => {
                let mut out = String::from("[");
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    super::write::push_compact(&mut out, v);
                }
                out.push(']');
                out
            }
            JsonPathResult::NotFound => String::new(),
        }
    }

    /// The matches as a list (a definite value is a list of one; nothing is empty), for
    /// iterate / foreach / aggregate.
    pub fn into_values(self) -> Vec<Value> {
        match self {
            JsonPathResult::Value(v) => vec![v],
            JsonPathResult::List(items) => items,
            JsonPathResult::NotFound => Vec::new(),
        }
    }
}

impl JsonPath {
    /// Compiles a Jayway JSONPath. A trailing `.` is dropped (`$.` is the whole payload), as
    /// `SynapseJsonPath` does; a path not starting with `$` or `@` is read as `$.<path>`.
    pub fn compile(path: &str) -> Result<JsonPath, JsonError> {
        let trimmed = path.trim();
        let body = match trimmed.strip_suffix('.') {
            Some(b) if !b.ends_with('.') => b,
            _ => trimmed,
        };
        let expr = parse::parse(body).map_err(|e| match e {
            JsonError::Path {
                offset, message, ..
            } => JsonError::Path {
                path: path.to_string(),
                offset,
                message,
            },
            other => other,
        })?;
        Ok(JsonPath {
            src: path.to_string(),
            expr,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.src
    }

    /// True for `$` / `$.`: WSO2 then returns the payload text untouched, without parsing.
    pub fn is_whole_body(&self) -> bool {
        self.expr.root && self.expr.steps.is_empty() && self.expr.func.is_none()
    }

    /// True when the path can match at most one value (Jayway's `isDefinite`).
    pub fn is_definite(&self) -> bool {
        self.expr.is_definite()
    }

    /// The value a definite path of names and indices from `$` selects, to change in place
    /// (iterate's JSON attach path, foreach's write-back). None when the path is not of that
    /// form or selects nothing. A negative index counts from the end, as Jayway's does.
    pub fn value_mut<'v>(&self, json: &'v mut Value) -> Option<&'v mut Value> {
        if !self.expr.root || self.expr.func.is_some() {
            return None;
        }
        let mut cur = json;
        for step in &self.expr.steps {
            cur = match step {
                Step::Child(Selector::Name(n)) => cur.as_object_mut()?.get_mut(n.as_str())?,
                Step::Child(Selector::Index(i)) => {
                    let items = cur.as_array_mut()?;
                    let at = if *i < 0 {
                        items.len().checked_sub(i.unsigned_abs() as usize)?
                    } else {
                        *i as usize
                    };
                    items.get_mut(at)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Evaluates the path against a document.
    pub fn evaluate(&self, json: &Value) -> JsonPathResult {
        eval::evaluate(&self.expr, json)
    }

    /// Evaluates the path against a JSON payload: the same result as [`JsonPath::evaluate`] on
    /// the parsed payload. A definite path of names and indices from `$` (the common
    /// `json-eval($.a.b[0].c)`) walks the raw payload instead of building its tree, so only
    /// the selected value is parsed; other paths parse the whole payload.
    pub fn evaluate_bytes(&self, json: &[u8]) -> Result<JsonPathResult, JsonError> {
        let simple = self.expr.root
            && self.expr.func.is_none()
            && self.expr.steps.iter().all(|s| {
                matches!(
                    s,
                    Step::Child(Selector::Name(_)) | Step::Child(Selector::Index(_))
                )
            });
        if !simple {
            return Ok(self.evaluate(&super::parse(json)?));
        }
        let mut cur = super::stream_xml::raw_document(json)?;
        for step in &self.expr.steps {
            let next = match step {
                Step::Child(Selector::Name(n)) => super::stream_xml::raw_member(cur, n)?,
                Step::Child(Selector::Index(i)) => super::stream_xml::raw_item(cur, *i)?,
                _ => None,
            };
            // A missing or mistyped step of a definite path: Jayway finds nothing.
            let Some(next) = next else {
                return Ok(JsonPathResult::NotFound);
            };
            cur = next;
        }
        Ok(JsonPathResult::Value(super::parse(cur.get().as_bytes())?))
    }
}

/// Changing a document where a path points, as Jayway's `set`, `delete` and `renameKey` do
/// (the enrich mediator's JSON targets and its `remove` action).
impl JsonPath {
    /// Where the path's matches are, in Jayway's order. None when Jayway refuses the path (a
    /// definite step meets a missing or mistyped node: `PathNotFoundException`), or the path
    /// cannot point into a document (it ends in a function, or starts at `@`).
    pub fn locate(&self, json: &Value) -> Option<Vec<Vec<Member>>> {
        if !self.expr.root || self.expr.func.is_some() {
            return None;
        }
        eval::locate(&self.expr, json)
    }

    /// Jayway's `set`: every match becomes `value`; a missing last member stays missing (`set`
    /// adds nothing). False when Jayway refuses the path.
    pub fn set(&self, json: &mut Value, value: &Value) -> bool {
        let Some(found) = self.locate(json) else {
            return false;
        };
        for at in found {
            if let Some(slot) = member_mut(json, &at) {
                *slot = value.clone();
            }
        }
        true
    }

    /// Jayway's `delete`: every match is taken out of its container. Array items go from the
    /// last, and members before their containers, so every location still points where it
    /// did. The root itself is not deleted. False when Jayway refuses the path.
    pub fn delete(&self, json: &mut Value) -> bool {
        let Some(mut found) = self.locate(json) else {
            return false;
        };
        found.sort();
        found.dedup();
        for at in found.iter().rev() {
            let Some((last, parent)) = at.split_last() else {
                continue;
            };
            match (member_mut(json, parent), last) {
                (Some(Value::Object(m)), Member::Key(k)) => {
                    m.shift_remove(k);
                }
                (Some(Value::Array(items)), Member::Index(i)) if *i < items.len() => {
                    items.remove(*i);
                }
                _ => {}
            }
        }
        true
    }

    /// Jayway's `renameKey`: in every object the path selects, member `from` becomes `to`,
    /// moved to the end (Gson adds the new name, then removes the old one). An error when the
    /// path selects nothing Jayway can rename in, or an object lacks `from`.
    pub fn rename_key(&self, json: &mut Value, from: &str, to: &str) -> Result<(), String> {
        let found = self
            .locate(json)
            .ok_or_else(|| format!("no results for path {}", self.src))?;
        for at in found {
            let Some(Value::Object(m)) = member_mut(json, &at) else {
                return Err(format!("{} does not select an object", self.src));
            };
            let Some(v) = m.shift_remove(from) else {
                return Err(format!("no key '{from}' at {}", self.src));
            };
            m.insert(to.to_string(), v);
        }
        Ok(())
    }
}

/// The value at a location, to change in place.
fn member_mut<'v>(json: &'v mut Value, at: &[Member]) -> Option<&'v mut Value> {
    at.iter().try_fold(json, |cur, m| match (cur, m) {
        (Value::Object(o), Member::Key(k)) => o.get_mut(k.as_str()),
        (Value::Array(items), Member::Index(i)) => items.get_mut(*i),
        _ => None,
    })
}

/// A parsed path: from the root (`$`) or the current filter item (`@`).
#[derive(Debug, Clone)]
pub(crate) struct PathExpr {
    pub(crate) root: bool,
    pub(crate) steps: Vec<Step>,
    pub(crate) func: Option<Func>,
}

impl PathExpr {
    /// Jayway's `isDefinite`: names and single indices only; a name list as the last step
    /// (merged into one object) counts as definite too.
    fn is_definite(&self) -> bool {
        let n = self.steps.len();
        self.steps.iter().enumerate().all(|(i, s)| {
            s.is_definite() || (i + 1 == n && matches!(s, Step::Child(Selector::Names(_))))
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// `.x`, `[…]`.
    Child(Selector),
    /// `..x`, `..*`, `..[…]`.
    Scan(Selector),
}

impl Step {
    fn is_definite(&self) -> bool {
        matches!(
            self,
            Step::Child(Selector::Name(_)) | Step::Child(Selector::Index(_))
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Selector {
    Name(String),
    Names(Vec<String>),
    Wildcard,
    Index(i64),
    Indexes(Vec<i64>),
    Slice(Option<i64>, Option<i64>),
    Filter(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Length,
    Size,
    Min,
    Max,
    Avg,
    Sum,
    Stddev,
    Keys,
    First,
    Last,
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, CmpOp, Operand),
    Exists(Operand),
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Path(PathExpr),
    Lit(Value),
    Regex(Box<Regex>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    In,
    Nin,
}
