//! The internal HTTP API (9191+offset), as WSO2 MI's: `GET /healthz` (readiness) and
//! `GET /liveness`. Served by one shard; tiny, no mediation.

use std::rc::Rc;

use http::{header, HeaderValue, Method, Response, StatusCode};
use hyper::service::service_fn;

use crate::http::body::Body;
use crate::http::io::HyperIo;
use crate::http::server::Signal;

pub(super) async fn serve(listener: glommio::net::TcpListener, drain: Rc<Signal>) {
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
        glommio::spawn_local(async move {
            let svc = service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                let (status, body) = match (req.method(), req.uri().path()) {
                    (&Method::GET, "/healthz") => (StatusCode::OK, r#"{"status":"ready"}"#),
                    (&Method::GET, "/liveness") => (StatusCode::OK, r#"{"server" : "started"}"#),
                    _ => (StatusCode::NOT_FOUND, ""),
                };
                let mut r = Response::new(Body::full(body));
                *r.status_mut() = status;
                if !body.is_empty() {
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                }
                Ok::<_, std::convert::Infallible>(r)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(HyperIo(stream), svc)
                .await;
        })
        .detach();
    }
}
