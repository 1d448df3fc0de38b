//! WSO2's own configuration drops in (issue 14 item 2): MI's stock `conf/deployment.toml`
//! (`tests/data/mi/deployment.toml`, copied from wso2/micro-integrator
//! `distribution/src/conf/deployment.toml`) starts mint with warnings only, and `check --strict`
//! names what mint does not honour.

#![allow(clippy::disallowed_methods)]

mod common;

use common::*;

fn stock_home(name: &str) -> TempHome {
    let home = TempHome::new(name);
    home.file(
        "conf/deployment.toml",
        &std::fs::read_to_string(data("mi/deployment.toml")).unwrap(),
    );
    home.artifact("api", "hello.xml", HELLO_API);
    home
}

#[test]
fn mi_stock_deployment_toml_starts_with_warnings_only() {
    let home = stock_home("stock");
    let out = check_command(&home.root).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // Line numbers are the stock file's (two comment lines of ours come first).
    for expected in [
        "deployment.toml:10:11: warning: [keystore.primary]: MI's default repository/resources/security/wso2carbon.jks is not in this home",
        "deployment.toml:16:2: warning: [truststore]: MI's default repository/resources/security/client-truststore.jks is not in this home",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let strict = check_command(&home.root).arg("--strict").output().unwrap();
    assert_eq!(strict.status.code(), Some(65));

    let m = start_mint(&home.root, 1);
    let r = request(m.http, "GET", "/hello", &[], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
}

#[test]
fn mi_unquoted_synapse_keys_and_server_keys_are_read_or_reported() {
    let home = stock_home("mediation");
    home.file(
        "conf/deployment.toml",
        "[server]\nhostname = \"localhost\"\nnode_ip = \"127.0.0.1\"\n\n[mediation]\nsynapse.global_timeout_interval = \"5000\"\nsynapse.enable_auto_primitive = false\nsynapse.core_threads = 20\n\n[internal_apis]\nfile_user_store.enable = true\n",
    );
    let out = check_command(&home.root).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("deployment.toml:3:1: warning: 'server.node_ip'"),
        "{err}"
    );
    assert!(
        err.contains("deployment.toml:8:1: warning: 'mediation.synapse.core_threads'"),
        "{err}"
    );
    assert!(err.contains("[internal_apis]"), "{err}");
    // A typo in a section mint knows is still an error with its position.
    home.file("conf/deployment.toml", "[server]\nofset = 3\n");
    let out = check_command(&home.root).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("deployment.toml:2:1"));
    // Global handlers may guard access: not started without them.
    home.file(
        "conf/deployment.toml",
        "[[synapse_handlers]]\nname = \"auth\"\nclass = \"com.example.Auth\"\n",
    );
    let out = check_command(&home.root).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
}
