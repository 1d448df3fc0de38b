//! The hand-over point between the deployer and the shards.
//!
//! The deployer (start-up, then the hot-deployment watcher thread) publishes each new [`Program`]
//! here and bumps `generation`. A shard checks the generation once per request — one relaxed
//! load of a line that only changes on redeploy, so it stays shared in every core's cache — and
//! only when it moved does it take the new `Program` and build a new engine around it. Requests
//! already running keep the engine (and `Program`) they started with, so a swap drops nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::program::Program;
use crate::stores::Stores;

/// Makes the deployed stores those of `config`; a store whose worker cannot start is logged (the
/// `store` mediator then faults on it).
fn deploy_stores(stores: &Stores, config: &Program) {
    for e in stores.reconcile(&config.stores) {
        tracing::error!("{e}");
    }
}

/// Why `/healthz` says "not ready".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// CARs that failed to deploy (rolled back), by file name.
    pub faulty_capps: Vec<String>,
    /// Problems of the last failed redeployment of loose artifacts (`file:line:col: message`);
    /// the previous configuration keeps serving meanwhile.
    pub faulty_artifacts: Vec<String>,
}

impl Health {
    pub fn ready(&self) -> bool {
        self.faulty_capps.is_empty() && self.faulty_artifacts.is_empty()
    }
}

pub struct ConfigHub {
    generation: AtomicU64,
    current: ArcSwap<Program>,
    health: ArcSwap<Health>,
    /// The message stores of the configuration now published (they outlive configurations: a
    /// store whose definition does not change keeps its worker and its messages).
    stores: Arc<Stores>,
}

impl ConfigHub {
    pub fn new(config: Arc<Program>, health: Health) -> ConfigHub {
        let stores = Arc::new(Stores::default());
        deploy_stores(&stores, &config);
        ConfigHub {
            generation: AtomicU64::new(1),
            current: ArcSwap::new(config),
            health: ArcSwap::from_pointee(health),
            stores,
        }
    }

    /// The deployed message stores.
    pub fn stores(&self) -> &Arc<Stores> {
        &self.stores
    }

    /// The generation of the configuration now published (starts at 1).
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The configuration now published.
    pub fn current(&self) -> Arc<Program> {
        self.current.load_full()
    }

    /// Publishes a new configuration (its message stores first); returns its generation.
    pub fn publish(&self, config: Arc<Program>) -> u64 {
        deploy_stores(&self.stores, &config);
        self.current.store(config);
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }

    pub fn health(&self) -> Arc<Health> {
        self.health.load_full()
    }

    pub fn set_health(&self, health: Health) {
        self.health.store(Arc::new(health));
    }
}
