//! WSO2's configuration-value resolvers, applied at deploy time to endpoint URIs and parameters:
//! `$SYSTEM:VAR` (the environment), `$FILE:key` (`conf/file.properties`) and `${configs.key}`
//! (a CAR's configurable property: the environment variable `key`, else `conf/file.properties`).
//! One image can so serve every environment.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

/// Resolves configuration values; built once per deployment.
#[derive(Debug, Clone, Default)]
pub struct ValueResolver {
    file: HashMap<String, String>,
}

impl ValueResolver {
    /// Reads `file.properties` (absent = empty). Problems are returned as text.
    pub fn load(file_properties: &Path) -> Result<ValueResolver, String> {
        match std::fs::read_to_string(file_properties) {
            Ok(text) => Ok(ValueResolver {
                file: parse_properties(&text),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ValueResolver::default()),
            Err(e) => Err(format!("{}: cannot read: {e}", file_properties.display())),
        }
    }

    /// A configurable property's value (`${configs.key}`): the environment variable `key`, else
    /// `key` in `conf/file.properties`.
    pub fn config(&self, key: &str) -> Option<String> {
        std::env::var(key)
            .ok()
            .or_else(|| self.file.get(key).cloned())
    }

    /// The value with every resolver applied; an unresolvable reference is an error.
    pub fn resolve<'a>(&self, value: &'a str) -> Result<Cow<'a, str>, String> {
        let v = value.trim();
        if let Some(var) = v.strip_prefix("$SYSTEM:") {
            return std::env::var(var)
                .map(Cow::Owned)
                .map_err(|_| format!("'{value}': environment variable '{var}' is not set"));
        }
        if let Some(key) = v.strip_prefix("$FILE:") {
            return self
                .file
                .get(key)
                .map(|s| Cow::Owned(s.clone()))
                .ok_or_else(|| format!("'{value}': '{key}' is not in conf/file.properties"));
        }
        if !value.contains("${configs.") {
            return Ok(Cow::Borrowed(value));
        }
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(i) = rest.find("${configs.") {
            out.push_str(&rest[..i]);
            let tail = &rest[i + "${configs.".len()..];
            let Some(end) = tail.find('}') else {
                return Err(format!("'{value}': unterminated ${{configs.…}}"));
            };
            let key = &tail[..end];
            match self.config(key) {
                Some(v) => out.push_str(&v),
                None => {
                    return Err(format!(
                        "'{value}': configurable property '{key}' has no value (set the environment variable '{key}' or add it to conf/file.properties)"
                    ))
                }
            }
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        Ok(Cow::Owned(out))
    }
}

/// Java `.properties`, the common subset: `key=value` or `key: value`, `#`/`!` comments,
/// surrounding blanks trimmed, no line continuations or escapes.
fn parse_properties(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let i = l.find(['=', ':'])?;
            Some((l[..i].trim().to_string(), l[i + 1..].trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_system_file_and_configs() {
        std::env::set_var("MINT_TEST_RESOLVE_EP", "http://127.0.0.1:9/x");
        let r = ValueResolver {
            file: parse_properties("# c\nbackend = http://h/f\nport: 81\n"),
        };
        assert_eq!(
            r.resolve("$SYSTEM:MINT_TEST_RESOLVE_EP").unwrap(),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(r.resolve("$FILE:backend").unwrap(), "http://h/f");
        assert_eq!(
            r.resolve("http://a:${configs.port}/${configs.MINT_TEST_RESOLVE_EP}")
                .unwrap(),
            "http://a:81/http://127.0.0.1:9/x"
        );
        assert_eq!(r.resolve("http://plain/").unwrap(), "http://plain/");
        assert!(r.resolve("$SYSTEM:MINT_TEST_SURELY_UNSET_VAR").is_err());
        assert!(r.resolve("$FILE:nope").is_err());
        assert!(r.resolve("${configs.nope_nope}").is_err());
    }
}
