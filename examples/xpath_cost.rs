//! Time of one XPath evaluation over one WSO2 payload, to measure expensive expressions and the
//! evaluation budget: `cargo run --release --example xpath_cost -- 100000B 'count(//*[count(preceding::*) >= 0])'`.
//! Prints the wall time and the result (or the evaluation error).

use std::time::Instant;

use bytes::Bytes;
use mint::xml::Document;
use mint::xpath::{compile, NoContext};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size = args.get(1).map_or("100000B", String::as_str);
    let expr = args
        .get(2)
        .map_or("count(//*[count(preceding::*) >= 0])", String::as_str);
    let path = format!(
        "{}/tests/data/wso2-perf/{size}_buyStocks.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    let body = Bytes::from(std::fs::read(path).expect("payload"));
    let doc = Document::parse(body).expect("parse");
    let x = compile(expr, &[]).expect("compiles");
    let t = Instant::now();
    let r = x.evaluate_string(&doc, &NoContext, doc.root_element());
    println!("{:?} {:?}", t.elapsed(), r);
}
