//! Parsing: real payloads, namespaces, references and CDATA, safety limits, error positions.

use bytes::Bytes;

use super::{bench_payloads, borrowed_from, compat_bodies, parse, parse_err};
use crate::xml::{Document, ParseOptions, XmlErrorKind, XML_NS};
use crate::xpath::dom::{Dom, NodeKind};

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";

#[test]
fn bench_payloads_parse_without_copying_anything() {
    for (name, body) in bench_payloads() {
        let doc = Document::parse(body.clone()).unwrap();
        let root = doc.root_element();
        assert_eq!(
            (doc.ns(root), doc.local(root)),
            (SOAP11, "Envelope"),
            "{name}"
        );
        let text = std::str::from_utf8(&body).unwrap();
        let orders = (0..doc.node_count() as u32)
            .filter(|&n| doc.kind(n) == NodeKind::Element && doc.local(n) == "order");
        assert_eq!(orders.count(), text.matches("<order>").count(), "{name}");
        // Nothing needed unescaping: the side buffer holds only the built-in `xml` binding.
        assert_eq!(doc.strs.len(), "xml".len() + XML_NS.len(), "{name}");
        for n in 0..doc.node_count() as u32 {
            if matches!(doc.kind(n), NodeKind::Text | NodeKind::Attribute) {
                assert!(borrowed_from(doc.value(n), &body), "{name}: node {n}");
            }
        }
    }
}

#[test]
fn compat_bodies_parse() {
    for (name, body) in compat_bodies() {
        let doc = Document::parse(body.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(doc.node_count() > 2, "{name}");
    }
}

#[test]
fn namespaces_default_redeclared_and_undeclared() {
    let doc = parse(
        r#"<a xmlns="urn:d" xmlns:p="urn:p" at="1" p:at="2"><b/><p:c xmlns:p="urn:p2"><d xmlns=""/><p:e/></p:c><p:f/></a>"#,
    );
    let a = doc.root_element();
    let by_local = |l: &str| {
        (0..doc.node_count() as u32)
            .find(|&n| doc.kind(n) == NodeKind::Element && doc.local(n) == l)
            .unwrap()
    };
    assert_eq!(doc.ns(a), "urn:d");
    assert_eq!(doc.ns(by_local("b")), "urn:d");
    assert_eq!(
        (doc.prefix(by_local("c")), doc.ns(by_local("c"))),
        ("p", "urn:p2")
    );
    assert_eq!(doc.ns(by_local("d")), "");
    assert_eq!(doc.ns(by_local("e")), "urn:p2");
    assert_eq!(doc.ns(by_local("f")), "urn:p");
    // Unprefixed attributes have no namespace, whatever the default namespace.
    assert_eq!(doc.attribute(a, "", "at"), Some("1"));
    assert_eq!(doc.attribute(a, "urn:d", "at"), None);
    assert_eq!(doc.attribute(a, "urn:p", "at"), Some("2"));
    // xmlns declarations are not attributes.
    assert_eq!(doc.attribute_nodes(a).len(), 2);
    // In-scope namespace nodes: xml, default, p — and after redeclaration p is the inner one.
    let scope = |n| {
        let mut v: Vec<(String, String)> = doc
            .namespaces(n)
            .iter()
            .map(|&b| (doc.local_name(b).to_string(), doc.value(b).to_string()))
            .collect();
        v.sort();
        v
    };
    let pair = |p: &str, u: &str| (p.to_string(), u.to_string());
    assert_eq!(
        scope(a),
        [pair("", "urn:d"), pair("p", "urn:p"), pair("xml", XML_NS)]
    );
    assert_eq!(
        scope(by_local("c")),
        [pair("", "urn:d"), pair("p", "urn:p2"), pair("xml", XML_NS)]
    );
    assert_eq!(
        scope(by_local("d")),
        [pair("p", "urn:p2"), pair("xml", XML_NS)]
    );
    // Elements that declare nothing have the same bindings as their parent, in namespace nodes
    // of their own.
    assert_eq!(scope(by_local("b")), scope(a));
    assert!(doc
        .namespaces(by_local("b"))
        .iter()
        .all(|n| !doc.namespaces(a).contains(n)));
}

#[test]
fn xml_prefix_is_predeclared() {
    let doc = parse(r#"<a xml:lang="en" xmlns:xml="http://www.w3.org/XML/1998/namespace"/>"#);
    assert_eq!(
        doc.attribute(doc.root_element(), XML_NS, "lang"),
        Some("en")
    );
}

#[test]
fn references_cdata_and_line_ends() {
    let src = "<a t=\"x&amp;y &#x263A;\tz\r\nw&#10;\">1 &lt; 2 &amp;&amp; &#65;<![CDATA[<raw&>]]>end\r\nnext</a>";
    let doc = parse(src);
    let a = doc.root_element();
    assert_eq!(doc.attribute(a, "", "t"), Some("x&y \u{263A} z w\n"));
    let kids: Vec<_> = doc.children(a).collect();
    assert_eq!(
        kids.len(),
        1,
        "text, references and CDATA form one text node"
    );
    assert_eq!(doc.value(kids[0]), "1 < 2 && A<raw&>end\nnext");
    assert_eq!(doc.text_content(a), "1 < 2 && A<raw&>end\nnext");
    // The raw range covers everything as written.
    assert_eq!(
        &src[doc.source_range(kids[0])],
        "1 &lt; 2 &amp;&amp; &#65;<![CDATA[<raw&>]]>end\r\nnext"
    );
}

#[test]
fn plain_text_and_cdata_alone_are_borrowed() {
    let src = Bytes::from_static(b"<a><b>plain</b><c><![CDATA[x < y]]></c><d>a&amp;b</d></a>");
    let doc = Document::parse(src.clone()).unwrap();
    let texts: Vec<_> = (0..doc.node_count() as u32)
        .filter(|&n| doc.kind(n) == NodeKind::Text)
        .collect();
    assert_eq!(
        texts.iter().map(|&t| doc.value(t)).collect::<Vec<_>>(),
        ["plain", "x < y", "a&b"]
    );
    assert!(borrowed_from(doc.value(texts[0]), &src));
    assert!(borrowed_from(doc.value(texts[1]), &src));
    assert!(!borrowed_from(doc.value(texts[2]), &src));
    assert!(matches!(
        doc.text_content(doc.root_element()),
        std::borrow::Cow::Owned(_)
    ));
    assert!(matches!(
        doc.text_content(texts[0] - 1),
        std::borrow::Cow::Borrowed("plain")
    ));
}

#[test]
fn comments_pis_and_prolog() {
    let doc = parse("\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- top -->\n<?style x?>\n<a><!--in--><?pi   data ?></a>\n<!--after-->\n");
    let top: Vec<_> = doc.children(0).map(|c| doc.kind(c)).collect();
    assert_eq!(
        top,
        [
            NodeKind::Comment,
            NodeKind::ProcessingInstruction,
            NodeKind::Element,
            NodeKind::Comment
        ]
    );
    let a = doc.root_element();
    let inner: Vec<_> = doc.children(a).collect();
    assert_eq!(doc.value(inner[0]), "in");
    assert_eq!(
        (doc.local_name(inner[1]), doc.value(inner[1])),
        ("pi", "data ")
    );
    // Offsets count the byte-order mark.
    assert_eq!(
        &doc.source()[doc.source_range(a)],
        b"<a><!--in--><?pi   data ?></a>"
    );
}

#[test]
fn doctype_and_entities_are_refused() {
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#;
    assert_eq!(parse_err(laughs).kind, XmlErrorKind::DocType);
    let xxe = r#"<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>"#;
    assert_eq!(parse_err(xxe).kind, XmlErrorKind::DocType);
    let e = parse_err("<foo>&xxe;</foo>");
    assert_eq!((e.kind, e.offset), (XmlErrorKind::Entity, 5));
    assert_eq!(parse_err("<foo a='&xxe;'/>").kind, XmlErrorKind::Entity);
    assert_eq!(parse_err("<foo>&#0;</foo>").kind, XmlErrorKind::Entity);
    assert_eq!(parse_err("<foo>&#xD800;</foo>").kind, XmlErrorKind::Entity);
    assert_eq!(parse_err("<foo>&#x1;</foo>").kind, XmlErrorKind::Entity);
}

#[test]
fn depth_and_node_limits() {
    let nested = |depth: usize| "<a>".repeat(depth) + &"</a>".repeat(depth);
    assert!(Document::parse(Bytes::from(nested(512))).is_ok());
    let e = parse_err(&nested(513));
    assert_eq!((e.kind, e.offset), (XmlErrorKind::Limit, 512 * 3));
    let opts = ParseOptions {
        max_depth: 4,
        ..ParseOptions::default()
    };
    assert!(Document::parse_with(Bytes::from(nested(4)), &opts).is_ok());
    assert!(Document::parse_with(Bytes::from(nested(5)), &opts).is_err());
    let opts = ParseOptions {
        max_nodes: 100,
        ..ParseOptions::default()
    };
    let wide = format!("<r>{}</r>", "<x/>".repeat(200));
    assert_eq!(
        Document::parse_with(Bytes::from(wide), &opts)
            .unwrap_err()
            .kind,
        XmlErrorKind::Limit
    );
    let opts = ParseOptions {
        max_attributes: 3,
        ..ParseOptions::default()
    };
    let e = Document::parse_with(Bytes::from_static(b"<r a='1' b='2' c='3' d='4'/>"), &opts)
        .unwrap_err();
    assert_eq!(e.kind, XmlErrorKind::Limit);
}

#[test]
fn malformed_input_reports_line_and_column() {
    let e = parse_err("<a>\n  <b></c>\n</a>");
    assert_eq!(
        (e.line, e.col, e.offset, e.kind),
        (2, 6, 9, XmlErrorKind::Syntax),
        "{e}"
    );
    assert!(e.message.contains("expected </b>"), "{e}");
    let e = parse_err("<a>\n<b>\n");
    assert_eq!((e.line, e.col), (3, 1), "{e}");
    assert!(e.message.contains("unclosed element <b>"), "{e}");
    let e = parse_err("<a>\n  <é>x</é>\n  <b x='1' x='2'/></a>");
    assert_eq!((e.line, e.col), (3, 3), "columns count characters: {e}");
    assert!(e.message.contains("duplicate"), "{e}");
    let e = parse_err("<a x='<'/>");
    assert_eq!(e.kind, XmlErrorKind::Syntax);
    let e = parse_err("<a/><b/>");
    assert!(e.message.contains("more than one root"), "{e}");
    let e = parse_err("<a/>junk");
    assert!(e.message.contains("outside the root"), "{e}");
    let e = parse_err("  ");
    assert!(e.message.contains("no root"), "{e}");
    let e = parse_err("<p:a/>");
    assert_eq!(e.kind, XmlErrorKind::Namespace);
    let e = parse_err("<a p:x='1'/>");
    assert_eq!(e.kind, XmlErrorKind::Namespace);
    let e = parse_err("<a xmlns:p=''/>");
    assert_eq!(e.kind, XmlErrorKind::Namespace);
    // Same expanded name through two prefixes.
    let e = parse_err("<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>");
    assert!(e.message.contains("duplicate"), "{e}");
    let e = parse_err("<a>\n<b attr/></a>");
    assert_eq!((e.line, e.kind), (2, XmlErrorKind::Syntax), "{e}");
    let e = parse_err("</a>");
    assert_eq!((e.line, e.col), (1, 1), "{e}");
    let e = parse_err("<a>x & y</a>");
    assert_eq!((e.line, e.col), (1, 6), "{e}");
    let e = Document::parse(Bytes::from_static(b"<a>\xff\xfe</a>")).unwrap_err();
    assert_eq!(e.kind, XmlErrorKind::Encoding);
    assert!(e.to_string().contains("line 1, column"), "{e}");
}

#[test]
fn many_attributes_duplicate_check() {
    let attrs: String = (0..200).map(|i| format!(" a{i}='{i}'")).collect();
    let doc = parse(&format!("<r{attrs}/>"));
    assert_eq!(doc.attribute_nodes(doc.root_element()).len(), 200);
    assert_eq!(doc.attribute(doc.root_element(), "", "a199"), Some("199"));
    let e = parse_err(&format!("<r{attrs} a7='x'/>"));
    assert!(e.message.contains("duplicate"), "{e}");
}
