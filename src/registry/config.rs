//! `conf/registry.xml`, in WSO2's format:
//!
//! ```xml
//! <registry xmlns="" provider="org.wso2.carbon.mediation.registry.MicroIntegratorRegistry">
//!     <parameter name="cachableDuration">15000</parameter>
//!     <parameter name="ConfigRegRoot">/abs/or/relative/path</parameter>
//! </registry>
//! ```
//! Parameters: `cachableDuration` (ms, default 15000; 0 disables caching), `ConfigRegRoot`,
//! `GovRegRoot`, `LocalRegRoot` (EI 6.x style, absolute or relative to the home) and MI 4.x's
//! `RegRoot` (a folder or `file:` URL under which `config/`, `governance/`, `local/` live).
//! Unknown parameters are reported as warnings with their position.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Home;
use crate::diag::{Diagnostic, Origin, Pos};
use crate::xml::element::parse_document;

/// Default `cachableDuration`, as in the registry.xml WSO2 ships.
pub const DEFAULT_CACHABLE_DURATION: Duration = Duration::from_millis(15_000);

/// The registry's settings.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub config_root: PathBuf,
    pub governance_root: PathBuf,
    pub local_root: PathBuf,
    pub cachable_duration: Duration,
}

impl RegistryConfig {
    /// The defaults: `HOME/registry/{config,governance,local}`, 15000 ms.
    pub fn defaults(home: &Home) -> RegistryConfig {
        let r = home.registry_root();
        RegistryConfig {
            config_root: r.join("config"),
            governance_root: r.join("governance"),
            local_root: r.join("local"),
            cachable_duration: DEFAULT_CACHABLE_DURATION,
        }
    }

    /// Reads `conf/registry.xml` (absent = defaults), with its warnings (they do not stop the
    /// start-up).
    pub fn load(home: &Home) -> Result<(RegistryConfig, Vec<Diagnostic>), Diagnostic> {
        let path = home.registry_xml();
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(home, &path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok((Self::defaults(home), Vec::new()))
            }
            Err(e) => Err(Diagnostic::error(
                Origin::new(path, Pos { line: 1, col: 1 }),
                format!("cannot read: {e}"),
            )),
        }
    }

    /// Parses the text of `file`.
    pub fn parse(
        home: &Home,
        file: &Path,
        text: &str,
    ) -> Result<(RegistryConfig, Vec<Diagnostic>), Diagnostic> {
        let file = std::sync::Arc::new(file.to_path_buf());
        let origin = |pos: Pos| Origin {
            file: file.clone(),
            pos,
        };
        let at = |p: Pos, m: String| Diagnostic::error(origin(p), m);
        let warn = |p: Pos, m: String| Diagnostic::warning(origin(p), m);
        let root = parse_document(text).map_err(|(p, m)| at(p, m))?;
        if root.local != "registry" {
            return Err(at(
                root.pos,
                format!("expected <registry>, found <{}>", root.local),
            ));
        }
        let mut cfg = Self::defaults(home);
        let mut warnings = Vec::new();
        for p in root.elements() {
            if p.local != "parameter" {
                warnings.push(warn(
                    p.pos,
                    format!("unknown element <{}> ignored", p.local),
                ));
                continue;
            }
            let name = p.attr("name").unwrap_or("");
            let value = p.text();
            let value = value.trim();
            let dir = |v: &str| -> PathBuf {
                let v = v
                    .strip_prefix("file://")
                    .or_else(|| v.strip_prefix("file:"))
                    .unwrap_or(v);
                home.resolve(Path::new(v))
            };
            match name {
                "cachableDuration" => {
                    let ms: i64 = value.parse().map_err(|_| {
                        at(
                            p.pos,
                            format!("cachableDuration '{value}' is not a number of milliseconds"),
                        )
                    })?;
                    cfg.cachable_duration = Duration::from_millis(ms.max(0) as u64);
                }
                "ConfigRegRoot" => cfg.config_root = dir(value),
                "GovRegRoot" => cfg.governance_root = dir(value),
                "LocalRegRoot" => cfg.local_root = dir(value),
                "RegRoot" => {
                    let base = dir(value);
                    cfg.config_root = base.join("config");
                    cfg.governance_root = base.join("governance");
                    cfg.local_root = base.join("local");
                }
                other => warnings.push(warn(
                    p.pos,
                    format!("unknown registry parameter '{other}' ignored"),
                )),
            }
        }
        Ok((cfg, warnings))
    }
}
