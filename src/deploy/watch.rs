//! Hot deployment: a plain thread (never a shard) polls the deployment folders, the CARs,
//! `conf/file.properties` and the registry files the configuration was compiled from; when any of
//! them changed it redeploys the whole home and, when that succeeds, publishes the new `Program`
//! to the shards through the [`ConfigHub`]. A failed redeployment changes nothing that serves: the
//! previous configuration stays, the problems are logged and `/healthz` lists them until a later
//! deployment succeeds.
//!
//! Polling (by size and modification time) rather than inotify: it works the same on every file
//! system (including the overlay and ConfigMap mounts of containers, where a ConfigMap update is
//! a symlink swap that inotify watchers on the old target miss), costs a few `stat`s per second,
//! and WSO2 polls too (every 15 s by default).
//!
//! Registry-sourced sequences and endpoints are compiled into the `Program` like every other
//! artifact (shards never parse configuration), so an edit of such a registry file reaches the
//! shards the same way: the watcher checks those files every `cachableDuration` (at least every
//! 100 ms), whether or not hot deployment of the folders is on — WSO2 re-reads registry resources
//! after `cachableDuration` regardless of hot deployment.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::config::Home;
use crate::deploy::hub::{ConfigHub, Health};
use crate::deploy::{self, Deployment};
use crate::registry::Registry;
use crate::telemetry::metrics::Metrics;

/// What the watcher needs.
pub struct Watcher {
    pub home: Home,
    pub registry: Arc<Registry>,
    pub hub: Arc<ConfigHub>,
    pub metrics: Arc<Metrics>,
    /// Poll the deployment folders (`[server] hot_deployment`).
    pub hot: bool,
    pub interval: Duration,
}

impl Watcher {
    /// Starts the watcher thread; it returns once `term` is set.
    pub fn spawn(self, term: Arc<AtomicBool>) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("mint-deployer".into())
            .spawn(move || self.run(&term))
    }

    fn run(self, term: &AtomicBool) {
        let folders_every = self.interval.max(Duration::from_millis(50));
        let deps_every = self
            .registry
            .config
            .cachable_duration
            .clamp(Duration::from_millis(100), Duration::from_secs(15));
        let mut folders = if self.hot {
            folders_fingerprint(&self.home)
        } else {
            None
        };
        let mut deps = files_fingerprint(&self.hub.current().registry_deps);
        let (mut next_folders, mut next_deps) =
            (Instant::now() + folders_every, Instant::now() + deps_every);
        loop {
            let next = if self.hot {
                next_folders.min(next_deps)
            } else {
                next_deps
            };
            while Instant::now() < next {
                if term.load(Ordering::Relaxed) {
                    return;
                }
                #[allow(clippy::disallowed_methods)] // our own thread, not a shard
                std::thread::sleep(Duration::from_millis(25));
            }
            let now = Instant::now();
            let mut changed = false;
            if self.hot && now >= next_folders {
                next_folders = now + folders_every;
                // A folder that cannot be listed now (out of file descriptors under a connection
                // flood, say) tells nothing: the next round looks again.
                match (folders, folders_fingerprint(&self.home)) {
                    (None, now) => folders = now,
                    (Some(before), Some(now)) if before != now => {
                        folders = Some(self.settled(now, term));
                        changed = true;
                    }
                    _ => {}
                }
            }
            if now >= next_deps {
                next_deps = now + deps_every;
                let fp = files_fingerprint(&self.hub.current().registry_deps);
                if fp != deps {
                    deps = fp;
                    changed = true;
                }
            }
            if changed {
                self.redeploy();
                deps = files_fingerprint(&self.hub.current().registry_deps);
            }
        }
    }

    /// Waits until the folders stop changing (a file being copied or written in place is seen
    /// whole, not half-written), for at most about a second; returns the last fingerprint.
    fn settled(&self, mut fp: u64, term: &AtomicBool) -> u64 {
        for _ in 0..10 {
            #[allow(clippy::disallowed_methods)] // our own thread, not a shard
            std::thread::sleep(Duration::from_millis(100));
            if term.load(Ordering::Relaxed) {
                break;
            }
            match folders_fingerprint(&self.home) {
                Some(again) if again != fp => fp = again,
                _ => break,
            }
        }
        fp
    }

    /// Deploys the home again; publishes the result when it is valid.
    pub fn redeploy(&self) {
        let started = Instant::now();
        let Deployment {
            config,
            problems,
            faulty_capps,
        } = deploy::deploy_home(&self.home, &self.registry, Some(&self.metrics));
        for p in &problems {
            if p.is_warning() {
                tracing::warn!("{p}");
            } else {
                tracing::error!("{p}");
            }
        }
        match config {
            Some(c) => {
                let (proxies, apis) = (c.proxies.len(), c.apis.len());
                let generation = self.hub.publish(Arc::new(c));
                self.metrics.deployments_ok.fetch_add(1, Ordering::Relaxed);
                self.metrics
                    .config_generation
                    .store(generation, Ordering::Relaxed);
                self.hub.set_health(Health {
                    faulty_capps,
                    faulty_artifacts: Vec::new(),
                });
                tracing::info!(
                    generation,
                    proxies,
                    apis,
                    ms = started.elapsed().as_secs_f64() * 1000.0,
                    "redeployed"
                );
            }
            None => {
                self.metrics
                    .deployments_failed
                    .fetch_add(1, Ordering::Relaxed);
                let errors = problems
                    .iter()
                    .filter(|p| p.is_error())
                    .map(|p| p.to_string())
                    .collect();
                self.hub.set_health(Health {
                    faulty_capps,
                    faulty_artifacts: errors,
                });
                tracing::error!(
                    "redeployment failed; the previous configuration keeps serving (see /healthz)"
                );
            }
        }
    }
}

/// Size and modification time of every file under the deployment folders, the CARs and
/// `conf/file.properties`, hashed; `None` when a folder could not be listed for a reason other
/// than its absence.
fn folders_fingerprint(home: &Home) -> Option<u64> {
    let mut files = Vec::new();
    walk(&home.synapse_dir(), &mut files, 0).ok()?;
    walk(&home.carbonapps_dir(), &mut files, 0).ok()?;
    files.push(home.root.join("conf").join("file.properties"));
    files.sort();
    Some(files_fingerprint(&files))
}

fn files_fingerprint(files: &[PathBuf]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        f.hash(&mut h);
        match std::fs::metadata(f) {
            Ok(m) => {
                m.len().hash(&mut h);
                m.modified()
                    .ok()
                    .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                    .hash(&mut h);
            }
            Err(_) => 0xdead_u64.hash(&mut h),
        }
    }
    h.finish()
}

/// Every file below `dir` (symlinks followed, 8 levels at most). A missing folder has no files;
/// any other failure to list one (EMFILE, EACCES…) is returned.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    if depth > 8 {
        return Ok(());
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, out, depth + 1)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}
