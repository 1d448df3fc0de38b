//! XSLT 1.0 through libxslt: a stylesheet compiled once, applied to standalone XML with string
//! parameters (see [`super`] for what a stylesheet may not do). Recursion is bounded by
//! libxslt's own template-depth limit (3000), which ends the transformation with an error.

use std::ffi::{c_char, c_int, CString};

use super::{ffi, init, last_error, parse, Doc, Resources};

/// A compiled stylesheet, with the resources its imports and `document()` calls may read.
pub struct Stylesheet {
    ptr: ffi::xsltStylesheetPtr,
    resources: Resources,
}

impl Drop for Stylesheet {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from xsltParseStylesheetDoc, is owned by this value alone, and the
        // stylesheet owns (and frees) the document it was parsed from.
        unsafe { ffi::xsltFreeStylesheet(self.ptr) }
    }
}

impl Stylesheet {
    /// Compiles a stylesheet's text; `xsl:import`/`xsl:include` read the mapped resources.
    pub fn compile(text: &[u8], resources: Resources) -> Result<Stylesheet, String> {
        init();
        let doc = parse(text, "the stylesheet")?;
        // SAFETY: `doc` is a valid document; on success the stylesheet takes it over, on
        // failure it is still ours to free.
        let ptr = resources.serve(|| unsafe { ffi::xsltParseStylesheetDoc(doc) });
        if ptr.is_null() {
            // SAFETY: not taken over by a stylesheet.
            unsafe { ffi::xmlFreeDoc(doc) };
            return Err(last_error("the stylesheet does not compile"));
        }
        Ok(Stylesheet { ptr, resources })
    }

    /// Whether the output is XML text (`xsl:output method="xml"`, or no method): not `html`,
    /// `xhtml` or `text`. (With no method, libxslt still writes HTML when the result's root is an
    /// `html` element; the caller looks at the output for that.)
    pub fn writes_xml(&self) -> bool {
        // SAFETY: `ptr` is a valid compiled stylesheet; `method` is null or a NUL-terminated
        // string it owns.
        let method = unsafe { (*self.ptr).method };
        method.is_null() || unsafe { std::ffi::CStr::from_ptr(method.cast()) }.to_bytes() == b"xml"
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
            let result = self.resources.serve(|| {
                ffi::xsltApplyStylesheetUser(
                    self.ptr,
                    doc,
                    std::ptr::null_mut(),
                    std::ptr::null(),
                    std::ptr::null_mut(),
                    ctxt,
                )
            });
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

#[cfg(test)]
mod tests {
    use super::{Resources, Stylesheet};

    const RENAME: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:param name="greeting" select="'hi'"/>
  <xsl:template match="/a"><b g="{$greeting}"><xsl:value-of select="."/></b></xsl:template>
</xsl:stylesheet>"#;

    #[test]
    fn transforms_with_string_parameters() {
        let s = Stylesheet::compile(RENAME.as_bytes(), Resources::default()).unwrap();
        let out = s.transform(b"<a>x</a>", &[]).unwrap();
        assert_eq!(String::from_utf8_lossy(&out).trim(), r#"<b g="hi">x</b>"#);
        let out = s.transform(b"<a>y</a>", &[("greeting", "it's")]).unwrap();
        assert_eq!(String::from_utf8_lossy(&out).trim(), r#"<b g="it's">y</b>"#);
    }

    #[test]
    fn refuses_what_could_escape_or_explode() {
        let e = Stylesheet::compile(b"<xsl:stylesheet", Resources::default())
            .err()
            .unwrap();
        assert!(e.contains("not well-formed"), "{e}");
        let e = Stylesheet::compile(b"<x/>", Resources::default())
            .err()
            .unwrap();
        assert!(e.contains("does not compile"), "{e}");
        let doctype = format!("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{RENAME}");
        assert!(Stylesheet::compile(doctype.as_bytes(), Resources::default()).is_err());
        let s = Stylesheet::compile(RENAME.as_bytes(), Resources::default()).unwrap();
        assert!(s
            .transform(b"<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", &[])
            .is_err());
        // document() of a file is forbidden.
        let reads = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><r><xsl:copy-of select="document('/etc/hostname')"/></r></xsl:template>
</xsl:stylesheet>"#;
        let s = Stylesheet::compile(reads.as_bytes(), Resources::default()).unwrap();
        assert!(s.transform(b"<a/>", &[]).is_err());
        // Recursion without end is stopped by libxslt's depth limit.
        let forever = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><xsl:call-template name="f"/></xsl:template>
  <xsl:template name="f"><xsl:call-template name="f"/></xsl:template>
</xsl:stylesheet>"#;
        let s = Stylesheet::compile(forever.as_bytes(), Resources::default()).unwrap();
        assert!(s.transform(b"<a/>", &[]).is_err());
    }

    #[test]
    fn imports_and_documents_read_mapped_resources_only() {
        let main = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="common/names.xsl"/>
  <xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:template match="/a"><r><xsl:call-template name="hello"/><xsl:value-of select="document('codes.xml')/codes/c[@k=current()/@k]"/></r></xsl:template>
</xsl:stylesheet>"#;
        let names = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template name="hello"><h>hello</h></xsl:template>
</xsl:stylesheet>"#;
        let codes = r#"<codes><c k="1">one</c><c k="2">two</c></codes>"#;
        let mapped = Resources::new(&[
            ("common/names.xsl", names.as_bytes()),
            ("codes.xml", codes.as_bytes()),
        ]);
        let s = Stylesheet::compile(main.as_bytes(), mapped).unwrap();
        let out = s.transform(br#"<a k="2"/>"#, &[]).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out).trim(),
            "<r><h>hello</h>two</r>"
        );
        // Without the mapping the import is refused, and so is an unmapped document().
        let e = Stylesheet::compile(main.as_bytes(), Resources::default())
            .err()
            .unwrap();
        assert!(e.contains("does not compile"), "{e}");
        let only_import = Resources::new(&[("common/names.xsl", names.as_bytes())]);
        let s = Stylesheet::compile(main.as_bytes(), only_import).unwrap();
        assert!(s.transform(br#"<a k="2"/>"#, &[]).is_err());
    }
}
