//! The arithmetic and comparison operators of MI's `BinaryOperationNode` on [`Val`]s: Java's
//! `int`/`long`/`double` kinds, and `BigDecimal` arithmetic on `Double.toString` texts whenever a
//! double takes part (an `i128` mantissa and a scale; plain `f64` if that would overflow).

use std::cmp::Ordering;

use super::value::Val;
use crate::xpath::stringify::java_double_to_string;

/// `"Null inputs for <OP> operation: a and b"`, with `OP` MI's enum name (`ADD`, `LESS_THAN`…).
/// MI prints its result objects' identity here; we print `null` or the value's text.
pub fn null_inputs(op: &str, a: &Val, b: &Val) -> String {
    format!(
        "Null inputs for {op} operation: {} and {}",
        shown(a),
        shown(b)
    )
}

fn shown(v: &Val) -> String {
    if v.is_null() {
        "null".to_owned()
    } else {
        v.text().into_owned()
    }
}

fn check_null(op: &str, a: &Val, b: &Val) -> Result<(), String> {
    if a.is_null() || b.is_null() {
        Err(null_inputs(op, a, b))
    } else {
        Ok(())
    }
}

/// `a + b`: numbers add (decimal-exact when a double takes part; `int` overflow promotes to
/// `long`), two strings concatenate, anything else is an error.
pub fn add(a: &Val, b: &Val) -> Result<Val, String> {
    check_null("ADD", a, b)?;
    if a.is_numeric() && b.is_numeric() {
        return Ok(match (a, b) {
            (Val::Double(_), _) | (_, Val::Double(_)) => {
                let x = java_decimal(&a.text())?;
                let y = java_decimal(&b.text())?;
                Val::Double(x.add(y).map_or_else(|| x.f64() + y.f64(), Dec::f64))
            }
            (Val::Long(_), _) | (_, Val::Long(_)) => Val::Long(as_long(a).wrapping_add(as_long(b))),
            (Val::Int(x), Val::Int(y)) => match x.checked_add(*y) {
                Some(s) => Val::Int(s),
                None => Val::Long(i64::from(*x) + i64::from(*y)),
            },
            _ => return Err(non_numeric_addition(a, b)),
        });
    }
    if a.is_string() && b.is_string() {
        let mut s = a.text().into_owned();
        s.push_str(&b.text());
        return Ok(Val::Str(s));
    }
    Err(non_numeric_addition(a, b))
}

fn non_numeric_addition(a: &Val, b: &Val) -> String {
    format!(
        "Addition between non-numeric values: {} and {}",
        a.text(),
        b.text()
    )
}

/// `a - b`.
pub fn sub(a: &Val, b: &Val) -> Result<Val, String> {
    arithmetic(Op::Sub, a, b)
}

/// `a * b`.
pub fn mul(a: &Val, b: &Val) -> Result<Val, String> {
    arithmetic(Op::Mul, a, b)
}

/// `a / b`: ints give an `Int` when exact, else a `Double`; a long takes part → `Double`;
/// a double takes part → decimal division rounded half-up to the left operand's scale.
pub fn div(a: &Val, b: &Val) -> Result<Val, String> {
    arithmetic(Op::Div, a, b)
}

/// `a % b` (the sign of the dividend).
pub fn rem(a: &Val, b: &Val) -> Result<Val, String> {
    arithmetic(Op::Rem, a, b)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Sub,
    Mul,
    Div,
    Rem,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Sub => "SUBTRACT",
            Op::Mul => "MULTIPLY",
            Op::Div => "DIVIDE",
            Op::Rem => "MODULO",
        }
    }
}

const DIVISION_BY_ZERO: &str = "Division by zero";
const MODULO_BY_ZERO: &str = "Modulo by zero";

fn arithmetic(op: Op, a: &Val, b: &Val) -> Result<Val, String> {
    check_null(op.name(), a, b)?;
    if !a.is_numeric() || !b.is_numeric() {
        return Err(format!(
            "Arithmetic operation: {} between non-numeric values: {} and {}",
            op.name(),
            a.text(),
            b.text()
        ));
    }
    match (a, b) {
        (Val::Double(_), _) | (_, Val::Double(_)) => double_op(op, as_double(a), as_double(b)),
        (Val::Long(_), _) | (_, Val::Long(_)) => long_op(op, as_long(a), as_long(b)),
        (Val::Int(x), Val::Int(y)) => int_op(op, *x, *y),
        _ => Err(format!("Unsupported operator: {}", op.name())),
    }
}

fn as_long(v: &Val) -> i64 {
    match v {
        Val::Int(i) => i64::from(*i),
        Val::Long(l) => *l,
        // Java's `(long) double`: truncation, saturating, NaN → 0.
        Val::Double(d) => *d as i64,
        _ => 0,
    }
}

fn as_double(v: &Val) -> f64 {
    match v {
        Val::Int(i) => f64::from(*i),
        Val::Long(l) => *l as f64,
        Val::Double(d) => *d,
        _ => f64::NAN,
    }
}

fn double_op(op: Op, x: f64, y: f64) -> Result<Val, String> {
    // `new BigDecimal(String.valueOf(x))`: an int 5 takes part as "5.0" (scale 1).
    let l = java_decimal(&java_double_to_string(x))?;
    let r = java_decimal(&java_double_to_string(y))?;
    let out = match op {
        Op::Sub => l.sub(r).map_or_else(|| x - y, Dec::f64),
        Op::Mul => l.mul(r).map_or_else(|| x * y, Dec::f64),
        Op::Div => {
            if y == 0.0 {
                return Err(DIVISION_BY_ZERO.to_owned());
            }
            l.div_half_up(r).map_or_else(|| x / y, Dec::f64)
        }
        Op::Rem => {
            if y == 0.0 {
                return Err(MODULO_BY_ZERO.to_owned());
            }
            l.rem(r).map_or_else(|| x % y, Dec::f64)
        }
    };
    Ok(Val::Double(out))
}

fn long_op(op: Op, x: i64, y: i64) -> Result<Val, String> {
    Ok(match op {
        Op::Sub => Val::Long(x.wrapping_sub(y)),
        Op::Mul => Val::Long(x.wrapping_mul(y)),
        Op::Div => {
            if y == 0 {
                return Err(DIVISION_BY_ZERO.to_owned());
            }
            Val::Double(x as f64 / y as f64)
        }
        Op::Rem => {
            if y == 0 {
                return Err(MODULO_BY_ZERO.to_owned());
            }
            Val::Long(x.wrapping_rem(y))
        }
    })
}

fn int_op(op: Op, x: i32, y: i32) -> Result<Val, String> {
    Ok(match op {
        Op::Sub => Val::Int(x.wrapping_sub(y)),
        Op::Mul => match x.checked_mul(y) {
            Some(p) => Val::Int(p),
            None => Val::Long(i64::from(x) * i64::from(y)),
        },
        Op::Div => {
            if y == 0 {
                return Err(DIVISION_BY_ZERO.to_owned());
            }
            if x.wrapping_rem(y) == 0 {
                Val::Int(x.wrapping_div(y))
            } else {
                Val::Double(f64::from(x) / f64::from(y))
            }
        }
        Op::Rem => {
            if y == 0 {
                return Err(MODULO_BY_ZERO.to_owned());
            }
            Val::Int(x.wrapping_rem(y))
        }
    })
}

/// The ordering of two integer-or-double operands (`<`, `<=`, `>`, `>=`). `Long`s, strings,
/// booleans and JSON are refused. A NaN operand orders as Java's `Double.compare` does
/// (above everything); MI itself makes every comparison with NaN false — use
/// [`partial_compare`] for that.
pub fn compare(a: &Val, b: &Val) -> Result<Ordering, String> {
    let (x, y) = comparable(a, b)?;
    Ok(x.partial_cmp(&y)
        .unwrap_or_else(|| x.is_nan().cmp(&y.is_nan())))
}

/// As [`compare`], but `None` when a NaN takes part (MI's `<`, `<=`, `>`, `>=` are then all
/// false).
pub fn partial_compare(a: &Val, b: &Val) -> Result<Option<Ordering>, String> {
    let (x, y) = comparable(a, b)?;
    Ok(x.partial_cmp(&y))
}

fn comparable(a: &Val, b: &Val) -> Result<(f64, f64), String> {
    if a.is_null() || b.is_null() {
        return Err(null_inputs("comparison", a, b));
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(format!(
            "Comparison between non-numeric values: {} and {}",
            a.text(),
            b.text()
        )),
    }
}

/// `a == b`: both null → true, one null → false, else the string forms are compared
/// (`5 == "5"` is true, `1 == 1.0` false).
pub fn equals(a: &Val, b: &Val) -> bool {
    match (a.is_null(), b.is_null()) {
        (true, true) => true,
        (false, false) => a.text() == b.text(),
        _ => false,
    }
}

/// A decimal `m × 10^-s` (Java's `BigDecimal` unscaled value and scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dec {
    pub(crate) m: i128,
    pub(crate) s: i32,
}

fn pow10(n: i64) -> Option<i128> {
    u32::try_from(n).ok().and_then(|n| 10i128.checked_pow(n))
}

impl Dec {
    /// The nearest double (Java's `BigDecimal.doubleValue()`).
    pub(crate) fn f64(self) -> f64 {
        format!("{}e{}", self.m, -i64::from(self.s))
            .parse()
            .unwrap_or(f64::NAN)
    }

    /// The mantissa at a larger (or equal) scale.
    fn at_scale(self, s: i32) -> Option<i128> {
        self.m.checked_mul(pow10(i64::from(s) - i64::from(self.s))?)
    }

    fn align(self, o: Dec) -> Option<(i128, i128, i32)> {
        let s = self.s.max(o.s);
        Some((self.at_scale(s)?, o.at_scale(s)?, s))
    }

    fn add(self, o: Dec) -> Option<Dec> {
        let (a, b, s) = self.align(o)?;
        Some(Dec {
            m: a.checked_add(b)?,
            s,
        })
    }

    fn sub(self, o: Dec) -> Option<Dec> {
        let (a, b, s) = self.align(o)?;
        Some(Dec {
            m: a.checked_sub(b)?,
            s,
        })
    }

    fn mul(self, o: Dec) -> Option<Dec> {
        Some(Dec {
            m: self.m.checked_mul(o.m)?,
            s: self.s.checked_add(o.s)?,
        })
    }

    /// `this.divide(o, ROUND_HALF_UP)`: the quotient at this operand's scale.
    fn div_half_up(self, o: Dec) -> Option<Dec> {
        if o.m == 0 {
            return None;
        }
        // Unscaled quotient at scale self.s: self.m × 10^o.s / o.m.
        let (n, d) = if o.s >= 0 {
            (self.m.checked_mul(pow10(i64::from(o.s))?)?, o.m)
        } else {
            (self.m, o.m.checked_mul(pow10(-i64::from(o.s))?)?)
        };
        Some(Dec {
            m: div_round_half_up(n, d)?,
            s: self.s,
        })
    }

    /// `this.remainder(o)`: the sign of the dividend.
    fn rem(self, o: Dec) -> Option<Dec> {
        let (a, b, s) = self.align(o)?;
        if b == 0 {
            return None;
        }
        Some(Dec {
            m: a.checked_rem(b)?,
            s,
        })
    }

    /// `setScale(scale, HALF_UP)`.
    pub(crate) fn set_scale_half_up(self, scale: i32) -> Option<Dec> {
        if scale >= self.s {
            return Some(Dec {
                m: self.at_scale(scale)?,
                s: scale,
            });
        }
        let m = match pow10(i64::from(self.s) - i64::from(scale)) {
            Some(d) => div_round_half_up(self.m, d)?,
            // The divisor exceeds any mantissa we hold: the result rounds to zero.
            None => 0,
        };
        Some(Dec { m, s: scale })
    }
}

/// `n / d` rounded half away from zero.
fn div_round_half_up(n: i128, d: i128) -> Option<i128> {
    let q = n.checked_div(d)?;
    let r = n.checked_rem(d)?;
    let (ra, da) = (r.unsigned_abs(), d.unsigned_abs());
    if ra >= da - ra {
        let away = if (n < 0) == (d < 0) { 1 } else { -1 };
        q.checked_add(away)
    } else {
        Some(q)
    }
}

/// `new BigDecimal(text)` for the texts Java prints for numbers (`-12`, `3.25`, `1.0E-5`); `Err`
/// carries Java's `NumberFormatException` text (NaN and Infinity end up here).
pub(crate) fn java_decimal(text: &str) -> Result<Dec, String> {
    parse_decimal(text).ok_or_else(|| {
        let c = text
            .chars()
            .find(|c| !c.is_ascii_digit() && !matches!(c, '.' | '-' | '+' | 'e' | 'E'))
            .unwrap_or(' ');
        format!(
            "Character {c} is neither a decimal digit number, decimal point, nor \"e\" notation exponential mark."
        )
    })
}

fn parse_decimal(text: &str) -> Option<Dec> {
    let (body, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (neg, body) = match body.as_bytes().first()? {
        b'-' => (true, &body[1..]),
        b'+' => (false, &body[1..]),
        _ => (false, body),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut m: i128 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        if !c.is_ascii_digit() {
            return None;
        }
        m = m.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
    }
    let s = i32::try_from(frac.len() as i64 - exp).ok()?;
    Some(Dec {
        m: if neg { -m } else { m },
        s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(r: Result<Val, String>) -> String {
        match r {
            Ok(v) => v.text().into_owned(),
            Err(_) => String::new(),
        }
    }

    fn s(x: &str) -> Val {
        Val::Str(x.to_owned())
    }

    const I: fn(i32) -> Val = Val::Int;
    const L: fn(i64) -> Val = Val::Long;
    const D: fn(f64) -> Val = Val::Double;

    #[test]
    fn addition() {
        assert_eq!(t(add(&D(8.95), &D(8.99))), "17.94");
        assert_eq!(t(add(&D(5.5), &I(3))), "8.5");
        assert_eq!(t(add(&D(5.5), &D(3.5))), "9.0");
        assert_eq!(t(add(&add(&I(5), &I(3)).unwrap(), &I(-1))), "7");
        assert_eq!(t(add(&s("abc"), &I(5))), "");
        assert_eq!(
            add(&s("abc"), &I(5)).unwrap_err(),
            "Addition between non-numeric values: abc and 5"
        );
        assert_eq!(t(add(&s("\"abc\""), &s("'xyz'"))), "abcxyz");
        assert_eq!(t(add(&I(10), &D(-2.5))), "7.5");
        assert_eq!(t(add(&I(10), &I(10))), "20");
        assert_eq!(t(add(&I(5), &s("John"))), "");
        assert_eq!(add(&I(2147483647), &I(1)), Ok(L(2147483648)));
        assert_eq!(t(add(&L(i64::MAX), &I(1))), i64::MIN.to_string());
        assert_eq!(t(add(&D(0.1), &D(0.2))), "0.3");
        assert_eq!(t(add(&D(1.0e10), &D(1.0))), "1.0000000001E10");
        assert_eq!(t(add(&D(f64::NAN), &I(1))), "");
        assert_eq!(
            add(&Val::Null, &I(1)).unwrap_err(),
            "Null inputs for ADD operation: null and 1"
        );
        assert_eq!(t(add(&Val::Bool(true), &Val::Bool(true))), "");
    }

    #[test]
    fn subtraction_and_multiplication() {
        assert_eq!(t(sub(&L(3148483647), &L(3147483647))), "1000000");
        assert_eq!(sub(&L(3148483647), &L(3147483647)), Ok(L(1000000)));
        assert_eq!(t(sub(&D(8.9567), &D(8.9456))), "0.0111");
        let r = sub(&add(&sub(&I(5), &I(30)).unwrap(), &I(2)).unwrap(), &I(10));
        assert_eq!(t(r), "-33");
        assert_eq!(t(sub(&D(5.5), &D(3.5))), "2.0");
        assert_eq!(sub(&I(i32::MIN), &I(1)), Ok(I(i32::MAX)));
        assert_eq!(t(mul(&D(72.0), &D(1.032145))), "74.31444");
        assert_eq!(t(mul(&I(25), &D(1.001))), "25.025");
        assert_eq!(t(mul(&I(25), &D(1.05))), "26.25");
        assert_eq!(t(mul(&mul(&I(5), &I(3)).unwrap(), &I(-2))), "-30");
        assert_eq!(t(mul(&I(10), &D(-2.5))), "-25.0");
        assert_eq!(mul(&I(2147483647), &I(-2)), Ok(L(-4294967294)));
        assert_eq!(
            sub(&s("a"), &I(1)).unwrap_err(),
            "Arithmetic operation: SUBTRACT between non-numeric values: a and 1"
        );
        // (vars.num1 * vars.num3) - vars.num2 + payload.index
        let r = mul(&I(10), &D(-2.5)).and_then(|p| sub(&p, &I(5)));
        assert_eq!(t(r.and_then(|p| add(&p, &I(1)))), "-29.0");
    }

    #[test]
    fn division_and_modulo() {
        assert_eq!(t(div(&D(34.45), &D(3.44))), "10.01");
        let r = div(&I(10), &I(2)).and_then(|q| div(&q, &D(-2.5)));
        assert_eq!(t(r.and_then(|q| mul(&q, &I(2)))), "-4.0");
        assert_eq!(div(&I(9), &I(3)), Ok(I(3)));
        assert_eq!(div(&I(5), &I(0)).unwrap_err(), "Division by zero");
        assert_eq!(div(&D(5.2), &I(0)).unwrap_err(), "Division by zero");
        assert_eq!(div(&L(2147483650), &I(0)).unwrap_err(), "Division by zero");
        assert_eq!(t(div(&I(10), &I(10000))), "0.001");
        assert_eq!(t(div(&I(5), &I(10))), "0.5");
        assert_eq!(t(div(&I(1), &I(3))), "0.3333333333333333");
        assert_eq!(t(div(&L(20000000000), &I(10))), "2.0E9");
        assert_eq!(div(&I(200000000), &I(10)), Ok(I(20000000)));
        assert_eq!(t(div(&I(100), &D(10.0))), "10.0");
        assert_eq!(t(div(&I(1), &D(3.0))), "0.3");
        assert_eq!(t(div(&D(5.5), &I(2))), "2.8");
        assert_eq!(t(div(&I(1), &D(8.0))), "0.1");
        assert_eq!(t(div(&D(2.25), &D(1.5))), "1.5");
        assert_eq!(t(div(&D(-5.5), &I(2))), "-2.8");
        assert_eq!(t(div(&D(1.0e10), &D(3.0))), "3.0E9");
        assert_eq!(div(&I(i32::MIN), &I(-1)), Ok(I(i32::MIN)));
        assert_eq!(t(rem(&D(34.56), &D(3.45))), "0.06");
        assert_eq!(t(rem(&I(10), &I(3))), "1");
        assert_eq!(t(rem(&I(-10), &I(3))), "-1");
        assert_eq!(t(rem(&D(5.5), &D(3.5))), "2.0");
        assert_eq!(t(rem(&D(5.5), &I(3))), "2.5");
        assert_eq!(t(rem(&L(20000000001), &I(10))), "1");
        assert_eq!(rem(&I(1), &I(0)).unwrap_err(), "Modulo by zero");
        assert_eq!(rem(&D(1.5), &D(0.0)).unwrap_err(), "Modulo by zero");
    }

    #[test]
    fn comparison() {
        assert_eq!(compare(&I(5), &D(-3.4)), Ok(Ordering::Greater));
        assert_eq!(compare(&I(-5), &D(-3.4)), Ok(Ordering::Less));
        assert_eq!(compare(&D(2.0), &I(2)), Ok(Ordering::Equal));
        assert!(compare(&I(5), &s("bla")).is_err());
        assert!(compare(&I(5), &Val::Null).is_err());
        assert!(compare(&Val::Bool(true), &Val::Bool(false)).is_err());
        assert!(compare(&s("5"), &I(3)).is_err());
        assert!(compare(&L(5), &I(0)).is_err());
        assert_eq!(
            compare(&I(5), &s("bla")).unwrap_err(),
            "Comparison between non-numeric values: 5 and bla"
        );
        assert_eq!(compare(&D(f64::NAN), &I(1)), Ok(Ordering::Greater));
        assert_eq!(partial_compare(&D(f64::NAN), &I(1)), Ok(None));
    }

    #[test]
    fn equality() {
        assert!(equals(&D(-5.3), &D(-5.3)));
        assert!(equals(&Val::Null, &Val::Null));
        assert!(equals(&s("\"John\""), &s("John")));
        assert!(!equals(&s("abc"), &Val::Null));
        assert!(equals(&I(5), &s("5")));
        assert!(equals(&Val::Bool(true), &s("true")));
        assert!(!equals(&I(1), &D(1.0)));
        assert!(equals(&s("\"abc\""), &s("'abc'")));
        let o = Val::Json(serde_json::json!({"a": 1}));
        assert!(equals(&o, &o.clone()));
        assert!(!equals(&o, &Val::Json(serde_json::json!({"a": 2}))));
    }

    #[test]
    fn decimals() {
        assert_eq!(java_decimal("1.0E10"), Ok(Dec { m: 10, s: -9 }));
        assert_eq!(java_decimal("-0.0111"), Ok(Dec { m: -111, s: 4 }));
        assert!(java_decimal("NaN").is_err());
        assert!(java_decimal("Infinity").is_err());
        let d = java_decimal("0.115").unwrap();
        assert_eq!(d.set_scale_half_up(2).map(Dec::f64), Some(0.12));
        let d = java_decimal("1.0E-300").unwrap();
        assert_eq!(d.set_scale_half_up(2).map(Dec::f64), Some(0.0));
    }
}
