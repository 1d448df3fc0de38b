//! The engine in-process: compiled artifacts, requests built in memory, a scripted upstream.
//! Dispatch (proxy, API context / version / uri-template / url-mapping, 404 / 405, `main`), the
//! fault-handler stack, and a proxy streaming through to a backend.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;

use super::Engine;
use crate::config::{Home, Settings};
use crate::endpoint::mock::{program, run_local, Answer, MockUpstream};
use crate::endpoint::{Backends, Clock};
use crate::error::Side;
use crate::http::body::{Body, BoxError, Streamed};
use crate::registry::cache::ShardRegistry;
use crate::registry::config::RegistryConfig;
use crate::registry::Registry;
use crate::telemetry::metrics::Metrics;

const NS: &str = r#"xmlns="http://ws.apache.org/ns/synapse""#;

struct Rig {
    engine: Engine,
    upstream: Rc<MockUpstream>,
}

/// What the client got.
struct Answered {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answered {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Rig {
    fn new(files: &[&str]) -> Rig {
        let upstream = MockUpstream::new();
        let settings = Settings::default();
        let home = Home::new("/nonexistent/mint-test-home".into());
        let registry = Arc::new(Registry::unopened(RegistryConfig::defaults(&home)));
        let engine = Engine {
            config: Arc::new(program(files)),
            backends: Backends::new(
                upstream.clone(),
                Clock::manual(0),
                0,
                Duration::from_secs(5),
                Duration::from_secs(5),
            ),
            json: settings.json_settings().unwrap_or_default(),
            settings: Rc::new(settings),
            registry: Rc::new(ShardRegistry::new(registry)),
            metrics: Arc::new(Metrics::new(1)),
            fault_log: Default::default(),
            shard: 0,
        };
        Rig { engine, upstream }
    }

    async fn request(&self, method: &str, uri: &str, body: Body) -> Answered {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost:8290")
            .header("content-type", "text/plain")
            .body(body)
            .unwrap();
        let resp = self.engine.handle(req, false).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Answered {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn get(&self, uri: &str) -> Answered {
        self.request("GET", uri, Body::Empty).await
    }
}

/// A sequence body that answers with `X-Res: name` and `X-Var` = the value of `expr`.
fn answer(name: &str, expr: &str) -> String {
    format!(
        r#"<header name="X-Res" scope="transport" value="{name}"/>
           <header name="X-Var" scope="transport" expression="{expr}"/>
           <respond/>"#
    )
}

fn dispatch_rig() -> Rig {
    let orders = format!(
        r#"<api {NS} name="Orders" context="/orders">
            <resource methods="GET" uri-template="/search?q={{q}}"><inSequence>{}</inSequence></resource>
            <resource methods="GET" uri-template="/{{id}}"><inSequence>{}</inSequence></resource>
            <resource methods="GET" url-mapping="/list/*"><inSequence>{}</inSequence></resource>
            <resource methods="GET POST" url-mapping="/exact"><inSequence>{}</inSequence></resource>
        </api>"#,
        answer("search", "get-property('uri.var.q')"),
        answer("by-id", "get-property('uri.var.id')"),
        answer("list", "get-property('REST_SUB_REQUEST_PATH')"),
        answer("exact", "get-property('SYNAPSE_REST_API')"),
    );
    let versioned = format!(
        r#"<api {NS} name="Stock" context="/stock" version="2.0" version-type="url">
            <resource methods="GET" uri-template="/quote"><inSequence>{}</inSequence></resource>
        </api>"#,
        answer("stock", "get-property('SYNAPSE_REST_API_VERSION')"),
    );
    let nested = format!(
        r#"<api {NS} name="Deep" context="/orders/deep">
            <resource methods="GET" url-mapping="/*"><inSequence>{}</inSequence></resource>
        </api>"#,
        answer("deep", "get-property('REST_API_CONTEXT')"),
    );
    let proxy = format!(
        r#"<proxy {NS} name="Echo" transports="http https"><target><inSequence>{}</inSequence></target></proxy>"#,
        answer("proxy", "get-property('axis2', 'REST_URL_POSTFIX')"),
    );
    let main = format!(
        r#"<sequence {NS} name="main">{}</sequence>"#,
        answer("main", "get-property('To')")
    );
    Rig::new(&[&orders, &versioned, &nested, &proxy, &main])
}

#[test]
fn apis_dispatch_by_context_version_uri_template_and_url_mapping() {
    run_local(async {
        let rig = dispatch_rig();
        let r = rig.get("/orders/17").await;
        assert_eq!(
            (r.status, r.header("x-res"), r.header("x-var")),
            (StatusCode::OK, Some("by-id"), Some("17"))
        );
        let r = rig.get("/orders/list/a/b").await;
        assert_eq!(
            (r.header("x-res"), r.header("x-var")),
            (Some("list"), Some("/list/a/b"))
        );
        let r = rig.get("/orders/exact").await;
        assert_eq!(
            (r.header("x-res"), r.header("x-var")),
            (Some("exact"), Some("Orders"))
        );
        // Templates are tried in order; url-mappings before templates.
        let r = rig.get("/orders/search?q=tea").await;
        assert_eq!(
            (r.header("x-res"), r.header("x-var")),
            (Some("search"), Some("tea"))
        );
        // The longest context wins.
        let r = rig.get("/orders/deep/x").await;
        assert_eq!(
            (r.header("x-res"), r.header("x-var")),
            (Some("deep"), Some("/orders/deep"))
        );
        // url-versioned: the version follows the context.
        let r = rig.get("/stock/2.0/quote").await;
        assert_eq!(
            (r.header("x-res"), r.header("x-var")),
            (Some("stock"), Some("2.0"))
        );
        assert_eq!(
            rig.get("/stock/1.0/quote").await.header("x-res"),
            Some("main")
        );
        // A context is matched on a segment boundary.
        assert_eq!(rig.get("/ordersX/1").await.header("x-res"), Some("main"));
    });
}

#[test]
fn api_dispatch_answers_404_and_405_and_options_itself() {
    run_local(async {
        let rig = dispatch_rig();
        let r = rig.get("/orders/a/b/c").await;
        assert_eq!((r.status, r.header("x-res")), (StatusCode::NOT_FOUND, None));
        let r = rig.request("DELETE", "/orders/17", Body::Empty).await;
        assert_eq!(
            (r.status, r.header("x-res")),
            (StatusCode::METHOD_NOT_ALLOWED, None)
        );
        let r = rig.request("POST", "/orders/exact", Body::full("x")).await;
        assert_eq!(r.header("x-res"), Some("exact"));
        let r = rig.request("OPTIONS", "/orders/17", Body::Empty).await;
        assert_eq!((r.status, r.header("allow")), (StatusCode::OK, Some("GET")));
    });
}

#[test]
fn proxies_dispatch_by_name_and_everything_else_goes_to_main() {
    run_local(async {
        let rig = dispatch_rig();
        let r = rig.get("/services/Echo/extra?x=1").await;
        assert_eq!(
            (r.header("x-res"), r.header("x-var")),
            (Some("proxy"), Some("/extra?x=1"))
        );
        let r = rig.get("/services/Echo").await;
        assert_eq!(r.header("x-res"), Some("proxy"));
        // An unknown proxy or path: main.
        assert_eq!(
            rig.get("/services/Nope").await.header("x-res"),
            Some("main")
        );
        assert_eq!(rig.get("/").await.header("x-res"), Some("main"));
    });
}

/// Sequences that fail (a call to a refused backend) and handlers that say who ran.
fn fault_rig() -> Rig {
    let down = r#"<call><endpoint><address uri="http://down:80/"/></endpoint></call>"#;
    let handler = |name: &str| {
        format!(
            r#"<sequence {NS} name="{name}">{}</sequence>"#,
            answer(name, "get-property('ERROR_CODE')")
        )
    };
    let files = [
        handler("InnerErr"),
        handler("OuterErr"),
        handler("ApiFault"),
        handler("ProxyFault"),
        handler("fault"),
        format!(r#"<sequence {NS} name="Inner" onError="InnerErr">{down}</sequence>"#),
        format!(r#"<sequence {NS} name="Plain">{down}</sequence>"#),
        format!(
            r#"<sequence {NS} name="Outer" onError="OuterErr"><sequence key="Plain"/></sequence>"#
        ),
        format!(
            r#"<sequence {NS} name="OuterInner" onError="OuterErr"><sequence key="Inner"/></sequence>"#
        ),
        format!(r#"<sequence {NS} name="BadHandler">{down}</sequence>"#),
        format!(r#"<sequence {NS} name="FailsInHandler" onError="BadHandler">{down}</sequence>"#),
        format!(
            r#"<api {NS} name="A" context="/a" >
                <resource methods="GET" uri-template="/inner"><inSequence><sequence key="Inner"/></inSequence></resource>
                <resource methods="GET" uri-template="/outer"><inSequence><sequence key="Outer"/></inSequence></resource>
                <resource methods="GET" uri-template="/nested"><inSequence><sequence key="OuterInner"/></inSequence></resource>
                <resource methods="GET" uri-template="/plain" faultSequence="ApiFault"><inSequence><sequence key="Plain"/></inSequence></resource>
                <resource methods="GET" uri-template="/handler" faultSequence="ApiFault"><inSequence><sequence key="FailsInHandler"/></inSequence></resource>
                <resource methods="GET" uri-template="/nohandler"><inSequence>{down}</inSequence></resource>
            </api>"#
        ),
        format!(
            r#"<proxy {NS} name="P"><target faultSequence="ProxyFault"><inSequence>{down}</inSequence></target></proxy>"#
        ),
        format!(r#"<sequence {NS} name="main">{down}</sequence>"#),
    ];
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    Rig::new(&refs)
}

#[test]
fn the_innermost_fault_handler_runs_with_the_error_code() {
    run_local(async {
        let rig = fault_rig();
        let r = rig.get("/a/inner").await;
        assert_eq!(
            (r.header("x-res"), r.header("x-var")),
            (Some("InnerErr"), Some("101503"))
        );
        // A sequence without onError inside one with: the outer handler.
        assert_eq!(rig.get("/a/outer").await.header("x-res"), Some("OuterErr"));
        // Both have one: the inner.
        assert_eq!(rig.get("/a/nested").await.header("x-res"), Some("InnerErr"));
    });
}

#[test]
fn without_on_error_the_services_fault_sequence_runs_else_the_global_fault() {
    run_local(async {
        let rig = fault_rig();
        assert_eq!(rig.get("/a/plain").await.header("x-res"), Some("ApiFault"));
        assert_eq!(rig.get("/a/nohandler").await.header("x-res"), Some("fault"));
        assert_eq!(
            rig.get("/services/P").await.header("x-res"),
            Some("ProxyFault")
        );
        // main's failures go to the global fault sequence.
        assert_eq!(rig.get("/elsewhere").await.header("x-res"), Some("fault"));
        // A failure inside a handler goes to the global fault, not to the service's.
        assert_eq!(rig.get("/a/handler").await.header("x-res"), Some("fault"));
    });
}

#[test]
fn when_no_handler_answers_the_client_gets_the_faults_status() {
    run_local(async {
        let files = [
            format!(r#"<sequence {NS} name="fault"><drop/></sequence>"#),
            format!(
                r#"<proxy {NS} name="P"><target><endpoint><address uri="http://down:80/"/></endpoint></target></proxy>"#
            ),
        ];
        let rig = Rig::new(&[&files[0], &files[1]]);
        let r = rig.get("/services/P").await;
        assert_eq!(
            (r.status, r.header("x-mint-error-code")),
            (StatusCode::BAD_GATEWAY, Some("101503"))
        );
        rig.upstream
            .always("down:80", Answer::Fail(crate::error::ErrorKind::Timeout));
        let r = rig.get("/services/P").await;
        // The endpoint is suspended after the first failure (30 s by default, and the clock
        // does not move): 303001.
        assert_eq!(
            (r.status, r.header("x-mint-error-code")),
            (StatusCode::SERVICE_UNAVAILABLE, Some("303001"))
        );
    });
}

#[test]
fn a_proxy_streams_an_in_memory_request_body_to_its_endpoint_and_the_response_back() {
    run_local(async {
        let proxy = format!(
            r#"<proxy {NS} name="P"><target><endpoint><address uri="http://backend:9000/svc"/></endpoint>
               <outSequence><send/></outSequence></target></proxy>"#
        );
        let rig = Rig::new(&[&proxy]);
        rig.upstream.always(
            "backend:9000",
            Answer::status(201, "")
                .chunked(&["<ok>", "done", "</ok>"])
                .header("content-type", "text/xml"),
        );
        let frames = ["<order>", "<id>7</id>", "</order>"]
            .into_iter()
            .map(|c| Ok::<_, BoxError>(Frame::data(Bytes::from_static(c.as_bytes()))));
        let body = Streamed::local(
            http_body_util::StreamBody::new(futures_lite::stream::iter(frames)),
            Side::Client,
        );
        let r = rig
            .request("POST", "/services/P/orders?x=1", Body::Incoming(body))
            .await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::CREATED, "<ok>done</ok>")
        );
        assert_eq!(r.header("content-type"), Some("text/xml"));
        let sent = &rig.upstream.requests()[0];
        assert_eq!(sent.body, "<order><id>7</id></order>");
        assert_eq!(sent.uri, "/svc/orders?x=1");
        assert_eq!(sent.headers["host"], "backend:9000");
    });
}
