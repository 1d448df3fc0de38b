//! The `Dom` implementation: document order of ids, links, subtree ranges, string values.

use super::{bench_payloads, compat_bodies, parse};
use crate::xml::Document;
use crate::xpath::dom::{Dom, NodeId, NodeKind};

/// Checks every structural promise of the `Dom` trait on one document.
fn check_invariants(doc: &Document) {
    let count = doc.node_count() as NodeId;
    assert_eq!(Dom::kind(doc, 0), NodeKind::Root);
    assert_eq!(Dom::parent(doc, 0), None);
    assert_eq!(doc.subtree_end(0), count - 1);
    let mut elements_seen = 0;
    for n in 1..count {
        let parent = Dom::parent(doc, n).unwrap();
        assert!(parent < n, "parent {parent} of {n} must come first");
        let kind = Dom::kind(doc, n);
        // The node lies inside its parent's subtree range.
        assert!(
            n <= doc.subtree_end(parent),
            "{n} outside subtree of {parent}"
        );
        match kind {
            NodeKind::Attribute => {
                assert!(doc.attributes(parent).contains(&n));
                assert_eq!(doc.subtree_end(n), n);
            }
            NodeKind::Namespace => assert_eq!(doc.subtree_end(n), n),
            NodeKind::Element => {
                elements_seen += 1;
                // Attributes sit between the element and its children.
                let first = doc.first_child(n);
                for &a in doc.attributes(n) {
                    assert!(a > n && first.is_none_or(|c| a < c));
                }
                // Namespace nodes are the element's own, with ids past the arena (the one
                // exception to document order, see `Dom::namespaces`).
                for &b in doc.namespaces(n) {
                    assert_eq!(Dom::parent(doc, b), Some(n));
                    assert_eq!(doc.kind(b), NodeKind::Namespace);
                    assert!(b as usize >= doc.nodes.len());
                }
                // Children are linked in increasing id order and end the subtree.
                let mut prev = None;
                let mut c = first;
                let mut last = n;
                while let Some(ch) = c {
                    assert_eq!(Dom::parent(doc, ch), Some(n));
                    assert_eq!(doc.prev_sibling(ch), prev);
                    assert!(ch > last);
                    last = doc.subtree_end(ch);
                    prev = Some(ch);
                    c = doc.next_sibling(ch);
                }
                if first.is_some() {
                    assert_eq!(doc.subtree_end(n), last);
                }
                assert!(doc
                    .namespaces(n)
                    .iter()
                    .any(|&b| doc.local_name(b) == "xml"));
            }
            _ => {
                assert_eq!(doc.first_child(n), None);
                assert_eq!(doc.subtree_end(n), n);
            }
        }
    }
    assert!(elements_seen > 0);
}

#[test]
fn invariants_hold_on_real_bodies() {
    for (_, body) in bench_payloads().into_iter().chain(compat_bodies()) {
        check_invariants(&Document::parse(body).unwrap());
    }
}

#[test]
fn invariants_hold_on_crafted_documents() {
    for s in [
        "<a/>",
        "<!--c--><a x='1'><b y='2' z='3'><c/>t<d/></b><?p q?>u</a><!--d-->",
        r#"<a xmlns="urn:a" xmlns:p="urn:p"><p:b p:x="1" xmlns:q="urn:q"><q:c/></p:b><d xmlns=""/></a>"#,
    ] {
        check_invariants(&parse(s));
    }
}

#[test]
fn names_values_and_string_values() {
    let doc =
        parse(r#"<p:a xmlns:p="urn:p" p:k="v" k2="w">x<b>y<c>z</c></b><!--no--><?t no?>q</p:a>"#);
    let a = doc.root_element();
    assert_eq!(
        (
            doc.local_name(a),
            Dom::prefix(&doc, a),
            doc.namespace_uri(a)
        ),
        ("a", "p", "urn:p")
    );
    assert_eq!(doc.name(a), "p:a");
    let attrs = doc.attributes(a).to_vec();
    assert_eq!(attrs.len(), 2);
    assert_eq!(
        (
            doc.local_name(attrs[0]),
            doc.namespace_uri(attrs[0]),
            &*doc.string_value(attrs[0])
        ),
        ("k", "urn:p", "v")
    );
    assert_eq!(
        (
            doc.local_name(attrs[1]),
            doc.namespace_uri(attrs[1]),
            &*doc.string_value(attrs[1])
        ),
        ("k2", "", "w")
    );
    assert_eq!(doc.string_value(a), "xyzq");
    assert_eq!(doc.string_value(0), "xyzq");
    let b = doc.child_element(a, "", "b").unwrap();
    assert_eq!(doc.string_value(b), "yz");
    assert_eq!(&doc.source()[doc.source_range(b)], b"<b>y<c>z</c></b>");
    assert_eq!(&doc.source_slice(attrs[0])[..], b"p:k=\"v\"");
    let ns = doc
        .namespaces(a)
        .iter()
        .copied()
        .find(|&b| doc.local_name(b) == "p")
        .unwrap();
    assert_eq!(
        (
            Dom::kind(&doc, ns),
            &*doc.string_value(ns),
            Dom::parent(&doc, ns)
        ),
        (NodeKind::Namespace, "urn:p", Some(a))
    );
    let kinds: Vec<_> = doc.children(a).map(|c| doc.kind(c)).collect();
    assert_eq!(
        kinds,
        [
            NodeKind::Text,
            NodeKind::Element,
            NodeKind::Comment,
            NodeKind::ProcessingInstruction,
            NodeKind::Text
        ]
    );
}

#[test]
fn empty_cdata_makes_no_text_node() {
    let doc = parse("<a><![CDATA[]]><b/></a>");
    let kids: Vec<_> = doc.children(doc.root_element()).collect();
    assert_eq!(kids.len(), 1);
    assert_eq!(doc.kind(kids[0]), NodeKind::Element);
}

/// Regression (issue 12, item 6): a quadratic expression on a 100 KB body held its shard for
/// seconds. Every evaluation has a work budget that grows with the document: linear
/// expressions finish, quadratic ones fail with `EvalError::Budget` after a bounded amount of
/// work.
#[test]
fn evaluation_work_is_bounded_by_the_document_size() {
    use crate::xpath::{compile, EvalError, NoContext, Value};
    let mut xml = String::from("<r>");
    for i in 0..3000 {
        xml.push_str(&format!("<order><symbol>S{i}</symbol></order>"));
    }
    xml.push_str("</r>");
    let doc = crate::xml::Document::parse(bytes::Bytes::from(xml)).unwrap();
    let root = doc.root_element();
    let eval = |e: &str| compile(e, &[]).unwrap().evaluate(&doc, &NoContext, root);
    // Linear, even several passes over the document: answered.
    for (e, want) in [
        ("count(//*)", 6001.0),
        ("count(//order[symbol = 'S2999'])", 1.0),
        ("count(//symbol[starts-with(., 'S1')])", 1111.0),
        (
            "string-length(string(/)) + count(//order/symbol) + count(//*[last()])",
            13890.0 + 3000.0 + 3002.0,
        ),
    ] {
        match eval(e) {
            Ok(Value::Number(n)) => assert_eq!(n, want, "{e}"),
            other => panic!("{e}: {other:?}"),
        }
    }
    // Quadratic: refused, whichever way the work grows (tree moves, string-values).
    for e in [
        "count(//*[. = //*])",
        "count(//*[count(preceding::*) >= 0])",
        "count(//order[contains(/, 'x')])",
        "count(//*[count(ancestor-or-self::*/descendant::*) > 0])",
    ] {
        assert!(matches!(eval(e), Err(EvalError::Budget)), "{e}");
    }
}

/// Regression (issue 12, item 17): every element has its own namespace nodes, one per prefix in
/// scope plus `xml` (XPath 1.0 §5.4), so `count(//namespace::*)` counts them per element.
#[test]
fn namespace_nodes_belong_to_each_element_in_scope() {
    use crate::xpath::{compile, NoContext, Value};
    let doc = crate::xml::Document::parse(bytes::Bytes::from_static(
        b"<r xmlns:a=\"urn:a\"><x/><y xmlns:b=\"urn:b\"><z/></y></r>",
    ))
    .unwrap();
    let root = doc.root_element();
    let eval = |e: &str| compile(e, &[]).unwrap().evaluate(&doc, &NoContext, root);
    for (e, want) in [
        // r: xml a; x: xml a; y: xml a b; z: xml a b.
        ("count(//namespace::*)", 10.0),
        ("count(//namespace::a)", 4.0),
        ("count(//namespace::b)", 2.0),
        ("count(/r/x/namespace::*)", 2.0),
        ("count(//z/namespace::*/..)", 1.0),
        ("count(//namespace::*[. = 'urn:a'])", 4.0),
    ] {
        match eval(e) {
            Ok(Value::Number(n)) => assert_eq!(n, want, "{e}"),
            other => panic!("{e}: {other:?}"),
        }
    }
    // Outside XPath too, such a node belongs to its element and reads as its declaration.
    let x = doc.child_elements(root).next().unwrap();
    for &ns in Dom::namespaces(&doc, x) {
        assert_eq!(doc.parent(ns), Some(x));
        assert_eq!(doc.kind(ns), NodeKind::Namespace);
        assert!(
            ["urn:a", "http://www.w3.org/XML/1998/namespace"].contains(&doc.value(ns)),
            "{}",
            doc.value(ns)
        );
    }
}
