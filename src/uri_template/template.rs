//! Resource `uri-template` matching: `URITemplate.java` and `URITemplateParser.java` plus the node
//! classes `Literal`, `SimpleStringExpression`, `ReservedStringExpression`, `FragmentExpression`,
//! `LabelExpression`, `PathSegmentExpression` and `Variable` (wso2-synapse `modules/commons`).

use std::borrow::Cow;

use super::decode::{decode_java, DecodeError};
use super::{java_parse_int, java_split, java_split_count};

/// Characters that end a simple (`{var}`, `{.var}`, `{/var}`) capture: `SimpleStringExpression`'s
/// `reserved` set (the default, without `-Dsynapse.allow.subdelims=true`).
const SIMPLE_RESERVED: &[u8] = b":/?#[]@!$&'()*+,;=";

const fn reserved_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < SIMPLE_RESERVED.len() {
        t[SIMPLE_RESERVED[i] as usize] = true;
        i += 1;
    }
    t
}

static IS_RESERVED: [bool; 256] = reserved_table();

/// A compiled resource `uri-template`.
///
/// Semantics (Synapse's, including its quirks):
/// * The template's trailing `/` is dropped (twice: constructor and parser), except for `/`.
/// * The whole sub-path (query included) must be consumed, except that a template without `?` in
///   its literals also accepts a trailing `?…` (`allowOptionalQuery`), and a sub-path whose
///   unmatched rest ends with `/` may leave one extra character (so `/a/{x}` matches `/a/b/`).
/// * `{x}` captures up to the next reserved character (`:/?#[]@!$&'()*+,;=`) or the first
///   character of the following literal; `{+x}` and `{#x}` capture up to the following literal's
///   first character only (so they may contain `/`); `{.x}` and `{/x}` need that prefix character.
///   `{x,y}` splits the capture on `,` (`.` for labels, `/` for path segments); missing trailing
///   values capture as `""`. `{x:3}` only matches values of exactly three characters.
/// * A literal ending in `*` matches any rest (`/view/*`, `/pattern2*`); `{x}/*` and `{x}*` also
///   match when the path ends right after `{x}`.
/// * Query templates (`/search?q={q}&r={r}`) are plain literals and captures: parameters must
///   come in the template's order; an empty last value (`r=`) still matches; a missing `=`
///   (`…&r`) does not.
/// * Captured values are URL-decoded (`%XX`) with `+` kept as `+` (`Expression.decodeValue`
///   protects it as `%2B`); `+` is a stop character for `{x}`, so only `{+x}`/`{#x}` capture it.
#[derive(Debug, Clone)]
pub struct UriTemplate {
    source: Box<str>,
    nodes: Box<[Node]>,
    allow_optional_query: bool,
}

#[derive(Debug, Clone)]
enum Node {
    /// `star`: the token ends with `*` and matches any rest after the part before it.
    Literal {
        text: Box<str>,
        star: bool,
    },
    Expr {
        op: Op,
        vars: Box<[Var]>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Simple,
    Reserved,
    Fragment,
    Label,
    Path,
}

#[derive(Debug, Clone)]
struct Var {
    name: Box<str>,
    /// `{name:N}`: the captured value must be exactly N UTF-16 units long.
    prefix: Option<usize>,
}

impl Op {
    fn separator(self) -> u8 {
        match self {
            Op::Label => b'.',
            Op::Path => b'/',
            Op::Simple | Op::Reserved | Op::Fragment => b',',
        }
    }

    /// Reserved and fragment expressions override `isReserved` to accept everything.
    fn stops_at_reserved(self) -> bool {
        matches!(self, Op::Simple | Op::Label | Op::Path)
    }

    /// The character a fragment/label/path expression must start with.
    fn lead(self) -> Option<u8> {
        match self {
            Op::Fragment => Some(b'#'),
            Op::Label => Some(b'.'),
            Op::Path => Some(b'/'),
            Op::Simple | Op::Reserved => None,
        }
    }

    /// `getFirstCharacter()`, as seen by the node before this one.
    fn first_char(self) -> char {
        match self.lead() {
            Some(b) => b as char,
            None => '\u{1}',
        }
    }
}

impl Node {
    fn first_char(&self) -> char {
        match self {
            Node::Literal { text, .. } => text.chars().next().unwrap_or('\u{1}'),
            Node::Expr { op, .. } => op.first_char(),
        }
    }

    /// `next.getToken().equalsIgnoreCase("*")` or `"/*"`.
    fn is_star_token(&self) -> bool {
        matches!(self, Node::Literal { text, .. } if &**text == "*" || &**text == "/*")
    }
}

impl Var {
    fn parse(value: &str) -> Result<Var, String> {
        for (i, ch) in value.char_indices() {
            if ch == ':' {
                let prefix = java_parse_int(&value[i + 1..])
                    .ok_or_else(|| format!("Invalid variable prefix: '{}'", &value[i + 1..]))?;
                if prefix <= 0 {
                    return Err(format!("Invalid variable prefix: {prefix}"));
                }
                return Ok(Var {
                    name: value[..i].into(),
                    prefix: Some(prefix as usize),
                });
            }
            if !(ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_')) {
                return Err(format!("Invalid character: '{ch}' in expression"));
            }
        }
        Ok(Var {
            name: value.into(),
            prefix: None,
        })
    }

    fn check_modifier(&self, value: &str) -> bool {
        self.prefix
            .is_none_or(|p| value.encode_utf16().count() == p)
    }
}

impl UriTemplate {
    /// Compiles a `uri-template` the way `new URITemplate(template)` does; the error texts are
    /// `URITemplateException`'s (Synapse refuses to deploy such a resource).
    pub fn parse(template: &str) -> Result<UriTemplate, String> {
        // Both the URITemplate constructor and the parser drop one trailing '/'.
        let trimmed = drop_trailing_slash(drop_trailing_slash(template));
        let nodes = parse_nodes(trimmed)?;
        if nodes.is_empty() {
            return Err("Empty URI template".into());
        }
        let has_query = nodes
            .iter()
            .any(|n| matches!(n, Node::Literal { text, .. } if text.contains('?')));
        Ok(UriTemplate {
            source: template.into(),
            nodes: nodes.into(),
            allow_optional_query: !has_query,
        })
    }

    /// The template text as configured.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when a literal of the template contains `?` (then no optional query is accepted).
    pub fn has_query_template(&self) -> bool {
        !self.allow_optional_query
    }

    /// Matches `sub_path_with_query` (`REST_SUB_REQUEST_PATH`: the request path after the API
    /// context, `?query` included, `/` when empty) and appends the captured variables (names
    /// without the `uri.var.` prefix) to `vars`.
    ///
    /// Entries already in `vars` act as constraints, as Synapse's shared map does: a capture with
    /// the same name must have the same value. Pass an empty vector per resource, as
    /// `URITemplateBasedDispatcher` does. On a `false` result `vars` is left as it was.
    ///
    /// A malformed `%` escape in a captured value counts as no match here; see
    /// [`UriTemplate::try_matches`] for Synapse's real behaviour.
    pub fn matches(&self, sub_path_with_query: &str, vars: &mut Vec<(String, String)>) -> bool {
        self.try_matches(sub_path_with_query, vars).unwrap_or(false)
    }

    /// [`UriTemplate::matches`], reporting a malformed `%` escape in a captured value as an
    /// error: Synapse's `URLDecoder` throws there, and the exception aborts dispatch (the request
    /// fails instead of trying the next resource). `vars` is left as it was on `Ok(false)`/`Err`.
    pub fn try_matches(
        &self,
        sub_path_with_query: &str,
        vars: &mut Vec<(String, String)>,
    ) -> Result<bool, DecodeError> {
        let uri = sub_path_with_query;
        let mark = vars.len();
        let matched = match self.match_all(uri, vars) {
            // ESBJAVA-4260: without a query template, also accept an optional `?…`.
            Ok(len) => {
                len == uri.len() as isize
                    || (self.allow_optional_query
                        && len > 0
                        && uri.as_bytes().get(len as usize) == Some(&b'?'))
            }
            Err(e) => {
                vars.truncate(mark);
                return Err(e);
            }
        };
        if !matched {
            vars.truncate(mark);
        }
        Ok(matched)
    }

    /// `Node.matchAll`, unrolled. Returns the Java match length, including its arithmetic on
    /// failure (`prefix + (-1)`), which `try_matches` then inspects exactly as Java does.
    fn match_all(&self, uri: &str, vars: &mut Vec<(String, String)>) -> Result<isize, DecodeError> {
        let mut total = 0usize;
        for (i, node) in self.nodes.iter().enumerate() {
            let frag = &uri[total..];
            let next = self.nodes.get(i + 1);
            let m = match_node(node, frag, next.map(Node::first_char), vars)?;
            if m < 0 {
                return Ok(total as isize - 1);
            }
            let m = m as usize;
            if m < frag.len() {
                if next.is_some() {
                    total += m;
                    continue;
                }
                // More URI left but no node: Java still counts a trailing '/'.
                return Ok((total + m + usize::from(frag.ends_with('/'))) as isize);
            }
            if let Some(next) = next {
                if next.is_star_token() {
                    return Ok((total + m) as isize);
                }
                // An empty last query value (`…&floor=`): let the expression match "".
                if matches!(next, Node::Expr { .. }) && frag.contains('=') {
                    total += m;
                    continue;
                }
                // Everything matched but nodes are left.
                return Ok(total as isize - 1);
            }
            return Ok((total + m) as isize);
        }
        Ok(total as isize)
    }
}

fn drop_trailing_slash(t: &str) -> &str {
    if t != "/" && t.ends_with('/') {
        &t[..t.len() - 1]
    } else {
        t
    }
}

/// `URITemplateParser.parse`.
fn parse_nodes(t: &str) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    let max = t.chars().count().saturating_sub(1);
    let mut in_expr = false;
    let mut start = 0usize; // byte offset
    let mut prev: Option<char> = None;
    for (ci, (bi, ch)) in t.char_indices().enumerate() {
        match ch {
            '{' if in_expr => return Err("Already in expression".into()),
            '{' => {
                if ci + 1 >= max {
                    return Err("Illegal open brace character".into());
                }
                in_expr = true;
                if bi > start {
                    nodes.push(literal(&t[start..bi]));
                    start = bi + 1;
                } else if prev != Some('}') {
                    // Java: charAt(pointerIndex - 1) (out of bounds at index 0).
                    return Err("Illegal empty literal".into());
                } else {
                    start += 1;
                }
            }
            '}' if !in_expr => return Err("Illegal closing brace detected".into()),
            '}' => {
                in_expr = false;
                if bi > start {
                    nodes.push(expression(&t[start..bi])?);
                    start = bi + 1;
                } else {
                    return Err("Illegal empty expression".into());
                }
            }
            _ if ci == max => {
                let token = &t[start..];
                nodes.push(if in_expr {
                    expression(token)?
                } else {
                    literal(token)
                });
            }
            _ => {}
        }
        prev = Some(ch);
    }
    Ok(nodes)
}

fn literal(text: &str) -> Node {
    Node::Literal {
        text: text.into(),
        star: text.ends_with('*'),
    }
}

/// `URITemplateParser.createExpressionNode` + `Expression`'s variable list.
fn expression(token: &str) -> Result<Node, String> {
    let (op, rest) = match token.as_bytes().first() {
        Some(b'#') => (Op::Fragment, &token[1..]),
        Some(b'+') => (Op::Reserved, &token[1..]),
        Some(b'.') => (Op::Label, &token[1..]),
        Some(b'/') => (Op::Path, &token[1..]),
        Some(b';' | b'?' | b'&') => {
            return Err(format!("Unsupported template expression: {{{token}}}"))
        }
        Some(_) => (Op::Simple, token),
        None => return Err("Invalid template expression: {}".into()),
    };
    let mut vars = Vec::new();
    let mut start = 0;
    let last = rest.len().saturating_sub(1);
    for (i, b) in rest.bytes().enumerate() {
        if b == b',' {
            if start == i {
                return Err("Illegal variable reference with zero length".into());
            }
            vars.push(Var::parse(&rest[start..i])?);
            start = i + 1;
        } else if i == last && start < rest.len() {
            vars.push(Var::parse(&rest[start..])?);
        }
    }
    Ok(Node::Expr {
        op,
        vars: vars.into(),
    })
}

/// `Node.match` for one node; -1 is Java's "no match".
fn match_node(
    node: &Node,
    frag: &str,
    next_first: Option<char>,
    out: &mut Vec<(String, String)>,
) -> Result<isize, DecodeError> {
    match node {
        Node::Literal { text, star: false } => Ok(if frag.starts_with(&**text) {
            text.len() as isize
        } else {
            -1
        }),
        Node::Literal { text, star: true } => {
            let base = &text[..text.len() - 1];
            Ok(if frag.starts_with(base) {
                frag.len() as isize
            } else {
                -1
            })
        }
        Node::Expr { op, vars } => match op.lead() {
            None => capture(*op, vars, frag, next_first, out),
            // Label/path/fragment: `super.match(rest) + 1`, so a failed inner match (-1) gives 0.
            Some(lead) if frag.as_bytes().first() == Some(&lead) => {
                Ok(capture(*op, vars, &frag[1..], next_first, out)? + 1)
            }
            Some(_) => Ok(0),
        },
    }
}

/// `SimpleStringExpression.match`: scan to the first stop character.
fn capture(
    op: Op,
    vars: &[Var],
    frag: &str,
    next_first: Option<char>,
    out: &mut Vec<(String, String)>,
) -> Result<isize, DecodeError> {
    let bytes = frag.as_bytes();
    let len = bytes.len();
    let sep = op.separator();
    let multi = vars.len() > 1;
    let mut utf8 = [0u8; 4];
    let next = next_first.map(|c| (c, c.encode_utf8(&mut utf8).as_bytes()[0]));
    for (i, &b) in bytes.iter().enumerate() {
        let at_next = match next {
            Some((c, lead)) => b == lead && (c.is_ascii() || frag[i..].starts_with(c)),
            None => false,
        };
        if (op.stops_at_reserved() && IS_RESERVED[b as usize]) || at_next {
            if b == sep && multi {
                continue;
            }
            return Ok(if set_variables(op, vars, &frag[..i], out)? {
                i as isize
            } else {
                -1
            });
        }
        if i == len - 1 {
            return Ok(if set_variables(op, vars, frag, out)? {
                len as isize
            } else {
                -1
            });
        }
    }
    Ok(0)
}

/// `setVariables` of the simple and reserved expressions.
fn set_variables(
    op: Op,
    vars: &[Var],
    value: &str,
    out: &mut Vec<(String, String)>,
) -> Result<bool, DecodeError> {
    // `decodeValue` is `URLDecoder.decode(value.replaceAll("\\+", "%2B"))`: '+' stays '+'
    // (ParserTest: `{+word}` on `hello+world` gives `hello+world`).
    if matches!(op, Op::Reserved | Op::Fragment) && vars.len() == 1 {
        let v = decode_java(value, false)?;
        return Ok(put(out, &vars[0], v));
    }
    let sep = op.separator() as char;
    let count = java_split_count(value, sep);
    if count > vars.len() {
        return Ok(false);
    }
    for (var, part) in vars.iter().zip(java_split(value, sep)) {
        let v = decode_java(part, false)?;
        if !put(out, var, v) {
            return Ok(false);
        }
    }
    for var in &vars[count..] {
        if !put(out, var, Cow::Borrowed("")) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn put(out: &mut Vec<(String, String)>, var: &Var, value: Cow<'_, str>) -> bool {
    let existing = out.iter().find(|(n, _)| **n == *var.name);
    if let Some((_, v)) = existing {
        if **v != *value {
            return false;
        }
    }
    if !var.check_modifier(&value) {
        return false;
    }
    if existing.is_none() {
        out.push((var.name.to_string(), value.into_owned()));
    }
    true
}
