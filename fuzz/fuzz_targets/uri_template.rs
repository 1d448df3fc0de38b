//! REST dispatch helpers: URI template parsing and matching, URL mappings, query parameters and
//! endpoint template expansion on arbitrary input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        mint::uri_template::exercise(text);
    }
});
