//! Synapse's result-to-string conversion (`SynapseXPath.stringValueOf`).

use super::dom::TestDom;
use super::{test_ns, Mock};
use crate::xpath::{compile, java_double_to_string, Dom, NodeId, PropertyValue, Scope};

/// A stand-in serializer: `<name>string-value</name>`.
fn ser(d: &TestDom) -> impl FnMut(NodeId, &mut String) + '_ {
    move |n, out: &mut String| {
        out.push_str(&format!(
            "<{0}>{1}</{0}>",
            d.local_name(n),
            d.string_value(n)
        ))
    }
}

fn syn(d: &TestDom, cx: &Mock, e: &str) -> Option<String> {
    compile(e, &test_ns())
        .unwrap()
        .evaluate_synapse_string(d, cx, 0, &mut ser(d))
        .unwrap()
}

#[test]
fn java_doubles() {
    for (x, want) in [
        (3.0, "3.0"),
        (-3.0, "-3.0"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (0.5, "0.5"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1234567.5, "1234567.5"),
        (9999999.0, "9999999.0"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (1.5e-10, "1.5E-10"),
        (100.0, "100.0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ] {
        assert_eq!(java_double_to_string(x), want, "{x}");
    }
}

#[test]
fn synapse_string_values() {
    let d = TestDom::parse(
        "<r><a> hi\u{a0}</a><a>x<b>y</b></a><e><f/></e><t a='v'>one<!--c-->two</t></r>",
    );
    let cx = Mock::default()
        .with(Scope::Default, "s", "str")
        .with_value(Scope::Default, "i", PropertyValue::Number(123.0))
        .with_value(Scope::Default, "b", PropertyValue::Boolean(true));
    let eq = |e: &str, want: Option<&str>| assert_eq!(syn(&d, &cx, e).as_deref(), want, "{e}");
    // A lone element: its own text, trimmed (NBSP too); no own text: serialized.
    eq("/r/a[1]", Some("hi"));
    eq("/r/a[2]", Some("x"));
    eq("/r/e", Some("<e></e>"));
    eq("/r/t", Some("onetwo"));
    // Several nodes: all of them, elements serialized.
    eq("/r/a", Some("<a>hi</a><a>xy</a>"));
    eq("/r/a/text()", Some(" hi\u{a0}x"));
    eq("/r/t/@a", Some("v"));
    eq("/r/t/comment()", Some(""));
    eq("/", Some("<r> hi\u{a0}xyonetwo</r>"));
    // node(): a lone text node stands for its parent, which is serialized.
    eq("/r/a[2]/node()[1]", Some("<a>xy</a>"));
    eq("/r/missing", Some(""));
    // Atomic results.
    eq("count(/r/a)", Some("2.0"));
    eq("string(count(/r/a))", Some("2"));
    eq("1 div 4", Some("0.25"));
    eq("/r/a = 'xy'", Some("true"));
    eq("concat('a', 'b')", Some("ab"));
    // Property values come back as stored; a missing one is null.
    eq("$ctx:s", Some("str"));
    eq("$ctx:i", Some("123"));
    eq("get-property('i')", Some("123"));
    eq("$ctx:b", Some("true"));
    eq("$ctx:missing", None);
    eq("get-property('missing')", None);
    eq("get-property('system', 'missing')", Some(""));
}
