//! The deploy-time classifiers: the streaming simple-path shape and `reads_content`.

use super::test_ns;
use crate::xpath::{compile, Anchor, SimplePath, SimpleStep, SimpleTail, XPath};

fn step(desc: bool, ns: Option<&str>, local: Option<&str>, pos: Option<u32>) -> SimpleStep {
    SimpleStep {
        descendant: desc,
        ns: ns.map(str::to_owned),
        local: local.map(str::to_owned),
        position: pos.and_then(std::num::NonZeroU32::new),
    }
}

fn simple(e: &str) -> Option<SimplePath> {
    compile(e, &test_ns()).unwrap().stream_path().cloned()
}

#[test]
fn stream_path_classifier() {
    const S: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    const M: &str = "http://services.samples";
    assert_eq!(
        simple("/soapenv:Envelope/soapenv:Body/m:buyStocks/order[1]/symbol"),
        Some(SimplePath {
            anchor: Anchor::Root,
            steps: vec![
                step(false, Some(S), Some("Envelope"), None),
                step(false, Some(S), Some("Body"), None),
                step(false, Some(M), Some("buyStocks"), None),
                step(false, Some(""), Some("order"), Some(1)),
                step(false, Some(""), Some("symbol"), None),
            ],
            tail: SimpleTail::Element,
            string: false,
        })
    );
    assert_eq!(
        simple("//order[1]/symbol"),
        Some(SimplePath {
            anchor: Anchor::Root,
            steps: vec![
                step(true, Some(""), Some("order"), Some(1)),
                step(false, Some(""), Some("symbol"), None),
            ],
            tail: SimpleTail::Element,
            string: false,
        })
    );
    let p = simple("string(//m:symbol/text())").unwrap();
    assert_eq!(p.steps, vec![step(true, Some(M), Some("symbol"), None)]);
    assert_eq!((p.tail, p.string), (SimpleTail::Text, true));
    let p = simple("$body/*[1]").unwrap();
    assert_eq!(p.anchor, Anchor::Body);
    assert_eq!(p.steps, vec![step(false, None, None, Some(1))]);
    let p = simple("$header/m:*/@x:id").unwrap();
    assert_eq!(p.anchor, Anchor::Header);
    assert_eq!(p.steps, vec![step(false, Some(M), None, None)]);
    assert_eq!(
        p.tail,
        SimpleTail::Attribute {
            ns: "urn:x".into(),
            local: "id".into()
        }
    );
    let p = simple("soapenv:Body//m:symbol").unwrap();
    assert_eq!(p.anchor, Anchor::Context);
    assert_eq!(p.steps[1], step(true, Some(M), Some("symbol"), None));
    let p = simple("/a/b/@c").unwrap();
    assert_eq!(
        p.tail,
        SimpleTail::Attribute {
            ns: String::new(),
            local: "c".into()
        }
    );
    for e in [
        "//a[@x = '1']",
        "count(//a)",
        "//a | //b",
        "/a/b[2][1]",
        "/a/b[0]",
        "/a/b[last()]",
        "/a/text()[1]",
        "//text()",
        "/",
        "/a//@b",
        "/a/../b",
        "/a/node()",
        "/a/@*",
        "$ctx:x",
        "$ctx:x/a",
        "string(/a, 'x')",
        "(/a)[1]/b",
        "/a/descendant::b[1]",
        "/a//",
    ]
    .iter()
    .filter(|e| compile(e, &test_ns()).is_ok())
    {
        assert_eq!(simple(e), None, "{e}");
    }
}

#[test]
fn reads_content_classification() {
    let rc = |e: &str| compile(e, &test_ns()).unwrap().reads_content();
    for e in [
        "$ctx:foo",
        "get-property('x')",
        "get-property('transport', 'X')",
        "get-property('SYSTEM_DATE', 'yyyy')",
        "concat($ctx:a, 'b', $trp:c)",
        "string('x')",
        "position() = last()",
        "$trp:x = 'y' and $axis2:z",
        "base64Encode($ctx:a)",
        "$url:q",
        "1 + 2",
    ] {
        assert!(!rc(e), "{e}");
    }
    for e in [
        "//a",
        "/",
        ".",
        "$body",
        "$header/x",
        "$env",
        "string()",
        "name()",
        "get-property('FAULT')",
        "get-property('From')",
        "get-property($ctx:name)",
        "concat($ctx:a, //b)",
        "lang('en')",
        "$ctx:x[a]",
    ] {
        assert!(rc(e), "{e}");
    }
}

#[test]
fn compiled_expressions_are_shareable() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<XPath>();
    let x = compile("//a", &[]).unwrap();
    assert_eq!(x.to_string(), "//a");
    assert_eq!(x.source(), "//a");
}
