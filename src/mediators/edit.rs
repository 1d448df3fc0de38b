//! Helpers of the mediators that edit the message content (payloadFactory, enrich, makefault,
//! header on a SOAP header block): each edits the parsed body through `crate::xml`'s editor,
//! which copies untouched byte ranges, and replaces the body once.

use crate::error::{Error, ErrorKind, Side};
use crate::xml::Fragment;

/// An edit the XML editor refused (mint's own doing, not the client's).
pub fn edit_err(e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Mediation,
        Side::Internal,
        format!("editing the message: {e}"),
    )
}

/// Whether text looks like XML that should be inserted as XML (and parses).
pub fn as_fragment(text: &str) -> Option<Fragment> {
    let t = text.trim_start();
    if !t.starts_with('<') {
        return None;
    }
    Fragment::parse(text).ok()
}

/// A start tag's attributes, as written.
pub struct StartTag<'a> {
    pub attrs: Vec<Attr<'a>>,
    /// Bytes up to and including its `>`.
    pub len: usize,
    pub self_closing: bool,
}

pub struct Attr<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// `name="value"` as written.
    pub whole: &'a [u8],
}

/// Reads the start tag at the beginning of `el` (well-formed XML: quotes balance).
pub fn start_tag(el: &[u8]) -> StartTag<'_> {
    let mut i = 1;
    while i < el.len() && !(el[i].is_ascii_whitespace() || el[i] == b'>' || el[i] == b'/') {
        i += 1;
    }
    let mut attrs = Vec::new();
    loop {
        while i < el.len() && el[i].is_ascii_whitespace() {
            i += 1;
        }
        let (len, self_closing) = match el.get(i) {
            None => (el.len(), false),
            Some(b'>') => (i + 1, false),
            Some(b'/') => (i + 2, true),
            Some(_) => {
                let start = i;
                while i < el.len() && el[i] != b'=' && !el[i].is_ascii_whitespace() {
                    i += 1;
                }
                let name = &el[start..i];
                while i < el.len() && (el[i] == b'=' || el[i].is_ascii_whitespace()) {
                    i += 1;
                }
                let quote = el.get(i).copied().unwrap_or(b'"');
                let value_start = (i + 1).min(el.len());
                let value_end = el[value_start..]
                    .iter()
                    .position(|&b| b == quote)
                    .map_or(el.len(), |p| value_start + p);
                i = (value_end + 1).min(el.len());
                attrs.push(Attr {
                    name,
                    value: &el[value_start..value_end],
                    whole: &el[start..i],
                });
                continue;
            }
        };
        return StartTag {
            attrs,
            len,
            self_closing,
        };
    }
}

/// `xml` without an `xmlns=""` on its first element: written in an artifact to keep an element
/// out of Synapse's namespace, it undeclares nothing at the top of a payload, and AXIOM does not
/// write it out.
pub fn without_empty_default_ns(xml: &str) -> std::borrow::Cow<'_, str> {
    let start = xml.len() - xml.trim_start().len();
    let tag = start_tag(&xml.as_bytes()[start..]);
    match tag
        .attrs
        .iter()
        .find(|a| a.name == b"xmlns" && a.value.is_empty())
    {
        Some(a) => {
            // The attribute's offset in `xml`, with the whitespace before it.
            let at = a.whole.as_ptr() as usize - xml.as_ptr() as usize;
            let ws = xml[..at].len() - xml[..at].trim_end().len();
            let mut out = String::with_capacity(xml.len());
            out.push_str(&xml[..at - ws]);
            out.push_str(&xml[at + a.whole.len()..]);
            std::borrow::Cow::Owned(out)
        }
        None => std::borrow::Cow::Borrowed(xml),
    }
}

#[cfg(test)]
mod tests {
    use super::without_empty_default_ns as strip;

    #[test]
    fn an_empty_default_namespace_on_the_top_element_is_dropped() {
        assert_eq!(strip(r#"<a xmlns="">x</a>"#), "<a>x</a>");
        assert_eq!(strip(r#"<a k="v" xmlns=""/>"#), r#"<a k="v"/>"#);
        assert_eq!(strip(r#"<a><b xmlns=""/></a>"#), r#"<a><b xmlns=""/></a>"#);
        assert_eq!(strip(r#"<a xmlns="urn:a"/>"#), r#"<a xmlns="urn:a"/>"#);
    }
}
