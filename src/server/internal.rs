//! The internal HTTP API (9191+offset), as WSO2 MI's: `GET /healthz` (readiness),
//! `GET /liveness` and `GET /metric-service/metrics` (Prometheus text). Served by one shard;
//! tiny, no mediation.

use std::rc::Rc;
use std::sync::Arc;

use http::{header, HeaderValue, Method, Response, StatusCode};
use hyper::service::service_fn;

use crate::http::body::Body;
use crate::http::io::HyperIo;
use crate::http::server::Signal;
use crate::synapse::deploy::hub::{ConfigHub, Health};
use crate::telemetry::metrics::Metrics;

pub(super) async fn serve(
    listener: glommio::net::TcpListener,
    drain: Rc<Signal>,
    hub: Arc<ConfigHub>,
    metrics: Arc<Metrics>,
) {
    loop {
        let stream = {
            let acc = std::pin::pin!(listener.accept());
            match futures_util::future::select(acc, std::pin::pin!(drain.wait())).await {
                futures_util::future::Either::Left((Ok(s), _)) => s,
                futures_util::future::Either::Left((Err(_), _)) => continue,
                futures_util::future::Either::Right(_) => return,
            }
        };
        let _ = stream.set_nodelay(true);
        let (hub, metrics) = (hub.clone(), metrics.clone());
        glommio::spawn_local(async move {
            let svc = service_fn(|req: http::Request<hyper::body::Incoming>| {
                let (hub, metrics) = (hub.clone(), metrics.clone());
                async move {
                    let (status, ctype, body) = match (req.method(), req.uri().path()) {
                        (&Method::GET, "/healthz") => health(&hub.health()),
                        (&Method::GET, "/liveness") => (
                            StatusCode::OK,
                            "application/json",
                            r#"{"server" : "started"}"#.to_string(),
                        ),
                        (&Method::GET, "/metric-service/metrics") => (
                            StatusCode::OK,
                            "text/plain; version=0.0.4; charset=utf-8",
                            metrics.render(),
                        ),
                        _ => (StatusCode::NOT_FOUND, "", String::new()),
                    };
                    let mut r = Response::new(Body::full(body));
                    *r.status_mut() = status;
                    if !ctype.is_empty() {
                        r.headers_mut()
                            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
                    }
                    Ok::<_, std::convert::Infallible>(r)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(HyperIo(stream), svc)
                .await;
        })
        .detach();
    }
}

/// WSO2's readiness answer: `{"status":"ready"}`, or 500 listing what is faulty.
fn health(h: &Health) -> (StatusCode, &'static str, String) {
    if h.ready() {
        return (
            StatusCode::OK,
            "application/json",
            r#"{"status":"ready"}"#.to_string(),
        );
    }
    let list = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".to_string());
    let status = if h.faulty_capps.is_empty() {
        "not ready, faulty artifacts detected"
    } else {
        "not ready, faulty CAPPs detected"
    };
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "application/json",
        format!(
            r#"{{"status":"{status}","Faulty CAPPs":{},"Faulty artifacts":{}}}"#,
            list(&h.faulty_capps),
            list(&h.faulty_artifacts)
        ),
    )
}
