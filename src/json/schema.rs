//! JSON Schema validation (the validate mediator on a JSON message, as MI 4.x does it with
//! fge's json-schema-validator), through the `jsonschema` crate. A schema without `$schema` is
//! read as draft 4 (fge's default). Nothing is fetched: a `$ref` to another document resolves only
//! to a location the artifact maps with `<resource location key>`; the crate is built without
//! its file and HTTP retrievers.

use serde_json::Value;

/// A compiled JSON Schema.
pub struct JsonSchema {
    validator: jsonschema::Validator,
}

/// The documents an artifact maps by location; any other location is refused.
struct Mapped(Vec<(String, Value)>);

impl jsonschema::Retrieve for Mapped {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let wanted = uri.as_str();
        self.0
            .iter()
            .find(|(l, _)| {
                l == wanted
                    || wanted
                        .strip_suffix(l.as_str())
                        .is_some_and(|head| head.ends_with('/'))
            })
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                format!("'{wanted}' is not mapped by a <resource>: mint reads no other location")
                    .into()
            })
    }
}

impl JsonSchema {
    /// Compiles a schema's text; `$ref`s to other documents read the mapped resources.
    pub fn compile(text: &[u8], resources: &[(&str, &[u8])]) -> Result<JsonSchema, String> {
        let schema: Value = serde_json::from_slice(text)
            .map_err(|e| format!("the JSON schema is not JSON: {e}"))?;
        let mut mapped = Vec::with_capacity(resources.len());
        for (location, t) in resources {
            let v: Value = serde_json::from_slice(t)
                .map_err(|e| format!("resource '{location}' is not JSON: {e}"))?;
            mapped.push((location.to_string(), v));
        }
        let mut options = jsonschema::options().with_retriever(Mapped(mapped));
        if schema.get("$schema").is_none() {
            options = options.with_draft(jsonschema::Draft::Draft4);
        }
        let validator = options
            .build(&schema)
            .map_err(|e| format!("the JSON schema does not compile: {e}"))?;
        Ok(JsonSchema { validator })
    }

    /// Every violation of `instance`: (its message, its message with the place in the
    /// instance), in the schema's order.
    pub fn validate(&self, instance: &Value) -> Vec<(String, String)> {
        self.validator
            .iter_errors(instance)
            .map(|e| {
                let message = e.to_string();
                let at = e.instance_path().to_string();
                let at = if at.is_empty() { "/".to_string() } else { at };
                let detail = format!("{at}: {message}");
                (message, detail)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::JsonSchema;
    use serde_json::json;

    const ORDER: &str = r#"{
      "type": "object",
      "required": ["id", "items"],
      "properties": {
        "id": {"type": "integer"},
        "items": {"type": "array", "items": {"$ref": "item.json"}}
      }
    }"#;

    #[test]
    fn validates_with_mapped_references_only() {
        let item = br#"{"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}"#;
        assert!(
            JsonSchema::compile(ORDER.as_bytes(), &[]).is_err(),
            "unmapped $ref"
        );
        let s = JsonSchema::compile(ORDER.as_bytes(), &[("item.json", item)]).unwrap();
        assert!(s
            .validate(&json!({"id": 1, "items": [{"sku": "a"}]}))
            .is_empty());
        let bad = s.validate(&json!({"id": "x", "items": [{"qty": 1}]}));
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad.iter().any(|(_, d)| d.starts_with("/id:")), "{bad:?}");
        assert!(
            bad.iter().any(|(_, d)| d.starts_with("/items/0:")),
            "{bad:?}"
        );
        assert!(JsonSchema::compile(b"{not json", &[]).is_err());
        assert!(JsonSchema::compile(br#"{"type": 12}"#, &[]).is_err());
        // An http $ref is never fetched.
        let remote = br#"{"$ref": "http://127.0.0.1:9/schema.json"}"#;
        assert!(JsonSchema::compile(remote, &[]).is_err());
    }
}
