//! The function library of MI's `PredefinedFunctionNode` for already evaluated arguments:
//! string, math, encoding, type-check and conversion functions, `now()` and `formatDateTime()`
//! (Java `DateTimeFormatter` patterns, UTC). `exists`, `xpath`, `registry` and the vaults need
//! the message and are the evaluator's; [`call`] refuses them.

use std::borrow::Cow;

use serde_json::Value as J;

use super::number::java_decimal;
use super::value::{strip_quotes, Val};

/// Every function name the grammar accepts (MI's `FUNCTIONS` token), in the lexer's order.
pub const NAMES: &[&str] = &[
    "length",
    "toUpper",
    "toLower",
    "subString",
    "startsWith",
    "endsWith",
    "contains",
    "trim",
    "replace",
    "split",
    "indexOf",
    "now",
    "formatDateTime",
    "charAt",
    "abs",
    "ceil",
    "floor",
    "sqrt",
    "log",
    "pow",
    "base64encode",
    "base64decode",
    "urlEncode",
    "urlDecode",
    "isString",
    "isNumber",
    "isArray",
    "isObject",
    "string",
    "float",
    "boolean",
    "integer",
    "round",
    "exists",
    "xpath",
    "wso2-vault",
    "hashicorp-vault",
    "not",
    "registry",
    "object",
    "array",
];

/// Whether MI implements `name` with `n` arguments. MI itself reports a wrong count only when
/// the call is evaluated ("Invalid function: … with two arguments").
pub fn arity_ok(name: &str, n: usize) -> bool {
    match name {
        "now" => n == 0,
        "length" | "toUpper" | "toLower" | "trim" | "abs" | "ceil" | "floor" | "sqrt"
        | "base64decode" | "urlDecode" | "isString" | "isNumber" | "isArray" | "isObject"
        | "string" | "integer" | "float" | "boolean" | "exists" | "object" | "array"
        | "wso2-vault" | "not" => n == 1,
        "round" | "log" | "base64encode" | "urlEncode" | "registry" | "xpath" => n == 1 || n == 2,
        "subString" | "indexOf" | "formatDateTime" | "hashicorp-vault" => n == 2 || n == 3,
        "startsWith" | "endsWith" | "contains" | "split" | "pow" | "charAt" => n == 2,
        "replace" => n == 3,
        _ => false,
    }
}

fn count_word(n: usize) -> &'static str {
    match n {
        0 => "no arguments",
        1 => "one argument",
        2 => "two arguments",
        _ => "three arguments",
    }
}

/// Calls function `name` on evaluated arguments, with MI's checks in MI's order: more than
/// three arguments, a null argument ("Null source value provided for the function: …"), then
/// an arity MI does not implement ("Invalid function: … with one argument").
pub fn call(name: &str, args: &[Val]) -> Result<Val, String> {
    let n = args.len();
    if n > 3 {
        return Err(format!(
            "Invalid number of arguments: {n} provided for the function: {name}"
        ));
    }
    if n == 0 {
        return if name == "now" {
            Ok(Val::Long(now_millis()))
        } else {
            Err(invalid_function(name, 0))
        };
    }
    if !(n == 1 && name == "exists") {
        for (a, what) in args.iter().zip(["source", "argument1", "argument2"]) {
            if is_null(a) {
                return Err(format!(
                    "Null {what} value provided for the function: {name}"
                ));
            }
        }
    }
    if matches!(
        name,
        "exists" | "xpath" | "registry" | "wso2-vault" | "hashicorp-vault"
    ) && arity_ok(name, n)
    {
        return Err(format!(
            "The function {name} is evaluated by the expression evaluator"
        ));
    }
    match args {
        [a] => one(name, a),
        [a, b] => two(name, a, b),
        [a, b, c] => three(name, a, b, c),
        _ => Err(invalid_function(name, n)),
    }
}

fn invalid_function(name: &str, n: usize) -> String {
    format!("Invalid function: {name} with {}", count_word(n))
}

fn is_null(v: &Val) -> bool {
    matches!(v, Val::Null | Val::Json(J::Null))
}

/// MI's "is a string" read "as string": a string (one pair of outer quotes removed) or a JSON
/// string.
fn str_of(v: &Val) -> Option<&str> {
    match v {
        Val::Str(s) => Some(strip_quotes(s)),
        Val::Json(J::String(s)) => Some(s),
        _ => None,
    }
}

/// MI's "is an integer" (an `Int`, not a `Long`).
fn int_of(v: &Val) -> Option<i32> {
    match v {
        Val::Int(i) => Some(*i),
        _ => None,
    }
}

/// MI's "as string" for messages.
fn show(v: &Val) -> Cow<'_, str> {
    match v {
        Val::Json(J::String(s)) => Cow::Borrowed(s),
        _ => v.text(),
    }
}

fn bad_arg(name: &str) -> String {
    format!("Invalid argument provided for {name} function")
}

fn bad_args(name: &str, args: &[&Val]) -> String {
    let mut s = format!("Invalid argument provided for {name} function. source: ");
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            s.push_str(&format!(", argument{i}: "));
        }
        s.push_str(&show(a));
    }
    s
}

fn one(name: &str, a: &Val) -> Result<Val, String> {
    let s = str_of(a);
    Ok(match name {
        "length" => match (s, a) {
            (Some(s), _) => Val::Int(utf16_len(s)),
            (None, Val::Json(J::Array(items))) => Val::Int(len_i32(items.len())),
            _ => return Err(bad_arg("length")),
        },
        "toLower" | "toUpper" => {
            let text = match (s, a) {
                (Some(s), _) => s.to_owned(),
                (None, Val::Json(J::Number(n))) => n.to_string(),
                (None, Val::Json(J::Bool(b))) => b.to_string(),
                _ => return Err(bad_arg(name)),
            };
            Val::Str(if name == "toLower" {
                text.to_lowercase()
            } else {
                text.to_uppercase()
            })
        }
        "trim" => Val::Str(java_trim(s.ok_or_else(|| bad_arg("trim"))?).to_owned()),
        "abs" => match a {
            Val::Int(i) => Val::Int(i.wrapping_abs()),
            Val::Double(d) => Val::Double(d.abs()),
            _ => return Err(bad_arg("abs")),
        },
        "ceil" | "floor" => match a {
            Val::Int(i) => Val::Int(*i),
            Val::Double(d) => Val::Double(if name == "ceil" { d.ceil() } else { d.floor() }),
            _ => return Err(bad_arg(name)),
        },
        "round" => match a {
            Val::Double(d) => Val::Int(java_round(*d) as i32),
            Val::Int(i) => Val::Int(*i),
            _ => return Err(bad_arg("round")),
        },
        "sqrt" => Val::Double(a.as_f64().ok_or_else(|| bad_arg("sqrt"))?.sqrt()),
        "log" => Val::Double(a.as_f64().ok_or_else(|| bad_arg("log"))?.log10()),
        "base64encode" => {
            let s = s.ok_or_else(|| bad_arg("base64Encode"))?;
            Val::Str(base64_encode(s.as_bytes()))
        }
        "base64decode" => {
            let s = s.ok_or_else(|| bad_arg("base64Decode"))?;
            Val::Str(String::from_utf8_lossy(&base64_decode(s)?).into_owned())
        }
        "urlEncode" => {
            let s = s.ok_or_else(|| bad_arg("urlEncode"))?;
            Val::Str(
                url_encode(s, Charset::Utf8)
                    .replace('+', "%20")
                    .replace('*', "%2A"),
            )
        }
        "urlDecode" => Val::Str(url_decode(s.ok_or_else(|| bad_arg("urlDecode"))?)?),
        "isString" => Val::Bool(s.is_some()),
        "isNumber" => Val::Bool(a.as_f64().is_some()),
        "isArray" => Val::Bool(json_of(a).is_some_and(|j| j.is_array())),
        "isObject" => Val::Bool(json_of(a).is_some_and(|j| j.is_object())),
        "string" => Val::Str(show(a).into_owned()),
        "integer" => match a {
            Val::Int(i) => Val::Int(*i),
            _ => Val::Int(
                show(a)
                    .parse::<i32>()
                    .map_err(|_| "Invalid argument provided for integer conversion".to_owned())?,
            ),
        },
        "float" => match a {
            Val::Double(d) => Val::Double(*d),
            _ => Val::Double(
                java_parse_double(&show(a))
                    .ok_or_else(|| "Invalid argument provided for float conversion".to_owned())?,
            ),
        },
        "boolean" => match a {
            Val::Bool(b) => Val::Bool(*b),
            _ => Val::Bool(show(a).eq_ignore_ascii_case("true")),
        },
        "object" => match json_of(a) {
            Some(j) if j.is_object() => Val::Json(j.into_owned()),
            _ => return Err("Argument cannot be converted to a JSON object".into()),
        },
        "array" => match json_of(a) {
            Some(j) if j.is_array() => Val::Json(j.into_owned()),
            _ => return Err("Argument cannot be converted to a JSON array".into()),
        },
        "not" => match a {
            Val::Bool(b) => Val::Bool(!b),
            Val::Str(raw) => return Err(format!("Value : {raw} cannot be converted to boolean")),
            _ => {
                return Err(format!(
                    "Value : {} cannot be converted to boolean",
                    a.text()
                ))
            }
        },
        _ => return Err(invalid_function(name, 1)),
    })
}

fn two(name: &str, a: &Val, b: &Val) -> Result<Val, String> {
    let (s, t) = (str_of(a), str_of(b));
    Ok(match name {
        "subString" => {
            let (Some(s), Some(start)) = (s, int_of(b)) else {
                return Err(bad_args("subString", &[a, b]));
            };
            let u = u16s(s);
            match usize::try_from(start) {
                Ok(i) if i <= u.len() => Val::Str(String::from_utf16_lossy(&u[i..])),
                _ => {
                    return Err(format!(
                        "Invalid index for subString: {start}, source string length: {}",
                        u.len()
                    ))
                }
            }
        }
        "startsWith" | "endsWith" | "contains" => {
            let (Some(s), Some(t)) = (s, t) else {
                return Err(bad_args(name, &[a, b]));
            };
            Val::Bool(match name {
                "startsWith" => s.starts_with(t),
                "endsWith" => s.ends_with(t),
                _ => s.contains(t),
            })
        }
        "split" => {
            let (Some(s), Some(t)) = (s, t) else {
                return Err(bad_args("split", &[a, b]));
            };
            let parts = java_split(s, t)?;
            Val::Json(J::Array(parts.into_iter().map(J::String).collect()))
        }
        "pow" => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => Val::Double(x.powf(y)),
            _ => return Err(bad_args("pow", &[a, b])),
        },
        "log" => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => Val::Double(x.ln() / y.ln()),
            _ => return Err(bad_arg("log")),
        },
        "base64encode" => {
            let (Some(s), Some(cs)) = (s, t) else {
                return Err(bad_args("base64Encode", &[a, b]));
            };
            let charset = Charset::from_name(cs).ok_or_else(|| {
                format!("Invalid charset provided for base64Encode function. Charset: {cs}")
            })?;
            Val::Str(base64_encode(&charset.encode(s)))
        }
        "urlEncode" => {
            let (Some(s), Some(cs)) = (s, t) else {
                return Err(bad_args("urlEncode", &[a, b]));
            };
            let charset = Charset::from_name(cs).ok_or_else(|| {
                format!("Invalid charset provided for urlEncode function. Charset: {cs}")
            })?;
            let out = url_encode(s, charset);
            Val::Str(if cs == "UTF-8" {
                out.replace('+', "%20").replace('*', "%2A")
            } else {
                out
            })
        }
        "indexOf" => {
            let (Some(s), Some(t)) = (s, t) else {
                return Err(bad_args("indexOf", &[a, b]));
            };
            Val::Int(index_of(&u16s(s), &u16s(t), 0))
        }
        "formatDateTime" => {
            let (true, Some(pattern)) = (a.is_numeric(), t) else {
                return Err(bad_args("formatDateTime", &[a, b]));
            };
            let millis = match a {
                Val::Int(i) => i64::from(*i),
                Val::Long(l) => *l,
                Val::Double(d) => *d as i64,
                _ => 0,
            };
            Val::Str(datetime::format_millis(millis, pattern).ok_or_else(|| {
                format!(
                    "Invalid date format provided for formatDateTime function. Format: {pattern}"
                )
            })?)
        }
        "charAt" => {
            let (Some(s), Some(i)) = (s, int_of(b)) else {
                return Err(bad_args("charAt", &[a, b]));
            };
            let u = u16s(s);
            match usize::try_from(i).ok().and_then(|i| u.get(i)) {
                Some(c) => Val::Str(String::from_utf16_lossy(&[*c])),
                None => {
                    return Err(format!(
                        "Invalid index provided for charAt function. source: {s}, index: {i}"
                    ))
                }
            }
        }
        "round" => match (a, int_of(b)) {
            (Val::Double(d), Some(places)) if places > 0 => Val::Double(round_places(*d, places)?),
            (Val::Int(_) | Val::Long(_), _) => a.clone(),
            _ => return Err(bad_arg("round")),
        },
        _ => return Err(invalid_function(name, 2)),
    })
}

fn three(name: &str, a: &Val, b: &Val, c: &Val) -> Result<Val, String> {
    let (s, t, u) = (str_of(a), str_of(b), str_of(c));
    Ok(match name {
        "subString" => {
            let (Some(s), Some(start), Some(end)) = (s, int_of(b), int_of(c)) else {
                return Err(bad_args("subString", &[a, b, c]));
            };
            let units = u16s(s);
            let range = usize::try_from(start)
                .ok()
                .zip(usize::try_from(end).ok())
                .filter(|(i, j)| i <= j && *j <= units.len());
            match range {
                Some((i, j)) => Val::Str(String::from_utf16_lossy(&units[i..j])),
                None => {
                    return Err(format!(
                        "Invalid subString indices: start={start}, end={end}, string length={}",
                        units.len()
                    ))
                }
            }
        }
        "replace" => {
            let (Some(s), Some(t), Some(u)) = (s, t, u) else {
                return Err(bad_args("replace", &[a, b, c]));
            };
            Val::Str(s.replace(t, u))
        }
        "indexOf" => {
            let (Some(s), Some(t), Some(from)) = (s, t, int_of(c)) else {
                return Err(bad_args("indexOf", &[a, b, c]));
            };
            Val::Int(index_of(
                &u16s(s),
                &u16s(t),
                usize::try_from(from).unwrap_or(0),
            ))
        }
        "formatDateTime" => {
            let (Some(s), Some(from), Some(to)) = (s, t, u) else {
                return Err(format!(
                    "Invalid argument provided for formatDateTime function. source: {}, oldFormat: {}, newFormat: {}",
                    show(a),
                    show(b),
                    show(c)
                ));
            };
            Val::Str(datetime::reformat(s, from, to)?)
        }
        _ => return Err(invalid_function(name, 3)),
    })
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn u16s(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn utf16_len(s: &str) -> i32 {
    len_i32(s.encode_utf16().count())
}

/// Java's `String.indexOf(str, from)` on UTF-16 units.
fn index_of(hay: &[u16], needle: &[u16], from: usize) -> i32 {
    if from >= hay.len() {
        return if needle.is_empty() {
            len_i32(hay.len())
        } else {
            -1
        };
    }
    if needle.len() > hay.len() {
        return -1;
    }
    (from..=hay.len() - needle.len())
        .find(|&i| hay[i..i + needle.len()] == *needle)
        .map_or(-1, len_i32)
}

/// Java's `String.trim()`: characters up to U+0020 removed at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Java's `Math.round(double)` (half up, NaN → 0, saturating to the `long` range).
fn java_round(d: f64) -> i64 {
    if d.is_nan() {
        return 0;
    }
    let f = d.floor();
    let r = if d - f >= 0.5 { f + 1.0 } else { f };
    r as i64
}

/// `round(d, places)`: `new BigDecimal(Double.toString(d)).setScale(places, HALF_UP)`.
fn round_places(d: f64, places: i32) -> Result<f64, String> {
    let dec = java_decimal(&crate::xpath::stringify::java_double_to_string(d))?;
    if places >= dec.s {
        return Ok(d);
    }
    Ok(dec.set_scale_half_up(places).map_or(d, |r| r.f64()))
}

/// Java's `Double.parseDouble`: surrounding whitespace, a sign, `NaN`, `Infinity`, an optional
/// `f`/`d` suffix. Hexadecimal floats are not read.
fn java_parse_double(s: &str) -> Option<f64> {
    let t = java_trim(s);
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let v = match body {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let body = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
            let (mant, exp) = match body.find(['e', 'E']) {
                Some(i) => (&body[..i], Some(&body[i + 1..])),
                None => (body, None),
            };
            let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
            let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
            let exp_ok = exp.is_none_or(|e| {
                let e = e.strip_prefix(['+', '-']).unwrap_or(e);
                !e.is_empty() && digits(e)
            });
            if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || !exp_ok {
                return None;
            }
            body.parse::<f64>().ok()?
        }
    };
    Some(if neg { -v } else { v })
}

/// Java's `String.split(regex)`: no leading empty piece for a zero-width match at the start,
/// trailing empty pieces removed, the whole input when nothing matches.
fn java_split(s: &str, pattern: &str) -> Result<Vec<String>, String> {
    let re = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut index = 0;
    let mut matched = false;
    for m in re.find_iter(s) {
        if m.end() == 0 {
            continue;
        }
        matched = true;
        out.push(s[index..m.start()].to_owned());
        index = m.end();
    }
    if !matched {
        return Ok(vec![s.to_owned()]);
    }
    out.push(s[index..].to_owned());
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    Ok(out)
}

/// The JSON a value is or holds (MI's `isArray`/`isObject`/`array()`/`object()`): JSON as is;
/// a string parsed leniently (Gson) after one pair of outer double quotes and every backslash
/// are removed.
fn json_of(v: &Val) -> Option<Cow<'_, J>> {
    let raw = match v {
        Val::Json(j @ (J::Array(_) | J::Object(_))) => return Some(Cow::Borrowed(j)),
        Val::Json(J::String(s)) | Val::Str(s) => s,
        _ => return None,
    };
    let inner = if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') {
        &raw[1..raw.len() - 1]
    } else {
        raw
    };
    gson::parse(&inner.replace('\\', "")).map(Cow::Owned)
}

use crate::xpath::codec::Charset;

use crate::xpath::codec::base64_encode;

/// `Base64.getDecoder().decode(String)`: strict (no whitespace, no URL-safe characters);
/// padding optional but, when present, correct. `Err` carries Java's message.
fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let src: Vec<u8> = s
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect();
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let (mut bits, mut shift) = (0u32, 18i32);
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        i += 1;
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                // '=' ends the data: it must complete a unit of two or three characters.
                if shift == 18 || (shift == 6 && (i == src.len() || src[i] != b'=')) {
                    return Err("Input byte array has wrong 4-byte ending unit".into());
                }
                if shift == 6 {
                    i += 1;
                }
                break;
            }
            _ => return Err(format!("Illegal base64 character {c:x}")),
        };
        bits |= u32::from(v) << shift;
        shift -= 6;
        if shift < 0 {
            out.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8, bits as u8]);
            bits = 0;
            shift = 18;
        }
    }
    match shift {
        6 => out.push((bits >> 16) as u8),
        0 => out.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8]),
        12 => return Err("Last unit does not have enough valid bits".into()),
        _ => {}
    }
    if i < src.len() {
        return Err(format!("Input byte array has incorrect ending byte at {i}"));
    }
    Ok(out)
}

/// `URLEncoder.encode(s, charset)`: `A-Za-z0-9.-*_` kept, space → `+`, every other run of
/// characters encoded in the charset and written as `%XX`.
fn url_encode(s: &str, charset: Charset) -> String {
    let keep = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '*' | '_' | ' ');
    let mut out = String::with_capacity(s.len() + 8);
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        for b in charset.encode(run) {
            out.push_str(&format!("%{b:02X}"));
        }
        run.clear();
    };
    for c in s.chars() {
        if keep(c) {
            flush(&mut run, &mut out);
            out.push(if c == ' ' { '+' } else { c });
        } else {
            run.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `URLDecoder.decode(s, "UTF-8")`: `+` → space, `%XX` runs decoded as UTF-8; a malformed
/// escape is Java's `IllegalArgumentException`.
fn url_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                if i + 2 >= b.len() {
                    return Err("URLDecoder: Incomplete trailing escape (%) pattern".into());
                }
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                let v = u8::from_str_radix(hex, 16).map_err(|_| {
                    format!(
                        "URLDecoder: Illegal hex characters in escape (%) pattern - Error at index 0 in: \"{hex}\""
                    )
                })?;
                out.push(v);
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Gson's lenient `JsonParser.parseString`: single-quoted and unquoted strings and names,
/// `=`/`=>` after names, `;` between elements, empty array elements as null, comments.
mod gson {
    use serde_json::{Map, Number, Value as J};

    /// The value, or `None` when Gson would throw; an empty text is Gson's `JsonNull`.
    pub(super) fn parse(text: &str) -> Option<J> {
        let mut p = Parser {
            c: text.chars().collect(),
            i: 0,
        };
        if p.next_non_ws()?.is_none() {
            return Some(J::Null);
        }
        let v = p.value(0)?;
        match p.next_non_ws()? {
            None => Some(v),
            Some(_) => None,
        }
    }

    struct Parser {
        c: Vec<char>,
        i: usize,
    }

    fn is_literal(c: char) -> bool {
        !matches!(
            c,
            '/' | '\\'
                | ';'
                | '#'
                | '='
                | '{'
                | '}'
                | '['
                | ']'
                | ':'
                | ','
                | ' '
                | '\t'
                | '\u{c}'
                | '\r'
                | '\n'
        )
    }

    impl Parser {
        /// Skips whitespace and comments; the next character without consuming it. `None`
        /// (outer) for an unterminated comment.
        fn next_non_ws(&mut self) -> Option<Option<char>> {
            while let Some(&c) = self.c.get(self.i) {
                match c {
                    ' ' | '\t' | '\n' | '\r' => self.i += 1,
                    '#' => self.skip_line(),
                    '/' => match self.c.get(self.i + 1) {
                        Some('/') => self.skip_line(),
                        Some('*') => {
                            let rest = &self.c[self.i + 2..];
                            let end = rest.windows(2).position(|w| w == ['*', '/'])?;
                            self.i += 2 + end + 2;
                        }
                        _ => return Some(Some(c)),
                    },
                    _ => return Some(Some(c)),
                }
            }
            Some(None)
        }

        fn skip_line(&mut self) {
            while let Some(&c) = self.c.get(self.i) {
                self.i += 1;
                if c == '\n' || c == '\r' {
                    break;
                }
            }
        }

        fn value(&mut self, depth: usize) -> Option<J> {
            if depth > 256 {
                return None;
            }
            let c = self.next_non_ws()??;
            match c {
                '{' => {
                    self.i += 1;
                    self.object(depth)
                }
                '[' => {
                    self.i += 1;
                    self.array(depth)
                }
                '"' | '\'' => {
                    self.i += 1;
                    self.quoted(c).map(J::String)
                }
                _ => {
                    let lit = self.literal()?;
                    let lower = lit.to_ascii_lowercase();
                    Some(match lower.as_str() {
                        "true" => J::Bool(true),
                        "false" => J::Bool(false),
                        "null" => J::Null,
                        _ => match lit.parse::<Number>() {
                            Ok(n)
                                if lit
                                    .bytes()
                                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
                            {
                                J::Number(n)
                            }
                            _ => J::String(lit),
                        },
                    })
                }
            }
        }

        /// An unquoted literal (at least one character).
        fn literal(&mut self) -> Option<String> {
            let start = self.i;
            while self.c.get(self.i).is_some_and(|&c| is_literal(c)) {
                self.i += 1;
            }
            (self.i > start).then(|| self.c[start..self.i].iter().collect())
        }

        fn quoted(&mut self, q: char) -> Option<String> {
            let mut s = String::new();
            loop {
                let c = *self.c.get(self.i)?;
                self.i += 1;
                if c == q {
                    return Some(s);
                }
                if c != '\\' {
                    s.push(c);
                    continue;
                }
                let e = *self.c.get(self.i)?;
                self.i += 1;
                s.push(match e {
                    'u' => {
                        let hex: String = self.c.get(self.i..self.i + 4)?.iter().collect();
                        self.i += 4;
                        char::from_u32(u32::from_str_radix(&hex, 16).ok()?).unwrap_or('\u{fffd}')
                    }
                    't' => '\t',
                    'b' => '\u{8}',
                    'n' => '\n',
                    'r' => '\r',
                    'f' => '\u{c}',
                    '\n' | '\'' | '"' | '\\' | '/' => e,
                    _ => return None,
                });
            }
        }

        fn array(&mut self, depth: usize) -> Option<J> {
            let mut items = Vec::new();
            loop {
                let nonempty = !items.is_empty();
                if nonempty {
                    match self.next_non_ws()?? {
                        ']' => {
                            self.i += 1;
                            return Some(J::Array(items));
                        }
                        ',' | ';' => self.i += 1,
                        _ => return None,
                    }
                }
                match self.next_non_ws()?? {
                    ']' if !nonempty => {
                        self.i += 1;
                        return Some(J::Array(items));
                    }
                    // An empty element (`[1,,2]`, `[1,]`) is null.
                    ']' | ',' | ';' => items.push(J::Null),
                    _ => items.push(self.value(depth + 1)?),
                }
            }
        }

        fn object(&mut self, depth: usize) -> Option<J> {
            let mut map = Map::new();
            loop {
                let nonempty = !map.is_empty();
                if nonempty {
                    match self.next_non_ws()?? {
                        '}' => {
                            self.i += 1;
                            return Some(J::Object(map));
                        }
                        ',' | ';' => self.i += 1,
                        _ => return None,
                    }
                }
                let name = match self.next_non_ws()?? {
                    '}' if !nonempty => {
                        self.i += 1;
                        return Some(J::Object(map));
                    }
                    q @ ('"' | '\'') => {
                        self.i += 1;
                        self.quoted(q)?
                    }
                    _ => self.literal()?,
                };
                match self.next_non_ws()?? {
                    ':' => self.i += 1,
                    '=' => {
                        self.i += 1;
                        if self.c.get(self.i) == Some(&'>') {
                            self.i += 1;
                        }
                    }
                    _ => return None,
                }
                let v = self.value(depth + 1)?;
                map.insert(name, v);
            }
        }
    }
}

/// Java `DateTimeFormatter.ofPattern` (English texts, ISO calendar, SMART resolving, strict
/// parsing) for `formatDateTime`. Letters: `G u y Q M L D d E a H k K h m s S n`, quoted text,
/// `[optional]` sections; zone and week-based letters are refused.
mod datetime {
    use std::collections::HashMap;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    enum F {
        Era,
        YearOfEra,
        Year,
        Quarter,
        Month,
        DayOfYear,
        Day,
        DayOfWeek,
        AmPm,
        HourOfAmPm,
        ClockHourOfAmPm,
        HourOfDay,
        ClockHourOfDay,
        Minute,
        Second,
        Nano,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Sign {
        Normal,
        NotNegative,
        ExceedsPad,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Style {
        Short,
        Full,
        Narrow,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Num {
            min: usize,
            max: usize,
            sign: Sign,
        },
        /// Two-digit year, base 2000.
        Reduced,
        Text(Style),
        Fraction(usize),
    }

    impl Kind {
        fn is_number(self) -> bool {
            !matches!(self, Kind::Text(_))
        }

        /// A fixed-width, unsigned number (may follow another number without a separator).
        fn fixed_width(self) -> Option<usize> {
            match self {
                Kind::Num {
                    min,
                    max,
                    sign: Sign::NotNegative,
                } if min == max => Some(min),
                Kind::Reduced => Some(2),
                Kind::Fraction(n) => Some(n),
                _ => None,
            }
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Item {
        Lit(String),
        Field(F, Kind),
        Opt(Vec<Item>),
    }

    fn num(min: usize, max: usize, sign: Sign) -> Kind {
        Kind::Num { min, max, sign }
    }

    fn field(letter: char, count: usize) -> Option<Item> {
        use Sign::*;
        let text = |c: usize| match c {
            1..=3 => Some(Kind::Text(Style::Short)),
            4 => Some(Kind::Text(Style::Full)),
            5 => Some(Kind::Text(Style::Narrow)),
            _ => None,
        };
        let one_two = |c: usize| match c {
            1 => Some(num(1, 19, Normal)),
            2 => Some(num(2, 2, NotNegative)),
            _ => None,
        };
        let (f, kind) = match letter {
            'G' => (F::Era, text(count)?),
            'y' | 'u' => {
                let f = if letter == 'y' { F::YearOfEra } else { F::Year };
                let k = match count {
                    2 => Kind::Reduced,
                    1 | 3 => num(count, 19, Normal),
                    _ => num(count, 19, ExceedsPad),
                };
                (f, k)
            }
            'Q' | 'q' | 'M' | 'L' => {
                let f = if matches!(letter, 'Q' | 'q') {
                    F::Quarter
                } else {
                    F::Month
                };
                let k = match count {
                    1 | 2 => one_two(count)?,
                    _ => text(count)?,
                };
                (f, k)
            }
            'D' => (
                F::DayOfYear,
                match count {
                    1 => num(1, 19, Normal),
                    2 => num(2, 3, NotNegative),
                    3 => num(3, 3, NotNegative),
                    _ => return None,
                },
            ),
            'd' => (F::Day, one_two(count)?),
            'E' => (F::DayOfWeek, text(count)?),
            'a' if count == 1 => (F::AmPm, Kind::Text(Style::Short)),
            'H' => (F::HourOfDay, one_two(count)?),
            'k' => (F::ClockHourOfDay, one_two(count)?),
            'K' => (F::HourOfAmPm, one_two(count)?),
            'h' => (F::ClockHourOfAmPm, one_two(count)?),
            'm' => (F::Minute, one_two(count)?),
            's' => (F::Second, one_two(count)?),
            'S' if count <= 9 => (F::Nano, Kind::Fraction(count)),
            'n' => (
                F::Nano,
                if count == 1 {
                    num(1, 19, Normal)
                } else {
                    num(count, count, NotNegative)
                },
            ),
            _ => return None,
        };
        Some(Item::Field(f, kind))
    }

    /// `DateTimeFormatter.ofPattern(p)`; `None` for what Java refuses or we do not support.
    fn compile(p: &str) -> Option<Vec<Item>> {
        let c: Vec<char> = p.chars().collect();
        let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
        let mut i = 0;
        let push = |stack: &mut Vec<Vec<Item>>, item: Item| {
            if let Some(top) = stack.last_mut() {
                match (top.last_mut(), item) {
                    (Some(Item::Lit(s)), Item::Lit(t)) => s.push_str(&t),
                    (_, item) => top.push(item),
                }
            }
        };
        while i < c.len() {
            let ch = c[i];
            if ch.is_ascii_alphabetic() {
                let mut n = 1;
                while c.get(i + n) == Some(&ch) {
                    n += 1;
                }
                push(&mut stack, field(ch, n)?);
                i += n;
            } else if ch == '\'' {
                // Quoted text; '' is a quote, inside or outside.
                let mut j = i + 1;
                let mut lit = String::new();
                loop {
                    match c.get(j) {
                        None => return None,
                        Some('\'') if c.get(j + 1) == Some(&'\'') => {
                            lit.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(&x) => {
                            lit.push(x);
                            j += 1;
                        }
                    }
                }
                if j == i + 1 {
                    lit.push('\'');
                }
                push(&mut stack, Item::Lit(lit));
                i = j + 1;
            } else if ch == '[' {
                stack.push(Vec::new());
                i += 1;
            } else if ch == ']' {
                if stack.len() < 2 {
                    return None;
                }
                let inner = stack.pop()?;
                stack.last_mut()?.push(Item::Opt(inner));
                i += 1;
            } else if matches!(ch, '{' | '}' | '#') {
                return None;
            } else {
                push(&mut stack, Item::Lit(ch.to_string()));
                i += 1;
            }
        }
        while stack.len() > 1 {
            let inner = stack.pop()?;
            stack.last_mut()?.push(Item::Opt(inner));
        }
        stack.pop()
    }

    use crate::xpath::datefmt::{DAYS, MONTHS};

    /// The texts of a field's values, with the values.
    fn texts(f: F, style: Style) -> Vec<(String, i64)> {
        let cut = |s: &str| -> String {
            match style {
                Style::Full => s.to_owned(),
                Style::Short => s.chars().take(3).collect(),
                Style::Narrow => s.chars().take(1).collect(),
            }
        };
        match f {
            F::Month => MONTHS.iter().zip(1..).map(|(m, v)| (cut(m), v)).collect(),
            F::DayOfWeek => DAYS.iter().zip(1..).map(|(d, v)| (cut(d), v)).collect(),
            F::AmPm => vec![("AM".into(), 0), ("PM".into(), 1)],
            F::Era => match style {
                Style::Short => vec![("BC".into(), 0), ("AD".into(), 1)],
                Style::Full => vec![("Before Christ".into(), 0), ("Anno Domini".into(), 1)],
                Style::Narrow => vec![("B".into(), 0), ("A".into(), 1)],
            },
            F::Quarter => (1..=4)
                .map(|q| {
                    let t = match style {
                        Style::Short => format!("Q{q}"),
                        Style::Full => {
                            let ord = ["1st", "2nd", "3rd", "4th"][(q - 1) as usize];
                            format!("{ord} quarter")
                        }
                        Style::Narrow => q.to_string(),
                    };
                    (t, q)
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn civil_from_days(z: i64) -> (i64, i64, i64) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400;
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    fn is_leap(y: i64) -> bool {
        y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
    }

    /// A local date and/or time.
    #[derive(Debug, Clone, Copy, Default, PartialEq)]
    struct Dt {
        date: Option<(i64, i64, i64)>,
        /// Hour, minute, second, nanosecond.
        time: Option<(i64, i64, i64, i64)>,
    }

    impl Dt {
        fn get(&self, f: F) -> Option<i64> {
            if let (Some((y, m, d)), true) = (self.date, is_date_field(f)) {
                return Some(match f {
                    F::Era => i64::from(y >= 1),
                    F::YearOfEra => {
                        if y >= 1 {
                            y
                        } else {
                            1 - y
                        }
                    }
                    F::Year => y,
                    F::Quarter => (m - 1) / 3 + 1,
                    F::Month => m,
                    F::Day => d,
                    F::DayOfYear => days_from_civil(y, m, d) - days_from_civil(y, 1, 1) + 1,
                    _ => (days_from_civil(y, m, d) + 3).rem_euclid(7) + 1,
                });
            }
            let (h, mi, s, n) = self.time.filter(|_| !is_date_field(f))?;
            Some(match f {
                F::AmPm => h / 12,
                F::HourOfAmPm => h % 12,
                F::ClockHourOfAmPm => {
                    if h % 12 == 0 {
                        12
                    } else {
                        h % 12
                    }
                }
                F::HourOfDay => h,
                F::ClockHourOfDay => {
                    if h == 0 {
                        24
                    } else {
                        h
                    }
                }
                F::Minute => mi,
                F::Second => s,
                _ => n,
            })
        }
    }

    fn is_date_field(f: F) -> bool {
        matches!(
            f,
            F::Era
                | F::YearOfEra
                | F::Year
                | F::Quarter
                | F::Month
                | F::DayOfYear
                | F::Day
                | F::DayOfWeek
        )
    }

    fn format(items: &[Item], dt: &Dt, out: &mut String) -> Option<()> {
        for item in items {
            match item {
                Item::Lit(s) => out.push_str(s),
                Item::Opt(inner) => {
                    let mut part = String::new();
                    if format(inner, dt, &mut part).is_some() {
                        out.push_str(&part);
                    }
                }
                Item::Field(f, kind) => {
                    let v = dt.get(*f)?;
                    match *kind {
                        Kind::Num { min, max, sign } => {
                            let digits = v.unsigned_abs().to_string();
                            if digits.len() > max {
                                return None;
                            }
                            if v < 0 {
                                if sign == Sign::NotNegative {
                                    return None;
                                }
                                out.push('-');
                            } else if sign == Sign::ExceedsPad && min < 19 && digits.len() > min {
                                out.push('+');
                            }
                            out.extend(std::iter::repeat_n('0', min.saturating_sub(digits.len())));
                            out.push_str(&digits);
                        }
                        Kind::Reduced => out.push_str(&format!("{:02}", v.unsigned_abs() % 100)),
                        Kind::Fraction(n) => out.push_str(&format!("{v:09}")[..n]),
                        Kind::Text(style) => {
                            let (t, _) = texts(*f, style).into_iter().find(|(_, x)| *x == v)?;
                            out.push_str(&t);
                        }
                    }
                }
            }
        }
        Some(())
    }

    /// Formats epoch milliseconds as a UTC local date-time.
    pub(super) fn format_millis(millis: i64, pattern: &str) -> Option<String> {
        let items = compile(pattern)?;
        let days = millis.div_euclid(86_400_000);
        let ms = millis.rem_euclid(86_400_000);
        let dt = Dt {
            date: Some(civil_from_days(days)),
            time: Some((
                ms / 3_600_000,
                ms / 60_000 % 60,
                ms / 1000 % 60,
                ms % 1000 * 1_000_000,
            )),
        };
        let mut out = String::new();
        format(&items, &dt, &mut out)?;
        Some(out)
    }

    /// `formatDateTime(source, from, to)`: parse as a date-time, a date or a time, re-format.
    pub(super) fn reformat(source: &str, from: &str, to: &str) -> Result<String, String> {
        let to_items = compile(to).ok_or_else(|| {
            format!("Invalid target format provided for formatDateTime function. Format: {to}")
        })?;
        let err = || {
            format!(
                "Invalid date/time or source format provided for formatDateTime function. Source: {source} Format: {from}"
            )
        };
        let from_items = compile(from).ok_or_else(err)?;
        let dt = parse(&from_items, source).ok_or_else(err)?;
        let mut out = String::new();
        format(&to_items, &dt, &mut out).ok_or_else(err)?;
        Ok(out)
    }

    type Fields = HashMap<F, i64>;

    fn set(fields: &mut Fields, f: F, v: i64) -> Option<()> {
        match fields.insert(f, v) {
            Some(old) if old != v => None,
            _ => Some(()),
        }
    }

    fn parse(items: &[Item], text: &str) -> Option<Dt> {
        let chars: Vec<char> = text.chars().collect();
        let mut fields = Fields::new();
        let end = parse_items(items, &chars, 0, &mut fields)?;
        if end != chars.len() {
            return None;
        }
        resolve(fields)
    }

    fn parse_items(
        items: &[Item],
        t: &[char],
        mut pos: usize,
        fields: &mut Fields,
    ) -> Option<usize> {
        for (k, item) in items.iter().enumerate() {
            match item {
                Item::Lit(s) => {
                    for c in s.chars() {
                        if t.get(pos) != Some(&c) {
                            return None;
                        }
                        pos += 1;
                    }
                }
                Item::Opt(inner) => {
                    let mut trial = fields.clone();
                    if let Some(p) = parse_items(inner, t, pos, &mut trial) {
                        *fields = trial;
                        pos = p;
                    }
                }
                Item::Field(f, Kind::Text(style)) => {
                    let mut options = texts(*f, *style);
                    options.sort_by_key(|(s, _)| std::cmp::Reverse(s.chars().count()));
                    let (len, v) = options.iter().find_map(|(s, v)| {
                        let n = s.chars().count();
                        (t.get(pos..pos + n)?.iter().copied().eq(s.chars())).then_some((n, *v))
                    })?;
                    set(fields, *f, v)?;
                    pos += len;
                }
                Item::Field(f, kind) => {
                    let reserved = reserved_width(items, k);
                    let (v, p) = parse_number(*kind, t, pos, reserved)?;
                    set(fields, *f, v)?;
                    pos = p;
                }
            }
        }
        Some(pos)
    }

    /// The digits the fixed-width numbers right after a variable-width number at `k` reserve
    /// (Java's adjacent value parsing); 0 when `k` is not such a base.
    fn reserved_width(items: &[Item], k: usize) -> usize {
        let Some(Item::Field(_, kind)) = items.get(k) else {
            return 0;
        };
        // A fixed-width number after another number is not a base: it is reserved for.
        if kind.fixed_width().is_some() {
            if let Some(Item::Field(_, prev)) = k.checked_sub(1).and_then(|p| items.get(p)) {
                if prev.is_number() {
                    return 0;
                }
            }
        }
        items[k + 1..]
            .iter()
            .map_while(|it| match it {
                Item::Field(_, kd) => kd.fixed_width(),
                _ => None,
            })
            .sum()
    }

    fn parse_number(kind: Kind, t: &[char], pos: usize, reserved: usize) -> Option<(i64, usize)> {
        let digits_from = |start: usize, max: usize| -> usize {
            t[start.min(t.len())..]
                .iter()
                .take(max)
                .take_while(|c| c.is_ascii_digit())
                .count()
        };
        let value = |start: usize, n: usize| -> Option<i64> {
            t[start..start + n]
                .iter()
                .collect::<String>()
                .parse::<i64>()
                .ok()
        };
        match kind {
            Kind::Text(_) => None,
            Kind::Fraction(n) => {
                if digits_from(pos, n) < n {
                    return None;
                }
                let v = value(pos, n)?;
                Some((v * 10i64.pow(9 - n as u32), pos + n))
            }
            Kind::Reduced => {
                // Strictly two digits, whatever the adjacent fields reserve.
                if digits_from(pos, 2) < 2 {
                    return None;
                }
                Some((2000 + value(pos, 2)?, pos + 2))
            }
            Kind::Num { min, max, sign } => {
                let (neg, plus, start) = match t.get(pos) {
                    Some('-') if sign != Sign::NotNegative => (true, false, pos + 1),
                    Some('+') if sign == Sign::ExceedsPad => (false, true, pos + 1),
                    _ => (false, false, pos),
                };
                let mut len = digits_from(start, max + reserved);
                if len < min {
                    return None;
                }
                if reserved > 0 {
                    len = len.saturating_sub(reserved).max(min);
                }
                if sign == Sign::ExceedsPad && ((plus && len <= min) || (!plus && len > min)) {
                    return None;
                }
                let v = value(start, len)?;
                Some((if neg { -v } else { v }, start + len))
            }
        }
    }

    fn in_range(v: i64, lo: i64, hi: i64) -> Option<i64> {
        (lo..=hi).contains(&v).then_some(v)
    }

    /// Java's SMART resolution of parsed fields into a date and/or a time.
    fn resolve(mut f: Fields) -> Option<Dt> {
        let mut dt = Dt::default();
        // Year of era (+ era) → proleptic year.
        if let Some(yoe) = f.remove(&F::YearOfEra) {
            in_range(yoe, 1, 999_999_999)?;
            let year = match f.remove(&F::Era) {
                None => match f.get(&F::Year) {
                    Some(&y) if y <= 0 => 1 - yoe,
                    _ => yoe,
                },
                Some(1) => yoe,
                Some(0) => 1 - yoe,
                Some(_) => return None,
            };
            set(&mut f, F::Year, year)?;
        }
        if let Some(&y) = f.get(&F::Year) {
            in_range(y, -999_999_999, 999_999_999)?;
            if let (Some(&m), Some(&d)) = (f.get(&F::Month), f.get(&F::Day)) {
                in_range(m, 1, 12)?;
                let mut d = in_range(d, 1, 31)?;
                match m {
                    4 | 6 | 9 | 11 => d = d.min(30),
                    2 => d = d.min(if is_leap(y) { 29 } else { 28 }),
                    _ => {}
                }
                dt.date = Some((y, m, d));
                f.remove(&F::Year);
                f.remove(&F::Month);
                f.remove(&F::Day);
            } else if let Some(&doy) = f.get(&F::DayOfYear) {
                in_range(doy, 1, if is_leap(y) { 366 } else { 365 })?;
                let (yy, m, d) = civil_from_days(days_from_civil(y, 1, 1) + doy - 1);
                dt.date = Some((yy, m, d));
                f.remove(&F::Year);
                f.remove(&F::DayOfYear);
            }
        }
        // Time.
        if let Some(ch) = f.remove(&F::ClockHourOfDay) {
            if ch != 0 {
                in_range(ch, 1, 24)?;
            }
            set(&mut f, F::HourOfDay, if ch == 24 { 0 } else { ch })?;
        }
        if let Some(ch) = f.remove(&F::ClockHourOfAmPm) {
            if ch != 0 {
                in_range(ch, 1, 12)?;
            }
            set(&mut f, F::HourOfAmPm, if ch == 12 { 0 } else { ch })?;
        }
        if let (Some(&ap), Some(&hap)) = (f.get(&F::AmPm), f.get(&F::HourOfAmPm)) {
            in_range(ap, 0, 1)?;
            in_range(hap, 0, 11)?;
            f.remove(&F::AmPm);
            f.remove(&F::HourOfAmPm);
            set(&mut f, F::HourOfDay, ap * 12 + hap)?;
        }
        let mut excess_day = false;
        if let Some(&h) = f.get(&F::HourOfDay) {
            let (mi, s, n) = (
                f.get(&F::Minute).copied(),
                f.get(&F::Second).copied(),
                f.get(&F::Nano).copied(),
            );
            let undefaultable = (mi.is_none() && (s.is_some() || n.is_some()))
                || (mi.is_some() && s.is_none() && n.is_some());
            if !undefaultable {
                let (mi, s, n) = (mi.unwrap_or(0), s.unwrap_or(0), n.unwrap_or(0));
                in_range(mi, 0, 59)?;
                in_range(n, 0, 999_999_999)?;
                if h == 24 && mi == 0 && s == 0 && n == 0 {
                    dt.time = Some((0, 0, 0, 0));
                    excess_day = true;
                } else {
                    dt.time = Some((in_range(h, 0, 23)?, mi, in_range(s, 0, 59)?, n));
                }
                for k in [F::HourOfDay, F::Minute, F::Second, F::Nano] {
                    f.remove(&k);
                }
            }
        }
        // Remaining time fields are range-checked.
        for (k, v) in &f {
            let ok = match k {
                F::AmPm => (0..=1).contains(v),
                F::HourOfAmPm => (0..=11).contains(v),
                F::HourOfDay => (0..=23).contains(v),
                F::Minute | F::Second => (0..=59).contains(v),
                F::Nano => (0..=999_999_999).contains(v),
                _ => true,
            };
            if !ok {
                return None;
            }
        }
        if excess_day {
            if let Some((y, m, d)) = dt.date {
                dt.date = Some(civil_from_days(days_from_civil(y, m, d) + 1));
            }
        }
        // Cross-check what is left against the resolved date and time.
        for (k, v) in &f {
            let resolved = if is_date_field(*k) {
                dt.date.is_some()
            } else {
                dt.time.is_some()
            };
            if resolved && dt.get(*k) != Some(*v) {
                return None;
            }
        }
        if dt.date.is_none() && dt.time.is_none() {
            return None;
        }
        Some(dt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(x: &str) -> Val {
        Val::Str(x.to_owned())
    }

    /// The rendered result, `""` on error (MI's contract).
    fn c(name: &str, args: &[Val]) -> String {
        match call(name, args) {
            Ok(v) => v.text().into_owned(),
            Err(_) => String::new(),
        }
    }

    fn err(name: &str, args: &[Val]) -> String {
        call(name, args).err().unwrap_or_default()
    }

    fn p3() -> Val {
        Val::Json(json!([
            "When", "my", "time", "comes", "Forget", "the", "wrong", "that", "I've", "done"
        ]))
    }

    #[test]
    fn names_and_arity() {
        assert_eq!(NAMES.len(), 41);
        assert!(NAMES.iter().any(|&n| arity_ok(n, 1) || arity_ok(n, 0)));
        assert!(arity_ok("subString", 2) && arity_ok("subString", 3));
        assert!(!arity_ok("subString", 1));
        assert!(arity_ok("now", 0) && !arity_ok("now", 1));
        assert!(!arity_ok("property", 1));
        assert_eq!(
            err("length", &[s("a"), s("b")]),
            "Invalid function: length with two arguments"
        );
        assert_eq!(err("trim", &[]), "Invalid function: trim with no arguments");
        assert_eq!(
            err("replace", &[s("a"), s("b"), s("c"), s("d")]),
            "Invalid number of arguments: 4 provided for the function: replace"
        );
        assert_eq!(
            err("length", &[Val::Null]),
            "Null source value provided for the function: length"
        );
        assert_eq!(
            err("subString", &[s("hello"), Val::Null]),
            "Null argument1 value provided for the function: subString"
        );
        assert!(call("xpath", &[s("//a")]).is_err());
    }

    #[test]
    fn strings() {
        assert_eq!(c("length", &[s("\"Lahiru\"")]), "6");
        let arr = Val::Json(json!(["LAHIRU", 3, 5]));
        assert_eq!(c("length", &[arr]), "3");
        assert_eq!(c("length", &[s("")]), "0");
        assert_eq!(c("length", &[Val::Int(34)]), "");
        assert_eq!(c("length", &[Val::Null]), "");
        assert_eq!(c("length", &[s("[1,2]")]), "5");
        assert_eq!(c("length", &[s("😀")]), "2");
        assert_eq!(c("toUpper", &[s("space")]), "SPACE");
        assert_eq!(
            c("toLower", &[s("The Diary of a Young Girl")]),
            "the diary of a young girl"
        );
        assert_eq!(c("toUpper", &[Val::Int(34)]), "");
        assert_eq!(call("toUpper", &[s("")]), Ok(s("")));
        assert_eq!(c("subString", &[s("Lahiru"), Val::Int(2)]), "hiru");
        assert_eq!(
            c("subString", &[s("Lahiru"), Val::Int(2), Val::Int(4)]),
            "hi"
        );
        assert_eq!(call("subString", &[s("Hello"), Val::Int(5)]), Ok(s("")));
        assert_eq!(c("subString", &[s("Hello"), Val::Int(20)]), "");
        assert_eq!(
            err("subString", &[s("Hello"), Val::Int(20)]),
            "Invalid index for subString: 20, source string length: 5"
        );
        assert_eq!(c("subString", &[s("Hello"), Val::Int(-2)]), "");
        assert_eq!(c("subString", &[s("Hello"), s("a")]), "");
        assert_eq!(c("subString", &[s("hello"), Val::Null]), "");
        assert_eq!(
            err("subString", &[s("Hello"), Val::Int(3), Val::Int(2)]),
            "Invalid subString indices: start=3, end=2, string length=5"
        );
        assert_eq!(c("startsWith", &[s("red flag"), s("red")]), "true");
        assert_eq!(
            c("startsWith", &[Val::Json(json!(["Ford"])), s("Ford")]),
            ""
        );
        assert_eq!(c("endsWith", &[s("red flag"), s("flag")]), "true");
        assert_eq!(c("contains", &[s("sever"), s("Perseverance")]), "false");
        assert_eq!(c("contains", &[s("Perseverance"), s("sever")]), "true");
        assert_eq!(c("trim", &[s(" Hello World ")]), "Hello World");
        assert_eq!(c("trim", &[s("\t\n x \u{1}")]), "x");
        assert_eq!(
            c("replace", &[s("John has a Fiat"), s("Fiat"), s("BMW")]),
            "John has a BMW"
        );
        assert_eq!(c("replace", &[s("abc"), s(""), s("-")]), "-a-b-c-");
        assert_eq!(c("indexOf", &[s("Hello World"), s("l"), Val::Int(5)]), "9");
        assert_eq!(
            c("indexOf", &[s("Hello World"), s("l"), Val::Int(50)]),
            "-1"
        );
        assert_eq!(c("indexOf", &[s(" Hello World "), s("World")]), "7");
        assert_eq!(c("indexOf", &[s("Hello"), s("l"), Val::Int(-4)]), "2");
        assert_eq!(c("indexOf", &[s("Hello"), s("x")]), "-1");
        assert_eq!(c("charAt", &[s("Hello World"), Val::Int(6)]), "W");
        assert_eq!(c("charAt", &[s("Hello World"), Val::Int(-1)]), "");
        assert_eq!(
            err("charAt", &[s("Hello"), Val::Int(9)]),
            "Invalid index provided for charAt function. source: Hello, index: 9"
        );
    }

    #[test]
    fn split() {
        let r = c(
            "split",
            &[s("Split a string by spaces and,comma"), s("[, ]")],
        );
        assert_eq!(r, r#"["Split","a","string","by","spaces","and","comma"]"#);
        assert_eq!(
            c("split", &[s(" Moon Mars "), s(",")]),
            r#"[" Moon Mars "]"#
        );
        assert_eq!(c("split", &[s("a,b,,"), s(",")]), r#"["a","b"]"#);
        assert_eq!(c("split", &[s(",a"), s(",")]), r#"["","a"]"#);
        assert_eq!(c("split", &[s("abc"), s("")]), r#"["a","b","c"]"#);
        assert_eq!(c("split", &[s(",,"), s(",")]), "[]");
        assert_eq!(c("split", &[s(""), s(",")]), r#"[""]"#);
        let phrase = "Sic Mundus Creatus Est and so on and on";
        let parts = call("split", &[s(phrase), s(" ")]).unwrap();
        assert_eq!(c("length", &[parts]), "9");
        assert_eq!(c("split", &[s("a"), s("(")]), "");
    }

    #[test]
    fn math() {
        assert_eq!(call("abs", &[Val::Int(-5)]), Ok(Val::Int(5)));
        assert_eq!(c("abs", &[Val::Double(-5.0)]), "5.0");
        assert_eq!(c("abs", &[Val::Double(-2.0)]), "2.0");
        assert_eq!(c("abs", &[Val::Double(-4.0)]), "4.0");
        assert_eq!(c("abs", &[Val::Long(-4)]), "");
        assert_eq!(c("floor", &[Val::Double(-5.4)]), "-6.0");
        assert_eq!(c("ceil", &[Val::Double(-5.4)]), "-5.0");
        assert_eq!(c("ceil", &[Val::Double(5.9)]), "6.0");
        assert_eq!(c("ceil", &[Val::Int(5)]), "5");
        assert_eq!(c("sqrt", &[Val::Int(25)]), "5.0");
        assert_eq!(c("sqrt", &[Val::Double(-25.0)]), "NaN");
        assert_eq!(c("pow", &[Val::Int(2), Val::Int(3)]), "8.0");
        assert_eq!(c("pow", &[Val::Int(2), Val::Int(-2)]), "0.25");
        assert_eq!(c("pow", &[Val::Double(-2.5), Val::Int(-2)]), "0.16");
        assert_eq!(c("pow", &[s("2"), Val::Int(2)]), "");
        assert_eq!(c("round", &[Val::Double(5.4)]), "5");
        assert_eq!(c("round", &[Val::Double(5.6)]), "6");
        assert_eq!(c("round", &[Val::Double(-2.0)]), "-2");
        assert_eq!(c("round", &[Val::Double(-2.5)]), "-2");
        assert_eq!(c("round", &[Val::Double(12.1425)]), "12");
        assert_eq!(c("round", &[Val::Double(9.01), Val::Int(1)]), "9.0");
        assert_eq!(c("round", &[Val::Double(9.01), Val::Int(2)]), "9.01");
        assert_eq!(c("round", &[Val::Double(0.115), Val::Int(2)]), "0.12");
        assert_eq!(c("round", &[Val::Double(0.111), Val::Int(4)]), "0.111");
        assert_eq!(c("round", &[Val::Double(0.111), Val::Int(0)]), "");
        assert_eq!(c("round", &[Val::Double(0.111), s("asdf")]), "");
        assert_eq!(c("round", &[Val::Int(5), s("asdf")]), "5");
        assert_eq!(c("round", &[Val::Double(f64::NAN), Val::Int(2)]), "");
        assert_eq!(c("log", &[Val::Int(10)]), "1.0");
        let l = call("log", &[Val::Int(1001)]).unwrap();
        assert_eq!(c("round", &[l]), "3");
        assert_eq!(c("log", &[Val::Int(1024), Val::Int(2)]), "10.0");
        assert_eq!(c("log", &[Val::Int(10), Val::Double(-2.5)]), "NaN");
        let l = call("log", &[Val::Int(10), Val::Int(5)]).unwrap();
        assert_eq!(c("round", &[l, Val::Int(2)]), "1.43");
    }

    #[test]
    fn encodings() {
        assert_eq!(c("base64encode", &[s("Hello World")]), "SGVsbG8gV29ybGQ=");
        assert_eq!(c("base64encode", &[s("John"), s("UTF-8")]), "Sm9obg==");
        assert_eq!(c("base64encode", &[s("é"), s("iso-8859-1")]), "6Q==");
        assert_eq!(c("base64encode", &[s("Hello"), s("UTF-99")]), "");
        assert_eq!(
            err("base64encode", &[s("Hello"), s("UTF-99")]),
            "Invalid charset provided for base64Encode function. Charset: UTF-99"
        );
        assert_eq!(c("base64decode", &[s("V1NPMk1J")]), "WSO2MI");
        assert_eq!(c("base64decode", &[s("Sm9obg")]), "John");
        assert_eq!(c("base64decode", &[s("Sm9obg==")]), "John");
        assert_eq!(c("base64decode", &[s("Sm9obg=")]), "");
        assert_eq!(c("base64decode", &[s("Sm9o bg==")]), "");
        assert_eq!(c("base64decode", &[s("S")]), "");
        assert_eq!(c("urlEncode", &[s("Hello World")]), "Hello%20World");
        assert_eq!(c("urlEncode", &[s(" *~")]), "%20%2A%7E");
        assert_eq!(c("urlEncode", &[s("a+b/é")]), "a%2Bb%2F%C3%A9");
        assert_eq!(c("urlEncode", &[s("a b"), s("utf-8")]), "a+b");
        assert_eq!(c("urlEncode", &[s("a bé"), s("ISO-8859-1")]), "a+b%E9");
        assert_eq!(c("urlDecode", &[s("Hello+World")]), "Hello World");
        assert_eq!(c("urlDecode", &[s("%C3%A9%20x")]), "é x");
        assert_eq!(c("urlDecode", &[s("%4")]), "");
        assert_eq!(c("urlDecode", &[s("%zz")]), "");
    }

    #[test]
    fn types_and_conversions() {
        assert_eq!(c("isNumber", &[Val::Int(34)]), "true");
        assert_eq!(c("isNumber", &[s("34")]), "false");
        assert_eq!(c("isNumber", &[Val::Long(34)]), "false");
        assert_eq!(c("isNumber", &[Val::Null]), "");
        assert_eq!(c("isString", &[s("34")]), "true");
        assert_eq!(c("isString", &[Val::Int(34)]), "false");
        assert_eq!(c("isString", &[Val::Null]), "");
        assert_eq!(c("isArray", &[p3()]), "true");
        assert_eq!(c("isArray", &[s(r#""[1,2,{\"abc\":5}]""#)]), "true");
        assert_eq!(c("isArray", &[s(r#""[1,2,{\"abc:5}]""#)]), "false");
        assert_eq!(c("isArray", &[s("[a, 'b' ; c]")]), "true");
        assert_eq!(c("isObject", &[Val::Json(json!({"book": []}))]), "true");
        assert_eq!(c("isObject", &[s("{a=1}")]), "true");
        assert_eq!(c("isObject", &[s("{a:1} x")]), "false");
        assert_eq!(c("isObject", &[Val::Int(1)]), "false");
        assert_eq!(c("string", &[Val::Int(12)]), "12");
        assert_eq!(
            c("string", &[p3()]),
            r#"["When","my","time","comes","Forget","the","wrong","that","I've","done"]"#
        );
        assert_eq!(call("string", &[Val::Int(300)]), Ok(s("300")));
        assert_eq!(c("integer", &[Val::Double(34.5)]), "");
        assert_eq!(c("integer", &[s("Hello")]), "");
        assert_eq!(c("integer", &[p3()]), "");
        assert_eq!(call("integer", &[s("400")]), Ok(Val::Int(400)));
        assert_eq!(c("integer", &[Val::Long(2147483648)]), "");
        assert_eq!(c("float", &[Val::Int(-34)]), "-34.0");
        assert_eq!(c("float", &[Val::Int(10)]), "10.0");
        assert_eq!(c("float", &[s(" 1.5f ")]), "1.5");
        assert_eq!(c("float", &[s("1e3")]), "1000.0");
        assert_eq!(c("float", &[s("inf")]), "");
        assert_eq!(c("float", &[s("-Infinity")]), "-Infinity");
        assert_eq!(c("boolean", &[s("1")]), "false");
        assert_eq!(c("boolean", &[s("bla")]), "false");
        assert_eq!(c("boolean", &[p3()]), "false");
        assert_eq!(c("boolean", &[s("TRUE")]), "true");
        assert_eq!(c("boolean", &[Val::Bool(true)]), "true");
        assert_eq!(
            c("object", &[s(r#""{\"hello\":\"world\"}""#)]),
            r#"{"hello":"world"}"#
        );
        assert_eq!(c("object", &[s(r#"["Hello","World"]"#)]), "");
        assert_eq!(c("object", &[Val::Int(34)]), "");
        assert_eq!(
            c("object", &[s("{'a':'b', c: 1.50}")]),
            r#"{"a":"b","c":1.50}"#
        );
        assert_eq!(
            c("array", &[s(r#"["Hello","World"]"#)]),
            r#"["Hello","World"]"#
        );
        assert_eq!(c("array", &[s("[1,,2,]")]), "[1,null,2,null]");
        assert_eq!(c("array", &[Val::Json(json!({"a": 1}))]), "");
        assert_eq!(c("array", &[p3()]), c("string", &[p3()]));
        assert_eq!(c("not", &[Val::Bool(false)]), "true");
        assert_eq!(c("not", &[Val::Int(123)]), "");
        assert_eq!(
            err("not", &[Val::Int(123)]),
            "Value : 123 cannot be converted to boolean"
        );
    }

    #[test]
    fn dates() {
        let f = |a: &str, b: &str, t: &str| c("formatDateTime", &[s(a), s(b), s(t)]);
        assert_eq!(f("29/09/1988", "dd/MM/yyyy", "yyyy-MM-dd"), "1988-09-29");
        assert_eq!(f("29-09-1988", "dd-MM-yyyy", "yyyy MMM dd"), "1988 Sep 29");
        assert_eq!(f("11-22-33", "HH-mm-ss", "HH mm ss"), "11 22 33");
        assert_eq!(f("50-22-33", "HH-mm-ss", "HH mm ss"), "");
        assert_eq!(f("11-22-33", "HH-mm-ss", "yyyy"), "");
        assert_eq!(f("29/09/1988", "dd/MM/yyyy", "HH"), "");
        assert_eq!(
            f(
                "1988-09-29 07:05",
                "yyyy-MM-dd HH:mm",
                "d/M/yy h:mm a, EEEE"
            ),
            "29/9/88 7:05 AM, Thursday"
        );
        assert_eq!(f("19880929", "yyyyMMdd", "dd.MM.uuuu"), "29.09.1988");
        assert_eq!(f("31/02/2020", "dd/MM/yyyy", "yyyy-MM-dd"), "2020-02-29");
        assert_eq!(f("880929", "yyMMdd", "yyyy/M/d"), "2088/9/29");
        assert_eq!(f("8809", "yyMMdd", "yyyy/M/d"), "");
        assert_eq!(
            f("29.09.1988 24:00", "dd.MM.yyyy HH:mm", "yyyy-MM-dd HH:mm"),
            "1988-09-30 00:00"
        );
        assert_eq!(
            f("Thu 29.09.1988", "EEE dd.MM.yyyy", "MMMM d"),
            "September 29"
        );
        assert_eq!(f("Fri 29.09.1988", "EEE dd.MM.yyyy", "MMMM d"), "");
        assert_eq!(f("1.1.12345", "d.M.yyyyy", "yyyy"), "+12345");
        assert_eq!(f("32/01/2020", "dd/MM/yyyy", "yyyy-MM-dd"), "");
        assert_eq!(f("9/1/2020", "dd/MM/yyyy", "yyyy-MM-dd"), "");
        assert_eq!(f("9/1/2020", "d/M/yyyy", "yyyy-MM-dd"), "2020-01-09");
        assert_eq!(f("Sep 29, 1988", "MMM dd, yyyy", "yyyy-MM-dd'T'HH"), "");
        assert_eq!(
            f("Sep 29, 1988", "MMM dd, yyyy", "'Day' D 'of' yyyy"),
            "Day 273 of 1988"
        );
        assert_eq!(f("10:15 PM", "hh:mm a", "HH:mm"), "22:15");
        assert_eq!(f("10:15", "hh:mm", "HH:mm"), "");
        assert_eq!(
            f(
                "2024-01-02T03:04:05.123",
                "yyyy-MM-dd'T'HH:mm:ss[.SSS]",
                "HH:mm:ss.SS[ yyyy]"
            ),
            "03:04:05.12 2024"
        );
        assert_eq!(
            f(
                "2024-01-02T03:04:05",
                "yyyy-MM-dd'T'HH:mm:ss[.SSS]",
                "HH''mm"
            ),
            "03'04"
        );
        // One pair of outer quotes is removed from every string argument, patterns included.
        assert_eq!(f("2024-01-02", "yyyy-MM-dd", "''HH''"), "HH");
        assert_eq!(f("1988-09-29", "yyyy-MM-dd", "yyyy-MM-dd Z"), "");
        assert_eq!(
            err("formatDateTime", &[s("x"), s("yyyy"), s("{")]),
            "Invalid target format provided for formatDateTime function. Format: {"
        );
        assert_eq!(
            err("formatDateTime", &[s("x"), s("yyyy"), s("yyyy")]),
            "Invalid date/time or source format provided for formatDateTime function. Source: x Format: yyyy"
        );
        // 2 args: epoch millis, UTC.
        let m = |ms: i64, p: &str| c("formatDateTime", &[Val::Long(ms), s(p)]);
        assert_eq!(m(0, "yyyy-MM-dd HH:mm:ss.SSS"), "1970-01-01 00:00:00.000");
        assert_eq!(
            m(591_495_930_123, "yyyy-MM-dd'T'HH:mm:ss.SSS E"),
            "1988-09-29T00:25:30.123 Thu"
        );
        assert_eq!(m(-1, "yyyy-MM-dd HH:mm:ss.SSS"), "1969-12-31 23:59:59.999");
        assert_eq!(m(0, "G yyyy QQQ"), "AD 1970 Q1");
        assert_eq!(c("formatDateTime", &[s("0"), s("yyyy")]), "");
        assert_eq!(c("formatDateTime", &[Val::Int(0), s("yyyy XX")]), "");
        let today = c(
            "formatDateTime",
            &[call("now", &[]).unwrap(), s("yyyy-MM-dd")],
        );
        assert_eq!(today.len(), 10);
        assert!(matches!(call("now", &[]), Ok(Val::Long(_))));
    }

    #[test]
    fn civil_days() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (1600, 3, 1),
            (-4, 12, 31),
            (2024, 12, 31),
        ] {
            let z = datetime::days_from_civil(y, m, d);
            assert_eq!(datetime_civil(z), (y, m, d));
        }
        assert_eq!(datetime::days_from_civil(1970, 1, 1), 0);
    }

    fn datetime_civil(z: i64) -> (i64, i64, i64) {
        let ms = z * 86_400_000;
        let t = datetime::format_millis(ms, "u M d").unwrap();
        let v: Vec<i64> = t.split(' ').map(|x| x.parse().unwrap()).collect();
        (v[0], v[1], v[2])
    }
}
