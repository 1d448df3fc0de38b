//! The per-shard HTTP/1.1 client: keep-alive connection pools per backend (scheme, host, port).
//!
//! hyper's http1 client carries one request at a time per connection, so concurrency comes from the
//! pool. A connection goes back to the pool once hyper reports it ready again (after the response
//! body was read to the end); a sweeper task closes connections idle longer than `idle_timeout`
//! (and forgets those the peer closed), also when no request comes. A request that fails on a
//! reused connection *before it was sent* (the peer had closed it) is retried once on a fresh
//! connection. Host names are resolved off the shard (glommio's blocking pool) and cached for 30 s.
//!
//! A response is returned once its head and its first body frame arrived, and only when it can be
//! forwarded as it is ([`super::rules::response_problem`]); otherwise the exchange fails as a
//! backend protocol fault. Response heads are bounded by `[client] max_head_size`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::net::TcpStream;
use futures_lite::{AsyncRead, AsyncWrite};
use http::{Request, Response};
use hyper::client::conn::http1::SendRequest;

use super::body::{Body, BoxError, Streamed};
use super::io::HyperIo;
use super::rules;
use super::upstream::{LocalFuture, Upstream};
use crate::config::{Home, Settings};
use crate::error::{Error, ErrorKind, Result, Side};

use super::upstream::Origin;

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

/// One shard's connection pools.
pub struct Pool {
    /// This pool, for the tasks that check connections back in.
    this: std::rc::Weak<Pool>,
    idle: RefCell<HashMap<Origin, Vec<Idle>>>,
    dns: RefCell<HashMap<String, (SocketAddrs, Instant)>>,
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
            idle: RefCell::new(HashMap::new()),
            dns: RefCell::new(HashMap::new()),
            tls: RefCell::new(None),
            sweeping: Cell::new(false),
            home,
            settings,
        })
    }

    /// Sends `req` to `origin` and returns the response head with its body still streaming (its
    /// first frame already arrived).
    pub async fn exchange(
        &self,
        origin: &Origin,
        req: Request<Body>,
    ) -> Result<Response<Streamed>> {
        let mut req = req;
        // One retry, only when a pooled connection turned out dead before the request was written.
        for attempt in 0..2 {
            let (mut sender, reused) = match self.checkout(origin) {
                Some(s) if attempt == 0 => (s, true),
                _ => (self.connect(origin).await?, false),
            };
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    // A response that cannot be forwarded: the connection is not reused.
                    if let Some(problem) = rules::response_problem(resp.status(), resp.headers()) {
                        return Err(backend(
                            ErrorKind::Protocol,
                            format!("backend {}:{}: {problem}", origin.host, origin.port),
                        ));
                    }
                    self.checkin_when_ready(origin.clone(), sender);
                    let (parts, body) = resp.into_parts();
                    let mut body = Streamed::new(body, Side::Backend);
                    body.read_ahead()
                        .await
                        .map_err(|e| map_body_error(e, origin))?;
                    return Ok(Response::from_parts(parts, body));
                }
                Err(mut e) => match e.take_message() {
                    Some(back) if reused => {
                        req = back;
                        continue;
                    }
                    _ => return Err(map_hyper_error(e.into_error(), origin)),
                },
            }
        }
        Err(backend(
            ErrorKind::ConnectionClosed,
            format!("{}:{}: connection closed", origin.host, origin.port),
        ))
    }

    fn checkout(&self, origin: &Origin) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(origin)?;
        let max_age = Duration::from_millis(self.settings.client.idle_timeout_ms);
        while let Some(c) = list.pop() {
            if !c.sender.is_closed() && c.sender.is_ready() && c.since.elapsed() < max_age {
                return Some(c.sender);
            }
        }
        None
    }

    fn checkin_when_ready(&self, origin: Origin, mut sender: SendRequest<Body>) {
        let pool = self.this.clone();
        glommio::spawn_local(async move {
            if sender.ready().await.is_err() {
                return;
            }
            if let Some(pool) = pool.upgrade() {
                {
                    let mut idle = pool.idle.borrow_mut();
                    let list = idle.entry(origin).or_default();
                    if list.len() < pool.settings.client.max_idle_per_host {
                        list.push(Idle {
                            sender,
                            since: Instant::now(),
                        });
                    }
                }
                if !pool.sweeping.replace(true) {
                    glommio::spawn_local(sweep(Rc::downgrade(&pool))).detach();
                }
            }
        })
        .detach();
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
                let keep = !c.sender.is_closed() && age < max_age;
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

    async fn connect(&self, origin: &Origin) -> Result<SendRequest<Body>> {
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
        let max_head = self.settings.client.max_head_size.max(1024);
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .max_headers(self.settings.http.max_headers.max(100))
            .max_header_size(max_head)
            .max_buf_size(max_head.max(8192) + 8192)
            .handshake::<_, Body>(HyperIo(stream))
            .await
            .map_err(|e| map_hyper_error(e, origin))?;
        glommio::spawn_local(async move {
            let _ = conn.await;
        })
        .detach();
        Ok(sender)
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

/// Maps a hyper client error onto mint's kinds (and so onto Synapse error codes).
fn map_hyper_error(e: hyper::Error, origin: &Origin) -> Error {
    let kind = if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        ErrorKind::Protocol
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::ConnectionClosed
    };
    backend(kind, format!("backend {}:{}", origin.host, origin.port)).with_cause(e)
}

/// A backend connection, plain or TLS.
enum ClientStream {
    Plain(TcpStream),
    Tls(Box<futures_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl super::io::Stream for ClientStream {
    fn poll_read_uninit(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Option<Poll<std::io::Result<usize>>> {
        match self {
            ClientStream::Plain(s) => Some(TcpStream::poll_read_uninit(s, cx, buf)),
            ClientStream::Tls(_) => None,
        }
    }
    fn is_write_vectored(&self) -> bool {
        matches!(self, ClientStream::Plain(_))
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_close(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}
