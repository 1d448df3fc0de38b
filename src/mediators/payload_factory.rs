//! `<payloadFactory>`: builds a new body from a template (`<format>`, inline or by key) with
//! `$n` replaced by the n-th `<arg>`, as XML, JSON or text. A SOAP message keeps its envelope and
//! headers: the payload replaces the body's content.

use std::sync::Arc;

use bytes::Bytes;

use super::edit::as_fragment;
use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::context::BodyType;
use crate::message::{MessageContext, SynapseExpr, Value};
use crate::synapse::model::Element;
use crate::xml::escape_text;
use crate::xml::soap::build_envelope;

#[derive(Debug, Clone)]
pub struct PayloadFactory {
    pub media: Media,
    /// The inline format, or a registry / local-entry key.
    pub format: Format,
    pub args: Vec<Arg>,
    /// MI 4.4's `${…}` placeholders of an inline format: each as written, and compiled.
    pub placeholders: Vec<(String, Arc<SynapseExpr>)>,
}

/// `media-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Xml,
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub enum Format {
    Inline(String),
    Key(String),
}

/// One `<arg>`.
#[derive(Debug, Clone)]
pub struct Arg {
    pub value: Value,
    /// `literal="true"`: XML-looking values are inserted as text, not as XML.
    pub literal: bool,
}

impl PayloadFactory {
    /// A `${…}` placeholder's value as MI's RegexTemplateProcessor writes it. What MI holds as
    /// JSON (`from_json`: a payload path, a path into a variable) is JSON-escaped wherever it
    /// goes, XML-escaped after that in an XML format; JSON objects and arrays go into XML with
    /// their strings still JSON-escaped. Plain strings (variables, properties, `xpath()`) go
    /// into a JSON string as they are (escape sequences in them stay escape sequences) unless
    /// they are XML, and XML made JSON has its texts read as JSON-escaped text.
    ///
    /// A bare string in a JSON format's value position (`{"a": ${payload.name}}`) is written
    /// unquoted by MI, and read back by gson's lenient parser as a string when it is one
    /// unquoted word: mint writes that string quoted, which is what MI's next reader sees
    /// (`in_string`: the placeholder is inside a string literal of the format).
    fn render(
        &self,
        v: &crate::synexpr::Val,
        from_json: bool,
        quoted: bool,
        in_string: bool,
        settings: &crate::json::JsonSettings,
    ) -> String {
        use crate::synexpr::Val;
        let text = v.text();
        let xml_to_json = |x: &str| match crate::json::xml_to_json(x.as_bytes(), settings) {
            Ok(j) => match crate::json::parse(j.as_bytes()) {
                Ok(mut v) => {
                    map_strings(&mut v, &json_unescape);
                    crate::json::to_compact_string(&v)
                }
                Err(_) => j,
            },
            Err(_) => x.to_string(),
        };
        match self.media {
            Media::Text => text.into_owned(),
            Media::Json => match v {
                Val::Str(s) if from_json => {
                    let escaped = json_escape(s);
                    if !quoted && !in_string && lenient_word(&escaped) {
                        json_quote(s)
                    } else {
                        escaped
                    }
                }
                Val::Str(s) | Val::Xml(s) if quoted => {
                    if as_fragment(s).is_some() {
                        json_escape(s)
                    } else {
                        json_as_escaped(s)
                    }
                }
                _ if quoted => json_escape(&text),
                Val::Xml(x) => xml_to_json(x),
                Val::Str(s) if as_fragment(s).is_some() => xml_to_json(s),
                Val::Str(s) if !in_string && lenient_word(s) => json_quote(s),
                _ => text.into_owned(),
            },
            Media::Xml => match v {
                Val::Str(s) if from_json => escape_text(&json_escape(s)).into_owned(),
                _ if quoted => escape_text(&text).into_owned(),
                Val::Json(j) => {
                    let mut j = j.clone();
                    map_strings(&mut j, &|s| json_escape(s));
                    let json = crate::json::to_compact_string(&j);
                    match crate::json::json_to_xml(json.as_bytes(), settings) {
                        Ok(xml) => xml
                            .strip_prefix("<jsonObject>")
                            .and_then(|x| x.strip_suffix("</jsonObject>"))
                            .map(str::to_string)
                            .unwrap_or(xml),
                        Err(_) => escape_text(&json).into_owned(),
                    }
                }
                Val::Xml(x) => x.clone(),
                Val::Str(s) if as_fragment(s).is_some() => s.clone(),
                _ => escape_text(&text).into_owned(),
            },
        }
    }
}

/// Applies `f` to every string in `v` (object keys excepted).
fn map_strings(v: &mut serde_json::Value, f: &dyn Fn(&str) -> String) {
    match v {
        serde_json::Value::String(s) => *s = f(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| map_strings(i, f)),
        serde_json::Value::Object(m) => m.values_mut().for_each(|i| map_strings(i, f)),
        _ => {}
    }
}

/// Text taken as the inside of a JSON string literal, as MI inserts a plain string between a
/// format's quotes: its escape sequences stay escape sequences. What would not be valid JSON
/// there (a bare quote, a control character, a backslash before something that is not an
/// escape) is escaped, where MI would write invalid JSON.
fn json_as_escaped(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u') => {
                    o.push('\\');
                    o.push(chars.next().unwrap_or_default());
                }
                _ => o.push_str("\\\\"),
            },
            '"' => o.push_str("\\\""),
            c if (c as u32) < 0x20 => o.push_str(&json_escape(&c.to_string())),
            c => o.push(c),
        }
    }
    o
}

/// The JSON escape sequences in `s` read as what they stand for (`\n` → a newline, `\\` → one
/// backslash); anything else as it is.
fn json_unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut o = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            o.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some(e @ ('"' | '\\' | '/')) => {
                chars.next();
                o.push(e);
            }
            Some('b') => {
                chars.next();
                o.push('\u{8}');
            }
            Some('f') => {
                chars.next();
                o.push('\u{c}');
            }
            Some('n') => {
                chars.next();
                o.push('\n');
            }
            Some('r') => {
                chars.next();
                o.push('\r');
            }
            Some('t') => {
                chars.next();
                o.push('\t');
            }
            _ => o.push('\\'),
        }
    }
    o
}

impl Mediate for PayloadFactory {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let media = match el.attr("media-type").unwrap_or("xml") {
            "xml" => Media::Xml,
            "json" => Media::Json,
            "text" => Media::Text,
            other => {
                c.error(at, format!("unknown payloadFactory media-type '{other}'"));
                return None;
            }
        };
        if el
            .attr("template-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("freemarker"))
        {
            c.warn(at, "FreeMarker payload templates are not supported yet");
        }
        let Some(format_el) = el.elements().find(|c| c.local == "format") else {
            c.error(at, "payloadFactory has no <format>");
            return None;
        };
        let format = match format_el.attr("key") {
            Some(key) => {
                let key = key.trim().to_string();
                match super::local_text(c, &key) {
                    Some(text) => Format::Inline(text),
                    None => Format::Key(key),
                }
            }
            None => Format::Inline(match media {
                Media::Xml => match format_el.elements().next() {
                    Some(first) => super::strip_indentation(
                        &super::edit::without_empty_default_ns(&super::format_xml_with_default_ns(first)),
                    ),
                    None => format_el.text(),
                },
                _ => format_el.text().trim().to_string(),
            }),
        };
        let mut args = Vec::new();
        if let Some(args_el) = el.elements().find(|c| c.local == "args") {
            for a in args_el.elements().filter(|c| c.local == "arg") {
                let ao = super::at(a, at);
                let json = a.attr("evaluator").is_some_and(|e| e == "json");
                let value = match (a.attr("value"), a.attr("expression")) {
                    (Some(v), _) => Value::Literal(v.to_string()),
                    (None, Some(x)) if json && !x.trim().starts_with("json-eval(") => {
                        super::json_path(c, x, &ao)
                    }
                    (None, Some(x)) => super::expression(c, x, a, &ao),
                    (None, None) => {
                        c.error(&ao, "arg needs value or expression");
                        Value::Literal(String::new())
                    }
                };
                args.push(Arg {
                    value,
                    literal: a.attr("literal").is_some_and(|l| l.trim() == "true"),
                });
            }
        }
        let mut placeholders = Vec::new();
        if let Format::Inline(text) = &format {
            let mut rest = text.as_str();
            while let Some(i) = rest.find("${") {
                let Some(end) = rest[i + 2..].find('}') else {
                    break;
                };
                let whole = &rest[i..i + 3 + end];
                let inner = &rest[i + 2..i + 2 + end];
                if !inner.trim().is_empty() && !placeholders.iter().any(|(w, _)| w == whole) {
                    match crate::synexpr::Expression::compile(inner, &format_el.ns_scope) {
                        Ok(e) => placeholders
                            .push((whole.to_string(), super::adopt_expression(c, e, at))),
                        Err(e) => {
                            c.error(
                                at,
                                format!(
                                    "Invalid Payload format : '{whole}' at offset {}: {}",
                                    e.offset, e.message
                                ),
                            );
                            return None;
                        }
                    }
                }
                rest = &rest[i + 3 + end..];
            }
        }
        Some(PayloadFactory {
            media,
            format,
            args,
            placeholders,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let format = match &self.format {
            Format::Inline(f) => f.clone(),
            Format::Key(k) => match rt.registry().lookup(k).await? {
                Some(r) => r.text().into_owned(),
                None => {
                    return Err(Error::mediation(format!(
                        "payloadFactory format '{k}' not found in the registry"
                    )))
                }
            },
        };
        let mut values = Vec::with_capacity(self.args.len());
        for a in &self.args {
            let v = rt.eval(ctx, &a.value).await?;
            values.push((v, a.literal));
        }
        // Each placeholder once per message (MI caches them per mediation).
        let mut filled = Vec::with_capacity(self.placeholders.len());
        for (whole, e) in &self.placeholders {
            let value = Value::Synapse(e.clone());
            let v = if whole.contains("xpath(") {
                crate::synexpr::Val::Str(rt.eval(ctx, &value).await?)
            } else {
                rt.eval_object(ctx, &value).await?
            };
            filled.push(v);
        }
        let mut out = String::with_capacity(format.len() + 64);
        let mut rest = format.as_str();
        // Whether the format is inside a JSON string at `out`'s end (the format's own text,
        // scanned up to `scanned`; the values written are whole strings or whole values).
        let (mut in_string, mut scanned) = (false, 0);
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            if let Some(k) = self
                .placeholders
                .iter()
                .position(|(w, _)| rest[i..].starts_with(w.as_str()))
            {
                let after = &rest[i + self.placeholders[k].0.len()..];
                let quoted = out.ends_with('"') && after.starts_with('"');
                if self.media == Media::Json {
                    in_string = json_string_state(&out.as_bytes()[scanned..], in_string);
                }
                let from_json = self.placeholders[k].1.expr.yields_json();
                out.push_str(&self.render(&filled[k], from_json, quoted, in_string, rt.json()));
                scanned = out.len();
                rest = after;
                continue;
            }
            let after = &rest[i + 1..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            let n: usize = after[..digits].parse().unwrap_or(0);
            match values.get(n.wrapping_sub(1)) {
                Some((v, literal)) => match self.media {
                    Media::Xml if !*literal && as_fragment(v).is_some() => out.push_str(v),
                    Media::Xml => out.push_str(&escape_text(v)),
                    Media::Json => {
                        let quoted = out.ends_with('"') && after[digits..].starts_with('"');
                        // An XML value becomes JSON; JSON objects and arrays go in raw (replacing
                        // the template's quotes); strings are escaped.
                        let raw = if !*literal && as_fragment(v).is_some() {
                            crate::json::xml_to_json(v.as_bytes(), rt.json()).ok()
                        } else if !*literal
                            && (v.trim_start().starts_with('{') || v.trim_start().starts_with('['))
                            && crate::json::parse(v.as_bytes()).is_ok()
                        {
                            Some(v.trim().to_string())
                        } else {
                            None
                        };
                        match raw {
                            Some(j) if quoted => {
                                out.pop();
                                out.push_str(&j);
                                rest = &after[digits + 1..];
                                continue;
                            }
                            Some(j) => out.push_str(&j),
                            None if quoted => out.push_str(&json_escape(v)),
                            None => out.push_str(v),
                        }
                    }
                    Media::Text => out.push_str(v),
                },
                None => out.push_str(&rest[i..i + 1 + digits]),
            }
            rest = &after[digits..];
        }
        out.push_str(rest);
        if self.media == Media::Xml {
            out = collapse_empty_elements(&out);
        }
        match self.media {
            Media::Xml => {
                // A SOAP message keeps its envelope (and headers): the payload replaces the body.
                let current = ctx.axis2.get("messageType").cloned().unwrap_or_default();
                let soap = current.contains("text/xml") || current.contains("soap+xml");
                let doc = if soap {
                    ctx.optional_document().await?
                } else {
                    None
                };
                match doc.as_ref().and_then(|d| d.soap_version().map(|v| (d, v))) {
                    Some((d, v)) => {
                        let header = d.soap_header_content();
                        let body = build_envelope(v, header.as_deref(), out.as_bytes());
                        ctx.set_content(body, None);
                    }
                    None => {
                        let ct = if current.contains("xml") {
                            None
                        } else {
                            Some("application/xml")
                        };
                        ctx.set_content(Bytes::from(out), ct);
                    }
                }
            }
            Media::Json => {
                ctx.set_content_typed(Bytes::from(out), Some("application/json"), BodyType::Json)
            }
            Media::Text => {
                ctx.set_content_typed(Bytes::from(out), Some("text/plain"), BodyType::Other)
            }
        }
        Ok(Flow::Continue)
    }
}

/// Whether JSON text that starts inside a string (`in_string`) ends inside one.
fn json_string_state(text: &[u8], mut in_string: bool) -> bool {
    let mut escaped = false;
    for &b in text {
        if escaped {
            escaped = false;
        } else if in_string && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            in_string = !in_string;
        }
    }
    in_string
}

/// Whether gson's lenient reader takes `s`, written bare as a JSON value, as one unquoted string:
/// one word without JSON's or gson's delimiters that is not a number or a keyword.
fn lenient_word(s: &str) -> bool {
    !s.is_empty()
        && !s.bytes().any(|b| {
            b.is_ascii_whitespace()
                || b"{}[]:,;#=/\\\"'".contains(&b)
                || b == 0x0c
        })
        && !matches!(s, "true" | "false" | "null")
        && crate::json::parse(s.as_bytes()).is_err()
}

/// `s` as a JSON string literal.
fn json_quote(s: &str) -> String {
    format!("\"{}\"", json_escape(s))
}

/// `<a x="1"></a>` → `<a x="1"/>`: empty elements written the way WSO2's serializer does.
fn collapse_empty_elements(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find("></") {
        let (before, after) = rest.split_at(i);
        let start = before.rfind('<');
        let collapsed = start.and_then(|st| {
            let tag = &before[st + 1..];
            if tag.starts_with(['/', '?', '!']) || tag.ends_with('/') {
                return None;
            }
            let name = tag.split(|c: char| c.is_whitespace()).next()?;
            let close = format!("></{name}>");
            after.starts_with(&close).then_some(close.len())
        });
        match collapsed {
            Some(close_len) => {
                out.push_str(before);
                out.push_str("/>");
                rest = &after[close_len..];
            }
            None => {
                out.push_str(before);
                out.push_str("></");
                rest = &after[3..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn json_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_elements_collapse() {
        assert_eq!(
            collapse_empty_elements("<m:a x=\"1\"></m:a><b>t</b><c></c>"),
            "<m:a x=\"1\"/><b>t</b><c/>"
        );
        assert_eq!(collapse_empty_elements("<a><b></c>"), "<a><b></c>");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_escape("a\"b\\\n"), "a\\\"b\\\\\\n");
    }

    #[test]
    fn plain_strings_keep_their_escape_sequences_inside_a_json_string() {
        assert_eq!(json_as_escaped(r"123\n456"), r"123\n456");
        assert_eq!(json_as_escaped(r#"say "hi""#), r#"say \"hi\""#);
        assert_eq!(json_as_escaped(r"a\d"), r"a\\d");
        assert_eq!(json_as_escaped("tab\there"), r"tab\there");
    }

    #[test]
    fn json_escapes_read_back() {
        assert_eq!(json_unescape(r"emily\\ntini"), r"emily\ntini");
        assert_eq!(json_unescape(r"a\nb"), "a\nb");
        assert_eq!(json_unescape(r"a\qb"), r"a\qb");
        assert_eq!(json_unescape("plain"), "plain");
    }

    #[test]
    fn gson_lenient_words_and_json_string_state() {
        assert!(lenient_word("apple"));
        assert!(lenient_word("0042"));
        for not in ["42", "true", "null", "two words", "a:b", "", r"a\n"] {
            assert!(!lenient_word(not), "{not}");
        }
        assert!(json_string_state(b"{\"a\": \"x", false));
        assert!(json_string_state(b"{\"a\": \"x\\\"y", false));
        assert!(!json_string_state(b"x\", \"b\": 1, ", true));
        assert!(!json_string_state(b"{\"a\": 1, ", false));
    }
}
