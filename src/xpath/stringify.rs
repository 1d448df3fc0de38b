//! Synapse's conversion of an expression's result to a property string
//! (`SynapseXPath.stringValueOf`), which is *not* XPath's `string()`:
//!
//! * a node-set joins **all** its nodes: text nodes give their text, attributes their value,
//!   the root its document element serialized, comments / PIs / namespace nodes nothing;
//! * an element alone (and the expression does not contain `node()`) gives its own text
//!   children (not descendants), trimmed (U+00A0 counts as a space), or, when that is empty,
//!   its serialization; an element among several (or with `node()`) gives its serialization
//!   with its own text trimmed inside it;
//! * with `node()` in the expression, a lone text node stands for its parent element;
//! * a number computed by XPath prints as Java's `Double.toString` (`count(//a)` → `"3.0"`),
//!   while a number read from a property (`$ctx:x`, `get-property('x')` at the top level)
//!   keeps its XPath rendering (`123`, as Java's `Integer.toString` would print it);
//! * a missing property at the top level is Java `null` (`None`).
//!
//! Serializing elements is the caller's business (a callback), as this module writes no XML.

use super::ast::Expr;
use super::dom::{Dom, NodeId, NodeKind};
use super::value::{format_number, Value};

/// Appends the XML serialization of an element to the string.
pub type Serializer<'s> = dyn FnMut(NodeId, &mut String) + 's;

/// Java's `Double.toString`: `3.0`, `0.001`, `1234567.5`, `1.0E7`, `1.0E-4`, `NaN`,
/// `Infinity`, `-0.0` (shortest round-trip digits).
pub fn java_double_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x < 0.0 { "-" } else { "" };
    let abs = x.abs();
    if (1e-3..1e7).contains(&abs) {
        let (int, frac) = if exp >= 0 {
            let split = (exp as usize + 1).min(digits.len());
            let mut int = digits[..split].to_owned();
            int.extend(std::iter::repeat_n('0', exp as usize + 1 - split));
            (int, digits[split..].to_owned())
        } else {
            let zeros = "0".repeat((-exp - 1) as usize);
            ("0".to_owned(), format!("{zeros}{digits}"))
        };
        let frac = if frac.is_empty() {
            "0".to_owned()
        } else {
            frac
        };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// Whether the top level of `e` hands back a property's value as is (Jaxen returns the Java
/// object a variable or `get-property()` yields).
fn is_property_read(e: &Expr) -> bool {
    matches!(e, Expr::Var(_) | Expr::GetProperty(_))
}

/// The element's own text children, concatenated (Axiom's `OMElement.getText()`).
fn own_text<D: Dom + ?Sized>(dom: &D, n: NodeId) -> String {
    let mut s = String::new();
    let mut c = dom.first_child(n);
    while let Some(id) = c {
        if dom.kind(id) == NodeKind::Text {
            s.push_str(&dom.string_value(id));
        }
        c = dom.next_sibling(id);
    }
    s
}

/// See the module docs.
pub(crate) fn synapse_string<D: Dom + ?Sized>(
    expr: &Expr,
    source: &str,
    value: Value,
    dom: &D,
    serialize: &mut Serializer<'_>,
) -> Option<String> {
    let nodes = match value {
        Value::String(s) => return Some(s),
        Value::Boolean(b) => return Some(b.to_string()),
        Value::Number(n) if is_property_read(expr) => return Some(format_number(n)),
        Value::Number(n) => return Some(java_double_to_string(n)),
        Value::NodeSet(nodes) => nodes,
    };
    if nodes.is_empty() && is_property_read(expr) {
        return None;
    }
    let with_node_test = source.contains("node()");
    let single = nodes.len() == 1;
    let mut out = String::new();
    for mut n in nodes {
        if single && with_node_test && dom.kind(n) == NodeKind::Text {
            if let Some(p) = dom.parent(n) {
                n = p;
            }
        }
        match dom.kind(n) {
            NodeKind::Text => out.push_str(&dom.string_value(n)),
            NodeKind::Attribute => out.push_str(&dom.string_value(n)),
            NodeKind::Root => {
                let mut c = dom.first_child(n);
                while let Some(id) = c {
                    if dom.kind(id) == NodeKind::Element {
                        serialize(id, &mut out);
                        break;
                    }
                    c = dom.next_sibling(id);
                }
            }
            NodeKind::Element => {
                let text = own_text(dom, n);
                let trimmed = text.replace('\u{A0}', " ");
                let trimmed = trimmed.trim_matches(|c: char| c <= ' ');
                if trimmed.is_empty() {
                    serialize(n, &mut out);
                } else if single && !with_node_test {
                    out.push_str(trimmed);
                } else {
                    let mut xml = String::new();
                    serialize(n, &mut xml);
                    out.push_str(&xml.replace(&text, trimmed));
                }
            }
            NodeKind::Comment | NodeKind::ProcessingInstruction | NodeKind::Namespace => {}
        }
    }
    Some(out)
}
