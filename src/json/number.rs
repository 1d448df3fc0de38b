//! Number text as WSO2's XML → JSON writes it: StAXON's auto-primitive number pattern
//! (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) and Java `BigDecimal.toString()` of the
//! matched text (scale kept: `25.0000` stays `25.0000`; `1e5` becomes `1E+5`; `-0` becomes `0`).

/// The parts of a number that matched StAXON's pattern.
struct Parts<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
    exp: i64,
}

fn split(s: &str) -> Option<Parts<'_>> {
    let b = s.as_bytes();
    let mut i = 0;
    let negative = b.first() == Some(&b'-');
    if negative {
        i = 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int = &s[int_start..i];
    if int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    let mut frac = "";
    if i < b.len() && b[i] == b'.' {
        let f = i + 1;
        i = f;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == f {
            return None;
        }
        frac = &s[f..i];
    }
    let mut exp = 0i64;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let mut neg_exp = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            neg_exp = b[i] == b'-';
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return None;
        }
        // Java's BigDecimal refuses exponents beyond an int; treat those as "not a number".
        let v: i64 = s[e..i].parse().ok().filter(|v| *v <= i64::from(i32::MAX))?;
        exp = if neg_exp { -v } else { v };
    }
    if i != b.len() {
        return None;
    }
    Some(Parts {
        negative,
        int,
        frac,
        exp,
    })
}

/// When `s` matches StAXON's number pattern, the text WSO2 writes for it (Java
/// `new BigDecimal(s).toString()`); `None` when it is not a number.
pub(crate) fn staxon_number(s: &str) -> Option<String> {
    let p = split(s)?;
    let mut digits = String::with_capacity(p.int.len() + p.frac.len());
    digits.push_str(p.int);
    digits.push_str(p.frac);
    let coeff = digits.trim_start_matches('0');
    let coeff = if coeff.is_empty() { "0" } else { coeff };
    let scale = p.frac.len() as i64 - p.exp;
    let adjusted = -scale + (coeff.len() as i64 - 1);
    let mut out = String::with_capacity(coeff.len() + 8);
    if p.negative && coeff != "0" {
        out.push('-');
    }
    if scale >= 0 && adjusted >= -6 {
        let scale = scale as usize;
        if scale == 0 {
            out.push_str(coeff);
        } else if coeff.len() > scale {
            let (a, b) = coeff.split_at(coeff.len() - scale);
            out.push_str(a);
            out.push('.');
            out.push_str(b);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', scale - coeff.len()));
            out.push_str(coeff);
        }
    } else {
        let (first, rest) = coeff.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        if adjusted != 0 {
            out.push('E');
            if adjusted > 0 {
                out.push('+');
            }
            out.push_str(&adjusted.to_string());
        }
    }
    Some(out)
}

/// Java `Double.toString` for the results of JSONPath aggregate functions (`avg()`, `sum()`…):
/// integral values in plain range get a `.0`.
pub(crate) fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        let s = format!("{v:E}");
        // Rust writes `1.5E7` / `1E-5`; Java writes `1.5E7` / `1.0E-5`.
        return match s.split_once('E') {
            Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
            _ => s,
        };
    }
    let s = format!("{v}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_decimal_strings() {
        let cases = [
            ("25.0000", Some("25.0000")),
            ("71.0000", Some("71.0000")),
            ("0", Some("0")),
            ("-0", Some("0")),
            ("-0.0", Some("0.0")),
            ("123", Some("123")),
            ("-80.6039558", Some("-80.6039558")),
            ("0.05", Some("0.05")),
            ("1e5", Some("1E+5")),
            ("1.5e3", Some("1.5E+3")),
            ("1.50E+2", Some("150")),
            ("1E-7", Some("1E-7")),
            ("0.0000001", Some("1E-7")),
            ("0.000001", Some("0.000001")),
            ("12e-1", Some("1.2")),
            ("1e0", Some("1")),
            ("007", None),
            ("1.", None),
            (".5", None),
            ("+1", None),
            ("1e", None),
            (" 1", None),
            ("0x10", None),
            ("", None),
            ("-", None),
        ];
        for (input, want) in cases {
            assert_eq!(staxon_number(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn java_doubles() {
        assert_eq!(java_double(2.5), "2.5");
        assert_eq!(java_double(3.0), "3.0");
        assert_eq!(java_double(-1.0), "-1.0");
        assert_eq!(java_double(1e10), "1.0E10");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
    }
}
