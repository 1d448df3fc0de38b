//! MI's JDBC user store (`[user_store] type = "database"`) on PostgreSQL, as
//! wso2/micro-integrator `components/org.wso2.micro.integrator.security/src/main/java/org/wso2/micro/integrator/security/user/core/jdbc/JDBCUserStoreManager.java`
//! `doAuthenticate` runs it:
//! - the password is trimmed (`util/Secret.java`, `EnablePasswordTrim` on by default) and must
//!   match `PasswordJavaRegEx` whole; the username, trimmed for the check only, must match
//!   `UsernameJavaRegEx` whole and not be `wso2.system.user`;
//! - `SELECT … FROM UM_USER WHERE LOWER(UM_USER_NAME)=LOWER(?) AND UM_TENANT_ID=?` (the exact
//!   name when `CaseInsensitiveUsername` is false), tenant -1234 (the super tenant MI creates its
//!   store for); the first row decides;
//! - a row with `UM_REQUIRE_CHANGE` set and `UM_CHANGED_TIME` more than 24 hours ago fails;
//! - the stored `UM_USER_PASSWORD` must equal Base64(digest(password + UM_SALT_VALUE)) with
//!   `PasswordDigest` (default SHA-256; the salt only when `StoreSaltedPassword`, default true;
//!   `PLAIN_TEXT`: password + salt as they are).
//!
//! Table layout: `distribution/src/dbscripts/postgres/postgresql_user.sql`. Blocking I/O: runs on
//! the user store's worker threads, each with its own connection (opened on first use, again
//! after a failure).

use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine as _;

use crate::config::jdbc::PgTarget;
use crate::config::userstore::{DatasourceSettings, UserStoreSettings};

/// MI's super tenant, the one its user store manager is created for.
const SUPER_TENANT_ID: i32 = -1234;
/// A name MI refuses to authenticate (`CarbonConstants.REGISTRY_SYSTEM_USERNAME`).
const SYSTEM_USER: &str = "wso2.system.user";

/// How stored passwords are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Plain,
    Sha(&'static digest::Algorithm),
}

impl Digest {
    /// A Java `MessageDigest` name (case-insensitive, with Java's aliases), or `PLAIN_TEXT`.
    pub fn from_name(name: &str) -> Result<Digest, String> {
        let n = name.trim().to_ascii_uppercase();
        Ok(match n.as_str() {
            "PLAIN_TEXT" => Digest::Plain,
            "SHA" | "SHA1" | "SHA-1" => Digest::Sha(&digest::SHA1_FOR_LEGACY_USE_ONLY),
            "SHA-224" | "SHA224" => Digest::Sha(&digest::SHA224),
            "SHA-256" | "SHA256" => Digest::Sha(&digest::SHA256),
            "SHA-384" | "SHA384" => Digest::Sha(&digest::SHA384),
            "SHA-512" | "SHA512" => Digest::Sha(&digest::SHA512),
            "SHA-512/256" => Digest::Sha(&digest::SHA512_256),
            _ => {
                return Err(format!(
                    "[user_store] password_digest '{name}' is not supported by mint (PLAIN_TEXT, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/256)"
                ))
            }
        })
    }

    /// What MI stores for `password` with `salt`.
    pub fn prepare(self, password: &str, salt: Option<&str>) -> String {
        let mut text = String::with_capacity(password.len() + 32);
        text.push_str(password);
        text.push_str(salt.unwrap_or_default());
        match self {
            Digest::Plain => text,
            Digest::Sha(alg) => base64::engine::general_purpose::STANDARD
                .encode(digest::digest(alg, text.as_bytes()).as_ref()),
        }
    }
}

/// Where the store is and how it checks passwords.
#[derive(Debug, Clone)]
pub struct JdbcConfig {
    pub target: PgTarget,
    pub user: String,
    pub password: String,
    pub digest: Digest,
    pub salted: bool,
    pub case_insensitive: bool,
    pub username_regex: regex::Regex,
    pub password_regex: regex::Regex,
    pub timeout: Duration,
}

/// A Java regex that must match the whole input (`Matcher.matches`).
fn whole(re: &str, key: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&format!("^(?:{re})$")).map_err(|e| format!("[user_store] {key}: {e}"))
}

impl JdbcConfig {
    /// From `[user_store]` and the datasource `[realm_manager] data_source` names.
    pub fn from_settings(
        s: &UserStoreSettings,
        datasources: &[DatasourceSettings],
        data_source: &str,
    ) -> Result<JdbcConfig, String> {
        let ds = datasources
            .iter()
            .find(|d| d.id == data_source)
            .ok_or_else(|| {
                format!(
                    "[user_store] type \"database\" reads the datasource '{data_source}' ([realm_manager] data_source), and no [[datasource]] has that id"
                )
            })?;
        let target = PgTarget::from_url(&ds.url).map_err(|e| {
            format!(
                "[[datasource]] '{}': {e}; mint's JDBC user store runs on PostgreSQL",
                ds.id
            )
        })?;
        Ok(JdbcConfig {
            target,
            user: ds.username.clone(),
            password: ds.password.clone(),
            digest: Digest::from_name(&s.password_digest())?,
            salted: s.store_salted_password(),
            case_insensitive: s.case_insensitive_username(),
            username_regex: whole(&s.username_regex(), "username_java_regex")?,
            password_regex: whole(&s.password_regex(), "password_java_regex")?,
            timeout: Duration::from_millis(s.ldap_connection_timeout.max(1)),
        })
    }
}

fn connect(cfg: &JdbcConfig) -> Result<postgres::Client, String> {
    let t = &cfg.target;
    let timeout_ms = cfg.timeout.as_millis().max(1);
    postgres::Config::new()
        .host(&t.host)
        .port(t.port)
        .dbname(&t.database)
        .user(&cfg.user)
        .password(&cfg.password)
        .connect_timeout(cfg.timeout)
        .options(&format!("-c statement_timeout={timeout_ms}"))
        .keepalives(true)
        .connect(postgres::NoTls)
        .map_err(|e| format!("cannot connect to PostgreSQL at {}: {e}", t.describe()))
}

/// Java's `String.trim`: every char up to U+0020 off both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

pub(super) fn authenticate(
    cfg: &JdbcConfig,
    conn: &mut Option<postgres::Client>,
    user: &str,
    password: &str,
) -> Result<bool, String> {
    let password = java_trim(password);
    let checked = java_trim(user);
    if checked == SYSTEM_USER || !cfg.username_regex.is_match(checked) {
        return Ok(false);
    }
    if password.is_empty() || !cfg.password_regex.is_match(password) {
        return Ok(false);
    }
    if conn.is_none() {
        *conn = Some(connect(cfg)?);
    }
    let client = conn.as_mut().expect("connected above");
    let name_test = if cfg.case_insensitive {
        "LOWER(UM_USER_NAME)=LOWER($1)"
    } else {
        "UM_USER_NAME=$1"
    };
    let sql = format!(
        "SELECT UM_USER_PASSWORD, UM_SALT_VALUE, \
         COALESCE(UM_REQUIRE_CHANGE AND UM_CHANGED_TIME < LOCALTIMESTAMP - INTERVAL '24 hours', false) \
         FROM UM_USER WHERE {name_test} AND UM_TENANT_ID=$2 LIMIT 1"
    );
    let rows = client
        .query(sql.as_str(), &[&user, &SUPER_TENANT_ID])
        .map_err(|e| format!("user query failed: {e}"))?;
    let Some(row) = rows.first() else {
        return Ok(false);
    };
    let stored: String = row
        .try_get(0)
        .map_err(|e| format!("UM_USER_PASSWORD: {e}"))?;
    let salt: Option<String> = row.try_get(1).map_err(|e| format!("UM_SALT_VALUE: {e}"))?;
    let expired: bool = row
        .try_get(2)
        .map_err(|e| format!("UM_REQUIRE_CHANGE: {e}"))?;
    if expired {
        return Ok(false);
    }
    let salt = if cfg.salted { salt.as_deref() } else { None };
    Ok(stored == cfg.digest.prepare(password, salt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_prepared_as_mi_stores_them() {
        // Base64(SHA-256("admin" + "salt")), as `JDBCUserStoreManager.preparePassword` makes it.
        let d = Digest::from_name("sha-256").unwrap();
        let want = base64::engine::general_purpose::STANDARD
            .encode(digest::digest(&digest::SHA256, b"adminc2FsdA==").as_ref());
        assert_eq!(d.prepare("admin", Some("c2FsdA==")), want);
        assert_eq!(
            Digest::from_name("PLAIN_TEXT")
                .unwrap()
                .prepare("pw", Some("s")),
            "pws"
        );
        assert_eq!(
            Digest::from_name("SHA").unwrap(),
            Digest::from_name("SHA-1").unwrap()
        );
        assert!(Digest::from_name("MD5").is_err());
    }

    #[test]
    fn mi_defaults_for_a_database_store() {
        let s = UserStoreSettings {
            kind: crate::config::userstore::UserStoreType::Database,
            ..UserStoreSettings::default()
        };
        let ds = DatasourceSettings {
            id: "WSO2CarbonDB".into(),
            url: "jdbc:postgresql://127.0.0.1:5432/userdb".into(),
            ..Default::default()
        };
        let c = JdbcConfig::from_settings(&s, std::slice::from_ref(&ds), "WSO2CarbonDB").unwrap();
        assert_eq!(c.digest, Digest::Sha(&digest::SHA256));
        assert!(c.salted && c.case_insensitive);
        assert!(c.username_regex.is_match("alice") && !c.username_regex.is_match("al"));
        assert!(!c.username_regex.is_match("a b c"));
        assert!(c.password_regex.is_match("secret") && !c.password_regex.is_match("four"));
        assert!(!c.password_regex.is_match(&"x".repeat(31)));
        let e = JdbcConfig::from_settings(&s, &[ds], "Other").unwrap_err();
        assert!(e.contains("'Other'"), "{e}");
        assert_eq!(java_trim(" \tpw\n"), "pw");
    }
}
