//! The function library: XPath 1.0 core functions (spec §4), the Jaxen extensions Synapse
//! exposes (`ends-with`, `upper-case`, `lower-case`), and Synapse's `get-property`,
//! `base64Encode`, `base64Decode`, `url-encode`, `url-decode`.

use super::ast::{Expr, Func, GetProperty};
use super::codec::{self, Charset};
use super::datefmt::{DatePattern, DEFAULT_PATTERN};
use super::dom::{Dom, NodeId, NodeKind};
use super::eval::{from_property, null, Ev, Focus, R};
use super::parser::XML_NS;
use super::synapse::{PropertyName, Scope};
use super::value::{parse_number, xpath_round, Value};
use super::EvalError;

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// `substring(s, start, len?)` with XPath's rounding: characters at positions `p` (from 1)
/// with `round(start) <= p < round(start) + round(len)`.
pub(crate) fn substring(s: &str, start: f64, len: Option<f64>) -> String {
    let from = xpath_round(start);
    let to = len.map_or(f64::INFINITY, |l| from + xpath_round(l));
    s.chars()
        .enumerate()
        .filter(|&(i, _)| {
            let p = (i + 1) as f64;
            p >= from && p < to
        })
        .map(|(_, c)| c)
        .collect()
}

pub(crate) fn normalize_space(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(is_xml_space).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

pub(crate) fn translate(s: &str, from: &str, to: &str) -> String {
    let to: Vec<char> = to.chars().collect();
    let map: Vec<(char, Option<char>)> = from
        .chars()
        .enumerate()
        .map(|(i, c)| (c, to.get(i).copied()))
        .collect();
    s.chars()
        .filter_map(|c| match map.iter().find(|(f, _)| *f == c) {
            Some((_, r)) => *r,
            None => Some(c),
        })
        .collect()
}

/// Java's `String.trim()`: strips characters up to U+0020 at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

impl<D: Dom + ?Sized> Ev<'_, D> {
    /// The first node of an optional node-set argument, or the context node.
    fn node_arg(&self, args: &[Expr], f: Focus) -> R<Option<NodeId>> {
        match args.first() {
            None => Ok(Some(f.node)),
            Some(a) => Ok(self.nodes(a, f)?.first().copied()),
        }
    }

    /// `string(arg)` of an optional argument, defaulting to the context node.
    fn str_arg(&self, args: &[Expr], f: Focus) -> R<String> {
        match args.first() {
            None => Ok(self.dom.string_value(f.node).into_owned()),
            Some(a) => self.string(a, f),
        }
    }

    fn charset_arg(&self, args: &[Expr], i: usize, f: Focus) -> R<Charset> {
        match args.get(i) {
            None => Ok(Charset::Utf8),
            Some(a) => {
                let name = self.string(a, f)?;
                Charset::from_name(&name).ok_or(EvalError::UnsupportedCharset(name))
            }
        }
    }

    /// Calls a built-in function. Dispatches to one function per group so that the frame
    /// each nesting level adds to the stack stays small.
    pub(crate) fn call(&self, func: Func, args: &[Expr], f: Focus) -> R<Value> {
        match func {
            Func::Last => Ok(Value::Number(f.size as f64)),
            Func::Position => Ok(Value::Number(f.pos as f64)),
            Func::True => Ok(Value::Boolean(true)),
            Func::False => Ok(Value::Boolean(false)),
            Func::Boolean => Ok(Value::Boolean(self.boolean(&args[0], f)?)),
            Func::Not => Ok(Value::Boolean(!self.boolean(&args[0], f)?)),
            Func::Count | Func::Id | Func::LocalName | Func::Name | Func::NamespaceUri => {
                self.call_nodes(func, args, f)
            }
            Func::Number
            | Func::Sum
            | Func::Floor
            | Func::Ceiling
            | Func::Round
            | Func::StringLength
            | Func::Lang => self.call_number(func, args, f),
            Func::Base64Encode
            | Func::Base64Decode
            | Func::UrlEncode
            | Func::UrlDecode
            | Func::VaultLookup => self.call_synapse(func, args, f),
            _ => self.call_string(func, args, f),
        }
    }

    fn call_nodes(&self, func: Func, args: &[Expr], f: Focus) -> R<Value> {
        let dom = self.dom;
        match func {
            Func::Count => return Ok(Value::Number(self.nodes(&args[0], f)?.len() as f64)),
            Func::Id => return Ok(Value::NodeSet(self.id(&args[0], f)?)),
            _ => {}
        }
        let Some(n) = self.node_arg(args, f)? else {
            return Ok(Value::String(String::new()));
        };
        let kind = dom.kind(n);
        let named = matches!(kind, NodeKind::Element | NodeKind::Attribute);
        let has_name =
            named || matches!(kind, NodeKind::ProcessingInstruction | NodeKind::Namespace);
        Ok(Value::String(match func {
            Func::NamespaceUri if named => dom.namespace_uri(n).to_owned(),
            Func::Name if named && !dom.prefix(n).is_empty() => {
                format!("{}:{}", dom.prefix(n), dom.local_name(n))
            }
            Func::LocalName | Func::Name if has_name => dom.local_name(n).to_owned(),
            _ => String::new(),
        }))
    }

    fn call_number(&self, func: Func, args: &[Expr], f: Focus) -> R<Value> {
        let dom = self.dom;
        let num = |i: usize| self.number(&args[i], f);
        Ok(match func {
            Func::Number => Value::Number(match args.first() {
                None => parse_number(&dom.string_value(f.node)),
                Some(a) => self.number(a, f)?,
            }),
            Func::Sum => Value::Number(
                self.nodes(&args[0], f)?
                    .iter()
                    .map(|&n| parse_number(&dom.string_value(n)))
                    .sum(),
            ),
            Func::Floor => Value::Number(num(0)?.floor()),
            Func::Ceiling => Value::Number(num(0)?.ceil()),
            Func::Round => Value::Number(xpath_round(num(0)?)),
            Func::StringLength => Value::Number(self.str_arg(args, f)?.chars().count() as f64),
            _ => Value::Boolean(self.lang(&self.string(&args[0], f)?, f.node)),
        })
    }

    fn call_string(&self, func: Func, args: &[Expr], f: Focus) -> R<Value> {
        let s = |i: usize| self.string(&args[i], f);
        let text = Value::String;
        let boolean = Value::Boolean;
        Ok(match func {
            Func::String => text(self.str_arg(args, f)?),
            Func::Concat => {
                let mut out = String::new();
                for a in args {
                    out.push_str(&self.string(a, f)?);
                }
                text(out)
            }
            Func::StartsWith => boolean(s(0)?.starts_with(s(1)?.as_str())),
            Func::EndsWith => boolean(s(0)?.ends_with(s(1)?.as_str())),
            Func::Contains => boolean(s(0)?.contains(s(1)?.as_str())),
            Func::SubstringBefore => {
                let (hay, needle) = (s(0)?, s(1)?);
                text(
                    hay.find(&needle)
                        .map_or_else(String::new, |i| hay[..i].to_owned()),
                )
            }
            Func::SubstringAfter => {
                let (hay, needle) = (s(0)?, s(1)?);
                text(
                    hay.find(&needle)
                        .map_or_else(String::new, |i| hay[i + needle.len()..].to_owned()),
                )
            }
            Func::Substring => {
                let len = match args.get(2) {
                    Some(a) => Some(self.number(a, f)?),
                    None => None,
                };
                text(substring(&s(0)?, self.number(&args[1], f)?, len))
            }
            Func::NormalizeSpace => text(normalize_space(&self.str_arg(args, f)?)),
            Func::Translate => text(translate(&s(0)?, &s(1)?, &s(2)?)),
            Func::UpperCase => text(s(0)?.to_uppercase()),
            _ => text(s(0)?.to_lowercase()),
        })
    }

    fn call_synapse(&self, func: Func, args: &[Expr], f: Focus) -> R<Value> {
        let v = self.string(&args[0], f)?;
        if func == Func::VaultLookup {
            // WSO2's SecretManager answers an unknown alias with the alias itself.
            let secret = self.cx.vault_lookup(&v).map(|s| s.into_owned());
            return Ok(Value::String(secret.unwrap_or(v)));
        }
        let cs = self.charset_arg(args, 1, f)?;
        Ok(Value::String(match func {
            // Synapse answers "" for an empty input rather than encoding it.
            Func::Base64Encode | Func::Base64Decode if v.is_empty() => v,
            Func::Base64Encode => codec::base64_encode(&cs.encode(&v)),
            Func::Base64Decode => java_trim(&cs.decode(&codec::base64_decode(&v))).to_owned(),
            Func::UrlEncode => codec::url_encode(&v, cs),
            _ => cs.decode(&codec::percent_decode_bytes(&v, true)),
        }))
    }

    /// `lang(s)`: the nearest `xml:lang` on the ancestor-or-self axis equals `s` or starts with
    /// `s` followed by `-`, ignoring case.
    fn lang(&self, want: &str, node: NodeId) -> bool {
        let dom = self.dom;
        let mut cur = Some(node);
        while let Some(n) = cur {
            if dom.kind(n) == NodeKind::Element {
                let lang = dom
                    .attributes(n)
                    .iter()
                    .find(|&&a| dom.local_name(a) == "lang" && dom.namespace_uri(a) == XML_NS);
                if let Some(&a) = lang {
                    let v = dom.string_value(a);
                    let v = v.as_bytes();
                    let w = want.as_bytes();
                    return v.len() >= w.len()
                        && v[..w.len()].eq_ignore_ascii_case(w)
                        && (v.len() == w.len() || v[w.len()] == b'-');
                }
            }
            cur = dom.parent(n);
        }
        false
    }

    /// `id(x)`: elements whose `xml:id` is one of the whitespace-separated tokens (without a
    /// DTD no other attribute is known to be of type ID).
    fn id(&self, a: &Expr, f: Focus) -> R<Vec<NodeId>> {
        let dom = self.dom;
        let text = match self.eval(a, f)? {
            Value::NodeSet(ns) => ns
                .iter()
                .map(|&n| dom.string_value(n).into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            other => other.into_string_value(dom),
        };
        let tokens: Vec<&str> = text.split(is_xml_space).filter(|t| !t.is_empty()).collect();
        let mut out = Vec::new();
        if tokens.is_empty() {
            return Ok(out);
        }
        super::axes::descendants(dom, self.root(f.node), &mut |n| {
            if dom.kind(n) == NodeKind::Element {
                let hit = dom.attributes(n).iter().any(|&at| {
                    dom.local_name(at) == "id"
                        && dom.namespace_uri(at) == XML_NS
                        && tokens.contains(&dom.string_value(at).as_ref())
                });
                if hit {
                    out.push(n);
                }
            }
            true
        });
        Ok(out)
    }

    pub(crate) fn get_property(&self, g: &GetProperty, f: Focus) -> R<Value> {
        match g {
            GetProperty::Static { name, date } => Ok(self.property_named(name, date.as_ref())),
            GetProperty::Dynamic(args) => {
                let strs = args
                    .iter()
                    .map(|a| self.string(a, f))
                    .collect::<R<Vec<_>>>()?;
                let (name, format) = PropertyName::from_args(&strs);
                let date = if name == PropertyName::SystemDate {
                    let pattern = format.as_deref().unwrap_or(DEFAULT_PATTERN);
                    Some(DatePattern::parse(pattern).map_err(EvalError::DateFormat)?)
                } else {
                    None
                };
                Ok(self.property_named(&name, date.as_ref()))
            }
        }
    }

    fn property_named(&self, name: &PropertyName, date: Option<&DatePattern>) -> Value {
        match name {
            PropertyName::SystemDate => {
                let c = self.cx.clock();
                Value::String(
                    date.map(|d| d.format(c.epoch_millis, c.utc_offset_secs))
                        .unwrap_or_default(),
                )
            }
            PropertyName::SystemTime => Value::String(self.cx.clock().epoch_millis.to_string()),
            PropertyName::Field(field) => Value::String(
                self.cx
                    .message_field(*field)
                    .map(|v| v.into_owned())
                    .unwrap_or_default(),
            ),
            PropertyName::Scoped(scope, key) => match self.cx.property(*scope, key) {
                Some(v) => from_property(v),
                None if *scope == Scope::Default => match self.cx.entry(key) {
                    Some(v) => Value::String(v.into_owned()),
                    None => null(),
                },
                // Synapse answers "" (not null) for these scopes.
                None if matches!(
                    scope,
                    Scope::System | Scope::Env | Scope::Registry | Scope::File
                ) =>
                {
                    Value::String(String::new())
                }
                None => null(),
            },
            PropertyName::Nothing => Value::String(String::new()),
        }
    }
}
