//! MI 4.4 Synapse expressions (`${…}`) against the XPath / JSONPath a WSO2 artifact would have
//! used for the same thing, on the same ~1 KB order payload (JSON for the Synapse expression and
//! JSONPath; its XML equivalent, by WSO2's JSON → XML rules, for XPath). Evaluation only on a
//! pre-parsed payload, plus one case that parses the payload text every time, as mint does per
//! message. Each case asserts its answer once before measuring and inside the loop.
//! Run: `cargo bench --bench synexpr`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use mint::json::{json_to_xml, parse, JsonPath, JsonSettings};
use mint::synexpr::{Env, Expression, ParamKind, Val};
use mint::xml::Document;
use mint::xpath::{compile, NoContext};

/// The only thing these expressions read: the payload as JSON, parsed beforehand.
struct Payload(serde_json::Value);

impl Env for Payload {
    fn payload(&self) -> Result<&serde_json::Value, String> {
        Ok(&self.0)
    }
    fn var(&self, _name: &str) -> Option<Val> {
        None
    }
    fn header(&self, _name: &str) -> Option<String> {
        None
    }
    fn property(&self, _axis2: bool, _name: &str) -> Option<String> {
        None
    }
    fn param(&self, _kind: ParamKind, _name: &str) -> Option<String> {
        None
    }
    fn config(&self, _name: &str) -> Option<String> {
        None
    }
    fn xpath(&self, _i: usize) -> Result<Val, String> {
        Err("no xpath() in these expressions".into())
    }
}

/// About 1 KB of JSON: a customer and an `orders` array of twelve orders.
fn payload() -> Vec<u8> {
    let mut orders = Vec::new();
    for i in 0..12 {
        orders.push(format!(
            r#"{{"id":"ORD-{:04}","name":"widget model {i}","price":{}.5,"qty":{},"status":"open"}}"#,
            1000 + i,
            12 + i,
            i + 1
        ));
    }
    let json = format!(
        r#"{{"customer":{{"id":42,"name":"Jane Doe","email":"jane@example.com"}},"orders":[{}],"currency":"USD"}}"#,
        orders.join(",")
    );
    assert!((900..1200).contains(&json.len()), "{} bytes", json.len());
    json.into_bytes()
}

fn synexpr(text: &str) -> Expression {
    let inner = mint::synexpr::inner(text).expect("${…}");
    Expression::compile(inner, &[]).expect("compiles")
}

fn bench(c: &mut Criterion) {
    let json = payload();
    let env = Payload(parse(&json).expect("parse"));
    let xml = json_to_xml(&json, &JsonSettings::default()).expect("to xml");
    let doc = Document::parse(Bytes::from(xml)).expect("parse xml");
    let root = doc.root_element();

    // 1. A field by path.
    {
        let syn = synexpr("${payload.orders[0].id}");
        let jp = JsonPath::compile("$.orders[0].id").expect("compiles");
        let want = "ORD-1000";
        assert_eq!(syn.eval(&env).expect("eval").text(), want);
        assert_eq!(jp.evaluate(&env.0).to_synapse_string(), want);
        assert_eq!(
            jp.evaluate_bytes(&json).expect("scan").to_synapse_string(),
            want
        );
        let mut g = c.benchmark_group("synexpr/path");
        g.bench_function("synapse", |b| {
            b.iter(|| assert_eq!(syn.eval(black_box(&env)).expect("eval").text(), want))
        });
        g.bench_function("jsonpath", |b| {
            b.iter(|| assert_eq!(jp.evaluate(black_box(&env.0)).to_synapse_string(), want))
        });
        // What mint does per message: the payload text in, the value out.
        g.bench_function("synapse_parse", |b| {
            b.iter(|| {
                let env = Payload(parse(black_box(&json)).expect("parse"));
                assert_eq!(syn.eval(&env).expect("eval").text(), want)
            })
        });
        g.bench_function("jsonpath_bytes", |b| {
            b.iter(|| {
                let v = jp.evaluate_bytes(black_box(&json)).expect("scan");
                assert_eq!(v.to_synapse_string(), want)
            })
        });
        g.finish();
    }

    // 2. A string function. XPath 1.0 has no upper-case(), so the nearest XPath string
    // operation stands in: concat() over the same field (a string built from a node-set).
    {
        let syn = synexpr("${toUpper(payload.orders[0].name)}");
        let xp = compile("concat(//orders[1]/name, '')", &[]).expect("compiles");
        assert_eq!(syn.eval(&env).expect("eval").text(), "WIDGET MODEL 0");
        let want = "widget model 0";
        assert_eq!(
            xp.evaluate_string(&doc, &NoContext, root).expect("eval"),
            want
        );
        let mut g = c.benchmark_group("synexpr/string");
        g.bench_function("synapse", |b| {
            b.iter(|| {
                let v = syn.eval(black_box(&env)).expect("eval");
                assert_eq!(v.text(), "WIDGET MODEL 0")
            })
        });
        g.bench_function("xpath", |b| {
            b.iter(|| {
                let v = xp
                    .evaluate_string(black_box(&doc), &NoContext, root)
                    .expect("eval");
                assert_eq!(v, want)
            })
        });
        g.finish();
    }

    // 3. A comparison.
    {
        let syn = synexpr("${payload.orders[0].price > 10}");
        let xp = compile("//orders[1]/price > 10", &[]).expect("compiles");
        assert!(matches!(syn.eval(&env), Ok(Val::Bool(true))));
        assert!(xp.evaluate_boolean(&doc, &NoContext, root).expect("eval"));
        let mut g = c.benchmark_group("synexpr/compare");
        g.bench_function("synapse", |b| {
            b.iter(|| assert!(matches!(syn.eval(black_box(&env)), Ok(Val::Bool(true)))))
        });
        g.bench_function("xpath", |b| {
            b.iter(|| {
                assert!(xp
                    .evaluate_boolean(black_box(&doc), &NoContext, root)
                    .expect("eval"))
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
