//! Carbon's `ReadOnlyLDAPUserStoreManager` as MI's basic-auth handler uses it: the username must
//! match `username_java_regex`; the service account (`connection_name`) searches
//! `user_search_base` with `user_name_search_filter` (`?` = the escaped username) for the user's
//! DN; a bind as that DN with the password decides.

use std::time::Duration;

use crate::config::userstore::UserStoreSettings;

/// What a worker needs to authenticate.
#[derive(Debug, Clone)]
pub struct LdapConfig {
    pub url: String,
    pub connection_name: String,
    pub connection_password: String,
    pub anonymous_bind: bool,
    pub user_search_base: String,
    pub user_name_search_filter: String,
    pub username_regex: Option<regex::Regex>,
    pub timeout: Duration,
}

impl LdapConfig {
    pub fn from_settings(s: &UserStoreSettings) -> Result<LdapConfig, String> {
        let username_regex = match s.username_regex().as_str() {
            "" => None,
            r => Some(
                regex::Regex::new(&format!("^(?:{r})$"))
                    .map_err(|e| format!("[user_store] username_java_regex: {e}"))?,
            ),
        };
        Ok(LdapConfig {
            url: s.connection_url.clone(),
            connection_name: s.connection_name.clone(),
            connection_password: s.connection_password.clone(),
            anonymous_bind: s.anonymous_bind,
            user_search_base: s.user_search_base.clone(),
            user_name_search_filter: xml_unescape(&s.user_name_search_filter),
            username_regex,
            timeout: Duration::from_millis(s.ldap_connection_timeout.max(1)),
        })
    }
}

/// MI writes the filters as they go into its XML configuration (`(&amp;(objectClass=person)…`).
fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn connect(cfg: &LdapConfig) -> Result<ldap3::LdapConn, String> {
    let settings = ldap3::LdapConnSettings::new().set_conn_timeout(cfg.timeout);
    ldap3::LdapConn::with_settings(settings, &cfg.url)
        .map_err(|e| format!("cannot reach {}: {e}", cfg.url))
}

pub(super) fn authenticate(
    cfg: &LdapConfig,
    conn: &mut Option<ldap3::LdapConn>,
    user: &str,
    password: &str,
) -> Result<bool, String> {
    if let Some(re) = &cfg.username_regex {
        if !re.is_match(user) {
            return Ok(false);
        }
    }
    // An empty password would be an anonymous ("unauthenticated") bind that LDAP accepts.
    if password.is_empty() {
        return Ok(false);
    }
    if conn.is_none() {
        *conn = Some(connect(cfg)?);
    }
    let c = conn.as_mut().expect("connected above");
    c.with_timeout(cfg.timeout);
    if !cfg.anonymous_bind {
        c.simple_bind(&cfg.connection_name, &cfg.connection_password)
            .and_then(|r| r.success())
            .map_err(|e| format!("the service account cannot bind: {e}"))?;
    }
    let filter = cfg
        .user_name_search_filter
        .replace('?', &ldap3::ldap_escape(user));
    c.with_timeout(cfg.timeout);
    let (entries, _) = c
        .search(
            &cfg.user_search_base,
            ldap3::Scope::Subtree,
            &filter,
            vec!["1.1"],
        )
        .and_then(|r| r.success())
        .map_err(|e| format!("user search failed: {e}"))?;
    let [entry] = entries.as_slice() else {
        // No such user, or an ambiguous name: not authenticated.
        return Ok(false);
    };
    let dn = ldap3::SearchEntry::construct(entry.clone()).dn;
    // A separate connection for the user's bind, so that the service connection keeps its identity.
    let mut user_conn = connect(cfg)?;
    user_conn.with_timeout(cfg.timeout);
    let bound = user_conn
        .simple_bind(&dn, password)
        .map_err(|e| format!("bind failed: {e}"))?;
    let _ = user_conn.unbind();
    match bound.rc {
        0 => Ok(true),
        49 => Ok(false), // invalidCredentials
        rc => Err(format!("bind as {dn} answered {rc}: {}", bound.text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mi_filters_are_unescaped_and_the_username_regex_is_whole() {
        let s = UserStoreSettings::default();
        let c = LdapConfig::from_settings(&s).unwrap();
        assert_eq!(c.user_name_search_filter, "(&(objectClass=person)(uid=?))");
        let re = c.username_regex.unwrap();
        assert!(re.is_match("alice") && !re.is_match("al") && !re.is_match("a b c d"));
    }
}
