//! XML Schema validation through libxml2: a schema compiled once, standalone XML validated
//! against it with every violation reported (see [`super`] for what a schema may not load).

use std::ffi::{c_int, c_void, CStr};

use super::{ffi, init, last_error, parse, Doc, Resources};

/// A compiled XML Schema (one, or several combined).
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

/// A schema document that brings in every one of `texts` (mapped into `resources` as
/// `mint-schema-N`): one `xs:import` per target namespace, and for a namespace that several
/// texts share, an intermediate schema of that namespace including each of them (libxml2 imports
/// a namespace once); schemas without a target namespace are included directly.
fn combine(texts: &[&[u8]], resources: &mut Resources) -> Result<String, String> {
    let mut by_ns: Vec<(Option<String>, Vec<String>)> = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let ns = target_namespace(text).map_err(|e| format!("schema {}: {e}", i + 1))?;
        let location = format!("mint-schema-{i}");
        resources.push(location.clone(), text.to_vec());
        match by_ns.iter_mut().find(|(n, _)| *n == ns) {
            Some((_, l)) => l.push(location),
            None => by_ns.push((ns, vec![location])),
        }
    }
    const XS: &str = "http://www.w3.org/2001/XMLSchema";
    let mut top = format!("<xs:schema xmlns:xs=\"{XS}\">");
    for (n, (ns, locations)) in by_ns.into_iter().enumerate() {
        match ns {
            None => {
                for l in locations {
                    top.push_str(&format!("<xs:include schemaLocation=\"{l}\"/>"));
                }
            }
            Some(ns) => {
                let ns = crate::xml::escape_attr(&ns);
                let location = if locations.len() == 1 {
                    locations.into_iter().next().unwrap_or_default()
                } else {
                    let mut group =
                        format!("<xs:schema xmlns:xs=\"{XS}\" targetNamespace=\"{ns}\">");
                    for l in locations {
                        group.push_str(&format!("<xs:include schemaLocation=\"{l}\"/>"));
                    }
                    group.push_str("</xs:schema>");
                    let location = format!("mint-schema-ns-{n}");
                    resources.push(location.clone(), group.into_bytes());
                    location
                };
                top.push_str(&format!(
                    "<xs:import namespace=\"{ns}\" schemaLocation=\"{location}\"/>"
                ));
            }
        }
    }
    top.push_str("</xs:schema>");
    Ok(top)
}

/// The `targetNamespace` of a schema's root element (None when absent or empty).
fn target_namespace(text: &[u8]) -> Result<Option<String>, String> {
    let mut reader = quick_xml::Reader::from_reader(text);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                for a in e.attributes().flatten() {
                    if a.key.0 == "targetNamespace" {
                        let v = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(|e| e.to_string())?;
                        return Ok((!v.is_empty()).then(|| v.into_owned()));
                    }
                }
                return Ok(None);
            }
            Ok(quick_xml::events::Event::Eof) => return Err("no root element".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("not well-formed XML: {e}")),
        }
    }
}

impl Schema {
    /// Compiles schema texts into one schema (as Java's `SchemaFactory.newSchema(Source[])`
    /// combines Synapse's several `<schema>`s); `xs:import`/`xs:include` read the mapped
    /// resources, and every other location fails.
    pub fn compile(texts: &[&[u8]], mut resources: Resources) -> Result<Schema, String> {
        match texts {
            [] => Err("no schema".into()),
            [one] => Schema::compile_one(one, &resources),
            several => {
                let wrapper = combine(several, &mut resources)?;
                Schema::compile_one(wrapper.as_bytes(), &resources)
            }
        }
    }

    fn compile_one(text: &[u8], resources: &Resources) -> Result<Schema, String> {
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
            let schema = resources.serve(|| ffi::xmlSchemaParse(ctxt));
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
    use super::{Resources, Schema};

    const ORDER: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:o" xmlns="urn:o" elementFormDefault="qualified">
  <xs:element name="order"><xs:complexType><xs:sequence>
    <xs:element name="id" type="xs:int"/>
    <xs:element name="qty" type="xs:positiveInteger"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"#;

    #[test]
    fn validates_and_reports_every_violation() {
        let s = Schema::compile(&[ORDER.as_bytes()], Resources::default()).unwrap();
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
            &[b"<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"><xs:element/></xs:schema>"],
            Resources::default(),
        )
        .err()
        .unwrap();
        assert!(e.contains("does not compile"), "{e}");
        let imports = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:include schemaLocation="/etc/passwd"/>
</xs:schema>"#;
        assert!(Schema::compile(&[imports.as_bytes()], Resources::default()).is_err());
        let doctype = format!("<!DOCTYPE x SYSTEM \"http://example.com/x.dtd\">{ORDER}");
        assert!(Schema::compile(&[doctype.as_bytes()], Resources::default()).is_err());
    }

    const TYPES: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" elementFormDefault="qualified">
  <xs:simpleType name="qty"><xs:restriction base="xs:int"><xs:maxInclusive value="10"/></xs:restriction></xs:simpleType>
</xs:schema>"#;

    #[test]
    fn imports_read_mapped_resources() {
        let main = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:o" elementFormDefault="qualified">
  <xs:import namespace="urn:t" schemaLocation="types/t.xsd"/>
  <xs:element name="line" type="t:qty"/>
</xs:schema>"#;
        assert!(Schema::compile(&[main.as_bytes()], Resources::default()).is_err());
        let s = Schema::compile(
            &[main.as_bytes()],
            Resources::new(&[("types/t.xsd", TYPES.as_bytes())]),
        )
        .unwrap();
        assert_eq!(s.validate(br#"<line xmlns="urn:o">3</line>"#), Ok(Ok(())));
        assert!(s
            .validate(br#"<line xmlns="urn:o">11</line>"#)
            .unwrap()
            .is_err());
    }

    #[test]
    fn several_schemas_combine() {
        let same_ns = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:o" elementFormDefault="qualified">
  <xs:element name="note" type="xs:string"/>
</xs:schema>"#;
        let no_ns = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="plain" type="xs:boolean"/></xs:schema>"#;
        let s = Schema::compile(
            &[
                ORDER.as_bytes(),
                same_ns.as_bytes(),
                no_ns.as_bytes(),
                TYPES.as_bytes(),
            ],
            Resources::default(),
        )
        .unwrap();
        assert_eq!(
            s.validate(br#"<order xmlns="urn:o"><id>1</id><qty>2</qty></order>"#),
            Ok(Ok(()))
        );
        assert_eq!(s.validate(br#"<note xmlns="urn:o">x</note>"#), Ok(Ok(())));
        assert_eq!(s.validate(b"<plain>true</plain>"), Ok(Ok(())));
        assert!(s.validate(b"<plain>maybe</plain>").unwrap().is_err());
        assert!(s.validate(br#"<other xmlns="urn:o"/>"#).unwrap().is_err());
    }
}
