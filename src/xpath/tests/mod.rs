//! Tests for the XPath engine, over a small quick-xml-built arena ([`dom::TestDom`]) and a
//! mock [`XPathContext`]. Expected values were cross-checked against sxd-xpath (XPath 1.0) for
//! the core language and against Synapse/Jaxen sources for the extensions.

mod axes;
mod classify;
mod compile;
mod core;
mod dom;
mod stringify;
mod synapse;

use std::borrow::Cow;
use std::collections::HashMap;

use super::{compile, Clock, MessageField, NodeId, PropertyValue, Scope, Value, XPathContext};
use dom::TestDom;

/// Namespaces the tests compile with.
pub fn test_ns() -> Vec<(String, String)> {
    [
        ("soapenv", "http://schemas.xmlsoap.org/soap/envelope/"),
        ("m", "http://services.samples"),
        ("x", "urn:x"),
        ("y", "urn:y"),
        ("", "urn:default-must-not-apply"),
    ]
    .iter()
    .map(|(p, u)| (p.to_string(), u.to_string()))
    .collect()
}

/// A mock message context.
#[derive(Default)]
pub struct Mock {
    pub props: HashMap<(Scope, String), PropertyValue<'static>>,
    pub fields: HashMap<MessageField, String>,
    pub maps: HashMap<(String, String), String>,
    pub body: Option<NodeId>,
    pub header: Option<NodeId>,
    pub envelope: Option<NodeId>,
    pub clock: Option<Clock>,
}

impl Mock {
    pub fn with(mut self, scope: Scope, name: &str, v: &str) -> Mock {
        self.props.insert(
            (scope, name.to_owned()),
            PropertyValue::String(Cow::Owned(v.to_owned())),
        );
        self
    }

    pub fn with_value(mut self, scope: Scope, name: &str, v: PropertyValue<'static>) -> Mock {
        self.props.insert((scope, name.to_owned()), v);
        self
    }

    pub fn field(mut self, f: MessageField, v: &str) -> Mock {
        self.fields.insert(f, v.to_owned());
        self
    }
}

impl XPathContext for Mock {
    fn property(&self, scope: Scope, name: &str) -> Option<PropertyValue<'_>> {
        if scope == Scope::Transport {
            return self
                .props
                .iter()
                .find(|((s, n), _)| *s == scope && n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone());
        }
        self.props.get(&(scope, name.to_owned())).cloned()
    }
    fn map_entry(&self, property: &str, key: &str) -> Option<Cow<'_, str>> {
        self.maps
            .get(&(property.to_owned(), key.to_owned()))
            .map(|s| Cow::Borrowed(s.as_str()))
    }
    fn message_field(&self, field: MessageField) -> Option<Cow<'_, str>> {
        self.fields.get(&field).map(|s| Cow::Borrowed(s.as_str()))
    }
    fn soap_envelope(&self) -> Option<NodeId> {
        self.envelope
    }
    fn soap_body(&self) -> Option<NodeId> {
        self.body
    }
    fn soap_header(&self) -> Option<NodeId> {
        self.header
    }
    fn vault_lookup(&self, alias: &str) -> Option<Cow<'_, str>> {
        (alias == "pw").then_some(Cow::Borrowed("s3cret"))
    }
    fn clock(&self) -> Clock {
        self.clock.unwrap_or(Clock {
            epoch_millis: 0,
            utc_offset_secs: 0,
        })
    }
}

/// Evaluates `expr` against `dom` from the root with `cx`.
pub fn eval_with(dom: &TestDom, cx: &Mock, expr: &str) -> Value {
    let x = compile(expr, &test_ns()).unwrap_or_else(|e| panic!("{expr}: {e}"));
    x.evaluate(dom, cx, 0)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

/// `string(expr)` from the root.
pub fn s(dom: &TestDom, expr: &str) -> String {
    eval_with(dom, &Mock::default(), expr).into_string_value(dom)
}

/// `number(expr)` from the root.
pub fn n(dom: &TestDom, expr: &str) -> f64 {
    eval_with(dom, &Mock::default(), expr).to_number(dom)
}

/// `boolean(expr)` from the root.
pub fn b(dom: &TestDom, expr: &str) -> bool {
    eval_with(dom, &Mock::default(), expr).to_boolean()
}

/// The labels of the node-set `expr` selects from `ctx`.
pub fn labels_from(dom: &TestDom, ctx: NodeId, expr: &str) -> Vec<String> {
    let x = compile(expr, &test_ns()).unwrap_or_else(|e| panic!("{expr}: {e}"));
    x.evaluate_nodes(dom, &Mock::default(), ctx)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .into_iter()
        .map(|id| dom.label(id))
        .collect()
}

/// The labels of the node-set `expr` selects from the root, joined with spaces.
pub fn sel(dom: &TestDom, expr: &str) -> String {
    labels_from(dom, 0, expr).join(" ")
}
