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

/// `<publishWSDL uri="file:…"/>` reads the WSDL from the home at deployment (wso2/wso2-synapse
/// `core/axis2/ProxyService.java` resolves relative file URIs against the server's home), and
/// `?wsdl` answers it with each port's address set to this server's, as Axis2's
/// `AxisService.setPortAddress` writes it: `{scheme}://{hostname}:{listener port}/services/
/// {proxy}.{port name}` (wso2/wso2-axis2 `kernel/.../description/AxisService.java`). A file that
/// is not there stops the deployment with its name.
#[test]
fn publish_wsdl_from_a_file_answers_with_this_servers_addresses() {
    let home = TempHome::new("wsdl-file");
    home.file(
        "conf/deployment.toml",
        "[server]\nhostname = \"mint.example\"\n",
    );
    home.file(
        "repository/samples/resources/proxy/quote.wsdl",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:tns="urn:quote" targetNamespace="urn:quote">
  <wsdl:service name="Quote">
    <wsdl:port name="QuoteHttpSoap11Endpoint" binding="tns:b11">
      <soap:address location="http://localhost:9000/services/SimpleStockQuoteService"/>
    </wsdl:port>
    <wsdl:port name="QuoteHttpsSoap12Endpoint" binding="tns:b12">
      <soap12:address location="https://localhost:9002/services/SimpleStockQuoteService"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>"#,
    );
    home.artifact(
        "proxy-services",
        "QuoteProxy.xml",
        r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="QuoteProxy" transports="http https">
  <target><inSequence><respond/></inSequence></target>
  <publishWSDL uri="file:repository/samples/resources/proxy/quote.wsdl"/>
</proxy>"#,
    );
    {
        let mint = start_mint(&home.root, 1);
        let r = request(mint.http, "GET", "/services/QuoteProxy?wsdl", &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        let text = r.text();
        for want in [
            format!(
                r#"location="http://mint.example:{}/services/QuoteProxy.QuoteHttpSoap11Endpoint""#,
                mint.http
            ),
            format!(
                r#"location="https://mint.example:{}/services/QuoteProxy.QuoteHttpsSoap12Endpoint""#,
                mint.https
            ),
        ] {
            assert!(text.contains(&want), "{want} not in {text}");
        }
        assert!(
            text.contains(r#"<wsdl:port name="QuoteHttpSoap11Endpoint""#),
            "{text}"
        );
    }
    home.artifact(
        "proxy-services",
        "QuoteProxy.xml",
        r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="QuoteProxy" transports="http">
  <target><inSequence><respond/></inSequence></target>
  <publishWSDL uri="file:repository/nowhere.wsdl"/>
</proxy>"#,
    );
    let (passed, text) = check_output(&home.root);
    assert!(!passed, "{text}");
    assert!(
        text.contains(
            "QuoteProxy.xml:1:1: publishWSDL uri 'file:repository/nowhere.wsdl': cannot read"
        ),
        "{text}"
    );
}
