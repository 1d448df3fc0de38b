//! A private PostgreSQL server for a test: Debian's binaries (`apt-get install postgresql`, done
//! by `.ci/run`), a cluster in a temporary folder, listening on 127.0.0.1 on a free port, trust
//! authentication for the user `mint`. Stopped (and its folder removed) on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{next_offset, wait_port};

pub struct Postgres {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    /// Run as the `postgres` user (this process is root).
    root: bool,
    bin: PathBuf,
}

/// The folder of Debian's PostgreSQL binaries (the newest installed).
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is needed for this test (.ci/run installs Debian's postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("PostgreSQL is needed for this test (.ci/run installs Debian's postgresql)")
}

/// `program` with `args`, as the `postgres` user when this process is root (PostgreSQL refuses
/// to run as root).
fn command(program: &std::path::Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let root = unsafe { libc::geteuid() } == 0;
        let dir =
            std::env::temp_dir().join(format!("mint-pg-{}-{}", std::process::id(), next_offset()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if root {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown {}", dir.display());
        }
        let out = command(&bin.join("initdb"), root)
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-A", "trust", "-U", "mint", "--no-sync", "-E", "UTF8"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut pg = Postgres {
            child: None,
            port,
            dir,
            root,
            bin,
        };
        pg.start_again();
        pg
    }

    /// Starts the server (again, after [`Postgres::stop`]) on its port and data.
    pub fn start_again(&mut self) {
        let child = command(&self.bin.join("postgres"), self.root)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            .arg("-k")
            .arg(&self.dir)
            .args(["-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        assert!(
            wait_port(self.port, Duration::from_secs(20)),
            "PostgreSQL did not start"
        );
        // Accepting connections is a little later than listening.
        let ready = super::eventually(Duration::from_secs(10), || {
            Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        assert!(ready, "PostgreSQL does not accept connections");
    }

    /// `jdbc:postgresql://127.0.0.1:<port>/postgres`.
    pub fn jdbc_url(&self) -> String {
        format!("jdbc:postgresql://127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `sql` with psql; its output (unaligned, tuples only).
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new(bin_dir().join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "mint",
                "-d",
                "postgres",
            ])
            .args(["-A", "-t", "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Stops the server (fast shutdown, as an administrator would).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGINT to the postmaster (named by its pid file; the child may be runuser): a fast
            // shutdown.
            let pid = std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
                .ok()
                .and_then(|t| t.lines().next()?.trim().parse::<i32>().ok());
            match pid {
                Some(pid) => unsafe {
                    libc::kill(pid, libc::SIGINT);
                },
                None => {
                    let _ = c.kill();
                }
            }
            let _ = c.wait();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
