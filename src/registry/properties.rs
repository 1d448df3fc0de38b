//! Java `.properties` files (registry metadata and resource properties): `key=value`,
//! `key: value` or `key value`, `#`/`!` comments, backslash escapes and line continuations.

/// Parses a properties file into (key, value) pairs in file order; a later key replaces an
/// earlier one.
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let (k, v) = split(&logical);
        let (k, v) = (unescape(&k), unescape(&v));
        match out.iter_mut().find(|(ek, _)| *ek == k) {
            Some(e) => e.1 = v,
            None => out.push((k, v)),
        }
        logical.clear();
    }
    out
}

fn split(line: &str) -> (String, String) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => {
                return (
                    line[..i].trim_end().to_string(),
                    line[i + 1..].trim_start().to_string(),
                )
            }
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix(['=', ':'])
                    .map(str::trim_start)
                    .unwrap_or(rest);
                return (line[..i].to_string(), rest.to_string());
            }
            _ => {}
        }
    }
    (line.to_string(), String::new())
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&hex),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Writes pairs as a properties file.
pub fn render(pairs: &[(String, String)]) -> String {
    let esc = |s: &str, key: bool| {
        let mut o = String::new();
        for c in s.chars() {
            match c {
                '\\' => o.push_str("\\\\"),
                '\n' => o.push_str("\\n"),
                '\r' => o.push_str("\\r"),
                '\t' => o.push_str("\\t"),
                '=' | ':' | ' ' if key => {
                    o.push('\\');
                    o.push(c);
                }
                c => o.push(c),
            }
        }
        o
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}\n", esc(k, true), esc(v, false)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_forms() {
        let p = parse("# c\n! c\na=1\nb : 2\nc 3\nd=x\\\n  y\ne=\\u0041\\n\nf\n");
        let get = |k: &str| p.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
        assert_eq!(get("a"), Some("1"));
        assert_eq!(get("b"), Some("2"));
        assert_eq!(get("c"), Some("3"));
        assert_eq!(get("d"), Some("xy"));
        assert_eq!(get("e"), Some("A\n"));
        assert_eq!(get("f"), Some(""));
    }

    #[test]
    fn render_round_trips() {
        let pairs = vec![("a key".to_string(), "v=1\nnext".to_string())];
        assert_eq!(parse(&render(&pairs)), pairs);
    }
}
