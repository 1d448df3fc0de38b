//! Axes, node tests, predicates, positions, unions and document order.

use super::dom::TestDom;
use super::{labels_from, sel};

const DOC: &str = r#"<r xmlns:x="urn:x"><a id="1" x:k="v"><b>t1</b><b>t1b</b><c><d/>t2</c></a><!--k--><?p v?><e><f/></e></r>"#;

fn doc() -> TestDom {
    TestDom::parse(DOC)
}

fn from(d: &TestDom, name: &str, expr: &str) -> String {
    labels_from(d, d.find(name), expr).join(" ")
}

#[test]
fn child_axis_and_node_tests() {
    let d = doc();
    assert_eq!(sel(&d, "/r/*"), "a e");
    assert_eq!(sel(&d, "/r/node()"), "a #comment ?p e");
    assert_eq!(sel(&d, "/r/child::comment()"), "#comment");
    assert_eq!(sel(&d, "/r/processing-instruction()"), "?p");
    assert_eq!(sel(&d, "/r/processing-instruction('p')"), "?p");
    assert_eq!(sel(&d, "/r/processing-instruction('q')"), "");
    assert_eq!(sel(&d, "/r/a/b/text()"), "\"t1\" \"t1b\"");
    assert_eq!(sel(&d, "/r/a/c/node()"), "d \"t2\"");
    assert_eq!(sel(&d, "/"), "/");
    assert_eq!(sel(&d, "/*"), "r");
    assert_eq!(sel(&d, "r"), "r");
}

#[test]
fn descendant_axes() {
    let d = doc();
    assert_eq!(sel(&d, "/r/descendant::*"), "a b b c d e f");
    assert_eq!(sel(&d, "//*"), "r a b b c d e f");
    assert_eq!(sel(&d, "//text()"), "\"t1\" \"t1b\" \"t2\"");
    assert_eq!(from(&d, "a", "descendant-or-self::*"), "a b b c d");
    assert_eq!(
        from(&d, "a", "descendant::node()"),
        "b \"t1\" b \"t1b\" c d \"t2\""
    );
    assert_eq!(sel(&d, "/r/a//d"), "d");
    assert_eq!(sel(&d, "//a//*"), "b b c d");
    // Nested context nodes must not duplicate results.
    assert_eq!(sel(&d, "//*//d"), "d");
    assert_eq!(sel(&d, "//*/descendant-or-self::c"), "c");
    assert_eq!(sel(&d, "//@id"), "@id");
    assert_eq!(sel(&d, "/descendant-or-self::node()/@*"), "@id @k");
}

#[test]
fn parent_and_ancestor_axes() {
    let d = doc();
    assert_eq!(from(&d, "d", ".."), "c");
    assert_eq!(from(&d, "d", "parent::c"), "c");
    assert_eq!(from(&d, "d", "parent::a"), "");
    assert_eq!(sel(&d, "/r/a/@id/.."), "a");
    assert_eq!(sel(&d, "/.."), "");
    assert_eq!(from(&d, "d", "ancestor::*"), "r a c");
    assert_eq!(from(&d, "d", "ancestor::node()"), "/ r a c");
    assert_eq!(from(&d, "d", "ancestor::*[1]"), "c");
    assert_eq!(from(&d, "d", "ancestor::*[last()]"), "r");
    assert_eq!(from(&d, "d", "ancestor-or-self::*"), "r a c d");
    assert_eq!(from(&d, "d", "ancestor-or-self::*[2]"), "c");
    assert_eq!(sel(&d, "/r/a/@id/ancestor::*"), "r a");
}

#[test]
fn sibling_axes() {
    let d = doc();
    assert_eq!(sel(&d, "/r/a/b[1]/following-sibling::*"), "b c");
    assert_eq!(sel(&d, "/r/a/following-sibling::node()"), "#comment ?p e");
    assert_eq!(from(&d, "e", "preceding-sibling::node()"), "a #comment ?p");
    assert_eq!(from(&d, "e", "preceding-sibling::node()[1]"), "?p");
    assert_eq!(from(&d, "e", "preceding-sibling::*[1]"), "a");
    assert_eq!(sel(&d, "/r/a/c/preceding-sibling::b[1]"), "b");
    assert_eq!(sel(&d, "/r/a/c/preceding-sibling::b[1]/text()"), "\"t1b\"");
    assert_eq!(sel(&d, "/r/a/@id/following-sibling::node()"), "");
    assert_eq!(sel(&d, "/r/a/@id/preceding-sibling::node()"), "");
}

#[test]
fn following_and_preceding_axes() {
    let d = doc();
    assert_eq!(sel(&d, "/r/a/c/following::*"), "e f");
    assert_eq!(
        sel(&d, "/r/a/b[2]/following::node()"),
        "c d \"t2\" #comment ?p e f"
    );
    assert_eq!(from(&d, "d", "preceding::*"), "b b");
    assert_eq!(from(&d, "d", "preceding::node()"), "b \"t1\" b \"t1b\"");
    assert_eq!(from(&d, "d", "preceding::node()[1]"), "\"t1b\"");
    assert_eq!(from(&d, "d", "preceding::*[1]"), "b");
    assert_eq!(from(&d, "f", "preceding::node()[last()]"), "a");
    // From an attribute, both axes start at the owner element (as in Jaxen and libxml2).
    assert_eq!(sel(&d, "/r/a/@id/following::*"), "e f");
    assert_eq!(sel(&d, "/r/a/@id/following::node()[1]"), "#comment");
    assert_eq!(sel(&d, "/r/e/f/preceding::*"), "a b b c d");
    assert_eq!(sel(&d, "/r/a/@k/preceding::node()"), "");
}

#[test]
fn attribute_namespace_and_self_axes() {
    let d = doc();
    assert_eq!(sel(&d, "/r/a/@*"), "@id @k");
    assert_eq!(sel(&d, "/r/a/@id"), "@id");
    assert_eq!(sel(&d, "/r/a/attribute::x:k"), "@k");
    assert_eq!(sel(&d, "/r/a/@x:*"), "@k");
    assert_eq!(
        sel(&d, "/r/a/@k"),
        "",
        "unprefixed attribute names have no namespace"
    );
    assert_eq!(sel(&d, "/r/a/@node()"), "@id @k");
    assert_eq!(sel(&d, "/r/namespace::*"), "ns:xml ns:x");
    assert_eq!(sel(&d, "/r/namespace::x"), "ns:x");
    assert_eq!(sel(&d, "/r/a/b/@*"), "");
    assert_eq!(sel(&d, "/r/a/self::a"), "a");
    assert_eq!(sel(&d, "/r/a/self::b"), "");
    assert_eq!(sel(&d, "/r/a/."), "a");
    assert_eq!(sel(&d, "/r/a/self::node()/b"), "b b");
    assert_eq!(sel(&d, "/r/a/@id/self::node()"), "@id");
    assert_eq!(sel(&d, "/r/a/@id/descendant-or-self::node()"), "@id");
    assert_eq!(sel(&d, "/r/a/@id/child::node()"), "");
}

#[test]
fn predicates_and_positions() {
    let d = TestDom::parse(
        "<r><p><i n='1'/><i n='2'/><i n='3'/></p><p><i n='4'/><i n='5'/></p><i n='6'/></r>",
    );
    let ids = |e: &str| -> String {
        let x = crate::xpath::compile(e, &[]).unwrap();
        x.evaluate_nodes(&d, &super::Mock::default(), 0)
            .unwrap()
            .iter()
            .map(|&n| crate::xpath::Dom::string_value(&d, n).into_owned())
            .map(|v| if v.is_empty() { "-".into() } else { v })
            .collect::<Vec<_>>()
            .join(",")
    };
    let attr = |e: &str| ids(&format!("{e}/@n"));
    assert_eq!(attr("//i[1]"), "1,4,6");
    assert_eq!(attr("(//i)[1]"), "1");
    assert_eq!(attr("(//i)[last()]"), "6");
    assert_eq!(attr("//i[last()]"), "3,5,6");
    assert_eq!(attr("/r/p/i[2]"), "2,5");
    assert_eq!(attr("/r/p/i[position() = 2]"), "2,5");
    assert_eq!(attr("/r/p/i[position() > 1]"), "2,3,5");
    assert_eq!(attr("//i[position() mod 2 = 1]"), "1,3,4,6");
    assert_eq!(attr("//i[@n > 2][1]"), "3,4,6");
    assert_eq!(attr("(//i[@n > 2])[2]"), "4");
    assert_eq!(attr("//i[@n = '5']"), "5");
    assert_eq!(attr("/r/p[2]/i"), "4,5");
    assert_eq!(attr("/r/p[i/@n = 2]/i[last()]"), "3");
    assert_eq!(attr("//i[3 - 1]"), "2,5");
    assert_eq!(attr("//i[1.5]"), "");
    assert_eq!(attr("//i[0]"), "");
    assert_eq!(attr("//i[true()]"), "1,2,3,4,5,6");
    assert_eq!(attr("//i[false()]"), "");
    assert_eq!(attr("//i['']"), "");
    assert_eq!(attr("//i['x']"), "1,2,3,4,5,6");
    assert_eq!(attr("/r/p/i[2][1]"), "2,5");
    assert_eq!(attr("/r/p/i[1][2]"), "");
    assert_eq!(attr("//i[last() - 1]"), "2,4");
    assert_eq!(attr("/r/p/i[last()][@n > 4]"), "5");
    assert_eq!(attr("//p/i[position() = last()]"), "3,5");
    assert_eq!(attr("/r/p[1]/i[3]/preceding-sibling::i[1]"), "2");
    assert_eq!(attr("/r/p[1]/i[3]/preceding-sibling::i[last()]"), "1");
    assert_eq!(ids("/r/p[1]/i[3]/ancestor-or-self::*[2]"), "-");
}

#[test]
fn union_and_document_order() {
    let d = doc();
    assert_eq!(sel(&d, "//e | //a"), "a e");
    assert_eq!(sel(&d, "/r/a/c/d | /r/a"), "a d");
    assert_eq!(sel(&d, "//a | /r/a | /r/*[1]"), "a");
    assert_eq!(sel(&d, "/r/a/@id | /r/a | /r/a/b[1]"), "a @id b");
    assert_eq!(sel(&d, "(//b | //c)[2]"), "b");
    assert_eq!(sel(&d, "(//d | //b)[last()]"), "d");
    assert_eq!(
        sel(&d, "//comment() | //processing-instruction() | /r/e"),
        "#comment ?p e"
    );
    // Reverse-axis results are still returned in document order.
    assert_eq!(from(&d, "d", "preceding::* | ancestor::*"), "r a b b c");
}

#[test]
fn filter_expressions() {
    let d = doc();
    assert_eq!(sel(&d, "(/r/a/*)[2]"), "b");
    assert_eq!(sel(&d, "(/r/a/*)[last()]/d"), "d");
    assert_eq!(sel(&d, "(//b)[1]/text()"), "\"t1\"");
    assert_eq!(sel(&d, "(/r//node())[3]"), "\"t1\"");
    assert_eq!(sel(&d, "(//*)[position() > 6]"), "e f");
}
