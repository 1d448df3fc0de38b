//! JSON work on WSO2's 1 KB and 100 KB JSON payloads: JSON → XML (WSO2's rules), XML → JSON back,
//! and a JSONPath evaluation; each asserts its result.
//! Run: `cargo bench --bench json`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mint::json::{json_to_xml, parse, xml_to_json, JsonPath, JsonSettings};

fn bench(c: &mut Criterion) {
    let settings = JsonSettings::default();
    let path = JsonPath::compile("$.payload.symbol[0]").expect("compiles");
    let mut g = c.benchmark_group("json");
    for size in ["1000B", "100000B"] {
        let file = format!(
            "{}/tests/data/wso2-perf/{size}_JSONPayload.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let json = std::fs::read(file).expect("payload");
        let xml = json_to_xml(&json, &settings).expect("to xml");
        assert!(xml.starts_with("<jsonObject>"));
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_with_input(BenchmarkId::new("json_to_xml", size), &json, |b, json| {
            b.iter(|| {
                let x = json_to_xml(black_box(json), &settings).expect("to xml");
                assert_eq!(x.len(), xml.len());
            })
        });
        g.bench_with_input(BenchmarkId::new("xml_to_json", size), &xml, |b, xml| {
            b.iter(|| {
                let j = xml_to_json(black_box(xml.as_bytes()), &settings).expect("to json");
                assert!(j.starts_with('{'));
            })
        });
        g.bench_with_input(
            BenchmarkId::new("jsonpath_parse_and_eval", size),
            &json,
            |b, json| {
                b.iter(|| {
                    let v = parse(black_box(json)).expect("parse");
                    assert_eq!(path.evaluate(&v).to_synapse_string(), "json");
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
