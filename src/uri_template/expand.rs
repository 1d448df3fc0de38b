//! HTTP endpoint `uri-template` expansion: `HTTPEndpoint.processUrlTemplate` (wso2-synapse
//! `modules/core/.../endpoints/HTTPEndpoint.java`, `HTTPEndpointFactory.java`) on top of
//! damnhandy Handy-URI-Templates 2.1.6 (`UriTemplateParser`, `Expression`, `UriTemplate.expand`,
//! `UriUtil`, `Operator`).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use super::decode::decode_java;
use super::java_split;
use super::java_uri;

/// Prefix of a legacy template (`HTTPEndpoint.legacyPrefix`).
const LEGACY_PREFIX: &str = "legacy-encoding:";

/// Bytes `UriUtil.encode` escapes for `{x}`, `{.x}`, `{/x}`, `{;x}`, `{?x}`, `{&x}` (besides
/// bytes `<= 0x20` and every non-ASCII byte): all but ALPHA DIGIT `-._~` (and DEL).
const U_ESCAPES: &[u8] = b":/,?#[]@ %|\\`\"^!$&'()*+;=<>{}";
/// Bytes `UriUtil.encodeFragment` escapes for `{+x}` and `{#x}` (besides `<= 0x20` and non-ASCII);
/// existing `%XX` triplets are kept.
const UR_ESCAPES: &[u8] = b"<>%\"{}|\\^[]`";

const fn table(set: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        // Java compares the *signed* byte: `c <= 0x20` also catches every byte >= 0x80.
        t[i] = i <= 0x20 || i >= 0x80;
        i += 1;
    }
    let mut j = 0;
    while j < set.len() {
        t[set[j] as usize] = true;
        j += 1;
    }
    t
}

static U_TABLE: [bool; 256] = table(U_ESCAPES);
static UR_TABLE: [bool; 256] = table(UR_ESCAPES);

/// A compiled `<http uri-template="…">`.
///
/// Expansion follows Synapse exactly:
/// * Only variables named `uri.var.*` or `query.param.*` can be defined (Synapse fills the
///   template from those properties and the endpoint's `<property>` children); any other name
///   expands as undefined.
/// * RFC 6570 operators `{x}` `{+x}` `{#x}` `{.x}` `{/x}` `{;x}` `{?x}` `{&x}`, lists `{a,b}`,
///   prefixes `{x:3}`; an undefined variable expands to nothing (and an all-undefined expression
///   drops its operator prefix). `{x}` percent-encodes all but `A-Za-z0-9-._~`; `{+x}`/`{#x}` keep
///   reserved characters and existing `%XX` escapes.
/// * A template starting with `{` but not `{+` is expanded as `{+…` (so `{uri.var.url}` may
///   inject a whole URL); not in legacy mode.
/// * `legacy-encoding:` prefix: values are URL-decoded first, and the expanded URL is decoded and
///   re-encoded by `java.net.URL`/`URI` (approximated for the `http`, `https` and `ftp` schemes).
/// * When no such variable exists at all, or the result is not a valid `java.net.URI`, the
///   endpoint uses the (rewritten) template text itself: [`ExpandTemplate::template`].
#[derive(Debug, Clone)]
pub struct ExpandTemplate {
    source: Box<str>,
    legacy: bool,
    /// The template Synapse expands and falls back to: prefix stripped, `{` → `{+` rewrite done.
    effective: Box<str>,
    parts: Box<[Part]>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(Range<usize>),
    Expr(Expr),
}

#[derive(Debug, Clone)]
struct Expr {
    /// The `{…}` text in `effective` (what `replaceAll` looks for).
    raw: Range<usize>,
    op: XOp,
    specs: Box<[Spec]>,
}

#[derive(Debug, Clone)]
struct Spec {
    /// `getVariableName()`.
    name: Box<str>,
    /// `getValue()` (what `{;x}` prints for an empty value).
    value: Box<str>,
    /// `{x:N}`.
    prefix: Option<usize>,
    /// The name starts with `uri.var.` or `query.param.`.
    resolvable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum XOp {
    Nul,
    Reserved,
    Fragment,
    Label,
    Path,
    Matrix,
    Query,
    Continuation,
}

impl XOp {
    fn prefix(self) -> &'static str {
        match self {
            XOp::Nul | XOp::Reserved => "",
            XOp::Fragment => "#",
            XOp::Label => ".",
            XOp::Path => "/",
            XOp::Matrix => ";",
            XOp::Query => "?",
            XOp::Continuation => "&",
        }
    }

    fn separator(self) -> &'static str {
        match self {
            XOp::Nul | XOp::Reserved | XOp::Fragment => ",",
            XOp::Label => ".",
            XOp::Path => "/",
            XOp::Matrix => ";",
            XOp::Query | XOp::Continuation => "&",
        }
    }

    fn named(self) -> bool {
        matches!(self, XOp::Matrix | XOp::Query | XOp::Continuation)
    }

    fn keeps_reserved(self) -> bool {
        matches!(self, XOp::Reserved | XOp::Fragment)
    }
}

/// Where Synapse's expansion throws instead of producing a URL (the send then fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// Legacy mode: a variable value or the expanded URL has a malformed `%` escape.
    Encoding(String),
    /// A `{+x}`/`{#x}` value contains `$` not followed by `0`: `String.replaceAll` reads it as a
    /// regex group reference and throws.
    GroupReference(String),
    /// The expansion grew past [`MAX_EXPANDED`]: `$0` in values (the matched expression text)
    /// re-inserts expressions that later passes expand again, which grows exponentially with
    /// client-chosen values. Java would run out of memory; mint stops.
    TooLong,
}

/// The largest URL an expansion may produce (far beyond any real URL).
pub const MAX_EXPANDED: usize = 64 * 1024;

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpandError::Encoding(s) => write!(f, "cannot URL-decode '{s}'"),
            ExpandError::GroupReference(s) => {
                write!(f, "illegal group reference in expanded value '{s}'")
            }
            ExpandError::TooLong => write!(f, "the expanded URL exceeds {MAX_EXPANDED} bytes"),
        }
    }
}

impl std::error::Error for ExpandError {}

impl ExpandTemplate {
    /// Compiles an `<http uri-template>` attribute value (with its optional `legacy-encoding:`
    /// prefix). Errors are damnhandy's `MalformedUriTemplateException`s, which stop deployment.
    /// (A negative `{x:-1}` prefix is refused here; Synapse would fail on each send instead.)
    pub fn parse(uri_template: &str) -> Result<ExpandTemplate, String> {
        let (legacy, template) = match uri_template.strip_prefix(LEGACY_PREFIX) {
            Some(t) => (true, t),
            None => (false, uri_template),
        };
        // Deploy-time check of the configured template (HTTPEndpointFactory).
        scan(template)?;
        // Runtime rewrite: a leading `{x}` becomes `{+x}` (non-legacy only).
        let effective =
            if !legacy && template.starts_with('{') && template.as_bytes().get(1) != Some(&b'+') {
                format!("{{+{}", &template[1..])
            } else {
                template.to_string()
            };
        let parts = scan(&effective)?;
        Ok(ExpandTemplate {
            source: uri_template.into(),
            legacy,
            effective: effective.into(),
            parts: parts.into(),
        })
    }

    /// The attribute value as configured.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The template text Synapse falls back to (legacy prefix removed, leading `{x}` rewritten).
    pub fn template(&self) -> &str {
        &self.effective
    }

    /// Whether the template had the `legacy-encoding:` prefix.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The variable names the template refers to that can be defined (`uri.var.*`,
    /// `query.param.*`), in order, possibly repeated.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Expr(e) => Some(e.specs.iter().filter(|s| s.resolvable).map(|s| &*s.name)),
                Part::Literal(_) => None,
            })
            .flatten()
    }

    /// Expands with `lookup` resolving a full property name (`uri.var.category`,
    /// `query.param.q`) to its value, assuming at least one `uri.var.*`/`query.param.*` property
    /// exists (otherwise Synapse uses [`ExpandTemplate::template`] as is; see
    /// [`ExpandTemplate::expand_checked`]). Where Synapse would throw, returns the template text.
    pub fn expand(&self, lookup: &dyn Fn(&str) -> Option<String>) -> String {
        self.expand_checked(lookup, true)
            .unwrap_or_else(|_| self.effective.to_string())
    }

    /// Synapse's full algorithm. `any_variable` = the message context has at least one non-null
    /// property named `uri.var.*` or `query.param.*`, or the endpoint has such a `<property>`
    /// (Synapse checks the whole set, not only the template's variables); when false the
    /// template text is the URL. `Err` where Synapse throws. In legacy mode only the values the
    /// template refers to are decoded (Synapse decodes, and may throw on, every such property).
    pub fn expand_checked(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
        any_variable: bool,
    ) -> Result<String, ExpandError> {
        if !any_variable {
            return Ok(self.effective.to_string());
        }
        let mut replacements = Vec::new();
        for part in self.parts.iter() {
            if let Part::Expr(e) = part {
                replacements.push(self.replacement(e, lookup)?);
            }
        }
        let expanded = if replacements.iter().any(|r| r.contains('$')) {
            self.replace_all_sequentially(&replacements)?
        } else {
            // Replacements never contain `{`, so sequential replaceAll = one substitution pass.
            let mut out = String::with_capacity(self.effective.len() + 32);
            let mut reps = replacements.iter();
            for part in self.parts.iter() {
                match part {
                    Part::Literal(r) => out.push_str(&self.effective[r.clone()]),
                    Part::Expr(_) => out.push_str(reps.next().map_or("", String::as_str)),
                }
            }
            out
        };
        if self.legacy {
            return java_uri::legacy_url(&expanded)
                .map(|r| r.unwrap_or_else(|| self.effective.to_string()))
                .map_err(|_| ExpandError::Encoding(expanded.clone()));
        }
        // `new URI(expanded)`; a URISyntaxException falls back to the template.
        Ok(if java_uri::is_valid_uri(&expanded) {
            expanded
        } else {
            self.effective.to_string()
        })
    }

    /// `expressionReplacementString(expression, false)`.
    fn replacement(
        &self,
        e: &Expr,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, ExpandError> {
        let mut values: Vec<String> = Vec::with_capacity(e.specs.len());
        for spec in e.specs.iter() {
            let Some(value) = spec.resolvable.then(|| lookup(&spec.name)).flatten() else {
                continue;
            };
            let value = if self.legacy {
                decode_java(&value, true)
                    .map_err(|_| ExpandError::Encoding(value.clone()))?
                    .into_owned()
            } else {
                value
            };
            values.push(expand_value(e.op, spec, &value));
        }
        Ok(match join_parts(e.op.separator(), &values) {
            None => String::new(),
            Some(joined) if e.op == XOp::Reserved => joined,
            Some(joined) => format!("{}{joined}", e.op.prefix()),
        })
    }

    /// `UriTemplate.expand()` literally: `template = template.replaceAll(quote(raw), rep)` per
    /// expression, with Java's `$` handling in the replacement.
    fn replace_all_sequentially(&self, replacements: &[String]) -> Result<String, ExpandError> {
        let mut current = self.effective.to_string();
        let exprs = self.parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(e),
            Part::Literal(_) => None,
        });
        for (e, rep) in exprs.zip(replacements) {
            let raw = &self.effective[e.raw.clone()];
            let mut out = String::with_capacity(current.len());
            let mut last = 0;
            for (at, _) in current.match_indices(raw) {
                out.push_str(&current[last..at]);
                append_replacement(&mut out, rep, raw)?;
                last = at + raw.len();
                if out.len() > MAX_EXPANDED {
                    return Err(ExpandError::TooLong);
                }
            }
            out.push_str(&current[last..]);
            if out.len() > MAX_EXPANDED {
                return Err(ExpandError::TooLong);
            }
            current = out;
        }
        Ok(current)
    }
}

/// `Matcher.appendReplacement` with a pattern that has no groups: `$0` (and `$00…`) is the match,
/// any other `$` throws; `\x` is `x`.
fn append_replacement(out: &mut String, rep: &str, matched: &str) -> Result<(), ExpandError> {
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => out.push(n),
                None => return Err(ExpandError::GroupReference(rep.to_string())),
            },
            '$' => match chars.next() {
                Some('0') => {
                    while chars.peek() == Some(&'0') {
                        chars.next();
                    }
                    out.push_str(matched);
                }
                _ => return Err(ExpandError::GroupReference(rep.to_string())),
            },
            _ => out.push(c),
        }
    }
    Ok(())
}

/// `expandStringValue` for a string value.
fn expand_value(op: XOp, spec: &Spec, value: &str) -> String {
    let value = truncate_utf16(value, spec.prefix);
    let mut encoded = String::with_capacity(value.len() + 8);
    if op.keeps_reserved() {
        encode_fragment(&value, &mut encoded);
    } else {
        encode(&value, &U_TABLE, &mut encoded);
    }
    if !op.named() {
        encoded
    } else if encoded.is_empty() && op.separator() != "&" {
        spec.value.to_string()
    } else {
        format!("{}={encoded}", spec.name)
    }
}

/// `variable.substring(0, position)` when `position < variable.length()` (UTF-16 units; a split
/// surrogate pair becomes `?`, as `String.getBytes(UTF-8)` writes it).
fn truncate_utf16(value: &str, prefix: Option<usize>) -> Cow<'_, str> {
    let Some(max) = prefix else {
        return Cow::Borrowed(value);
    };
    let mut units = 0;
    for (i, c) in value.char_indices() {
        let w = c.len_utf16();
        if units + w > max {
            let mut s = value[..i].to_string();
            if units < max {
                s.push('?');
            }
            return Cow::Owned(s);
        }
        units += w;
    }
    Cow::Borrowed(value)
}

/// `joinParts(joiner, List)`: `None` for no parts, the part itself for one, else non-empty parts
/// each followed by the joiner unless last (so `["a", ""]` gives `a,` and `["", "b"]` gives `b`).
fn join_parts(joiner: &str, parts: &[String]) -> Option<String> {
    match parts {
        [] => None,
        [one] => Some(one.clone()),
        _ => {
            let mut out = String::new();
            for (i, p) in parts.iter().enumerate() {
                if !p.is_empty() {
                    out.push_str(p);
                    if i != parts.len() - 1 {
                        out.push_str(joiner);
                    }
                }
            }
            Some(out)
        }
    }
}

fn encode(value: &str, table: &[bool; 256], out: &mut String) {
    for &b in value.as_bytes() {
        push_byte(b, table, out);
    }
}

/// `UriUtil.encodeFragment`: `%XX` triplets already present are copied, the rest is encoded.
fn encode_fragment(value: &str, out: &mut String) {
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            out.push_str(&value[i..i + 3]);
            i += 3;
        } else {
            push_byte(b[i], &UR_TABLE, out);
            i += 1;
        }
    }
}

fn push_byte(b: u8, table: &[bool; 256], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if table[b as usize] {
        out.push('%');
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xF) as usize] as char);
    } else {
        out.push(b as char);
    }
}

/// `UriTemplateParser.scan` + `Expression.parseRawExpression`.
fn scan(t: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut expr_start: Option<usize> = None;
    let mut lit_start: Option<usize> = None;
    for (i, c) in t.char_indices() {
        match c {
            '{' => {
                if let Some(ls) = lit_start.take() {
                    parts.push(Part::Literal(ls..i));
                }
                if let Some(es) = expr_start {
                    return Err(format!(
                        "A new expression start brace found at {i} but another unclosed \
                         expression was found at {es}"
                    ));
                }
                expr_start = Some(i);
            }
            '}' => {
                let Some(es) = expr_start.take() else {
                    return Err(format!(
                        "Expression close brace was found at position {i} yet there was no \
                         start brace."
                    ));
                };
                parts.push(Part::Expr(expression(t, es..i + 1)?));
            }
            _ if expr_start.is_none() && lit_start.is_none() => lit_start = Some(i),
            _ => {}
        }
    }
    if let Some(es) = expr_start {
        return Err(format!(
            "The expression at position {es} was never terminated"
        ));
    }
    if let Some(ls) = lit_start {
        parts.push(Part::Literal(ls..t.len()));
    }
    Ok(parts)
}

fn expression(t: &str, raw: Range<usize>) -> Result<Expr, String> {
    let token = &t[raw.start + 1..raw.end - 1];
    let (op, rest) = match token.as_bytes().first() {
        None => return Err(format!("Empty expression at position {}", raw.start)),
        Some(b'+') => (XOp::Reserved, &token[1..]),
        Some(b'#') => (XOp::Fragment, &token[1..]),
        Some(b'.') => (XOp::Label, &token[1..]),
        Some(b'/') => (XOp::Path, &token[1..]),
        Some(b';') => (XOp::Matrix, &token[1..]),
        Some(b'?') => (XOp::Query, &token[1..]),
        Some(b'&') => (XOp::Continuation, &token[1..]),
        Some(b'!' | b'=') => return Err(format!("{} is not a valid operator.", &token[..1])),
        Some(_) => (XOp::Nul, token),
    };
    let mut specs = Vec::new();
    for varname in java_split(rest, ',') {
        let spec = match varname.find(':').filter(|&p| p > 0) {
            Some(p) => {
                let pos = super::java_parse_int(&varname[p + 1..]).ok_or_else(|| {
                    format!("The prefix value for {} was not a number", &varname[..p])
                })?;
                let pos = usize::try_from(pos)
                    .map_err(|_| format!("Negative prefix value for {}", &varname[..p]))?;
                Spec {
                    name: varname[..p].into(),
                    value: varname[..p].into(),
                    prefix: Some(pos),
                    resolvable: false,
                }
            }
            None if varname.rfind('*').is_some_and(|p| p > 0) => {
                // EXPLODE: the name is the value minus its last character.
                let cut = varname.char_indices().next_back().map_or(0, |(i, _)| i);
                Spec {
                    name: varname[..cut].into(),
                    value: varname.into(),
                    prefix: None,
                    resolvable: false,
                }
            }
            None => Spec {
                name: varname.into(),
                value: varname.into(),
                prefix: None,
                resolvable: false,
            },
        };
        let resolvable = spec.name.starts_with("uri.var.") || spec.name.starts_with("query.param.");
        specs.push(Spec { resolvable, ..spec });
    }
    Ok(Expr {
        raw,
        op,
        specs: specs.into(),
    })
}
