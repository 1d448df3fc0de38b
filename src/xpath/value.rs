//! XPath 1.0 values and the conversions between them (spec §4.2 `string()`, §4.4 `number()`,
//! §4.3 `boolean()`), including the exact number ↔ string rules.

use std::borrow::Cow;

use super::dom::{Dom, NodeId};

/// The result of evaluating an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Nodes, sorted in document order, without duplicates.
    NodeSet(Vec<NodeId>),
    /// A string.
    String(String),
    /// An IEEE 754 double.
    Number(f64),
    /// A boolean.
    Boolean(bool),
}

impl Value {
    /// `boolean()`: a non-empty node-set, a non-empty string, a number other than ±0 and NaN.
    pub fn to_boolean(&self) -> bool {
        match self {
            Value::NodeSet(n) => !n.is_empty(),
            Value::String(s) => !s.is_empty(),
            Value::Number(n) => *n != 0.0 && !n.is_nan(),
            Value::Boolean(b) => *b,
        }
    }

    /// `number()`.
    pub fn to_number<D: Dom + ?Sized>(&self, dom: &D) -> f64 {
        match self {
            Value::NodeSet(n) => n
                .first()
                .map_or(f64::NAN, |&id| parse_number(&dom.string_value(id))),
            Value::String(s) => parse_number(s),
            Value::Number(n) => *n,
            Value::Boolean(b) => f64::from(u8::from(*b)),
        }
    }

    /// `string()`: a node-set gives the string-value of its first node (in document order).
    pub fn to_string_value<D: Dom + ?Sized>(&self, dom: &D) -> String {
        match self {
            Value::NodeSet(n) => n
                .first()
                .map_or_else(String::new, |&id| dom.string_value(id).into_owned()),
            Value::String(s) => s.clone(),
            Value::Number(n) => format_number(*n),
            Value::Boolean(b) => b.to_string(),
        }
    }

    /// Like [`Value::to_string_value`], consuming the value (no copy for strings).
    pub fn into_string_value<D: Dom + ?Sized>(self, dom: &D) -> String {
        match self {
            Value::String(s) => s,
            other => other.to_string_value(dom),
        }
    }

    /// Borrowing `string()` (no allocation for strings and text-backed nodes).
    pub(crate) fn as_cow<'d, D: Dom + ?Sized>(&'d self, dom: &'d D) -> Cow<'d, str> {
        match self {
            Value::String(s) => Cow::Borrowed(s),
            Value::NodeSet(n) => n
                .first()
                .map_or(Cow::Borrowed(""), |&id| dom.string_value(id)),
            Value::Number(n) => Cow::Owned(format_number(*n)),
            Value::Boolean(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }
}

/// XPath's `string(number)`: `NaN`, `Infinity`, `-Infinity`; integers without a decimal point
/// (`-0` is `0`); otherwise plain decimal notation (never an exponent) with the fewest digits
/// that read back as the same double.
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_owned()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else if n == 0.0 {
        "0".to_owned()
    } else {
        // Rust's Display for f64 is the shortest round-trip form in plain decimal notation and
        // prints integral values without ".0", which is exactly XPath's rule.
        n.to_string()
    }
}

/// XPath's `number(string)`: optional whitespace, an optional `-`, digits with an optional
/// decimal point (`Digits ('.' Digits?)? | '.' Digits`), optional whitespace. Anything else
/// (including `+`, exponents, `Infinity`) is NaN.
pub fn parse_number(s: &str) -> f64 {
    let t = s.trim_matches([' ', '\t', '\r', '\n']);
    let digits = t.strip_prefix('-').unwrap_or(t);
    let b = digits.as_bytes();
    let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let rest = &b[int_len..];
    let valid = match rest {
        [] => int_len > 0,
        [b'.', frac @ ..] => {
            frac.iter().all(u8::is_ascii_digit) && (int_len > 0 || !frac.is_empty())
        }
        _ => false,
    };
    if !valid {
        return if EXPONENTS.get() {
            parse_with_exponent(t)
        } else {
            f64::NAN
        };
    }
    let text = t.strip_suffix('.').unwrap_or(t);
    text.parse::<f64>().unwrap_or(f64::NAN)
}

thread_local! {
    /// Set while [`with_exponents`] runs.
    static EXPONENTS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with strings read as numbers the way libxml2's XPath reads them: an exponent
/// (`1e3`, `2.5E-2`) is accepted after the XPath 1.0 number (mint's XSLT engine, which must
/// give libxslt's answers, evaluates in this mode).
pub fn with_exponents<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            EXPONENTS.set(self.0);
        }
    }
    let _reset = Reset(EXPONENTS.replace(true));
    f()
}

/// `Digits ('.' Digits?)? | '.' Digits`, then `[eE] [+-]? Digits`, with an optional `-` first
/// (`t` is trimmed).
fn parse_with_exponent(t: &str) -> f64 {
    let Some(e) = t.find(['e', 'E']) else {
        return f64::NAN;
    };
    let (mantissa, exp) = (&t[..e], &t[e + 1..]);
    let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    let m = mantissa.strip_prefix('-').unwrap_or(mantissa);
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    let ok = !exp_digits.is_empty()
        && exp_digits.bytes().all(|b| b.is_ascii_digit())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (!int.is_empty() || !frac.is_empty());
    if !ok {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// XPath's `round()`: nearest integer, halves toward +∞; keeps NaN, ±∞ and the sign of zero.
pub(crate) fn xpath_round(n: f64) -> f64 {
    if !n.is_finite() || n.fract() == 0.0 {
        n
    } else if (-0.5..0.0).contains(&n) {
        -0.0
    } else {
        // `n - floor(n)` is exact here, unlike `n + 0.5` (0.49999999999999994 + 0.5 == 1.0).
        let f = n.floor();
        if n - f >= 0.5 {
            f + 1.0
        } else {
            f
        }
    }
}
