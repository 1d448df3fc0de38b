//! Resource `url-mapping`: `URLMappingHelper.java` and the selection order of
//! `URLMappingBasedDispatcher.java` (wso2-synapse `modules/core/.../api/dispatch`).

use super::java_split;

/// A compiled servlet-style `url-mapping`. Exactly one kind, decided by its text:
/// `/a/b/*` (prefix, including `/*`), `*.ext` (extension) or anything else (exact; one trailing
/// `/` of the mapping is dropped).
#[derive(Debug, Clone)]
pub struct UrlMapping {
    source: Box<str>,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Path segments of `/a/b/*`; empty for `/*`.
    Prefix(Box<[Box<str>]>),
    /// `.ext` (the mapping minus its `*`).
    Extension(Box<str>),
    Exact(Box<str>),
}

/// How a [`UrlMapping`] matched a request sub-path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlMatch {
    /// Exact mapping: the sub-path (trailing slashes removed, then the query) equals it.
    Exact,
    /// Prefix mapping: the number of mapping segments matched (`/*` counts as 1). Synapse picks
    /// the largest; on a tie, the first resource.
    Prefix(usize),
    /// Extension mapping: the sub-path (query removed) ends with `.ext`.
    Extension,
}

impl UrlMapping {
    /// Compiles a `url-mapping`. Never fails (Synapse accepts any text); the `Result` keeps the
    /// constructor uniform with [`UriTemplate::parse`](super::UriTemplate::parse).
    pub fn parse(mapping: &str) -> Result<UrlMapping, String> {
        let kind = if mapping.starts_with('/') && mapping.ends_with("/*") {
            if mapping.len() > 2 {
                Kind::Prefix(
                    java_split(&mapping[1..mapping.len() - 2], '/')
                        .map(Box::from)
                        .collect(),
                )
            } else {
                Kind::Prefix(Box::new([]))
            }
        } else if let Some(ext) = mapping.strip_prefix('*').filter(|e| e.starts_with('.')) {
            Kind::Extension(ext.into())
        } else if mapping.len() > 1 && mapping.ends_with('/') {
            Kind::Exact(mapping[..mapping.len() - 1].into())
        } else {
            Kind::Exact(mapping.into())
        };
        Ok(UrlMapping {
            source: mapping.into(),
            kind,
        })
    }

    /// The mapping text as configured.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Matches `sub_path` (`REST_SUB_REQUEST_PATH`, the query may be included: each kind strips
    /// it the way Synapse does). `None` when this mapping does not match.
    pub fn match_path(&self, sub_path: &str) -> Option<UrlMatch> {
        match &self.kind {
            Kind::Exact(exact) => is_exact_match(exact, sub_path).then_some(UrlMatch::Exact),
            Kind::Prefix(segments) => match prefix_matching_length(segments, sub_path) {
                0 => None,
                n => Some(UrlMatch::Prefix(n)),
            },
            Kind::Extension(ext) => strip_query(sub_path)
                .ends_with(&**ext)
                .then_some(UrlMatch::Extension),
        }
    }
}

/// `URLMappingBasedDispatcher.findResource`: the first exact match, else the longest prefix match
/// (first wins a tie), else the first extension match. Returns the index into `mappings`.
pub fn select_url_mapping<'a, I>(mappings: I, sub_path: &str) -> Option<usize>
where
    I: IntoIterator<Item = &'a UrlMapping>,
{
    let mut best_prefix: Option<(usize, usize)> = None;
    let mut first_extension: Option<usize> = None;
    for (i, m) in mappings.into_iter().enumerate() {
        match m.match_path(sub_path) {
            Some(UrlMatch::Exact) => return Some(i),
            Some(UrlMatch::Prefix(n)) if best_prefix.is_none_or(|(_, best)| n > best) => {
                best_prefix = Some((i, n))
            }
            Some(UrlMatch::Extension) if first_extension.is_none() => first_extension = Some(i),
            _ => {}
        }
    }
    best_prefix.map(|(i, _)| i).or(first_extension)
}

/// `isExactMatch`: trailing slashes are trimmed *before* the query is removed (so `/a/?x=1` is
/// `/a/`), and a sub-path that starts with `?` counts as `/`.
fn is_exact_match(exact: &str, url: &str) -> bool {
    let url = if url == "/" {
        url
    } else {
        url.trim_end_matches('/')
    };
    let url = match url.find('?') {
        Some(0) => "/",
        Some(i) => &url[..i],
        None => url,
    };
    exact == url
}

/// `getPrefixMatchingLength`; 0 = no match.
fn prefix_matching_length(segments: &[Box<str>], url: &str) -> usize {
    if segments.is_empty() {
        return 1;
    }
    let url = strip_query(java_trim_slashes(url));
    let mut path = java_split(url, '/');
    for segment in segments {
        match path.next() {
            Some(s) if s == &**segment => {}
            _ => return 0,
        }
    }
    segments.len()
}

/// `ApiUtils.trimSlashes`, bug included: after dropping a leading `/`, a second leading `/`
/// drops the *last* character instead.
fn java_trim_slashes(url: &str) -> &str {
    let url = url.strip_prefix('/').unwrap_or(url);
    if url.starts_with('/') {
        let last = url.chars().next_back().map_or(0, char::len_utf8);
        &url[..url.len() - last]
    } else {
        url
    }
}

fn strip_query(url: &str) -> &str {
    url.find('?').map_or(url, |i| &url[..i])
}
