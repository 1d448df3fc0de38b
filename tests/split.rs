//! End-to-end: iterate, clone and aggregate, on WSO2 Micro Integrator's own integration tests.
//!
//! Each test reproduces WSO2 test classes of wso2/micro-integrator
//! `integration/mediation-tests/tests-mediator-{1,2}/src/test/java/org/wso2/carbon/esb/mediator/
//! test/{aggregate,clone,iterate,call}/` with their artifacts (from `src/test/resources/artifacts/
//! ESB/...` next to them) kept as they are, but for where they send:
//! - WSO2's `SimpleStockQuoteService` (an Axis2 sample on :9000/:9001/:9002) is a proxy of the same
//!   name in the mint under test ([`STOCK_QUOTE`]): it answers a `getQuote` with the
//!   `getQuoteResponse` the sample sends (`<ns:name>IBM Company</ns:name>`, `<ns:symbol>IBM`), so
//!   the tests count and check the same elements WSO2's do;
//! - `http://localhost:8480/…` (WSO2's own HTTP port in those tests) is the mint under test;
//! - `LBServiceWithSleep` is `mint-backend`'s `/delay/{ms}` (an echo after a delay).
//!
//! Every request, backend included, stays on 127.0.0.1. Run with `--test-threads=2`: each test
//! starts one mint (and at most one backend).

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// A mint whose artifacts may name its own port (`http`), with its log (the log mediator at
/// `info`, everything else at `warn`) in a file.
struct Mi {
    proc: Option<Proc>,
    offset: u16,
    http: u16,
    backend: Option<u16>,
    log: PathBuf,
    home: TempHome,
}

impl Mi {
    fn new(name: &str) -> Mi {
        let home = TempHome::new(name);
        let offset = next_offset();
        Mi {
            proc: None,
            offset,
            http: 8280 + offset,
            backend: None,
            log: home.root.join("mint.log"),
            home,
        }
    }

    /// Writes an artifact, with WSO2's addresses moved to 127.0.0.1 (see the module docs).
    fn artifact(&self, dir: &str, file: &str, xml: &str) -> &Self {
        self.home.artifact(dir, file, &self.adapt(xml));
        self
    }

    fn adapt(&self, xml: &str) -> String {
        let me = format!("http://127.0.0.1:{}", self.http);
        let mut xml = xml
            .replace("http://localhost:9000/services/SimpleStockQuoteService", &format!("{me}/services/SimpleStockQuoteService"))
            .replace("http://localhost:9001/services/SimpleStockQuoteService", &format!("{me}/services/SimpleStockQuoteService"))
            .replace("http://localhost:9002/services/SimpleStockQuoteService", &format!("{me}/services/SimpleStockQuoteService"))
            .replace("http://localhost:8480/", &format!("{me}/"));
        if let Some(b) = self.backend {
            xml = xml.replace("http://localhost:9001/", &format!("http://127.0.0.1:{b}/"));
        }
        xml
    }

    fn start(&mut self) {
        let file = std::fs::File::create(&self.log).unwrap();
        let child = mint_command(&self.home.root, Some(self.offset), 2)
            .env("RUST_LOG", "warn,mint::log_mediator=info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start mint");
        self.proc = Some(Proc { child });
        assert!(
            wait_port(self.http, Duration::from_secs(10)),
            "mint did not start on {}: {}",
            self.http,
            self.log_text()
        );
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log written since `mark` (a length of [`Mi::log_text`]).
    fn log_since(&self, mark: usize) -> String {
        self.log_text().get(mark..).unwrap_or_default().to_string()
    }

    /// A SOAP 1.1 request (`SOAPAction: urn:getQuote`, as WSO2's Axis2 clients send) with `body`
    /// as the Body's content.
    fn soap(&self, path: &str, body: &str) -> Resp {
        self.soap_action(path, "urn:getQuote", body)
    }

    fn soap_action(&self, path: &str, action: &str, body: &str) -> Resp {
        request(
            self.http,
            "POST",
            path,
            &[
                ("Content-Type", "text/xml; charset=UTF-8"),
                ("SOAPAction", &format!("\"{action}\"")),
            ],
            envelope(body).as_bytes(),
        )
    }
}

/// WSO2's `SimpleStockQuoteService` (the Axis2 sample the tests call), as a proxy: a `getQuote`
/// is answered with a `getQuoteResponse` for its (first) symbol, in the sample's namespaces. It
/// also says which SOAP action it was called with (`ns:soapAction`, not in the sample).
const STOCK_QUOTE: &str = r#"<proxy xmlns="http://ws.apache.org/ns/synapse" name="SimpleStockQuoteService" transports="http https">
  <target><inSequence>
    <payloadFactory media-type="xml">
      <format><ns:getQuoteResponse xmlns:ns="http://services.samples" xmlns:ax21="http://services.samples/xsd"><ns:return><ax21:name>$1 Company</ax21:name><ax21:symbol>$1</ax21:symbol><ax21:soapAction>$2</ax21:soapAction></ns:return></ns:getQuoteResponse></format>
      <args>
        <arg xmlns:m0="http://services.samples" expression="(//m0:symbol)[1]"/>
        <arg expression="$trp:SOAPAction"/>
      </args>
    </payloadFactory>
    <respond/>
  </inSequence></target>
</proxy>"#;

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SAMPLES: &str = "http://services.samples";

fn envelope(body: &str) -> String {
    format!(r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#)
}

fn request_el(symbol: &str) -> String {
    format!("<ns:request><ns:symbol>{symbol}</ns:symbol></ns:request>")
}

/// `AggregatedRequestClient.createMultipleQuoteRequestBody` (tests-mediator-1 aggregate/): one
/// `getQuote` of `n` requests inside `getQuotes` (the Java adds the same `getQuote` n times,
/// which moves it: one remains).
fn quotes_of_one_quote(symbol: &str, n: usize) -> String {
    format!(
        r#"<ns:getQuotes xmlns:ns="{SAMPLES}"><ns:getQuote>{}</ns:getQuote></ns:getQuotes>"#,
        request_el(symbol).repeat(n)
    )
}

/// `IterateClient.createMultipleQuoteRequestBody` (and `AggregatedRequestClient
/// .createMultipleQuoteRequestBodynew`): one `getQuote` of `n` requests.
fn quote_of_requests(symbol: &str, n: usize) -> String {
    format!(
        r#"<ns:getQuote xmlns:ns="{SAMPLES}">{}</ns:getQuote>"#,
        request_el(symbol).repeat(n)
    )
}

/// `IterateClient.createGetQuotesRequestBody`: `getQuotes` of `n` one-request `getQuote`s.
fn quotes_of_quotes(symbol: &str, n: usize) -> String {
    format!(
        r#"<ns:getQuotes xmlns:ns="{SAMPLES}">{}</ns:getQuotes>"#,
        format!("<ns:getQuote>{}</ns:getQuote>", request_el(symbol)).repeat(n)
    )
}

/// `NestedAggregatesTestCase.createNestedQuoteRequestBody`: `n` getQuotes of `n` requests each.
fn nested_quotes(symbol: &str, n: usize) -> String {
    format!(
        r#"<ns:getQuotes xmlns:ns="{SAMPLES}">{}</ns:getQuotes>"#,
        format!("<ns:getQuote>{}</ns:getQuote>", request_el(symbol).repeat(n)).repeat(n)
    )
}

/// The string value of each node `expr` selects in `xml`, in document order (an independent
/// XPath implementation, as WSO2's tests read responses with AXIOM). Prefixes: `soapenv`
/// (SOAP 1.1), `m0` (services.samples), `root` (www.wso2esb.com), `cts`.
fn select(xml: &str, expr: &str) -> Vec<String> {
    let package = sxd_document::parser::parse(xml)
        .unwrap_or_else(|e| panic!("not XML ({e:?}): {xml}"));
    let doc = package.as_document();
    let xpath = sxd_xpath::Factory::new()
        .build(expr)
        .unwrap()
        .expect("an expression");
    let mut ctx = sxd_xpath::Context::new();
    for (p, u) in [
        ("soapenv", SOAP11),
        ("m0", SAMPLES),
        ("root", "www.wso2esb.com"),
        ("cts", "http://ws.cts.deg.gov.ae/"),
        ("syn", "http://ws.apache.org/ns/synapse"),
    ] {
        ctx.set_namespace(p, u);
    }
    match xpath.evaluate(&ctx, doc.root()).unwrap() {
        sxd_xpath::Value::Nodeset(n) => n
            .document_order()
            .iter()
            .map(|n| n.string_value())
            .collect(),
        other => panic!("{expr} is not a node-set: {other:?}"),
    }
}

/// WSO2's check on a stock-quote aggregation: the `getQuoteResponse` children of the Body
/// (`soapBody.getChildrenWithName(getQuoteResponse)`), each asserted to mention `symbol`.
fn quote_responses(r: &Resp, symbol: &str) -> usize {
    assert_eq!(r.status, 200, "{}", r.text());
    let found = select(&r.text(), "/soapenv:Envelope/soapenv:Body/m0:getQuoteResponse");
    for q in &found {
        assert!(q.contains(symbol), "{q} in {}", r.text());
    }
    found.len()
}
