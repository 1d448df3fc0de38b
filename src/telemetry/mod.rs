//! Logging and metrics.
//!
//! Logging: a `tracing` subscriber writing text (default) or JSON lines, as `[logging] format`
//! says (`MINT_LOG_FORMAT=json` also selects JSON), filtered by `RUST_LOG` or else
//! `[logging] level` (default `info`). The log mediator writes under the target
//! `mint::log_mediator`, the optional access log under `mint::access`.
//!
//! One event is one line: text lines pass through [`OneLine`], which escapes the control
//! characters an event's text carries (CR and LF as `\r` `\n`, others as `\xNN` or `\u{NNNN}`,
//! line and paragraph separators and bidirectional overrides included), so message data a
//! client sent (headers, bodies, paths) cannot split a line or forge one. JSON lines are escaped
//! by the JSON encoder.
//!
//! Metrics: [`metrics`], Prometheus text on the internal API.

pub mod metrics;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingSettings};

/// Installs the global subscriber once; later calls do nothing.
pub fn init(logging: &LoggingSettings, secrets: &crate::config::secrets::Secrets) {
    let mask = Mask::new(secrets);
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&logging.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = logging.format == LogFormat::Json
        || std::env::var("MINT_LOG_FORMAT")
            .map(|v| v == "json")
            .unwrap_or(false);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || OneLine {
            inner: std::io::stderr(),
            ansi,
            mask: mask.clone(),
        })
        .with_ansi(ansi);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.with_target(false).try_init()
    };
}

/// A writer that keeps each event on one line: the formatter hands it one event per `write`
/// (the whole text, ending in its newline), and it escapes every control character before that
/// newline. With `ansi`, the colour sequences the formatter writes (`ESC [ digits ; m`) pass.
pub struct OneLine<W> {
    pub inner: W,
    pub ansi: bool,
    /// Secrets to write as `****` wherever they appear.
    pub mask: Mask,
}

/// The `[secrets]` values a log line must never show, as written and as JSON escapes them.
#[derive(Clone, Default)]
pub struct Mask(std::sync::Arc<Vec<String>>);

impl Mask {
    pub fn new(secrets: &crate::config::secrets::Secrets) -> Mask {
        let mut v: Vec<String> = Vec::new();
        for s in secrets.values() {
            v.push(s.to_string());
            let json = serde_json::to_string(s).unwrap_or_default();
            let json = json
                .strip_prefix('"')
                .and_then(|j| j.strip_suffix('"'))
                .unwrap_or(&json);
            if json != s {
                v.push(json.to_string());
            }
        }
        // Longest first, so that a secret containing another is masked whole.
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Mask(std::sync::Arc::new(v))
    }

    /// `text` with every secret replaced (borrowed when none is there).
    pub fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for s in self.0.iter() {
            if memchr::memmem::find(out.as_bytes(), s.as_bytes()).is_some() {
                out = Cow::Owned(out.replace(s.as_str(), "****"));
            }
        }
        out
    }
}

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (text, newline) = match buf.strip_suffix(b"\n") {
            Some(t) => (t, true),
            None => (buf, false),
        };
        let text = String::from_utf8_lossy(text);
        let text = match self.mask.apply(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(masked) => Cow::Owned(masked),
        };
        match escape_controls(&text, self.ansi) {
            Cow::Borrowed(_) if matches!(text, Cow::Borrowed(_)) => self.inner.write_all(buf)?,
            escaped => {
                let mut out = escaped.into_owned().into_bytes();
                if newline {
                    out.push(b'\n');
                }
                self.inner.write_all(&out)?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `text` with its control characters escaped: CR and LF as `\r` and `\n`, other C0/C1 controls
/// and DEL as `\xNN`, the Unicode line and paragraph separators and bidirectional controls as
/// `\u{NNNN}`. Tabs stay. With `keep_sgr`, `ESC [ digits ; m` colour sequences stay too.
pub fn escape_controls(text: &str, keep_sgr: bool) -> Cow<'_, str> {
    let needs = |c: char| {
        (c.is_control() && c != '\t')
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    let Some(first) = text.find(needs) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    let mut rest = &text[first..];
    while let Some(c) = rest.chars().next() {
        let mut len = c.len_utf8();
        let sgr = (c == '\u{1b}' && keep_sgr)
            .then(|| sgr_len(&rest[len..]))
            .flatten();
        match (c, sgr) {
            (c, _) if !needs(c) => out.push(c),
            (_, Some(n)) => {
                len += n;
                out.push_str(&rest[..len]);
            }
            ('\n', _) => out.push_str("\\n"),
            ('\r', _) => out.push_str("\\r"),
            (c, _) if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            (c, _) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
        }
        rest = &rest[len..];
    }
    Cow::Owned(out)
}

/// The length of `[ digits ; … m` at the start of `s` (what follows ESC in a colour sequence).
fn sgr_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix('[')?;
    let params = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(params + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_controls_keeps_one_line() {
        assert!(matches!(
            escape_controls("plain\ttext é", false),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_controls("a\r\nINFO forged\u{0}\u{7f}\u{85}\u{2028}\u{202e}", false),
            "a\\r\\nINFO forged\\x00\\x7f\\x85\\u{2028}\\u{202e}"
        );
        assert_eq!(
            escape_controls("\u{1b}[2mdim\u{1b}[0m", true),
            "\u{1b}[2mdim\u{1b}[0m"
        );
        assert_eq!(
            escape_controls("\u{1b}[2J\u{1b}[1m", true),
            "\\x1b[2J\u{1b}[1m"
        );
        assert_eq!(escape_controls("\u{1b}[0m", false), "\\x1b[0m");
    }

    #[test]
    fn one_line_writer_escapes_all_but_the_final_newline() {
        let mut w = OneLine {
            inner: Vec::new(),
            ansi: false,
            mask: Mask::default(),
        };
        let event = b"INFO log: Envelope: <a>x\r\nERROR forged</a>\n";
        assert_eq!(w.write(event).unwrap(), event.len());
        w.write_all(b"INFO clean\n").unwrap();
        assert_eq!(
            String::from_utf8(w.inner).unwrap(),
            "INFO log: Envelope: <a>x\\r\\nERROR forged</a>\nINFO clean\n"
        );
    }

    #[test]
    fn secrets_are_masked_wherever_they_appear() {
        let secrets = crate::config::secrets::Secrets::from_plain(&[
            ("a", "hunter2"),
            ("b", "hunter2-long"),
            ("q", "say \"hi\""),
        ]);
        let mut w = OneLine {
            inner: Vec::new(),
            ansi: false,
            mask: Mask::new(&secrets),
        };
        w.write_all(b"INFO token=hunter2-long pw=hunter2 json=\"say \\\"hi\\\"\"\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(w.inner).unwrap(),
            "INFO token=**** pw=**** json=\"****\"\n"
        );
    }
}
