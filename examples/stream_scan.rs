//! A driver for instruction counts of the streaming matcher (callgrind, `perf stat`): runs
//! `for_each_match` (every match, as filter/switch `source=` needs) of one path over one WSO2
//! payload N times and checks the answer each time.
//!
//! `cargo build --release --example stream_scan`, then e.g.
//! `valgrind --tool=callgrind target/release/examples/stream_scan body 100000B 20`
//! (`body`: `//order[1]/symbol`; `header`: `/soapenv:Envelope/soapenv:Header/t:routing`;
//! `skip`: `/order/symbol`, no match, the root element read by the tokenizer alone; `absent`:
//! `//item[1]/symbol`, no match, names the payload does not hold).

use std::ops::ControlFlow;

use mint::xml::StreamPath;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("body", String::as_str);
    let size = args.get(2).map_or("100000B", String::as_str);
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100);
    let (expr, want) = match which {
        "body" => ("//order[1]/symbol", None),
        "header" => (
            "/soapenv:Envelope/soapenv:Header/t:routing",
            Some("xadmin;server1;community#1.0##"),
        ),
        // Nothing matches below the root, whose end is needed: the tokenizer alone.
        "skip" => ("/order/symbol", Some("")),
        // A `//` path whose names the payload never holds: no match.
        "absent" => ("//item[1]/symbol", Some("")),
        other => panic!("unknown case {other}: body, header, skip or absent"),
    };
    let path = StreamPath::parse(expr, |p| match p {
        "soapenv" => Some("http://schemas.xmlsoap.org/soap/envelope/"),
        "t" => Some("http://someuri"),
        _ => None,
    })
    .expect("a stream path");
    let file = format!(
        "{}/tests/data/wso2-perf/{size}_buyStocks.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    let body = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut first = None;
    for _ in 0..n {
        let mut out = String::new();
        let mut count = 0;
        path.for_each_match(std::hint::black_box(&body), |m| {
            out.push_str(m.direct_text.trim());
            count += 1;
            ControlFlow::Continue(())
        })
        .expect("well-formed");
        assert_eq!(count, usize::from(!matches!(which, "skip" | "absent")));
        if let Some(w) = want {
            assert_eq!(out, w);
        }
        match &first {
            None => first = Some(out),
            Some(f) => assert_eq!(*f, out),
        }
    }
    println!("{expr} on {size} x{n}: {:?}", first.unwrap_or_default());
}
