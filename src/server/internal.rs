//! The internal HTTP API (9191+offset), as WSO2 MI's: `GET /healthz` (readiness),
//! `GET /liveness` and `GET /metric-service/metrics` (Prometheus text). Served by one shard;
//! tiny, no mediation. Guarded like the service ports: a connection limit, a head/idle timeout,
//! accept errors backed off, connections closed on drain.

use std::cell::Cell;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{select, Either};

use http::{header, HeaderValue, Method, Response, StatusCode};
use hyper::service::service_fn;

use crate::deploy::hub::{ConfigHub, Health};
use crate::http::body::Body;
use crate::http::io::{GlommioTimer, HyperIo};
use crate::http::server::Signal;
use crate::telemetry::metrics::Metrics;

/// Most connections the internal API holds open at once; more are answered 503 and closed. Probes
/// and a metrics scraper need a handful; the bound keeps a flood on this port from taking the
/// file descriptors the service ports and backends need.
pub(super) const MAX_CONNECTIONS: usize = 64;

/// How long an internal-API connection may take to send a request head, and stay idle between
/// requests (probes and scrapers send at once; a silent connection is closed).
const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn serve(
    listener: crate::net::TcpListener,
    drain: Rc<Signal>,
    hub: Arc<ConfigHub>,
    metrics: Arc<Metrics>,
) {
    let active = Rc::new(Cell::new(0usize));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(GlommioTimer)
        .keep_alive(true)
        .header_read_timeout(IDLE_TIMEOUT)
        .max_headers(64)
        .max_buf_size(16 * 1024);
    let builder = Rc::new(builder);
    let on_conn = {
        let (drain, active) = (drain.clone(), active.clone());
        move |stream: crate::net::TcpStream| {
            let (hub, metrics, drain, builder) =
                (hub.clone(), metrics.clone(), drain.clone(), builder.clone());
            let open = Counted::new(&active);
            glommio::spawn_local(async move {
                let svc = service_fn(|req: http::Request<hyper::body::Incoming>| {
                    let (hub, metrics) = (hub.clone(), metrics.clone());
                    async move { Ok::<_, std::convert::Infallible>(answer(&req, &hub, &metrics)) }
                });
                let mut conn = pin!(builder.serve_connection(HyperIo(stream), svc));
                if let Either::Right(((), _)) = select(conn.as_mut(), pin!(drain.wait())).await {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
                drop(open);
            })
            .detach();
        }
    };
    super::accept_loop(listener, drain, active, MAX_CONNECTIONS, on_conn).await;
}

/// One open connection in a listener's count, released on drop (also when its task panics).
struct Counted(Rc<Cell<usize>>);

impl Counted {
    fn new(active: &Rc<Cell<usize>>) -> Counted {
        active.set(active.get() + 1);
        Counted(active.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

fn answer(
    req: &http::Request<hyper::body::Incoming>,
    hub: &ConfigHub,
    metrics: &Metrics,
) -> Response<Body> {
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
    r
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
