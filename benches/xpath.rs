//! Content-based routing costs: `//order[1]/symbol` (body) and the SOAP-header routing path on
//! WSO2's 1 KB, 10 KB and 100 KB payloads, answered by the streaming matcher (no tree) and by the
//! tree (parse + XPath), asserting the result inside the loop. `xml-reader/quick-xml` is the
//! reference floor: quick-xml's reader alone going through every event of the same payloads
//! (its default checks; no matching, no tree rules). `scan` is the streaming matcher's
//! `for_each_match` (every match, as a filter or switch with `source=` needs: Synapse turns the
//! whole node-set into a string), asserting the concatenated answer and the match count.
//! Run: `cargo bench --bench xpath`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mint::message::Expr;
use mint::xml::Document;
use mint::xpath::{compile, NoContext};

fn payload(name: &str) -> Bytes {
    let path = format!(
        "{}/tests/data/wso2-perf/{name}_buyStocks.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    Bytes::from(std::fs::read(path).expect("payload"))
}

fn bench(c: &mut Criterion) {
    let ns = vec![
        (
            "soapenv".to_string(),
            "http://schemas.xmlsoap.org/soap/envelope/".to_string(),
        ),
        ("t".to_string(), "http://someuri".to_string()),
    ];
    let cases = [
        ("body", "//order[1]/symbol"),
        ("header", "/soapenv:Envelope/soapenv:Header/t:routing"),
    ];
    for (label, expr) in cases {
        let x = Expr::new(compile(expr, &ns).expect("compiles"));
        let stream = x.stream.clone().expect("a simple path");
        let mut g = c.benchmark_group(format!("xpath/{label}"));
        for size in ["1000B", "10000B", "100000B"] {
            let body = payload(size);
            // The tree's answer, which the streaming path must give too.
            let doc = Document::parse(body.clone()).expect("parse");
            let want = x
                .evaluate_string(&doc, &NoContext, doc.root_element())
                .expect("eval");
            assert!(!want.is_empty());
            assert_eq!(
                stream.first_string(&body).expect("scan").expect("match"),
                want.as_str()
            );
            let want = want.as_str();
            // Every match: the concatenation of each match's own text (Synapse's string of a
            // node-set), which the tree gives too.
            let all = |body: &[u8]| {
                let (mut out, mut n) = (String::new(), 0usize);
                stream
                    .for_each_match(body, |m| {
                        out.push_str(m.direct_text.trim());
                        n += 1;
                        std::ops::ControlFlow::Continue(())
                    })
                    .expect("scan");
                (out, n)
            };
            let want_all = all(&body);
            assert_eq!(want_all, (want.to_string(), 1));
            g.throughput(Throughput::Bytes(body.len() as u64));
            g.bench_with_input(BenchmarkId::new("stream", size), &body, |b, body| {
                b.iter(|| {
                    let v = stream
                        .first_string(black_box(body))
                        .expect("scan")
                        .expect("match");
                    assert_eq!(v, want);
                })
            });
            g.bench_with_input(BenchmarkId::new("scan", size), &body, |b, body| {
                b.iter(|| assert_eq!(all(black_box(body)), want_all))
            });
            g.bench_with_input(BenchmarkId::new("tree", size), &body, |b, body| {
                b.iter(|| {
                    let doc = Document::parse(black_box(body.clone())).expect("parse");
                    let v = x
                        .evaluate_string(&doc, &NoContext, doc.root_element())
                        .expect("eval");
                    assert_eq!(v, want);
                })
            });
        }
        g.finish();
    }
}

/// quick-xml's reader over every event of the payload: what tokenizing alone costs with the
/// most used Rust XML reader, beside which the matcher's `scan` (tokenizing, the tree's
/// well-formedness rules and matching) can be judged.
fn reader_floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("xml-reader");
    for size in ["1000B", "10000B", "100000B"] {
        let body = payload(size);
        let events = |body: &[u8]| {
            let mut r = quick_xml::Reader::from_reader(body);
            let mut n = 0usize;
            loop {
                match r.read_event().expect("well-formed") {
                    quick_xml::events::Event::Eof => return n,
                    _ => n += 1,
                }
            }
        };
        let want = events(&body);
        assert!(want > 0);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(BenchmarkId::new("quick-xml", size), &body, |b, body| {
            b.iter(|| assert_eq!(events(black_box(body)), want))
        });
    }
    g.finish();
}

criterion_group!(benches, bench, reader_floor);
criterion_main!(benches);
