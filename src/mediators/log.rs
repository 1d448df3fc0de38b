//! The log mediator: one line per message, in WSO2's layout (`To: …, MessageID: …, Direction: …`,
//! then the properties), written through `tracing` under the target `mint::log_mediator` at the
//! mediator's category.
//!
//! Header dumps (`level="headers"` and `"full"`) mask credentials: the values of `Authorization`,
//! `Proxy-Authorization`, `Cookie`, `Set-Cookie` and of every header whose name says it carries a
//! secret (see `is_credential_header`) are written as `*****` (an authorization scheme is
//! kept: `Basic *****`). Custom `<property>` values are written as the configuration asks, even
//! when they read a credential header: naming a value to log is the operator's choice. Control
//! characters (CR, LF, …) from message data cannot split or forge log lines: the subscriber
//! escapes them in every line it writes (`telemetry`).

use std::fmt::Write as _;

use super::{Compile, Flow, Mediate, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::context::BodyType;
use crate::message::{MessageContext, Value};
use crate::synapse::model::Element;
use crate::synapse::parse::is_synapse;

#[derive(Debug, Clone)]
pub struct Log {
    pub level: Level,
    pub category: Category,
    /// Between the fields of the line; default `, ` (Synapse's `DEFAULT_SEP`).
    pub separator: String,
    pub props: Vec<(String, Value)>,
    /// MI 4.4's `<message>` template: literal pieces with an expression between each two.
    pub message: Option<(Vec<String>, Vec<Value>)>,
}

/// What a `log` mediator writes besides its properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// To, From, WSAction, SOAPAction, ReplyTo, MessageID, Direction.
    Simple,
    /// Simple plus the transport headers.
    Headers,
    /// Headers plus the envelope.
    Full,
    /// Only the properties.
    Custom,
}

/// The log level a `log` mediator writes at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Mediate for Log {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        let mut r = c.reader(&at.file);
        let message_given = el.elements().any(|c| is_synapse(c, "message"));
        let level = match r.choice_attr(el, "level", &["simple", "headers", "full", "custom"]) {
            // A message template without a level logs the message and the properties only.
            None if message_given => Level::Custom,
            Some("headers") => Level::Headers,
            Some("full") => Level::Full,
            Some("custom") => Level::Custom,
            _ => Level::Simple,
        };
        let categories = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
        let category = match r.choice_attr(el, "category", &categories) {
            Some("TRACE") => Category::Trace,
            Some("DEBUG") => Category::Debug,
            Some("WARN") => Category::Warn,
            Some("ERROR") => Category::Error,
            Some("FATAL") => Category::Fatal,
            _ => Category::Info,
        };
        // Synapse's LogMediator.DEFAULT_SEP.
        let separator = el.attr("separator").unwrap_or(", ").to_string();
        let mut message = None;
        let mut specs = Vec::new();
        for child in el.elements() {
            if is_synapse(child, "message") {
                message = Some(child);
            } else if is_synapse(child, "property") {
                let Some(name) = r.required(child, "name") else {
                    continue;
                };
                let what = format!("log property '{name}'");
                if let Some(value) = r.required_value(child, &what) {
                    specs.push((name.to_string(), value, super::at(child, at)));
                }
            } else if !is_synapse(child, "description") {
                r.unknown_child(child, "log");
            }
        }
        let message = match message {
            None => None,
            Some(m) => {
                let mat = super::at(m, at);
                // The two-character sequences \n and \t are a newline and a tab, as in MI.
                let text = m.text().replace("\\n", "\n").replace("\\t", "\t");
                match crate::synexpr::Template::compile(&text, &m.ns_scope) {
                    Ok(t) => {
                        let exprs = t
                            .exprs
                            .into_iter()
                            .map(|e| Value::Synapse(super::adopt_expression(c, e, &mat)))
                            .collect();
                        Some((t.pieces, exprs))
                    }
                    Err(e) => {
                        c.error(
                            &mat,
                            format!(
                                "Invalid message template : {text}: at offset {}: {}",
                                e.offset, e.message
                            ),
                        );
                        return None;
                    }
                }
            }
        };
        let props = specs
            .into_iter()
            .map(|(name, spec, p_at)| (name, super::value(c, &spec, &p_at)))
            .collect();
        Some(Log {
            level,
            category,
            separator,
            props,
            message,
        })
    }

    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        log(rt, ctx, self).await?;
        Ok(Flow::Continue)
    }
}

async fn log(rt: &impl Runtime, ctx: &mut MessageContext, m: &Log) -> Result<()> {
    let (level, category, separator) = (m.level, m.category, m.separator.as_str());
    let mut line = String::with_capacity(128);
    let mut first = true;
    if let Some((pieces, exprs)) = &m.message {
        for (i, piece) in pieces.iter().enumerate() {
            line.push_str(piece);
            if let Some(e) = exprs.get(i) {
                let v = rt.eval(ctx, e).await?;
                line.push_str(&v);
            }
        }
        first = false;
    }
    let mut field = |line: &mut String, k: &str, v: &str| {
        if !first {
            line.push_str(separator);
        }
        first = false;
        let _ = write!(line, "{k}: {v}");
    };
    if level != Level::Custom {
        let to = ctx.to.clone().unwrap_or_else(|| ctx.uri.path().to_string());
        field(&mut line, "To", &to);
        if let Some(a) = &ctx.action {
            field(&mut line, "WSAction", a);
            field(&mut line, "SOAPAction", a);
        }
        field(
            &mut line,
            "Direction",
            if ctx.is_response {
                "response"
            } else {
                "request"
            },
        );
    }
    if matches!(level, Level::Headers | Level::Full) {
        for (k, v) in ctx.headers.iter() {
            let value = v.to_str().unwrap_or("<binary>");
            if is_credential_header(k.as_str()) {
                field(&mut line, k.as_str(), &masked(k.as_str(), value));
            } else {
                field(&mut line, k.as_str(), value);
            }
        }
    }
    for (name, value) in &m.props {
        let v = rt.eval(ctx, value).await?;
        // Custom properties read `name = value`, as WSO2 prints them.
        if !first {
            line.push_str(separator);
        }
        first = false;
        let _ = write!(line, "{name} = {v}");
    }
    if level == Level::Full {
        // Synapse logs the envelope, which builds the message: a body that does not parse
        // faults here (its fault sequence runs), as it does in MI.
        let empty = matches!(ctx.body, crate::http::body::Body::Empty);
        if ctx.body_type == BodyType::Xml && !empty {
            // Boxed: rare, and it would otherwise enlarge every mediator's future.
            Box::pin(ctx.document()).await?;
        }
        let body = ctx.body_bytes().await?;
        if ctx.body_type == BodyType::Json && !body.iter().all(u8::is_ascii_whitespace) {
            // (A JSON scalar, as foreach makes of an array's items, is a payload MI logs.)
            if let Err(e) = crate::json::parse(&body) {
                return Err(ctx.bad_content(format!("the message is not valid JSON: {e}")));
            }
        }
        let text = String::from_utf8_lossy(&body);
        if !first {
            line.push_str(separator);
        }
        let _ = write!(line, "Envelope: {}", text.trim());
    }
    match category {
        Category::Trace => tracing::trace!(target: "mint::log_mediator", "{line}"),
        Category::Debug => tracing::debug!(target: "mint::log_mediator", "{line}"),
        Category::Info => tracing::info!(target: "mint::log_mediator", "{line}"),
        Category::Warn => tracing::warn!(target: "mint::log_mediator", "{line}"),
        Category::Error | Category::Fatal => {
            tracing::error!(target: "mint::log_mediator", "{line}")
        }
    }
    Ok(())
}

/// Whether a header's value is a credential a header dump must not show: the standard ones, and
/// any name containing `auth`, `token`, `secret`, `passw`, `cookie`, `credential`, `session`,
/// `jwt` or an API-key spelling (`apikey`, `api-key`, `api_key`: WSO2 API Manager's `apikey`,
/// `Internal-Key`, `X-JWT-Assertion` included). Takes a lower-case name, as `HeaderName` gives.
fn is_credential_header(name: &str) -> bool {
    const EXACT: [&str; 1] = ["internal-key"];
    const PARTS: [&str; 11] = [
        "auth",
        "token",
        "secret",
        "passw",
        "cookie",
        "credential",
        "session",
        "jwt",
        "apikey",
        "api-key",
        "api_key",
    ];
    EXACT.contains(&name) || PARTS.iter().any(|p| name.contains(p))
}

/// `*****`; an `Authorization`-style value keeps its scheme (`Bearer *****`).
fn masked(name: &str, value: &str) -> String {
    if name.ends_with("authorization") {
        if let Some((scheme, _)) = value.trim_start().split_once(' ') {
            if !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return format!("{scheme} *****");
            }
        }
    }
    "*****".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_are_recognised() {
        for h in [
            "authorization",
            "proxy-authorization",
            "cookie",
            "set-cookie",
            "apikey",
            "x-api-key",
            "internal-key",
            "x-jwt-assertion",
            "x-auth-token",
            "x-client-secret",
            "jsessionid",
        ] {
            assert!(is_credential_header(h), "{h}");
        }
        for h in [
            "content-type",
            "host",
            "soapaction",
            "accept",
            "x-request-id",
        ] {
            assert!(!is_credential_header(h), "{h}");
        }
    }

    #[test]
    fn masking_keeps_only_the_scheme() {
        assert_eq!(masked("authorization", "Basic dXNlcjpwYXNz"), "Basic *****");
        assert_eq!(
            masked("proxy-authorization", "Bearer a.b.c"),
            "Bearer *****"
        );
        assert_eq!(masked("authorization", "dXNlcjpwYXNz"), "*****");
        assert_eq!(masked("cookie", "sid abc"), "*****");
        assert_eq!(masked("apikey", "K123"), "*****");
    }
}
