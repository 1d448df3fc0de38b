//! Compilation: errors and their offsets, nesting limits, namespaces, the compat artifacts'
//! expressions, and no-panic checks on hostile input.

use super::dom::TestDom;
use super::{test_ns, Mock};
use crate::xpath::{compile, CompileError, CompileErrorKind as K};

fn err(e: &str) -> CompileError {
    match compile(e, &test_ns()) {
        Ok(_) => panic!("{e} compiled"),
        Err(err) => err,
    }
}

fn at(e: &str) -> (usize, K) {
    let x = err(e);
    (x.offset, x.kind)
}

#[test]
fn errors_carry_offsets() {
    assert_eq!(at(""), (0, K::Empty));
    assert_eq!(at("   "), (0, K::Empty));
    assert_eq!(at("1 +"), (3, K::UnexpectedEnd("an expression")));
    assert_eq!(at("foo("), (4, K::UnexpectedEnd("an expression")));
    assert_eq!(at("//q:x"), (2, K::UnknownPrefix("q".into())));
    assert_eq!(at("/a/q:*"), (3, K::UnknownPrefix("q".into())));
    assert_eq!(at("count(/a/@q:b)"), (10, K::UnknownPrefix("q".into())));
    assert_eq!(at("nope(1)"), (0, K::UnknownFunction("nope".into())));
    assert_eq!(
        at("1 + hmac-generate('a')"),
        (4, K::UnsupportedFunction("hmac-generate".into()))
    );
    assert_eq!(at("'abc"), (0, K::UnterminatedLiteral));
    assert_eq!(at("a = \"x"), (4, K::UnterminatedLiteral));
    assert_eq!(at("a ! b"), (2, K::UnexpectedChar('!')));
    assert_eq!(at("a # b"), (2, K::UnexpectedChar('#')));
    assert_eq!(at("$nope"), (0, K::UnknownVariable("nope".into())));
    assert_eq!(at("foo::x"), (0, K::UnknownAxis("foo".into())));
    assert_eq!(at("json-eval($.a)"), (0, K::JsonPath));
    assert_eq!(at("  json-eval($)"), (2, K::JsonPath));
    assert_eq!(
        at("concat('a')"),
        (
            0,
            K::Arity {
                name: "concat",
                expected: "at least 2".into(),
                got: 1
            }
        )
    );
    assert_eq!(
        at("x = substring('a')"),
        (
            4,
            K::Arity {
                name: "substring",
                expected: "2 to 3".into(),
                got: 1
            }
        )
    );
    assert_eq!(
        at("true(1)"),
        (
            0,
            K::Arity {
                name: "true",
                expected: "0".into(),
                got: 1
            }
        )
    );
    assert!(matches!(at("get-property()"), (0, K::Arity { .. })));
    assert!(matches!(
        at("get-property('a','b','c','d')"),
        (0, K::Arity { .. })
    ));
    assert_eq!(at("count('a')"), (0, K::NotNodeSet("the argument")));
    assert_eq!(at("'a' | /x"), (4, K::NotNodeSet("an operand of '|'")));
    assert_eq!(at("'a'/x"), (0, K::NotNodeSet("the expression before '/'")));
    assert_eq!(at("1[1]"), (0, K::NotNodeSet("a filtered expression")));
    assert_eq!(
        at("get-property('SYSTEM_DATE', 'yyyy-qq')"),
        (0, K::DateFormat('q'))
    );
    assert!(matches!(at("1 2"), (2, K::Unexpected { .. })));
    assert!(matches!(at("a b"), (2, K::Unexpected { .. })));
    assert!(matches!(at("/a/"), (3, K::UnexpectedEnd(_))));
    assert!(matches!(at("a["), (2, K::UnexpectedEnd(_))));
    assert!(matches!(at("a[1"), (3, K::UnexpectedEnd(_))));
    assert!(matches!(at("(1"), (2, K::UnexpectedEnd(_))));
    assert!(matches!(at("./[1]"), (2, K::Unexpected { .. })));
    assert!(matches!(at(".[1]"), (1, K::Unexpected { .. })));
    assert!(matches!(at("@"), (1, K::UnexpectedEnd(_))));
    assert!(matches!(at("$"), (0, K::Syntax(_))));
    assert!(matches!(at("a:"), (2, K::Syntax(_))));
    assert!(matches!(
        at("processing-instruction(1)"),
        (23, K::Unexpected { .. })
    ));
    assert!(err("1 +").to_string().contains("offset 3"));
}

#[test]
fn nesting_limits_do_not_overflow() {
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(err(&deep).kind, K::TooDeep);
    let chain = vec!["1"; 5000].join(" + ");
    assert_eq!(err(&chain).kind, K::TooDeep);
    let preds = format!("a{}", "[b".repeat(3000));
    assert_eq!(err(&preds).kind, K::TooDeep);
    let calls = format!("{}1{}", "not(".repeat(3000), ")".repeat(3000));
    assert_eq!(err(&calls).kind, K::TooDeep);
    let long = "a".repeat(70_000);
    assert_eq!(err(&long).kind, K::TooLong);
    // Long but flat expressions are fine.
    let minus = format!("{}1", "-".repeat(10_001));
    assert!(compile(&minus, &[]).is_ok());
    let args = format!("concat({})", vec!["'a'"; 2000].join(","));
    assert!(compile(&args, &[]).is_ok());
    let moderate = vec!["1"; 50].join(" + ");
    let d = TestDom::parse("<r/>");
    let v = compile(&moderate, &[])
        .unwrap()
        .evaluate_number(&d, &Mock::default(), 0);
    assert_eq!(v, Ok(50.0));
    // `or`, `and` and `|` chains are flattened: long switch-like filters are fine.
    let alternatives = (0..500)
        .map(|i| format!("$ctx:x = '{i}'"))
        .collect::<Vec<_>>()
        .join(" or ");
    let cx = Mock::default().with(crate::xpath::Scope::Default, "x", "499");
    let x = compile(&alternatives, &[]).unwrap();
    assert_eq!(x.evaluate_boolean(&d, &cx, 0), Ok(true));
    let both = (0..500).map(|_| "$ctx:x").collect::<Vec<_>>().join(" and ");
    assert_eq!(
        compile(&both, &[]).unwrap().evaluate_boolean(&d, &cx, 0),
        Ok(true)
    );
    let union = vec!["/r"; 500].join(" | ");
    assert_eq!(
        compile(&union, &[])
            .unwrap()
            .evaluate_nodes(&d, &cx, 0)
            .map(|v| v.len()),
        Ok(1)
    );
    // The deepest accepted nesting evaluates within a test thread's stack (debug build).
    let nested = format!("{}1{}", "not(".repeat(31), ")".repeat(31));
    assert_eq!(
        compile(&nested, &[]).unwrap().evaluate_boolean(&d, &cx, 0),
        Ok(false)
    );
    let preds = format!("/r{}", "[*".repeat(31)) + &"]".repeat(31);
    assert!(compile(&preds, &[])
        .unwrap()
        .evaluate_boolean(&d, &cx, 0)
        .is_ok());
}

#[test]
fn namespaces() {
    let d = TestDom::parse(r#"<r xmlns="urn:d"><x:a xmlns:x="urn:x">1</x:a><b>2</b></r>"#);
    let ns = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(p, u)| (p.to_string(), u.to_string()))
            .collect()
    };
    let cnt = |e: &str, n: &[(String, String)]| {
        compile(e, n)
            .unwrap()
            .evaluate_number(&d, &Mock::default(), 0)
            .unwrap()
    };
    // The prefix in the expression need not match the document's.
    assert_eq!(cnt("count(//q:a)", &ns(&[("q", "urn:x")])), 1.0);
    // The default namespace in scope on the artifact is not applied.
    assert_eq!(cnt("count(//b)", &ns(&[("", "urn:d")])), 0.0);
    assert_eq!(
        cnt("count(//d:b)", &ns(&[("", "urn:d"), ("d", "urn:d")])),
        1.0
    );
    // Later declarations override earlier ones (inner scopes last).
    assert_eq!(
        cnt("count(//q:a)", &ns(&[("q", "urn:nope"), ("q", "urn:x")])),
        1.0
    );
    // `xml` is always bound; function prefixes are ignored (Jaxen).
    assert!(compile("/a/@xml:lang", &[]).is_ok());
    assert_eq!(cnt("fn:string-length(fn:concat('a', 'b'))", &[]), 2.0);
}

/// Every expression of the compat artifacts, with every prefix they declare.
#[test]
fn compat_artifact_expressions_compile() {
    let ns: Vec<(String, String)> = [
        ("soapenv", "http://schemas.xmlsoap.org/soap/envelope/"),
        ("soapenv11", "http://schemas.xmlsoap.org/soap/envelope/"),
        ("soapenv12", "http://www.w3.org/2003/05/soap-envelope"),
        ("m0", "http://services.samples"),
        ("ns", "http://services.samples"),
        ("ax21", "http://services.samples/xsd"),
        ("urn", "http://synapse.apache.org"),
        ("t", "http://someuri"),
    ]
    .iter()
    .map(|(p, u)| (p.to_string(), u.to_string()))
    .collect();
    let exprs = [
        "$body/*[1]",
        "get-property('query.param.longitude')",
        "get-property('query.param.latitude')",
        "get-property('query.param.floor')",
        "//m0:getQuote/m0:request/m0:symbol/text()",
        "//m0:getQuote/m0:request/m0:symbol",
        "$trp:StringVal",
        "$trp:ShortVal",
        "$trp:IntVal",
        "$trp:FloatVal",
        "$trp:DoubleVal",
        "$trp:BooleanVal",
        "$ctx:EXTRACT",
        "/soapenv:Envelope/soapenv:Header/urn:lastTradeTimestamp",
        "//soapenv11:Envelope/soapenv11:Body/m0:getQuote/m0:request/m0:symbol|//soapenv12:Envelope/soapenv12:Body/m0:getQuote/m0:request/m0:symbol|//soapenv12:Envelope/soapenv12:Body/m0:getQuote/m0:request/m0:symbol",
        "//ns:getQuoteResponse/ns:return/ax21:lastTradeTimestamp",
        "//m0:request",
        "$ctx:StringVal",
        "$ctx:ShortVal",
        "$ctx:IntVal",
        "$ctx:FloatVal",
        "$ctx:DoubleVal",
        "$ctx:BooleanVal",
        "$ctx:X",
        "get-property('MESSAGE_FORMAT')",
        "/soapenv:Envelope/soapenv:Header/t:routing",
        "//order[1]/symbol",
        "$trp:routing",
        "get-property('uri.var.symbol')",
        "get-property('REQUEST_PAYLOAD')",
        "get-property('ORIGINAL_REQ')",
        "fn:concat('Normal Stock - ', //m0:getQuote/m0:request/m0:symbol)",
        "//order",
        "//m0:symbolBeforeLoopBack/text()",
        "//m0:symbol/text()",
        "//SpaceX_LaunchPads/Station/WIKI_Link",
        "//SpaceX_LaunchPads/Station/Launches/Successful",
        "$body//*",
        "$axis2:REST_URL_POSTFIX",
    ];
    for e in exprs {
        if let Err(err) = compile(e, &ns) {
            panic!("{e}: {err}");
        }
    }
    // The JSONPath ones are rejected with a clear error (the caller routes them to JSONPath).
    assert_eq!(
        compile("json-eval($.extract)", &ns).unwrap_err().kind,
        K::JsonPath
    );
    let env = TestDom::parse(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><m0:getQuote xmlns:m0="http://services.samples"><m0:request><m0:symbol>IBM</m0:symbol></m0:request></m0:getQuote></soapenv:Body></soapenv:Envelope>"#,
    );
    let x = compile(exprs[14], &ns).unwrap();
    assert_eq!(x.evaluate_string(&env, &Mock::default(), 0).unwrap(), "IBM");
    let x = compile(exprs[31], &ns).unwrap();
    assert_eq!(
        x.evaluate_string(&env, &Mock::default(), 0).unwrap(),
        "Normal Stock - IBM"
    );
}

/// A tiny deterministic generator of token soups: compiling and evaluating them must never
/// panic, whatever the outcome.
#[test]
fn hostile_inputs_never_panic() {
    let pieces = [
        "/",
        "//",
        "a",
        "b",
        "x:c",
        "*",
        "x:*",
        "@",
        "@id",
        ".",
        "..",
        "[",
        "]",
        "(",
        ")",
        "1",
        "0",
        "-",
        "+",
        "div",
        "mod",
        "and",
        "or",
        "=",
        "!=",
        "<",
        ">=",
        "|",
        ",",
        "'s'",
        "\"t\"",
        "text()",
        "node()",
        "count(",
        "last()",
        "position()",
        "substring(",
        "$ctx:p",
        "$body",
        "get-property(",
        "ancestor::",
        "following::",
        "preceding::",
        "namespace::",
        "self::",
        "concat(",
        "translate(",
        "id(",
        "lang(",
        "sum(",
        "round(",
        "normalize-space(",
        "::",
        "processing-instruction(",
        "comment()",
        " ",
        "é",
        "\u{0}",
        "$",
        ":",
        "1.5",
        ".5",
    ];
    let d = TestDom::parse(
        r#"<a xmlns:x="urn:x" id="1"><b x:c="2">t<x:c>3</x:c><!--c--><?p q?></b><b/>tail</a>"#,
    );
    let cx = Mock::default();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut compiled = 0;
    for _ in 0..20_000 {
        let mut e = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = 1 + (seed % 12) as usize;
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            e.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        if let Ok(x) = compile(&e, &test_ns()) {
            compiled += 1;
            for ctx in [0, 1, 2, 5] {
                let _ = x.evaluate(&d, &cx, ctx);
                let _ = x.evaluate_boolean(&d, &cx, ctx);
            }
        }
    }
    assert!(compiled > 1000, "generator too weak: {compiled}");
    // Arbitrary bytes cut at char boundaries.
    let junk = "\u{7f}\u{10FFFF}'\"[(]):$@/*|é";
    for i in 0..junk.len() {
        if junk.is_char_boundary(i) {
            let _ = compile(&junk[i..], &[]);
        }
    }
}
