//! The server: one glommio executor ("shard") per core, each binding its own listeners with
//! `SO_REUSEPORT` (HTTP on 8280+offset, HTTPS on 8243+offset) and serving what the kernel hands it.
//! Shard 0 also serves the internal API (9191+offset: `/healthz`, `/liveness`).
//!
//! Shutdown: SIGTERM/SIGINT set a process flag; every shard notices within 50 ms, stops accepting,
//! lets in-flight requests finish (keep-alive connections close after their current request) for up
//! to `drain_timeout_ms`, then returns; `run` returns once every shard has.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::net::{TcpListener, TcpStream};
use futures_util::future::{select, Either};
use glommio::{CpuSet, LocalExecutorPoolBuilder, PoolPlacement};

use crate::config::{Home, Settings};
use crate::deploy::hub::ConfigHub;
use crate::endpoint::{Backends, Clock};
use crate::error::{Error, ErrorKind, Result, Side};
use crate::http::client::Pool;
use crate::http::server::{options, serve, Conn, Signal};
use crate::http::tls::TlsSource;
use crate::mediation::{Engine, EngineSlot};
use crate::registry::cache::ShardRegistry;
use crate::registry::Registry;
use crate::telemetry::metrics::{Metrics, ShardStats};

mod internal;

/// What every shard starts from.
#[derive(Clone)]
pub struct Boot {
    pub home: Home,
    pub settings: Settings,
    /// The deployed configuration, and every later one.
    pub hub: Arc<ConfigHub>,
    pub metrics: Arc<Metrics>,
    pub tls: TlsSource,
    /// Number of shards.
    pub shards: usize,
    /// When the process started (for the start-up time in the log).
    pub started: Instant,
    pub registry: Arc<Registry>,
    /// The user store the basic-auth API handler authenticates against (workers off the shards).
    pub users: Option<crate::userstore::UserStore>,
}

/// Raises RLIMIT_MEMLOCK's soft limit to the hard limit (io_uring needs locked memory).
pub fn raise_memlock() -> std::io::Result<u64> {
    // SAFETY: getrlimit/setrlimit are called with a valid, fully initialised `rlimit` struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(lim.rlim_cur)
    }
}

/// Raises RLIMIT_NOFILE's soft limit to the hard limit (each client connection can need a
/// backend connection too) and returns the soft limit in force.
pub fn raise_nofile() -> std::io::Result<u64> {
    // SAFETY: getrlimit/setrlimit are called with a valid, fully initialised `rlimit` struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return Ok(raised.rlim_cur);
            }
        }
        Ok(lim.rlim_cur)
    }
}

/// File descriptors kept out of the client-connection budget: the internal API's connections,
/// listeners, io_uring and event descriptors per shard, logs, the registry and deployment files
/// being read, DNS and TLS files.
const FD_RESERVE: u64 = internal::MAX_CONNECTIONS as u64 + 192;

/// The per-shard client-connection limit for an open-file limit of `nofile`: half of what the
/// reserve leaves (the other half for backend connections), shared by the shards; a configured
/// limit above it is lowered to it. Returns the limit and, when a configured value was lowered,
/// that value.
pub fn connection_limit(
    configured: Option<usize>,
    nofile: u64,
    shards: usize,
) -> (usize, Option<usize>) {
    let budget = nofile.saturating_sub(FD_RESERVE) / 2 / shards.max(1) as u64;
    let bound = usize::try_from(budget).unwrap_or(usize::MAX).max(1);
    match configured {
        Some(c) if c > bound => (bound, Some(c)),
        Some(c) => (c.max(1), None),
        None => (bound, None),
    }
}

/// Checks that this process may create an io_uring, so that a seccomp profile or the
/// `kernel.io_uring_disabled` sysctl is named as the cause (glommio would report an old kernel).
pub fn check_io_uring() -> Result<()> {
    // SAFETY: io_uring_setup(2) with one entry and a zeroed, correctly sized params struct; the
    // returned descriptor is closed at once.
    let (fd, err) = unsafe {
        let mut params = [0u8; 120]; // struct io_uring_params
        let fd = libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr());
        (fd, std::io::Error::last_os_error())
    };
    if fd >= 0 {
        // SAFETY: `fd` is a descriptor we own.
        unsafe { libc::close(fd as i32) };
        return Ok(());
    }
    let why = match err.raw_os_error() {
        Some(libc::ENOSYS) => "the kernel has no io_uring (Linux 5.8 or newer with CONFIG_IO_URING is needed)",
        Some(libc::EPERM) | Some(libc::EACCES) => "io_uring is not permitted: a seccomp profile blocks io_uring_setup (Docker 25+ and containerd 2.0+ do by default; see docs/operations.md) or sysctl kernel.io_uring_disabled is set",
        Some(libc::ENOMEM) => "io_uring could not lock memory: raise RLIMIT_MEMLOCK (ulimit -l, LimitMEMLOCK=, docker --ulimit memlock=)",
        _ => "io_uring_setup failed",
    };
    Err(Error::new(ErrorKind::Io, Side::Internal, why).with_cause(err))
}

/// The CPUs this process may run on (its affinity mask: a cgroup cpuset, `taskset`, Kubernetes'
/// CPU manager), as glommio's `CpuSet::online()` ignores it and pinning outside it fails.
fn allowed_cpus() -> Option<CpuSet> {
    // SAFETY: sched_getaffinity(2) fills the zeroed cpu_set_t we pass with its size.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return CpuSet::online().ok();
        }
        set
    };
    // SAFETY: CPU_ISSET reads the set filled above; `cpu` is below CPU_SETSIZE.
    let allowed =
        move |cpu: usize| cpu < libc::CPU_SETSIZE as usize && unsafe { libc::CPU_ISSET(cpu, &set) };
    CpuSet::online().ok().map(|s| s.filter(|l| allowed(l.cpu)))
}

/// One shard per allowed CPU, spread over cores and NUMA nodes; more shards than allowed CPUs
/// (`--cores` above the cpuset) run unpinned, with a warning.
fn placement(shards: usize) -> PoolPlacement {
    match allowed_cpus() {
        Some(cpus) if cpus.len() >= shards => PoolPlacement::MaxSpread(shards, Some(cpus)),
        cpus => {
            tracing::warn!(
                shards,
                allowed_cpus = cpus.as_ref().map(|c| c.len()),
                "more shards than CPUs this process may use: shards are not pinned"
            );
            PoolPlacement::Unbound(shards)
        }
    }
}

/// Registers the process for private expedited `membarrier(2)` while it has one thread. glommio
/// issues such a barrier each time an executor goes to sleep and registers on the first one;
/// registering a process that already has threads waits for an RCU grace period, about 10 ms
/// on this kind of VM, during which the first shard to fall asleep cannot be woken (it was most
/// of the time from the first connection to the first response). Registered early, glommio's
/// own registration returns at once. Must be called before any thread is started; an error
/// (an old kernel) leaves glommio to pick its fallback as before.
pub fn register_membarrier() {
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;
    // SAFETY: membarrier(2) with a command and no flags; it touches no memory of ours.
    unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
            0 as libc::c_int,
        );
    }
}

/// Runs the server until SIGTERM/SIGINT and the drain complete.
pub fn run(boot: Boot) -> Result<()> {
    // glommio registers about 2 MiB of buffers per executor when it can lock them.
    match raise_memlock() {
        Ok(l) if l != libc::RLIM_INFINITY && l < (boot.shards as u64) * 2 * 1024 * 1024 => tracing::warn!(
            memlock_bytes = l,
            "RLIMIT_MEMLOCK is low for {} shards; if start-up fails, raise it (ulimit -l, or LimitMEMLOCK= in systemd) or use --cores",
            boot.shards
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not raise RLIMIT_MEMLOCK"),
    }
    check_io_uring()?;
    let nofile = match raise_nofile() {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not read RLIMIT_NOFILE; assuming 1024");
            1024
        }
    };
    let (conn_limit, lowered) = connection_limit(
        boot.settings.http.max_connections_per_shard,
        nofile,
        boot.shards,
    );
    if let Some(configured) = lowered {
        tracing::warn!(
            configured,
            limit = conn_limit,
            open_files = nofile,
            "max_connections_per_shard lowered to what the open-file limit allows (raise it with ulimit -n or LimitNOFILE=)"
        );
    }
    let s = &boot.settings;
    // As nginx retries its bind: a listener of a process that just stopped can outlive it by a
    // few milliseconds (its io_uring is torn down after the exit), so a restart waits it out.
    let deadline = Instant::now() + PORT_WAIT;
    let addrs = [s.http_port(), s.https_port(), s.internal_port()]
        .map(|port| SocketAddr::new(s.server.bind_address, port));
    while let Err(e) = ports_are_free(&addrs) {
        if Instant::now() >= deadline {
            return Err(e);
        }
        // The main thread at boot, before any shard exists.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(Duration::from_millis(50));
    }
    let term = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, term.clone()).map_err(|e| {
            Error::new(ErrorKind::Io, Side::Internal, "installing signal handlers").with_cause(e)
        })?;
    }
    let watcher = crate::deploy::watch::Watcher {
        home: boot.home.clone(),
        registry: boot.registry.clone(),
        hub: boot.hub.clone(),
        metrics: boot.metrics.clone(),
        hot: boot.settings.server.hot_deployment,
        interval: Duration::from_millis(boot.settings.server.hot_deployment_interval_ms),
    }
    .spawn(term.clone())
    .map_err(|e| {
        Error::new(
            ErrorKind::Io,
            Side::Internal,
            "starting the deployer thread",
        )
        .with_cause(e)
    })?;
    let bound = Arc::new(AtomicUsize::new(0));
    let next_index = Arc::new(AtomicUsize::new(0));
    let shards = boot.shards;
    let term_for_watcher = term.clone();
    let handles = LocalExecutorPoolBuilder::new(placement(shards))
        .name("mint-shard")
        .io_memory(512 * 1024)
        .preempt_timer(crate::net::PREEMPT)
        .on_all_shards(move || {
            let boot = boot.clone();
            let term = term.clone();
            let bound = bound.clone();
            let index = next_index.fetch_add(1, Ordering::SeqCst);
            async move { shard_main(boot, index, term, bound, conn_limit).await }
        })
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                Side::Internal,
                "starting the executors (io_uring; check RLIMIT_MEMLOCK)",
            )
            .with_cause(std::io::Error::other(e.to_string()))
        })?;
    let mut first_err = None;
    let joined = handles.join_all();
    // A shard that failed to start sets `term` too, so the watcher always ends.
    term_for_watcher.store(true, Ordering::SeqCst);
    let _ = watcher.join();
    for r in joined {
        let r = match r {
            Ok(inner) => inner,
            Err(e) => Err(Error::new(ErrorKind::Io, Side::Internal, "executor failed")
                .with_cause(std::io::Error::other(e.to_string()))),
        };
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// How long `serve` waits for a port to be free before it refuses to start.
const PORT_WAIT: Duration = Duration::from_secs(2);

/// Refuses to start on ports another process listens on. The shards bind with `SO_REUSEPORT`,
/// which would let them share the port with any other socket that set it too (a second mint
/// would silently take half the traffic), so the check looks for a listening socket in the
/// kernel's socket tables (netlink's sock_diag, else `/proc/net/tcp`, `/proc/net/tcp6`). A test bind is no good for this:
/// the connections a previous mint closed (TIME_WAIT, FIN_WAIT) keep the port bound for a minute
/// and would make a restart fail although nobody listens.
fn ports_are_free(addrs: &[SocketAddr]) -> Result<()> {
    let in_use = |addr: &SocketAddr| {
        Error::new(
            ErrorKind::Bind,
            Side::Config,
            format!("port {} is in use by another process", addr.port()),
        )
    };
    // The listening sockets from netlink's sock_diag, else from the `/proc` tables.
    let listening = crate::net::listening::tcp_listeners().ok().or_else(|| {
        let tables: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
            .into_iter()
            .filter_map(|table| std::fs::read_to_string(table).ok())
            .collect();
        (!tables.is_empty()).then(|| tables.iter().flat_map(|t| listeners(t)).collect::<Vec<_>>())
    });
    if let Some(listening) = listening {
        return match addrs
            .iter()
            .find(|addr| listening.iter().any(|l| overlaps(*l, **addr)))
        {
            Some(addr) => Err(in_use(addr)),
            None => Ok(()),
        };
    }
    // No socket tables (no /proc): a test bind, which also fails on a restart within TIME_WAIT.
    for addr in addrs {
        match std::net::TcpListener::bind(addr) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(in_use(addr)),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Bind,
                    Side::Config,
                    format!("cannot listen on {addr}"),
                )
                .with_cause(e))
            }
        }
    }
    Ok(())
}

/// The local addresses of the listening sockets in a `/proc/net/tcp{,6}` table. Each row is
/// `sl local_address rem_address st …`, the address as hex words in host byte order and the
/// port as big-endian hex; state `0A` is LISTEN.
fn listeners(table: &str) -> impl Iterator<Item = SocketAddr> + '_ {
    table.lines().skip(1).filter_map(|row| {
        let mut cols = row.split_whitespace();
        let local = cols.nth(1)?;
        if cols.nth(1)? != "0A" {
            return None;
        }
        let (ip, port) = local.split_once(':')?;
        let port = u16::from_str_radix(port, 16).ok()?;
        let ip: std::net::IpAddr = match ip.len() {
            8 => std::net::Ipv4Addr::from(u32::from_str_radix(ip, 16).ok()?.to_ne_bytes()).into(),
            32 => {
                let mut octets = [0u8; 16];
                for (i, word) in octets.chunks_exact_mut(4).enumerate() {
                    let w = u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok()?;
                    word.copy_from_slice(&w.to_ne_bytes());
                }
                std::net::Ipv6Addr::from(octets).into()
            }
            _ => return None,
        };
        Some(SocketAddr::new(ip, port))
    })
}

/// Whether a listener on `l` takes connections meant for `addr`: the same port, and either
/// address a wildcard or both the same (an IPv4-mapped IPv6 address counts as its IPv4 one).
fn overlaps(l: SocketAddr, addr: SocketAddr) -> bool {
    let canon = |ip: std::net::IpAddr| ip.to_canonical();
    l.port() == addr.port()
        && (l.ip().is_unspecified()
            || addr.ip().is_unspecified()
            || canon(l.ip()) == canon(addr.ip()))
}

fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).map_err(|e| {
        Error::new(
            ErrorKind::Bind,
            Side::Config,
            format!("cannot listen on {addr}"),
        )
        .with_cause(std::io::Error::other(e.to_string()))
    })
}

async fn shard_main(
    boot: Boot,
    shard: usize,
    term: Arc<AtomicBool>,
    bound: Arc<AtomicUsize>,
    max_conns: usize,
) -> Result<()> {
    // A shard thread lives as long as the process: it may keep freed blocks for reuse.
    crate::mem::recycle_on_this_thread();
    let s = &boot.settings;
    let http_addr = SocketAddr::new(s.server.bind_address, s.http_port());
    let https_addr = SocketAddr::new(s.server.bind_address, s.https_port());
    let listeners = bind(http_addr).and_then(|h| Ok((h, bind(https_addr)?)));
    let (http_l, https_l) = match listeners {
        Ok(l) => l,
        Err(e) => {
            term.store(true, Ordering::SeqCst);
            return Err(e);
        }
    };
    let internal_l = if shard == 0 {
        let addr = SocketAddr::new(s.server.bind_address, s.internal_port());
        match bind(addr) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "internal API not available");
                None
            }
        }
    } else {
        None
    };
    let tls_source = boot.tls.clone();
    let settings = Rc::new(boot.settings.clone());
    let config = boot.hub.current();
    let engine = Rc::new(EngineSlot::new(
        boot.hub.clone(),
        Engine {
            config: config.clone(),
            backends: Backends::new(
                Pool::new(boot.home.clone(), boot.settings.clone()),
                Clock::real(),
                shard,
                Duration::from_millis(boot.settings.mediation.global_timeout_ms),
                Duration::from_millis(boot.settings.http.body_read_timeout_ms),
            ),
            settings: settings.clone(),
            registry: Rc::new(
                ShardRegistry::new(boot.registry.clone()).with_metrics(boot.metrics.clone(), shard),
            ),
            metrics: boot.metrics.clone(),
            fault_log: Default::default(),
            shard,
            json: boot.settings.json_settings().unwrap_or_default(),
            users: boot.users.clone(),
            me: Default::default(),
            detached: Default::default(),
            stores: boot.hub.stores().clone(),
        },
    ));
    // Rc around the Arc: a clone per connection stays on this core.
    let stats = Rc::new(boot.metrics.clone());
    let drain = Rc::new(Signal::default());
    let active = Rc::new(Cell::new(0usize));
    let hb = Rc::new(options(&settings));
    crate::http::watch::set_half_close(settings.http.half_close);

    // Plain HTTP.
    {
        let (engine, drain, active, hb, stats) = (
            engine.clone(),
            drain.clone(),
            active.clone(),
            hb.clone(),
            stats.clone(),
        );
        glommio::spawn_local(accept_loop(
            http_l,
            drain.clone(),
            active.clone(),
            max_conns,
            move |stream| {
                let (engine, drain, hb) = (engine.clone(), drain.clone(), hb.clone());
                let open = OpenConn::new(&active, &stats, shard);
                glommio::spawn_local(async move {
                    let fd = stream.as_raw_fd();
                    let conn = Conn {
                        https: false,
                        remote: stream.peer_addr().ok().map(|a| a.ip()),
                    };
                    serve(&hb, stream, fd, engine, conn, drain).await;
                    drop(open);
                })
                .detach();
            },
        ))
        .detach();
    }
    // HTTPS: bound now, served once the TLS material is ready (at once with PEM files; after
    // generation of the self-signed certificate otherwise — connections wait in the backlog).
    {
        let (engine, drain, active, hb, stats) = (
            engine.clone(),
            drain.clone(),
            active.clone(),
            hb.clone(),
            stats.clone(),
        );
        let handshake_timeout = settings.header_read_timeout();
        let tls_settings = settings.clone();
        glommio::spawn_local(async move {
            while tls_source.generation() == 0 {
                glommio::timer::sleep(Duration::from_millis(1)).await;
            }
            // This shard's acceptor, rebuilt when the certificate files are re-read.
            let build = move |src: &TlsSource| {
                let generation = src.generation();
                let cfg = match src.get() {
                    Some(m) => match m.as_ref() {
                        Ok(m) => m.server_config(&tls_settings).map_err(|e| e.to_string()),
                        Err(e) => Err(e.clone()),
                    },
                    None => Err("no certificate".to_string()),
                };
                (generation, cfg.map(futures_rustls::TlsAcceptor::from))
            };
            let acceptor = match build(&tls_source) {
                (g, Ok(a)) => Rc::new(RefCell::new((g, a))),
                (_, Err(e)) => {
                    tracing::error!(error = %e, "HTTPS listener disabled: no usable certificate");
                    return;
                }
            };
            accept_loop(
                https_l,
                drain.clone(),
                active.clone(),
                max_conns,
                move |stream| {
                    let generation = tls_source.generation();
                    if generation != acceptor.borrow().0 {
                        match build(&tls_source) {
                            (g, Ok(a)) => *acceptor.borrow_mut() = (g, a),
                            (g, Err(e)) => {
                                acceptor.borrow_mut().0 = g;
                                tracing::error!(error = %e, "new HTTPS certificate unusable: the previous one stays in service");
                            }
                        }
                    }
                    let tls = acceptor.borrow().1.clone();
                    let (engine, drain, hb) = (engine.clone(), drain.clone(), hb.clone());
                    let open = OpenConn::new(&active, &stats, shard);
                    glommio::spawn_local(async move {
                        let fd = stream.as_raw_fd();
                        let conn = Conn {
                            https: true,
                            remote: stream.peer_addr().ok().map(|a| a.ip()),
                        };
                        let hs = tls.accept(stream);
                        let timer = async {
                            glommio::timer::Timer::new(handshake_timeout).await;
                            Err(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "TLS handshake timed out",
                            ))
                        };
                        match futures_lite::future::or(hs, timer).await {
                            Ok(tls_stream) => serve(&hb, tls_stream, fd, engine, conn, drain).await,
                            Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
                        }
                        drop(open);
                    })
                    .detach();
                },
            )
            .await;
        })
        .detach();
    }
    // Message processors and scheduled tasks run on shard 0 (one per server, as in MI).
    if shard == 0 {
        let scheduler = crate::scheduled::Scheduler::new(engine.clone(), boot.hub.stores().clone());
        glommio::spawn_local(scheduler.run(term.clone())).detach();
    }
    if let Some(l) = internal_l {
        glommio::spawn_local(internal::serve(
            l,
            drain.clone(),
            boot.hub.clone(),
            boot.metrics.clone(),
        ))
        .detach();
    }

    if bound.fetch_add(1, Ordering::SeqCst) + 1 == boot.shards {
        tracing::info!(
            shards = boot.shards,
            http = %http_addr,
            https = %https_addr,
            proxies = config.proxies.len(),
            apis = config.apis.len(),
            max_connections_per_shard = max_conns,
            startup_ms = boot.started.elapsed().as_secs_f64() * 1000.0,
            "mint started"
        );
    }

    // Wait for SIGTERM/SIGINT (or a sibling shard's failure), then drain.
    while !term.load(Ordering::Relaxed) {
        glommio::timer::sleep(Duration::from_millis(50)).await;
    }
    drain.fire();
    let deadline = Instant::now() + settings.drain_timeout();
    while active.get() > 0 && Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(10)).await;
    }
    if active.get() > 0 {
        tracing::warn!(
            shard,
            open = active.get(),
            "drain timeout: closing remaining connections"
        );
    }
    Ok(())
}

/// One open client connection, counted while it lives: in the shard's `active` count (the
/// connection limit and the drain wait on it) and in the metrics. `Rc<Arc<…>>` on purpose: a clone
/// per connection must stay on this core (an `Arc` clone would bounce its count between cores).
#[allow(clippy::redundant_allocation)]
struct OpenConn {
    active: Rc<Cell<usize>>,
    metrics: Rc<Arc<Metrics>>,
    shard: usize,
}

impl OpenConn {
    #[allow(clippy::redundant_allocation)]
    fn new(active: &Rc<Cell<usize>>, metrics: &Rc<Arc<Metrics>>, shard: usize) -> OpenConn {
        active.set(active.get() + 1);
        let s = metrics.shard(shard);
        ShardStats::add(&s.connections_total);
        ShardStats::gauge(&s.connections_open, 1);
        OpenConn {
            active: active.clone(),
            metrics: metrics.clone(),
            shard,
        }
    }
}

impl Drop for OpenConn {
    fn drop(&mut self) {
        ShardStats::gauge(&self.metrics.shard(self.shard).connections_open, -1);
        self.active.set(self.active.get() - 1);
    }
}

/// The answer to a connection over `max_connections_per_shard`.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// Accepts until `drain` fires; each connection gets TCP_NODELAY and goes to `on_conn`, unless
/// the shard already has `max` open connections: then it is answered 503 and closed.
async fn accept_loop(
    listener: TcpListener,
    drain: Rc<Signal>,
    active: Rc<Cell<usize>>,
    max: usize,
    on_conn: impl Fn(TcpStream),
) {
    let errors = crate::mediation::LogLimiter::default();
    loop {
        let accepted = {
            let acc = pin!(listener.accept());
            match select(acc, pin!(drain.wait())).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => return,
            }
        };
        match accepted {
            Ok(stream) if active.get() >= max => {
                tracing::debug!(
                    open = active.get(),
                    "connection limit reached: refusing a connection"
                );
                glommio::spawn_local(async move {
                    use futures_lite::AsyncWriteExt;
                    let mut stream = stream;
                    let _ = stream.write_all(BUSY).await;
                    let _ = stream.close().await;
                })
                .detach();
            }
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                on_conn(stream);
            }
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning, and say so a bounded
                // number of times a second.
                if let Some(suppressed) = errors.allow() {
                    tracing::warn!(error = %e, suppressed, "accept failed");
                }
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
        }
        if drain.is_fired() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{connection_limit, listeners, overlaps, ports_are_free};
    use std::net::SocketAddr;

    #[test]
    fn socket_tables_give_the_listeners_only() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:206A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:23E1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100007F:206A 0100007F:D6D8 06 00000000:00000000 03:00000F3E 00000000     0        0 0 3 0
";
        let got: Vec<SocketAddr> = listeners(v4).collect();
        assert_eq!(
            got,
            [
                "0.0.0.0:8298".parse().unwrap(),
                "127.0.0.1:9185".parse().unwrap()
            ]
        );
        let v6 =
            "  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 0
   1: 0000000000000000FFFF00000100007F:1F91 00000000000000000000000000000000:0000 0A 0
";
        let got: Vec<SocketAddr> = listeners(v6).collect();
        assert_eq!(
            got,
            [
                "[::1]:8080".parse().unwrap(),
                "[::ffff:127.0.0.1]:8081".parse().unwrap()
            ]
        );
        let any: SocketAddr = "0.0.0.0:8081".parse().unwrap();
        assert!(overlaps(got[1], any));
        assert!(overlaps(got[1], "127.0.0.1:8081".parse().unwrap()));
        assert!(!overlaps(got[1], "127.0.0.2:8081".parse().unwrap()));
        assert!(!overlaps(got[0], any));
    }

    #[test]
    fn a_listening_port_is_taken_and_a_closed_one_is_free() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert!(ports_are_free(&[addr]).is_err());
        assert!(ports_are_free(&[SocketAddr::new([0, 0, 0, 0].into(), addr.port())]).is_err());
        drop(l);
        assert!(ports_are_free(&[addr]).is_ok());
    }

    #[test]
    fn connection_limit_leaves_room_for_backends_and_the_reserve() {
        // 20,000 descriptors, 2 shards: 4,936 client connections each, so that the clients
        // (9,872) and a backend connection for each (9,872) stay below the limit with the reserve.
        assert_eq!(connection_limit(None, 20_000, 2), (4_936, None));
        // The value the sample deployment.toml used to set is lowered, and said to be.
        assert_eq!(
            connection_limit(Some(10_000), 20_000, 2),
            (4_936, Some(10_000))
        );
        assert_eq!(connection_limit(Some(100), 20_000, 2), (100, None));
        // A tiny limit still lets one connection in.
        assert_eq!(connection_limit(None, 100, 4), (1, None));
    }
}
