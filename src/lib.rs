//! # mint — a Micro Integrator on a thread-per-core runtime
//!
//! mint runs WSO2 Micro Integrator's Synapse artifacts (proxy services, REST APIs, sequences,
//! endpoints, local entries) unchanged, on glommio: one `LocalExecutor` ("shard") per core.
//!
//! ## Thread-per-core rules (enforced by review and `clippy.toml`)
//! - Every shard binds its own listeners with `SO_REUSEPORT` and serves the connections the kernel
//!   hands it from start to finish. Nothing on the request path is shared between shards.
//! - No locks, no `Arc<Mutex<_>>`, no blocking system calls on a shard. Per-shard state lives in
//!   `Rc`/`RefCell`. The compiled [`program::Program`] is immutable and shared read-only.
//! - Deploy-time work (reading and compiling artifacts) happens before the shards start, or off the
//!   shards; results reach them by value.
//! - A panic inside one request is caught at the request boundary: that connection answers 500 and
//!   closes; the shard keeps serving.
//!
//! ## Shape of one request
//! listener → connection task (mint's HTTP/1.1 server, `http::h1`) → [`mediation::dispatch`] (proxy / API resource /
//! main) → [`mediation::Engine`] runs the compiled [`mediators`] → `send`/`call` go through
//! [`endpoint`] (groups, suspension, timeouts) to the shard's [`http::upstream::Upstream`], the
//! [`http::client::Pool`] → response. Bodies stay as streams
//! ([`http::body::Body::Incoming`]) unless a mediator asks for the content.

pub mod compile;
pub mod config;
pub mod deploy;
pub mod diag;
pub mod endpoint;
pub mod error;
pub mod http;
pub mod json;
pub mod mediation;
pub mod mediators;
pub mod mem;
pub mod message;
pub mod net;
pub mod program;
pub mod registry;
pub mod scheduled;
pub mod server;
pub mod stores;
pub mod synapse;
pub mod synexpr;
pub mod telemetry;
pub mod uri_template;
pub mod userstore;
pub mod xml;
pub mod xmllib;
pub mod xpath;
pub mod xslt;

pub use error::{Error, ErrorKind, Side};
