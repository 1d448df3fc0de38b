//! Server settings: `HOME/conf/deployment.toml` parsed into typed values, in one place.
//!
//! The file mirrors the sections a WSO2 MI user knows (`[server] offset`, `hostname`) and adds
//! mint's limits and timeouts. Unknown keys are rejected so that a typo never silently falls back to a
//! default. Nothing else in mint reads environment variables or configuration files.
//! `conf/registry.xml` is read by the registry module.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::diag::{Diagnostic, Origin, Pos};

pub mod jdbc;
pub mod keystore;
mod mi;
pub mod secrets;
pub mod security;
pub mod userstore;

use secrets::Secrets;
use security::{KeystoreSections, StoreSettings, SynapseProperties, TransportSettings};

/// The home folder (mirrors `<MI_HOME>`).
#[derive(Debug, Clone)]
pub struct Home {
    pub root: PathBuf,
}

impl Home {
    pub fn new(root: PathBuf) -> Self {
        Home { root }
    }
    pub fn deployment_toml(&self) -> PathBuf {
        self.root.join("conf").join("deployment.toml")
    }
    pub fn registry_xml(&self) -> PathBuf {
        self.root.join("conf").join("registry.xml")
    }
    /// `repository/deployment/server/synapse-configs/default`.
    pub fn synapse_dir(&self) -> PathBuf {
        self.root
            .join("repository/deployment/server/synapse-configs/default")
    }
    /// `repository/deployment/server/carbonapps`.
    pub fn carbonapps_dir(&self) -> PathBuf {
        self.root.join("repository/deployment/server/carbonapps")
    }
    pub fn registry_root(&self) -> PathBuf {
        self.root.join("registry")
    }
    /// Resolves a path from the config: absolute as is, relative to the home otherwise.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }
}

/// Everything from `deployment.toml`, with defaults filled in.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub http: HttpSettings,
    pub tls: TlsSettings,
    pub client: ClientSettings,
    pub mediation: MediationSettings,
    pub logging: LoggingSettings,
    /// MI's `[keystore.primary]`, `[keystore.tls]`, `[keystore.internal]`.
    pub keystore: KeystoreSections,
    /// MI's `[truststore]`: CAs trusted for backends and client certificates.
    pub truststore: Option<StoreSettings>,
    /// MI's `[transport.http]` TLS keys (`listener.*`, `sender.*`).
    pub transport: TransportSettings,
    /// MI's `[secrets]`: alias → ciphertext (decrypted into `vault` by `load`).
    pub secrets: std::collections::BTreeMap<String, String>,
    pub secure_vault: SecureVaultSettings,
    /// MI's `[user_store]`: who the basic-auth API handler authenticates against.
    pub user_store: Option<userstore::UserStoreSettings>,
    /// MI's `[[datasource]]`s (only a JDBC user store reads one).
    pub datasource: Vec<userstore::DatasourceSettings>,
    /// MI's `[realm_manager]`: the JDBC user store's datasource id.
    pub realm_manager: userstore::RealmManagerSettings,
    /// MI's `[synapse_properties]` (CORS and the other `synapse.*` switches).
    pub synapse_properties: SynapseProperties,
    /// The decrypted `[secrets]`.
    #[serde(skip)]
    pub vault: Secrets,
    /// CORS for APIs, from `[synapse_properties]`.
    #[serde(skip)]
    pub cors: security::CorsSettings,
    /// Keys accepted from MI's sections that mint does not act on: warnings, with position.
    #[serde(skip)]
    pub warnings: Vec<(Pos, String)>,
}

/// `[secure_vault]`: mint's switch for MI's bracketed plain-text secrets.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SecureVaultSettings {
    /// Accept `alias = "[plain text]"` in `[secrets]` (MI's form before the cipher tool runs).
    /// Default: false, so that a secret is never left readable by mistake.
    pub allow_plain_text: bool,
}

/// `[logging]`: the tracing subscriber and the access log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSettings {
    /// `text` (default) or `json` (one JSON object per line).
    pub format: LogFormat,
    /// A `tracing` filter (`info`, `mint=debug,warn`, …). `RUST_LOG` overrides it. Default: `info`.
    pub level: String,
    /// One line per request (target `mint::access`) with method, path, status, duration and the
    /// service. Off by default, as WSO2 ships its access log.
    pub access_log: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        LoggingSettings {
            format: LogFormat::Text,
            level: "info".into(),
            access_log: false,
        }
    }
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Port offset added to the base ports 8280 (HTTP) and 8243 (HTTPS). Default: 10, as in WSO2 MI.
    pub offset: u16,
    /// Host name used in `REST_URL_PREFIX` and logs. Default: `localhost`.
    pub hostname: String,
    /// Address the listeners bind to. Default: `0.0.0.0`.
    pub bind_address: IpAddr,
    /// Number of shards (executors, one per core). Default: 0 = every online core.
    pub cores: usize,
    /// How long SIGTERM waits for in-flight requests, in milliseconds. Default: 10000.
    pub drain_timeout_ms: u64,
    /// Watch the deployment folders (artifacts, CARs) and the registry files the artifacts were
    /// compiled from, and swap in a new configuration when they change. Default: true, as WSO2's
    /// `[server] hot_deployment`.
    pub hot_deployment: bool,
    /// How often the deployment folders are polled, in ms. Default: 2000.
    pub hot_deployment_interval_ms: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            offset: 10,
            hostname: "localhost".into(),
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            cores: 0,
            drain_timeout_ms: 10_000,
            hot_deployment: true,
            hot_deployment_interval_ms: 2000,
        }
    }
}

/// `[http]`: limits and timeouts of the client-facing listeners.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Largest request head (request line + headers) in bytes; larger gets 431. Default: 65536.
    pub max_head_size: usize,
    /// Most header lines in a request; more gets 431. Default: 100.
    pub max_headers: usize,
    /// Largest body mint will buffer when a mediator reads the content; larger gets 413.
    /// Streamed (pass-through) bodies are not limited. Default: 10485760 (10 MiB).
    pub max_body_size: usize,
    /// Time allowed for a client to send a complete request head, in ms; also bounds how long an
    /// idle keep-alive connection waits for its next request. Default: 30000.
    pub header_read_timeout_ms: u64,
    /// Time allowed to receive a whole body that a mediator reads into memory, in ms, and the
    /// total time a body streamed to a backend may keep it waiting for the client (a client
    /// trickling its body is answered 408; the endpoint is not blamed). Default: 60000.
    pub body_read_timeout_ms: u64,
    /// Most open client connections per shard; excess connections get `503` and are closed.
    /// Default: derived from the open-file limit (RLIMIT_NOFILE, raised to its hard limit at
    /// start): what is left after a reserve for the internal API, files and the runtime, halved
    /// for the backend connection each client connection may need, divided by the shards. A
    /// larger configured value is lowered to that bound, with a warning.
    pub max_connections_per_shard: Option<usize>,
    /// Whether a client may shut its sending side once its request is complete and still get
    /// the answer. With `false`, a client's FIN while its request is served abandons the request,
    /// as nginx does: its backend calls and split parts are cancelled (a reset always does
    /// that). Default: true.
    pub half_close: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_head_size: 64 * 1024,
            max_headers: 100,
            max_body_size: 10 * 1024 * 1024,
            header_read_timeout_ms: 30_000,
            body_read_timeout_ms: 60_000,
            max_connections_per_shard: None,
            half_close: true,
        }
    }
}

/// `[tls]`: the HTTPS listener's certificate. When both are unset, mint generates a self-signed
/// certificate for `hostname` at start and says so in the log.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// PEM certificate chain (relative to the home or absolute).
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// Extra PEM CA certificates trusted for https:// backends, besides the system roots.
    pub trust_file: Option<PathBuf>,
}

/// `[client]`: the per-shard backend connection pools.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientSettings {
    /// Connect timeout in ms (failure: 101508-style timeout → fault). Default: 10000.
    pub connect_timeout_ms: u64,
    /// Idle keep-alive connections kept per backend per shard. Default: 256.
    pub max_idle_per_host: usize,
    /// Idle connections older than this are closed, in ms (also without traffic). Default: 60000.
    pub idle_timeout_ms: u64,
    /// Largest backend response head (status line + headers) in bytes; a larger one is a backend
    /// protocol fault (502, `ERROR_CODE` 101506). Default: 65536.
    pub max_head_size: usize,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            connect_timeout_ms: 10_000,
            max_idle_per_host: 256,
            idle_timeout_ms: 60_000,
            max_head_size: 64 * 1024,
        }
    }
}

/// `[mediation]`: Synapse-level settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediationSettings {
    /// `synapse.global_timeout_interval`: how long a backend call may take when its endpoint sets
    /// no timeout, in ms. Default: 120000 (WSO2 MI's default).
    pub global_timeout_ms: u64,
    /// XML → JSON writes number- and boolean-looking text unquoted. Default: true.
    #[serde(rename = "synapse.enable_auto_primitive")]
    pub enable_auto_primitive: bool,
    /// Values matching this regex (whole value) stay strings even with auto-primitive. Default: none.
    #[serde(rename = "synapse.disable_auto_primitive_regex")]
    pub disable_auto_primitive_regex: Option<String>,
    /// XML → JSON turns repeated sibling elements into arrays. Default: true.
    #[serde(rename = "synapse.json_out_auto_array")]
    pub json_out_auto_array: bool,
    /// XML → JSON: `nil="true"` elements become null. Default: false.
    #[serde(rename = "synapse.enable_xml_nil")]
    pub enable_xml_nil: bool,
    /// XML → JSON: an empty element becomes null (true) or "" (false). Default: true.
    #[serde(rename = "synapse.commons.enableXmlNullForEmptyElement")]
    pub enable_xml_null_for_empty_element: bool,
    /// How many parts iterate and clone may make of one request, nested splits included: a
    /// payload that would split into more is a fault, not a flood of backend calls.
    /// Default: 10000.
    pub max_split_parts: usize,
    /// How many parts of one split run at once (each may hold a backend connection); the others
    /// wait their turn. `sequential="true"` runs one at a time. Default: 64.
    pub split_concurrency: usize,
    /// MI's name for `global_timeout_ms` (a number or MI's quoted number); overrides it.
    #[serde(rename = "synapse.global_timeout_interval")]
    pub global_timeout_interval: Option<toml::Value>,
}

impl Default for MediationSettings {
    fn default() -> Self {
        MediationSettings {
            global_timeout_ms: 120_000,
            enable_auto_primitive: true,
            disable_auto_primitive_regex: None,
            json_out_auto_array: true,
            enable_xml_nil: false,
            enable_xml_null_for_empty_element: true,
            max_split_parts: 10_000,
            split_concurrency: 64,
            global_timeout_interval: None,
        }
    }
}

impl Settings {
    /// Reads `conf/deployment.toml` (absent = defaults), decrypts `[secrets]` with the primary
    /// keystore and puts them where `$secret{alias}` stands.
    pub fn load(home: &Home) -> std::result::Result<Settings, Diagnostic> {
        let path = home.deployment_toml();
        let at =
            |(pos, message): (Pos, String)| Diagnostic::error(Origin::new(&path, pos), message);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => return Err(at((START, format!("cannot read: {e}")))),
        };
        Settings::parse_in(&text, home).map_err(at)
    }

    /// Parses the TOML text; an error comes with its position. `$env{VAR}` and `$sys{VAR}`
    /// (WSO2's placeholders; both read the environment here) are replaced first. Secrets are not
    /// decrypted (see `parse_in`).
    pub fn parse(text: &str) -> std::result::Result<Settings, (Pos, String)> {
        let text = &expand_env_placeholders(text)?;
        let (text, mi_warnings) = mi::set_aside(text)?;
        let text = &text;
        let mut settings: Settings = toml::from_str(text).map_err(|e| {
            let pos = e.span().map(|s| pos_of(text, s.start)).unwrap_or(START);
            (pos, e.message().to_string())
        })?;
        settings.warnings.extend(mi_warnings);
        if let Some(v) = settings.mediation.global_timeout_interval.take() {
            let ms = match &v {
                toml::Value::Integer(n) => u64::try_from(*n).ok(),
                toml::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            settings.mediation.global_timeout_ms = ms.ok_or_else(|| {
                (
                    START,
                    format!(
                        "[mediation] synapse.global_timeout_interval = {v}: milliseconds expected"
                    ),
                )
            })?;
        }
        settings.validate().map_err(|m| (START, m))?;
        settings.cors = security::CorsSettings::from_properties(&settings.synapse_properties)
            .map_err(|m| (START, m))?;
        for (key, message) in security::check_tls(&settings.transport).map_err(|m| (START, m))? {
            let pos = security::key_position(text, &key).unwrap_or(START);
            settings.warnings.push((pos, message));
        }
        let mut unhonoured = security::unhonoured(&settings.transport, &settings.keystore);
        if let Some(u) = &settings.user_store {
            unhonoured.extend(u.unhonoured());
        }
        for key in settings.realm_manager.other.keys() {
            unhonoured.push(format!("realm_manager.{key}"));
        }
        for key in unhonoured {
            let pos = security::key_position(text, &key).unwrap_or(START);
            settings.warnings.push((
                pos,
                format!("'{key}' is accepted from MI but not honoured by mint"),
            ));
        }
        let jdbc_store = settings
            .user_store
            .as_ref()
            .is_some_and(|u| u.kind == userstore::UserStoreType::Database);
        let headers: Vec<usize> = text
            .match_indices("[[datasource]]")
            .map(|(i, _)| i)
            .filter(|&i| !in_comment(text, i))
            .collect();
        for (n, d) in settings.datasource.iter().enumerate() {
            let pos = headers.get(n).map_or(START, |&i| pos_of(text, i));
            if !(jdbc_store && d.id == settings.realm_manager.data_source) {
                settings.warnings.push((
                    pos,
                    format!(
                        "[[datasource]] '{}' is accepted from MI but not used by mint (only a JDBC [user_store] reads a datasource, through [realm_manager] data_source)",
                        d.id
                    ),
                ));
                continue;
            }
            for key in d.other.keys() {
                settings.warnings.push((
                    pos,
                    format!(
                        "'datasource.{key}' of '{}' is accepted from MI but not honoured by mint",
                        d.id
                    ),
                ));
            }
        }
        Ok(settings)
    }

    /// `parse`, then `[secrets]` decrypted with the primary keystore (paths relative to `home`)
    /// and substituted for each `$secret{alias}`.
    pub fn parse_in(text: &str, home: &Home) -> std::result::Result<Settings, (Pos, String)> {
        let mut settings = Settings::parse(text)?;
        if settings.secrets.is_empty() {
            let used = text
                .match_indices("$secret{")
                .find(|(i, _)| !in_comment(text, *i));
            if let Some((i, _)) = used {
                return Err((pos_of(text, i), "$secret{…} needs a [secrets] entry".into()));
            }
            settings.skip_absent_stock_stores(text, home);
            return Ok(settings);
        }
        let needs_key = settings
            .secrets
            .values()
            .any(|v| !v.trim().starts_with('['));
        let key = match (needs_key, settings.primary_store(home)) {
            (false, _) => None,
            (true, None) => None,
            (true, Some(store)) => Some(
                store
                    .open(home)
                    .and_then(|ks| ks.key(store.alias.as_deref(), store.key_password()))
                    .map_err(|m| (START, format!("[secrets] need the primary keystore: {m}")))?,
            ),
        };
        let vault = Secrets::decrypt(
            &settings.secrets,
            key.as_ref(),
            settings.secure_vault.allow_plain_text,
        )
        .map_err(|m| (START, m))?;
        if text.contains("$secret{") {
            let replaced = substitute_secrets(text, &vault)?;
            let warnings = std::mem::take(&mut settings.warnings);
            // An error may quote the value it could not use: never a secret.
            settings = Settings::parse(&replaced).map_err(|(pos, mut m)| {
                for s in vault.values() {
                    m = m.replace(s, "****");
                }
                (pos, m)
            })?;
            settings.warnings = warnings;
        }
        settings.vault = vault;
        settings.skip_absent_stock_stores(text, home);
        Ok(settings)
    }

    /// MI's stock `[keystore.primary]` and `[truststore]` in a home without MI's files (a stock
    /// deployment.toml dropped in): as if they were not written, with a warning each.
    fn skip_absent_stock_stores(&mut self, text: &str, home: &Home) {
        let slots = [
            (
                &mut self.keystore.primary,
                StoreSettings::mi_default_primary(),
                "keystore.primary",
                "HTTPS gets another certificate, see the start log",
            ),
            (
                &mut self.truststore,
                StoreSettings::mi_default_truststore(),
                "truststore",
                "backends are checked against the system roots",
            ),
        ];
        for (slot, stock, key, instead) in slots {
            let Some(store) = slot.as_ref() else { continue };
            if store.is_stock(&stock) && !home.resolve(&store.file_name).exists() {
                let pos = security::key_position(text, key).unwrap_or(START);
                self.warnings.push((
                    pos,
                    format!(
                        "[{key}]: MI's default {} is not in this home; it is not used ({instead})",
                        store.file_name.display()
                    ),
                ));
                *slot = None;
            }
        }
    }

    /// The warnings of `parse`, as diagnostics of `conf/deployment.toml`.
    pub fn warning_diagnostics(&self, home: &Home) -> Vec<Diagnostic> {
        let path = home.deployment_toml();
        self.warnings
            .iter()
            .map(|(pos, m)| Diagnostic::warning(Origin::new(&path, *pos), m.clone()))
            .collect()
    }

    /// The primary keystore: `[keystore.primary]`, else MI's stock
    /// `repository/resources/security/wso2carbon.jks` when the home has it.
    pub fn primary_store(&self, home: &Home) -> Option<StoreSettings> {
        if let Some(p) = &self.keystore.primary {
            return Some(p.clone());
        }
        let d = StoreSettings::mi_default_primary();
        home.resolve(&d.file_name).is_file().then_some(d)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.server.offset > 65535 - 8280 {
            return Err(format!(
                "[server] offset {} pushes ports past 65535",
                self.server.offset
            ));
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err("[tls] cert_file and key_file must be given together".into());
        }
        self.json_settings()?;
        if self.mediation.max_split_parts == 0 || self.mediation.split_concurrency == 0 {
            return Err("[mediation] max_split_parts and split_concurrency must be > 0".into());
        }
        if self.http.max_headers == 0 || self.http.max_head_size < 1024 {
            return Err("[http] max_headers must be > 0 and max_head_size >= 1024".into());
        }
        Ok(())
    }

    /// WSO2's JSON conversion switches from `[mediation]`.
    pub fn json_settings(&self) -> std::result::Result<crate::json::JsonSettings, String> {
        let m = &self.mediation;
        let base = crate::json::JsonSettings {
            auto_primitive: m.enable_auto_primitive,
            empty_as_null: m.enable_xml_null_for_empty_element,
            auto_array: m.json_out_auto_array,
            xml_nil: m.enable_xml_nil,
            ..Default::default()
        };
        match &m.disable_auto_primitive_regex {
            Some(re) => base
                .with_disable_auto_primitive_regex(re)
                .map_err(|e| format!("[mediation] synapse.disable_auto_primitive_regex: {e}")),
            None => Ok(base),
        }
    }

    pub fn http_port(&self) -> u16 {
        8280 + self.server.offset
    }
    pub fn https_port(&self) -> u16 {
        8243 + self.server.offset
    }
    pub fn internal_port(&self) -> u16 {
        9191 + self.server.offset
    }
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.http.header_read_timeout_ms)
    }
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.server.drain_timeout_ms)
    }
}

/// Replaces `$env{VAR}` / `$sys{VAR}` with the variable's value. An unset variable is an error at
/// its position (a silent empty string would hide a broken deployment).
pub fn expand_env_placeholders(text: &str) -> std::result::Result<String, (Pos, String)> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let prefix = ["$env{", "$sys{"].into_iter().find(|p| tail.starts_with(p));
        let Some(prefix) = prefix else {
            out.push('$');
            rest = &tail[1..];
            continue;
        };
        let offset = text.len() - tail.len();
        let line_start = text[..offset].rfind('\n').map_or(0, |n| n + 1);
        if text[line_start..offset].trim_start().starts_with('#') {
            // A comment: left as written.
            out.push('$');
            rest = &tail[1..];
            continue;
        }
        let Some(end) = tail.find('}') else {
            return Err((
                pos_of(text, offset),
                format!("unterminated {prefix}…}} placeholder"),
            ));
        };
        let name = &tail[prefix.len()..end];
        match std::env::var(name) {
            Ok(v) => out.push_str(&v),
            Err(_) => {
                return Err((
                    pos_of(text, offset),
                    format!("environment variable '{name}' is not set"),
                ));
            }
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces `$secret{alias}` with the secret, escaped for a TOML string (secrets stand inside
/// quoted values); an unknown alias is an error at its position.
fn substitute_secrets(text: &str, vault: &Secrets) -> std::result::Result<String, (Pos, String)> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("$secret{") {
        out.push_str(&rest[..i]);
        let offset = text.len() - rest.len() + i;
        let tail = &rest[i + "$secret{".len()..];
        if in_comment(text, offset) {
            out.push_str("$secret{");
            rest = tail;
            continue;
        }
        let end = tail
            .find('}')
            .ok_or_else(|| (pos_of(text, offset), "unterminated $secret{…}".to_string()))?;
        let alias = &tail[..end];
        let value = vault.get(alias).ok_or_else(|| {
            (
                pos_of(text, offset),
                format!("$secret{{{alias}}}: no such alias in [secrets]"),
            )
        })?;
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
                c => out.push(c),
            }
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `offset` is inside a `#` comment (a `#` earlier on its line, outside a string).
fn in_comment(text: &str, offset: usize) -> bool {
    let line_start = text[..offset].rfind('\n').map_or(0, |n| n + 1);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text[line_start..offset].chars() {
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return true,
            _ => {}
        }
        escaped = false;
    }
    false
}

/// The start of a file: where problems of the file as a whole are reported.
const START: Pos = Pos { line: 1, col: 1 };

/// 1-based line and column (in characters) of a byte offset.
fn pos_of(text: &str, offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    Pos {
        line: line as u32,
        col: col as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_wso2() {
        let s = Settings::parse("").unwrap();
        assert_eq!(s.http_port(), 8290);
        assert_eq!(s.https_port(), 8253);
        assert_eq!(s.mediation.global_timeout_ms, 120_000);
    }

    #[test]
    fn env_placeholders_are_expanded() {
        std::env::set_var("MINT_TEST_OFFSET_VALUE", "7");
        let s = Settings::parse("[server]\noffset = $env{MINT_TEST_OFFSET_VALUE}\nhostname = \"h$sys{MINT_TEST_OFFSET_VALUE}\"\n").unwrap();
        assert_eq!(s.server.offset, 7);
        assert_eq!(s.server.hostname, "h7");
        let err =
            Settings::parse("[server]\nhostname = \"$env{MINT_TEST_SURELY_UNSET}\"\n").unwrap_err();
        assert_eq!(err.0, Pos { line: 2, col: 13 });
        assert!(err.1.contains("MINT_TEST_SURELY_UNSET"), "{err:?}");
        let s = Settings::parse("[server]\nhostname = \"a$b\"\n").unwrap();
        assert_eq!(s.server.hostname, "a$b");
    }

    #[test]
    fn unknown_key_is_an_error_with_position() {
        let err = Settings::parse("[server]\noffset = 3\nofset = 4\n").unwrap_err();
        assert_eq!(err.0, Pos { line: 3, col: 1 });
        assert!(err.1.contains("ofset"), "{err:?}");
    }

    #[test]
    fn offset_moves_ports() {
        let s = Settings::parse("[server]\noffset = 0\n").unwrap();
        assert_eq!((s.http_port(), s.https_port()), (8280, 8243));
    }

    #[test]
    fn json_switches_use_wso2_names() {
        let s = Settings::parse("[mediation]\n\"synapse.enable_auto_primitive\" = false\n\"synapse.disable_auto_primitive_regex\" = \"^0.*\"\n").unwrap();
        let j = s.json_settings().unwrap();
        assert!(!j.auto_primitive && j.disable_auto_primitive_regex.is_some());
        assert!(
            Settings::parse("[mediation]\n\"synapse.disable_auto_primitive_regex\" = \"(\"\n")
                .is_err()
        );
    }

    #[test]
    fn tls_files_go_together() {
        assert!(Settings::parse("[tls]\ncert_file = \"a.pem\"\n").is_err());
    }

    #[test]
    fn mi_security_sections_parse_with_mi_key_names() {
        let s = Settings::parse(
            r#"
[keystore.primary]
file_name = "repository/resources/security/wso2carbon.jks"
password = "wso2carbon"
alias = "wso2carbon"
key_password = "wso2carbon"

[truststore]
file_name = "repository/resources/security/client-truststore.jks"
password = "wso2carbon"
alias = "symmetric.key.value"
algorithm = "AES"

[transport.http]
listener.verify_client = "require"
listener.secured_protocols = "TLSv1.2,TLSv1.3"
listener.port = 8280
sender.hostname_verifier = "AllowAll"

[synapse_properties]
synapse.rest.CORSConfig.enabled = true
'synapse.rest.CORSConfig.Access-Control-Allow-Origin' = "*"
"#,
        )
        .unwrap();
        assert_eq!(
            s.keystore.primary.as_ref().unwrap().alias.as_deref(),
            Some("wso2carbon")
        );
        assert!(s.transport.http.sender.allows_any_host_name());
        assert!(s.cors.enabled && s.cors.any_origin);
        // listener.port is MI's, not mint's: a warning at its position.
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert_eq!(s.warnings[0].0, Pos { line: 17, col: 10 });
        assert!(s.warnings[0].1.contains("transport.http.listener.port"));
        let err = Settings::parse("[transport.http]\nlistener.verify_client = \"sometimes\"\n")
            .unwrap_err();
        assert!(err.1.contains("verify_client"), "{err:?}");
    }

    #[test]
    fn secrets_fill_placeholders_and_never_an_error_message() {
        let home = Home::new(std::env::temp_dir());
        let ok = Settings::parse_in(
            "[secure_vault]\nallow_plain_text = true\n[secrets]\nhost = \"[db.\\\"internal\\\"]\"\n[server]\nhostname = \"$secret{host}\"\n",
            &home,
        )
        .unwrap();
        assert_eq!(ok.server.hostname, "db.\"internal\"");
        assert_eq!(ok.vault.get("host"), Some("db.\"internal\""));
        let err = Settings::parse_in(
            "[secure_vault]\nallow_plain_text = true\n[secrets]\nport = \"[hunter2]\"\n[server]\noffset = \"$secret{port}\"\n",
            &home,
        )
        .unwrap_err();
        assert!(!err.1.contains("hunter2"), "{err:?}");
        let err =
            Settings::parse_in("[server]\nhostname = \"$secret{nope}\"\n", &home).unwrap_err();
        assert_eq!(err.0, Pos { line: 2, col: 13 });
    }

    #[test]
    fn mi_unquoted_mediation_keys_set_mints_values() {
        let s = Settings::parse(
            "[mediation]\nsynapse.global_timeout_interval = \"5000\"\nsynapse.enable_auto_primitive = false\nsynapse.json_out_auto_array = false\n",
        )
        .unwrap();
        assert_eq!(s.mediation.global_timeout_ms, 5000);
        assert!(!s.mediation.enable_auto_primitive && !s.mediation.json_out_auto_array);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn an_absent_stock_keystore_stays_skipped_after_secrets_are_filled_in() {
        let home = Home::new(std::env::temp_dir().join("mint-no-such-home"));
        let s = Settings::parse_in(
            "[server]\nhostname = \"$secret{h}\"\n[keystore.primary]\nfile_name = \"repository/resources/security/wso2carbon.jks\"\npassword = \"wso2carbon\"\nalias = \"wso2carbon\"\nkey_password = \"wso2carbon\"\n[secure_vault]\nallow_plain_text = true\n[secrets]\nh = \"[example.org]\"\n",
            &home,
        )
        .unwrap();
        assert_eq!(s.server.hostname, "example.org");
        assert!(s.keystore.primary.is_none());
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    }
}
