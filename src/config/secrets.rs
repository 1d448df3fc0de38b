//! WSO2's secure vault as MI 4.x uses it: `[secrets]` holds each alias's value encrypted with
//! the primary keystore's public key (what WSO2's cipher tool, and `mint secret encrypt`,
//! write); mint decrypts them once at start with the keystore's private key, and they are read
//! through `$secret{alias}` in `deployment.toml` and `wso2:vault-lookup('alias')` in artifacts.
//!
//! A value in brackets (`"[plain text]"`) is MI's not-yet-encrypted form; mint refuses it unless
//! `[secure_vault] allow_plain_text = true`. Decrypted values never reach `Debug` output, and the
//! log writer masks them (`telemetry`).

use std::collections::BTreeMap;

use aws_lc_rs::rsa::{
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey, OAEP_SHA1_MGF1SHA1,
};
use base64::Engine as _;
use rustls::pki_types::CertificateDer;

use super::keystore::KeyEntry;

/// The decrypted secrets, by alias.
#[derive(Clone, Default)]
pub struct Secrets {
    plain: BTreeMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.plain.keys()).finish()
    }
}

/// Java's transformation names for the two RSA paddings WSO2's cipher tool has used.
const OAEP: &str = "RSA/ECB/OAEPwithSHA1andMGF1Padding";
const PKCS1: &str = "RSA/ECB/PKCS1Padding";

impl Secrets {
    pub fn get(&self, alias: &str) -> Option<&str> {
        self.plain.get(alias).map(String::as_str)
    }

    /// The values, for masking (empty ones left out: they cannot leak).
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.plain
            .values()
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Decrypts every `[secrets]` entry with the primary key. An entry that does not decrypt is an
    /// error naming its alias (never its value).
    pub fn decrypt(
        raw: &BTreeMap<String, String>,
        key: Option<&KeyEntry>,
        allow_plain_text: bool,
    ) -> Result<Secrets, String> {
        let mut plain = BTreeMap::new();
        let mut rsa: Option<PrivateDecryptingKey> = None;
        for (alias, value) in raw {
            let v = value.trim();
            if let Some(text) = v.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                if !allow_plain_text {
                    return Err(format!(
                        "[secrets] {alias}: a plain-text value; encrypt it with `mint secret encrypt` (or set [secure_vault] allow_plain_text = true)"
                    ));
                }
                plain.insert(alias.clone(), text.to_string());
                continue;
            }
            if rsa.is_none() {
                let k = key.ok_or_else(|| {
                    format!("[secrets] {alias}: an encrypted secret needs the primary keystore ([keystore.primary])")
                })?;
                rsa = Some(PrivateDecryptingKey::from_pkcs8(k.key.secret_der()).map_err(|e| {
                    format!("[secrets]: the primary keystore's key cannot decrypt (an RSA key is needed): {e}")
                })?);
            }
            let k = rsa.as_ref().expect("set above");
            let text = decrypt_one(k, v).map_err(|m| format!("[secrets] {alias}: {m}"))?;
            plain.insert(alias.clone(), text);
        }
        Ok(Secrets { plain })
    }

    #[cfg(test)]
    pub fn from_plain(pairs: &[(&str, &str)]) -> Secrets {
        Secrets {
            plain: pairs
                .iter()
                .map(|(a, v)| (a.to_string(), v.to_string()))
                .collect(),
        }
    }
}

fn b64(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| "not base64 (neither encrypted nor in [brackets])".to_string())
}

/// One ciphertext: WSO2's self-contained form (base64 of `{"c": …, "t": transformation, "tp":
/// thumbprint, "tpd": digest}`) or a bare base64 RSA block (OAEP, else PKCS#1 v1.5).
fn decrypt_one(key: &PrivateDecryptingKey, value: &str) -> Result<String, String> {
    let bytes = b64(value)?;
    let (cipher, transformation) = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(o)) => {
            let c = o
                .get("c")
                .and_then(|c| c.as_str())
                .ok_or("a self-contained ciphertext without \"c\"")?;
            let t = o.get("t").and_then(|t| t.as_str()).map(str::to_string);
            (b64(c)?, t)
        }
        _ => (bytes, None),
    };
    let plain = match transformation.as_deref() {
        Some(t) if t.eq_ignore_ascii_case(OAEP) => oaep(key, &cipher)?,
        Some(t) if t.eq_ignore_ascii_case(PKCS1) || t.eq_ignore_ascii_case("RSA") => {
            pkcs1(key, &cipher)?
        }
        Some(t) => return Err(format!("transformation '{t}' is not supported")),
        None => oaep(key, &cipher).or_else(|_| pkcs1(key, &cipher))?,
    };
    String::from_utf8(plain).map_err(|_| "decrypts to text that is not UTF-8".to_string())
}

fn oaep(key: &PrivateDecryptingKey, cipher: &[u8]) -> Result<Vec<u8>, String> {
    let k = OaepPrivateDecryptingKey::new(key.clone()).map_err(|_| "unusable RSA key")?;
    let mut out = vec![0u8; k.min_output_size()];
    let n = k
        .decrypt(&OAEP_SHA1_MGF1SHA1, cipher, &mut out, None)
        .map_err(|_| "does not decrypt with the primary keystore's key")?
        .len();
    out.truncate(n);
    Ok(out)
}

fn pkcs1(key: &PrivateDecryptingKey, cipher: &[u8]) -> Result<Vec<u8>, String> {
    let k = Pkcs1PrivateDecryptingKey::new(key.clone()).map_err(|_| "unusable RSA key")?;
    let mut out = vec![0u8; k.min_output_size()];
    let n = k
        .decrypt(cipher, &mut out)
        .map_err(|_| "does not decrypt with the primary keystore's key")?
        .len();
    out.truncate(n);
    Ok(out)
}

/// Encrypts `plain` for `[secrets]` with the certificate's RSA public key: RSA-OAEP with SHA-1,
/// base64, what MI's `ciphertool.sh` writes (`-Dorg.wso2.CipherTransformation=
/// RSA/ECB/OAEPwithSHA1andMGF1Padding`, wso2/micro-integrator `distribution/src/conf/ciphertool.sh`)
/// and what MI's runtime decrypts with the same transformation (`conf/carbon.properties`).
pub fn encrypt(cert: &CertificateDer<'_>, plain: &str) -> Result<String, String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| format!("unreadable certificate: {e}"))?;
    let spki = parsed.tbs_certificate.subject_pki.raw;
    let public = PublicEncryptingKey::from_der(spki)
        .map_err(|_| "the certificate's key is not an RSA key".to_string())?;
    let k = OaepPublicEncryptingKey::new(public).map_err(|_| "unusable RSA key".to_string())?;
    if plain.len() > k.max_plaintext_size(&OAEP_SHA1_MGF1SHA1) {
        return Err(format!(
            "too long for one RSA block ({} bytes at most)",
            k.max_plaintext_size(&OAEP_SHA1_MGF1SHA1)
        ));
    }
    let mut out = vec![0u8; k.ciphertext_size()];
    let c = k
        .encrypt(&OAEP_SHA1_MGF1SHA1, plain.as_bytes(), &mut out, None)
        .map_err(|_| "encryption failed".to_string())?;
    Ok(base64::engine::general_purpose::STANDARD.encode(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keystore::{Keystore, StoreType};

    fn key() -> KeyEntry {
        let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/security/server.jks");
        Keystore::read(&p, StoreType::Jks, "wso2carbon")
            .unwrap()
            .key(Some("wso2carbon"), "wso2carbon")
            .unwrap()
    }

    #[test]
    fn what_encrypt_writes_decrypts() {
        let k = key();
        let c = encrypt(&k.certs[0], "s3cr3t-ü").unwrap();
        assert!(!c.contains("s3cr3t"));
        let raw = BTreeMap::from([("db".to_string(), c)]);
        let s = Secrets::decrypt(&raw, Some(&k), false).unwrap();
        assert_eq!(s.get("db"), Some("s3cr3t-ü"));
        assert_eq!(format!("{s:?}"), "{\"db\"}");
    }

    #[test]
    fn a_self_contained_ciphertext_decrypts_by_its_transformation() {
        // The securevault library's self-contained form: base64 of {"c", "t", "tp", "tpd"}.
        let k = key();
        let e = base64::engine::general_purpose::STANDARD;
        let bare = encrypt(&k.certs[0], "wrapped").unwrap();
        let json = format!(
            r#"{{"c":"{bare}","t":"RSA/ECB/OAEPwithSHA1andMGF1Padding","tp":"00","tpd":"SHA-1"}}"#
        );
        let raw = BTreeMap::from([("w".to_string(), e.encode(json))]);
        let s = Secrets::decrypt(&raw, Some(&k), false).unwrap();
        assert_eq!(s.get("w"), Some("wrapped"));
    }

    #[test]
    fn a_bare_rsa_block_decrypts_with_either_padding() {
        let k = key();
        let (_, parsed) = x509_parser::parse_x509_certificate(k.certs[0].as_ref()).unwrap();
        let public = PublicEncryptingKey::from_der(parsed.tbs_certificate.subject_pki.raw).unwrap();
        let e = base64::engine::general_purpose::STANDARD;
        let p1 = aws_lc_rs::rsa::Pkcs1PublicEncryptingKey::new(public.clone()).unwrap();
        let mut out = vec![0u8; p1.ciphertext_size()];
        let c1 = e.encode(p1.encrypt(b"one", &mut out).unwrap());
        let oa = OaepPublicEncryptingKey::new(public).unwrap();
        let mut out = vec![0u8; oa.ciphertext_size()];
        let c2 = e.encode(
            oa.encrypt(&OAEP_SHA1_MGF1SHA1, b"two", &mut out, None)
                .unwrap(),
        );
        let raw = BTreeMap::from([("a".to_string(), c1), ("b".to_string(), c2)]);
        let s = Secrets::decrypt(&raw, Some(&k), false).unwrap();
        assert_eq!((s.get("a"), s.get("b")), (Some("one"), Some("two")));
    }

    #[test]
    fn plain_text_is_refused_unless_allowed() {
        let raw = BTreeMap::from([("pw".to_string(), "[hunter2]".to_string())]);
        let e = Secrets::decrypt(&raw, None, false).unwrap_err();
        assert!(e.contains("pw") && !e.contains("hunter2"), "{e}");
        let s = Secrets::decrypt(&raw, None, true).unwrap();
        assert_eq!(s.get("pw"), Some("hunter2"));
    }

    #[test]
    fn garbage_names_the_alias_not_the_value() {
        let k = key();
        let raw = BTreeMap::from([("x".to_string(), "bm90IGEgY2lwaGVy".to_string())]);
        let e = Secrets::decrypt(&raw, Some(&k), false).unwrap_err();
        assert!(e.starts_with("[secrets] x:"), "{e}");
    }
}
