//! The seam between the engine and its backends: [`Upstream`] sends one request to an origin and
//! gives the response with its body still streaming. The shard's connection pool
//! ([`super::client::Pool`]) implements it; tests implement it with scripted answers.

use std::future::Future;
use std::pin::Pin;

use http::{Request, Response};

use super::body::{Body, Streamed};
use crate::error::Result;

/// A future that stays on its shard.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Where backend requests go.
pub trait Upstream {
    /// Sends `req` to `origin` and returns the response head with its body streaming.
    ///
    /// Failures are mint [`Error`](crate::error::Error)s of the backend side, with the kind
    /// that gives their Synapse code: `ConnectFailed` (101503: refused, unresolvable, TLS),
    /// `Timeout` (101504: the connect timed out), `ConnectionClosed` (101505: the connection
    /// closed before a response), `Protocol` (101506: a response that cannot be forwarded).
    /// The caller bounds the whole exchange with the endpoint's timeout.
    fn send<'a>(
        &'a self,
        origin: &'a Origin,
        req: Request<Body>,
    ) -> LocalFuture<'a, Result<Response<Streamed>>>;
}

/// Identifies one backend origin (scheme, host, port): the key of the connection pools.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}
