//! Each shard's view of the registry: a moka cache whose entries live `cachableDuration`, in front
//! of file reads that run on glommio's blocking pool (never on the shard).
//!
//! Edits on disk become visible once the entry expires (WSO2's lease). Writes made through mint
//! (property mediator, `scope="registry"`) bump the registry's generation; every shard compares it
//! (one atomic load) before each lookup and drops its whole cache when it moved, so a write is
//! visible on every shard at once without cross-shard messages or locks.

use std::cell::Cell;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result, Side};
use crate::telemetry::metrics::{Metrics, ShardStats};

use super::{Registry, Resource};

/// Most entries one shard keeps.
const MAX_ENTRIES: u64 = 10_000;

pub struct ShardRegistry {
    registry: Arc<Registry>,
    /// None when `cachableDuration` is 0 (every lookup reads the file).
    cache: Option<moka::sync::Cache<String, Arc<Resource>>>,
    generation: Cell<u64>,
    /// Hit/miss counters of this shard, when metrics are wired.
    stats: Option<(Arc<Metrics>, usize)>,
}

impl ShardRegistry {
    pub fn new(registry: Arc<Registry>) -> ShardRegistry {
        let ttl = registry.config.cachable_duration;
        let cache = (!ttl.is_zero()).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(ttl)
                .build()
        });
        let generation = Cell::new(registry.generation());
        ShardRegistry {
            registry,
            cache,
            generation,
            stats: None,
        }
    }

    /// Counts this shard's hits and misses in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>, shard: usize) -> ShardRegistry {
        self.stats = Some((metrics, shard));
        self
    }

    fn count(&self, hit: bool) {
        if let Some((m, shard)) = &self.stats {
            let s = m.shard(*shard);
            ShardStats::add(if hit {
                &s.registry_hits
            } else {
                &s.registry_misses
            });
        }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    fn sync_generation(&self) {
        let g = self.registry.generation();
        if g != self.generation.get() {
            if let Some(c) = &self.cache {
                c.invalidate_all();
            }
            self.generation.set(g);
        }
    }

    /// A cached lookup without I/O: `Some` only on a fresh hit.
    pub fn cached(&self, key: &str) -> Option<Arc<Resource>> {
        self.sync_generation();
        let hit = self.cache.as_ref()?.get(key);
        if hit.is_some() {
            self.count(true);
        }
        hit
    }

    /// Looks a key up: from the cache, else from disk (off the shard). `Ok(None)` when the
    /// resource does not exist.
    pub async fn lookup(&self, key: &str) -> Result<Option<Arc<Resource>>> {
        if let Some(r) = self.cached(key) {
            return Ok(Some(r));
        }
        self.count(false);
        let reg = self.registry.clone();
        let k = key.to_string();
        let read = glommio::executor()
            .spawn_blocking(move || reg.read(&k))
            .await;
        let res = read.map_err(|e| Error::new(ErrorKind::Mediation, Side::Internal, e))?;
        let res = res.map(Arc::new);
        if let (Some(c), Some(r)) = (&self.cache, &res) {
            c.insert(key.to_string(), r.clone());
        }
        Ok(res)
    }

    /// Puts a resource in the cache as a miss would (benchmarks and tests).
    pub fn insert_for_bench(&self, key: &str, res: Resource) {
        if let Some(c) = &self.cache {
            c.insert(key.to_string(), Arc::new(res));
        }
    }

    /// Writes through the registry (off the shard); every shard sees it on its next lookup.
    pub async fn write(&self, name: &str, value: &str) -> Result<()> {
        let reg = self.registry.clone();
        let (n, v) = (name.to_string(), value.to_string());
        glommio::executor()
            .spawn_blocking(move || reg.write(&n, &v))
            .await
            .map_err(|e| Error::new(ErrorKind::Mediation, Side::Internal, e))?;
        self.sync_generation();
        Ok(())
    }
}
