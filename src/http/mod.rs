//! HTTP/1.1 on glommio: hyper's `http1` server, and mint's own client on httparse.
//!
//! - [`io`]: the hyper ⇄ futures-io adapter (no full-buffer zeroing on reads) and a glommio timer
//!   for hyper (header-read timeouts).
//! - [`body`]: the one body type mint sends, which streams an incoming body through untouched.
//! - [`tls`]: rustls server and client configurations (PEM files or a generated self-signed cert).
//! - [`upstream`]: the [`upstream::Upstream`] trait the engine sends backend requests through.
//! - [`client`]: the per-shard keep-alive connection pool to backends (the production `Upstream`).
//! - [`conn`]: one exchange on a backend connection (request writing, response parsing, bodies).
//! - [`server`]: serving one accepted connection with mint's limits.
//! - [`watch`]: noticing that a client left while its request is served.
//! - [`rules`]: HTTP/1.1 rules hyper leaves to us (transfer codings, `Host`, dot-segments).

/// The `SOAPAction` header's name (not one of `http`'s standard names).
pub const SOAPACTION: http::HeaderName = http::HeaderName::from_static("soapaction");

pub mod body;
pub mod client;
pub mod conn;
pub mod io;
pub mod rules;
pub mod server;
pub mod tls;
pub mod upstream;
pub mod watch;

/// Runs `fut` to completion on a glommio executor built on the calling thread, with the least
/// io_uring memory glommio accepts (tests run in parallel under an 8 MiB `RLIMIT_MEMLOCK`).
#[cfg(test)]
pub fn run_local<F: std::future::Future>(fut: F) -> F::Output {
    glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
        .io_memory(64 * 1024)
        .ring_depth(16)
        .make()
        .expect("a test executor (io_uring; check RLIMIT_MEMLOCK)")
        .run(fut)
}
