//! Synapse REST dispatch helpers, re-implemented to behave exactly like WSO2 Synapse.
//!
//! This module owns the pure (no I/O) string machinery behind REST APIs and HTTP endpoints:
//!
//! * [`UriTemplate`]: a resource's `uri-template`, compiled at deploy time and matched against
//!   the request sub-path (query included) per request, capturing `uri.var.*` values
//!   (`commons/templates/uri/URITemplate.java` and its `parser/*` node classes).
//! * [`UrlMapping`]: a resource's servlet-style `url-mapping`
//!   (`api/dispatch/URLMappingHelper.java`) and [`select_url_mapping`], the selection order of
//!   `URLMappingBasedDispatcher.java`.
//! * [`parse_query_params`]: the `query.param.*` properties
//!   (`ApiUtils.populateQueryParamsToMessageContext`).
//! * [`ExpandTemplate`]: an `<http uri-template>` endpoint address, expanded per message
//!   (`endpoints/HTTPEndpoint.java` on top of damnhandy's RFC 6570 `UriTemplate`).
//! * [`url_decode`]: `java.net.URLDecoder.decode(s, "UTF-8")`.
//!
//! Java quirks are kept on purpose (they decide which resource answers a request); each is
//! commented where it is reproduced. Matching works on bytes and allocates only the captured
//! values; everything else is compiled once by the `parse` constructors.

mod decode;
mod expand;
mod java_uri;
mod mapping;
mod query;
mod template;

#[cfg(test)]
mod tests;

pub use decode::{url_decode, DecodeError};

/// Runs every parser and matcher of this module on one input (first line: a template; second: a
/// request path). The `uri_template` fuzz target and `tests/regression_fuzz.rs` share it, so a
/// replayed input exercises exactly what the fuzzer ran.
#[doc(hidden)]
pub fn exercise(text: &str) {
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
}
pub use expand::{ExpandError, ExpandTemplate, MAX_EXPANDED};
pub use mapping::{select_url_mapping, UrlMapping, UrlMatch};
pub use query::parse_query_params;
pub use template::UriTemplate;

/// Number of fields Java's `s.split(sep)` returns: trailing empty fields are dropped, and a string
/// without `sep` (even `""`) is one field.
fn java_split_count(s: &str, sep: char) -> usize {
    if !s.contains(sep) {
        return 1;
    }
    let mut count = 0;
    for (i, part) in s.split(sep).enumerate() {
        if !part.is_empty() {
            count = i + 1;
        }
    }
    count
}

/// The fields of Java's `s.split(sep)` (see [`java_split_count`]), without allocating.
fn java_split(s: &str, sep: char) -> impl Iterator<Item = &str> {
    s.split(sep).take(java_split_count(s, sep))
}

/// `Integer.parseInt(s)` for ASCII input: optional sign, decimal digits, `i32` range.
fn java_parse_int(s: &str) -> Option<i32> {
    if s.is_empty() || s == "+" || s == "-" {
        return None;
    }
    s.parse::<i32>().ok()
}
