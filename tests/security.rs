//! Security as MI users configure it in `deployment.toml`: JKS and PKCS#12 keystores, listener TLS
//! options and client certificates, mutual TLS to backends, certificate reload, the secure vault,
//! CORS. Keystores are in `tests/data/security` (made by keytool; `make.sh` regenerates them).
//! Key names from wso2/micro-integrator
//! `distribution/src/resources/config-tool/{deployment-full.toml,default.json,templates/conf/axis2/axis2.xml.j2}`.

#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

fn sec(name: &str) -> std::path::PathBuf {
    data(&format!("security/{name}"))
}

fn copy_in(home: &TempHome, name: &str, rel: &str) {
    let to = home.root.join(rel);
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(sec(name), to).unwrap();
}

fn ca_roots() -> Arc<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(sec("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    Arc::new(roots)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A client trusting the test CA, with a client certificate when `with_cert`, speaking only
/// `versions`.
fn client(
    with_cert: bool,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let b = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(ca_roots());
    Arc::new(if with_cert {
        let certs: Vec<_> = CertificateDer::pem_file_iter(sec("client-cert.pem"))
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
        let key = PrivateKeyDer::from_pem_file(sec("client-key.pem")).unwrap();
        b.with_client_auth_cert(certs, key).unwrap()
    } else {
        b.with_no_client_auth()
    })
}

fn default_client() -> Arc<rustls::ClientConfig> {
    client(false, rustls::DEFAULT_VERSIONS)
}

/// One HTTPS request: (status, head and body text, the server's certificate).
fn https(
    port: u16,
    cfg: Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String, CertificateDer<'static>)> {
    let conn = rustls::ClientConnection::new(cfg, ServerName::try_from("localhost").unwrap())
        .map_err(std::io::Error::other)?;
    let sock = TcpStream::connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Content-Length: 0\r\n\r\n");
    tls.write_all(req.as_bytes())?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => {}
        // A peer that closes without close_notify after a complete answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(e) => return Err(e),
    }
    let cert = tls.conn.peer_certificates().unwrap()[0]
        .clone()
        .into_owned();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {text:?}")))?;
    Ok((status, text, cert))
}

fn pem_cert(name: &str) -> CertificateDer<'static> {
    CertificateDer::pem_file_iter(sec(name))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
}

/// A home with one API (`/hello`) answering `hello` without a backend.
fn hello_home(name: &str, toml: &str) -> TempHome {
    let home = TempHome::new(name);
    home.file("conf/deployment.toml", toml);
    home.artifact("api", "hello.xml", HELLO_API);
    home
}

/// `mint serve` at `info`, its output (stderr and stdout) in `mint.log` in the home; [`stop`]
/// returns it.
fn serve(home: &TempHome) -> Mint {
    let offset = next_offset();
    let log = std::fs::File::create(home.root.join("mint.log")).unwrap();
    let mut cmd = mint_command(&home.root, Some(offset), 1);
    cmd.env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    launch(cmd, offset)
}

/// Stops mint and returns everything it wrote.
fn stop(m: Mint, home: &TempHome) -> String {
    drop(m);
    std::fs::read_to_string(home.root.join("mint.log")).unwrap()
}

#[test]
fn mi_stock_jks_and_a_pkcs12_keystore_serve_https() {
    // MI's stock layout: no [keystore.primary] written, wso2carbon.jks where MI keeps it.
    let home = hello_home("jks", "");
    copy_in(
        &home,
        "server.jks",
        "repository/resources/security/wso2carbon.jks",
    );
    let m = serve(&home);
    let (status, text, cert) = https(m.https, default_client(), "GET", "/hello", &[]).unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("hello"), "{text}");
    assert_eq!(cert, pem_cert("server-cert.pem"));
    let log = stop(m, &home);
    assert!(
        log.contains("wso2carbon.jks"),
        "the log names the certificate: {log}"
    );

    // A PKCS#12 keystore as the listener's ([keystore.tls]), a JKS primary beside it.
    let home = hello_home(
        "p12",
        r#"
[keystore.primary]
file_name = "repository/resources/security/client.jks"
password = "wso2carbon"
alias = "wso2carbon"
key_password = "wso2carbon"

[keystore.tls]
file_name = "repository/resources/security/server.p12"
type = "PKCS12"
password = "wso2carbon"
alias = "wso2carbon"
"#,
    );
    copy_in(
        &home,
        "server.p12",
        "repository/resources/security/server.p12",
    );
    copy_in(
        &home,
        "client.jks",
        "repository/resources/security/client.jks",
    );
    let m = serve(&home);
    let (status, _, cert) = https(m.https, default_client(), "GET", "/hello", &[]).unwrap();
    assert_eq!(status, 200);
    assert_eq!(cert, pem_cert("server-cert.pem"));
    stop(m, &home);
}

#[test]
fn a_wrong_keystore_password_stops_the_start_with_its_file_named() {
    let home = hello_home(
        "badpw",
        "[keystore.primary]\nfile_name = \"repository/resources/security/wso2carbon.jks\"\npassword = \"nope\"\n",
    );
    copy_in(
        &home,
        "server.jks",
        "repository/resources/security/wso2carbon.jks",
    );
    let out = mint_command(&home.root, Some(next_offset()), 1)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(
        err.contains("wso2carbon.jks") && err.contains("password"),
        "{err}"
    );
}

const MUTUAL: &str = r#"
[keystore.primary]
file_name = "repository/resources/security/wso2carbon.jks"
password = "wso2carbon"
alias = "wso2carbon"
key_password = "wso2carbon"

[truststore]
file_name = "repository/resources/security/client-truststore.jks"
password = "wso2carbon"
alias = "symmetric.key.value"
algorithm = "AES"

[transport.http]
listener.verify_client = "VERIFY"
"#;

fn mutual_home(name: &str, verify: &str, extra: &str) -> TempHome {
    let home = hello_home(name, &(MUTUAL.replace("VERIFY", verify) + extra));
    copy_in(
        &home,
        "server.jks",
        "repository/resources/security/wso2carbon.jks",
    );
    copy_in(
        &home,
        "truststore.jks",
        "repository/resources/security/client-truststore.jks",
    );
    home
}

#[test]
fn verify_client_require_refuses_a_client_without_a_certificate() {
    let home = mutual_home("require", "require", "");
    let m = serve(&home);
    let refused = https(m.https, default_client(), "GET", "/hello", &[]);
    assert!(
        refused.is_err(),
        "no certificate must be refused: {refused:?}"
    );
    let (status, _, _) = https(
        m.https,
        client(true, rustls::DEFAULT_VERSIONS),
        "GET",
        "/hello",
        &[],
    )
    .unwrap();
    assert_eq!(status, 200);
    stop(m, &home);

    let home = mutual_home("optional", "optional", "");
    let m = serve(&home);
    assert_eq!(
        https(m.https, default_client(), "GET", "/hello", &[])
            .unwrap()
            .0,
        200
    );
    assert_eq!(
        https(
            m.https,
            client(true, rustls::DEFAULT_VERSIONS),
            "GET",
            "/hello",
            &[]
        )
        .unwrap()
        .0,
        200
    );
    stop(m, &home);
}

/// `openssl s_client` speaking exactly `flag` (`-tls1_1`, …): whether the handshake completed.
fn openssl_handshake(port: u16, flag: &str) -> bool {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), flag])
        .args(["-servername", "localhost", "-CAfile"])
        .arg(sec("ca.pem"))
        .stdin(Stdio::null())
        .output()
        .expect("openssl (the CI script installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    // A completed handshake prints the negotiated cipher; a refused one "Cipher is (NONE)".
    text.contains("Cipher is ") && !text.contains("Cipher is (NONE)")
}

#[test]
fn old_tls_versions_are_refused_and_secured_protocols_narrow_the_rest() {
    let home = hello_home("tlsv", "");
    copy_in(
        &home,
        "server.jks",
        "repository/resources/security/wso2carbon.jks",
    );
    let m = serve(&home);
    assert!(openssl_handshake(m.https, "-tls1_2"), "TLS 1.2 is served");
    assert!(openssl_handshake(m.https, "-tls1_3"), "TLS 1.3 is served");
    assert!(!openssl_handshake(m.https, "-tls1_1"), "TLS 1.1 is refused");
    assert!(!openssl_handshake(m.https, "-tls1"), "TLS 1.0 is refused");
    stop(m, &home);

    // MI's key, with a version mint cannot speak: a warning at its position, and the rest holds.
    let home = hello_home(
        "tls13",
        "[transport.http]\nlistener.secured_protocols = \"TLSv1.1,TLSv1.3\"\n",
    );
    copy_in(
        &home,
        "server.jks",
        "repository/resources/security/wso2carbon.jks",
    );
    let check = check_command(&home.root).output().unwrap();
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(
        err.contains("deployment.toml:2:10: warning:") && err.contains("TLSv1.1"),
        "{err}"
    );
    let m = serve(&home);
    let tls12 = client(false, &[&rustls::version::TLS12]);
    assert!(
        https(m.https, tls12, "GET", "/hello", &[]).is_err(),
        "TLS 1.2 is not listed"
    );
    let tls13 = client(false, &[&rustls::version::TLS13]);
    assert_eq!(https(m.https, tls13, "GET", "/hello", &[]).unwrap().0, 200);
    stop(m, &home);
}

#[test]
fn preferred_ciphers_limit_the_suites() {
    let home = hello_home(
        "ciphers",
        "[transport.http]\nlistener.secured_protocols = \"TLSv1.2\"\nlistener.preferred_ciphers = \"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256\"\n",
    );
    copy_in(
        &home,
        "server.jks",
        "repository/resources/security/wso2carbon.jks",
    );
    let check = check_command(&home.root).output().unwrap();
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(
        err.contains("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 is not available"),
        "{err}"
    );
    let m = serve(&home);
    let conn =
        rustls::ClientConnection::new(default_client(), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let sock = TcpStream::connect(("127.0.0.1", m.https)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    assert_eq!(
        tls.conn.negotiated_cipher_suite().unwrap().suite(),
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    );
    stop(m, &home);
}

/// A backend on 127.0.0.1 answering every request with `200` and a body naming the request line
/// and its `Authorization` header; each request head is also sent on the channel. With `tls`, it
/// speaks TLS with that configuration.
fn recording_backend(tls: Option<Arc<rustls::ServerConfig>>) -> (u16, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let (tx, tls) = (tx.clone(), tls.clone());
            std::thread::spawn(move || {
                s.set_read_timeout(Some(Duration::from_secs(10))).ok();
                match tls {
                    Some(cfg) => {
                        let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                            return;
                        };
                        answer(rustls::StreamOwned::new(conn, s), &tx);
                    }
                    None => answer(s, &tx),
                }
            });
        }
    });
    (port, rx)
}

fn answer<S: Read + Write>(s: S, tx: &mpsc::Sender<String>) {
    let mut r = BufReader::new(s);
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let line = head.lines().next().unwrap_or("").to_string();
        let auth = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("authorization")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        let _ = tx.send(head);
        let text = format!("{line} | {auth}");
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        let s = r.get_mut();
        if s.write_all(resp.as_bytes()).is_err() || s.flush().is_err() {
            return;
        }
    }
}

/// The backend's TLS: the `localhost` certificate, client certificates required (test CA).
fn backend_tls_requiring_client_certs() -> Arc<rustls::ServerConfig> {
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(ca_roots(), provider())
            .build()
            .unwrap();
    let certs: Vec<_> = CertificateDer::pem_file_iter(sec("server-cert.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(sec("server-key.pem")).unwrap();
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .unwrap(),
    )
}

fn proxy_api(backend: &str) -> String {
    format!(
        r#"<api xmlns="http://ws.apache.org/ns/synapse" name="toback" context="/toback">
  <resource methods="GET"><inSequence>
    <call><endpoint><http method="GET" uri-template="{backend}"/></endpoint></call>
    <respond/>
  </inSequence><faultSequence>
    <payloadFactory media-type="text"><format>fault: $1</format><args><arg expression="get-property('ERROR_MESSAGE')"/></args></payloadFactory>
    <property name="HTTP_SC" value="502" scope="axis2"/>
    <respond/>
  </faultSequence></resource>
</api>"#
    )
}

#[test]
fn a_backend_requiring_a_client_certificate_is_reached_with_the_sender_keystore() {
    let (bport, _rx) = recording_backend(Some(backend_tls_requiring_client_certs()));
    let backend = format!("https://localhost:{bport}/secure");
    // The sender's key (client.jks) and the truststore that vouches for the backend.
    let home = TempHome::new("mtls-out");
    home.file(
        "conf/deployment.toml",
        r#"
[truststore]
file_name = "repository/resources/security/client-truststore.jks"
password = "wso2carbon"

[transport.http]
sender.keystore.location = "repository/resources/security/client.jks"
sender.keystore.type = "JKS"
sender.keystore.password = "wso2carbon"
sender.keystore.key_password = "wso2carbon"
"#,
    );
    copy_in(
        &home,
        "client.jks",
        "repository/resources/security/client.jks",
    );
    copy_in(
        &home,
        "truststore.jks",
        "repository/resources/security/client-truststore.jks",
    );
    home.artifact("api", "toback.xml", &proxy_api(&backend));
    let m = start_mint(&home.root, 1);
    let r = request(m.http, "GET", "/toback", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with("GET /secure HTTP/1.1"), "{}", r.text());
    drop(m);

    // Without a key to present, the backend refuses the handshake: a fault, not a hang.
    let home = TempHome::new("mtls-none");
    home.file(
        "conf/deployment.toml",
        "[truststore]\nfile_name = \"ts.jks\"\npassword = \"wso2carbon\"\n",
    );
    copy_in(&home, "truststore.jks", "ts.jks");
    home.artifact("api", "toback.xml", &proxy_api(&backend));
    let m = start_mint(&home.root, 1);
    let r = request(m.http, "GET", "/toback", &[], b"");
    assert_eq!(r.status, 502, "{}", r.text());
}

#[test]
fn a_replaced_certificate_is_served_without_a_restart() {
    let home = hello_home(
        "reload",
        "[server]\nhot_deployment_interval_ms = 200\n[keystore.tls]\nfile_name = \"tls.jks\"\npassword = \"wso2carbon\"\n",
    );
    copy_in(&home, "server.jks", "tls.jks");
    let m = serve(&home);
    let first = https(m.https, default_client(), "GET", "/hello", &[])
        .unwrap()
        .2;
    assert_eq!(first, pem_cert("server-cert.pem"));
    // A broken file keeps the old certificate in service.
    std::fs::write(home.root.join("tls.jks"), b"garbage").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        https(m.https, default_client(), "GET", "/hello", &[])
            .unwrap()
            .2,
        first
    );
    // The new keystore is picked up.
    std::fs::copy(sec("server2.jks"), home.root.join("tls.jks")).unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        https(m.https, default_client(), "GET", "/hello", &[])
            .map(|r| r.2 != first)
            .unwrap_or(false)
    }));
    let log = stop(m, &home);
    assert!(log.contains("do not load"), "{log}");
    assert!(log.contains("HTTPS certificate reloaded"), "{log}");
}

/// `mint secret encrypt --home HOME alias value`: the `[secrets]` line.
fn encrypt(home: &TempHome, alias: &str, value: &str) -> String {
    let out = Command::new(MINT)
        .args(["secret", "encrypt", "--home"])
        .arg(&home.root)
        .args([alias, value])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(!line.contains(value), "{line}");
    line
}

#[test]
fn encrypted_secrets_reach_a_uri_and_a_header_and_never_a_log_line() {
    const PATH: &str = "path-9f8e7d";
    const TOKEN: &str = "Bearer tok-5c4b3a";
    const TLS_PW: &str = "wso2carbon";
    let (bport, rx) = recording_backend(None);
    let home = TempHome::new("vault");
    copy_in(
        &home,
        "server.jks",
        "repository/resources/security/wso2carbon.jks",
    );
    copy_in(&home, "server.p12", "tls.p12");
    // Encrypted with the primary keystore (MI's stock file, found without configuration).
    let lines = [
        encrypt(&home, "backend_path", PATH),
        encrypt(&home, "token", TOKEN),
        encrypt(&home, "tls_password", TLS_PW),
    ];
    home.file(
        "conf/deployment.toml",
        &format!(
            "[logging]\naccess_log = true\n\n[keystore.tls]\nfile_name = \"tls.p12\"\ntype = \"PKCS12\"\npassword = \"$secret{{tls_password}}\"\n\n[secrets]\n{}",
            lines.concat()
        ),
    );
    home.artifact(
        "api",
        "vault.xml",
        &format!(
            r#"<api xmlns="http://ws.apache.org/ns/synapse" name="vault" context="/vault">
  <resource methods="GET"><inSequence>
    <property name="uri.var.p" expression="wso2:vault-lookup('backend_path')"/>
    <header name="Authorization" scope="transport" expression="wso2:vault-lookup('token')"/>
    <log level="full"><property name="token" expression="$trp:Authorization"/><property name="p" expression="get-property('uri.var.p')"/></log>
    <call-template target="auth"><with-param name="tok" value="{{wso2:vault-lookup('token')}}"/></call-template>
    <call><endpoint><http method="GET" uri-template="http://127.0.0.1:{bport}/{{uri.var.p}}"/></endpoint></call>
    <log level="full"/>
    <respond/>
  </inSequence></resource>
</api>"#
        ),
    );
    // A template parameter given as `{wso2:vault-lookup('alias')}` (how connectors take secrets).
    home.artifact(
        "templates",
        "auth.xml",
        r#"<template xmlns="http://ws.apache.org/ns/synapse" name="auth"><parameter name="tok"/>
  <sequence><header name="X-Tok" scope="transport" expression="$func:tok"/></sequence>
</template>"#,
    );
    let m = serve(&home);
    let r = request(m.http, "GET", "/vault", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), format!("GET /{PATH} HTTP/1.1 | {TOKEN}"));
    let head = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.contains(&format!("GET /{PATH} ")), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("x-tok: {}", TOKEN.to_ascii_lowercase())),
        "{head}"
    );
    // The listener's keystore password came from the vault too.
    assert_eq!(
        https(m.https, default_client(), "GET", "/nothing", &[])
            .unwrap()
            .0,
        404
    );
    let log = stop(m, &home);
    assert!(
        log.contains("****"),
        "the log mediator's line is there, masked: {log}"
    );
    for secret in [PATH, TOKEN, "tok-5c4b3a"] {
        for line in log.lines() {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
    }
}

#[test]
fn plain_text_secrets_are_refused_unless_allowed() {
    let home = hello_home("plain", "[secrets]\npw = \"[hunter2]\"\n");
    let out = check_command(&home.root).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("pw") && !err.contains("hunter2"), "{err}");
    home.file(
        "conf/deployment.toml",
        "[secure_vault]\nallow_plain_text = true\n[secrets]\npw = \"[hunter2]\"\n",
    );
    assert!(check_command(&home.root).output().unwrap().status.success());
}

#[test]
fn cors_preflight_is_answered_and_a_disallowed_origin_refused() {
    // As MI's own CORS test writes it (wso2/micro-integrator
    // integration/mediation-tests/tests-other/src/test/resources/artifacts/ESB/cors/deployment.toml),
    // with a list of origins instead of `*`, and keys unquoted as MI's docs write them.
    let home = hello_home(
        "cors",
        "[synapse_properties]\nsynapse.rest.CORSConfig.enabled = true\nsynapse.rest.CORSConfig.Access-Control-Allow-Origin = \"https://app.example,http://localhost:3000\"\n'synapse.rest.CORSConfig.Access-Control-Allow-Headers' = \"content-type\"\n",
    );
    let m = start_mint(&home.root, 1);
    let preflight = |origin: &str| {
        request(
            m.http,
            "OPTIONS",
            "/hello",
            &[("Origin", origin), ("Access-Control-Request-Method", "GET")],
            b"",
        )
    };
    let r = preflight("https://app.example");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("GET"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type")
    );
    // A localhost origin also allows the loopback address, as Synapse adds every local address.
    let r = preflight("http://127.0.0.1:3000");
    assert_eq!(r.status, 200, "{r:?}");
    let r = preflight("https://evil.example");
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.header("access-control-allow-origin"), Some(""));
    // The actual request carries the headers; a disallowed origin gets no origin back.
    let r = request(
        m.http,
        "GET",
        "/hello",
        &[("Origin", "https://app.example")],
        b"",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let r = request(
        m.http,
        "GET",
        "/hello",
        &[("Origin", "https://evil.example")],
        b"",
    );
    assert_eq!(r.header("access-control-allow-origin"), Some(""));
}
