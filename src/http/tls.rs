//! TLS with rustls (aws-lc-rs provider): the HTTPS listener's certificate and options, and the
//! client configuration used for https:// backends, as MI's `deployment.toml` configures them.
//!
//! The listener's key comes from, in order: `[transport.http] listener.keystore.*`,
//! `[keystore.tls]`, mint's `[tls]` PEM files, the primary keystore (`[keystore.primary]`, or MI's
//! stock `repository/resources/security/wso2carbon.jks` when the home has it), else a self-signed
//! certificate generated at start. Material is read before any port is bound, then re-read when
//! its files change (`TlsSource`): each shard builds its own `ServerConfig` from the same DER
//! bytes when the generation moves, so no TLS state is shared between cores.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::security::{
    available_ciphers, cipher_names, iana_name, StoreSettings, VerifyClient,
};
use crate::config::{Home, Settings};
use crate::error::{Error, ErrorKind, Result, Side};

fn tls_err(context: String) -> Error {
    Error::new(ErrorKind::Tls, Side::Config, context)
}

/// The listener's certificate chain and key, and the CAs client certificates must chain to.
pub struct TlsMaterial {
    pub certs: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub client_roots: Vec<CertificateDer<'static>>,
    /// Where it came from, for the log.
    pub source: String,
    /// The files read (watched for changes).
    pub files: Vec<PathBuf>,
}

fn read_pem_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| tls_err(format!("{}: cannot read certificates: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(tls_err(format!("{}: no certificate found", path.display())));
    }
    Ok(certs)
}

fn store_key(
    home: &Home,
    store: &StoreSettings,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let ks = store.open(home).map_err(tls_err)?;
    let k = ks
        .key(store.alias.as_deref(), store.key_password())
        .map_err(tls_err)?;
    Ok((k.certs, k.key))
}

fn store_certs(home: &Home, store: &StoreSettings) -> Result<Vec<CertificateDer<'static>>> {
    let ks = store.open(home).map_err(tls_err)?;
    Ok(ks.trusted_certs().cloned().collect())
}

impl TlsMaterial {
    /// Reads the listener's key and client-certificate roots as configured; `Ok(None)` when
    /// nothing is configured (a self-signed certificate is then generated).
    pub fn configured(home: &Home, settings: &Settings) -> Result<Option<TlsMaterial>> {
        let listener = &settings.transport.http.listener;
        let mut files = Vec::new();
        let (certs, key, source) = if let Some(s) = &listener.keystore {
            files.push(home.resolve(&s.file_name));
            let (c, k) = store_key(home, s)?;
            (c, k, format!("listener.keystore {}", s.file_name.display()))
        } else if let Some(s) = &settings.keystore.tls {
            files.push(home.resolve(&s.file_name));
            let (c, k) = store_key(home, s)?;
            (c, k, format!("[keystore.tls] {}", s.file_name.display()))
        } else if let (Some(cert), Some(key)) = (&settings.tls.cert_file, &settings.tls.key_file) {
            let (cert, key) = (home.resolve(cert), home.resolve(key));
            let certs = read_pem_certs(&cert)?;
            let k = PrivateKeyDer::from_pem_file(&key)
                .map_err(|e| tls_err(format!("{}: cannot read private key: {e}", key.display())))?;
            files.push(cert.clone());
            files.push(key);
            (certs, k, format!("[tls] {}", cert.display()))
        } else if let Some(s) = settings.primary_store(home) {
            files.push(home.resolve(&s.file_name));
            let (c, k) = store_key(home, &s)?;
            (
                c,
                k,
                format!("the primary keystore {}", s.file_name.display()),
            )
        } else {
            return Ok(None);
        };
        let mut client_roots = Vec::new();
        if listener.verify_client() != VerifyClient::None {
            let trust = listener
                .truststore
                .as_ref()
                .or(settings.truststore.as_ref());
            match (trust, &settings.tls.trust_file) {
                (Some(t), _) => {
                    files.push(home.resolve(&t.file_name));
                    client_roots = store_certs(home, t)?;
                }
                (None, Some(pem)) => {
                    let p = home.resolve(pem);
                    client_roots = read_pem_certs(&p)?;
                    files.push(p);
                }
                (None, None) => {
                    return Err(tls_err(
                        "listener.verify_client needs the CAs client certificates chain to: set [truststore] or listener.truststore.*".into(),
                    ))
                }
            }
            if client_roots.is_empty() {
                return Err(tls_err(
                    "listener.verify_client: the truststore holds no certificate".into(),
                ));
            }
        }
        let m = TlsMaterial {
            certs,
            key,
            client_roots,
            source,
            files,
        };
        m.server_config(settings)?; // validate the pair and options now, before binding
        Ok(Some(m))
    }

    /// A self-signed certificate for `hostname` (plus `localhost` and 127.0.0.1).
    pub fn self_signed(settings: &Settings) -> Result<TlsMaterial> {
        let mut names = vec![settings.server.hostname.clone()];
        for n in ["localhost", "127.0.0.1"] {
            if !names.iter().any(|x| x == n) {
                names.push(n.to_string());
            }
        }
        let ck = rcgen::generate_simple_self_signed(names)
            .map_err(|e| tls_err(format!("cannot generate a self-signed certificate: {e}")))?;
        let certs = vec![ck.cert.der().clone()];
        let key = PrivateKeyDer::try_from(ck.signing_key.serialize_der())
            .map_err(|e| tls_err(format!("generated key unusable: {e}")))?;
        Ok(TlsMaterial {
            certs,
            key,
            client_roots: Vec::new(),
            source: "self-signed".into(),
            files: Vec::new(),
        })
    }

    /// A rustls server configuration (HTTP/1.1 via ALPN) with the listener's protocols, cipher
    /// suites and client authentication.
    pub fn server_config(&self, settings: &Settings) -> Result<Arc<rustls::ServerConfig>> {
        let l = &settings.transport.http.listener;
        let provider = Arc::new(provider(l.preferred_ciphers.as_deref())?);
        let versions = versions(l.secured_protocols.as_deref());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| tls_err(format!("listener.secured_protocols: {e}")))?;
        let builder = match l.verify_client() {
            VerifyClient::None => builder.with_no_client_auth(),
            v => {
                let mut roots = rustls::RootCertStore::empty();
                for c in &self.client_roots {
                    roots
                        .add(c.clone())
                        .map_err(|e| tls_err(format!("truststore: bad CA certificate: {e}")))?;
                }
                let vb = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let vb = if v == VerifyClient::Optional {
                    vb.allow_unauthenticated()
                } else {
                    vb
                };
                builder.with_client_cert_verifier(
                    vb.build()
                        .map_err(|e| tls_err(format!("listener.verify_client: {e}")))?,
                )
            }
        };
        let mut cfg = builder
            .with_single_cert(self.certs.clone(), self.key.clone_key())
            .map_err(|e| {
                tls_err(format!(
                    "{}: certificate and key do not form a usable pair: {e}",
                    self.source
                ))
            })?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}

/// rustls's protocol versions named in `list` (Java's names; the ones rustls lacks were
/// reported by the settings as warnings). Default: TLS 1.2 and 1.3.
fn versions(list: Option<&str>) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let mut out = Vec::new();
    for p in crate::config::security::protocols(list).0 {
        out.push(match p {
            crate::config::security::Protocol::Tls12 => &rustls::version::TLS12,
            crate::config::security::Protocol::Tls13 => &rustls::version::TLS13,
        });
    }
    out
}

/// The aws-lc-rs provider, its cipher suites limited to `preferred` (IANA/JSSE names, in the
/// provider's order of preference) when given.
fn provider(preferred: Option<&str>) -> Result<CryptoProvider> {
    let mut p = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(list) = preferred {
        let wanted = cipher_names(list);
        p.cipher_suites
            .retain(|s| wanted.iter().any(|w| *w == iana_name(s.suite())));
        if p.cipher_suites.is_empty() {
            return Err(tls_err(format!(
                "preferred_ciphers: none of '{list}' is available (mint has: {})",
                available_ciphers().join(", ")
            )));
        }
    }
    Ok(p)
}

/// The listener's TLS material, replaced when its files change: the shards rebuild their
/// `ServerConfig` when `generation` moves (one atomic load per accepted connection).
#[derive(Clone)]
pub struct TlsSource(Arc<SourceInner>);

struct SourceInner {
    current: ArcSwapOption<std::result::Result<TlsMaterial, String>>,
    generation: AtomicU64,
}

impl TlsSource {
    /// Reads configured material now (errors stop the start-up), or generates a self-signed
    /// certificate on a background thread, so that generating a key never delays the HTTP
    /// listeners (HTTPS connections wait in the accept backlog for about 20 ms). Configured
    /// files are then polled every `hot_deployment_interval_ms` and re-read when they change.
    pub fn load(home: &Home, settings: &Settings) -> Result<TlsSource> {
        let src = TlsSource(Arc::new(SourceInner {
            current: ArcSwapOption::empty(),
            generation: AtomicU64::new(0),
        }));
        match TlsMaterial::configured(home, settings)? {
            Some(m) => {
                tracing::info!(certificate = %m.source, "HTTPS listener certificate");
                let files = m.files.clone();
                src.publish(Ok(m));
                src.watch(home.clone(), settings.clone(), files)?;
            }
            None => {
                let (settings, src2) = (settings.clone(), src.clone());
                std::thread::Builder::new()
                    .name("mint-selfsigned".into())
                    .spawn(move || {
                        // Seeding aws-lc's generator (jitter entropy) was about a third of
                        // start-up's CPU in a profile: the shards starting beside it go first.
                        // On Linux, `PRIO_PROCESS` with 0 sets the calling thread's nice value
                        // only. (HTTPS handshakes wait for this certificate, longer when the
                        // CPUs are busy at start.)
                        // SAFETY: setpriority(2) with constant arguments.
                        unsafe {
                            libc::setpriority(libc::PRIO_PROCESS, 0, 10);
                        }
                        let m = TlsMaterial::self_signed(&settings).map_err(|e| e.to_string());
                        if m.is_ok() {
                            tracing::info!("no certificate configured: generated a self-signed certificate for HTTPS");
                        }
                        src2.publish(m);
                    })
                    .map_err(|e| tls_err(format!("cannot start the certificate generator: {e}")))?;
            }
        }
        Ok(src)
    }

    fn publish(&self, m: std::result::Result<TlsMaterial, String>) {
        self.0.current.store(Some(Arc::new(m)));
        self.0.generation.fetch_add(1, Ordering::Release);
    }

    /// The material's generation: 0 until the first material is there.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    /// The current material once available.
    pub fn get(&self) -> Option<Arc<std::result::Result<TlsMaterial, String>>> {
        self.0.current.load_full()
    }

    /// Polls the files' modification times and sizes; a change re-reads the material. A file
    /// that no longer reads keeps the previous certificate in service, with an error logged.
    fn watch(&self, home: Home, settings: Settings, files: Vec<PathBuf>) -> Result<()> {
        let stamp = |files: &[PathBuf]| -> Vec<Option<(SystemTime, u64)>> {
            files
                .iter()
                .map(|f| {
                    let m = std::fs::metadata(f).ok()?;
                    Some((m.modified().ok()?, m.len()))
                })
                .collect()
        };
        let interval = Duration::from_millis(settings.server.hot_deployment_interval_ms.max(100));
        let src = self.clone();
        let mut seen = stamp(&files);
        let mut files = files;
        std::thread::Builder::new()
            .name("mint-tls-watch".into())
            .spawn(move || loop {
                std::thread::park_timeout(interval);
                let now = stamp(&files);
                if now == seen {
                    continue;
                }
                seen = now;
                match TlsMaterial::configured(&home, &settings) {
                    Ok(Some(m)) => {
                        tracing::info!(certificate = %m.source, "HTTPS certificate reloaded");
                        files = m.files.clone();
                        seen = stamp(&files);
                        src.publish(Ok(m));
                    }
                    Ok(None) => {}
                    Err(e) => tracing::error!(
                        error = %e,
                        "HTTPS certificate files changed but do not load: the previous certificate stays in service"
                    ),
                }
            })
            .map_err(|e| tls_err(format!("cannot start the certificate watcher: {e}")))?;
        Ok(())
    }
}

/// Client configuration for https:// backends: the system roots, `[tls] trust_file` and the
/// sender's truststore (`sender.truststore.*`, else `[truststore]`); the sender's key
/// (`sender.keystore.*`, else the primary keystore) is presented to backends that ask for a
/// client certificate. Built lazily by each shard on its first https:// call.
pub fn client_config(home: &Home, settings: &Settings) -> Result<Arc<rustls::ClientConfig>> {
    let sender = &settings.transport.http.sender;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for c in native.certs {
        let _ = roots.add(c);
    }
    let mut extra = Vec::new();
    if let Some(trust) = &settings.tls.trust_file {
        extra.extend(read_pem_certs(&home.resolve(trust))?);
    }
    if let Some(t) = sender.truststore.as_ref().or(settings.truststore.as_ref()) {
        extra.extend(store_certs(home, t)?);
    }
    for c in extra {
        roots
            .add(c)
            .map_err(|e| tls_err(format!("truststore: bad CA certificate: {e}")))?;
    }
    let provider = Arc::new(provider(sender.preferred_ciphers.as_deref())?);
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(sender.secured_protocols.as_deref()))
        .map_err(|e| tls_err(format!("sender.secured_protocols: {e}")))?;
    let roots = Arc::new(roots);
    let builder = if sender.allows_any_host_name() {
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| tls_err(format!("truststore: {e}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyHostName(inner)))
    } else {
        builder.with_root_certificates(roots)
    };
    let key = match &sender.keystore {
        Some(s) => Some(store_key(home, s)?),
        None => match settings.primary_store(home) {
            Some(s) => Some(store_key(home, &s)?),
            None => None,
        },
    };
    let cfg = match key {
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| tls_err(format!("sender keystore: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

/// MI's `sender.hostname_verifier = "AllowAll"`: the chain is verified against the trusted roots
/// as always; only the host name check is skipped.
#[derive(Debug)]
struct AnyHostName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error as E};
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(E::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
