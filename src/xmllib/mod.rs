//! The system's libxml2 and libxslt (through the `libxslt` crate's bindings): XSLT 1.0
//! ([`xslt`]) and XML Schema validation ([`xsd`]) of standalone XML.
//!
//! What neither may do: read or write files, create folders, or reach the network. libxslt's
//! security preferences forbid it to every transformation (`document()`, `xsl:import` of a file,
//! `xsl:result-document`), and libxml2's external entity loader refuses every load (a schema's
//! `xs:import`/`xs:include` of a location, an external DTD). Neither stylesheets, schemas nor
//! inputs may carry a DOCTYPE, so no entity is ever expanded.
//!
//! Compiled stylesheets and schemas are not `Send`: each shard compiles its own.

pub mod xsd;
pub mod xslt;

pub use xsd::Schema;
pub use xslt::Stylesheet;

use std::ffi::{c_char, c_int, CStr};
use std::sync::Once;

pub(crate) use libxslt::bindings as ffi;

/// Options for parsing stylesheets and inputs: no network, no error printing (errors are read
/// back with `xmlGetLastError`), no entity substitution, no DTD loading.
const PARSE_OPTIONS: c_int = (ffi::xmlParserOption_XML_PARSE_NONET
    | ffi::xmlParserOption_XML_PARSE_NOERROR
    | ffi::xmlParserOption_XML_PARSE_NOWARNING) as c_int;

static INIT: Once = Once::new();

/// Initializes libxml2 (its global state must be set up by one thread before the others use
/// it) and forbids file and network access to every transformation of the process (once).
pub(crate) fn init() {
    INIT.call_once(|| {
        // SAFETY: libxml2's and libxslt's documented set-up calls, made once, before any parse
        // or transformation (`Once` makes the other threads wait); the preferences object lives
        // for the rest of the process (it is the default).
        unsafe {
            ffi::xmlInitParser();
            ffi::xmlSetExternalEntityLoader(Some(refuse_external));
            let prefs = ffi::xsltNewSecurityPrefs();
            if prefs.is_null() {
                return;
            }
            for option in [
                ffi::xsltSecurityOption_XSLT_SECPREF_READ_FILE,
                ffi::xsltSecurityOption_XSLT_SECPREF_WRITE_FILE,
                ffi::xsltSecurityOption_XSLT_SECPREF_CREATE_DIRECTORY,
                ffi::xsltSecurityOption_XSLT_SECPREF_READ_NETWORK,
                ffi::xsltSecurityOption_XSLT_SECPREF_WRITE_NETWORK,
            ] {
                ffi::xsltSetSecurityPrefs(prefs, option, Some(ffi::xsltSecurityForbid));
            }
            ffi::xsltSetDefaultSecurityPrefs(prefs);
        }
    });
}

/// libxml2's external entity loader: every load is refused (null), so nothing outside the
/// document is ever read.
unsafe extern "C" fn refuse_external(
    _url: *const c_char,
    _id: *const c_char,
    _ctxt: ffi::xmlParserCtxtPtr,
) -> ffi::xmlParserInputPtr {
    std::ptr::null_mut()
}

/// What went wrong, in libxml2's words when it said something.
pub(crate) fn last_error(what: &str) -> String {
    // SAFETY: xmlGetLastError returns null or a pointer to this thread's last error, valid
    // until the next libxml2 call on this thread; the message is copied at once.
    let detail = unsafe {
        let e = ffi::xmlGetLastError();
        if e.is_null() || (*e).message.is_null() {
            None
        } else {
            Some(
                CStr::from_ptr((*e).message)
                    .to_string_lossy()
                    .trim()
                    .to_string(),
            )
        }
    };
    // SAFETY: resets this thread's last error, so that a later failure is not blamed on it.
    unsafe { ffi::xmlResetLastError() };
    match detail {
        Some(d) if !d.is_empty() => format!("{what}: {d}"),
        _ => what.to_string(),
    }
}

/// Whether XML text declares a DOCTYPE (refused: it could bring external or expanding entities).
pub(crate) fn has_doctype(xml: &[u8]) -> bool {
    memchr::memmem::find(xml, b"<!DOCTYPE").is_some()
}

/// Parses XML with [`PARSE_OPTIONS`]; the caller frees the document.
pub(crate) fn parse(xml: &[u8], what: &str) -> Result<ffi::xmlDocPtr, String> {
    if has_doctype(xml) {
        return Err(format!("{what}: a DOCTYPE is not allowed"));
    }
    let len = c_int::try_from(xml.len()).map_err(|_| format!("{what}: too large"))?;
    // SAFETY: the buffer and its length are valid for the call; libxml2 copies what it keeps.
    let doc = unsafe {
        ffi::xmlReadMemory(
            xml.as_ptr().cast::<c_char>(),
            len,
            c"mint:".as_ptr(),
            std::ptr::null(),
            PARSE_OPTIONS,
        )
    };
    if doc.is_null() {
        return Err(last_error(&format!("{what} is not well-formed XML")));
    }
    Ok(doc)
}

/// A libxml2 document freed on drop.
pub(crate) struct Doc(pub(crate) ffi::xmlDocPtr);

impl Drop for Doc {
    fn drop(&mut self) {
        // SAFETY: the document is owned by this guard alone.
        unsafe { ffi::xmlFreeDoc(self.0) }
    }
}
