//! Compiling the content-aware mediators the parser keeps whole (`filter`, `switch`,
//! `payloadFactory`, `enrich`, `makefault`): their expressions are compiled here, at deploy time,
//! with the namespaces in scope on their element, and every problem gets its position.

use std::sync::Arc;

use super::Compiler;
use crate::program::mediator::{
    Cond, Enrich, EnrichAction, EnrichSource, EnrichTarget, Expr, FaultCode, Format, MakeFault,
    Med, Media, PayloadFactory, PfArg, Value,
};
use crate::synapse::model::{ContentMediator, Element, LocalEntryValue, Origin};

impl Compiler<'_> {
    /// A content mediator the parser kept whole; None when it has an error (reported).
    pub(super) fn content_mediator(
        &mut self,
        kind: ContentMediator,
        el: &Element,
        o: &Origin,
    ) -> Option<Med> {
        let at = Origin {
            file: o.file.clone(),
            pos: el.pos,
        };
        match kind {
            ContentMediator::Filter => self.filter(el, &at),
            ContentMediator::Switch => self.switch(el, &at),
            ContentMediator::PayloadFactory => self.payload_factory(el, &at),
            ContentMediator::Enrich => self.enrich(el, &at),
            ContentMediator::MakeFault => self.make_fault(el, &at),
        }
    }

    /// Compiles an XPath written on `el`.
    pub(super) fn xpath(&mut self, text: &str, el: &Element, o: &Origin) -> Option<Arc<Expr>> {
        if text.trim_start().starts_with("json-eval(") {
            self.warn(
                o,
                format!("json-eval expressions ('{text}') are not supported yet"),
            );
            return None;
        }
        match crate::xpath::compile(text, &el.ns_scope) {
            Ok(x) => Some(Arc::new(Expr::new(x))),
            Err(e) => {
                self.error(
                    o,
                    format!("invalid XPath '{text}' at offset {}: {e}", e.offset),
                );
                None
            }
        }
    }

    /// A JSONPath (`json-eval(...)`'s argument, or an `evaluator="json"` expression).
    pub(super) fn json_path(&mut self, path: &str, o: &Origin) -> Value {
        match crate::json::JsonPath::compile(path.trim()) {
            Ok(p) => Value::JsonPath(Arc::new(p)),
            Err(e) => {
                self.error(o, format!("invalid JSONPath '{path}': {e}"));
                Value::Unsupported(path.to_string())
            }
        }
    }

    /// An expression value: the property-read fast path, `json-eval(...)`, else a compiled XPath.
    pub(super) fn expression(&mut self, text: &str, el: &Element, o: &Origin) -> Value {
        if let Some(inner) = text
            .trim()
            .strip_prefix("json-eval(")
            .and_then(|r| r.strip_suffix(')'))
        {
            return self.json_path(inner, o);
        }
        match Value::expression(text) {
            Value::Unsupported(_) => match self.xpath(text, el, o) {
                Some(x) => Value::XPath(x),
                None => Value::Unsupported(text.to_string()),
            },
            fast => fast,
        }
    }

    fn branch(&mut self, el: &Element, o: &Origin) -> Vec<Med> {
        if let Some(key) = el.attr("sequence") {
            return self
                .seq_key(key.trim(), o)
                .map(Med::Sequence)
                .into_iter()
                .collect();
        }
        let nodes = crate::synapse::parse::parse_mediator_children(el, &o.file, self.problems);
        self.mediators(&nodes)
    }

    fn regex(&mut self, re: &str, o: &Origin) -> Option<regex::Regex> {
        // Java's Matcher.matches(): the whole string must match.
        match regex::Regex::new(&format!("^(?:{re})$")) {
            Ok(r) => Some(r),
            Err(e) => {
                self.error(o, format!("invalid regex '{re}': {e}"));
                None
            }
        }
    }

    fn filter(&mut self, el: &Element, o: &Origin) -> Option<Med> {
        let cond = match (el.attr("xpath"), el.attr("source"), el.attr("regex")) {
            (Some(x), _, _) => Cond::XPath(self.xpath(x, el, o)?),
            (None, Some(src), Some(re)) => {
                let source = self.expression(src, el, o);
                Cond::Regex {
                    source,
                    regex: self.regex(re, o)?,
                }
            }
            _ => {
                self.error(
                    o,
                    "filter needs xpath=\"…\" or source=\"…\" with regex=\"…\"".into(),
                );
                return None;
            }
        };
        let then_el = el.elements().find(|c| c.local == "then");
        let else_el = el.elements().find(|c| c.local == "else");
        let (then, otherwise) = match then_el {
            Some(t) => {
                let then = self.branch(
                    t,
                    &Origin {
                        file: o.file.clone(),
                        pos: t.pos,
                    },
                );
                let otherwise = match else_el {
                    Some(e) => self.branch(
                        e,
                        &Origin {
                            file: o.file.clone(),
                            pos: e.pos,
                        },
                    ),
                    None => Vec::new(),
                };
                (then, otherwise)
            }
            // Without then/else, the children run when the condition holds.
            None => (self.branch(el, o), Vec::new()),
        };
        Some(Med::Filter {
            cond,
            then,
            otherwise,
        })
    }

    fn switch(&mut self, el: &Element, o: &Origin) -> Option<Med> {
        let Some(src) = el.attr("source") else {
            self.error(o, "switch needs a source attribute".into());
            return None;
        };
        let source = self.expression(src, el, o);
        let mut cases = Vec::new();
        let mut default = Vec::new();
        for c in el.elements() {
            let co = Origin {
                file: o.file.clone(),
                pos: c.pos,
            };
            match c.local.as_str() {
                "case" => {
                    let Some(re) = c.attr("regex") else {
                        self.error(&co, "case needs a regex attribute".into());
                        continue;
                    };
                    if let Some(r) = self.regex(re, &co) {
                        let body = self.branch(c, &co);
                        cases.push((r, body));
                    }
                }
                "default" => default = self.branch(c, &co),
                "description" => {}
                other => self.warn(&co, format!("unexpected <{other}> in switch ignored")),
            }
        }
        Some(Med::Switch {
            source,
            cases,
            default,
        })
    }

    fn payload_factory(&mut self, el: &Element, o: &Origin) -> Option<Med> {
        let media = match el.attr("media-type").unwrap_or("xml") {
            "xml" => Media::Xml,
            "json" => Media::Json,
            "text" => Media::Text,
            other => {
                self.error(o, format!("unknown payloadFactory media-type '{other}'"));
                return None;
            }
        };
        if el
            .attr("template-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("freemarker"))
        {
            self.warn(
                o,
                "FreeMarker payload templates are not supported yet".into(),
            );
        }
        let Some(format_el) = el.elements().find(|c| c.local == "format") else {
            self.error(o, "payloadFactory has no <format>".into());
            return None;
        };
        let format = match format_el.attr("key") {
            Some(key) => {
                let key = key.trim().to_string();
                match self.local_entries.get(&key) {
                    Some(LocalEntryValue::Xml(x)) => Format::Inline(format_xml(x)),
                    Some(LocalEntryValue::Text(t)) => Format::Inline(t.clone()),
                    _ => Format::Key(key),
                }
            }
            None => Format::Inline(match media {
                Media::Xml => match format_el.elements().next() {
                    Some(first) => strip_indentation(&format_xml(first)),
                    None => format_el.text(),
                },
                _ => format_el.text().trim().to_string(),
            }),
        };
        let mut args = Vec::new();
        if let Some(args_el) = el.elements().find(|c| c.local == "args") {
            for a in args_el.elements().filter(|c| c.local == "arg") {
                let ao = Origin {
                    file: o.file.clone(),
                    pos: a.pos,
                };
                let json = a.attr("evaluator").is_some_and(|e| e == "json");
                let value = match (a.attr("value"), a.attr("expression")) {
                    (Some(v), _) => Value::Literal(v.to_string()),
                    (None, Some(x)) if json && !x.trim().starts_with("json-eval(") => {
                        self.json_path(x, &ao)
                    }
                    (None, Some(x)) => self.expression(x, a, &ao),
                    (None, None) => {
                        self.error(&ao, "arg needs value or expression".into());
                        Value::Literal(String::new())
                    }
                };
                args.push(PfArg {
                    value,
                    literal: a.attr("literal").is_some_and(|l| l.trim() == "true"),
                });
            }
        }
        Some(Med::PayloadFactory(Box::new(PayloadFactory {
            media,
            format,
            args,
        })))
    }

    fn enrich(&mut self, el: &Element, o: &Origin) -> Option<Med> {
        let (Some(src), Some(tgt)) = (
            el.elements().find(|c| c.local == "source"),
            el.elements().find(|c| c.local == "target"),
        ) else {
            self.error(o, "enrich needs <source> and <target>".into());
            return None;
        };
        let so = Origin {
            file: o.file.clone(),
            pos: src.pos,
        };
        let to = Origin {
            file: o.file.clone(),
            pos: tgt.pos,
        };
        let source = match src.attr("type").unwrap_or("custom") {
            "custom" => {
                EnrichSource::Custom(self.xpath(src.attr("xpath").unwrap_or(""), src, &so)?)
            }
            "envelope" => EnrichSource::Envelope,
            "body" => EnrichSource::Body,
            "property" => EnrichSource::Property(src.attr("property").unwrap_or("").to_string()),
            "inline" => match (src.attr("key"), src.elements().next()) {
                (Some(k), _) => match self.local_entries.get(k.trim()) {
                    Some(LocalEntryValue::Xml(x)) => EnrichSource::Inline(format_xml(x)),
                    Some(LocalEntryValue::Text(t)) => EnrichSource::Inline(t.clone()),
                    _ => EnrichSource::InlineKey(k.trim().to_string()),
                },
                (None, Some(child)) => EnrichSource::Inline(format_xml(child)),
                (None, None) => EnrichSource::Inline(src.text()),
            },
            other => {
                self.error(&so, format!("unknown enrich source type '{other}'"));
                return None;
            }
        };
        let target = match tgt.attr("type").unwrap_or("custom") {
            "custom" => {
                EnrichTarget::Custom(self.xpath(tgt.attr("xpath").unwrap_or(""), tgt, &to)?)
            }
            "envelope" => EnrichTarget::Envelope,
            "body" => EnrichTarget::Body,
            "property" => EnrichTarget::Property(tgt.attr("property").unwrap_or("").to_string()),
            other => {
                self.error(&to, format!("unsupported enrich target type '{other}'"));
                return None;
            }
        };
        let action = match tgt.attr("action").unwrap_or("replace") {
            "replace" => EnrichAction::Replace,
            "child" => EnrichAction::Child,
            "sibling" => EnrichAction::Sibling,
            other => {
                self.error(&to, format!("unknown enrich action '{other}'"));
                return None;
            }
        };
        let clone = src.attr("clone").is_none_or(|c| c.trim() != "false");
        Some(Med::Enrich(Box::new(Enrich {
            source,
            clone,
            target,
            action,
        })))
    }

    fn make_fault(&mut self, el: &Element, o: &Origin) -> Option<Med> {
        let version = el.attr("version").map(str::to_string);
        let mut f = MakeFault {
            version,
            code: None,
            reason: None,
            node: None,
            role: None,
            detail: None,
            // Synapse marks the fault as a response unless response="false".
            response: el.attr("response").is_none_or(|r| r.trim() != "false"),
        };
        for c in el.elements() {
            let co = Origin {
                file: o.file.clone(),
                pos: c.pos,
            };
            let value = |this: &mut Self| match (c.attr("value"), c.attr("expression")) {
                (Some(v), _) => Some(Value::Literal(v.to_string())),
                (None, Some(x)) => Some(this.expression(x, c, &co)),
                (None, None) => None,
            };
            match c.local.as_str() {
                "code" => {
                    f.code = match (c.attr("value"), c.attr("expression")) {
                        (Some(q), _) => {
                            let (prefix, local) =
                                q.trim().split_once(':').unwrap_or(("", q.trim()));
                            let ns = c
                                .ns_scope
                                .iter()
                                .rev()
                                .find(|(p, _)| p == prefix)
                                .map(|(_, u)| u.clone())
                                .unwrap_or_default();
                            Some(FaultCode::QName {
                                ns,
                                prefix: prefix.to_string(),
                                local: local.to_string(),
                            })
                        }
                        (None, Some(x)) => Some(FaultCode::Expr(self.expression(x, c, &co))),
                        _ => None,
                    }
                }
                "reason" => f.reason = value(self),
                "node" => f.node = Some(c.text().trim().to_string()),
                "role" => f.role = Some(c.text().trim().to_string()).filter(|r| !r.is_empty()),
                "detail" => {
                    f.detail = value(self).or_else(|| match c.elements().next() {
                        Some(x) => Some(Value::Xml(format_xml(x))),
                        None => Some(Value::Literal(c.text().trim().to_string())),
                    })
                }
                "description" => {}
                other => self.warn(&co, format!("unexpected <{other}> in makefault ignored")),
            }
        }
        Some(Med::MakeFault(Box::new(f)))
    }
}

/// Removes whitespace-only text between tags (the indentation of an inline template), as
/// WSO2's payloadFactory does.
fn strip_indentation(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find('>') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let ws = rest.len() - rest.trim_start().len();
        if rest[ws..].starts_with('<') {
            rest = &rest[ws..];
        }
    }
    out.push_str(rest);
    out
}

/// An inline XML template as text: the element's source, with the namespace declarations it
/// inherits from the artifact (except Synapse's own default namespace, which WSO2 does not put into
/// payloads) added to its start tag when its text uses them.
pub fn format_xml(el: &Element) -> String {
    let src = el.source.trim();
    let mut extra = String::new();
    let mut seen = Vec::new();
    for (prefix, uri) in el.ns_scope.iter().rev() {
        if seen.contains(prefix) {
            continue;
        }
        seen.push(prefix.clone());
        if uri == crate::synapse::parse::SYNAPSE_NS || prefix.is_empty() || prefix == "xml" {
            continue;
        }
        let declared = src.contains(&format!("xmlns:{prefix}="));
        if !declared && src.contains(&format!("{prefix}:")) {
            extra.push_str(&format!(
                " xmlns:{prefix}=\"{}\"",
                crate::xml::escape_attr(uri)
            ));
        }
    }
    if extra.is_empty() {
        return src.to_string();
    }
    // Insert after the element name in the start tag.
    let name_end = src[1..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map(|i| i + 1)
        .unwrap_or(src.len());
    format!("{}{}{}", &src[..name_end], extra, &src[name_end..])
}
