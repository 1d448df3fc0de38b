//! The security sections of MI's `deployment.toml`, with MI's key names: `[keystore.primary]`,
//! `[keystore.tls]`, `[keystore.internal]`, `[truststore]`, the TLS keys of `[transport.http]`
//! (`listener.*`, `sender.*`), `[secrets]` and `[synapse_properties]`.
//!
//! MI keys mint does not honour are accepted and reported once as warnings with their position
//! (`unhonoured`); keys of mint's own sections stay strict.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::keystore::{Keystore, StoreType};
use super::{Home, Pos};

/// `[keystore.*]`: MI's named keystores.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct KeystoreSections {
    /// The server's key: the HTTPS listener's and the sender's unless they name their own, and
    /// the key that decrypts `[secrets]`.
    pub primary: Option<StoreSettings>,
    /// The listener's key when given (WSO2 Carbon's `[keystore.tls]`).
    pub tls: Option<StoreSettings>,
    /// MI's key for internal data encryption; accepted, not used by mint.
    pub internal: Option<StoreSettings>,
}

/// One keystore or truststore, as `[keystore.primary]` (`file_name`, `alias`) and as the
/// transport's `listener.keystore.*` (`location`, `key_alias`) name it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    #[serde(alias = "location")]
    pub file_name: PathBuf,
    /// `JKS` (MI's default) or `PKCS12`.
    #[serde(rename = "type", default = "jks")]
    pub kind: String,
    pub password: String,
    #[serde(alias = "key_alias")]
    pub alias: Option<String>,
    /// Defaults to `password`, as Java does for PKCS#12 and keytool proposes for JKS.
    pub key_password: Option<String>,
    /// `[truststore]`'s symmetric key algorithm (MI's internal encryption); not used by mint.
    pub algorithm: Option<String>,
}

fn jks() -> String {
    "JKS".into()
}

impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings")
            .field("file_name", &self.file_name)
            .field("type", &self.kind)
            .field("alias", &self.alias)
            .finish_non_exhaustive()
    }
}

impl StoreSettings {
    /// MI's stock primary keystore, used when `[keystore.primary]` is absent and the file is in
    /// the home (as in an MI distribution).
    pub fn mi_default_primary() -> StoreSettings {
        StoreSettings {
            file_name: "repository/resources/security/wso2carbon.jks".into(),
            kind: "JKS".into(),
            password: "wso2carbon".into(),
            alias: Some("wso2carbon".into()),
            key_password: Some("wso2carbon".into()),
            algorithm: None,
        }
    }

    /// MI's stock `[truststore]`.
    pub fn mi_default_truststore() -> StoreSettings {
        StoreSettings {
            file_name: "repository/resources/security/client-truststore.jks".into(),
            kind: "JKS".into(),
            password: "wso2carbon".into(),
            alias: None,
            key_password: None,
            algorithm: None,
        }
    }

    /// Whether this is `stock` as MI ships it (path, type and passwords).
    pub fn is_stock(&self, stock: &StoreSettings) -> bool {
        self.file_name == stock.file_name
            && self.password == stock.password
            && self.key_password() == stock.key_password()
            && self.kind.eq_ignore_ascii_case(&stock.kind)
    }

    pub fn store_type(&self) -> Result<StoreType, String> {
        StoreType::parse(&self.kind).ok_or_else(|| {
            format!(
                "keystore type '{}' is not supported (JKS or PKCS12)",
                self.kind
            )
        })
    }

    /// Reads the file (relative to the home).
    pub fn open(&self, home: &Home) -> Result<Keystore, String> {
        Keystore::read(
            &home.resolve(&self.file_name),
            self.store_type()?,
            &self.password,
        )
    }

    pub fn key_password(&self) -> &str {
        self.key_password.as_deref().unwrap_or(&self.password)
    }
}

/// `[transport]`: mint honours the TLS keys of `[transport.http]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct TransportSettings {
    pub http: TransportHttp,
    #[serde(flatten)]
    pub other: toml::Table,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct TransportHttp {
    pub listener: ListenerTls,
    pub sender: SenderTls,
    #[serde(flatten)]
    pub other: toml::Table,
}

/// `[transport.http] listener.*`: the HTTPS listener.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ListenerTls {
    /// The listener's key (default: `[keystore.tls]`, else `[keystore.primary]`).
    pub keystore: Option<StoreSettings>,
    /// The CAs client certificates must chain to (default: `[truststore]`).
    pub truststore: Option<StoreSettings>,
    /// `TLSv1.2,TLSv1.3` (comma-separated, Java's names).
    pub secured_protocols: Option<String>,
    /// Cipher suites by their IANA/JSSE names, comma-separated.
    pub preferred_ciphers: Option<String>,
    /// Client certificates: `require`, `optional` or `none` (MI's `SSLVerifyClient`).
    pub verify_client: Option<String>,
    #[serde(flatten)]
    pub other: toml::Table,
}

/// MI's `SSLVerifyClient`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyClient {
    None,
    Optional,
    Require,
}

impl ListenerTls {
    pub fn verify_client(&self) -> VerifyClient {
        match self
            .verify_client
            .as_deref()
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("require" | "required") => VerifyClient::Require,
            Some("optional") => VerifyClient::Optional,
            _ => VerifyClient::None,
        }
    }
}

/// A TLS version mint can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tls12,
    Tls13,
}

/// The versions in a `secured_protocols` list (Java's names, comma-separated), and the names
/// mint cannot offer. Default (no list): TLS 1.2 and 1.3.
pub fn protocols(list: Option<&str>) -> (Vec<Protocol>, Vec<String>) {
    let Some(list) = list else {
        return (vec![Protocol::Tls13, Protocol::Tls12], Vec::new());
    };
    let (mut ok, mut not) = (Vec::new(), Vec::new());
    for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p {
            "TLSv1.3" => ok.push(Protocol::Tls13),
            "TLSv1.2" => ok.push(Protocol::Tls12),
            other => not.push(other.to_string()),
        }
    }
    (ok, not)
}

impl SenderTls {
    /// `hostname_verifier = "AllowAll"`.
    pub fn allows_any_host_name(&self) -> bool {
        self.hostname_verifier
            .as_deref()
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("AllowAll"))
    }
}

/// Checks the TLS keys' values: errors for values that cannot work, warnings (key, message) for
/// what is accepted but cannot be honoured (TLS 1.0/1.1, cipher suites rustls lacks).
pub fn check_tls(t: &TransportSettings) -> Result<Vec<(String, String)>, String> {
    let mut warnings = Vec::new();
    let l = &t.http.listener;
    if let Some(v) = &l.verify_client {
        if !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "require" | "required" | "optional" | "none" | "optional_no_ca"
        ) {
            return Err(format!(
                "[transport.http] listener.verify_client = \"{v}\": use \"require\", \"optional\" or \"none\""
            ));
        }
        if v.trim().eq_ignore_ascii_case("optional_no_ca") {
            return Err("[transport.http] listener.verify_client = \"optional_no_ca\" (accepting certificates from any CA) is not supported: name the CAs in a truststore and use \"optional\"".into());
        }
    }
    let s = &t.http.sender;
    if let Some(v) = &s.hostname_verifier {
        if !matches!(
            v.trim(),
            "AllowAll" | "Strict" | "DefaultAndLocalhost" | "Default"
        ) {
            return Err(format!("[transport.http] sender.hostname_verifier = \"{v}\": use \"Strict\", \"DefaultAndLocalhost\" or \"AllowAll\""));
        }
    }
    for (side, list) in [
        ("listener", l.secured_protocols.as_deref()),
        ("sender", s.secured_protocols.as_deref()),
    ] {
        let (ok, not) = protocols(list);
        for p in &not {
            warnings.push((
                format!("transport.http.{side}.secured_protocols"),
                format!("{p} is not available in mint (rustls speaks TLSv1.2 and TLSv1.3 only): peers that need it are refused"),
            ));
        }
        if ok.is_empty() {
            return Err(format!(
                "[transport.http] {side}.secured_protocols: none of '{}' is available (TLSv1.2, TLSv1.3)",
                list.unwrap_or("")
            ));
        }
    }
    let available = available_ciphers();
    for (side, list) in [
        ("listener", l.preferred_ciphers.as_deref()),
        ("sender", s.preferred_ciphers.as_deref()),
    ] {
        let Some(list) = list else { continue };
        let names = cipher_names(list);
        let missing: Vec<&String> = names.iter().filter(|n| !available.contains(n)).collect();
        if missing.len() == names.len() {
            return Err(format!(
                "[transport.http] {side}.preferred_ciphers: none is available in mint (it has {})",
                available.join(", ")
            ));
        }
        for m in missing {
            warnings.push((
                format!("transport.http.{side}.preferred_ciphers"),
                format!("cipher suite {m} is not available in mint and is left out"),
            ));
        }
    }
    Ok(warnings)
}

/// A suite's IANA name (`TLS_AES_128_GCM_SHA256`; rustls writes TLS 1.3 suites `TLS13_…`).
pub fn iana_name(s: rustls::CipherSuite) -> String {
    let n = s.as_str().unwrap_or("");
    match n.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => n.to_string(),
    }
}

/// The cipher suites mint can offer, by IANA name.
pub fn available_ciphers() -> Vec<String> {
    rustls::crypto::aws_lc_rs::default_provider()
        .cipher_suites
        .iter()
        .map(|s| iana_name(s.suite()))
        .collect()
}

/// The names in a `preferred_ciphers` list (comma-separated, case-insensitive).
pub fn cipher_names(list: &str) -> Vec<String> {
    list.split(',')
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect()
}

/// `[transport.http] sender.*`: https:// backends.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct SenderTls {
    /// The key presented to backends that ask for a client certificate (default: the primary
    /// keystore).
    pub keystore: Option<StoreSettings>,
    /// CAs trusted for backends, besides the system roots (default: `[truststore]`).
    pub truststore: Option<StoreSettings>,
    pub secured_protocols: Option<String>,
    pub preferred_ciphers: Option<String>,
    /// `Strict` / `DefaultAndLocalhost` (host names checked, the default) or `AllowAll`.
    pub hostname_verifier: Option<String>,
    #[serde(flatten)]
    pub other: toml::Table,
}

/// The TOML keys (dotted, from the file's root) written in sections mint accepts from MI but
/// does not act on; each becomes a warning.
pub fn unhonoured(t: &TransportSettings, keystores: &KeystoreSections) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |prefix: &str, table: &toml::Table| {
        let mut leaves = Vec::new();
        flatten_keys(String::new(), table, &mut leaves);
        out.extend(leaves.into_iter().map(|k| format!("{prefix}{k}")));
    };
    add("transport.", &t.other);
    add("transport.http.", &t.http.other);
    add("transport.http.listener.", &t.http.listener.other);
    add("transport.http.sender.", &t.http.sender.other);
    if keystores.internal.is_some() {
        out.push("keystore.internal".into());
    }
    out
}

fn flatten_keys(prefix: String, t: &toml::Table, out: &mut Vec<String>) {
    for (k, v) in t {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(sub) => flatten_keys(name, sub, out),
            _ => out.push(name),
        }
    }
}

/// `[synapse_properties]` by their dotted names, whether written quoted
/// (`'synapse.rest.CORSConfig.enabled' = true`) or bare (`synapse.rest.CORSConfig.enabled = true`,
/// which TOML reads as nested tables).
#[derive(Debug, Clone, Default)]
pub struct SynapseProperties(pub BTreeMap<String, toml::Value>);

impl<'de> Deserialize<'de> for SynapseProperties {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = toml::Table::deserialize(d)?;
        let mut out = BTreeMap::new();
        fn walk(prefix: String, t: toml::Table, out: &mut BTreeMap<String, toml::Value>) {
            for (k, v) in t {
                let name = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    toml::Value::Table(sub) => walk(name, sub, out),
                    v => {
                        out.insert(name, v);
                    }
                }
            }
        }
        walk(String::new(), t, &mut out);
        Ok(SynapseProperties(out))
    }
}

impl SynapseProperties {
    pub fn get(&self, name: &str) -> Option<&toml::Value> {
        self.0.get(name)
    }

    /// A property as text (strings as written, numbers and booleans printed).
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Array(a) => a
                .iter()
                .map(|x| match x {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        })
    }

    pub fn flag(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            toml::Value::Boolean(b) => Some(*b),
            toml::Value::String(s) => Some(s.trim().eq_ignore_ascii_case("true")),
            _ => None,
        }
    }
}

/// Where the dotted key `path` is written in `text` (its last key), for warnings.
pub fn key_position(text: &str, path: &str) -> Option<Pos> {
    let parsed = toml::de::DeTable::parse(text).ok()?;
    let parts: Vec<&str> = path.split('.').collect();
    let mut table = parsed.get_ref();
    for (i, part) in parts.iter().enumerate() {
        let (key, value) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *part)?;
        if i + 1 == parts.len() {
            return Some(super::pos_of(text, key.span().start));
        }
        match value.get_ref() {
            toml::de::DeValue::Table(t) => table = t,
            _ => return Some(super::pos_of(text, key.span().start)),
        }
    }
    None
}

/// Synapse's global CORS configuration for APIs (`synapse.rest.CORSConfig.*` in
/// `[synapse_properties]`), as wso2/wso2-synapse `api/cors/SynapseCORSConfiguration.java` reads
/// it: enabled unless `synapse.rest.CORSConfig.enabled` is false, no origin allowed unless listed
/// in `…Access-Control-Allow-Origin` (comma-separated, `*` for any; a `localhost` origin also
/// allows the same origin on every local interface address), `…Access-Control-Allow-Headers`
/// sent as written.
#[derive(Debug, Clone)]
pub struct CorsSettings {
    pub enabled: bool,
    pub any_origin: bool,
    pub origins: Vec<String>,
    pub allow_headers: String,
    /// `allow_headers` as a header value, made once.
    pub allow_headers_value: http::HeaderValue,
}

impl Default for CorsSettings {
    fn default() -> Self {
        CorsSettings {
            enabled: true,
            any_origin: false,
            origins: Vec::new(),
            allow_headers: String::new(),
            allow_headers_value: http::HeaderValue::from_static(""),
        }
    }
}

impl CorsSettings {
    pub fn from_properties(p: &SynapseProperties) -> Result<CorsSettings, String> {
        const PREFIX: &str = "synapse.rest.CORSConfig.";
        let enabled = p.flag(&format!("{PREFIX}enabled")).unwrap_or(true);
        if !enabled {
            return Ok(CorsSettings {
                enabled,
                ..CorsSettings::default()
            });
        }
        let mut origins = Vec::new();
        let list = p
            .text(&format!("{PREFIX}Access-Control-Allow-Origin"))
            .unwrap_or_default();
        for o in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            origins.push(o.to_string());
            if !o.contains("localhost") || o == "*" {
                continue;
            }
            let url = http::Uri::try_from(o).map_err(|_| {
                format!("[synapse_properties] {PREFIX}Access-Control-Allow-Origin: origin '{o}' is malformed")
            })?;
            if url.host() == Some("localhost") {
                let scheme = url.scheme_str().unwrap_or("http");
                for ip in local_addresses() {
                    let host = match ip {
                        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                        v4 => v4.to_string(),
                    };
                    origins.push(match url.port_u16() {
                        Some(port) => format!("{scheme}://{host}:{port}"),
                        None => format!("{scheme}://{host}"),
                    });
                }
            }
        }
        let allow_headers = p
            .text(&format!("{PREFIX}Access-Control-Allow-Headers"))
            .unwrap_or_default();
        let allow_headers_value = http::HeaderValue::from_str(&allow_headers).map_err(|_| {
            format!("[synapse_properties] {PREFIX}Access-Control-Allow-Headers: not a valid header value")
        })?;
        Ok(CorsSettings {
            enabled,
            any_origin: origins.iter().any(|o| o == "*"),
            origins,
            allow_headers,
            allow_headers_value,
        })
    }

    /// `CORSHelper.getAllowedOrigins`: `*`, the origin itself, or "" when it is not allowed.
    pub fn allowed_origin<'a>(&self, origin: Option<&'a str>) -> &'a str {
        if self.any_origin {
            return "*";
        }
        match origin {
            Some(o) if self.origins.iter().any(|x| x == o) => o,
            _ => "",
        }
    }
}

/// The addresses of this machine's interfaces (what Java's `NetworkInterface` lists).
fn local_addresses() -> Vec<std::net::IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that freeifaddrs releases; each node's
    // `ifa_addr` is null or points to a sockaddr of the family it states.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return vec![std::net::IpAddr::from([127, 0, 0, 1])];
        }
        let mut cur = list;
        while !cur.is_null() {
            let a = (*cur).ifa_addr;
            if !a.is_null() {
                match (*a).sa_family as i32 {
                    libc::AF_INET => {
                        let sin = &*(a as *const libc::sockaddr_in);
                        out.push(std::net::IpAddr::from(sin.sin_addr.s_addr.to_ne_bytes()));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(a as *const libc::sockaddr_in6);
                        out.push(std::net::IpAddr::from(sin6.sin6_addr.s6_addr));
                    }
                    _ => {}
                }
            }
            cur = (*cur).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out.dedup();
    out
}

/// MI 4.5's per-API CORS: the API handler
/// `org.wso2.micro.integrator.security.handler.CORSRequestHandler` and its properties
/// (`allowedOrigins`, `allowHeaders`, `allowedMethods`, `allowCredentials`, `maxAge`). When an API
/// has it, the global `synapse.rest.CORSConfig.*` does not apply to that API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiCors {
    pub allowed_origins: Vec<String>,
    pub allow_headers: Option<String>,
    pub allowed_methods: Vec<String>,
    pub allow_credentials: bool,
    pub max_age: Option<String>,
}

/// MI's basic-authentication API handler.
pub const BASIC_AUTH_HANDLER_CLASS: &str =
    "org.wso2.micro.integrator.security.handler.RESTBasicAuthHandler";

/// The handler class MI 4.5 names for per-API CORS.
pub const CORS_HANDLER_CLASS: &str =
    "org.wso2.micro.integrator.security.handler.CORSRequestHandler";

impl ApiCors {
    /// `getAllowedOrigins`: `*`, the origin when listed or when a listed pattern with `*` (any
    /// characters) is found in it, else none (no `Access-Control-Allow-Origin` at all).
    pub fn allowed_origin<'a>(&self, origin: Option<&'a str>) -> Option<&'a str> {
        if self.allowed_origins.iter().any(|o| o == "*") {
            return Some("*");
        }
        let origin = origin?;
        if self.allowed_origins.iter().any(|o| o == origin) {
            return Some(origin);
        }
        for pattern in self.allowed_origins.iter().filter(|o| o.contains('*')) {
            let re = pattern
                .split('*')
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(".*");
            if regex::Regex::new(&re).is_ok_and(|r| r.is_match(origin)) {
                return Some(origin);
            }
        }
        None
    }

    /// The resource's methods that `allowedMethods` lists, comma-separated (no space), as the
    /// handler writes them.
    pub fn methods_for(&self, resource_methods: &[&str]) -> String {
        resource_methods
            .iter()
            .filter(|m| self.allowed_methods.iter().any(|a| a == *m))
            .copied()
            .collect::<Vec<_>>()
            .join(",")
    }
}
