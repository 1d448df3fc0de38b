//! End-to-end: content-based routing with WSO2's own CBR proxies (unchanged but for the endpoint
//! address), and hostile XML answered with a clean fault while the server keeps serving.

mod common;

use common::*;

fn home(backend_port: u16) -> TempHome {
    wso2_perf_home(
        backend_port,
        &[
            "CBRProxy",
            "CBRSOAPHeaderProxy",
            "CBRTransportHeaderProxy",
            "DirectProxy",
        ],
        &[],
    )
}

const ROUTING: &str = "xadmin;server1;community#1.0##";

fn post(port: u16, proxy: &str, routing: &str, body: &[u8]) -> Resp {
    request(
        port,
        "POST",
        &format!("/services/{proxy}/buyStocksOperation"),
        &[
            ("SOAPAction", "urn:buyStocks"),
            ("routing", routing),
            ("Content-Type", "text/xml"),
        ],
        body,
    )
}

#[test]
fn wso2_cbr_proxies_route_and_fault() {
    let (_backend, bport) = start_backend();
    let h = home(bport);
    let mint = start_mint(&h.root, 2);
    for size in ["1000B", "10000B", "100000B"] {
        let body = std::fs::read(data(&format!("wso2-perf/{size}_buyStocks.xml"))).unwrap();
        for proxy in ["CBRProxy", "CBRSOAPHeaderProxy", "CBRTransportHeaderProxy"] {
            let r = post(mint.http, proxy, ROUTING, &body);
            assert_eq!(r.status, 200, "{proxy} {size}: {}", r.text());
            assert!(
                r.body == body,
                "{proxy} {size}: the echo must be byte-identical"
            );
        }
    }
    let body = std::fs::read(data("wso2-perf/1000B_buyStocks.xml")).unwrap();
    // The transport header does not match: the SOAP fault the artifact builds.
    let r = post(mint.http, "CBRTransportHeaderProxy", "someone-else", &body);
    assert_eq!(r.status, 500);
    let t = r.text();
    assert!(
        t.contains("Fault")
            && t.contains("Invalid routing header")
            && t.contains("soap11Env:Server")
            || t.contains(":Server"),
        "{t}"
    );
    // The SOAP header does not match.
    let other = String::from_utf8(body.clone())
        .unwrap()
        .replace(ROUTING, "nobody");
    let r = post(mint.http, "CBRSOAPHeaderProxy", ROUTING, other.as_bytes());
    assert_eq!(r.status, 500);
    assert!(r.text().contains("Invalid routing header"), "{}", r.text());
}

#[test]
fn hostile_xml_gets_a_clean_fault_and_the_server_keeps_serving() {
    let (_backend, bport) = start_backend();
    let h = home(bport);
    let mint = start_mint(&h.root, 1);
    let good = std::fs::read(data("wso2-perf/1000B_buyStocks.xml")).unwrap();
    // Truncated XML.
    let r = post(
        mint.http,
        "CBRSOAPHeaderProxy",
        ROUTING,
        &good[..good.len() / 2],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // A DOCTYPE with entity declarations (billion laughs) is refused, not expanded.
    let lol = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>&lol2;</soapenv:Body></soapenv:Envelope>"#;
    let r = post(mint.http, "CBRSOAPHeaderProxy", ROUTING, lol.as_bytes());
    assert_eq!(r.status, 400);
    // 10 MB with 100 000 nested elements.
    let mut deep = String::from("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Header/><soapenv:Body>");
    for _ in 0..100_000 {
        deep.push_str("<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>");
    }
    deep.push_str(&"x".repeat(10_000_000 - deep.len().min(10_000_000)));
    let r = post(mint.http, "CBRSOAPHeaderProxy", ROUTING, deep.as_bytes());
    assert_eq!(r.status, 400);
    // And the server still routes normal messages; pass-through never parses, so it echoes even
    // a malformed body untouched.
    let r = post(mint.http, "CBRSOAPHeaderProxy", ROUTING, &good);
    assert_eq!((r.status, r.body == good), (200, true));
    let r = post(mint.http, "DirectProxy", ROUTING, &good[..100]);
    assert_eq!((r.status, r.body.as_slice()), (200, &good[..100]));
}
