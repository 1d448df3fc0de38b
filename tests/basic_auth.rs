//! MI's basic-auth API handler against a real LDAP directory: Debian's `slapd`, started by the test
//! on 127.0.0.1 with its own database. Behaviour from wso2/micro-integrator
//! `components/org.wso2.micro.integrator.security/src/main/java/org/wso2/micro/integrator/security/handler/RESTBasicAuthHandler.java`
//! (401 without `Authorization`, 403 for credentials the store does not accept) and Carbon's
//! `ReadOnlyLDAPUserStoreManager` (search the user's DN with the service account, bind as it).

#![allow(clippy::disallowed_methods)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use common::*;

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";

/// A slapd on 127.0.0.1 with `dc=wso2,dc=org`, the service account `cn=admin,dc=wso2,dc=org`
/// (password `admin`) and the users alice (`alice-secret`) and bob (`bob-secret`).
struct Directory {
    proc: Option<Proc>,
    port: u16,
    dir: std::path::PathBuf,
}

impl Directory {
    fn start() -> Directory {
        assert!(
            std::path::Path::new(SLAPD).exists(),
            "slapd is needed for this test (.ci/run installs Debian's slapd)"
        );
        let dir = std::env::temp_dir().join(format!(
            "mint-ldap-{}-{}",
            std::process::id(),
            next_offset()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("db")).unwrap();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\ninclude /etc/ldap/schema/inetorgperson.schema\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {d}/slapd.pid\ndatabase mdb\nmaxsize 10485760\nsuffix \"dc=wso2,dc=org\"\nrootdn \"cn=admin,dc=wso2,dc=org\"\nrootpw admin\ndirectory {d}/db\n",
            d = dir.display()
        );
        std::fs::write(dir.join("slapd.conf"), conf).unwrap();
        let mut ldif = String::from("dn: dc=wso2,dc=org\nobjectClass: dcObject\nobjectClass: organization\no: wso2\ndc: wso2\n\ndn: ou=Users,dc=wso2,dc=org\nobjectClass: organizationalUnit\nou: Users\n");
        for (uid, pw) in [("alice", "alice-secret"), ("bob", "bob-secret")] {
            ldif.push_str(&format!("\ndn: uid={uid},ou=Users,dc=wso2,dc=org\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nuserPassword: {pw}\n"));
        }
        std::fs::write(dir.join("data.ldif"), ldif).unwrap();
        let out = Command::new(SLAPADD)
            .arg("-f")
            .arg(dir.join("slapd.conf"))
            .arg("-l")
            .arg(dir.join("data.ldif"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(dir.join("slapd.conf"))
            .args(["-h", &format!("ldap://127.0.0.1:{port}/"), "-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let proc = Proc { child };
        assert!(
            wait_port(port, Duration::from_secs(10)),
            "slapd did not start"
        );
        Directory {
            proc: Some(proc),
            port,
            dir,
        }
    }

    fn stop(&mut self) {
        self.proc = None;
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        self.proc = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[test]
fn an_api_with_the_basic_auth_handler_admits_only_ldap_users() {
    let mut ldap = Directory::start();
    let home = TempHome::new("basicauth");
    home.file(
        "conf/deployment.toml",
        &format!(
            r#"
[user_store]
type = "read_only_ldap"
class = "org.wso2.micro.integrator.security.user.core.ldap.ReadOnlyLDAPUserStoreManager"
connection_url = "ldap://127.0.0.1:{}"
connection_name = "cn=admin,dc=wso2,dc=org"
connection_password = "admin"
user_search_base = "ou=Users,dc=wso2,dc=org"
user_name_attribute = "uid"
user_name_search_filter = "(&amp;(objectClass=person)(uid=?))"
read_groups = false
"#,
            ldap.port
        ),
    );
    home.artifact(
        "api",
        "secured.xml",
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="Secured" context="/secured">
  <resource methods="GET" uri-template="/"><inSequence>
    <payloadFactory media-type="json"><format>{"hello":"$1"}</format><args><arg expression="$trp:X-Who"/></args></payloadFactory>
    <respond/>
  </inSequence></resource>
  <handlers>
    <handler class="org.wso2.micro.integrator.security.handler.RESTBasicAuthHandler"/>
  </handlers>
</api>"#,
    );
    // `read_groups` is MI's and unused by mint: a warning, not an error.
    let check = check_command(&home.root).output().unwrap();
    let err = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(0), "{err}");
    assert!(err.contains("user_store.read_groups"), "{err}");

    let m = start_mint(&home.root, 1);
    let get = |auth: Option<&str>| {
        let mut h = vec![("X-Who", "caller")];
        if let Some(a) = auth {
            h.push(("Authorization", a));
        }
        request(m.http, "GET", "/secured", &h, b"")
    };
    let r = get(None);
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"WSO2 EI\"")
    );
    assert!(r.body.is_empty());
    for wrong in [
        basic("alice", "bob-secret"),
        basic("mallory", "alice-secret"),
        basic("alice", ""),
        basic("al*", "alice-secret"),
        "Basic not-base64!".to_string(),
        "Bearer abc".to_string(),
    ] {
        let r = get(Some(&wrong));
        assert_eq!(r.status, 403, "{wrong}: {r:?}");
        assert!(r.body.is_empty());
    }
    let r = get(Some(&basic("alice", "alice-secret")));
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, r#"{"hello":"caller"}"#)
    );
    // Handlers run before the API's own dispatch: an unknown path or a preflight is not answered
    // to a stranger (MI's API.process runs the handlers first).
    let r = request(m.http, "GET", "/secured/elsewhere", &[], b"");
    assert_eq!(r.status, 401, "{r:?}");
    let r = request(
        m.http,
        "OPTIONS",
        "/secured",
        &[("Origin", "https://x.example")],
        b"",
    );
    assert_eq!(r.status, 401, "{r:?}");
    let alice = basic("alice", "alice-secret");
    let r = request(
        m.http,
        "GET",
        "/secured/elsewhere",
        &[("Authorization", alice.as_str())],
        b"",
    );
    assert_eq!(r.status, 404, "{r:?}");
    let r = get(Some(&basic("bob", "bob-secret")));
    assert_eq!(r.status, 200);

    // The directory goes away: nobody gets in (never 200), and mint keeps serving.
    ldap.stop();
    let r = get(Some(&basic("alice", "alice-secret")));
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(get(None).status, 401);
}
