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
