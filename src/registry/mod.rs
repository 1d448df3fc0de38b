//! The file-system registry (WSO2's `MicroIntegratorRegistry`): keys → files under the config,
//! governance and local roots.
//!
//! This first version resolves keys and reads resources at deploy time (sequences and endpoints
//! referenced by registry key). The per-shard moka cache bounded by `cachableDuration`, metadata,
//! properties and writes arrive with the registry issue.

use std::path::{Component, Path, PathBuf};

use crate::config::Home;

/// The three sub-registry roots.
#[derive(Debug, Clone)]
pub struct Registry {
    pub config: PathBuf,
    pub governance: PathBuf,
    pub local: PathBuf,
}

impl Registry {
    /// The default roots `HOME/registry/{config,governance,local}`.
    pub fn for_home(home: &Home) -> Registry {
        let r = home.registry_root();
        Registry {
            config: r.join("config"),
            governance: r.join("governance"),
            local: r.join("local"),
        }
    }

    /// Maps a key to a file: `conf:` → config, `gov:` → governance, `local:` → local, no prefix →
    /// governance; one leading `/` dropped. Keys that would leave their root are refused.
    pub fn resolve(&self, key: &str) -> Result<PathBuf, String> {
        let (root, rest) = if let Some(r) = key.strip_prefix("conf:") {
            (&self.config, r)
        } else if let Some(r) = key.strip_prefix("gov:") {
            (&self.governance, r)
        } else if let Some(r) = key.strip_prefix("local:") {
            (&self.local, r)
        } else {
            (&self.governance, key)
        };
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let rel = Path::new(rest);
        if rest.is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(format!(
                "registry key '{key}' does not name a resource inside its registry root"
            ));
        }
        Ok(root.join(rel))
    }

    /// Reads a resource as text (deploy time only: blocking file I/O).
    pub fn read_text(&self, key: &str) -> Result<(PathBuf, String), String> {
        let path = self.resolve(key)?;
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok((path, t)),
            Err(e) => Err(format!(
                "registry resource '{key}' ({}): {e}",
                path.display()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> Registry {
        Registry {
            config: "/r/config".into(),
            governance: "/r/gov".into(),
            local: "/r/local".into(),
        }
    }

    #[test]
    fn prefixes_map_to_roots() {
        let r = reg();
        assert_eq!(
            r.resolve("conf:/sequence/a.xml").unwrap(),
            PathBuf::from("/r/config/sequence/a.xml")
        );
        assert_eq!(
            r.resolve("gov:a.xml").unwrap(),
            PathBuf::from("/r/gov/a.xml")
        );
        assert_eq!(r.resolve("local:/x").unwrap(), PathBuf::from("/r/local/x"));
        assert_eq!(r.resolve("/x/y").unwrap(), PathBuf::from("/r/gov/x/y"));
    }

    #[test]
    fn escaping_keys_are_refused() {
        let r = reg();
        assert!(r.resolve("conf:../etc/passwd").is_err());
        assert!(r.resolve("conf://etc/passwd").is_err());
        assert!(r.resolve("gov:a/../../b").is_err());
        assert!(r.resolve("conf:").is_err());
    }
}
