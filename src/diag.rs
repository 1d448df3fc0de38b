//! Diagnostics: the one type in which every configuration input (`deployment.toml`,
//! `registry.xml`, artifacts, CAR descriptors) reports a problem, printed as
//! `file:line:col: message` (`file:line:col: warning: message` for warnings), the form `mint check`
//! and `serve` print and editors jump to.

use std::path::PathBuf;
use std::sync::Arc;

/// 1-based line and column (columns count characters, as editors do) of an element's `<`, an
/// attribute's name or a configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// Where something came from: a file and the position in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: Arc<PathBuf>,
    pub pos: Pos,
}

impl Origin {
    pub fn new(file: impl Into<PathBuf>, pos: Pos) -> Origin {
        Origin {
            file: Arc::new(file.into()),
            pos,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.file.display(),
            self.pos.line,
            self.pos.col
        )
    }
}

/// Whether a diagnostic stops the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The input is invalid: nothing of it is deployed.
    Error,
    /// Deployed, but something is not honoured or not as its author may expect.
    Warning,
}

/// One problem found in a configuration input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub origin: Origin,
    pub message: String,
}

impl Diagnostic {
    pub fn error(origin: Origin, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            origin,
            message: message.into(),
        }
    }

    pub fn warning(origin: Origin, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            origin,
            message: message.into(),
        }
    }

    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.severity {
            Severity::Warning => write!(f, "{}: warning: {}", self.origin, self.message),
            Severity::Error => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_editors_read_it() {
        let o = Origin::new("api/A.xml", Pos { line: 3, col: 7 });
        assert_eq!(
            Diagnostic::error(o.clone(), "bad").to_string(),
            "api/A.xml:3:7: bad"
        );
        assert_eq!(
            Diagnostic::warning(o, "odd").to_string(),
            "api/A.xml:3:7: warning: odd"
        );
    }
}
