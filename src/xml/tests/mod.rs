//! Tests of the XML layer over the shared bench payloads, the compat-case SOAP bodies and
//! crafted documents. Helpers here; one file per concern.

use std::path::PathBuf;

use bytes::Bytes;

use super::Document;

mod dom;
mod edit;
mod parse;
mod soap;
mod stream;

fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// The wso2-perf buyStocks requests, smallest first: (file name, body).
fn bench_payloads() -> Vec<(String, Bytes)> {
    let dir = shared_dir().join("bench/wso2-perf/requests");
    let mut out = Vec::new();
    for size in ["500B", "1000B", "10000B", "100000B"] {
        let name = format!("{size}_buyStocks.xml");
        let bytes = std::fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name, Bytes::from(bytes)));
    }
    out
}

/// Every XML request body of the compat cases: (case name, body).
fn compat_bodies() -> Vec<(String, Bytes)> {
    let dir = shared_dir().join("compat/cases");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let mut out = Vec::new();
    for case in cases {
        let Ok(json) = std::fs::read_to_string(case.join("case.json")) else {
            continue;
        };
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        for body in json_string_fields(&json, "body") {
            if body.trim_start().starts_with('<') {
                out.push((name.clone(), Bytes::from(body)));
            }
        }
    }
    assert!(
        out.len() > 20,
        "compat bodies not found in {}",
        dir.display()
    );
    out
}

/// The decoded values of every `"key": "…"` string field in a JSON text (enough JSON for the
/// case files, which hold no nested quotes other than escaped ones).
fn json_string_fields(json: &str, key: &str) -> Vec<String> {
    let pat = format!("\"{key}\": \"");
    let mut out = Vec::new();
    let mut rest = json;
    while let Some(i) = rest.find(&pat) {
        rest = &rest[i + pat.len()..];
        let mut s = String::new();
        let mut chars = rest.char_indices();
        while let Some((j, c)) = chars.next() {
            match c {
                '"' => {
                    rest = &rest[j + 1..];
                    break;
                }
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('u') => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        s.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                    }
                    Some(other) => s.push(other),
                    None => {}
                },
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

fn parse(s: &str) -> Document {
    Document::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap_or_else(|e| panic!("{e}\n{s}"))
}

fn parse_err(s: &str) -> super::XmlError {
    match Document::parse(Bytes::copy_from_slice(s.as_bytes())) {
        Ok(_) => panic!("parsed but should not: {s}"),
        Err(e) => e,
    }
}

/// True when `s` points into `buf` (the value is a zero-copy slice of the source).
fn borrowed_from(s: &str, buf: &[u8]) -> bool {
    let (p, b) = (s.as_ptr() as usize, buf.as_ptr() as usize);
    p >= b && p + s.len() <= b + buf.len()
}

/// A canonical dump of a tree (namespace URIs, local names, sorted attributes, text) to compare
/// documents independently of prefixes and formatting.
fn canon(doc: &Document, n: crate::xpath::dom::NodeId) -> String {
    use crate::xpath::dom::NodeKind;
    match doc.kind(n) {
        NodeKind::Root => doc.children(n).map(|c| canon(doc, c)).collect(),
        NodeKind::Element => {
            let mut attrs: Vec<String> = doc
                .attribute_nodes(n)
                .iter()
                .map(|&a| format!(" {{{}}}{}={:?}", doc.ns(a), doc.local(a), doc.value(a)))
                .collect();
            attrs.sort();
            let kids: String = doc.children(n).map(|c| canon(doc, c)).collect();
            format!(
                "<{{{}}}{}{}>{kids}</>",
                doc.ns(n),
                doc.local(n),
                attrs.concat()
            )
        }
        NodeKind::Text => format!("{:?}", doc.value(n)),
        NodeKind::Comment => format!("<!--{}-->", doc.value(n)),
        NodeKind::ProcessingInstruction => format!("<?{} {}?>", doc.name(n), doc.value(n)),
        _ => String::new(),
    }
}

/// xorshift64*: deterministic pseudo-random numbers for the generated cases.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn gen_element(r: &mut Rng, depth: u32, out: &mut String) {
    let name = ["a", "b", "c", "p:a", "p:b"][r.next(5) as usize];
    out.push('<');
    out.push_str(name);
    match r.next(6) {
        0 => out.push_str(" xmlns=\"urn:d\""),
        1 => out.push_str(" xmlns=\"\""),
        2 => out.push_str(" xmlns:p=\"urn:q\""),
        _ => {}
    }
    if r.next(3) == 0 {
        out.push_str(" k=\"v&amp;1\"");
    }
    if r.next(4) == 0 {
        out.push_str(" p:k=\"pv\"");
    }
    out.push('>');
    let kids = if depth >= 4 { 0 } else { r.next(5) };
    for _ in 0..kids {
        match r.next(6) {
            0 => out.push_str("t&lt;"),
            1 => out.push_str("<![CDATA[cd]]>"),
            2 => out.push_str("<!--c-->"),
            _ => gen_element(r, depth + 1, out),
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// A random document mixing namespaces (default, none, prefix `p` rebound), attributes,
/// text with references, CDATA and comments.
pub(super) fn gen_document(r: &mut Rng) -> String {
    let mut xml = String::from("<p:root xmlns:p=\"urn:p\">");
    for _ in 0..2 + r.next(3) {
        gen_element(r, 0, &mut xml);
    }
    xml.push_str("</p:root>");
    xml
}

/// Rough timings (not a benchmark, no assertions on time):
/// `cargo test --release -p mint xml::tests::rough_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn rough_speed() {
    use std::time::Instant;
    let path = super::StreamPath::parse("//order[1]/symbol", |_| None).unwrap();
    for (name, body) in bench_payloads() {
        let iters = (2_000_000 / body.len()).max(20) as u32;
        let t = Instant::now();
        let mut nodes = 0;
        for _ in 0..iters {
            nodes += Document::parse(body.clone()).unwrap().node_count();
        }
        let parse = t.elapsed() / iters;
        let t = Instant::now();
        for _ in 0..iters {
            assert!(path.first_string(&body).unwrap().is_some());
        }
        let stream = t.elapsed() / iters;
        let doc = Document::parse(body.clone()).unwrap();
        let sym = doc.soap_payload().unwrap();
        let first_order = doc.child_elements(sym).next().unwrap();
        let symbol = doc.child_elements(first_order).next().unwrap();
        let t = Instant::now();
        for _ in 0..iters {
            let mut ed = doc.edit();
            ed.set_text(symbol, "WSO2").unwrap();
            assert!(ed.finish().len() > 10);
        }
        let edit = t.elapsed() / iters;
        println!(
            "{name}: parse {parse:?} ({} nodes, {:.0} MB/s), stream //order[1]/symbol {stream:?}, edit+serialize {edit:?}",
            nodes / iters as usize,
            body.len() as f64 / parse.as_secs_f64() / 1e6
        );
    }
}
