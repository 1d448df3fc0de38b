//! The XML layer for message bodies (SOAP 1.1, SOAP 1.2 and POX), built for one request at a time.
//!
//! Owns: parsing one body `Bytes` into a zero-copy arena [`Document`] (names, attribute values and
//! text are byte ranges into the original buffer unless they needed unescaping), the
//! [`crate::xpath::dom::Dom`] implementation over it, edits and serialization ([`Editor`],
//! [`Fragment`]), SOAP envelope helpers ([`soap`]) and the streaming first-match path evaluator
//! ([`StreamPath`]) that answers simple location paths without building a tree.
//!
//! Must not: read sockets or message contexts, log, evaluate general XPath (that is
//! `crate::xpath`), or accept anything an attacker could use to expand input (no DOCTYPE, no
//! entities beyond the five predefined ones and character references, bounded depth and node
//! count).
//!
//! ## Life of a body
//! 1. A flow that never looks at content forwards the body bytes untouched.
//! 2. Simple paths (`/soapenv:Envelope/soapenv:Header/t:routing`, `//order[1]/symbol`) run on the
//!    raw bytes through [`StreamPath::first_string`]: matching stops at the first match, the rest
//!    is only checked (the matcher refuses exactly what the tree parser refuses).
//! 3. Anything else parses once with [`Document::parse`]; the tree borrows from the `Bytes`.
//! 4. A mediator that changes content opens an [`Editor`] over the document, records edits and
//!    calls [`Editor::finish`], which returns the same `Bytes` when nothing changed, or the body
//!    serialized once, copying unchanged subtrees as byte ranges. The caller replaces the body with
//!    the result and drops the old tree; the next reader parses the new bytes (see `edit.rs` for
//!    why edits are an overlay rather than arena mutation).

mod attrs;
mod edit;
pub mod element;
mod error;
mod escape;
mod lex;
mod parse;
pub mod soap;
mod stream;
mod tree;
mod write;

#[cfg(test)]
mod tests;

pub use edit::{Content, Editor, Fragment};
pub use error::{EditError, XmlError, XmlErrorKind};
pub(crate) use escape::is_name;
pub use escape::{escape_attr, escape_text};
pub use soap::SoapVersion;
pub use stream::{StreamAxis, StreamMatch, StreamPath, StreamStep, StreamTarget};
pub use tree::{Children, Document, ParseOptions};

/// The namespace URI bound to the reserved `xml` prefix.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
