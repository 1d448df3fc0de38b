//! The JSONPath parser (Jayway syntax): `$`, `.name`, `['name']`, `['a','b']`, `[n]`, `[-n]`,
//! `[n,m]`, `[start:end]`, `[*]`, `.*`, `..name`, `..*`, `..[…]`, `[?(<filter>)]` and a trailing
//! function (`.length()`, `.size()`, `.min()`, `.max()`, `.avg()`, `.sum()`, `.stddev()`,
//! `.keys()`, `.first()`, `.last()`). Filters: `@`/`$` paths, string, number, `true`/`false`/
//! `null` literals, `/regex/i`, `[…]` lists; `== != < <= > >= =~ in nin`, `&& || !`, parentheses.

use regex::Regex;
use serde_json::Value;

use super::{CmpOp, Expr, Func, Operand, PathExpr, Selector, Step};
use crate::json::JsonError;

pub(super) fn parse(src: &str) -> Result<PathExpr, JsonError> {
    let mut p = Parser { s: src, pos: 0 };
    p.ws();
    let root = match p.peek() {
        Some('$') => {
            p.pos += 1;
            true
        }
        Some('@') => {
            p.pos += 1;
            false
        }
        // Jayway reads `a.b` as `$.a.b`.
        _ => {
            let steps_src = format!("$.{}", &src[p.pos..]);
            return parse(&steps_src).map_err(|e| match e {
                JsonError::Path {
                    offset, message, ..
                } => JsonError::Path {
                    path: src.to_string(),
                    offset: offset.saturating_sub(2),
                    message,
                },
                other => other,
            });
        }
    };
    let expr = p.path_tail(root)?;
    p.ws();
    if p.pos != src.len() {
        return Err(p.err("unexpected characters after the path"));
    }
    Ok(expr)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> JsonError {
        JsonError::Path {
            path: self.s.to_string(),
            offset: self.pos,
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn eat(&mut self, t: &str) -> bool {
        if self.rest().starts_with(t) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &str) -> Result<(), JsonError> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{t}`")))
        }
    }

    fn ws(&mut self) {
        let n = self.rest().len() - self.rest().trim_start().len();
        self.pos += n;
    }

    /// The steps after `$` / `@`, and a trailing function.
    fn path_tail(&mut self, root: bool) -> Result<PathExpr, JsonError> {
        let mut steps = Vec::new();
        let mut func = None;
        loop {
            if self.eat("..") {
                let sel = match self.peek() {
                    Some('[') => {
                        self.pos += 1;
                        self.bracket()?
                    }
                    Some('*') => {
                        self.pos += 1;
                        Selector::Wildcard
                    }
                    _ => Selector::Name(self.name()?),
                };
                steps.push(Step::Scan(sel));
            } else if self.eat(".") {
                if self.eat("*") {
                    steps.push(Step::Child(Selector::Wildcard));
                    continue;
                }
                let name = self.name()?;
                if self.eat("()") {
                    func = Some(function(&name).ok_or_else(|| self.err("unknown function"))?);
                    break;
                }
                steps.push(Step::Child(Selector::Name(name)));
            } else if self.eat("[") {
                steps.push(Step::Child(self.bracket()?));
            } else {
                break;
            }
        }
        Ok(PathExpr { root, steps, func })
    }

    /// A dot-notation property name.
    fn name(&mut self) -> Result<String, JsonError> {
        let start = self.pos;
        let end = self
            .rest()
            .find(|c: char| c.is_whitespace() || ".[]()=!<>&|,'\"".contains(c))
            .map_or(self.s.len(), |i| self.pos + i);
        if end == start {
            return Err(self.err("expected a property name"));
        }
        self.pos = end;
        Ok(self.s[start..end].to_string())
    }

    /// The selector after `[`, up to and including `]`.
    fn bracket(&mut self) -> Result<Selector, JsonError> {
        self.ws();
        let sel = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Selector::Wildcard
            }
            Some('\'' | '"') => {
                let mut names = vec![self.string()?];
                loop {
                    self.ws();
                    if !self.eat(",") {
                        break;
                    }
                    self.ws();
                    names.push(self.string()?);
                }
                if names.len() == 1 {
                    Selector::Name(names.remove(0))
                } else {
                    Selector::Names(names)
                }
            }
            Some('?') => {
                self.pos += 1;
                self.ws();
                let e = if self.eat("(") {
                    let e = self.or()?;
                    self.ws();
                    self.expect(")")?;
                    e
                } else {
                    self.or()?
                };
                Selector::Filter(Box::new(e))
            }
            _ => self.indexes()?,
        };
        self.ws();
        self.expect("]")?;
        Ok(sel)
    }

    fn int(&mut self) -> Result<Option<i64>, JsonError> {
        self.ws();
        let start = self.pos;
        self.eat("-");
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        self.pos += digits;
        if digits == 0 {
            self.pos = start;
            return Ok(None);
        }
        let v = self.s[start..self.pos]
            .parse()
            .map_err(|_| self.err("index out of range"))?;
        self.ws();
        Ok(Some(v))
    }

    fn indexes(&mut self) -> Result<Selector, JsonError> {
        let first = self.int()?;
        if self.eat(":") {
            let end = self.int()?;
            return Ok(Selector::Slice(first, end));
        }
        let first =
            first.ok_or_else(|| self.err("expected an index, a slice, `*`, a name or a filter"))?;
        let mut all = vec![first];
        while self.eat(",") {
            all.push(self.int()?.ok_or_else(|| self.err("expected an index"))?);
        }
        Ok(if all.len() == 1 {
            Selector::Index(first)
        } else {
            Selector::Indexes(all)
        })
    }

    fn string(&mut self) -> Result<String, JsonError> {
        let quote = self.peek().ok_or_else(|| self.err("expected a string"))?;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                c if c == quote => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        Err(self.err("unterminated string"))
    }

    fn or(&mut self) -> Result<Expr, JsonError> {
        let mut left = self.and()?;
        loop {
            self.ws();
            if !self.eat("||") {
                return Ok(left);
            }
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
    }

    fn and(&mut self) -> Result<Expr, JsonError> {
        let mut left = self.unary()?;
        loop {
            self.ws();
            if !self.eat("&&") {
                return Ok(left);
            }
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, JsonError> {
        self.ws();
        if self.rest().starts_with('!') && !self.rest().starts_with("!=") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let e = self.or()?;
            self.ws();
            self.expect(")")?;
            return Ok(e);
        }
        let left = self.operand()?;
        self.ws();
        let op = [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
            ("=~", CmpOp::Match),
            ("nin ", CmpOp::Nin),
            ("in ", CmpOp::In),
        ]
        .into_iter()
        .find(|(t, _)| self.rest().starts_with(t));
        let Some((t, op)) = op else {
            return Ok(Expr::Exists(left));
        };
        self.pos += t.len();
        self.ws();
        let right = self.operand()?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, JsonError> {
        self.ws();
        match self.peek() {
            Some('@') => {
                self.pos += 1;
                Ok(Operand::Path(self.path_tail(false)?))
            }
            Some('$') => {
                self.pos += 1;
                Ok(Operand::Path(self.path_tail(true)?))
            }
            Some('\'' | '"') => Ok(Operand::Lit(Value::String(self.string()?))),
            Some('/') => self.regex(),
            Some('[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if !self.eat("]") {
                    loop {
                        match self.operand()? {
                            Operand::Lit(v) => items.push(v),
                            _ => return Err(self.err("lists hold literals only")),
                        }
                        self.ws();
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Operand::Lit(Value::Array(items)))
            }
            _ => self.literal(),
        }
    }

    fn regex(&mut self) -> Result<Operand, JsonError> {
        self.pos += 1;
        let mut pat = String::new();
        let mut chars = self.rest().char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, e)) = chars.next() {
                        if e != '/' {
                            pat.push('\\');
                        }
                        pat.push(e);
                    }
                }
                '/' => {
                    end = Some(i);
                    break;
                }
                c => pat.push(c),
            }
        }
        let end = end.ok_or_else(|| self.err("unterminated regex"))?;
        self.pos += end + 1;
        let flags: String = self
            .rest()
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        self.pos += flags.len();
        let inline: String = flags
            .chars()
            .filter(|c| matches!(c, 'i' | 'm' | 's' | 'x'))
            .collect();
        let full = if inline.is_empty() {
            format!("^(?:{pat})$")
        } else {
            format!("(?{inline})^(?:{pat})$")
        };
        Regex::new(&full)
            .map(|r| Operand::Regex(Box::new(r)))
            .map_err(|_| self.err("invalid regex"))
    }

    fn literal(&mut self) -> Result<Operand, JsonError> {
        for (word, v) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            if self.eat(word) {
                return Ok(Operand::Lit(v));
            }
        }
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
            .unwrap_or(self.rest().len());
        let text = &self.rest()[..len];
        match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Number(_)) if len > 0 => {
                self.pos += len;
                Ok(Operand::Lit(v))
            }
            _ => Err(self.err("expected a path, a literal or a regex")),
        }
    }
}

fn function(name: &str) -> Option<Func> {
    Some(match name {
        "length" => Func::Length,
        "size" => Func::Size,
        "min" => Func::Min,
        "max" => Func::Max,
        "avg" => Func::Avg,
        "sum" => Func::Sum,
        "stddev" => Func::Stddev,
        "keys" => Func::Keys,
        "first" => Func::First,
        "last" => Func::Last,
        _ => return None,
    })
}
