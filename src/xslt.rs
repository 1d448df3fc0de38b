//! XSLT 1.0 through libxslt (the `libxslt` crate's bindings to the system's libxslt and libxml2):
//! a stylesheet compiled once, applied to standalone XML with string parameters.
//!
//! What a stylesheet may not do: read or write files, create folders, or reach the network
//! (`document()`, `xsl:import` of a file, `xsl:result-document`: libxslt's security preferences
//! forbid them all, for every transformation in the process). Neither the stylesheet nor the
//! input may carry a DOCTYPE, so no external entity is ever resolved and no entity expanded.
//! Recursion is bounded by libxslt's own template-depth limit (3000), which ends the
//! transformation with an error.
//!
//! A [`Stylesheet`] is not `Send`: each shard compiles its own (libxslt documents are not shared
//! between threads here).

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::Once;

use libxslt::bindings as ffi;

/// Options for parsing stylesheets and inputs: no network, no error printing (errors are read
/// back with `xmlGetLastError`), no entity substitution, no DTD loading.
const PARSE_OPTIONS: c_int = (ffi::xmlParserOption_XML_PARSE_NONET
    | ffi::xmlParserOption_XML_PARSE_NOERROR
    | ffi::xmlParserOption_XML_PARSE_NOWARNING) as c_int;

static SECURITY: Once = Once::new();

/// Initializes libxml2 (its global state must be set up by one thread before the others use
/// it) and forbids file and network access to every transformation of the process (once).
fn forbid_io() {
    SECURITY.call_once(|| {
        // SAFETY: libxml2's and libxslt's documented set-up calls, made once, before any parse
        // or transformation (`Once` makes the other threads wait); the preferences object lives
        // for the rest of the process (it is the default).
        unsafe {
            ffi::xmlInitParser();
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

/// A compiled stylesheet.
pub struct Stylesheet {
    ptr: ffi::xsltStylesheetPtr,
}

impl Drop for Stylesheet {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from xsltParseStylesheetDoc, is owned by this value alone, and the
        // stylesheet owns (and frees) the document it was parsed from.
        unsafe { ffi::xsltFreeStylesheet(self.ptr) }
    }
}

/// What went wrong, in libxml2's words when it said something.
fn last_error(what: &str) -> String {
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
fn has_doctype(xml: &[u8]) -> bool {
    memchr::memmem::find(xml, b"<!DOCTYPE").is_some()
}

/// Parses XML with [`PARSE_OPTIONS`]; the caller frees the document.
fn parse(xml: &[u8], what: &str) -> Result<ffi::xmlDocPtr, String> {
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

impl Stylesheet {
    /// Compiles a stylesheet's text.
    pub fn compile(text: &[u8]) -> Result<Stylesheet, String> {
        forbid_io();
        let doc = parse(text, "the stylesheet")?;
        // SAFETY: `doc` is a valid document; on success the stylesheet takes it over, on
        // failure it is still ours to free.
        let ptr = unsafe { ffi::xsltParseStylesheetDoc(doc) };
        if ptr.is_null() {
            // SAFETY: not taken over by a stylesheet.
            unsafe { ffi::xmlFreeDoc(doc) };
            return Err(last_error("the stylesheet does not compile"));
        }
        Ok(Stylesheet { ptr })
    }

    /// Applies the stylesheet to `input` with string parameters; the result as serialized by
    /// the stylesheet's `xsl:output` (an XML declaration included when it asks for one).
    pub fn transform(&self, input: &[u8], params: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let mut c_params = Vec::with_capacity(params.len() * 2);
        for (name, value) in params {
            let name = CString::new(*name).map_err(|_| "a parameter name holds a NUL")?;
            let value = CString::new(*value).map_err(|_| "a parameter value holds a NUL")?;
            c_params.push(name);
            c_params.push(value);
        }
        let mut ptrs: Vec<*const c_char> = c_params.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let doc = parse(input, "the input")?;
        let guard = Doc(doc);
        // SAFETY: `self.ptr` and `doc` are valid; the context is freed below and never
        // outlives either; `ptrs` is a null-terminated array of C strings alive for the call.
        unsafe {
            let ctxt = ffi::xsltNewTransformContext(self.ptr, doc);
            if ctxt.is_null() {
                return Err(last_error("cannot start the transformation"));
            }
            // String parameters, quoted by libxslt (no XPath evaluation of their values).
            ffi::xsltQuoteUserParams(ctxt, ptrs.as_mut_ptr());
            let result = ffi::xsltApplyStylesheetUser(
                self.ptr,
                doc,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null_mut(),
                ctxt,
            );
            let failed = (*ctxt).state != ffi::xsltTransformState_XSLT_STATE_OK;
            ffi::xsltFreeTransformContext(ctxt);
            if result.is_null() || failed {
                if !result.is_null() {
                    ffi::xmlFreeDoc(result);
                }
                return Err(last_error("the transformation failed"));
            }
            let result = Doc(result);
            let mut out: *mut ffi::xmlChar = std::ptr::null_mut();
            let mut len: c_int = 0;
            if ffi::xsltSaveResultToString(&mut out, &mut len, result.0, self.ptr) != 0 {
                return Err(last_error("the result cannot be written"));
            }
            if out.is_null() {
                return Ok(Vec::new());
            }
            let bytes = std::slice::from_raw_parts(out, usize::try_from(len).unwrap_or(0)).to_vec();
            if let Some(free) = ffi::xmlFree {
                free(out.cast());
            }
            drop(guard);
            Ok(bytes)
        }
    }
}

/// A libxml2 document freed on drop.
struct Doc(ffi::xmlDocPtr);

impl Drop for Doc {
    fn drop(&mut self) {
        // SAFETY: the document is owned by this guard alone.
        unsafe { ffi::xmlFreeDoc(self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::Stylesheet;

    const RENAME: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:param name="greeting" select="'hi'"/>
  <xsl:template match="/a"><b g="{$greeting}"><xsl:value-of select="."/></b></xsl:template>
</xsl:stylesheet>"#;

    #[test]
    fn transforms_with_string_parameters() {
        let s = Stylesheet::compile(RENAME.as_bytes()).unwrap();
        let out = s.transform(b"<a>x</a>", &[]).unwrap();
        assert_eq!(String::from_utf8_lossy(&out).trim(), r#"<b g="hi">x</b>"#);
        let out = s.transform(b"<a>y</a>", &[("greeting", "it's")]).unwrap();
        assert_eq!(String::from_utf8_lossy(&out).trim(), r#"<b g="it's">y</b>"#);
    }

    #[test]
    fn refuses_what_could_escape_or_explode() {
        let e = Stylesheet::compile(b"<xsl:stylesheet").err().unwrap();
        assert!(e.contains("not well-formed"), "{e}");
        let e = Stylesheet::compile(b"<x/>").err().unwrap();
        assert!(e.contains("does not compile"), "{e}");
        let doctype = format!("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{RENAME}");
        assert!(Stylesheet::compile(doctype.as_bytes()).is_err());
        let s = Stylesheet::compile(RENAME.as_bytes()).unwrap();
        assert!(s
            .transform(b"<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", &[])
            .is_err());
        // document() of a file is forbidden.
        let reads = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><r><xsl:copy-of select="document('/etc/hostname')"/></r></xsl:template>
</xsl:stylesheet>"#;
        let s = Stylesheet::compile(reads.as_bytes()).unwrap();
        assert!(s.transform(b"<a/>", &[]).is_err());
        // Recursion without end is stopped by libxslt's depth limit.
        let forever = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><xsl:call-template name="f"/></xsl:template>
  <xsl:template name="f"><xsl:call-template name="f"/></xsl:template>
</xsl:stylesheet>"#;
        let s = Stylesheet::compile(forever.as_bytes()).unwrap();
        assert!(s.transform(b"<a/>", &[]).is_err());
    }
}
