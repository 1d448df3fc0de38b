//! `mint-backend`: a small, fast backend for tests, demos and load tests.
//!
//! - Any path: echoes the request body back with the request's `Content-Type` (the semantics of
//!   WSO2's Netty echo service used in their performance tests). Chunked requests are echoed chunked.
//! - `GET /healthcare/{category}`: the hospital service of WSO2's first tutorial (a JSON array of
//!   doctors for `surgery`, `cardiology`, …).
//! - `/status/{code}`: answers that status with an empty body.
//! - `/delay/{ms}/…`: waits, then echoes.
//! - `/close`: closes the connection without answering.
//! - `/session…`: echoes, and starts an HTTP session (`Set-Cookie: JSESSIONID=s<port>`) when the
//!   request carries no `Cookie` (for sticky load-balancing tests).
//!
//! Every response carries `X-Backend-Port: <port>` (tests tell load-balanced backends apart).
//!
//! Usage: `mint-backend [--port 9000] [--cores N]` (binds 127.0.0.1).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use glommio::{LocalExecutorPoolBuilder, PoolPlacement};
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use mint::net::TcpListener;

use mint::http::body::{Body, Streamed};
use mint::http::io::HyperIo;
use mint::Side;

const DOCTORS: &[(&str, &str, &str, &str, f64)] = &[
    (
        "thomas collins",
        "grand oak community hospital",
        "surgery",
        "9.00 a.m - 11.00 a.m",
        7000.0,
    ),
    (
        "anne clement",
        "clemency medical center",
        "surgery",
        "8.00 a.m - 10.00 a.m",
        12000.0,
    ),
    (
        "seth mears",
        "pine valley community hospital",
        "surgery",
        "3.00 p.m - 5.00 p.m",
        8000.0,
    ),
    (
        "henry parker",
        "grand oak community hospital",
        "ent",
        "4.30 p.m - 6.00 p.m",
        4500.0,
    ),
    (
        "jacob wilson",
        "pine valley community hospital",
        "cardiology",
        "9.00 a.m - 11.00 a.m",
        5500.0,
    ),
    (
        "emeline fulton",
        "pine valley community hospital",
        "pediatric",
        "9.00 a.m - 11.00 a.m",
        4000.0,
    ),
];

fn doctors_json(category: &str) -> String {
    let items: Vec<String> = DOCTORS
        .iter()
        .filter(|d| d.2 == category)
        .map(|(n, h, c, a, f)| {
            format!(r#"{{"name":"{n}","hospital":"{h}","category":"{c}","availability":"{a}","fee":{f:.1}}}"#)
        })
        .collect();
    format!("[{}]", items.join(","))
}

#[derive(Debug)]
struct Closed;
impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("closing without a response")
    }
}
impl std::error::Error for Closed {}

async fn handle(req: Request<Incoming>, port: u16) -> Result<Response<Body>, Closed> {
    let start_session =
        req.uri().path().starts_with("/session") && !req.headers().contains_key(header::COOKIE);
    let mut r = route(req).await?;
    if let Ok(v) = HeaderValue::from_str(&port.to_string()) {
        r.headers_mut().insert("x-backend-port", v);
    }
    if start_session {
        if let Ok(v) = HeaderValue::from_str(&format!("JSESSIONID=s{port}; Path=/; HttpOnly")) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

async fn route(req: Request<Incoming>) -> Result<Response<Body>, Closed> {
    let path = req.uri().path().to_string();
    if path == "/close" {
        return Err(Closed);
    }
    if let Some(code) = path.strip_prefix("/status/") {
        let code = code
            .split('/')
            .next()
            .and_then(|c| c.parse::<u16>().ok())
            .unwrap_or(500);
        let mut r = Response::new(Body::Empty);
        *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Ok(r);
    }
    if let Some(ms) = path.strip_prefix("/delay/") {
        let ms = ms
            .split('/')
            .next()
            .and_then(|c| c.parse::<u64>().ok())
            .unwrap_or(0);
        glommio::timer::sleep(Duration::from_millis(ms)).await;
    }
    if req.method() == Method::GET {
        if let Some(cat) = path.strip_prefix("/healthcare/") {
            let mut r = Response::new(Body::full(Bytes::from(doctors_json(cat))));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return Ok(r);
        }
    }
    let ct = req.headers().get(header::CONTENT_TYPE).cloned();
    let mut r = Response::new(Body::Incoming(Streamed::new(req.into_body(), Side::Client)));
    if let Some(ct) = ct {
        r.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(r)
}

fn main() {
    let mut port = 9000u16;
    let mut cores = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(port),
            "--cores" => cores = args.next().and_then(|p| p.parse().ok()).unwrap_or(cores),
            _ => {
                eprintln!("usage: mint-backend [--port N] [--cores N]");
                std::process::exit(64);
            }
        }
    }
    let _ = mint::server::raise_memlock();
    // Warnings only (RUST_LOG overrides): the socket driver's missed wake-ups among them.
    let logging = mint::config::LoggingSettings {
        level: "warn".into(),
        ..Default::default()
    };
    mint::telemetry::init(&logging, &Default::default());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let handles = LocalExecutorPoolBuilder::new(PoolPlacement::Unbound(cores))
        .io_memory(512 * 1024)
        .preempt_timer(mint::net::PREEMPT)
        .on_all_shards(move || async move {
            let listener = match TcpListener::bind(addr) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("mint-backend: cannot listen on {addr}: {e}");
                    std::process::exit(1);
                }
            };
            eprintln!("mint-backend listening on {addr}");
            loop {
                let Ok(stream) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                glommio::spawn_local(async move {
                    let svc = service_fn(move |req| handle(req, port));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(HyperIo(stream), svc)
                        .await;
                })
                .detach();
            }
            #[allow(unreachable_code)]
            Ok::<(), Infallible>(())
        });
    match handles {
        Ok(h) => {
            h.join_all();
        }
        Err(e) => {
            eprintln!("mint-backend: {e}");
            std::process::exit(1);
        }
    }
}
