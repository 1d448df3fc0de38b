//! `[user_store]`: MI's user store for API basic authentication, with MI's key names and the
//! defaults of wso2/micro-integrator `distribution/src/resources/config-tool/infer.json` for
//! `read_only_ldap` (the type MI infers when none is given) and `database`; `[[datasource]]` and
//! `[realm_manager] data_source` name the database of a JDBC store
//! (`config-tool/templates/conf/user-mgt.xml.j2`, `…/datasources/master-datasources.xml.j2`,
//! `default.json`: `WSO2CarbonDB`).

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserStoreType {
    #[default]
    ReadOnlyLdap,
    ReadWriteLdap,
    /// JDBC (`database`), on PostgreSQL.
    Database,
    /// `database_unique_id`: not an MI type (MI has no unique-id JDBC manager); refused at start.
    DatabaseUniqueId,
}

#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct UserStoreSettings {
    #[serde(rename = "type")]
    pub kind: UserStoreType,
    pub connection_url: String,
    pub connection_name: String,
    pub connection_password: String,
    pub anonymous_bind: bool,
    pub user_search_base: String,
    /// As MI writes it, XML-escaped (`(&amp;(objectClass=person)(uid=?))`).
    pub user_name_search_filter: String,
    /// Default by type: `[a-zA-Z0-9._\-|//]{3,30}$` (LDAP), `^[\S]{3,30}$` (database).
    pub username_java_regex: Option<String>,
    /// JDBC: default `^[\S]{5,30}$`.
    pub password_java_regex: Option<String>,
    /// JDBC: the Java `MessageDigest` name of the stored passwords, or `PLAIN_TEXT`. Default
    /// `SHA-256`.
    pub password_digest: Option<String>,
    /// JDBC: whether `UM_SALT_VALUE` is appended before digesting. Default true.
    pub store_salted_password: Option<bool>,
    /// JDBC: `LOWER(UM_USER_NAME) = LOWER(?)`. Default true.
    pub case_insensitive_username: Option<bool>,
    /// `[user_store.properties]`: Carbon's property names (`PasswordDigest`, …) for the keys
    /// above; others are warnings.
    pub properties: toml::Table,
    /// Connect and operation timeout, in ms. Default: 5000.
    pub ldap_connection_timeout: u64,
    /// Keys MI documents that mint does not use (groups, SCIM, list limits, …): warnings.
    #[serde(flatten)]
    pub other: toml::Table,
}

impl std::fmt::Debug for UserStoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserStoreSettings")
            .field("type", &self.kind)
            .field("connection_url", &self.connection_url)
            .field("connection_name", &self.connection_name)
            .finish_non_exhaustive()
    }
}

impl Default for UserStoreSettings {
    fn default() -> Self {
        UserStoreSettings {
            kind: UserStoreType::ReadOnlyLdap,
            connection_url: "ldap://localhost:10389".into(),
            connection_name: "uid=admin,ou=system".into(),
            connection_password: "admin".into(),
            anonymous_bind: false,
            user_search_base: "ou=Users,dc=wso2,dc=org".into(),
            user_name_search_filter: "(&amp;(objectClass=person)(uid=?))".into(),
            username_java_regex: None,
            password_java_regex: None,
            password_digest: None,
            store_salted_password: None,
            case_insensitive_username: None,
            properties: toml::Table::new(),
            ldap_connection_timeout: 5000,
            other: toml::Table::new(),
        }
    }
}

/// Carbon's names for the keys mint reads from `[user_store.properties]`.
const PROPERTIES: &[&str] = &[
    "UsernameJavaRegEx",
    "UserNameJavaRegEx",
    "PasswordJavaRegEx",
    "PasswordDigest",
    "StoreSaltedPassword",
    "CaseInsensitiveUsername",
];

impl UserStoreSettings {
    /// The MI keys given that mint does not act on (`class` is implied by `type`; `read_only`
    /// holds whatever it says, since mint never writes to a user store).
    pub fn unhonoured(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .other
            .keys()
            .filter(|k| !matches!(k.as_str(), "class" | "read_only"))
            .map(|k| format!("user_store.{k}"))
            .collect();
        keys.extend(
            self.properties
                .keys()
                .filter(|k| !PROPERTIES.contains(&k.as_str()))
                .map(|k| format!("user_store.properties.{k}")),
        );
        keys
    }

    fn property(&self, name: &str) -> Option<String> {
        self.properties.get(name).map(|v| match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    fn flag(&self, key: Option<bool>, name: &str, default: bool) -> bool {
        key.or_else(|| {
            self.property(name)
                .map(|v| v.trim().eq_ignore_ascii_case("true"))
        })
        .unwrap_or(default)
    }

    /// `username_java_regex` (or `UsernameJavaRegEx`), else the type's default.
    pub fn username_regex(&self) -> String {
        self.username_java_regex
            .clone()
            .or_else(|| self.property("UsernameJavaRegEx"))
            .or_else(|| self.property("UserNameJavaRegEx"))
            .unwrap_or_else(|| match self.kind {
                UserStoreType::ReadOnlyLdap | UserStoreType::ReadWriteLdap => {
                    "[a-zA-Z0-9._\\-|//]{3,30}$".into()
                }
                _ => "^[\\S]{3,30}$".into(),
            })
    }

    /// `password_java_regex` (or `PasswordJavaRegEx`), else MI's `^[\S]{5,30}$`.
    pub fn password_regex(&self) -> String {
        self.password_java_regex
            .clone()
            .or_else(|| self.property("PasswordJavaRegEx"))
            .unwrap_or_else(|| "^[\\S]{5,30}$".into())
    }

    /// `password_digest` (or `PasswordDigest`), else `SHA-256`.
    pub fn password_digest(&self) -> String {
        self.password_digest
            .clone()
            .or_else(|| self.property("PasswordDigest"))
            .unwrap_or_else(|| "SHA-256".into())
    }

    pub fn store_salted_password(&self) -> bool {
        self.flag(self.store_salted_password, "StoreSaltedPassword", true)
    }

    pub fn case_insensitive_username(&self) -> bool {
        self.flag(
            self.case_insensitive_username,
            "CaseInsensitiveUsername",
            true,
        )
    }
}

/// MI's `[[datasource]]`: a JDBC database by id.
#[derive(Clone, Deserialize, Default)]
#[serde(default)]
pub struct DatasourceSettings {
    pub id: String,
    pub url: String,
    pub username: String,
    pub password: String,
    pub driver: String,
    /// `pool_options`, `validation_query`, …: warnings.
    #[serde(flatten)]
    pub other: toml::Table,
}

impl std::fmt::Debug for DatasourceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasourceSettings")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// MI's `[realm_manager]`: which datasource the JDBC user store uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RealmManagerSettings {
    /// Default `WSO2CarbonDB` (MI's `default.json`).
    pub data_source: String,
    #[serde(flatten)]
    pub other: toml::Table,
}

impl Default for RealmManagerSettings {
    fn default() -> Self {
        RealmManagerSettings {
            data_source: "WSO2CarbonDB".into(),
            other: toml::Table::new(),
        }
    }
}
