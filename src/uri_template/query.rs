//! `query.param.*`: `ApiUtils.populateQueryParamsToMessageContext` (wso2-synapse
//! `modules/core/.../api/ApiUtils.java`), called by `Resource.process` once a resource is chosen.

use super::decode::decode_java;
use super::java_split;

/// Splits a request query (the text after the first `?` of the full request path) into
/// `(name, value)` pairs, names without the `query.param.` prefix, exactly as Synapse does:
///
/// * The query is split on `&` (Java `split`: trailing empty fields dropped).
/// * `name=value` (first `=`): the name is kept as is, the value is [`url_decode`]d (`+` is a
///   space). A repeated name overwrites the earlier value (one entry, first position).
/// * A field without `=` belongs to the previous parameter's value: `&field` is appended,
///   undecoded (`longitude=20&floor` gives `longitude` = `20&floor`, and no `floor`). With no
///   previous parameter Java's `null` name leaks: the entry is `("null", "null&field")`; an
///   empty query (a path ending in `?`) therefore gives `("null", "null&")`.
/// * A malformed `%` escape in a value is an error (Synapse answers 400); in Synapse the
///   parameters before it are already set.
///
/// [`url_decode`]: super::url_decode
pub fn parse_query_params(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut params: Vec<(String, String)> = Vec::new();
    let mut current: Option<usize> = None;
    for entry in java_split(query, '&') {
        match entry.split_once('=') {
            Some((name, raw)) => {
                let value = decode_java(raw, true)
                    .map_err(|e| format!("query parameter '{name}': {e}"))?
                    .into_owned();
                let idx = match params.iter().position(|(n, _)| n == name) {
                    Some(i) => {
                        params[i].1 = value;
                        i
                    }
                    None => {
                        params.push((name.to_string(), value));
                        params.len() - 1
                    }
                };
                current = Some(idx);
            }
            None => {
                let idx = match current {
                    Some(i) => i,
                    None => match params.iter().position(|(n, _)| n == "null") {
                        Some(i) => i,
                        None => {
                            params.push(("null".into(), "null".into()));
                            params.len() - 1
                        }
                    },
                };
                // `existingValue + "&" + entry` (Java's `null + "&…"` is "null&…").
                params[idx].1.push('&');
                params[idx].1.push_str(entry);
                // Java keeps `name` null here, so later orphans keep going to "null"; `current`
                // staying None does the same.
            }
        }
    }
    Ok(params)
}
