//! The streaming matcher against the tree on arbitrary bytes: it never panics, and whenever
//! the tree parses the input, every path's streamed answers (the first node's string-value and
//! the number of nodes) are the tree's. Exercises the tokenizer, the subtree skipping and the
//! end of matching once no later node can match, and the checks of the tree parser's rules:
//! streaming refuses an input exactly when the tree does.
#![no_main]

use std::ops::ControlFlow;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mint::message::Expr;
use mint::xml::Document;
use mint::xpath::{compile, NoContext, Value};

const PATHS: &[&str] = &[
    "//order[1]/symbol",
    "/soapenv:Envelope/soapenv:Header/t:routing",
    "/a/b",
    "/a/b[2]/text()",
    "//b/text()",
    "/*/*[2]",
    "//p:a/@k",
    "/a//c[1]",
    "//*[1]",
];

fuzz_target!(|data: &[u8]| {
    let ns: Vec<(String, String)> = [
        ("p", "urn:p"),
        ("soapenv", "http://schemas.xmlsoap.org/soap/envelope/"),
        ("t", "http://someuri"),
    ]
    .iter()
    .map(|(p, u)| (p.to_string(), u.to_string()))
    .collect();
    let doc = Document::parse(Bytes::copy_from_slice(data)).ok();
    for p in PATHS {
        let x = Expr::new(compile(p, &ns).expect("compiles"));
        let Some(stream) = &x.stream else { continue };
        let mut n = 0usize;
        let all = stream.for_each_match(data, |_| {
            n += 1;
            ControlFlow::Continue(())
        });
        let first = stream.first_string(data);
        let Some(doc) = &doc else {
            assert!(all.is_err() && first.is_err(), "{p}: the tree refuses, streaming does not");
            continue;
        };
        assert!(all.is_ok() && first.is_ok(), "{p}: the tree parses, streaming does not");
        let count = compile(&format!("count({p})"), &ns).expect("compiles");
        let want = match count.evaluate(doc, &NoContext, 0).expect("evaluates") {
            Value::Number(c) => c as usize,
            other => panic!("count gave {other:?}"),
        };
        assert_eq!(n, want, "{p}: match count");
        let string = compile(&format!("string({p})"), &ns).expect("compiles");
        let want = match string.evaluate(doc, &NoContext, 0).expect("evaluates") {
            Value::String(s) => s,
            other => panic!("string gave {other:?}"),
        };
        let got = first.ok().flatten().map(|c| c.into_owned()).unwrap_or_default();
        assert_eq!(got, want, "{p}: first string");
    }
});
