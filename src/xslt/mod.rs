//! XSLT 1.0, run by mint itself over its own tree, for the stylesheets most integration projects
//! write: template rules (with modes and priorities), named templates, `apply-templates`,
//! `for-each`, `value-of`, `copy`, `copy-of`, `if`, `choose`, `text`, `attribute`, literal result
//! elements with attribute value templates, and `xsl:output method="xml"` without indentation.
//!
//! The result is what libxslt writes for the same stylesheet and input, namespace declarations
//! included: the output tree follows libxslt's rules for copying and declaring namespaces (a
//! template's first-level literal result elements take the stylesheet's namespaces in scope,
//! `xsl:copy` copies an element's own declarations, `xsl:copy-of` all those in scope at its top
//! element, an element in no namespace undeclares an inherited default one). `tests/xslt_native.rs`
//! checks it against libxslt on the same inputs.
//!
//! A stylesheet that uses anything else is not compiled ([`Program::compile`] says why) and runs
//! on libxslt; a transformation that meets a case this engine does not reproduce exactly (an
//! attribute added after children, a result that is not one element, a namespace prefix clash)
//! stops with [`Fallback`] and runs on libxslt too. So this module decides nothing a user
//! could see: it is a faster path to the same output.
//!
//! The input is a subtree of a parsed message: the element being transformed becomes the root
//! element of the document the stylesheet sees (as when libxslt is given it on its own), through
//! `subtree::Subtree`.

mod compile;
mod output;
mod pattern;
mod run;
mod subtree;

pub use compile::Program;

/// XML's whitespace (what XSLT strips and trims; Unicode's other spaces are not).
pub(crate) const XML_WS: [char; 4] = [' ', '\t', '\r', '\n'];

/// Why a transformation must run on libxslt instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback(pub &'static str);

impl std::fmt::Display for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
