//! The engine in-process: compiled artifacts, requests built in memory, a scripted upstream.
//! Dispatch (proxy, API context / version / uri-template / url-mapping, 404 / 405, `main`), the
//! fault-handler stack, a proxy streaming through to a backend, and each mediator (property,
//! header, filter, switch, payloadFactory, enrich, makefault, drop, loopback, call, send,
//! sequence, log) through an API resource.

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
        Rig::with_settings(files, Settings::default())
    }

    fn with_settings(files: &[&str], settings: Settings) -> Rig {
        let upstream = MockUpstream::new();
        let home = Home::new("/nonexistent/mint-test-home".into());
        let registry = Arc::new(Registry::unopened(RegistryConfig::defaults(&home)));
        let engine = Engine {
            users: None,
            config: Arc::new(program(files)),
            backends: Backends::new(
                crate::endpoint::Upstreams::other(upstream.clone()),
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
            me: Default::default(),
            detached: Default::default(),
            stores: Default::default(),
        };
        Rig { engine, upstream }
    }

    async fn request(&self, method: &str, uri: &str, body: Body) -> Answered {
        self.send(request(method, uri, "text/plain").body(body).unwrap())
            .await
    }

    /// Runs `req` through the engine and collects the answer.
    async fn send(&self, req: Request<Body>) -> Answered {
        let resp = self.engine.handle(req, Default::default()).await;
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
    dispatch_rig_with(Settings::default())
}

fn dispatch_rig_with(settings: Settings) -> Rig {
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
    Rig::with_settings(&[&orders, &versioned, &nested, &proxy, &main], settings)
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
        // Synapse's CORS is on by default with no origin allowed: OPTIONS is answered 403.
        let r = rig.request("OPTIONS", "/orders/17", Body::Empty).await;
        assert_eq!(
            (r.status, r.header("allow")),
            (StatusCode::FORBIDDEN, Some("GET"))
        );
        let off =
            Settings::parse("[synapse_properties]\nsynapse.rest.CORSConfig.enabled = false\n")
                .unwrap();
        let rig = dispatch_rig_with(off);
        let r = rig.request("OPTIONS", "/orders/17", Body::Empty).await;
        assert_eq!((r.status, r.header("allow")), (StatusCode::OK, Some("GET")));
        assert_eq!(r.header("access-control-allow-origin"), None);
    });
}

/// Synapse's `CORSHelper` (wso2/wso2-synapse `api/cors/CORSHelper.java`, `api/Resource.java`
/// `sendOptions`, `RespondMediator`): preflights answered with the resource's methods, the origin
/// when allowed and the configured headers, 403 when the origin is not allowed; other requests
/// are mediated whatever their origin, and their answer carries the same headers.
#[test]
fn cors_preflights_and_responses_as_synapse_answers_them() {
    run_local(async {
        let settings = Settings::parse(
            "[synapse_properties]\n'synapse.rest.CORSConfig.enabled' = \"true\"\n'synapse.rest.CORSConfig.Access-Control-Allow-Origin' = \"https://a.example, https://b.example\"\n'synapse.rest.CORSConfig.Access-Control-Allow-Headers' = \"content-type\"\n",
        )
        .unwrap();
        let rig = dispatch_rig_with(settings);
        let preflight = |origin: &'static str| {
            request("OPTIONS", "/orders/exact", "text/plain")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .body(Body::Empty)
                .unwrap()
        };
        let r = rig.send(preflight("https://b.example")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://b.example")
        );
        assert_eq!(r.header("access-control-allow-methods"), Some("GET, POST"));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("content-type")
        );
        assert_eq!(r.header("x-res"), None, "a preflight is not mediated");
        let r = rig.send(preflight("https://evil.example")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.header("access-control-allow-origin"), Some(""));

        let get = |origin: &'static str| {
            request("GET", "/orders/17", "text/plain")
                .header("origin", origin)
                .body(Body::Empty)
                .unwrap()
        };
        let r = rig.send(get("https://a.example")).await;
        assert_eq!(
            (r.status, r.header("x-res")),
            (StatusCode::OK, Some("by-id"))
        );
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://a.example")
        );
        assert_eq!(r.header("access-control-allow-methods"), Some("GET"));
        assert_eq!(r.header("origin"), Some("https://a.example"));
        // A disallowed origin is still served; its answer names no origin (the browser refuses it).
        let r = rig.send(get("https://evil.example")).await;
        assert_eq!(
            (r.status, r.header("x-res")),
            (StatusCode::OK, Some("by-id"))
        );
        assert_eq!(r.header("access-control-allow-origin"), Some(""));
        // Proxies are not APIs: no CORS headers.
        let r = rig
            .send(
                request("GET", "/services/Echo", "text/plain")
                    .header("origin", "https://a.example")
                    .body(Body::Empty)
                    .unwrap(),
            )
            .await;
        assert_eq!(r.header("access-control-allow-origin"), None);

        let any = Settings::parse(
            "[synapse_properties]\nsynapse.rest.CORSConfig.Access-Control-Allow-Origin = \"*\"\n",
        )
        .unwrap();
        let rig = dispatch_rig_with(any);
        let r = rig.send(get("https://whoever.example")).await;
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        let r = rig.send(preflight("https://whoever.example")).await;
        assert_eq!(r.status, StatusCode::OK);
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

// ---------------------------------------------------------------------------------------------
// One test per mediator, each through an API resource, in-process.

impl Rig {
    /// The mock backend `backend:9000` answers every request with `status` and an XML `body`.
    fn backend_answers_xml(&self, status: u16, body: &str) {
        self.upstream.always(
            "backend:9000",
            Answer::status(status, body).header("content-type", "application/xml"),
        );
    }

    async fn post(&self, uri: &str, content_type: &str, body: &str) -> Answered {
        let body = Body::full(Bytes::from(body.to_string()));
        self.send(request("POST", uri, content_type).body(body).unwrap())
            .await
    }
}

/// A request head from a client of `localhost:8290`.
fn request(method: &str, uri: &str, content_type: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost:8290")
        .header("content-type", content_type)
}

/// An API `/m` whose POST `/t` resource runs `seq`.
fn mediator_rig(seq: &str) -> Rig {
    let api = format!(
        r#"<api {NS} name="M" context="/m">
            <resource methods="POST" uri-template="/t"><inSequence>{seq}</inSequence></resource>
        </api>"#
    );
    Rig::new(&[&api])
}

#[test]
fn property_sets_types_and_scopes_and_removes() {
    run_local(async {
        let rig = mediator_rig(
            r#"<property name="a" value="5" type="INTEGER"/>
               <property name="b" expression="$ctx:a + 1"/>
               <property name="gone" value="x"/>
               <property name="gone" action="remove"/>
               <property name="X-T" value="t" scope="transport"/>
               <property name="HTTP_SC" value="201" scope="axis2"/>
               <header name="X-B" scope="transport" expression="$ctx:b"/>
               <header name="X-Gone" scope="transport" expression="concat('[', get-property('gone'), ']')"/>
               <respond/>"#,
        );
        let r = rig.post("/m/t", "application/xml", "<a/>").await;
        assert_eq!(r.status, StatusCode::CREATED);
        // An XPath number comes back as Java prints a double, as in Synapse.
        assert_eq!(r.header("x-b"), Some("6.0"));
        assert_eq!(r.header("x-gone"), Some("[]"));
        assert_eq!(r.header("x-t"), Some("t"));
    });
}

#[test]
fn header_sets_and_removes_transport_headers() {
    run_local(async {
        let rig = mediator_rig(
            r#"<header name="X-Set" scope="transport" value="v"/>
               <header name="X-In" scope="transport" action="remove"/>
               <header name="X-Echo" scope="transport" expression="get-property('transport', 'X-Keep')"/>
               <respond/>"#,
        );
        let req = request("POST", "/m/t", "application/xml")
            .header("x-in", "1")
            .header("x-keep", "k")
            .body(Body::full(Bytes::from_static(b"<a/>")))
            .unwrap();
        let r = rig.send(req).await;
        assert_eq!(r.header("x-set"), Some("v"));
        assert_eq!(r.header("x-echo"), Some("k"));
        assert!(r.header("x-in").is_none());
    });
}

#[test]
fn filter_takes_then_or_else_by_xpath_and_by_regex() {
    run_local(async {
        let rig = mediator_rig(
            r#"<filter xpath="//qty &gt; 10">
                 <then><header name="X-Big" scope="transport" value="yes"/></then>
                 <else><header name="X-Big" scope="transport" value="no"/></else>
               </filter>
               <filter source="//sym" regex="IB.*">
                 <then><header name="X-Ibm" scope="transport" value="yes"/></then>
                 <else><header name="X-Ibm" scope="transport" value="no"/></else>
               </filter>
               <respond/>"#,
        );
        let r = rig
            .post(
                "/m/t",
                "application/xml",
                "<o><qty>12</qty><sym>IBM</sym></o>",
            )
            .await;
        assert_eq!(
            (r.header("x-big"), r.header("x-ibm")),
            (Some("yes"), Some("yes"))
        );
        let r = rig
            .post(
                "/m/t",
                "application/xml",
                "<o><qty>2</qty><sym>SUN</sym></o>",
            )
            .await;
        assert_eq!(
            (r.header("x-big"), r.header("x-ibm")),
            (Some("no"), Some("no"))
        );
    });
}

#[test]
fn switch_runs_the_first_matching_case_or_the_default() {
    run_local(async {
        let rig = mediator_rig(
            r#"<switch source="//sym">
                 <case regex="IBM"><header name="X-Case" scope="transport" value="ibm"/></case>
                 <case regex="I.*"><header name="X-Case" scope="transport" value="i"/></case>
                 <default><header name="X-Case" scope="transport" value="default"/></default>
               </switch>
               <respond/>"#,
        );
        for (sym, want) in [("IBM", "ibm"), ("INTC", "i"), ("SUN", "default")] {
            let body = format!("<o><sym>{sym}</sym></o>");
            let r = rig.post("/m/t", "application/xml", &body).await;
            assert_eq!(r.header("x-case"), Some(want), "{sym}");
        }
    });
}

#[test]
fn payload_factory_writes_xml_and_json_with_its_arguments() {
    run_local(async {
        let rig = mediator_rig(
            r#"<payloadFactory media-type="xml">
                 <format><m:r xmlns:m="urn:m"><m:s>$1</m:s><m:n>$2</m:n></m:r></format>
                 <args><arg evaluator="xml" expression="//sym"/><arg value="7"/></args>
               </payloadFactory>
               <respond/>"#,
        );
        let r = rig
            .post("/m/t", "application/xml", "<o><sym>IBM</sym></o>")
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.body,
            r#"<m:r xmlns:m="urn:m"><m:s>IBM</m:s><m:n>7</m:n></m:r>"#
        );

        let rig = mediator_rig(
            r#"<payloadFactory media-type="json">
                 <format>{"s":"$1","n":$2}</format>
                 <args><arg evaluator="json" expression="$.sym"/><arg value="7"/></args>
               </payloadFactory>
               <respond/>"#,
        );
        let r = rig
            .post("/m/t", "application/json", r#"{"sym":"IBM"}"#)
            .await;
        assert_eq!(r.body, r#"{"s":"IBM","n":7}"#);
        assert!(r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")));
    });
}

#[test]
fn enrich_copies_the_body_into_a_property_and_back_as_a_child() {
    run_local(async {
        let rig = mediator_rig(
            r#"<enrich><source type="body" clone="true"/><target type="property" property="saved"/></enrich>
               <payloadFactory media-type="xml"><format><wrap xmlns=""/></format><args/></payloadFactory>
               <enrich><source type="property" property="saved"/><target type="body" action="child"/></enrich>
               <respond/>"#,
        );
        let r = rig
            .post("/m/t", "application/xml", "<o><sym>IBM</sym></o>")
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.starts_with("<wrap"), "{}", r.body);
        assert!(
            r.body.ends_with("><o><sym>IBM</sym></o></wrap>"),
            "{}",
            r.body
        );
    });
}

#[test]
fn makefault_turns_the_message_into_a_soap_fault() {
    run_local(async {
        let rig = mediator_rig(
            r#"<makefault version="soap11">
                 <code xmlns:tns="http://schemas.xmlsoap.org/soap/envelope/" value="tns:Server"/>
                 <reason value="no stock"/>
               </makefault>
               <respond/>"#,
        );
        let r = rig
            .post("/m/t", "application/xml", "<o><sym>IBM</sym></o>")
            .await;
        assert!(r.body.contains("Fault"), "{}", r.body);
        assert!(
            r.body.contains("<faultstring>no stock</faultstring>"),
            "{}",
            r.body
        );
        assert!(r.body.contains("Server"), "{}", r.body);
    });
}

#[test]
fn drop_ends_the_flow_and_the_client_gets_202() {
    run_local(async {
        let rig = mediator_rig(
            r#"<drop/><header name="X-After" scope="transport" value="ran"/><respond/>"#,
        );
        let r = rig.post("/m/t", "application/xml", "<a/>").await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::ACCEPTED, ""));
        assert_eq!(r.header("x-after"), None);
    });
}

#[test]
fn loopback_runs_the_out_sequence_with_the_current_message() {
    run_local(async {
        let api = format!(
            r#"<api {NS} name="M" context="/m">
                <resource methods="POST" uri-template="/t">
                  <inSequence><property name="seen" value="in"/><loopback/>
                    <header name="X-Not" scope="transport" value="ran"/></inSequence>
                  <outSequence><header name="X-Out" scope="transport" expression="$ctx:seen"/><respond/></outSequence>
                </resource>
            </api>"#
        );
        let rig = Rig::new(&[&api]);
        let r = rig.post("/m/t", "application/xml", "<a>x</a>").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("x-out"), Some("in"));
        assert_eq!(r.header("x-not"), None);
        assert_eq!(r.body, "<a>x</a>");
        assert!(rig.upstream.requests().is_empty());
    });
}

#[test]
fn call_sends_to_the_endpoint_and_continues_with_the_response() {
    run_local(async {
        let rig = mediator_rig(
            r#"<call><endpoint><address uri="http://backend:9000/quote"/></endpoint></call>
               <header name="X-Got" scope="transport" expression="//price"/>
               <respond/>"#,
        );
        rig.backend_answers_xml(200, "<q><price>1.5</price></q>");
        let r = rig
            .post("/m/t", "application/xml", "<o><sym>IBM</sym></o>")
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("x-got"), Some("1.5"));
        assert_eq!(r.body, "<q><price>1.5</price></q>");
        let sent = &rig.upstream.requests()[0];
        // An API's address endpoint gets the resource's path appended (REST_URL_POSTFIX).
        assert_eq!(sent.uri, "/quote/t");
        assert_eq!(sent.body, "<o><sym>IBM</sym></o>");
    });
}

#[test]
fn send_forwards_and_the_out_sequence_answers() {
    run_local(async {
        let api = format!(
            r#"<api {NS} name="M" context="/m">
                <resource methods="POST" uri-template="/t">
                  <inSequence><send><endpoint><address uri="http://backend:9000/q"/></endpoint></send></inSequence>
                  <outSequence><header name="X-Out" scope="transport" value="yes"/><send/></outSequence>
                </resource>
            </api>"#
        );
        let rig = Rig::new(&[&api]);
        rig.backend_answers_xml(202, "<ok/>");
        let r = rig.post("/m/t", "application/xml", "<a/>").await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::ACCEPTED, "<ok/>"));
        assert_eq!(r.header("x-out"), Some("yes"));
    });
}

#[test]
fn sequence_and_group_run_their_mediators_in_order() {
    run_local(async {
        let named = format!(
            r#"<sequence {NS} name="Tag"><property name="order" expression="concat($ctx:order, 'b')"/></sequence>"#
        );
        let api = format!(
            r#"<api {NS} name="M" context="/m">
                <resource methods="POST" uri-template="/t"><inSequence>
                  <property name="order" value="a"/>
                  <sequence key="Tag"/>
                  <property name="order" expression="concat($ctx:order, 'c')"/>
                  <header name="X-Order" scope="transport" expression="$ctx:order"/>
                  <respond/>
                </inSequence></resource>
            </api>"#
        );
        let rig = Rig::new(&[&named, &api]);
        let r = rig.post("/m/t", "application/xml", "<a/>").await;
        assert_eq!(r.header("x-order"), Some("abc"));
    });
}

#[test]
fn log_leaves_the_message_as_it_was() {
    run_local(async {
        let rig = mediator_rig(
            r#"<log level="full" separator=","><property name="p" expression="//sym"/></log>
               <log level="custom"><property name="q" value="v"/></log>
               <respond/>"#,
        );
        let r = rig
            .post("/m/t", "application/xml", "<o><sym>IBM</sym></o>")
            .await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::OK, "<o><sym>IBM</sym></o>")
        );
    });
}

/// An element named like a content mediator in another namespace is not that mediator: it is
/// unsupported (warned about at deployment) and faults when reached, where the compiler used to
/// pick it out by local name and run it as a filter.
#[test]
fn a_filter_in_another_namespace_is_not_a_filter() {
    run_local(async {
        let rig = mediator_rig(r#"<o:filter xmlns:o="urn:other" xpath="true()"/><respond/>"#);
        let r = rig.post("/m/t", "application/xml", "<a/>").await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    });
}

/// A property read compiled without XPath (`get-property('x')`, `$ctx:x`) and one inside an
/// XPath expression go through one property table and answer alike: `get-property` as
/// Synapse's function does (message fields first, then the property, then the local entry),
/// `$ctx:` the property only.
#[test]
fn a_property_reads_the_same_with_or_without_xpath() {
    run_local(async {
        let api = format!(
            r#"<api {NS} name="M" context="/m">
                <resource methods="POST" uri-template="/t"><inSequence>
                    <property name="set" value="p"/>
                    <header name="X-Entry" scope="transport" expression="get-property('greeting')"/>
                    <header name="X-Entry-X" scope="transport" expression="concat(get-property('greeting'), '')"/>
                    <header name="X-Format" scope="transport" expression="get-property('MESSAGE_FORMAT')"/>
                    <header name="X-Format-X" scope="transport" expression="concat(get-property('MESSAGE_FORMAT'), '')"/>
                    <header name="X-Set" scope="transport" expression="$ctx:set"/>
                    <header name="X-Set-X" scope="transport" expression="concat($ctx:set, '')"/>
                    <header name="X-Ctx" scope="transport" expression="concat('[', $ctx:greeting, ']')"/>
                    <property name="ctx" expression="$ctx:greeting"/>
                    <header name="X-Ctx-Fast" scope="transport" expression="concat('[', $ctx:ctx, ']')"/>
                    <header name="X-Fault" scope="transport" expression="concat('[', get-property('FAULT'), ']')"/>
                    <respond/>
                </inSequence></resource>
            </api>"#
        );
        let entry = format!(r#"<localEntry {NS} key="greeting">hello</localEntry>"#);
        let rig = Rig::new(&[&api, &entry]);
        let r = rig.post("/m/t", "application/xml", "<a/>").await;
        assert_eq!(r.header("x-entry"), Some("hello"));
        assert_eq!(r.header("x-entry-x"), Some("hello"));
        assert_eq!(r.header("x-format"), Some("pox"));
        assert_eq!(r.header("x-format-x"), Some("pox"));
        assert_eq!(r.header("x-set"), Some("p"));
        assert_eq!(r.header("x-set-x"), Some("p"));
        // `$ctx:` reads the property only: no message field, no local entry.
        assert_eq!(r.header("x-ctx"), Some("[]"));
        assert_eq!(r.header("x-ctx-fast"), Some("[]"));
        assert_eq!(r.header("x-fault"), Some("[]"));
    });
}

#[test]
fn respond_answers_with_the_current_message_and_ends_the_flow() {
    run_local(async {
        let rig = mediator_rig(r#"<respond/><property name="HTTP_SC" value="500" scope="axis2"/>"#);
        let r = rig.post("/m/t", "application/xml", "<a>1</a>").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, "<a>1</a>");
    });
}

/// `main` in Synapse's legacy style: `<in>` runs on the request, the response comes back through
/// `main` and `<out>` runs on it.
#[test]
fn in_and_out_select_the_direction_and_main_gets_its_responses() {
    run_local(async {
        let main = format!(
            r#"<sequence {NS} name="main">
                <in>
                  <header name="X-In" scope="transport" value="request"/>
                  <send><endpoint><address uri="http://backend:9000/q"/></endpoint></send>
                </in>
                <out>
                  <header name="X-Out" scope="transport" value="response"/>
                  <send/>
                </out>
                <header name="X-Never" scope="transport" value="x"/>
            </sequence>"#
        );
        let rig = Rig::new(&[&main]);
        rig.backend_answers_xml(200, "<ok/>");
        let r = rig.post("/unmatched", "application/xml", "<a/>").await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "<ok/>"));
        assert_eq!(r.header("x-out"), Some("response"));
        assert!(
            r.header("x-never").is_none(),
            "send and <out>'s send end the flow"
        );
        let sent = rig.upstream.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].headers.get("x-in").and_then(|v| v.to_str().ok()),
            Some("request")
        );
    });
}

#[test]
fn in_and_out_inside_a_resource_run_only_in_their_direction() {
    run_local(async {
        let rig = mediator_rig(
            r#"<out><header name="X-Out" scope="transport" value="1"/></out>
               <in><header name="X-In" scope="transport" value="1"/></in>
               <respond/>"#,
        );
        let r = rig.post("/m/t", "application/xml", "<a/>").await;
        assert_eq!(r.header("x-in"), Some("1"));
        assert!(r.header("x-out").is_none());
    });
}

/// A `main` that sends to an endpoint without `<in>`/`<out>` runs again on each response and
/// sends it on (as in Synapse): how deeply sequences nest is bounded, and the client gets a fault.
#[test]
fn a_flow_that_sends_its_responses_on_is_bounded() {
    // 32 nested sequences with a send each take about 2 MiB of stack in a debug build (1.9–2.0
    // MiB measured with RUST_MIN_STACK), a test thread's whole default stack; an optimised build
    // needs a small fraction of that. The bound under test is the depth, so the rig runs on a
    // thread with room for the debug frames.
    let rig_thread = std::thread::Builder::new().stack_size(8 << 20);
    let run = rig_thread.spawn(|| {
        run_local(async {
            let main = format!(
                r#"<sequence {NS} name="main">
                <send><endpoint><address uri="http://backend:9000/q"/></endpoint></send>
            </sequence>"#
            );
            let rig = Rig::new(&[&main]);
            rig.backend_answers_xml(200, "<ok/>");
            let r = rig.post("/unmatched", "application/xml", "<a/>").await;
            assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(
                rig.upstream.requests().len(),
                super::MAX_SEQUENCE_DEPTH as usize
            );
        })
    });
    run.expect("a thread for the rig").join().unwrap();
}

#[test]
fn a_sequence_key_may_be_computed_per_message() {
    run_local(async {
        let seq = |name: &str, text: &str| {
            format!(
                r#"<sequence {NS} name="{name}"><payloadFactory media-type="xml"><format><r xmlns="">{text}</r></format><args/></payloadFactory><respond/></sequence>"#
            )
        };
        let api = format!(
            r#"<api {NS} name="M" context="/m">
                <resource methods="POST" uri-template="/t"><inSequence><sequence key="{{concat('route_', //kind)}}"/></inSequence></resource>
            </api>"#
        );
        let (a, b) = (seq("route_a", "A"), seq("route_b", "B"));
        let rig = Rig::new(&[&a, &b, &api]);
        let r = rig
            .post("/m/t", "application/xml", "<o><kind>b</kind></o>")
            .await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "<r>B</r>"));
        let r = rig
            .post("/m/t", "application/xml", "<o><kind>a</kind></o>")
            .await;
        assert_eq!(r.body, "<r>A</r>");
        let r = rig
            .post("/m/t", "application/xml", "<o><kind>c</kind></o>")
            .await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    });
}

#[test]
fn a_sequence_that_calls_itself_ends_in_a_fault() {
    run_local(async {
        let named = format!(
            r#"<sequence {NS} name="Again"><property name="n" expression="concat($ctx:n, 'x')"/><sequence key="Again"/></sequence>"#
        );
        let api = format!(
            r#"<api {NS} name="M" context="/m">
                <resource methods="POST" uri-template="/t"><inSequence><sequence key="Again"/></inSequence></resource>
            </api>"#
        );
        let rig = Rig::new(&[&named, &api]);
        let r = rig.post("/m/t", "application/xml", "<a/>").await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    });
}

/// (Shared by the mediator test modules below.)
/// An API `/m` whose POST `/t` runs `seq`, beside the artifacts `with`; its fault sequence answers
/// 500 with ERROR_MESSAGE in `X-Error`.
fn faulting_rig(with: &[&str], seq: &str, settings: Settings) -> Rig {
    let api = format!(
        r#"<api {NS} name="M" context="/m"><resource methods="POST" uri-template="/t">
             <inSequence>{seq}</inSequence>
             <faultSequence>
               <header name="X-Error" scope="transport" expression="get-property('ERROR_MESSAGE')"/>
               <property name="HTTP_SC" scope="axis2" value="500"/>
               <respond/>
             </faultSequence>
           </resource></api>"#
    );
    let mut files = with.to_vec();
    files.push(&api);
    Rig::with_settings(&files, settings)
}

mod enrich_json;
mod expressions;
mod formats;
mod rewrite;
mod validate;
mod xslt;
/// The problems deploying the API artifact `api` (written to `api.xml`) reports.
fn deploy_problems(api: &str) -> Vec<crate::diag::Diagnostic> {
    let mut problems = Vec::new();
    let mut artifacts = crate::synapse::model::Artifacts::default();
    crate::synapse::parse::parse_artifact_file(
        std::path::Path::new("api.xml"),
        api,
        crate::synapse::parse::ArtifactDir::Api,
        &mut artifacts,
        &mut problems,
    );
    let home = Home::new("/nonexistent/mint-test-home".into());
    let registry = Registry::unopened(RegistryConfig::defaults(&home));
    crate::compile::compile(artifacts, &registry, &mut problems);
    problems
}

mod split;

/// Asserts that deploying `mediator` (inside an API resource) reports a problem containing `why`
/// with its `api.xml:line:col` position.
fn assert_refused(mediator: &str, why: &str) {
    let api = format!(
        r#"<api {NS} name="M" context="/m"><resource methods="POST" uri-template="/t"><inSequence>
             {mediator}
           </inSequence></resource></api>"#
    );
    let problems = deploy_problems(&api);
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains(why) && p.to_string().starts_with("api.xml:")),
        "{mediator}: {problems:?}"
    );
}

/// MI 4.5's per-API CORS handler (`CORSRequestHandler`): the API's own origins, methods and
/// headers replace the global settings; a preflight is answered 200 whatever the origin, with
/// `Access-Control-Allow-Origin` only for an allowed one.
#[test]
fn a_per_api_cors_handler_replaces_the_global_settings() {
    run_local(async {
        let api = format!(
            r#"<api {NS} name="Shop" context="/shop">
                <resource methods="GET" uri-template="/items"><inSequence>{}</inSequence></resource>
                <resource methods="POST" uri-template="/items"><inSequence>{}</inSequence></resource>
                <handlers>
                    <handler class="org.wso2.micro.integrator.security.handler.CORSRequestHandler">
                        <property name="allowedOrigins" value="https://*.shop.example"/>
                        <property name="allowedMethods" value="GET,POST"/>
                        <property name="allowHeaders" value="*"/>
                        <property name="allowCredentials" value="true"/>
                        <property name="maxAge" value="600"/>
                    </handler>
                </handlers>
            </api>"#,
            answer("get", "'x'"),
            answer("post", "'x'"),
        );
        let rig = Rig::new(&[&api]);
        let pre = |origin: &'static str, method: &'static str| {
            request("OPTIONS", "/shop/items", "text/plain")
                .header("origin", origin)
                .header("access-control-request-method", method)
                .header("access-control-request-headers", "x-custom")
                .body(Body::Empty)
                .unwrap()
        };
        // The resource that takes the announced method answers the preflight.
        let r = rig.send(pre("https://www.shop.example", "POST")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://www.shop.example")
        );
        assert_eq!(r.header("access-control-allow-methods"), Some("POST"));
        assert_eq!(r.header("access-control-allow-headers"), Some("*"));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(r.header("access-control-max-age"), Some("600"));
        assert_eq!(r.header("x-res"), None);
        // Another origin: still 200 (the global rule's 403 does not apply), no origin granted.
        let r = rig.send(pre("https://evil.example", "GET")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("access-control-allow-origin"), None);
        // The actual request: mediated, with the headers; `*` reflects the requested headers.
        let r = rig
            .send(
                request("POST", "/shop/items", "text/plain")
                    .header("origin", "https://www.shop.example")
                    .header("access-control-request-headers", "x-custom")
                    .body(Body::full("b"))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.header("x-res"), Some("post"));
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://www.shop.example")
        );
        assert_eq!(r.header("access-control-allow-headers"), Some("x-custom"));
    });
}

/// A `<log level="full"/>` builds the message, as Synapse's does: a malformed back-end answer
/// that nothing else reads faults there and the fault sequence answers
/// (wso2/micro-integrator TestFaultSequenceExecutionForMalformedResponse; a JSON scalar, as
/// foreach makes of an array's items, is logged, as ForeachNativeJSONTestCase needs).
#[test]
fn log_full_faults_on_a_body_that_does_not_parse() {
    run_local(async {
        let api = format!(
            r#"<api {NS} name="M" context="/m"><resource methods="POST" uri-template="/t">
                 <inSequence>
                   <call><endpoint><address uri="http://backend:9000/x"/></endpoint></call>
                   <log level="full"/>
                   <respond/>
                 </inSequence>
                 <faultSequence>
                   <header name="X-Fault" scope="transport" value="yes"/>
                   <respond/>
                 </faultSequence>
               </resource></api>"#
        );
        let rig = Rig::new(&[&api]);
        for (ct, body, faults) in [
            ("text/xml", "<a></b>", true),
            ("application/json", "{\"a\":", true),
            ("application/json", "\"check\"", false),
            ("text/xml", "<a/>", false),
        ] {
            rig.upstream.always(
                "backend:9000",
                Answer::Respond {
                    status: StatusCode::OK,
                    headers: vec![("content-type", ct.to_string())],
                    chunks: vec![Bytes::from(body)],
                },
            );
            let r = rig.post("/m/t", "application/xml", "<q/>").await;
            assert_eq!(r.header("x-fault").is_some(), faults, "{body}: {}", r.body);
        }
    });
}
