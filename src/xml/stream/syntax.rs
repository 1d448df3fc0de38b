//! The textual form of a [`StreamPath`] (see the `stream` module docs for the grammar), for
//! tests and for callers that hold a path as text. Must not: accept anything outside the
//! documented shapes (`None` instead, so the caller falls back to the tree).

use std::num::NonZeroU32;

use super::{StreamAxis, StreamPath, StreamStep, StreamTarget};
use crate::xml::escape::is_name;

fn ncname(s: &str) -> Option<&str> {
    (is_name(s) && !s.contains(':')).then_some(s)
}

/// `(namespace, local)` of a QName written in the path; unprefixed means no namespace.
fn qname<'r>(name: &str, resolve: &impl Fn(&str) -> Option<&'r str>) -> Option<(String, String)> {
    match name.split_once(':') {
        Some((p, l)) => Some((resolve(ncname(p)?)?.to_string(), ncname(l)?.to_string())),
        None => Some((String::new(), ncname(name)?.to_string())),
    }
}

pub(crate) fn parse<'r>(
    expr: &str,
    resolve: impl Fn(&str) -> Option<&'r str>,
) -> Option<StreamPath> {
    let mut rest = expr.trim();
    let mut steps = Vec::new();
    let mut target = StreamTarget::Element;
    while !rest.is_empty() {
        let axis = if let Some(r) = rest.strip_prefix("//") {
            rest = r;
            StreamAxis::Descendant
        } else {
            rest = rest.strip_prefix('/')?;
            StreamAxis::Child
        };
        let end = rest.find('/').unwrap_or(rest.len());
        let tok = &rest[..end];
        rest = &rest[end..];
        let last = rest.is_empty() && axis == StreamAxis::Child && !steps.is_empty();
        if tok == "text()" {
            if !last {
                return None;
            }
            target = StreamTarget::Text;
            break;
        }
        if let Some(attr) = tok.strip_prefix('@') {
            if !last {
                return None;
            }
            let (ns, local) = qname(attr, &resolve)?;
            target = StreamTarget::Attribute { ns, local };
            break;
        }
        let (name, position) = match tok.split_once('[') {
            Some((name, pred)) => {
                let digits = pred.strip_suffix(']')?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (name, Some(NonZeroU32::new(digits.parse().ok()?)?))
            }
            None => (tok, None),
        };
        let (ns, local) = match (name, name.split_once(':')) {
            ("*", _) => (None, None),
            (_, Some((p, "*"))) => (Some(resolve(ncname(p)?)?.to_string()), None),
            _ => {
                let (ns, local) = qname(name, &resolve)?;
                (Some(ns), Some(local))
            }
        };
        steps.push(StreamStep {
            axis,
            ns,
            local,
            position,
        });
    }
    StreamPath::new(steps, target)
}
