//! `<rewrite>`: Synapse's URL rewrite mediator (`mediators/transform/url/URLRewriteMediator.java`).
//! The message's `To` address (or the property `inProperty`) is split into its parts; each
//! `<rewriterule>` whose `<condition>` holds (see [`super::condition`]) runs its `<action>`s in
//! order: `set`, `append`, `prepend`, `replace` (regex), `remove` or `remove-query-param` on one
//! part (`protocol`, `user`, `host`, `port`, `path`, `query`, `ref`) or the `full` URL, with a
//! `value` or an `xpath`; `resolve="true"` fills `{name}` from properties. The result becomes
//! the `To` address (a `<send/>` without an endpoint goes there) or the property `outProperty`.

use std::sync::Arc;

use regex::Regex;

use super::condition::{Condition, Subject, UrlPart};
use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::{Error, Result};
use crate::message::{Expr, MessageContext, Value};
use crate::synapse::model::Element;

#[derive(Debug, Clone)]
pub struct Rewrite {
    pub rules: Vec<Rule>,
    pub in_property: Option<String>,
    pub out_property: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub condition: Option<Condition>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub kind: Kind,
    /// The part of the URL the action changes; None: the whole URL (`fragment="full"`).
    pub part: Option<UrlPart>,
    pub value: Option<ActionValue>,
    pub resolve: bool,
}

#[derive(Debug, Clone)]
pub enum ActionValue {
    Literal(String),
    XPath(Arc<Expr>),
}

#[derive(Debug, Clone)]
pub enum Kind {
    Set,
    Append,
    Prepend,
    /// The regex, and the replacement in Rust's syntax.
    Replace(Regex),
    Remove,
    RemoveQueryParam,
}

/// A URL split as Java's `java.net.URI` splits it (RFC 2396): every part may be absent; the port
/// is absent rather than -1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UriParts {
    pub scheme: Option<String>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// None when empty (as Synapse's `URIFragments` keeps it).
    pub path: Option<String>,
    pub query: Option<String>,
    pub fragment: Option<String>,
}

impl UriParts {
    /// Splits `s` into its parts; what does not parse as a server authority is left in the path
    /// (as for a relative reference).
    pub fn parse(s: &str) -> UriParts {
        let mut u = UriParts::default();
        let mut rest = s;
        if let Some((frag_before, frag)) = rest.split_once('#') {
            u.fragment = Some(frag.to_string());
            rest = frag_before;
        }
        if let Some(colon) = rest.find(':') {
            let scheme = &rest[..colon];
            let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if valid {
                u.scheme = Some(scheme.to_string());
                rest = &rest[colon + 1..];
            }
        }
        if let Some((before, query)) = rest.split_once('?') {
            u.query = Some(query.to_string());
            rest = before;
        }
        if let Some(after) = rest.strip_prefix("//") {
            let end = after.find('/').unwrap_or(after.len());
            let (authority, path) = after.split_at(end);
            let (user, hostport) = match authority.rsplit_once('@') {
                Some((user, hp)) => (Some(user.to_string()), hp),
                None => (None, authority),
            };
            let (host, port) = match hostport.rfind(':') {
                Some(i) if !hostport[i..].contains(']') => (&hostport[..i], hostport[i + 1..].parse().ok()),
                _ => (hostport, None),
            };
            if !host.is_empty() {
                u.user = user;
                u.host = Some(host.to_string());
                u.port = port;
            }
            rest = path;
        }
        if !rest.is_empty() {
            u.path = Some(rest.to_string());
        }
        u
    }

    /// The URL again, as Java's seven-argument `URI` constructor writes it (`toASCIIString`):
    /// characters a URL cannot carry are percent-encoded.
    pub fn write(&self) -> Result<String> {
        let mut s = String::new();
        if let Some(scheme) = &self.scheme {
            s.push_str(scheme);
            s.push(':');
        }
        if let Some(host) = &self.host {
            s.push_str("//");
            if let Some(user) = &self.user {
                push_quoted(&mut s, user);
                s.push('@');
            }
            s.push_str(host);
            if let Some(port) = self.port {
                s.push(':');
                s.push_str(&port.to_string());
            }
        }
        if let Some(path) = &self.path {
            if self.scheme.is_some() && !path.starts_with('/') {
                return Err(Error::mediation(format!(
                    "Error while constructing a URI from the fragments: relative path '{path}' in an absolute URI"
                )));
            }
            push_quoted(&mut s, path);
        }
        if let Some(q) = &self.query {
            s.push('?');
            push_quoted(&mut s, q);
        }
        if let Some(f) = &self.fragment {
            s.push('#');
            push_quoted(&mut s, f);
        }
        Ok(s)
    }

    /// The text part `part` (the port is a number: None).
    fn get(&self, part: UrlPart) -> Option<&str> {
        match part {
            UrlPart::Protocol => self.scheme.as_deref(),
            UrlPart::User => self.user.as_deref(),
            UrlPart::Host => self.host.as_deref(),
            UrlPart::Path => self.path.as_deref(),
            UrlPart::Query => self.query.as_deref(),
            UrlPart::Ref => self.fragment.as_deref(),
            UrlPart::Port => None,
        }
    }

    fn set(&mut self, part: UrlPart, value: Option<String>) {
        let slot = match part {
            UrlPart::Protocol => &mut self.scheme,
            UrlPart::User => &mut self.user,
            UrlPart::Host => &mut self.host,
            UrlPart::Path => &mut self.path,
            UrlPart::Query => &mut self.query,
            UrlPart::Ref => &mut self.fragment,
            UrlPart::Port => return,
        };
        *slot = value;
    }
}

/// Percent-encodes what may not appear in a URL (spaces, controls, non-ASCII and `"<>\^`{|}`);
/// `%` stays, so an encoded URL is written as it came.
fn push_quoted(out: &mut String, s: &str) {
    for ch in s.chars() {
        if ch.is_ascii_graphic() && !"\"<>\\^`{|}".contains(ch) {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
}

/// A Java `replaceAll` replacement (`$1`, `\$`) in Rust's `regex` syntax (`${1}`, `$$`).
fn java_replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push('$');
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            other => out.push(other),
        }
    }
    out
}

impl Mediate for Rewrite {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut rules = Vec::new();
        for r in el.elements().filter(|e| e.local == "rewriterule") {
            let ro = super::at(r, at);
            let condition = match r.elements().find(|e| e.local == "condition") {
                Some(cond) => match cond.elements().next() {
                    Some(first) => Some(Condition::compile(c, first, &ro)?),
                    None => None,
                },
                None => None,
            };
            let mut actions = Vec::new();
            for a in r.elements().filter(|e| e.local == "action") {
                actions.push(compile_action(c, a, &super::at(a, &ro))?);
            }
            rules.push(Rule { condition, actions });
        }
        Some(Rewrite {
            rules,
            in_property: el.attr("inProperty").map(str::to_string),
            out_property: el.attr("outProperty").map(str::to_string),
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        // Boxed: rare, and it would otherwise enlarge every mediator's future.
        Box::pin(self.rewrite(rt, ctx)).await
    }
}

impl Rewrite {
    async fn rewrite(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        let input = match &self.in_property {
            Some(p) => ctx.props.get(p.as_str()).map(|v| v.as_str().to_owned()),
            // The request URI when nothing else addresses it, as Axis2 sets `To`.
            None => Some(match ctx.to_address().await {
                Some(to) => to,
                None => ctx.uri.to_string(),
            }),
        };
        let mut url = input.as_deref().map(UriParts::parse).unwrap_or_default();
        for rule in &self.rules {
            if let Some(cond) = &rule.condition {
                let text = url.write()?;
                if !cond.holds(rt, ctx, &Subject { url: &text }).await? {
                    continue;
                }
            }
            for a in &rule.actions {
                apply(rt, ctx, a, &mut url).await?;
            }
        }
        let out = url.write()?;
        match &self.out_property {
            Some(p) => {
                ctx.props.insert(p.clone().into(), out.into());
            }
            None => ctx.to = Some(out),
        }
        Ok(Flow::Continue)
    }
}

fn compile_action(c: &mut impl Compile, a: &Element, at: &Origin) -> Option<Action> {
    let kind_name = a.attr("type").unwrap_or("set");
    let value = match (a.attr("xpath"), a.attr("value")) {
        (Some(x), _) => Some(ActionValue::XPath(super::xpath(c, x, a, at)?)),
        (None, Some(v)) => Some(ActionValue::Literal(v.to_string())),
        (None, None) if kind_name == "remove" => None,
        (None, None) => {
            c.error(at, "value or xpath attribute is required on the action element");
            return None;
        }
    };
    let part = match a.attr("fragment").unwrap_or("full") {
        "full" => None,
        name => match UrlPart::from_name(name) {
            Some(p) => Some(p),
            None => {
                c.error(at, format!("Unknown URL fragment name: {name}"));
                return None;
            }
        },
    };
    let kind = match kind_name {
        "set" => Kind::Set,
        "append" => Kind::Append,
        "prepend" => Kind::Prepend,
        "replace" => {
            let Some(re) = a.attr("regex") else {
                c.error(at, "regex attribute is required for replace action");
                return None;
            };
            match Regex::new(re) {
                Ok(r) => Kind::Replace(r),
                Err(e) => {
                    c.error(at, format!("invalid regex '{re}': {e}"));
                    return None;
                }
            }
        }
        "remove" => Kind::Remove,
        "remove-query-param" if part == Some(UrlPart::Query) => Kind::RemoveQueryParam,
        "remove-query-param" => {
            c.error(at, "Action remove-query-param is only allowed for query fragment");
            return None;
        }
        other => {
            c.error(at, format!("Unknown URL rewrite action type: {other}"));
            return None;
        }
    };
    Some(Action {
        kind,
        part,
        value,
        resolve: a.attr("resolve").is_some_and(|r| r.eq_ignore_ascii_case("true")),
    })
}

/// `RewriteAction.execute` on the URL's parts.
async fn apply(
    rt: &impl Runtime,
    ctx: &mut MessageContext,
    a: &Action,
    url: &mut UriParts,
) -> Result<()> {
    let result = match &a.value {
        Some(ActionValue::Literal(v)) => Some(v.clone()),
        Some(ActionValue::XPath(x)) => Some(rt.eval(ctx, &Value::XPath(x.clone())).await?),
        None => None,
    };
    match a.part {
        // The whole URL: every part again (the action's type does not matter, as in Synapse).
        None => *url = UriParts::parse(result.as_deref().unwrap_or("")),
        Some(UrlPart::Port) => {
            url.port = match result {
                Some(r) => {
                    let n: i64 = r.trim().parse().map_err(|_| {
                        Error::mediation(format!("rewrite: the port '{r}' is not a number"))
                    })?;
                    u16::try_from(n).ok()
                }
                None => None,
            }
        }
        Some(part) => {
            let current = url.get(part).unwrap_or("").to_string();
            let query = part == UrlPart::Query && !current.is_empty();
            let value = match (&a.kind, result) {
                (Kind::Remove, _) => None,
                (Kind::Prepend, Some(r)) if query => Some(format!("{r}&{current}")),
                (Kind::Prepend, Some(r)) => Some(r + &current),
                (Kind::Append, Some(r)) if query => Some(format!("{current}&{r}")),
                (Kind::Append, Some(r)) => Some(current + &r),
                (Kind::Replace(re), Some(r)) => {
                    Some(re.replace_all(&current, java_replacement(&r)).into_owned())
                }
                (Kind::RemoveQueryParam, Some(r)) if !current.is_empty() => {
                    let mut params: Vec<&str> = current.split('&').collect();
                    let prefix = Regex::new(&format!("{r}=")).ok();
                    if let Some(i) = params
                        .iter()
                        .position(|p| prefix.as_ref().is_some_and(|re| re.is_match(p)))
                    {
                        params.remove(i);
                    }
                    Some(params.join("&"))
                }
                (Kind::Set, r) => r,
                (_, _) => Some(String::new()),
            };
            let value = match (a.resolve, value) {
                (true, Some(v)) => Some(resolve(ctx, v)),
                (_, v) => v,
            };
            url.set(part, value);
        }
    }
    Ok(())
}

/// `resolve="true"`: each `{name}` is replaced by the property `name`; a missing one empties the
/// part (Synapse logs it as an error).
fn resolve(ctx: &MessageContext, mut v: String) -> String {
    let names: Vec<String> = {
        let mut names = Vec::new();
        let mut rest = v.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find(['{', '}']) else {
                break;
            };
            if after.as_bytes()[close] == b'}' {
                names.push(after[..close].to_string());
            }
            rest = &after[close..];
        }
        names
    };
    for name in names {
        match ctx.props.get(name.as_str()).filter(|p| !p.is_empty()) {
            Some(p) => v = v.replace(&format!("{{{name}}}"), p),
            None => {
                tracing::error!(
                    "rewrite: path parameter '{name}' was not found in the provided URL postfix"
                );
                return String::new();
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::{java_replacement, UriParts};

    #[test]
    fn urls_split_and_join_as_java_uri_does() {
        for s in [
            "http://test.com:9000/services/SimpleStockQuoteService",
            "https://test.com",
            "http://u:p@h:1/a/b?x=1&y=2#top",
            "/services/Proxy?wsdl",
            "",
        ] {
            assert_eq!(UriParts::parse(s).write().unwrap(), s);
        }
        let u = UriParts::parse("http://localhost:9020");
        assert_eq!(
            (u.scheme.as_deref(), u.host.as_deref(), u.port, u.path),
            (Some("http"), Some("localhost"), Some(9020), None)
        );
        let mut u = UriParts::parse("http://h/a b");
        u.path = Some("/a b".into());
        assert_eq!(u.write().unwrap(), "http://h/a%20b");
        u.path = Some("rel".into());
        assert!(u.write().is_err());
    }

    #[test]
    fn java_replacements_become_rust_ones() {
        assert_eq!(java_replacement("x$1y"), "x${1}y");
        assert_eq!(java_replacement(r"\$5"), "$$5");
    }
}
