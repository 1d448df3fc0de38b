//! TLS with rustls (aws-lc-rs provider): the HTTPS listener's certificate and the client
//! configuration used for https:// backends.
//!
//! Certificates are read (or generated) once at start, before any port is bound; each shard then
//! builds its own `ServerConfig` from the same DER bytes, so no TLS state is shared between cores.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{Home, Settings};
use crate::error::{Error, ErrorKind, Result, Side};

/// The listener's certificate chain and key, loaded at start.
pub struct TlsMaterial {
    pub certs: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Clone for TlsMaterial {
    fn clone(&self) -> Self {
        TlsMaterial {
            certs: self.certs.clone(),
            key: self.key.clone_key(),
        }
    }
}

fn tls_err(context: String) -> Error {
    Error::new(ErrorKind::Tls, Side::Config, context)
}

impl TlsMaterial {
    /// Reads the PEM files named in `[tls]`, or generates a self-signed certificate for `hostname`
    /// (plus `localhost` and 127.0.0.1) when none are configured.
    pub fn load(home: &Home, settings: &Settings) -> Result<TlsMaterial> {
        match (&settings.tls.cert_file, &settings.tls.key_file) {
            (Some(cert), Some(key)) => {
                let cert = home.resolve(cert);
                let key = home.resolve(key);
                let certs = CertificateDer::pem_file_iter(&cert)
                    .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                    .map_err(|e| {
                        tls_err(format!(
                            "{}: cannot read certificate chain: {e}",
                            cert.display()
                        ))
                    })?;
                if certs.is_empty() {
                    return Err(tls_err(format!("{}: no certificate found", cert.display())));
                }
                let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| {
                    tls_err(format!("{}: cannot read private key: {e}", key.display()))
                })?;
                let m = TlsMaterial { certs, key };
                m.server_config()?; // validate the pair now, before binding
                Ok(m)
            }
            _ => {
                let mut names = vec![settings.server.hostname.clone()];
                for n in ["localhost", "127.0.0.1"] {
                    if !names.iter().any(|x| x == n) {
                        names.push(n.to_string());
                    }
                }
                let ck = rcgen::generate_simple_self_signed(names).map_err(|e| {
                    tls_err(format!("cannot generate a self-signed certificate: {e}"))
                })?;
                let certs = vec![ck.cert.der().clone()];
                let key = PrivateKeyDer::try_from(ck.signing_key.serialize_der())
                    .map_err(|e| tls_err(format!("generated key unusable: {e}")))?;
                Ok(TlsMaterial { certs, key })
            }
        }
    }

    /// A rustls server configuration (HTTP/1.1 via ALPN).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>> {
        let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(format!("TLS versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(self.certs.clone(), self.key.clone_key())
        .map_err(|e| {
            tls_err(format!(
                "certificate and key do not form a usable pair: {e}"
            ))
        })?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}

/// The listener's TLS material: loaded before start (PEM files, so errors stop the start-up), or
/// generated on a background thread (self-signed), so that generating a key never delays the HTTP
/// listeners; HTTPS connections wait in the accept backlog until it is ready (about 20 ms).
#[derive(Clone)]
pub struct TlsSource(Arc<OnceLock<std::result::Result<TlsMaterial, String>>>);

impl TlsSource {
    pub fn load(home: &Home, settings: &Settings) -> Result<TlsSource> {
        let cell = Arc::new(OnceLock::new());
        if settings.tls.cert_file.is_some() {
            let _ = cell.set(Ok(TlsMaterial::load(home, settings)?));
        } else {
            let (home, settings, cell2) = (home.clone(), settings.clone(), cell.clone());
            std::thread::Builder::new()
                .name("mint-selfsigned".into())
                .spawn(move || {
                    let m = TlsMaterial::load(&home, &settings).map_err(|e| e.to_string());
                    if m.is_ok() {
                        tracing::info!("no [tls] certificate configured: generated a self-signed certificate for HTTPS");
                    }
                    let _ = cell2.set(m);
                })
                .map_err(|e| tls_err(format!("cannot start the certificate generator: {e}")))?;
        }
        Ok(TlsSource(cell))
    }

    /// The material once available.
    pub fn get(&self) -> Option<&std::result::Result<TlsMaterial, String>> {
        self.0.get()
    }
}

/// Client configuration for https:// backends: the system roots plus `[tls] trust_file`.
/// Built lazily by each shard on its first https:// call (reading the system store takes time).
pub fn client_config(home: &Home, settings: &Settings) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for c in native.certs {
        let _ = roots.add(c);
    }
    if let Some(trust) = &settings.tls.trust_file {
        let path = home.resolve(trust);
        let certs = CertificateDer::pem_file_iter(&path)
            .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| tls_err(format!("{}: cannot read trust file: {e}", path.display())))?;
        for c in certs {
            roots
                .add(c)
                .map_err(|e| tls_err(format!("{}: bad CA certificate: {e}", path.display())))?;
        }
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_err(format!("TLS versions: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(cfg))
}
