//! The system's libxml2 and libxslt (through the `libxslt` crate's bindings): XSLT 1.0
//! ([`xslt`]) and XML Schema validation ([`xsd`]) of standalone XML.
//!
//! What neither may do: read or write files, create folders, or reach the network. libxslt's
//! security preferences forbid it to every transformation (`xsl:result-document`, and
//! `document()` or `xsl:import` of any location the artifact did not map), and libxml2's
//! external entity loader refuses every load but the artifact's [`Resources`]: a `<resource
//! location="…" key="…"/>` of the xslt or validate mediator maps a location (as an `xsl:import`,
//! `xsl:include`, `document()`, `xs:import` or `xs:include` writes it) to a local entry or
//! registry resource, as Synapse's ResourceMap does. Neither stylesheets, schemas, resources nor
//! inputs may carry a DOCTYPE, so no entity is ever expanded.
//!
//! Compiled stylesheets and schemas are not `Send`: each shard compiles its own.

pub mod xsd;
pub mod xslt;

pub use xsd::Schema;
pub use xslt::Stylesheet;

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};
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
                ffi::xsltSecurityOption_XSLT_SECPREF_WRITE_FILE,
                ffi::xsltSecurityOption_XSLT_SECPREF_CREATE_DIRECTORY,
                ffi::xsltSecurityOption_XSLT_SECPREF_WRITE_NETWORK,
            ] {
                ffi::xsltSetSecurityPrefs(prefs, option, Some(ffi::xsltSecurityForbid));
            }
            for option in [
                ffi::xsltSecurityOption_XSLT_SECPREF_READ_FILE,
                ffi::xsltSecurityOption_XSLT_SECPREF_READ_NETWORK,
            ] {
                ffi::xsltSetSecurityPrefs(prefs, option, Some(read_mapped));
            }
            ffi::xsltSetDefaultSecurityPrefs(prefs);
        }
    });
}

/// Locations an artifact maps to texts (its `<resource>`s), in its order.
#[derive(Debug, Default)]
pub struct Resources(Vec<(String, Vec<u8>)>);

impl Resources {
    pub fn new(mapped: &[(&str, &[u8])]) -> Resources {
        Resources(
            mapped
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_vec()))
                .collect(),
        )
    }

    /// (location, text) of each.
    pub fn entries(&self) -> Vec<(&str, &[u8])> {
        self.0
            .iter()
            .map(|(l, t)| (l.as_str(), t.as_slice()))
            .collect()
    }

    pub(crate) fn push(&mut self, location: String, text: Vec<u8>) {
        self.0.push((location, text));
    }

    /// The text mapped to `url`: the location as written, or (when a base made it absolute)
    /// one the url ends with after a `/`.
    fn find(&self, url: &str) -> Option<&[u8]> {
        let url = url.strip_prefix("file://").unwrap_or(url);
        self.0
            .iter()
            .find(|(l, _)| l == url)
            .or_else(|| {
                self.0.iter().find(|(l, _)| {
                    url.strip_suffix(l.as_str())
                        .is_some_and(|head| head.ends_with('/'))
                })
            })
            .map(|(_, t)| t.as_slice())
    }

    /// Runs `f` (a parse, compile or transformation on this thread) with these resources
    /// readable by the loader; none are afterwards.
    pub(crate) fn serve<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(*const Resources);
        impl Drop for Restore {
            fn drop(&mut self) {
                SERVED.with(|s| s.set(self.0));
            }
        }
        let _restore = Restore(SERVED.with(|s| s.replace(self as *const Resources)));
        f()
    }
}

thread_local! {
    /// The resources of the parse, compile or transformation running on this thread (set by
    /// [`Resources::serve`] for its duration only).
    static SERVED: Cell<*const Resources> = const { Cell::new(std::ptr::null()) };
}

/// The text the running operation maps to `url`, copied (None when nothing maps it).
fn served(url: *const c_char) -> Option<Vec<u8>> {
    if url.is_null() {
        return None;
    }
    // SAFETY: libxml2 hands a NUL-terminated URL valid for the call.
    let url = unsafe { CStr::from_ptr(url) }.to_string_lossy();
    SERVED.with(|s| {
        let r = s.get();
        // SAFETY: a non-null pointer is set only by `Resources::serve`, whose borrow outlives
        // the operation during which libxml2 calls back here, and reset when it ends.
        (!r.is_null())
            .then(|| unsafe { &*r }.find(&url).map(<[u8]>::to_vec))
            .flatten()
    })
}

extern "C" {
    // libxml2 (linked through the libxslt crate, whose bindings lack these two).
    fn xmlParserInputBufferCreateMem(mem: *const c_char, size: c_int, enc: c_int) -> *mut c_void;
    fn xmlNewIOInputStream(
        ctxt: ffi::xmlParserCtxtPtr,
        input: *mut c_void,
        enc: c_int,
    ) -> ffi::xmlParserInputPtr;
}

/// libxml2's external entity loader: a location the running operation maps is read from its
/// text; every other load is refused (null), so nothing outside the artifact is ever read.
unsafe extern "C" fn refuse_external(
    url: *const c_char,
    _id: *const c_char,
    ctxt: ffi::xmlParserCtxtPtr,
) -> ffi::xmlParserInputPtr {
    let Some(text) = served(url) else {
        return std::ptr::null_mut();
    };
    if has_doctype(&text) {
        return std::ptr::null_mut();
    }
    let Ok(len) = c_int::try_from(text.len()) else {
        return std::ptr::null_mut();
    };
    // SAFETY: libxml2 copies the memory into the new buffer (the text is dropped after); the
    // input stream takes the buffer over; encoding 0 is XML_CHAR_ENCODING_NONE (detected).
    unsafe {
        let buf = xmlParserInputBufferCreateMem(text.as_ptr().cast(), len, 0);
        if buf.is_null() {
            return std::ptr::null_mut();
        }
        xmlNewIOInputStream(ctxt, buf, 0)
    }
}

/// libxslt's read check (`xsl:import`, `xsl:include`, `document()`): allowed for a location the
/// running operation maps, forbidden for every other file or URL.
unsafe extern "C" fn read_mapped(
    _sec: ffi::xsltSecurityPrefsPtr,
    _ctxt: ffi::xsltTransformContextPtr,
    value: *const c_char,
) -> c_int {
    c_int::from(served(value).is_some())
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
            std::ptr::null(),
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
