//! `[user_store]`: MI's user store for API basic authentication, with MI's key names and the
//! defaults of wso2/micro-integrator `distribution/src/resources/config-tool/infer.json` for
//! `read_only_ldap` (the type MI infers when none is given).

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserStoreType {
    #[default]
    ReadOnlyLdap,
    ReadWriteLdap,
    /// JDBC (`database`): not implemented by mint; APIs that need it refuse every request.
    Database,
    /// `database_unique_id`, MI's other JDBC flavour; likewise.
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
    pub username_java_regex: Option<String>,
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
            username_java_regex: Some("[a-zA-Z0-9._\\-|//]{3,30}$".into()),
            ldap_connection_timeout: 5000,
            other: toml::Table::new(),
        }
    }
}

impl UserStoreSettings {
    /// The MI keys given that mint does not act on (`class` is implied by `type`).
    pub fn unhonoured(&self) -> Vec<String> {
        self.other
            .keys()
            .filter(|k| k.as_str() != "class")
            .map(|k| format!("user_store.{k}"))
            .collect()
    }
}
