//! REST dispatch helpers: URI template parsing and matching, URL mappings, query parameters and
//! endpoint template expansion on arbitrary input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mint::synapse::uri_template::{parse_query_params, ExpandTemplate, UriTemplate, UrlMapping};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // First line: a template; second: a request path.
    let (template, path) = text.split_once('\n').unwrap_or((text, "/"));
    if let Ok(t) = UriTemplate::parse(template) {
        let mut vars = Vec::new();
        let _ = t.matches(path, &mut vars);
    }
    if let Ok(m) = UrlMapping::parse(template) {
        let _ = m.match_path(path);
    }
    let _ = parse_query_params(path);
    if let Ok(e) = ExpandTemplate::parse(template) {
        let _ = e.expand(&|name: &str| Some(format!("{name}={path}")));
    }
});
