//! Evaluating a parsed expression against one message, reached through [`Env`].
//!
//! Both operands of an operator are evaluated (MI does not short-circuit); only `? :` and
//! `exists()` are lazy. A missing value (a path or variable that is not there) is an error, not
//! null: the caller renders a failed expression as `""`, as MI does.

use super::number;
use super::parse::{Node, Op, ParamKind, PathSpec, Root};
use super::value::Val;
use crate::json::{JsonPath, JsonPathResult};

/// What an expression reads of the message.
pub trait Env {
    /// The payload as JSON (a JSON body, or the XML body through WSO2's JSON view).
    fn payload(&self) -> Result<&serde_json::Value, String>;
    /// A path on the payload. The default evaluates on [`Env::payload`]; an environment holding
    /// the payload's text can answer a simple path without building the whole tree.
    fn payload_path(&self, path: &JsonPath) -> Result<JsonPathResult, String> {
        Ok(path.evaluate(self.payload()?))
    }
    fn var(&self, name: &str) -> Option<Val>;
    fn header(&self, name: &str) -> Option<String>;
    fn property(&self, axis2: bool, name: &str) -> Option<String>;
    fn param(&self, kind: ParamKind, name: &str) -> Option<String>;
    fn config(&self, name: &str) -> Option<String>;
    /// The value of the expression's `i`-th `xpath()` (evaluated by the caller beforehand).
    fn xpath(&self, i: usize) -> Result<Val, String>;
    /// `registry(key)`: the resource's text; `registry(key).property(name)`: that property.
    fn registry(&self, key: &str, property: Option<&str>) -> Result<String, String> {
        let _ = (key, property);
        Err("registry() is not available here".into())
    }
    /// `wso2-vault(alias)`: a `[secrets]` value.
    fn vault(&self, alias: &str) -> Option<String> {
        let _ = alias;
        None
    }
}

pub fn eval(node: &Node, env: &dyn Env) -> Result<Val, String> {
    match node {
        Node::Lit(v) => Ok(v.clone()),
        Node::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                // MI adds numbers as numbers and everything else as its text.
                out.push(match eval(i, env)? {
                    v @ (Val::Int(_) | Val::Double(_)) => v.to_json(),
                    Val::Null => return Err("Null value in an array literal".into()),
                    v => serde_json::Value::String(v.text().into_owned()),
                });
            }
            Ok(Val::Json(serde_json::Value::Array(out)))
        }
        Node::Cond(c, yes, no) => match eval(c, env)? {
            Val::Bool(true) => eval(yes, env),
            Val::Bool(false) => eval(no, env),
            Val::Null => Err("Condition is null in conditional expression".into()),
            _ => Err("Condition is not a boolean in conditional expression".into()),
        },
        Node::Bin(op, a, b) => {
            let a = eval(a, env)?;
            let b = eval(b, env)?;
            binary(*op, &a, &b)
        }
        Node::Exists(e) => Ok(Val::Bool(matches!(eval(e, env), Ok(v) if !v.is_null()))),
        Node::XPath(i) => env.xpath(*i),
        Node::Access(root, path) => access(root, path.as_ref(), env),
        Node::Call {
            name,
            args,
            path,
            property,
        } => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, env)?);
            }
            if *name == "registry" {
                // MI: the key (and the property name) must be strings; the resource reads as
                // its text, on which a path reads JSON.
                let key = match vals.first() {
                    Some(Val::Str(k)) => k.clone(),
                    _ => return Err("Invalid argument provided for registry function".into()),
                };
                let prop = match (property, vals.get(1)) {
                    (Some(p), _) => Some(eval(p, env)?.text().into_owned()),
                    (None, Some(p)) => Some(p.text().into_owned()),
                    (None, None) => None,
                };
                let v = Val::Str(env.registry(&key, prop.as_deref())?);
                return match path {
                    Some(p) => on_path(&v, p, env),
                    None => Ok(v),
                };
            }
            if *name == "wso2-vault" {
                let alias = vals
                    .first()
                    .map(|v| v.text().into_owned())
                    .unwrap_or_default();
                // MI evaluates `wso2:vault-lookup(alias)`, which answers an unknown alias with
                // the alias itself.
                return Ok(Val::Str(env.vault(&alias).unwrap_or(alias)));
            }
            if *name == "hashicorp-vault" {
                return Err(format!(
                    "the function {name}() is not supported by mint yet"
                ));
            }
            let v = super::functions::call(name, &vals)?;
            match path {
                Some(p) => on_path(&v, p, env),
                None => Ok(v),
            }
        }
    }
}

fn binary(op: Op, a: &Val, b: &Val) -> Result<Val, String> {
    if (a.is_null() || b.is_null()) && !matches!(op, Op::Eq | Op::Ne) {
        return Err(format!(
            "Null inputs for {op:?} operation: {} and {}",
            a.text(),
            b.text()
        ));
    }
    match op {
        Op::Add => number::add(a, b),
        Op::Sub => number::sub(a, b),
        Op::Mul => number::mul(a, b),
        Op::Div => number::div(a, b),
        Op::Rem => number::rem(a, b),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let ord = number::compare(a, b)?;
            Ok(Val::Bool(match op {
                Op::Lt => ord.is_lt(),
                Op::Le => ord.is_le(),
                Op::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            }))
        }
        Op::And | Op::Or => match (a, b) {
            (Val::Bool(x), Val::Bool(y)) => {
                Ok(Val::Bool(if op == Op::And { *x && *y } else { *x || *y }))
            }
            _ => Err(format!(
                "Logical operation between non-boolean values: {} and {}",
                a.text(),
                b.text()
            )),
        },
        Op::Eq => Ok(Val::Bool(number::equals(a, b))),
        Op::Ne => Ok(Val::Bool(!number::equals(a, b))),
    }
}

fn access(root: &Root, path: Option<&PathSpec>, env: &dyn Env) -> Result<Val, String> {
    let missing = |name: &str| format!("Could not fetch the value of the key: {name}");
    match root {
        Root::Payload => match path {
            None => Ok(Val::from_json(env.payload()?.clone())),
            Some(p) => {
                let path = resolved(p, env)?;
                result(&path, env.payload_path(&path)?)
            }
        },
        Root::Var(name) => {
            let v = env
                .var(name)
                .ok_or_else(|| format!("Variable {name} is not defined"))?;
            match path {
                None => Ok(v),
                Some(p) => on_path(&v, p, env),
            }
        }
        Root::Header(name) => env
            .header(name)
            .map(|t| Val::reparsed(&t))
            .ok_or_else(|| missing(name)),
        Root::Property { axis2, name } => env
            .property(*axis2, name)
            .map(|t| Val::reparsed(&t))
            .ok_or_else(|| missing(name)),
        Root::Param { kind, name } => env
            .param(*kind, name)
            .map(|t| Val::reparsed(&t))
            .ok_or_else(|| missing(name)),
        Root::Config(name) => env
            .config(name)
            .map(|t| Val::reparsed(&t))
            .ok_or_else(|| missing(name)),
    }
}

/// A path on a value: JSON as it is, a string holding JSON parsed first.
fn on_path(v: &Val, p: &PathSpec, env: &dyn Env) -> Result<Val, String> {
    match v {
        Val::Json(j) => json_path(j, p, env),
        Val::Str(s) => {
            let j = crate::json::parse(s.as_bytes()).map_err(|e| e.to_string())?;
            json_path(&j, p, env)
        }
        Val::Xml(_) => {
            Err("Could not evaluate JSONPath expression on non-JSON variable value".into())
        }
        other => Err(format!(
            "Could not evaluate JSONPath expression on a {} value",
            other.kind()
        )),
    }
}

fn json_path(doc: &serde_json::Value, p: &PathSpec, env: &dyn Env) -> Result<Val, String> {
    let path = resolved(p, env)?;
    result(&path, path.evaluate(doc))
}

/// A path's result as a value; nothing found is an error (Jayway's PathNotFound).
fn result(path: &JsonPath, r: JsonPathResult) -> Result<Val, String> {
    match r {
        JsonPathResult::Value(v) => Ok(Val::from_json(v)),
        JsonPathResult::List(items) => Ok(Val::Json(serde_json::Value::Array(items))),
        JsonPathResult::NotFound => Err(format!("No results for path: {}", path.as_str())),
    }
}

/// The path as compiled, or with its holes filled for this message and compiled.
fn resolved<'p>(p: &'p PathSpec, env: &dyn Env) -> Result<std::borrow::Cow<'p, JsonPath>, String> {
    match p {
        PathSpec::Fixed(p) => Ok(std::borrow::Cow::Borrowed(&**p)),
        PathSpec::Dynamic { pieces, holes } => {
            let mut text = String::new();
            for (i, piece) in pieces.iter().enumerate() {
                text.push_str(piece);
                if let Some(h) = holes.get(i) {
                    match eval(h, env)? {
                        Val::Str(s) => {
                            text.push('"');
                            text.push_str(&s);
                            text.push('"');
                        }
                        v => text.push_str(&v.text()),
                    }
                }
            }
            JsonPath::compile(&text)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| e.to_string())
        }
    }
}
