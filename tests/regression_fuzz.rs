//! Regression tests for inputs the fuzzers found (named after the target and what went wrong).

use mint::uri_template::ExpandTemplate;

/// Runs the `uri_template` fuzz target's body on one input.
fn uri_template_target(text: &str) {
    mint::uri_template::exercise(text);
}

/// libFuzzer flagged this 1 KB input as slow (19 s under ASan, 0.5 s in release): an adversarial
/// *endpoint template* (deploy-time configuration, not client input) expands slowly. It must still
/// finish without a panic.
#[test]
fn uri_template_slow_unit_5506bd49() {
    let input = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/regressions/uri_template_slow_5506bd49"
    ))
    .unwrap();
    uri_template_target(&String::from_utf8_lossy(&input));
}

/// Client-controlled values (uri.var.*, query.param.*) with `$`, braces and escapes in a normal
/// endpoint template expand without a panic (and fall back to the template when the URI is invalid).
#[test]
fn endpoint_template_with_hostile_values() {
    let e = ExpandTemplate::parse(
        "http://h:9/{uri.var.a}/x/{uri.var.b}?q={query.param.q}&r={+uri.var.a}",
    )
    .unwrap();
    let v = "ab$c{d}%e/".repeat(10_000);
    let out = e.expand(&|_n: &str| Some(v.clone()));
    assert!(out.starts_with("http://h:9/"), "{out}");
}

/// libFuzzer ran out of memory on this input: `$0` in a value re-inserts the expression text,
/// which later replaceAll passes expand again (exponential growth). Expansion now stops at
/// `MAX_EXPANDED` and falls back to the template.
#[test]
fn uri_template_oom_569c1675() {
    let input = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/regressions/uri_template_oom_569c1675"
    ))
    .unwrap();
    uri_template_target(&String::from_utf8_lossy(&input));
}

/// The same growth driven by a client: a URI variable valued `$0$0$0…` in a template that repeats
/// an expression.
#[test]
fn client_dollar_zero_values_cannot_blow_up_an_expansion() {
    let e = ExpandTemplate::parse("http://h/{+uri.var.a}/{+uri.var.a}/{+uri.var.a}/{+uri.var.a}/{+uri.var.a}/{+uri.var.a}/{+uri.var.a}/{+uri.var.a}").unwrap();
    let v = "$0".repeat(64);
    let out = e.expand(&|_n: &str| Some(v.clone()));
    assert!(
        out.len() <= mint::uri_template::MAX_EXPANDED,
        "{} bytes",
        out.len()
    );
}

/// The `xml_parse` target: an edit (append a text child to the root) must serialize to XML that
/// parses again.
fn xml_edit_reparses(data: &[u8]) -> Result<(), String> {
    use mint::xml::{Content, Document};
    let Ok(doc) = Document::parse(bytes::Bytes::copy_from_slice(data)) else {
        return Ok(());
    };
    let root = doc.root_element();
    let mut ed = doc.edit();
    ed.append_child(root, Content::Text("x<&>".into()))
        .map_err(|e| e.to_string())?;
    let out = ed.finish();
    Document::parse(out.clone())
        .map(|_| ())
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out)))
}

#[test]
fn xml_parse_edit_reparse_e2515e80() {
    let input = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/regressions/xml_parse_edit_reparse_e2515e80"
    ))
    .unwrap();
    xml_edit_reparses(&input).unwrap();
}
