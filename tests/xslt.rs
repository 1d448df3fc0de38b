//! End-to-end: WSO2's XSLTProxy and XSLTEnhancedProxy (fastXSLT), unchanged but for the endpoint
//! address, with their stylesheets as local entries: the request is reversed on the way in
//! (`m:skcotSyub`, `redro`, …), echoed by the backend, and restored on the way out, so the client
//! gets its own orders back. Both of WSO2's XML payloads, 1 KB and 10 KB.

mod common;

use common::*;

#[test]
fn wso2_xslt_proxies_round_trip_the_orders() {
    let (_backend, bport) = start_backend();
    let h = wso2_perf_home(bport, &["XSLTProxy", "XSLTEnhancedProxy"], &[]);
    for entry in [
        "xslt_transform",
        "xslt_transform_reverse",
        "fastxslt_transform",
        "fastxslt_transform_reverse",
    ] {
        let text = std::fs::read_to_string(data(&format!("wso2-perf/{entry}-1.0.0.xml"))).unwrap();
        h.artifact("local-entries", &format!("{entry}.xml"), &text);
    }
    let mint = start_mint(&h.root, 1);
    let ns = [
        ("s", "http://schemas.xmlsoap.org/soap/envelope/"),
        ("m", "http://services.samples/xsd"),
    ];
    for (proxy, payload) in [
        ("XSLTProxy", "1000B_buyStocks.xml"),
        ("XSLTProxy", "10000B_buyStocks.xml"),
        ("XSLTEnhancedProxy", "1000B_buyStocks.xml"),
        ("XSLTEnhancedProxy", "10000B_buyStocks.xml"),
    ] {
        let body = std::fs::read(data(&format!("wso2-perf/{payload}"))).unwrap();
        let r = request(
            mint.http,
            "POST",
            &format!("/services/{proxy}/buyStocksOperation"),
            &[
                ("SOAPAction", "urn:buyStocks"),
                ("Content-Type", "text/xml"),
            ],
            &body,
        );
        assert_eq!(r.status, 200, "{proxy} {payload}: {}", r.text());
        let sent = String::from_utf8_lossy(&body);
        for field in ["symbol", "buyerID", "price", "volume"] {
            let path = format!("/s:Envelope/s:Body/m:buyStocks/order/{field}");
            let want = select_ns(&sent, &path, &ns);
            assert!(!want.is_empty(), "{payload}: {path}");
            let got = select_ns(&r.text(), &path, &ns);
            assert_eq!(got, want, "{proxy} {payload}: {field}");
        }
    }
}
