//! A private RabbitMQ broker for a test: Debian's `rabbitmq-server` (installed by `.ci/run`) as a
//! node of its own (its own name, data folder, Erlang cookie and ports), listening for AMQP on
//! 127.0.0.1 on a free port. Stopped (and its folder removed) on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{next_offset, wait_port};

const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

pub struct Rabbit {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    name: String,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Rabbit {
    pub fn start() -> Rabbit {
        assert!(
            std::path::Path::new(SERVER).exists(),
            "RabbitMQ is needed for this test (.ci/run installs Debian's rabbitmq-server)"
        );
        let n = next_offset();
        let dir = std::env::temp_dir().join(format!("mint-rabbit-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        std::fs::write(dir.join("enabled_plugins"), "[].\n").unwrap();
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!("listeners.tcp.default = 127.0.0.1:{port}\nloopback_users = none\n"),
        )
        .unwrap();
        let mut r = Rabbit {
            child: None,
            port,
            dir,
            name: format!("minttest{}x{n}@localhost", std::process::id()),
        };
        r.start_again();
        r
    }

    /// Starts the broker (again, after [`Rabbit::stop`]) with its port and data.
    pub fn start_again(&mut self) {
        let d = |p: &str| self.dir.join(p);
        let child = Command::new(SERVER)
            .env("HOME", &self.dir)
            .env("RABBITMQ_NODENAME", &self.name)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", free_port().to_string())
            .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
            .env("RABBITMQ_LOG_BASE", d("log"))
            .env("RABBITMQ_CONFIG_FILE", d("rabbitmq"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", d("pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        assert!(
            wait_port(self.port, Duration::from_secs(60)),
            "RabbitMQ did not start"
        );
    }

    /// Stops the broker (SIGTERM: RabbitMQ shuts down cleanly; persistent messages in durable
    /// queues survive, acknowledged ones are gone).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = std::fs::read_to_string(self.dir.join("pid"))
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok());
            if let Some(pid) = pid {
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
                // Until the VM is gone (its pid no longer answers signal 0).
                super::eventually(Duration::from_secs(30), || unsafe {
                    libc::kill(pid, 0) != 0
                });
            }
            let _ = c.kill();
            let _ = c.wait();
            let _ = std::fs::remove_file(self.dir.join("pid"));
        }
    }
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
