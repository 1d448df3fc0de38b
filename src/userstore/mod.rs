//! MI's user store as its basic-auth API handler uses it: `[user_store] type = "read_only_ldap"`
//! (or `read_write_ldap`, read the same way) as Carbon's `ReadOnlyLDAPUserStoreManager`
//! (`ldap.rs`), `type = "database"` as MI's `JDBCUserStoreManager`, on PostgreSQL (`jdbc.rs`).
//!
//! Both are blocking I/O: it runs on worker threads off the shards, each with its own connection
//! (re-opened after a failure). A shard hands a job over a channel and awaits the answer on a
//! oneshot; nothing blocks a shard. A store that cannot be reached answers "not authenticated".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
mod jdbc;
mod ldap;

pub use jdbc::{Digest, JdbcConfig};
pub use ldap::LdapConfig;

/// Which store, and where.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    Ldap(LdapConfig),
    Jdbc(JdbcConfig),
}

impl StoreConfig {
    fn describe(&self) -> String {
        match self {
            StoreConfig::Ldap(c) => format!("LDAP user store at {}", c.url),
            StoreConfig::Jdbc(c) => format!("JDBC user store at {}", c.target.describe()),
        }
    }
}

type Reply = futures_channel::oneshot::Sender<Result<bool, String>>;

struct Job {
    user: String,
    password: String,
    reply: Reply,
}

/// A handle to the user store's workers; cheap to clone, shared by the shards.
#[derive(Clone)]
pub struct UserStore {
    /// One queue per worker (each owns its connection); jobs are dealt round-robin.
    workers: Arc<[mpsc::Sender<Job>]>,
    next: Arc<AtomicUsize>,
    description: Arc<str>,
}

impl std::fmt::Debug for UserStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl UserStore {
    /// Starts `workers` threads against the store described by `cfg`.
    pub fn start(cfg: StoreConfig, workers: usize) -> std::io::Result<UserStore> {
        let mut queues = Vec::new();
        for i in 0..workers.max(1) {
            let (tx, rx) = mpsc::channel::<Job>();
            let cfg = cfg.clone();
            std::thread::Builder::new()
                .name(format!("mint-users-{i}"))
                .spawn(move || worker(cfg, rx))?;
            queues.push(tx);
        }
        Ok(UserStore {
            workers: queues.into(),
            next: Arc::new(AtomicUsize::new(0)),
            description: cfg.describe().into(),
        })
    }

    /// Whether `user` is who `password` says. Errors (unreachable directory) are `Err`, which
    /// callers treat as not authenticated.
    pub async fn authenticate(&self, user: &str, password: &str) -> Result<bool, String> {
        let (reply, answer) = futures_channel::oneshot::channel();
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        self.workers[i]
            .send(Job {
                user: user.to_string(),
                password: password.to_string(),
                reply,
            })
            .map_err(|_| "the user store's workers are gone".to_string())?;
        answer
            .await
            .map_err(|_| "the user store's worker dropped the request".to_string())?
    }
}

fn worker(cfg: StoreConfig, jobs: mpsc::Receiver<Job>) {
    let mut directory: Option<ldap3::LdapConn> = None;
    let mut database: Option<postgres::Client> = None;
    while let Ok(job) = jobs.recv() {
        let result = match &cfg {
            StoreConfig::Ldap(c) => ldap::authenticate(c, &mut directory, &job.user, &job.password),
            StoreConfig::Jdbc(c) => jdbc::authenticate(c, &mut database, &job.user, &job.password),
        };
        if result.is_err() {
            // A failed exchange may have left the connection unusable: open a new one next time.
            directory = None;
            database = None;
        }
        let _ = job.reply.send(result);
    }
}
