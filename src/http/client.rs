//! The per-shard HTTP/1.1 client: keep-alive connection pools per backend (scheme, host, port).
//!
//! A connection carries one exchange at a time ([`super::conn`], mint's HTTP/1.1 client), so
//! concurrency comes from the pool. A connection goes back to the pool when its response body
//! was read to the end; a sweeper task closes connections idle longer than `idle_timeout` (and
//! those the peer closed), also when no request comes. A connection is checked before reuse (a
//! non-blocking peek: closed by the peer, or sent bytes nobody asked for, it is dropped). A request
//! that fails on a reused connection before any byte of it was written is retried once on a fresh
//! connection. Host names are resolved off the shard (glommio's blocking pool) and cached for 30 s.
//!
//! A response is returned once its head and its first body frame arrived, and only when it can be
//! forwarded as it is ([`super::rules::response_problem`]); otherwise the exchange fails as a
//! backend protocol fault. Response heads are bounded by `[client] max_head_size`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::net::TcpStream;
use http::{Request, Response};

use super::body::{Body, BoxError, Streamed};
use super::conn::{ClientStream, Conn, HeadError, Limits, ResponseBody, WriteError, Writer};
use super::rules;
use super::upstream::{LocalFuture, Upstream};
use crate::config::{Home, Settings};
use crate::error::{Error, ErrorKind, Result, Side};

use super::upstream::Origin;

/// One shard's connection pools.
pub struct Pool {
    /// This pool, for the tasks that check connections back in.
    this: std::rc::Weak<Pool>,
    idle: RefCell<HashMap<Origin, Vec<Conn>, foldhash::fast::RandomState>>,
    dns: RefCell<HashMap<String, (SocketAddrs, Instant), foldhash::fast::RandomState>>,
    tls: RefCell<Option<Arc<rustls::ClientConfig>>>,
    /// A sweeper task is running (it stops when no idle connection is left).
    sweeping: Cell<bool>,
    home: Home,
    settings: Settings,
}

type SocketAddrs = Rc<[IpAddr]>;

const DNS_TTL: Duration = Duration::from_secs(30);

fn backend(kind: ErrorKind, context: String) -> Error {
    Error::new(kind, Side::Backend, context)
}

impl Pool {
    pub fn new(home: Home, settings: Settings) -> Rc<Pool> {
        Rc::new_cyclic(|this| Pool {
            this: this.clone(),
            idle: RefCell::default(),
            dns: RefCell::default(),
            tls: RefCell::new(None),
            sweeping: Cell::new(false),
            home,
            settings,
        })
    }

    /// What bounds a response head.
    fn limits(&self) -> Limits {
        Limits {
            max_head: self.settings.client.max_head_size.max(1024),
            // `http`'s header maps hold at most 32,768 entries.
            max_headers: self.settings.http.max_headers.clamp(100, 16_384),
        }
    }

    /// Sends `req` to `origin` and returns the response head with its body still streaming (its
    /// first frame already arrived).
    pub async fn exchange(
        &self,
        origin: &Origin,
        req: Request<Body>,
    ) -> Result<Response<Streamed>> {
        let (parts, body) = req.into_parts();
        let mut body = Some(body);
        let limits = self.limits();
        let closed = |e: std::io::Error| {
            backend(
                ErrorKind::ConnectionClosed,
                format!("backend {}:{}", origin.host, origin.port),
            )
            .with_cause(e)
        };
        // One retry, only when a pooled connection failed before any byte of the request went.
        for attempt in 0..2 {
            let pooled = if attempt == 0 {
                self.checkout(origin)
            } else {
                None
            };
            let (mut conn, reused) = match pooled {
                Some(c) => (c, true),
                None => (self.connect(origin).await?, false),
            };
            let Some(b) = body.take() else { break };
            let mut writer = Writer::new(&parts, b);
            let got = std::future::poll_fn(|cx| {
                if !writer.done && !writer.failed {
                    // A socket error is not final yet: the backend may have answered (and
                    // closed) before reading the whole request.
                    if let Poll::Ready(Err(WriteError::Body(e))) = writer.poll(&mut conn.io, cx) {
                        return Poll::Ready(Err(Err(e)));
                    }
                }
                conn.poll_head(cx, limits, &parts.method).map_err(Ok)
            })
            .await;
            let head = match got {
                Ok(head) => head,
                Err(Err(body_error)) => {
                    // The request's own body failed: the endpoint's caller blames its sender.
                    return Err(backend(
                        ErrorKind::ConnectionClosed,
                        format!(
                            "backend {}:{}: the request body could not be sent",
                            origin.host, origin.port
                        ),
                    )
                    .with_cause(body_error));
                }
                Err(Ok(HeadError::Malformed(m))) => {
                    return Err(backend(
                        ErrorKind::Protocol,
                        format!("backend {}:{}: {m}", origin.host, origin.port),
                    ));
                }
                Err(Ok(HeadError::Io(e))) => {
                    if reused && writer.sent == 0 {
                        if let Some(b) = writer.into_replay() {
                            body = Some(b);
                            continue;
                        }
                    }
                    return Err(closed(e));
                }
            };
            // A response that cannot be forwarded: the connection is not reused.
            if let Some(problem) = rules::response_problem(head.status, &head.headers) {
                return Err(backend(
                    ErrorKind::Protocol,
                    format!("backend {}:{}: {problem}", origin.host, origin.port),
                ));
            }
            let reusable = head.keep_alive && writer.keep_alive && !writer.failed;
            let writer = (!writer.done && !writer.failed).then_some(writer);
            let mut resp = Response::new(());
            *resp.status_mut() = head.status;
            *resp.version_mut() = head.version;
            *resp.headers_mut() = head.headers;
            let mut reader = ResponseBody::new(
                conn,
                writer,
                head.decoder,
                reusable,
                limits.max_head,
                self.this.clone(),
            );
            reader.finish_if_empty();
            let mut body = Streamed::backend(reader);
            body.read_ahead()
                .await
                .map_err(|e| map_body_error(e, origin))?;
            // The request's header map serves a later message.
            super::h1::recycle_header_map(parts.headers);
            return Ok(resp.map(|()| body));
        }
        Err(backend(
            ErrorKind::ConnectionClosed,
            format!("{}:{}: connection closed", origin.host, origin.port),
        ))
    }

    fn checkout(&self, origin: &Origin) -> Option<Conn> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(origin)?;
        let max_age = self.max_idle_age();
        while let Some(c) = list.pop() {
            if c.since.elapsed() < max_age && c.is_usable() {
                return Some(c);
            }
        }
        None
    }

    /// A connection whose exchange ended cleanly goes back to its origin's idle list. Without
    /// `may_spawn` it is kept only if the sweeper already runs (else it is closed: an idle
    /// connection nobody sweeps would outlive `idle_timeout`).
    pub(super) fn checkin(&self, mut conn: Conn, may_spawn: bool) {
        if !may_spawn && !self.sweeping.get() {
            return;
        }
        conn.since = Instant::now();
        {
            let mut idle = self.idle.borrow_mut();
            let list = match idle.get_mut(&conn.origin) {
                Some(list) => list,
                None => idle.entry(conn.origin.clone()).or_default(),
            };
            if list.len() >= self.settings.client.max_idle_per_host {
                return;
            }
            list.push(conn);
        }
        if !self.sweeping.replace(true) {
            glommio::spawn_local(sweep(self.this.clone())).detach();
        }
    }

    fn max_idle_age(&self) -> Duration {
        Duration::from_millis(self.settings.client.idle_timeout_ms)
    }

    /// Drops (closes) idle connections older than `idle_timeout` or closed by the peer; returns
    /// how long until the oldest remaining one expires (None: none is left).
    fn prune(&self) -> Option<Duration> {
        let max_age = self.max_idle_age();
        let mut idle = self.idle.borrow_mut();
        let mut oldest: Option<Duration> = None;
        idle.retain(|_, list| {
            list.retain(|c| {
                let age = c.since.elapsed();
                let keep = age < max_age && c.is_usable();
                if keep {
                    oldest = Some(oldest.map_or(age, |o| o.max(age)));
                }
                keep
            });
            !list.is_empty()
        });
        oldest.map(|age| max_age.saturating_sub(age))
    }

    async fn resolve(&self, host: &str) -> Result<SocketAddrs> {
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(Rc::from(vec![ip]));
        }
        if let Some((addrs, at)) = self.dns.borrow().get(host) {
            if at.elapsed() < DNS_TTL {
                return Ok(addrs.clone());
            }
        }
        let name = format!("{host}:0");
        let found = glommio::executor()
            .spawn_blocking(move || {
                name.to_socket_addrs()
                    .map(|it| it.map(|a| a.ip()).collect::<Vec<_>>())
            })
            .await
            .map_err(|e| {
                backend(ErrorKind::ConnectFailed, format!("cannot resolve {host}")).with_cause(e)
            })?;
        if found.is_empty() {
            return Err(backend(
                ErrorKind::ConnectFailed,
                format!("cannot resolve {host}"),
            ));
        }
        let addrs: SocketAddrs = Rc::from(found);
        self.dns
            .borrow_mut()
            .insert(host.to_string(), (addrs.clone(), Instant::now()));
        Ok(addrs)
    }

    async fn connect(&self, origin: &Origin) -> Result<Conn> {
        let addrs = self.resolve(&origin.host).await?;
        let timeout = Duration::from_millis(self.settings.client.connect_timeout_ms.max(1));
        let mut last: Option<Error> = None;
        let mut tcp = None;
        for ip in addrs.iter() {
            let addr = SocketAddr::new(*ip, origin.port);
            match TcpStream::connect_timeout(&addr, timeout).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => {
                    let kind = if e.kind() == std::io::ErrorKind::TimedOut {
                        ErrorKind::Timeout
                    } else {
                        ErrorKind::ConnectFailed
                    };
                    last = Some(backend(kind, format!("connect to {addr}")).with_cause(e));
                }
            }
        }
        let tcp = match tcp {
            Some(t) => t,
            None => {
                return Err(
                    last.unwrap_or_else(|| backend(ErrorKind::ConnectFailed, "no address".into()))
                );
            }
        };
        let _ = tcp.set_nodelay(true);
        let stream = if origin.https {
            let cfg = self.tls_config()?;
            let name =
                rustls::pki_types::ServerName::try_from(origin.host.clone()).map_err(|e| {
                    backend(
                        ErrorKind::ConnectFailed,
                        format!("bad TLS server name {}", origin.host),
                    )
                    .with_cause(e)
                })?;
            let tls = futures_rustls::TlsConnector::from(cfg)
                .connect(name, tcp)
                .await
                .map_err(|e| {
                    backend(
                        ErrorKind::ConnectFailed,
                        format!("TLS handshake with {}", origin.host),
                    )
                    .with_cause(e)
                })?;
            ClientStream::Tls(Box::new(tls))
        } else {
            ClientStream::Plain(tcp)
        };
        Ok(Conn::new(stream, origin.clone()))
    }

    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        if let Some(c) = self.tls.borrow().as_ref() {
            return Ok(c.clone());
        }
        let c = super::tls::client_config(&self.home, &self.settings)?;
        *self.tls.borrow_mut() = Some(c.clone());
        Ok(c)
    }
}

impl Upstream for Pool {
    fn send<'a>(
        &'a self,
        origin: &'a Origin,
        req: Request<Body>,
    ) -> LocalFuture<'a, Result<Response<Streamed>>> {
        Box::pin(self.exchange(origin, req))
    }
}

/// Closes idle connections as they pass `idle_timeout`, until none is left (the next check-in
/// starts a new sweeper).
async fn sweep(pool: std::rc::Weak<Pool>) {
    loop {
        let wait = {
            let Some(p) = pool.upgrade() else { return };
            match p.prune() {
                Some(left) => {
                    // Expiries close together are swept together.
                    let slack = (p.max_idle_age() / 16)
                        .clamp(Duration::from_millis(5), Duration::from_secs(1));
                    left + slack
                }
                None => {
                    p.sweeping.set(false);
                    return;
                }
            }
        };
        glommio::timer::sleep(wait).await;
    }
}

/// Maps an error of a backend's response body onto mint's kinds: a body cut short is a closed
/// connection (101505), a malformed one a protocol fault (101506).
fn map_body_error(e: BoxError, origin: &Origin) -> Error {
    if e.is::<super::conn::RequestBodyFailed>() {
        return Error::new(
            ErrorKind::ClientIo,
            Side::Client,
            "the request body failed while it was sent to the backend".to_string(),
        )
        .with_cause(e);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&*e);
    let mut kind = ErrorKind::ConnectionClosed;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput
            ) {
                kind = ErrorKind::Protocol;
            }
            break;
        }
        source = s.source();
    }
    backend(
        kind,
        format!("backend {}:{}: response body", origin.host, origin.port),
    )
    .with_cause(e)
}
