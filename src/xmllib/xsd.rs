//! XML Schema validation through libxml2: a schema compiled once, standalone XML validated
//! against it with every violation reported (see [`super`] for what a schema may not load).

use std::ffi::{c_int, c_void, CStr};

use super::{ffi, init, last_error, parse, Doc};

/// A compiled XML Schema.
pub struct Schema {
    ptr: ffi::xmlSchemaPtr,
}

impl Drop for Schema {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from xmlSchemaParse and is owned by this value alone.
        unsafe { ffi::xmlSchemaFree(self.ptr) }
    }
}

/// Collects libxml2's structured errors as `line N: message` (one per violation).
unsafe extern "C" fn collect(user: *mut c_void, error: ffi::xmlErrorPtr) {
    if user.is_null() || error.is_null() {
        return;
    }
    // SAFETY: `user` is the `Vec<String>` the caller registered for the duration of the call
    // that reports into it; `error` and its message are valid during this callback.
    let (errors, e) = unsafe { (&mut *(user as *mut Vec<String>), &*error) };
    if e.message.is_null() {
        return;
    }
    // SAFETY: a NUL-terminated message owned by libxml2, copied at once.
    let msg = unsafe { CStr::from_ptr(e.message) }
        .to_string_lossy()
        .trim()
        .to_string();
    errors.push(msg);
}

impl Schema {
    /// Compiles a schema's text (`xs:import`/`xs:include` of other locations fail).
    pub fn compile(text: &[u8]) -> Result<Schema, String> {
        init();
        if super::has_doctype(text) {
            return Err("the schema: a DOCTYPE is not allowed".into());
        }
        let len = c_int::try_from(text.len()).map_err(|_| "the schema is too large")?;
        let mut errors: Vec<String> = Vec::new();
        // SAFETY: the buffer outlives the parser context, which is freed before returning;
        // `errors` outlives every callback into it (they happen inside xmlSchemaParse).
        let ptr = unsafe {
            let ctxt = ffi::xmlSchemaNewMemParserCtxt(text.as_ptr().cast(), len);
            if ctxt.is_null() {
                return Err(last_error("the schema cannot be read"));
            }
            ffi::xmlSchemaSetParserStructuredErrors(
                ctxt,
                Some(collect),
                (&mut errors as *mut Vec<String>).cast(),
            );
            let schema = ffi::xmlSchemaParse(ctxt);
            ffi::xmlSchemaFreeParserCtxt(ctxt);
            schema
        };
        if ptr.is_null() {
            let detail = if errors.is_empty() {
                last_error("the schema does not compile")
            } else {
                format!("the schema does not compile: {}", errors.join("; "))
            };
            return Err(detail);
        }
        Ok(Schema { ptr })
    }

    /// Validates `input`: `Ok(Ok(()))` when valid, `Ok(Err(violations))` when not, `Err` when
    /// the input cannot be read as XML.
    pub fn validate(&self, input: &[u8]) -> Result<Result<(), Vec<String>>, String> {
        let doc = Doc(parse(input, "the input")?);
        let mut errors: Vec<String> = Vec::new();
        // SAFETY: the schema and document are valid for the call; the validation context is
        // freed before returning and `errors` outlives every callback into it.
        let rc = unsafe {
            let ctxt = ffi::xmlSchemaNewValidCtxt(self.ptr);
            if ctxt.is_null() {
                return Err(last_error("cannot start the validation"));
            }
            ffi::xmlSchemaSetValidStructuredErrors(
                ctxt,
                Some(collect),
                (&mut errors as *mut Vec<String>).cast(),
            );
            let rc = ffi::xmlSchemaValidateDoc(ctxt, doc.0);
            ffi::xmlSchemaFreeValidCtxt(ctxt);
            rc
        };
        match rc {
            0 => Ok(Ok(())),
            n if n > 0 => Ok(Err(errors)),
            _ => Err(last_error("the validation failed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Schema;

    const ORDER: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:o" xmlns="urn:o" elementFormDefault="qualified">
  <xs:element name="order"><xs:complexType><xs:sequence>
    <xs:element name="id" type="xs:int"/>
    <xs:element name="qty" type="xs:positiveInteger"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"#;

    #[test]
    fn validates_and_reports_every_violation() {
        let s = Schema::compile(ORDER.as_bytes()).unwrap();
        assert_eq!(
            s.validate(br#"<order xmlns="urn:o"><id>1</id><qty>2</qty></order>"#),
            Ok(Ok(()))
        );
        let bad = s
            .validate(br#"<order xmlns="urn:o"><id>x</id><qty>0</qty></order>"#)
            .unwrap()
            .unwrap_err();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad[0].contains("'x' is not a valid value"), "{bad:?}");
        assert!(s.validate(b"<order").is_err());
    }

    #[test]
    fn refuses_broken_schemas_and_external_loads() {
        let e = Schema::compile(
            b"<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"><xs:element/></xs:schema>",
        )
        .err()
        .unwrap();
        assert!(e.contains("does not compile"), "{e}");
        let imports = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:include schemaLocation="/etc/passwd"/>
</xs:schema>"#;
        assert!(Schema::compile(imports.as_bytes()).is_err());
        let doctype = format!("<!DOCTYPE x SYSTEM \"http://example.com/x.dtd\">{ORDER}");
        assert!(Schema::compile(doctype.as_bytes()).is_err());
    }
}
