//! Prometheus metrics, collected without locks and without shared writes on the request path.
//!
//! Every counter set has one slot per shard, aligned to its own cache lines. A shard only ever
//! writes its own slot, so an increment is a relaxed load and store on a line no other core
//! writes (no read-modify-write, no contention); the internal API sums the slots when scraped.
//! Per-service sets ([`ServiceStats`]) are created by the deployer, off the shards, by kind and
//! name, and kept across redeployments so counters never go backwards; the compiled `Config`
//! holds them, so a shard reaches its slot without a lookup.
//!
//! Names and labels follow WSO2 MI's Prometheus publisher (`wso2_integration_proxy_*`,
//! `wso2_integration_api_*`, and `wso2_integration_server_up`, `…_server_version`,
//! `…_service_up`, which hold the Unix time each came up) so existing dashboards work; what WSO2
//! does not publish is under `mint_` (endpoints, connections, in-flight requests, registry cache,
//! deployments).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

/// Histogram bucket upper bounds, in seconds.
pub const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
const BUCKETS_NS: [u64; 16] = {
    let mut out = [0u64; 16];
    let mut i = 0;
    while i < 16 {
        out[i] = (BUCKETS[i] * 1e9) as u64;
        i += 1;
    }
    out
};

/// One shard's counters of one service: written by that shard only.
#[repr(align(128))]
#[derive(Default)]
struct Slot {
    requests: AtomicU64,
    errors: AtomicU64,
    sum_ns: AtomicU64,
    /// Non-cumulative counts per bucket; the last one is `+Inf`.
    buckets: [AtomicU64; 17],
}

/// Single-writer increment: the owning shard is the only writer, so load + store is exact.
#[inline]
fn bump(c: &AtomicU64, by: u64) {
    c.store(
        c.load(Ordering::Relaxed).wrapping_add(by),
        Ordering::Relaxed,
    );
}

/// What a [`ServiceStats`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Proxy,
    Api,
    Endpoint,
}

/// Requests, errors and latency of one proxy, API or endpoint, one slot per shard.
pub struct ServiceStats {
    kind: Kind,
    name: String,
    /// WSO2's `invocation_url` label (the API context); empty for others.
    url: String,
    slots: Box<[Slot]>,
}

impl std::fmt::Debug for ServiceStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceStats({:?} {})", self.kind, self.name)
    }
}

impl ServiceStats {
    /// Records one request served by `shard`.
    #[inline]
    pub fn record(&self, shard: usize, elapsed: Duration, error: bool) {
        let Some(s) = self.slots.get(shard) else {
            return;
        };
        let ns = elapsed.as_nanos().min(u64::MAX as u128) as u64;
        bump(&s.requests, 1);
        if error {
            bump(&s.errors, 1);
        }
        bump(&s.sum_ns, ns);
        let i = BUCKETS_NS.partition_point(|&b| b < ns);
        bump(&s.buckets[i], 1);
    }

    fn totals(&self) -> (u64, u64, u64, [u64; 17]) {
        let (mut r, mut e, mut sum, mut b) = (0, 0, 0, [0u64; 17]);
        for s in self.slots.iter() {
            r += s.requests.load(Ordering::Relaxed);
            e += s.errors.load(Ordering::Relaxed);
            sum += s.sum_ns.load(Ordering::Relaxed);
            for (t, c) in b.iter_mut().zip(&s.buckets) {
                *t += c.load(Ordering::Relaxed);
            }
        }
        (r, e, sum, b)
    }
}

/// Per-shard server counters (connections, in-flight requests, registry cache).
#[repr(align(128))]
#[derive(Default)]
pub struct ShardStats {
    pub connections_open: AtomicI64,
    pub connections_total: AtomicU64,
    pub in_flight: AtomicI64,
    pub registry_hits: AtomicU64,
    pub registry_misses: AtomicU64,
    /// Cache mediator: answers from a cache, lookups that missed, responses stored, responses
    /// not stored (status, method, size or `no-store`), entries found past their timeout.
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub cache_stored: AtomicU64,
    pub cache_not_stored: AtomicU64,
    pub cache_expired: AtomicU64,
}

impl ShardStats {
    #[inline]
    pub fn add(c: &AtomicU64) {
        bump(c, 1);
    }
    #[inline]
    pub fn gauge(g: &AtomicI64, delta: i64) {
        g.store(g.load(Ordering::Relaxed) + delta, Ordering::Relaxed);
    }
}

/// Every metric of the process.
pub struct Metrics {
    shards: usize,
    started: Instant,
    shard_stats: Box<[ShardStats]>,
    /// Append-only; replaced whole (copy on write) by the deployer when a new service appears.
    services: ArcSwap<Vec<Arc<ServiceStats>>>,
    /// The services deployed now, with the time (Unix seconds) each came up (for
    /// `wso2_integration_service_up`).
    deployed: ArcSwap<Vec<(Kind, String, f64)>>,
    /// When the server came up (Unix seconds), its host and HTTP port: MI's
    /// `wso2_integration_server_up` labels.
    server: std::sync::OnceLock<(f64, String, u16)>,
    pub deployments_ok: AtomicU64,
    pub deployments_failed: AtomicU64,
    pub config_generation: AtomicU64,
}

impl Metrics {
    pub fn new(shards: usize) -> Metrics {
        let shards = shards.max(1);
        Metrics {
            shards,
            started: Instant::now(),
            shard_stats: (0..shards).map(|_| ShardStats::default()).collect(),
            services: ArcSwap::from_pointee(Vec::new()),
            deployed: ArcSwap::from_pointee(Vec::new()),
            server: std::sync::OnceLock::new(),
            deployments_ok: AtomicU64::new(0),
            deployments_failed: AtomicU64::new(0),
            config_generation: AtomicU64::new(0),
        }
    }

    /// The counters of `shard` (shard 0's for an out-of-range index).
    pub fn shard(&self, shard: usize) -> &ShardStats {
        self.shard_stats.get(shard).unwrap_or(&self.shard_stats[0])
    }

    /// The counter set of a service, created on first use. Called by the deployer only.
    pub fn service(&self, kind: Kind, name: &str, url: &str) -> Arc<ServiceStats> {
        let found = self
            .services
            .load()
            .iter()
            .find(|s| s.kind == kind && s.name == name && s.url == url)
            .cloned();
        if let Some(s) = found {
            return s;
        }
        let new = Arc::new(ServiceStats {
            kind,
            name: name.to_string(),
            url: url.to_string(),
            slots: (0..self.shards).map(|_| Slot::default()).collect(),
        });
        self.services.rcu(|v| {
            let mut v = Vec::clone(v);
            v.push(new.clone());
            v
        });
        new
    }

    /// Records which services the configuration now in use deploys (a service already up keeps
    /// the time it came up).
    pub fn set_deployed(&self, services: Vec<(Kind, String)>) {
        let now = unix_now();
        let before = self.deployed.load();
        let list = services
            .into_iter()
            .map(|(k, n)| {
                let since = before
                    .iter()
                    .find(|(bk, bn, _)| *bk == k && *bn == n)
                    .map_or(now, |(_, _, t)| *t);
                (k, n, since)
            })
            .collect();
        self.deployed.store(Arc::new(list));
    }

    /// Records that the server is up, serving HTTP on `host`:`port`.
    pub fn server_up(&self, host: &str, port: u16) {
        let _ = self.server.set((unix_now(), host.to_string(), port));
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let services = self.services.load();
        let families = [
            (Kind::Proxy, "wso2_integration_proxy", "proxy service"),
            (Kind::Api, "wso2_integration_api", "API"),
            (Kind::Endpoint, "mint_endpoint", "endpoint"),
        ];
        for (kind, prefix, what) in families {
            let of_kind: Vec<_> = services.iter().filter(|s| s.kind == kind).collect();
            let totals: Vec<_> = of_kind.iter().map(|s| (s, s.totals())).collect();
            let count = format!("{prefix}_request_count_total");
            let errors = format!("{prefix}_request_count_error_total");
            let latency = format!("{prefix}_latency_seconds");
            let _ = writeln!(out, "# HELP {count} Total number of requests to a {what}.");
            let _ = writeln!(out, "# TYPE {count} counter");
            for (s, (r, _, _, _)) in &totals {
                let _ = writeln!(out, "{count}{{{}}} {r}", labels(s));
            }
            let _ = writeln!(
                out,
                "# HELP {errors} Total number of error requests to a {what}."
            );
            let _ = writeln!(out, "# TYPE {errors} counter");
            for (s, (_, e, _, _)) in &totals {
                let _ = writeln!(out, "{errors}{{{}}} {e}", labels(s));
            }
            let _ = writeln!(out, "# HELP {latency} {what} latency in seconds.");
            let _ = writeln!(out, "# TYPE {latency} histogram");
            for (s, (r, _, sum, b)) in &totals {
                let l = labels(s);
                let mut cum = 0;
                for (i, bound) in BUCKETS.iter().enumerate() {
                    cum += b[i];
                    let _ = writeln!(out, "{latency}_bucket{{{l},le=\"{bound}\"}} {cum}");
                }
                let _ = writeln!(out, "{latency}_bucket{{{l},le=\"+Inf\"}} {r}");
                let _ = writeln!(out, "{latency}_sum{{{l}}} {}", *sum as f64 / 1e9);
                let _ = writeln!(out, "{latency}_count{{{l}}} {r}");
            }
        }
        // MI's gauges: the time (Unix seconds) the server and each service came up.
        let _ = writeln!(
            out,
            "# HELP wso2_integration_server_up Server Status\n# TYPE wso2_integration_server_up gauge"
        );
        if let Some((since, host, port)) = self.server.get() {
            let _ = writeln!(
                out,
                "wso2_integration_server_up{{host=\"{}\",port=\"{port}\",java_home=\"\",java_version=\"\"}} {since:.3}",
                escape(host)
            );
            let _ = writeln!(
                out,
                "# HELP wso2_integration_server_version Version and Update Level of Server\n# TYPE wso2_integration_server_version gauge\nwso2_integration_server_version{{version=\"mint-{}\",update_level=\"0\"}} {since:.3}",
                env!("CARGO_PKG_VERSION")
            );
        }
        let _ = writeln!(
            out,
            "# HELP wso2_integration_service_up Service status\n# TYPE wso2_integration_service_up gauge"
        );
        for (kind, name, since) in self.deployed.load().iter() {
            let ty = match kind {
                Kind::Proxy => "proxy",
                Kind::Api => "api",
                Kind::Endpoint => continue,
            };
            let _ = writeln!(
                out,
                "wso2_integration_service_up{{service_name=\"{}\",service_type=\"{ty}\"}} {since:.3}",
                escape(name)
            );
        }
        let shard_families: [ShardFamily; 10] = [
            (
                "mint_http_connections",
                "gauge",
                "Open client connections.",
                |s| s.connections_open.load(Ordering::Relaxed),
            ),
            (
                "mint_http_connections_total",
                "counter",
                "Accepted client connections.",
                |s| s.connections_total.load(Ordering::Relaxed) as i64,
            ),
            (
                "mint_requests_in_flight",
                "gauge",
                "Requests being mediated.",
                |s| s.in_flight.load(Ordering::Relaxed),
            ),
            (
                "mint_registry_cache_hits_total",
                "counter",
                "Registry lookups served from a shard's cache.",
                |s| s.registry_hits.load(Ordering::Relaxed) as i64,
            ),
            (
                "mint_registry_cache_misses_total",
                "counter",
                "Registry lookups that read the file.",
                |s| s.registry_misses.load(Ordering::Relaxed) as i64,
            ),
            (
                "mint_cache_hits_total",
                "counter",
                "Requests the cache mediator answered from its cache.",
                |s| s.cache_hits.load(Ordering::Relaxed) as i64,
            ),
            (
                "mint_cache_misses_total",
                "counter",
                "Requests the cache mediator did not find (or found stale).",
                |s| s.cache_misses.load(Ordering::Relaxed) as i64,
            ),
            (
                "mint_cache_stored_total",
                "counter",
                "Responses the cache mediator stored.",
                |s| s.cache_stored.load(Ordering::Relaxed) as i64,
            ),
            (
                "mint_cache_not_stored_total",
                "counter",
                "Responses the cache mediator did not store (status, method, size or no-store).",
                |s| s.cache_not_stored.load(Ordering::Relaxed) as i64,
            ),
            (
                "mint_cache_expired_total",
                "counter",
                "Cache entries found past their timeout (dropped at that lookup).",
                |s| s.cache_expired.load(Ordering::Relaxed) as i64,
            ),
        ];
        for (name, ty, help, get) in shard_families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {ty}");
            for (i, s) in self.shard_stats.iter().enumerate() {
                let _ = writeln!(out, "{name}{{shard=\"{i}\"}} {}", get(s).max(0));
            }
        }
        let _ = writeln!(
            out,
            "# HELP mint_deployments_total Configuration deployments (start-up and hot).\n# TYPE mint_deployments_total counter"
        );
        let _ = writeln!(
            out,
            "mint_deployments_total{{result=\"success\"}} {}",
            self.deployments_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "mint_deployments_total{{result=\"failure\"}} {}",
            self.deployments_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP mint_config_generation Generation of the configuration in use.\n# TYPE mint_config_generation gauge\nmint_config_generation {}",
            self.config_generation.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP mint_socket_missed_wakeups_total Times ready sockets did not wake a sleeping shard and its timer found them (each cost up to {} ms).\n# TYPE mint_socket_missed_wakeups_total counter\nmint_socket_missed_wakeups_total {}",
            crate::net::ring::SLEEP_BOUND.as_millis(),
            crate::net::missed_wake_ups()
        );
        let _ = writeln!(
            out,
            "# HELP mint_uptime_seconds Seconds since start.\n# TYPE mint_uptime_seconds gauge\nmint_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        out
    }
}

/// (name, type, help, read) of a per-shard series.
type ShardFamily = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ShardStats) -> i64,
);

fn labels(s: &ServiceStats) -> String {
    match s.kind {
        Kind::Proxy => format!(
            "service_name=\"{}\",service_type=\"proxy\"",
            escape(&s.name)
        ),
        Kind::Api => format!(
            "service_name=\"{}\",service_type=\"api\",invocation_url=\"{}\"",
            escape(&s.name),
            escape(&s.url)
        ),
        Kind::Endpoint => format!("endpoint=\"{}\"", escape(&s.name)),
    }
}

/// Label-value escaping of the text format: backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Now, in Unix seconds.
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_over_shards_and_buckets_are_cumulative() {
        let m = Metrics::new(2);
        let p = m.service(Kind::Proxy, "P", "");
        p.record(0, Duration::from_micros(200), false);
        p.record(1, Duration::from_millis(3), true);
        p.record(1, Duration::from_secs(20), false);
        assert!(Arc::ptr_eq(&p, &m.service(Kind::Proxy, "P", "")));
        let text = m.render();
        assert!(text.contains(
            "wso2_integration_proxy_request_count_total{service_name=\"P\",service_type=\"proxy\"} 3"
        ));
        assert!(text.contains("wso2_integration_proxy_request_count_error_total{service_name=\"P\",service_type=\"proxy\"} 1"));
        assert!(text.contains("le=\"0.00025\"} 1\n"), "{text}");
        assert!(text.contains("le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 3\n"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new(1);
        m.service(Kind::Api, "a\"b", "/x\\y");
        let text = m.render();
        assert!(text.contains("service_name=\"a\\\"b\""), "{text}");
        assert!(text.contains("invocation_url=\"/x\\\\y\""), "{text}");
    }
}
