//! The parts of `java.net.URI` / `java.net.URL` that decide an HTTP endpoint's final address:
//! `new URI(String)`'s syntax check (RFC 2396 as Java implements it) and, for legacy templates,
//! `new URI(new URL(decoded).getProtocol(), …).toURL().toString()`.

use super::decode::{decode_java, DecodeError};

const MARK: &[u8] = b"-_.!~*'()";

fn unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || MARK.contains(&c)
}

/// `L_URIC`: reserved `;/?:@&=+$,[]` + unreserved.
fn uric(c: u8) -> bool {
    unreserved(c) || b";/?:@&=+$,[]".contains(&c)
}

/// `L_PATH`: pchar (`:@&=+$,` + unreserved) + `;/`.
fn path_char(c: u8) -> bool {
    unreserved(c) || b":@&=+$,;/".contains(&c)
}

/// `L_REG_NAME`.
fn reg_name(c: u8) -> bool {
    unreserved(c) || b"$,;:@&=+".contains(&c)
}

/// `L_SERVER` (userinfo, host, port characters).
fn server_char(c: u8) -> bool {
    unreserved(c) || b";:&=+$,@[]".contains(&c)
}

/// `L_USERINFO`.
fn userinfo_char(c: u8) -> bool {
    unreserved(c) || b";:&=+$,".contains(&c)
}

/// `Character.isSpaceChar`: Unicode Zs, Zl, Zp.
fn is_space_char(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// `Parser.checkChars` with a mask that includes escapes: ASCII from `allowed`, `%XX`, and any
/// visible non-ASCII character.
fn check_chars(s: &str, allowed: fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            if allowed(c) {
                i += 1;
            } else if c == b'%'
                && i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit()
            {
                i += 3;
            } else {
                return false;
            }
        } else {
            // `i` is at a char boundary: only whole characters are stepped over.
            let Some(ch) = s[i..].chars().next() else {
                return false;
            };
            if (ch as u32) <= 128 || is_space_char(ch) || ch.is_control() {
                return false;
            }
            i += ch.len_utf8();
        }
    }
    true
}

fn find_any(b: &[u8], from: usize, set: &[u8]) -> usize {
    b[from..]
        .iter()
        .position(|c| set.contains(c))
        .map_or(b.len(), |p| from + p)
}

/// Whether `new java.net.URI(s)` accepts `s`.
pub(super) fn is_valid_uri(s: &str) -> bool {
    let b = s.as_bytes();
    let n = b.len();
    // scan(0, n, "/?#", ":"): a ':' before any of "/?#" ends a scheme.
    let colon = b
        .iter()
        .position(|c| b"/?#:".contains(c))
        .filter(|&p| b[p] == b':');
    let end = match colon {
        Some(0) => return false, // "Expected scheme name"
        Some(p) => {
            if !b[0].is_ascii_alphabetic()
                || !b[1..p]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
            {
                return false;
            }
            if b.get(p + 1) == Some(&b'/') {
                match hierarchical(s, p + 1) {
                    Some(e) => e,
                    None => return false,
                }
            } else {
                // Opaque URI: a non-empty scheme-specific part.
                let q = find_any(b, p + 1, b"#");
                if q <= p + 1 || !check_chars(&s[p + 1..q], uric) {
                    return false;
                }
                q
            }
        }
        None => match hierarchical(s, 0) {
            Some(e) => e,
            None => return false,
        },
    };
    end >= n || (b[end] == b'#' && check_chars(&s[end + 1..], uric))
}

/// `Parser.parseHierarchical`: `[//authority] path [?query]`; returns where it stopped.
fn hierarchical(s: &str, start: usize) -> Option<usize> {
    let b = s.as_bytes();
    let n = b.len();
    let mut p = start;
    if b[p..].starts_with(b"//") {
        p += 2;
        let q = find_any(b, p, b"/?#");
        if q > p {
            if !authority_ok(&s[p..q]) {
                return None;
            }
            p = q;
        } else if q >= n {
            return None; // "Expected authority"
        }
    }
    let q = find_any(b, p, b"?#");
    if !check_chars(&s[p..q], path_char) {
        return None;
    }
    p = q;
    if p < n && b[p] == b'?' {
        let q = find_any(b, p + 1, b"#");
        if !check_chars(&s[p + 1..q], uric) {
            return None;
        }
        p = q;
    }
    Some(p)
}

/// `Parser.parseAuthority` without a required server authority: a registry name is always
/// acceptable; otherwise (brackets) it must parse as `[userinfo@][IPv6]:port`.
fn authority_ok(a: &str) -> bool {
    if check_chars(a, reg_name) {
        return true;
    }
    check_chars(a, server_char) && server_ok(a, true)
}

/// `Parser.parseServer`: `[userinfo@]host[:port]`; with `ipv6_only` the host must be a bracketed
/// IPv6 literal (the only server form a failed registry-name check can still take).
fn server_ok(a: &str, ipv6_only: bool) -> bool {
    let (userinfo, rest) = match a.find('@') {
        Some(i) => (&a[..i], &a[i + 1..]),
        None => ("", a),
    };
    if !check_chars(userinfo, userinfo_char) {
        return false;
    }
    let (host_ok, after) = if let Some(inner) = rest.strip_prefix('[') {
        match inner.find(']') {
            Some(close) => (ipv6_ok(&inner[..close]), &inner[close + 1..]),
            None => (false, ""),
        }
    } else if ipv6_only {
        (false, "")
    } else {
        let end = rest.find(':').unwrap_or(rest.len());
        (hostname_ok(&rest[..end]), &rest[end..])
    };
    host_ok
        && (after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|c| c.is_ascii_digit())))
}

fn ipv6_ok(s: &str) -> bool {
    s.contains(':')
        && s.bytes()
            .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
}

/// `parseIPv4Address` or `parseHostname` (the rightmost label of a dotted name must start with
/// a letter).
fn hostname_ok(h: &str) -> bool {
    let labels: Vec<&str> = h.strip_suffix('.').unwrap_or(h).split('.').collect();
    if labels.len() == 4
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 3
                && l.bytes().all(|c| c.is_ascii_digit())
                && l.parse::<u16>().is_ok_and(|v| v <= 255)
        })
    {
        return true;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.as_bytes()[0].is_ascii_alphanumeric()
            && !l.ends_with('-')
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    };
    labels.iter().all(label_ok)
        && (labels.len() == 1
            || labels
                .last()
                .is_some_and(|l| l.as_bytes()[0].is_ascii_alphabetic()))
}

/// `java.net.URI`'s multi-argument constructors' `quote`: ASCII outside `allowed` (always `%`)
/// and non-ASCII spaces/controls are percent-encoded (UTF-8, upper-case hex).
fn quote(s: &str, allowed: fn(u8) -> bool, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let esc = |byte: u8, out: &mut String| {
        out.push('%');
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0xF) as usize] as char);
    };
    for ch in s.chars() {
        if ch.is_ascii() {
            if allowed(ch as u8) {
                out.push(ch);
            } else {
                esc(ch as u8, out);
            }
        } else if is_space_char(ch) || ch.is_control() {
            let mut buf = [0u8; 4];
            for &byte in ch.encode_utf8(&mut buf).as_bytes() {
                esc(byte, out);
            }
        } else {
            out.push(ch);
        }
    }
}

/// Legacy HTTP endpoint address: `URLDecoder.decode(expanded)` (a malformed escape throws),
/// then `new URL(…)` and `new URI(protocol, userInfo, host, port, path, query, ref).toURL()`.
/// `Ok(None)` where Java falls back to the template (malformed URL or URI syntax). Only the
/// `http`, `https` and `ftp` handlers are modelled; other schemes fall back.
pub(super) fn legacy_url(expanded: &str) -> Result<Option<String>, DecodeError> {
    let decoded = decode_java(expanded, true)?;
    let spec = decoded.trim_matches(|c: char| c <= ' ');
    let Some(colon) = spec
        .find([':', '/'])
        .filter(|&i| spec.as_bytes()[i] == b':')
    else {
        return Ok(None); // no protocol
    };
    let protocol = spec[..colon].to_ascii_lowercase();
    if !matches!(protocol.as_str(), "http" | "https" | "ftp") {
        return Ok(None);
    }
    let mut rest = &spec[colon + 1..];
    let mut reference = None;
    if let Some(i) = rest.find('#') {
        reference = Some(&rest[i + 1..]);
        rest = &rest[..i];
    }
    let mut query = None;
    if let Some(i) = rest.find('?') {
        query = Some(&rest[i + 1..]);
        rest = &rest[..i];
    }
    let Some(after) = rest.strip_prefix("//") else {
        return Ok(None); // not modelled: an http URL without an authority
    };
    let slash = after.find('/').unwrap_or(after.len());
    let (authority, path) = (&after[..slash], &after[slash..]);
    let (userinfo, hostport) = match authority.find('@') {
        Some(i) if authority.rfind('@') == Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        Some(_) => return Ok(None),
        None => (None, authority),
    };
    let Some((host, port)) = split_port(hostport) else {
        return Ok(None); // MalformedURLException
    };
    let mut out = String::with_capacity(spec.len() + 16);
    out.push_str(&protocol);
    out.push(':');
    let mut authority_text = String::new();
    if let Some(ui) = userinfo {
        quote(ui, userinfo_char, &mut authority_text);
        authority_text.push('@');
    }
    let bracket = host.contains(':') && !host.starts_with('[') && !host.ends_with(']');
    if bracket {
        authority_text.push('[');
    }
    authority_text.push_str(host);
    if bracket {
        authority_text.push(']');
    }
    if let Some(p) = port {
        authority_text.push(':');
        authority_text.push_str(&p.to_string());
    }
    if !authority_text.is_empty() {
        if !server_ok(&authority_text, false) {
            return Ok(None); // URISyntaxException: the server authority is required here
        }
        out.push_str("//");
        out.push_str(&authority_text);
    }
    quote(path, path_char, &mut out);
    if let Some(q) = query {
        out.push('?');
        quote(q, uric, &mut out);
    }
    if let Some(r) = reference {
        out.push('#');
        quote(r, uric, &mut out);
    }
    Ok(Some(out))
}

/// `URLStreamHandler.parseURL`'s host/port split; `None` where `new URL` is malformed.
fn split_port(hostport: &str) -> Option<(&str, Option<u32>)> {
    let (host, port_text) = if hostport.starts_with('[') {
        let close = hostport.find(']')?;
        (&hostport[..=close], hostport[close + 1..].strip_prefix(':'))
    } else {
        match hostport.find(':') {
            Some(i) => (&hostport[..i], Some(&hostport[i + 1..])),
            None => (hostport, None),
        }
    };
    let port = match port_text {
        None | Some("") => None,
        Some(p) if p.bytes().all(|c| c.is_ascii_digit()) => Some(p.parse::<i32>().ok()? as u32),
        Some(_) => return None,
    };
    Some((host, port))
}
