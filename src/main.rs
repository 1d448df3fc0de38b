//! `mint`: parse flags, load and validate configuration before binding any port, start logging,
//! run the server, map failures to exit codes (64 bad flags/config, 65 invalid artifacts, 69 a port in use).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use mint::config::{Home, Settings};
use mint::deploy;
use mint::deploy::hub::{ConfigHub, Health};
use mint::http::tls::TlsSource;
use mint::registry::{Registry, RegistryConfig};
use mint::server::{self, Boot};
use mint::telemetry::metrics::Metrics;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// glibc with a per-shard cache of blocks of 1–16 KiB (see `mint::mem`).
#[global_allocator]
static ALLOCATOR: mint::mem::Recycling = mint::mem::Recycling;

const EX_USAGE: u8 = 64;
const EX_DATAERR: u8 = 65;
/// A port is taken by another process (or cannot be bound).
const EX_UNAVAILABLE: u8 = 69;

#[derive(Parser)]
#[command(
    name = "mint",
    version,
    about = "A Micro Integrator: runs WSO2 Synapse artifacts on a thread-per-core runtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server in the foreground.
    Serve {
        /// Home folder (conf/, repository/, registry/). Default: $MINT_HOME, else the current folder.
        #[arg(long, env = "MINT_HOME")]
        home: Option<PathBuf>,
        /// Port offset (overrides [server] offset): HTTP 8280+N, HTTPS 8243+N.
        #[arg(long)]
        offset: Option<u16>,
        /// Number of cores (shards) to run on (overrides [server] cores). Default: all online cores.
        #[arg(long)]
        cores: Option<usize>,
    },
    /// Load and validate every artifact; print problems as path:line:col: message.
    Check {
        #[arg(long, env = "MINT_HOME")]
        home: Option<PathBuf>,
        /// Treat warnings (constructs mint does not honour) as errors: exit 65 if there is one.
        #[arg(long)]
        strict: bool,
    },
    /// WSO2's secure vault: encrypt a value for `[secrets]` with the primary keystore's
    /// certificate (what MI's cipher tool does). Prints `alias = "ciphertext"`.
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
}

#[derive(Subcommand)]
enum SecretAction {
    /// Encrypt VALUE (or, without it, one line read from standard input).
    Encrypt {
        #[arg(long, env = "MINT_HOME")]
        home: Option<PathBuf>,
        /// The alias the value will have in `[secrets]`.
        alias: String,
        value: Option<String>,
    },
}

/// The store configuration `[user_store]` describes (MI's read-only LDAP defaults when absent).
fn user_store_config(settings: &Settings) -> Result<mint::userstore::StoreConfig, String> {
    use mint::config::userstore::UserStoreType;
    use mint::userstore::{JdbcConfig, LdapConfig, StoreConfig};
    let s = settings.user_store.clone().unwrap_or_default();
    match s.kind {
        UserStoreType::ReadOnlyLdap | UserStoreType::ReadWriteLdap => {
            LdapConfig::from_settings(&s).map(StoreConfig::Ldap)
        }
        UserStoreType::Database => JdbcConfig::from_settings(
            &s,
            &settings.datasource,
            &settings.realm_manager.data_source,
        )
        .map(StoreConfig::Jdbc),
        UserStoreType::DatabaseUniqueId => Err(
            "[user_store] type \"database_unique_id\" is not an MI user store type (MI reads \"database\" for JDBC)".into(),
        ),
    }
}

/// The user store of `[user_store]`: workers off the shards, started now and connecting on
/// first use.
fn start_user_store(settings: &Settings) -> Result<mint::userstore::UserStore, String> {
    let cfg = user_store_config(settings)?;
    mint::userstore::UserStore::start(cfg, 2)
        .map_err(|e| format!("cannot start the user store workers: {e}"))
}

/// `mint secret encrypt`: the `[secrets]` line for `alias`, encrypted with the primary keystore.
fn encrypt_secret(home: &Home, alias: &str, value: Option<String>) -> Result<String, String> {
    let settings = Settings::load(home).map_err(|e| e.to_string())?;
    let store = settings.primary_store(home).ok_or(
        "no primary keystore: set [keystore.primary] (or put MI's wso2carbon.jks in repository/resources/security/)",
    )?;
    let ks = store.open(home)?;
    let cert = ks.certificate(store.alias.as_deref()).ok_or_else(|| {
        format!(
            "{}: no certificate to encrypt with",
            store.file_name.display()
        )
    })?;
    let value = match value {
        Some(v) => v,
        None => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let c = mint::config::secrets::encrypt(cert, &value)?;
    Ok(format!("{alias} = \"{c}\""))
}

fn home_dir(home: Option<PathBuf>) -> Result<Home, String> {
    let root = match home {
        Some(h) => h,
        None => {
            std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?
        }
    };
    if !root.is_dir() {
        return Err(format!("{}: home folder does not exist", root.display()));
    }
    Ok(Home::new(root))
}

/// Reads `conf/registry.xml` and opens the registry (creating missing root folders when `create`).
/// Problems print as `path:line:col: message`; None means the file is unusable.
fn load_registry(home: &Home, create: bool) -> Option<(Registry, usize)> {
    match RegistryConfig::load(home) {
        Ok((cfg, warnings)) => {
            for w in &warnings {
                eprintln!("{w}");
            }
            let warned = warnings.len();
            if !create {
                return Some((Registry::unopened(cfg), warned));
            }
            match Registry::open(cfg) {
                Ok(r) => Some((r, warned)),
                Err(e) => {
                    eprintln!("{e}");
                    None
                }
            }
        }
        Err(e) => {
            eprintln!("{e}");
            None
        }
    }
}

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EX_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Secret {
            action: SecretAction::Encrypt { home, alias, value },
        } => {
            let home = match home_dir(home) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EX_USAGE);
                }
            };
            match encrypt_secret(&home, &alias, value) {
                Ok(line) => {
                    println!("{line}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mint: {e}");
                    ExitCode::from(EX_USAGE)
                }
            }
        }
        Command::Check { home, strict } => {
            let home = match home_dir(home) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EX_USAGE);
                }
            };
            let (settings_warnings, store_problem) = match Settings::load(&home) {
                Ok(s) => {
                    let w = s.warning_diagnostics(&home);
                    for d in &w {
                        eprintln!("{d}");
                    }
                    (w.len(), user_store_config(&s).err())
                }
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EX_USAGE);
                }
            };
            let Some((registry, registry_warnings)) = load_registry(&home, false) else {
                return ExitCode::from(EX_USAGE);
            };
            let d = deploy::deploy_home(&home, &registry, None);
            for p in &d.problems {
                eprintln!("{p}");
            }
            for car in &d.faulty_capps {
                eprintln!("{car}: faulty CAR (not deployed)");
            }
            if !d.faulty_capps.is_empty() {
                return ExitCode::from(EX_DATAERR);
            }
            let mut settings_warnings = settings_warnings;
            if let Some(e) = store_problem {
                let toml = home.deployment_toml();
                if d.config
                    .as_ref()
                    .is_some_and(|c| c.apis.iter().any(|a| a.basic_auth))
                {
                    eprintln!("{}: {e}", toml.display());
                    return ExitCode::from(EX_USAGE);
                }
                eprintln!(
                    "{}: warning: {e} (no API uses the basic-auth handler)",
                    toml.display()
                );
                settings_warnings += 1;
            }
            let warnings = registry_warnings
                + settings_warnings
                + d.problems
                    .iter()
                    .filter(|p| p.severity == mint::diag::Severity::Warning)
                    .count();
            if strict && warnings > 0 && d.config.is_some() {
                eprintln!("{warnings} warning(s): not accepted with --strict");
                return ExitCode::from(EX_DATAERR);
            }
            match d.config {
                Some(c) => {
                    println!(
                        "ok: {} proxies, {} APIs, {} sequences, {} endpoints",
                        c.proxies.len(),
                        c.apis.len(),
                        c.named_sequences.len(),
                        c.named_endpoints.len()
                    );
                    ExitCode::SUCCESS
                }
                None => ExitCode::from(EX_DATAERR),
            }
        }
        Command::Serve {
            home,
            offset,
            cores,
        } => {
            // Before any thread exists (see there).
            server::register_membarrier();
            mint::message::context::return_freed_bodies_to_the_system();
            let home = match home_dir(home) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EX_USAGE);
                }
            };
            let mut settings = match Settings::load(&home) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EX_USAGE);
                }
            };
            mint::telemetry::init(&settings.logging, &settings.vault);
            for d in settings.warning_diagnostics(&home) {
                eprintln!("{d}");
            }
            if let Some(o) = offset {
                if o > 65535 - 9191 {
                    eprintln!("--offset {o} pushes ports past 65535");
                    return ExitCode::from(EX_USAGE);
                }
                settings.server.offset = o;
            }
            if let Some(c) = cores {
                settings.server.cores = c;
            }
            let online = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            let shards = match settings.server.cores {
                0 => online,
                n => n,
            };
            // First, so that a certificate generated for want of a configured one is made on
            // the other CPU while the artifacts deploy on this one.
            let tls = match TlsSource::load(&home, &settings) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EX_USAGE);
                }
            };
            let Some((registry, _)) = load_registry(&home, true) else {
                return ExitCode::from(EX_USAGE);
            };
            let metrics = Arc::new(Metrics::new(shards));
            let d = deploy::deploy_home(&home, &registry, Some(&metrics));
            for p in &d.problems {
                eprintln!("{p}");
            }
            let Some(config) = d.config else {
                eprintln!("mint: not starting: the artifacts above have errors");
                return ExitCode::from(EX_DATAERR);
            };
            for car in &d.faulty_capps {
                // As WSO2: the server starts, the CAR is listed by /healthz (readiness 500).
                eprintln!("{car}: faulty CAR (not deployed; /healthz reports it)");
            }
            metrics.deployments_ok.fetch_add(1, Ordering::Relaxed);
            metrics.config_generation.store(1, Ordering::Relaxed);
            let hub = Arc::new(ConfigHub::new(
                Arc::new(config),
                Health {
                    faulty_capps: d.faulty_capps,
                    faulty_artifacts: Vec::new(),
                },
            ));
            // MI opens its user store on first use: a store that cannot be set up stops the
            // start only when a deployed API needs it; otherwise APIs deployed later with the
            // basic-auth handler refuse every request.
            let users = match start_user_store(&settings) {
                Ok(u) => Some(u),
                Err(e) if hub.current().apis.iter().any(|a| a.basic_auth) => {
                    eprintln!("{}: {e}", home.deployment_toml().display());
                    return ExitCode::from(EX_USAGE);
                }
                Err(e) => {
                    eprintln!("{}: warning: {e} (no deployed API uses the basic-auth handler; one deployed later refuses every request)", home.deployment_toml().display());
                    None
                }
            };
            metrics.server_up(&settings.server.hostname, settings.http_port());
            let boot = Boot {
                home,
                settings,
                hub,
                metrics,
                tls,
                shards,
                started,
                registry: Arc::new(registry),
                users,
            };
            match server::run(boot) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mint: {e}");
                    if e.kind == mint::ErrorKind::Bind {
                        ExitCode::from(EX_UNAVAILABLE)
                    } else {
                        ExitCode::FAILURE
                    }
                }
            }
        }
    }
}
