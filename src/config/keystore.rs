//! Keystores as MI users keep them: Java's JKS files (read here) and PKCS#12 files (through
//! `p12-keystore`), as named by `[keystore.primary]`, `[keystore.tls]` and `[truststore]`.
//!
//! JKS is read by hand because its format is small and fixed (magic `FEEDFEED`, entries, a SHA-1
//! digest keyed by the password) and the one crate for it indexes its input without bounds
//! checks and encodes non-ASCII passwords wrongly. Every length here is checked: a damaged file is
//! an error naming it, never a panic.

use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The file formats MI accepts for a keystore's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    Jks,
    Pkcs12,
}

impl StoreType {
    /// `JKS` or `PKCS12` (`P12`, `PFX`), case-insensitive, as Java's `KeyStore.getInstance`.
    pub fn parse(s: &str) -> Option<StoreType> {
        match s.to_ascii_uppercase().as_str() {
            "JKS" => Some(StoreType::Jks),
            "PKCS12" | "P12" | "PFX" => Some(StoreType::Pkcs12),
            _ => None,
        }
    }
}

/// A private key with its certificate chain (the entity certificate first).
pub struct KeyEntry {
    pub certs: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

enum Protected {
    /// JKS: Sun's key protector, decrypted with the key password on demand.
    Jks(Vec<u8>),
    /// PKCS#12: decrypted with the store password when read (PKCS#8 DER).
    Plain(Vec<u8>),
}

struct PrivateEntry {
    alias: String,
    key: Protected,
    chain: Vec<CertificateDer<'static>>,
}

/// The entries of one keystore file.
pub struct Keystore {
    path: PathBuf,
    keys: Vec<PrivateEntry>,
    trusted: Vec<(String, CertificateDer<'static>)>,
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystore")
            .field("path", &self.path)
            .field("keys", &self.keys.len())
            .field("trusted", &self.trusted.len())
            .finish()
    }
}

impl Keystore {
    /// Reads the file; `password` is the store password (its integrity check for JKS, the key to
    /// every bag for PKCS#12).
    pub fn read(path: &Path, kind: StoreType, password: &str) -> Result<Keystore, String> {
        let data =
            std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let at = |m: String| format!("{}: {m}", path.display());
        match kind {
            StoreType::Jks => read_jks(path, &data, password).map_err(at),
            StoreType::Pkcs12 => read_pkcs12(path, &data, password).map_err(at),
        }
    }

    /// The private key `alias` (or the only one when `alias` is `None`), decrypted with
    /// `key_password`.
    pub fn key(&self, alias: Option<&str>, key_password: &str) -> Result<KeyEntry, String> {
        let entry = match alias {
            Some(a) => self
                .keys
                .iter()
                .find(|e| e.alias.eq_ignore_ascii_case(a))
                .ok_or_else(|| {
                    let have: Vec<&str> = self.keys.iter().map(|e| e.alias.as_str()).collect();
                    format!(
                        "{}: no private key with alias '{a}' (private keys: {})",
                        self.path.display(),
                        if have.is_empty() {
                            "none".to_string()
                        } else {
                            have.join(", ")
                        }
                    )
                })?,
            None => match self.keys.as_slice() {
                [one] => one,
                [] => return Err(format!("{}: holds no private key", self.path.display())),
                _ => {
                    return Err(format!(
                        "{}: holds several private keys: name one with `alias`",
                        self.path.display()
                    ))
                }
            },
        };
        let pkcs8 = match &entry.key {
            Protected::Plain(der) => der.clone(),
            Protected::Jks(protected) => unprotect_jks_key(protected, key_password)
                .map_err(|m| format!("{}: key '{}': {m}", self.path.display(), entry.alias))?,
        };
        if entry.chain.is_empty() {
            return Err(format!(
                "{}: key '{}' has no certificate",
                self.path.display(),
                entry.alias
            ));
        }
        Ok(KeyEntry {
            certs: entry.chain.clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8)),
        })
    }

    /// Every certificate the store vouches for: its trusted-certificate entries (as Java's
    /// `TrustManagerFactory` reads a truststore).
    pub fn trusted_certs(&self) -> impl Iterator<Item = &CertificateDer<'static>> {
        self.trusted.iter().map(|(_, c)| c)
    }

    /// The entity certificate of the key `alias` (or the only key).
    pub fn certificate(&self, alias: Option<&str>) -> Option<&CertificateDer<'static>> {
        let e = match alias {
            Some(a) => self.keys.iter().find(|e| e.alias.eq_ignore_ascii_case(a)),
            None => self.keys.first(),
        };
        e.and_then(|e| e.chain.first()).or_else(|| match alias {
            Some(a) => self
                .trusted
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(a))
                .map(|(_, c)| c),
            None => None,
        })
    }
}

fn read_pkcs12(path: &Path, data: &[u8], password: &str) -> Result<Keystore, String> {
    use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
    let ks = KeyStore::from_pkcs12(data, password, Pkcs12ImportPolicy::Relaxed)
        .map_err(|e| format!("not a readable PKCS#12 keystore with this password: {e}"))?;
    let mut out = Keystore {
        path: path.to_path_buf(),
        keys: Vec::new(),
        trusted: Vec::new(),
    };
    for (alias, entry) in ks.entries() {
        match entry {
            KeyStoreEntry::PrivateKeyChain(chain) => out.keys.push(PrivateEntry {
                alias: alias.clone(),
                key: Protected::Plain(chain.key().as_der().to_vec()),
                chain: chain
                    .certs()
                    .iter()
                    .map(|c| CertificateDer::from(c.as_der().to_vec()))
                    .collect(),
            }),
            KeyStoreEntry::Certificate(c) => out
                .trusted
                .push((alias.clone(), CertificateDer::from(c.as_der().to_vec()))),
            KeyStoreEntry::Secret(_) => {}
        }
    }
    Ok(out)
}

/// Big-endian reads over a byte slice, every one bounds-checked.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or("truncated JKS keystore")?;
        let s = &self.data[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    /// Java's `DataInput.readUTF` (modified UTF-8; aliases and type names are ASCII in practice).
    fn utf(&mut self) -> Result<String, String> {
        let b = self.take(2)?;
        let n = u16::from_be_bytes([b[0], b[1]]) as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
}

const JKS_MAGIC: u32 = 0xFEED_FEED;
const JCEKS_MAGIC: u32 = 0xCECE_CECE;

/// Java's password bytes for the JKS digests: each UTF-16 unit big-endian.
fn java_password(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn read_jks(path: &Path, data: &[u8], password: &str) -> Result<Keystore, String> {
    let mut r = Reader { data, at: 0 };
    match r.u32()? {
        JKS_MAGIC => {}
        JCEKS_MAGIC => {
            return Err("a JCEKS keystore: mint reads JKS and PKCS12 (convert it with `keytool -importkeystore -deststoretype PKCS12`)".into())
        }
        _ if data.first() == Some(&0x30) => {
            return Err("this is a PKCS#12 file: set type = \"PKCS12\"".into())
        }
        _ => return Err("not a JKS keystore".into()),
    }
    let version = r.u32()?;
    if version != 1 && version != 2 {
        return Err(format!("JKS version {version} is unknown"));
    }
    let count = r.u32()?;
    let mut out = Keystore {
        path: path.to_path_buf(),
        keys: Vec::new(),
        trusted: Vec::new(),
    };
    let cert = |r: &mut Reader<'_>| -> Result<CertificateDer<'static>, String> {
        if version == 2 {
            let kind = r.utf()?;
            if kind != "X.509" {
                return Err(format!("certificate type '{kind}' (only X.509 is read)"));
            }
        }
        Ok(CertificateDer::from(r.bytes()?.to_vec()))
    };
    for _ in 0..count {
        let tag = r.u32()?;
        let alias = r.utf()?;
        r.take(8)?; // creation date
        match tag {
            1 => {
                let key = r.bytes()?.to_vec();
                let n = r.u32()?;
                let mut chain = Vec::new();
                for _ in 0..n {
                    chain.push(cert(&mut r)?);
                }
                out.keys.push(PrivateEntry {
                    alias,
                    key: Protected::Jks(key),
                    chain,
                });
            }
            2 => {
                let c = cert(&mut r)?;
                out.trusted.push((alias, c));
            }
            t => return Err(format!("entry '{alias}' has unknown kind {t}")),
        }
    }
    let body = &data[..r.at];
    let stored = r.take(20)?;
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&java_password(password));
    ctx.update(b"Mighty Aphrodite");
    ctx.update(body);
    if ctx.finish().as_ref() != stored {
        return Err("the keystore password is wrong (or the file was altered)".into());
    }
    Ok(out)
}

/// One DER element: (tag, content, rest).
fn der(data: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let bad = || "malformed key (DER)".to_string();
    let (&tag, rest) = data.split_first().ok_or_else(bad)?;
    let (&first, rest) = rest.split_first().ok_or_else(bad)?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad());
        }
        let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// Sun's JKS key protector (OID 1.3.6.1.4.1.42.2.17.1.1): `salt(20) ‖ data ⊕ stream ‖ check(20)`
/// where the stream is SHA-1 chained over the password from the salt, and the check is
/// SHA-1(password ‖ plaintext).
fn unprotect_jks_key(protected: &[u8], password: &str) -> Result<Vec<u8>, String> {
    const SUN_JKS_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01];
    let (tag, info, _) = der(protected)?;
    let (atag, alg, rest) = der(info)?;
    let (otag, oid, _) = der(alg)?;
    let (etag, enc, _) = der(rest)?;
    if tag != 0x30 || atag != 0x30 || otag != 0x06 || etag != 0x04 {
        return Err("malformed key (DER)".into());
    }
    if oid != SUN_JKS_OID {
        return Err("key protected by an algorithm other than JKS's own".into());
    }
    if enc.len() < 40 {
        return Err("malformed key".into());
    }
    let (salt, rest) = enc.split_at(20);
    let (cipher, check) = rest.split_at(rest.len() - 20);
    let pw = java_password(password);
    let sha1 = |parts: &[&[u8]]| {
        let mut c = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        for p in parts {
            c.update(p);
        }
        c.finish()
    };
    let mut plain = Vec::with_capacity(cipher.len());
    let mut block = salt.to_vec();
    for chunk in cipher.chunks(20) {
        block = sha1(&[&pw, &block]).as_ref().to_vec();
        plain.extend(chunk.iter().zip(&block).map(|(c, k)| c ^ k));
    }
    if sha1(&[&pw, &plain]).as_ref() != check {
        return Err("the key password is wrong".into());
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/security")
            .join(name)
    }

    fn usable(k: &KeyEntry) {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        provider
            .key_provider
            .load_private_key(k.key.clone_key())
            .expect("a usable private key");
    }

    #[test]
    fn a_keytool_jks_gives_its_key_and_chain() {
        let ks = Keystore::read(&data("server.jks"), StoreType::Jks, "wso2carbon").unwrap();
        let k = ks.key(Some("wso2carbon"), "wso2carbon").unwrap();
        assert_eq!(k.certs.len(), 2, "entity certificate and CA");
        usable(&k);
        // Aliases are case-insensitive, as in Java's JKS.
        assert!(ks.key(Some("WSO2Carbon"), "wso2carbon").is_ok());
        assert!(ks.key(None, "wso2carbon").is_ok());
    }

    #[test]
    fn a_keytool_pkcs12_gives_the_same_key() {
        let jks = Keystore::read(&data("server.jks"), StoreType::Jks, "wso2carbon").unwrap();
        let p12 = Keystore::read(&data("server.p12"), StoreType::Pkcs12, "wso2carbon").unwrap();
        let a = jks.key(Some("wso2carbon"), "wso2carbon").unwrap();
        let b = p12.key(Some("wso2carbon"), "wso2carbon").unwrap();
        assert_eq!(a.certs, b.certs);
        assert_eq!(a.key.secret_der(), b.key.secret_der());
    }

    #[test]
    fn a_truststore_lists_its_certificates() {
        let ts = Keystore::read(&data("truststore.jks"), StoreType::Jks, "wso2carbon").unwrap();
        assert_eq!(ts.trusted_certs().count(), 1);
        let ca = std::fs::read(data("ca.pem")).unwrap();
        use rustls::pki_types::pem::PemObject;
        let ca = CertificateDer::from_pem_slice(&ca).unwrap();
        assert_eq!(ts.trusted_certs().next().unwrap(), &ca);
    }

    #[test]
    fn wrong_passwords_and_formats_are_named() {
        let e = Keystore::read(&data("server.jks"), StoreType::Jks, "nope").unwrap_err();
        assert!(e.contains("password is wrong"), "{e}");
        let ks = Keystore::read(&data("server.jks"), StoreType::Jks, "wso2carbon").unwrap();
        let e = ks.key(Some("wso2carbon"), "nope").err().unwrap();
        assert!(e.contains("key password is wrong"), "{e}");
        let e = ks.key(Some("other"), "wso2carbon").err().unwrap();
        assert!(e.contains("no private key with alias 'other'"), "{e}");
        let e = Keystore::read(&data("server.p12"), StoreType::Jks, "wso2carbon").unwrap_err();
        assert!(e.contains("PKCS12"), "{e}");
        let e = Keystore::read(&data("server.p12"), StoreType::Pkcs12, "nope").unwrap_err();
        assert!(e.contains("PKCS#12"), "{e}");
    }

    #[test]
    fn a_damaged_jks_is_an_error_at_every_length() {
        let full = std::fs::read(data("server.jks")).unwrap();
        let dir = std::env::temp_dir().join(format!("mint-jks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("cut.jks");
        for n in (0..full.len()).step_by(7) {
            std::fs::write(&p, &full[..n]).unwrap();
            assert!(Keystore::read(&p, StoreType::Jks, "wso2carbon").is_err());
        }
        // A flipped byte inside the key: the digest refuses the file.
        let mut bad = full.clone();
        bad[200] ^= 1;
        std::fs::write(&p, &bad).unwrap();
        assert!(Keystore::read(&p, StoreType::Jks, "wso2carbon").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
