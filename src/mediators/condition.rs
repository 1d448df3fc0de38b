//! Synapse's condition evaluators (`org.apache.synapse.commons.evaluators`), as the `rewrite`
//! mediator's rules use them: `<equal>` (case-insensitive) and `<match>` (whole-text regex) on a
//! text taken from the URL or one of its parts, a transport header, a query parameter, a property
//! or an XPath over the envelope; `<and>`, `<or>` (two or more) and `<not>`.
//!
//! Differences from Synapse, both deliberate: header names match case-insensitively (Synapse
//! looks the name up as the client spelt it), and a regex is Rust's `regex` (no look-around or
//! back-references; such a pattern is a deployment error, not a silent mismatch).

use std::sync::Arc;

use super::{Compile, Runtime};
use crate::diag::Origin;
use crate::error::Result;
use crate::message::content::{Evaluated, Want};
use crate::message::{Expr, MessageContext};
use crate::synapse::model::Element;
use crate::xpath::dom::NodeKind;

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Condition {
    Equal(Text, String),
    Match(Text, super::WholeMatch),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

/// Where a condition reads its text (`type` and `source`).
#[derive(Debug, Clone)]
pub enum Text {
    /// `type="url"`: the whole URL, or one part of it.
    Url(Option<UrlPart>),
    Header(String),
    Param(String),
    Property(String),
    Soap(Arc<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPart {
    Protocol,
    User,
    Host,
    Port,
    Path,
    Query,
    Ref,
}

impl UrlPart {
    pub fn from_name(name: &str) -> Option<UrlPart> {
        Some(match name {
            "protocol" => UrlPart::Protocol,
            "user" => UrlPart::User,
            "host" => UrlPart::Host,
            "port" => UrlPart::Port,
            "path" => UrlPart::Path,
            "query" => UrlPart::Query,
            "ref" => UrlPart::Ref,
            _ => return None,
        })
    }
}

/// What a condition is evaluated against: the URL as the rule sees it, and the message.
pub struct Subject<'a> {
    pub url: &'a str,
}

impl Condition {
    /// Compiles the evaluator element `el` (`<equal>`, `<match>`, `<and>`, `<or>`, `<not>`).
    pub fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Condition> {
        let here = super::at(el, at);
        let children = |c: &mut dyn FnMut(&Element) -> Option<Condition>| {
            el.elements().map(c).collect::<Option<Vec<_>>>()
        };
        match el.local.as_str() {
            "equal" => {
                let text = Text::compile(c, el, &here)?;
                let Some(value) = el.attr("value") else {
                    c.error(&here, "<equal> needs a value attribute");
                    return None;
                };
                Some(Condition::Equal(text, value.to_string()))
            }
            "match" => {
                let text = Text::compile(c, el, &here)?;
                let Some(re) = el.attr("regex") else {
                    c.error(&here, "<match> needs a regex attribute");
                    return None;
                };
                Some(Condition::Match(text, super::regex(c, re, &here)?))
            }
            name @ ("and" | "or") => {
                let parts = children(&mut |ch| Condition::compile(c, ch, &here))?;
                if parts.len() < 2 {
                    c.error(
                        &here,
                        format!("two or more expressions should be provided under <{name}>"),
                    );
                    return None;
                }
                Some(match name {
                    "and" => Condition::And(parts),
                    _ => Condition::Or(parts),
                })
            }
            "not" => match el.elements().next() {
                Some(ch) => Some(Condition::Not(Box::new(Condition::compile(c, ch, &here)?))),
                None => {
                    c.error(&here, "<not> needs a condition");
                    None
                }
            },
            other => {
                c.error(
                    &here,
                    format!("<{other}> is not a condition (equal, match, and, or, not)"),
                );
                None
            }
        }
    }

    /// Whether the condition holds. Boxed recursion: conditions nest.
    pub fn holds<'a>(
        &'a self,
        rt: &'a impl Runtime,
        ctx: &'a mut MessageContext,
        subject: &'a Subject<'a>,
    ) -> crate::mediators::LocalFuture<'a, Result<bool>> {
        Box::pin(async move {
            Ok(match self {
                Condition::Equal(text, value) => text
                    .read(rt, ctx, subject)
                    .await?
                    .is_some_and(|t| t.eq_ignore_ascii_case(value)),
                Condition::Match(text, re) => text
                    .read(rt, ctx, subject)
                    .await?
                    .is_some_and(|t| re.is_match(&t)),
                Condition::And(parts) => {
                    for p in parts {
                        if !p.holds(rt, ctx, subject).await? {
                            return Ok(false);
                        }
                    }
                    true
                }
                Condition::Or(parts) => {
                    for p in parts {
                        if p.holds(rt, ctx, subject).await? {
                            return Ok(true);
                        }
                    }
                    false
                }
                Condition::Not(p) => !p.holds(rt, ctx, subject).await?,
            })
        })
    }
}

impl Text {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Text> {
        let source = el.attr("source");
        let Some(kind) = el.attr("type") else {
            // Without a type the source names a header.
            return match source {
                Some(s) => Some(Text::Header(s.to_string())),
                None => {
                    c.error(at, "source attribute is required");
                    None
                }
            };
        };
        if kind == "url" {
            return match source {
                None => Some(Text::Url(None)),
                Some(s) => match UrlPart::from_name(s) {
                    Some(p) => Some(Text::Url(Some(p))),
                    None => {
                        c.error(at, format!("'{s}' is not a part of a URL (protocol, user, host, port, path, query, ref)"));
                        None
                    }
                },
            };
        }
        let Some(source) = source else {
            c.error(at, "source attribute is required");
            return None;
        };
        Some(match kind {
            "header" => Text::Header(source.to_string()),
            "param" => Text::Param(source.to_string()),
            "property" => Text::Property(source.to_string()),
            "soap" => Text::Soap(super::xpath(c, source, el, at)?),
            other => {
                c.error(at, format!("unknown condition type '{other}'"));
                return None;
            }
        })
    }

    async fn read(
        &self,
        rt: &impl Runtime,
        ctx: &mut MessageContext,
        subject: &Subject<'_>,
    ) -> Result<Option<String>> {
        Ok(match self {
            Text::Url(None) => Some(subject.url.to_string()),
            Text::Url(Some(part)) => {
                let u = super::rewrite::UriParts::parse(subject.url);
                match part {
                    UrlPart::Port => Some(u.port.map_or(-1, i64::from).to_string()),
                    UrlPart::Protocol => u.scheme,
                    UrlPart::User => u.user,
                    UrlPart::Host => u.host,
                    // Java's URI.getPath() is "" (not null) without a path.
                    UrlPart::Path => Some(u.path.unwrap_or_default()),
                    UrlPart::Query => u.query,
                    UrlPart::Ref => u.fragment,
                }
            }
            Text::Header(name) => ctx
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            Text::Param(name) => query_param(subject.url, name),
            Text::Property(name) => ctx.props.get(name.as_str()).map(|v| v.as_str().to_owned()),
            Text::Soap(x) => match rt.eval_xpath(ctx, x, Want::Nodes).await? {
                (Evaluated::Nodes(nodes), Some(doc)) => {
                    let mut text = String::new();
                    for n in nodes {
                        match doc.kind(n) {
                            // Axiom's getText (its own text children), or the element written
                            // out when that is blank.
                            NodeKind::Element => {
                                let own: String = doc
                                    .children(n)
                                    .filter(|&t| doc.kind(t) == NodeKind::Text)
                                    .map(|t| doc.value(t))
                                    .collect();
                                if own.trim().is_empty() {
                                    text.push_str(&String::from_utf8_lossy(
                                        &doc.standalone_bytes(n),
                                    ));
                                } else {
                                    text.push_str(&own);
                                }
                            }
                            NodeKind::Root => text.push_str(&String::from_utf8_lossy(
                                &doc.standalone_bytes(doc.root_element()),
                            )),
                            NodeKind::Text | NodeKind::Attribute => text.push_str(doc.value(n)),
                            _ => {}
                        }
                    }
                    Some(text)
                }
                (Evaluated::Text(t), _) => t,
                (Evaluated::Bool(b), _) => Some(b.to_string()),
                _ => None,
            },
        })
    }
}

/// `EvaluatorContext.getParam`: `name=value` pairs after the URL's `?`, values URL-decoded; a
/// pair without `=` is skipped.
fn query_param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query.split('&').find_map(|pair| {
        let mut parts = pair.split('=');
        let (k, v) = (parts.next()?, parts.next()?);
        (k == name).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}
