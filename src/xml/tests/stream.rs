//! The streaming matcher against a tree walk with plain XPath semantics, on real and crafted
//! documents, plus the syntax it accepts and refuses.

use std::borrow::Cow;

use bytes::Bytes;

use super::{bench_payloads, borrowed_from, compat_bodies, gen_document, Rng};
use crate::xml::{Document, StreamAxis, StreamPath, StreamTarget, XmlErrorKind};
use crate::xpath::dom::{Dom, NodeId, NodeKind};

fn prefixes(p: &str) -> Option<&'static str> {
    Some(match p {
        "soapenv" => "http://schemas.xmlsoap.org/soap/envelope/",
        "soap12" => "http://www.w3.org/2003/05/soap-envelope",
        "m" => "http://services.samples/xsd",
        "ns" => "http://services.samples",
        "r" => "http://someuri",
        "wsa" => "http://www.w3.org/2005/08/addressing",
        "p" => "urn:p",
        "d" => "urn:d",
        _ => return None,
    })
}

fn path(expr: &str) -> StreamPath {
    StreamPath::parse(expr, prefixes).unwrap_or_else(|| panic!("not a stream path: {expr}"))
}

/// Evaluates the path on the tree the plain XPath way: node-sets step by step; returns the
/// selected nodes in document order.
fn tree_nodes(doc: &Document, p: &StreamPath) -> Vec<NodeId> {
    let mut set: Vec<NodeId> = vec![0];
    for step in p.steps() {
        let contexts: Vec<NodeId> = match step.axis {
            StreamAxis::Child => set.clone(),
            // descendant-or-self::node() of every context node.
            StreamAxis::Descendant => {
                let mut v: Vec<NodeId> = set
                    .iter()
                    .flat_map(|&c| {
                        (c..=doc.subtree_end(c)).filter(|&n| {
                            matches!(Dom::kind(doc, n), NodeKind::Element | NodeKind::Root)
                        })
                    })
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            }
        };
        let mut next = Vec::new();
        for c in contexts {
            let matching = doc.child_elements(c).filter(|&e| {
                step.local.as_deref().is_none_or(|l| doc.local(e) == l)
                    && step.ns.as_deref().is_none_or(|n| doc.ns(e) == n)
            });
            match step.position {
                Some(pos) => next.extend(matching.skip(pos.get() as usize - 1).take(1)),
                None => next.extend(matching),
            }
        }
        next.sort_unstable();
        next.dedup();
        set = next;
    }
    let mut out: Vec<NodeId> = match p.target() {
        StreamTarget::Element => set,
        StreamTarget::Text => set
            .iter()
            .flat_map(|&e| {
                doc.children(e)
                    .filter(|&c| Dom::kind(doc, c) == NodeKind::Text)
            })
            .collect(),
        StreamTarget::Attribute { ns, local } => set
            .iter()
            .filter_map(|&e| doc.attribute_node(e, ns, local))
            .collect(),
    };
    out.sort_unstable();
    out
}

fn tree_eval(doc: &Document, p: &StreamPath) -> Option<String> {
    tree_nodes(doc, p)
        .first()
        .map(|&n| doc.string_value(n).into_owned())
}

/// Checks `for_each_match` against the tree: same nodes, values, ranges and direct text.
fn agree_all(name: &str, body: &Bytes, doc: &Document, p: &StreamPath) -> usize {
    let mut got = Vec::new();
    p.for_each_match(body, |m| {
        got.push(m);
        std::ops::ControlFlow::Continue(())
    })
    .unwrap_or_else(|e| panic!("{name} {p:?}: {e}"));
    let want = tree_nodes(doc, p);
    assert_eq!(got.len(), want.len(), "{name}: {p:?}");
    for (m, &n) in got.iter().zip(&want) {
        assert_eq!(m.value, doc.string_value(n), "{name}: {p:?}");
        match Dom::kind(doc, n) {
            NodeKind::Attribute => {
                let raw = doc.source_range(n);
                assert!(
                    m.range.start > raw.start && m.range.end == raw.end - 1,
                    "{name}: {p:?}"
                );
                assert_eq!(m.direct_text, m.value);
            }
            NodeKind::Text => {
                assert_eq!(m.range, doc.source_range(n), "{name}: {p:?}");
                assert_eq!(m.direct_text, m.value);
            }
            _ => {
                assert_eq!(m.range, doc.source_range(n), "{name}: {p:?}");
                let direct: String = doc
                    .children(n)
                    .filter(|&c| Dom::kind(doc, c) == NodeKind::Text)
                    .map(|c| doc.value(c))
                    .collect();
                assert_eq!(m.direct_text, direct, "{name}: {p:?}");
            }
        }
    }
    got.len()
}

fn agree(name: &str, body: &Bytes, exprs: &[&str]) -> usize {
    let doc = Document::parse(body.clone()).unwrap();
    let mut found = 0;
    for expr in exprs {
        let p = path(expr);
        let streamed = p
            .first_string(body)
            .unwrap_or_else(|e| panic!("{name} {expr}: {e}"));
        let walked = tree_eval(&doc, &p);
        assert_eq!(streamed.as_deref(), walked.as_deref(), "{name}: {expr}");
        agree_all(name, body, &doc, &p);
        found += usize::from(walked.is_some());
    }
    found
}

const BENCH_PATHS: &[&str] = &[
    "//order[1]/symbol",
    "//order[2]/price",
    "//order[3]/volume/text()",
    "//order/symbol",
    "//symbol",
    "//symbol/text()",
    "//buyerID[1]",
    "//order[7]/buyerID",
    "//order[100]/symbol",
    "//order[1000]/symbol",
    "/soapenv:Envelope/soapenv:Header/r:routing",
    "/soapenv:Envelope/soapenv:Header/r:routing/text()",
    "/soapenv:Envelope/soapenv:Header/routing",
    "/soapenv:Envelope/soapenv:Body/m:buyStocks/order[2]/symbol",
    "/soapenv:Envelope/soapenv:Body/*[1]/order[4]/price",
    "/soapenv:Envelope/soapenv:Body/*[2]",
    "/soapenv:Envelope/*[2]/*/*[3]/*[2]",
    "/*/*",
    "/*/*[1]",
    "/*/*[2]/text()",
    "/soapenv:Envelope",
    "/soapenv:Envelope/soapenv:Body/m:buyStocks",
    "//m:*",
    "//soapenv:*[2]",
    "//r:*/text()",
    "/soapenv:Envelope//price",
    "/soapenv:Envelope//m:buyStocks//volume[1]",
    "//m:buyStocks/order",
    "//m:buyStocks/order/@id",
    "//soapenv:Body",
    "/Envelope/Body",
    "/soap12:Envelope/soap12:Body",
    "//order[2]//text()/..",
];

#[test]
fn agrees_with_tree_on_bench_payloads() {
    for (name, body) in bench_payloads() {
        let exprs: Vec<&str> = BENCH_PATHS
            .iter()
            .copied()
            .filter(|e| !e.contains(".."))
            .collect();
        let found = agree(&name, &body, &exprs);
        assert!(found >= 20, "{name}: only {found} paths matched");
    }
    let body = &bench_payloads()[1].1;
    assert_eq!(
        path("//order[1]/symbol")
            .first_string(body)
            .unwrap()
            .as_deref(),
        Some("N")
    );
    let big = &bench_payloads()[3].1;
    assert_eq!(
        path("//order[1]/symbol")
            .first_string(big)
            .unwrap()
            .as_deref(),
        Some("MSFT")
    );
    assert_eq!(
        path("/soapenv:Envelope/soapenv:Header/r:routing")
            .first_string(big)
            .unwrap()
            .as_deref(),
        Some("xadmin;server1;community#1.0##")
    );
}

#[test]
fn answers_are_borrowed_when_possible() {
    let body = &bench_payloads()[0].1;
    let v = path("//order[1]/symbol")
        .first_string(body)
        .unwrap()
        .unwrap();
    assert!(matches!(v, Cow::Borrowed(_)) && borrowed_from(&v, body));
    // Text split by a child element must be joined.
    let b = Bytes::from_static(b"<a>x<b>y</b>z</a>");
    assert!(matches!(path("/a").first_string(&b).unwrap(), Some(Cow::Owned(s)) if s == "xyz"));
}

#[test]
fn agrees_with_tree_on_compat_bodies() {
    let exprs = [
        "/soapenv:Envelope/soapenv:Body/ns:getQuote/ns:request/ns:symbol",
        "//ns:symbol",
        "//ns:symbol/text()",
        "/soapenv:Envelope/soapenv:Header/wsa:To",
        "/soapenv:Envelope/soapenv:Header/wsa:Action/text()",
        "/soap12:Envelope/soap12:Body/*[1]",
        "/soap12:Envelope/soap12:Header/*[2]",
        "//location[2]/name",
        "//location/@id",
        "//Station[1]/Name",
        "/*/*[1]",
        "//*[2]",
        "//description",
        "//description/text()",
    ];
    for (name, body) in compat_bodies() {
        agree(&name, &body, &exprs);
    }
}

#[test]
fn agrees_with_tree_on_crafted_documents() {
    let docs = [
        // Nested same names, mixed content, comments splitting text nodes.
        "<a>1<a>2<a>3</a>4</a><!--c-->5<b>6</b></a>",
        // Namespaces: default vs none, redeclaration, attributes.
        r#"<x xmlns="urn:d" xmlns:p="urn:p"><p:y k="1" p:k="2"><z xmlns="">3</z><p:y xmlns:p="urn:q" p:k="9">4</p:y></p:y><y>5</y></x>"#,
        // References, CDATA, empty CDATA, line ends, attributes needing normalization.
        "<r><e a=\"1&amp;2\tx\">a&lt;b<![CDATA[<c>]]>d</e><e><![CDATA[]]><!--x-->t</e><e>l1\r\nl2</e></r>",
        // Positions among same-named siblings at several levels.
        "<r><s><i>a</i><j/><i>b</i></s><s><i>c</i><i>d</i><i>e</i></s><t><s><i>f</i></s></t></r>",
        // Empty elements declaring their own namespaces (in scope for themselves only).
        r#"<x xmlns="urn:d"><y xmlns="urn:p" k="1"/><y k="2"/><p:y xmlns:p="urn:p" p:k="3"/><y/></x>"#,
    ];
    let exprs = [
        "/a",
        "/a/text()",
        "//a/text()",
        "//a[1]/text()",
        "//a/a",
        "//a/a/a",
        "//a[2]",
        "/a/b",
        "/d:x/p:y/@k",
        "/d:x/p:y/@p:k",
        "//p:y/@p:k",
        "//p:y[2]",
        "//d:y",
        "//z",
        "//d:z",
        "/d:x/*/*[2]",
        "//p:y/text()",
        "//*[1]/text()",
        "/*/*[2]",
        "/r/e",
        "/r/e/@a",
        "/r/e/text()",
        "/r/e[2]/text()",
        "/r/e[3]",
        "//e[2]",
        "//s/i[2]",
        "//s[2]/i[3]",
        "/r/s[2]/i[1]",
        "//t//i",
        "/r//s/i[1]/text()",
        "//i[3]",
        "/r/s/*[2]",
        "//p:y",
        "//p:y/@k",
        "//p:y[2]/@p:k",
        "//d:y[2]",
        "/d:x/d:y/@k",
    ];
    for d in docs {
        agree(d, &Bytes::from_static(d.as_bytes()), &exprs);
    }
}

#[test]
fn syntax_accepted_and_refused() {
    let p = path("//order[1]/symbol");
    assert_eq!(p.steps().len(), 2);
    assert_eq!(p.steps()[0].axis, StreamAxis::Descendant);
    assert_eq!(p.steps()[0].ns.as_deref(), Some(""));
    assert_eq!(p.steps()[0].position.map(|n| n.get()), Some(1));
    assert_eq!(path("/p:*/*").steps()[1].ns, None);
    assert_eq!(
        *path("/a/@p:b").target(),
        StreamTarget::Attribute {
            ns: "urn:p".into(),
            local: "b".into()
        }
    );
    for bad in [
        "a/b",
        "/a/..",
        "/a/.",
        "/a[@x]",
        "/a[last()]",
        "/a[0]",
        "/a[+1]",
        "//text()",
        "/text()",
        "/a/text()/b",
        "/a//text()",
        "/a/@b/c",
        "/a/@*",
        "/x:a",
        "/a | /b",
        "/a[1][2]",
        "/child::a",
        "",
        "/",
        "//",
        "/a/",
        "/a b",
        "/a[local-name()='x']",
        "/@a",
    ] {
        assert!(
            StreamPath::parse(bad, prefixes).is_none(),
            "accepted {bad:?}"
        );
    }
    assert!(StreamPath::new(Vec::new(), StreamTarget::Element).is_none());
}

#[test]
fn stops_at_the_first_match_and_refuses_doctype() {
    // Garbage after the first match is read and refused, as the tree refuses it.
    let b = Bytes::from_static(b"<a><b>1</b><b>2</b><<<<not xml");
    let e = path("/a/b").first_string(&b).unwrap_err();
    assert_eq!(e.kind, XmlErrorKind::Syntax);
    let e = path("/a/c").first_string(&b).unwrap_err();
    assert_eq!(e.kind, XmlErrorKind::Syntax);
    let d = Bytes::from_static(b"<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>");
    assert_eq!(
        path("/a").first_string(&d).unwrap_err().kind,
        XmlErrorKind::DocType
    );
    let u = Bytes::from_static(b"<a><b>&bogus;</b><c>1</c></a>");
    assert_eq!(
        path("/a/c").first_string(&u).unwrap_err().kind,
        XmlErrorKind::Entity
    );
    let deep = Bytes::from("<a>".repeat(600));
    assert_eq!(
        path("//z").first_string(&deep).unwrap_err().kind,
        XmlErrorKind::Limit
    );
}

#[test]
fn truncated_input_is_an_error() {
    let b = Bytes::from_static(b"<a><b>1</b>");
    assert_eq!(
        path("/a/c").first_string(&b).unwrap_err().kind,
        XmlErrorKind::Syntax
    );
    // Also past a match: the tree refuses the input, so does the matcher.
    assert_eq!(
        path("/a/b").first_string(&b).unwrap_err().kind,
        XmlErrorKind::Syntax
    );
}

fn all_values(p: &StreamPath, body: &[u8]) -> Result<Vec<String>, crate::xml::XmlError> {
    let mut out = Vec::new();
    p.for_each_match(body, |m| {
        out.push(m.value.into_owned());
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// Matching ends once no later node can be selected (every way to a further match needs an
/// element whose local name no longer occurs in the rest), but the rest is still read and
/// checked by the tokenizer: a malformed tail is an error, whatever names it holds.
#[test]
fn after_the_last_possible_match_the_rest_is_still_checked() {
    let env = |body: &str| {
        Bytes::from(format!(
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><routing xmlns="http://someuri">x</routing></soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
        ))
    };
    let hdr = path("/soapenv:Envelope/soapenv:Header/r:routing");
    assert_eq!(all_values(&hdr, &env("<a>1</a>")).unwrap(), ["x"]);
    for (bad, kind) in [
        ("<a></b>", XmlErrorKind::Syntax),
        ("<a>&bogus;</a>", XmlErrorKind::Entity),
        ("<!DOCTYPE a>", XmlErrorKind::DocType),
        ("<a>\u{0}</a", XmlErrorKind::Syntax),
        ("routing<a></b>", XmlErrorKind::Syntax),
        ("<!--Header routing--><a></b>", XmlErrorKind::Syntax),
    ] {
        assert_eq!(
            all_values(&hdr, &env(bad)).map_err(|e| e.kind),
            Err(kind),
            "{bad}"
        );
    }
    let deep = env(&"<a>".repeat(600));
    assert_eq!(
        all_values(&hdr, &deep).unwrap_err().kind,
        XmlErrorKind::Limit
    );
    let mut bad_utf8 = env("<a>1</a>").to_vec();
    let at = bad_utf8.windows(3).position(|w| w == b">1<").unwrap() + 1;
    bad_utf8[at] = 0xFF;
    assert_eq!(
        all_values(&hdr, &bad_utf8).unwrap_err().kind,
        XmlErrorKind::Encoding
    );
    // `//order[1]/symbol`: after the last `order`, nothing can match; a bad tail still fails.
    let body = |tail: &str| {
        Bytes::from(format!(
            "<r><order><symbol>A</symbol></order><order><symbol>B</symbol></order>{tail}</r>"
        ))
    };
    let sym = path("//order[1]/symbol");
    assert_eq!(all_values(&sym, &body("<x/>")).unwrap(), ["A"]);
    assert_eq!(
        all_values(&sym, &body("<x></y>")).unwrap_err().kind,
        XmlErrorKind::Syntax
    );
    // No `c` anywhere: no match, and still the whole input is checked.
    let b = Bytes::from_static(b"<a><b>1</b><b>2</b><<<<not xml");
    assert_eq!(
        path("/a/c").first_string(&b).unwrap_err().kind,
        XmlErrorKind::Syntax
    );
    assert_eq!(path("/a/c").first_string(b"<a><b>1</b></a>").unwrap(), None);
    // Bytes that are not UTF-8 before an answer are refused before it is given.
    let bad = b"<a><b>\xFF</b><c/><<<".to_vec();
    assert_eq!(
        path("/a/c").first_string(&bad).unwrap_err().kind,
        XmlErrorKind::Encoding
    );
}

/// Documents built to defeat the early stops and the subtree skipping: each must give the
/// tree's answer (all matches, in order).
#[test]
fn early_stops_agree_with_tree_on_adversarial_documents() {
    let docs = [
        // A later `order` that is the first `order` child of another parent, after many that
        // are not; one nested inside a non-first `order`; names in comments, CDATA, attribute
        // values and text between them.
        "<r><a><order><symbol>1</symbol></order><order><symbol>2</symbol></order></a>\
         <!--order--><b x='order'><![CDATA[<order><symbol>no</symbol></order>]]>order\
         <x/><order><symbol>3</symbol><order><symbol>4</symbol></order></order></b>\
         <order><symbol>5</symbol></order></r>",
        // Prefixed names, the same namespace under another prefix, default namespace changes.
        r#"<x xmlns="urn:d" xmlns:p="urn:p"><p:y>1</p:y><z/><q:y xmlns:q="urn:p">2</q:y><y xmlns="urn:p">3</y><y>4</y><w xmlns=""><order>5</order></w><order xmlns="urn:d"><symbol>6</symbol></order></x>"#,
        // A second Header after the Body; a Body holding Header-named elements.
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><r:routing xmlns:r="http://someuri">1</r:routing></s:Header><s:Body><s:Header><r:routing xmlns:r="http://someuri">no</r:routing></s:Header><order><symbol>7</symbol></order></s:Body><s:Header><routing xmlns="http://someuri">2</routing></s:Header></s:Envelope>"#,
        // Skipped subtrees holding the names of later steps; a text target after them.
        "<r><s><t>no</t><u><t>no</t></u></s><t>yes<!--c-->too</t><s><t/></s><t>last</t></r>",
    ];
    let exprs = [
        "//order[1]/symbol",
        "//order/symbol",
        "//order[2]/symbol",
        "//symbol/text()",
        "/r/a/order[1]/symbol",
        "/r/b/order",
        "/d:x/p:y",
        "/d:x/p:y/text()",
        "//p:y",
        "//d:y",
        "//y",
        "//order",
        "//d:order/symbol",
        "/soapenv:Envelope/soapenv:Header/r:routing",
        "/soapenv:Envelope/soapenv:Header[2]/r:routing",
        "/soapenv:Envelope/soapenv:Header/r:routing/text()",
        "/soapenv:Envelope/soapenv:Body/order/symbol",
        "/r/t",
        "/r/t/text()",
        "/r/t[2]",
        "/r/s/t",
    ];
    for d in docs {
        agree(d, &Bytes::from(d.to_string()), &exprs);
    }
    // Names far apart (past the forward search window), recurring more often than the forward
    // searches allowed per name, and a last one near the end or far from it.
    for gap in [10, 3000, 5000] {
        for tail in [0, 9000] {
            let mut d = String::from("<r>");
            for i in 0..12 {
                d.push_str(&format!(
                    "<g><order><symbol>{i}</symbol></order><order><symbol>n</symbol></order><!--{}--></g>",
                    "x".repeat(gap)
                ));
            }
            d.push_str(&format!("<t>{}</t></r>", "y".repeat(tail)));
            let found = agree("far apart", &Bytes::from(d), &exprs);
            assert!(found >= 3, "{gap} {tail}");
        }
    }
}

/// The tokenizer against quick-xml (which the tree parser uses): the same tokens at the same
/// places, and an error exactly when quick-xml (or the end-of-input check) gives one, on real,
/// crafted and generated documents and on random mutations of them.
#[test]
fn tokenizer_agrees_with_quick_xml() {
    use quick_xml::events::Event;
    type Toks = Vec<(&'static str, usize, usize, usize, usize)>;
    fn quick(input: &[u8]) -> (Toks, bool) {
        let base = if input.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut r = quick_xml::reader::Reader::from_reader(&input[base..]);
        let mut out = Vec::new();
        let mut depth = 0usize;
        loop {
            let start = base + r.buffer_position() as usize;
            let ev = match r.read_event() {
                Ok(ev) => ev,
                Err(_) => return (out, true),
            };
            let end = base + r.buffer_position() as usize;
            let rec = |k| (k, start, end, 0, 0);
            out.push(match ev {
                Event::Start(e) => {
                    depth += 1;
                    ("start", start, end, e.name().0.len(), e.len())
                }
                Event::Empty(e) => ("empty", start, end, e.name().0.len(), e.len()),
                Event::End(_) => {
                    depth -= 1;
                    rec("end")
                }
                Event::Text(_) => rec("text"),
                Event::CData(_) => rec("cdata"),
                Event::GeneralRef(_) => rec("ref"),
                Event::Comment(_) => rec("comment"),
                Event::PI(_) | Event::Decl(_) => rec("pi"),
                Event::DocType(_) => {
                    out.push(("doctype", start, start, 0, 0));
                    return (out, false);
                }
                Event::Eof => return (out, depth > 0),
            });
        }
    }
    fn check(input: &[u8]) {
        let (mine, mine_err) = crate::xml::stream::lex_all(input);
        let (theirs, theirs_err) = quick(input);
        let show = String::from_utf8_lossy(input);
        // A DOCTYPE is refused by both; quick-xml may refuse it as unclosed first.
        if mine.last().is_some_and(|t| t.0 == "doctype") {
            assert!(
                theirs_err || theirs.last().is_some_and(|t| t.0 == "doctype"),
                "{show:?}"
            );
            assert_eq!(mine[..mine.len() - 1], theirs[..mine.len() - 1], "{show:?}");
            return;
        }
        assert_eq!(mine, theirs, "{show:?}");
        assert_eq!(mine_err, theirs_err, "{show:?}");
    }
    let mut seeds: Vec<Vec<u8>> = bench_payloads()
        .into_iter()
        .map(|(_, b)| b.to_vec())
        .collect();
    for s in [
        "<a>1<a>2<a>3</a>4</a><!--c-->5<b>6</b></a>",
        "<?xml version='1.0'?><r a='>' b=\"'/>\"><e/><e a='1'/><f  x = 'y' ></f ><g/ ><h></h\t\n></r>",
        "<r>&amp;&#x41;&#65;&bogus;&;&lt</r>",
        "<r><![CDATA[]]><![CDATA[a]]]]><![CDATA[>]]><!----><!-- - -- ---><??><?pi x?></r>",
        "<r><x\"y>z\"></x\"y>z\"></r><a/b></a/b><c'/><>x</>",
        "\u{FEFF}<r>caf\u{E9} \u{1F600}</r>",
        "<r><!DOCTYPE x><!Dx><!x><![x><!-x--></r>",
        "text before<r/>text after",
        "<r></r></r>",
        "<r a='1></r>",
        "<r><!-- unclosed",
        "<r><![CDATA[ unclosed",
        "<r><? unclosed",
        "<r>& x</r>",
        "<r x=\"1\" y='2'/ >",
        "<r><?></r>",
        "<r><!--></r>",
        "<r><!---></r>",
        "<r><!----></r>",
        "<r><![CDATA[]></r>",
        "<r>&;</r>",
        "</r>",
        "<>",
        "<",
        "<!",
        "<?",
        "&",
        "<r/",
        "<r a='1'",
        "<r a=\"1>",
        "<r></r >",
        "<r></ r>",
    ] {
        seeds.push(s.as_bytes().to_vec());
    }
    let mut r = Rng(0x51_7CC1_B727_220A);
    for _ in 0..200 {
        seeds.push(gen_document(&mut r).into_bytes());
    }
    let alphabet: &[u8] = b"<>/!?\"'&;-[]= \tax:#\xC3\xA9\xFF\r\nCDATA";
    let mut cases = 0;
    for seed in &seeds {
        check(seed);
        let rounds = if seed.len() > 20_000 { 3 } else { 40 };
        for _ in 0..rounds {
            let mut m = seed.clone();
            for _ in 0..1 + r.next(3) {
                let at = r.next(m.len() as u64 + 1) as usize;
                match r.next(4) {
                    0 if at < m.len() => {
                        m.remove(at);
                    }
                    1 => m.insert(at, alphabet[r.next(alphabet.len() as u64) as usize]),
                    2 if at < m.len() => m[at] = alphabet[r.next(alphabet.len() as u64) as usize],
                    _ => m.truncate(at),
                }
            }
            check(&m);
            cases += 1;
        }
    }
    assert!(cases > 5_000, "only {cases} mutations");
}

/// Paths for the accept/refuse agreement: matching at once, late, never; through every loop of
/// the matcher (matching, skipping subtrees, reading on after the last possible match).
const AGREE_PATHS: &[&str] = &[
    "/*",
    "/a/b",
    "//b",
    "//b[1]/text()",
    "//p:b/@k",
    "/a/c",
    "//z",
    "/*/*[2]",
];

/// Whether the streaming matcher accepts `input` with every path, in both modes, exactly when
/// the tree parser does.
fn accepts_as_tree(input: &[u8]) {
    let tree = Document::parse(Bytes::copy_from_slice(input));
    let want = tree.as_ref().err().map(|e| e.kind);
    let show = String::from_utf8_lossy(input);
    // The tokenizer refuses any `<!D…` as a DOCTYPE at once; quick-xml may first find it
    // malformed (see `tokenizer_agrees_with_quick_xml`).
    let kind = |r: Result<(), crate::xml::XmlError>| match r {
        Err(e) if e.kind == XmlErrorKind::DocType && want == Some(XmlErrorKind::Syntax) => want,
        r => r.err().map(|e| e.kind),
    };
    for expr in AGREE_PATHS {
        let p = path(expr);
        let first = p.first_string(input).map(|_| ());
        let all = p.for_each_match(input, |_| std::ops::ControlFlow::Continue(()));
        assert_eq!(kind(first), want, "first_string {expr} on {show:?}");
        assert_eq!(kind(all), want, "for_each_match {expr} on {show:?}");
    }
}

/// The plain run (`Lexer::plain_run`, `Matcher::plain`) reads most of these documents: its
/// positional counting, the frames it leaves, the default namespace its elements are in, and
/// the depth limit at and past 512 open elements agree with the tree.
#[test]
fn plain_runs_agree_with_the_tree() {
    let paths = [
        "//b[2]",
        "/a/b[3]",
        "//c/b[2]",
        "//b[1]",
        "//c[2]/b",
        "/a/*[4]",
        "//d:b[2]",
        "//b[2]/@k",
        "/a/c/b[1]/text()",
    ];
    let docs = [
        "<a><b>1</b><b>2</b><c><b>3</b><b/><b>4</b></c><b>5</b><c><x><b>6</b></x><b>7</b></c></a>",
        "<a><b k='0'>1</b><b>2</b><c><b k='1'>3</b><b>4</b></c><c><b>5</b>t<b k='2'>6</b></c></a>",
        "<a xmlns='urn:d'><b>1</b><c><b>2</b><b>3</b></c><b>4</b><c xmlns=''><b>5</b><b>6</b></c></a>",
        "<a><b>1</b><x><b>2</b><b>3</b><y><b>4</b>&amp;<b>5</b></y></x><b>6</b><!--c--><b>7</b></a>",
    ];
    for (i, d) in docs.iter().enumerate() {
        let body = Bytes::from(d.to_string());
        assert!(agree(&format!("doc {i}"), &body, &paths) > 3, "{d}");
        accepts_as_tree(d.as_bytes());
    }
    for depth in [510, 511, 512, 513] {
        let d = format!("{}t{}", "<x>".repeat(depth), "</x>".repeat(depth));
        accepts_as_tree(d.as_bytes());
        let d = format!("<a>{}<b/>{}</a>", "<x>".repeat(depth), "</x>".repeat(depth));
        accepts_as_tree(d.as_bytes());
    }
}

/// Regression (issue 12, item 13): the streaming matcher answered, routed and forwarded XML the
/// tree parser refuses. Each listed case is refused by both, with the same error kind; the
/// nearby valid forms are accepted by both.
#[test]
fn accepts_and_refuses_what_the_tree_does() {
    let many_attrs: String = (0..1025).map(|i| format!(" a{i}='1'")).collect();
    let ok_attrs: String = (0..1024).map(|i| format!(" a{i}='1'")).collect();
    let refused = [
        // Duplicate attributes, also by expanded name under two prefixes.
        "<a><b x='1' x='2'>1</b></a>".to_string(),
        "<a xmlns:p='urn:p' xmlns:q='urn:p'><b p:k='1' q:k='2'/></a>".to_string(),
        "<a><b xmlns:p='urn:p' xmlns:p='urn:q'/></a>".to_string(),
        // Two roots, trailing garbage, text and references outside the root.
        "<a><b>1</b></a><a/>".to_string(),
        "<a><b>1</b></a>garbage".to_string(),
        "<a><b>1</b></a><<<".to_string(),
        "<a><b>1</b></a>&amp;".to_string(),
        "<a><b>1</b></a><![CDATA[]]>".to_string(),
        "x<a><b>1</b></a>".to_string(),
        "".to_string(),
        "<!--only a comment-->".to_string(),
        // More than 1,024 attributes.
        format!("<a><b{many_attrs}/></a>"),
        // Rebinding `xml`, binding `xmlns` or the reserved URIs, a prefix bound to "".
        "<a xmlns:xml='urn:x'><b/></a>".to_string(),
        "<a><b xmlns:xmlns='urn:x'/></a>".to_string(),
        "<a><b xmlns:p='http://www.w3.org/XML/1998/namespace'/></a>".to_string(),
        "<a><b xmlns='http://www.w3.org/2000/xmlns/'/></a>".to_string(),
        "<a><b xmlns:p=''/></a>".to_string(),
        // A PI (or anything) before the declaration; a second declaration.
        "<?pi x?><?xml version='1.0'?><a><b/></a>".to_string(),
        " <?xml version='1.0'?><a><b/></a>".to_string(),
        "<a><b/><?xml version='1.0'?></a>".to_string(),
        // Unbound prefixes on elements and attributes not on the path; `xmlns:` as a prefix.
        "<a><b>1</b><q:c/></a>".to_string(),
        "<a><b>1</b><c q:k='1'/></a>".to_string(),
        "<a><b>1</b><xmlns:c/></a>".to_string(),
        // Names that are not XML names; malformed attributes; undefined references in values.
        "<a><b>1</b><1c/></a>".to_string(),
        "<a><b>1</b><c 1k='1'/></a>".to_string(),
        "<a><b>1</b><c k=1/></a>".to_string(),
        "<a><b>1</b><c k='&bogus;'/></a>".to_string(),
        "<a><b k='&#0;'>1</b></a>".to_string(),
    ];
    for r in &refused {
        assert!(
            Document::parse(Bytes::from(r.clone())).is_err(),
            "the tree accepts {r:?}"
        );
        accepts_as_tree(r.as_bytes());
    }
    let accepted = [
        format!("<a><b{ok_attrs}/></a>"),
        "<?xml version='1.0'?><?pi x?><a><b/></a><?pi y?><!--c-->\n".to_string(),
        "\u{FEFF}<?xml version='1.0'?><a/>".to_string(),
        "<a xmlns:xml='http://www.w3.org/XML/1998/namespace' xml:lang='en'><b/></a>".to_string(),
        "<a xmlns='urn:d'><b xmlns=''><c/></b></a>".to_string(),
        "<a xmlns:p='urn:p'><b p:k='1' k='2'/><p:b/></a>".to_string(),
        "<?xml-stylesheet href='x'?><a/>".to_string(),
        " \r\n<a> <b/> </a> \t".to_string(),
    ];
    for a in &accepted {
        assert!(
            Document::parse(Bytes::from(a.clone())).is_ok(),
            "the tree refuses {a:?}"
        );
        accepts_as_tree(a.as_bytes());
    }
}

/// The accept/refuse agreement on generated documents and random mutations of them, with an
/// alphabet rich in namespace and attribute syntax.
#[test]
fn accepts_and_refuses_what_the_tree_does_on_mutations() {
    let mut r = Rng(0x2545_F491_4F6C_DD1D);
    let mut seeds: Vec<Vec<u8>> = (0..150)
        .map(|_| gen_document(&mut r).into_bytes())
        .collect();
    seeds.push(
        b"<?xml version='1.0'?><p:a xmlns:p='urn:p' xmlns='urn:d'><b k='1' p:k='2'>t&amp;</b><![CDATA[x]]><!--c--><?pi?><c xmlns=''/></p:a>"
            .to_vec(),
    );
    let pieces: &[&[u8]] = &[
        b"<",
        b">",
        b"/",
        b"'",
        b"=",
        b" ",
        b":",
        b"x",
        b"&",
        b";",
        b"xmlns",
        b"xmlns:p",
        b"xml",
        b"p:",
        b" xmlns=''",
        b" xmlns:p=''",
        b" xml:lang='x'",
        b" xmlns:q='urn:p'",
        b" q:k='v'",
        b"<![CDATA[]]>",
        b"&#0;",
        b"&#65;",
        b"\r",
        b" k='1'",
        b" p:k='1'",
        b"<?xml?>",
        b"<?pi?>",
        b"<a/>",
        b"</a>",
        b"1",
    ];
    let mut cases = 0;
    for seed in &seeds {
        accepts_as_tree(seed);
        for _ in 0..40 {
            let mut m = seed.clone();
            for _ in 0..1 + r.next(4) {
                let at = r.next(m.len() as u64 + 1) as usize;
                let piece = pieces[r.next(pieces.len() as u64) as usize];
                match r.next(3) {
                    0 if at < m.len() => {
                        m.remove(at);
                    }
                    _ => {
                        m.splice(at..at, piece.iter().copied());
                    }
                }
            }
            accepts_as_tree(&m);
            cases += 1;
        }
    }
    assert!(cases > 4_000, "only {cases} mutations");
}

fn gen_path(r: &mut Rng) -> StreamPath {
    use crate::xml::StreamStep;
    use std::num::NonZeroU32;
    let steps = (0..1 + r.next(3))
        .map(|_| StreamStep {
            axis: if r.next(3) == 0 {
                StreamAxis::Child
            } else {
                StreamAxis::Descendant
            },
            ns: [
                Some(""),
                Some(""),
                Some("urn:p"),
                Some("urn:d"),
                Some("urn:q"),
                None,
                None,
            ][r.next(7) as usize]
                .map(String::from),
            local: ["a", "b", "c"]
                .get(r.next(4) as usize)
                .map(|s| s.to_string()),
            position: if r.next(3) != 0 {
                None
            } else {
                NonZeroU32::new(1 + r.next(3) as u32)
            },
        })
        .collect();
    let target = match r.next(4) {
        0 => StreamTarget::Text,
        1 => StreamTarget::Attribute {
            ns: ["", "urn:p", "urn:q"][r.next(3) as usize].into(),
            local: "k".into(),
        },
        _ => StreamTarget::Element,
    };
    StreamPath::new(steps, target).unwrap()
}

/// Twenty generated paths on `xml`, each streamed against the tree (first and every match):
/// how many matched, and how many nodes they matched in all.
fn agree_on_generated_paths(r: &mut Rng, xml: &str) -> (usize, usize) {
    let body = Bytes::from(xml.to_string());
    let doc = Document::parse(body.clone()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let (mut matched, mut all) = (0, 0);
    for _ in 0..20 {
        let p = gen_path(r);
        let streamed = p.first_string(&body).unwrap();
        let walked = tree_eval(&doc, &p);
        assert_eq!(streamed.as_deref(), walked.as_deref(), "{p:?}\n{xml}");
        all += agree_all(xml, &body, &doc, &p);
        matched += usize::from(walked.is_some());
    }
    (matched, all)
}

#[test]
fn agrees_with_tree_on_generated_documents_and_paths() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut matched, mut all) = (0, 0);
    for _ in 0..500 {
        let xml = gen_document(&mut r);
        let (m, a) = agree_on_generated_paths(&mut r, &xml);
        matched += m;
        all += a;
    }
    eprintln!("{matched} of 10000 generated paths matched, {all} nodes in all");
    assert!(
        matched > 1000,
        "too few paths matched ({matched}) to mean anything"
    );
}

/// A document made mostly of plain markup (`<a>`, `<b/>`, text), with now and then what the
/// plain run must leave to the general path: attributes, a prefix, a default namespace
/// declaration, references, CDATA, comments. Many siblings of one name, so that positional
/// steps count through the run.
fn gen_plain_document(r: &mut Rng) -> String {
    fn element(r: &mut Rng, depth: u32, out: &mut String) {
        let name = ["a", "b", "c", "d", "b", "b"][r.next(6) as usize];
        let prefixed = r.next(12) == 0;
        out.push('<');
        if prefixed {
            out.push_str("p:");
        }
        out.push_str(name);
        match r.next(14) {
            0 => out.push_str(" xmlns=\"urn:d\""),
            1 => out.push_str(" k=\"1\""),
            2 => out.push_str(" p:k='2'"),
            3 => out.push(' '),
            _ => {}
        }
        if r.next(8) == 0 {
            out.push_str("/>");
            return;
        }
        out.push('>');
        let kids = if depth >= 6 { 0 } else { r.next(7) };
        for _ in 0..kids {
            match r.next(16) {
                0 => out.push_str("t&amp;u"),
                1 => out.push_str("<![CDATA[x]]>"),
                2 => out.push_str("<!--c-->"),
                3..=5 => out.push_str(["t", "\n", "é"][r.next(3) as usize]),
                _ => element(r, depth + 1, out),
            }
        }
        out.push_str("</");
        if prefixed {
            out.push_str("p:");
        }
        out.push_str(name);
        out.push('>');
    }
    let mut xml = String::from("<a xmlns:p=\"urn:p\">");
    for _ in 0..1 + r.next(6) {
        element(r, 0, &mut xml);
    }
    xml.push_str("</a>");
    xml
}

/// The plain run against the tree on documents made mostly of plain markup: every generated
/// path's first and every match, and acceptance of random mutations.
#[test]
fn plain_runs_agree_with_the_tree_on_generated_documents() {
    let mut r = Rng(0xD1B5_4A32_D192_ED03);
    let pieces: &[&[u8]] = &[
        b"<", b">", b"/", b"</b>", b"<b>", b"<b/>", b"&", b" ", b"'", b":",
    ];
    let mut matched = 0;
    for _ in 0..400 {
        let xml = gen_plain_document(&mut r);
        matched += agree_on_generated_paths(&mut r, &xml).0;
        for _ in 0..10 {
            let mut m = xml.clone().into_bytes();
            let at = r.next(m.len() as u64 + 1) as usize;
            if r.next(2) == 0 && at < m.len() {
                m.remove(at);
            } else {
                let piece = pieces[r.next(pieces.len() as u64) as usize];
                m.splice(at..at, piece.iter().copied());
            }
            accepts_as_tree(&m);
        }
    }
    assert!(matched > 1000, "too few paths matched ({matched})");
}
