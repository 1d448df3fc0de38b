//! MI's basic-auth API handler against a JDBC user store on a real PostgreSQL (a private server
//! from Debian's packages), with MI's table layout
//! (wso2/micro-integrator `distribution/src/dbscripts/postgres/postgresql_user.sql`) and MI's
//! password rule (`components/org.wso2.micro.integrator.security/src/main/java/org/wso2/micro/integrator/security/user/core/jdbc/JDBCUserStoreManager.java`,
//! `doAuthenticate`/`preparePassword`): Base64(SHA-256(password + salt)), tenant -1234, names
//! compared case-insensitively, the password trimmed, a required change older than 24 hours
//! refused. The stored hashes are made by PostgreSQL's own `sha256`, not by mint.

#![allow(clippy::disallowed_methods)]

mod common;

use base64::Engine as _;
use common::postgres::Postgres;
use common::*;

const MI_USER_TABLE: &str = "CREATE SEQUENCE UM_USER_PK_SEQ;
CREATE TABLE UM_USER ( UM_ID INTEGER DEFAULT NEXTVAL('UM_USER_PK_SEQ'), UM_USER_ID VARCHAR(255) NOT NULL,
  UM_USER_NAME VARCHAR(255) NOT NULL, UM_USER_PASSWORD VARCHAR(255) NOT NULL, UM_SALT_VALUE VARCHAR(31),
  UM_REQUIRE_CHANGE BOOLEAN DEFAULT FALSE, UM_CHANGED_TIME TIMESTAMP NOT NULL, UM_TENANT_ID INTEGER DEFAULT 0,
  PRIMARY KEY (UM_ID, UM_TENANT_ID), UNIQUE(UM_USER_ID, UM_TENANT_ID));";

/// An `INSERT` of a user as MI's store writes one (salted SHA-256, Base64).
fn user(
    name: &str,
    password: &str,
    salt: &str,
    tenant: i32,
    require_change: bool,
    changed: &str,
) -> String {
    format!(
        "INSERT INTO UM_USER (UM_USER_ID, UM_USER_NAME, UM_USER_PASSWORD, UM_SALT_VALUE, UM_REQUIRE_CHANGE, UM_CHANGED_TIME, UM_TENANT_ID) \
         VALUES ('{name}-id', '{name}', encode(sha256(convert_to('{password}' || '{salt}', 'UTF8')), 'base64'), '{salt}', {require_change}, {changed}, {tenant});"
    )
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

const API: &str = r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Secured" context="/secured">
  <resource methods="GET" uri-template="/"><inSequence>
    <payloadFactory media-type="json"><format>{"hello":"$1"}</format><args><arg expression="$trp:X-Who"/></args></payloadFactory>
    <respond/>
  </inSequence></resource>
  <handlers>
    <handler class="org.wso2.micro.integrator.security.handler.RESTBasicAuthHandler"/>
  </handlers>
</api>"#;

#[test]
fn an_api_with_the_basic_auth_handler_admits_only_users_of_the_database() {
    let mut pg = Postgres::start();
    pg.psql(MI_USER_TABLE);
    let salt = "c2FsdC1mb3ItdGhlLXRlc3Q=";
    for sql in [
        user(
            "alice",
            "alice-secret",
            salt,
            -1234,
            false,
            "LOCALTIMESTAMP",
        ),
        // A change required, asked for two days ago: refused; an hour ago: still admitted.
        user(
            "bob",
            "bob-secret",
            salt,
            -1234,
            true,
            "LOCALTIMESTAMP - INTERVAL '2 days'",
        ),
        user(
            "carol",
            "carol-secret",
            salt,
            -1234,
            true,
            "LOCALTIMESTAMP - INTERVAL '1 hour'",
        ),
        // Another tenant's row (MI's script defaults UM_TENANT_ID to 0): not the super tenant's.
        user("dave", "dave-secret", salt, 0, false, "LOCALTIMESTAMP"),
    ] {
        pg.psql(&sql);
    }
    let home = TempHome::new("basicauth-jdbc");
    home.file(
        "conf/deployment.toml",
        &format!(
            r#"
[[datasource]]
id = "WSO2CarbonDB"
url = "{}"
username = "mint"
password = "unused-with-trust"
driver = "org.postgresql.Driver"
pool_options.maxActive = 50

[user_store]
class = "org.wso2.micro.integrator.security.user.core.jdbc.JDBCUserStoreManager"
type = "database"
read_only = true
"#,
            pg.jdbc_url()
        ),
    );
    home.artifact("api", "secured.xml", API);
    // The pool settings are MI's and unused by mint: a warning, not an error.
    let check = check_command(&home.root).output().unwrap();
    let err = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(0), "{err}");
    assert!(err.contains("datasource.pool_options"), "{err}");

    let m = start_mint(&home.root, 1);
    let get = |auth: Option<&str>| {
        let mut h = vec![("X-Who", "caller")];
        if let Some(a) = auth {
            h.push(("Authorization", a));
        }
        request(m.http, "GET", "/secured", &h, b"")
    };
    assert_eq!(get(None).status, 401);
    for good in [
        basic("alice", "alice-secret"),
        basic("ALICE", "alice-secret"),
        basic("alice", " alice-secret "),
        basic("carol", "carol-secret"),
    ] {
        let r = get(Some(&good));
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, r#"{"hello":"caller"}"#),
            "{good}"
        );
    }
    for wrong in [
        basic("alice", "bob-secret"),
        basic("alice", ""),
        basic("mallory", "alice-secret"),
        basic("bob", "bob-secret"),
        basic("dave", "dave-secret"),
        basic("wso2.system.user", "alice-secret"),
        basic("alice' OR '1'='1", "alice-secret"),
    ] {
        let r = get(Some(&wrong));
        assert_eq!(r.status, 403, "{wrong}: {r:?}");
        assert!(r.body.is_empty());
    }

    // The database goes away: nobody gets in (never 200), and mint keeps serving; back again,
    // the store is used again.
    pg.stop();
    assert_eq!(get(Some(&basic("alice", "alice-secret"))).status, 403);
    assert_eq!(get(None).status, 401);
    pg.start_again();
    let ok = eventually(std::time::Duration::from_secs(10), || {
        get(Some(&basic("alice", "alice-secret"))).status == 200
    });
    assert!(
        ok,
        "the store was not used again after the database came back"
    );
}

#[test]
fn a_database_store_without_its_datasource_stops_a_home_that_needs_it() {
    let home = TempHome::new("basicauth-jdbc-missing");
    home.file(
        "conf/deployment.toml",
        "[user_store]\ntype = \"database\"\n\n[realm_manager]\ndata_source = \"UsersDB\"\n",
    );
    home.artifact("api", "secured.xml", API);
    let check = check_command(&home.root).output().unwrap();
    let err = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(64), "{err}");
    assert!(err.contains("'UsersDB'"), "{err}");
}
