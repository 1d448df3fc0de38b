//! End-to-end: floods and port theft against the listeners themselves (issue 12, items 1, 7, 11).
//! mint runs with a small open-file limit here so that exhausting it takes a few hundred sockets.

// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const API: &str = r#"<api xmlns="http://ws.apache.org/ns/synapse" name="A" context="/a">
    <resource methods="GET POST" uri-template="/ping"><inSequence><payloadFactory media-type="text"><format>pong</format></payloadFactory><respond/></inSequence></resource>
</api>"#;

fn home() -> TempHome {
    let h = TempHome::new("hostile-server");
    h.file(
        "conf/deployment.toml",
        "[server]\nhot_deployment_interval_ms = 100\n",
    );
    h.artifact("api", "A.xml", API);
    h
}

/// mint with one shard and RLIMIT_NOFILE set to `nofile` (soft and hard).
fn start_limited(home: &TempHome, nofile: u64) -> Mint {
    let offset = next_offset();
    let mut cmd = mint_command(&home.root, Some(offset), 1);
    cmd.env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe; the closure touches no memory shared with the parent.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: nofile,
                rlim_max: nofile,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("start mint");
    let m = Mint {
        proc: Proc { child },
        http: 8280 + offset,
        https: 8243 + offset,
        offset,
    };
    assert!(
        wait_port(m.http, Duration::from_secs(10)),
        "mint did not start"
    );
    assert!(wait_port(internal(&m), Duration::from_secs(10)));
    m
}

fn internal(m: &Mint) -> u16 {
    9191 + m.offset
}

/// Opens up to `n` connections to `port` and keeps them (connections the backlog cannot take
/// time out and are skipped).
fn flood(port: u16, n: usize) -> Vec<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    (0..n)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
        .collect()
}

fn healthz(m: &Mint) -> Option<u16> {
    let mut s = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], internal(m)))).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    use std::io::Write;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    read_response(&mut std::io::BufReader::new(s), false).map(|r| r.status)
}

fn ping(m: &Mint) -> Option<String> {
    ping_port(m.http)
}

fn ping_port(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    use std::io::Write;
    s.write_all(b"GET /a/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    let r = read_response(&mut std::io::BufReader::new(s), false)?;
    (r.status == 200).then(|| r.text())
}

/// Item 1: a connection flood on the internal API port neither takes the descriptors the
/// service port needs nor outlives itself: the service port answers during the flood, and
/// `/healthz` answers again at once when the flood's connections close.
#[test]
fn internal_port_flood_leaves_the_service_port_alone_and_recovers() {
    let h = home();
    let m = start_limited(&h, 1024);
    let conns = flood(internal(&m), 1200);
    assert!(conns.len() > 100, "the flood could not connect");
    for i in 0..20 {
        assert_eq!(
            ping(&m).as_deref(),
            Some("pong"),
            "service request {i} failed during the internal-port flood"
        );
    }
    drop(conns);
    let closed = Instant::now();
    let mut status = None;
    while closed.elapsed() < Duration::from_secs(1) && status != Some(200) {
        status = healthz(&m);
    }
    assert_eq!(status, Some(200), "/healthz not back within 1 s");
    assert_eq!(ping(&m).as_deref(), Some("pong"));
}

/// Item 1: a connection that sends nothing is closed by the internal API after its idle
/// timeout (before: held forever).
#[test]
fn idle_internal_connection_is_closed() {
    let h = home();
    let m = start_limited(&h, 4096);
    let mut s = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], internal(&m)))).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    use std::io::Read;
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "expected a close");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "idle connection held {:?}",
        started.elapsed()
    );
}

/// Item 11: with the connection limit derived from the open-file limit, exhausting the main
/// port gets the excess connections a 503 while `/healthz` keeps answering, there is no
/// redeployment, and requests succeed as soon as the flood closes.
#[test]
fn main_port_flood_hits_the_limit_before_the_descriptors_run_out() {
    let h = home();
    let m = start_limited(&h, 512);
    let conns = flood(m.http, 700);
    assert!(conns.len() > 300, "the flood could not connect");
    for _ in 0..10 {
        assert_eq!(healthz(&m), Some(200), "/healthz failed during the flood");
    }
    drop(conns);
    let closed = Instant::now();
    let mut answer = None;
    while closed.elapsed() < Duration::from_secs(1) && answer.is_none() {
        answer = ping(&m);
    }
    assert_eq!(answer.as_deref(), Some("pong"), "no recovery within 1 s");
    // No spurious redeployment: the metrics still count the first deployment only.
    let metrics = {
        let mut s = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], internal(&m)))).unwrap();
        use std::io::Write;
        s.write_all(b"GET /metric-service/metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        read_response(&mut std::io::BufReader::new(s), false)
            .unwrap()
            .text()
    };
    for result in ["success\"} 1", "failure\"} 0"] {
        assert!(
            metrics.contains(&format!("mint_deployments_total{{result=\"{result}")),
            "a redeployment happened during the flood:\n{metrics}"
        );
    }
}

/// Runs `cmd` for at most 10 s (killed after that) and returns its exit status and stderr.
fn run_briefly(mut cmd: std::process::Command) -> std::process::Output {
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mint");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait_with_output().expect("mint's output")
}

/// Item 7: a second `mint serve` on ports that are taken exits 69 and says which port, for the
/// service port and for the internal port alone; the first one keeps serving everything.
#[test]
fn second_serve_on_taken_ports_is_refused() {
    let h = home();
    let first = start_limited(&h, 4096);
    let out = run_briefly(mint_command(&h.root, Some(first.offset), 1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("port {} is in use by another process", first.http)),
        "stderr: {stderr}"
    );
    for _ in 0..20 {
        assert_eq!(ping(&first).as_deref(), Some("pong"));
        assert_eq!(healthz(&first), Some(200));
    }

    // Only the internal port taken, by a listener that is not mint's.
    let offset = next_offset();
    let taken = TcpListener::bind(("0.0.0.0", 9191 + offset)).unwrap();
    let out = run_briefly(mint_command(&h.root, Some(offset), 1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!(
            "port {} is in use by another process",
            9191 + offset
        )),
        "stderr: {stderr}"
    );
    drop(taken);
}

/// `mint serve` on `offset` with two shards, as a default start has them (both listeners share
/// each port); stderr kept for [`comes_up`].
fn serve_two_shards(h: &TempHome, offset: u16) -> Mint {
    let mut cmd = mint_command(&h.root, Some(offset), 2);
    cmd.env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    Mint {
        proc: Proc {
            child: cmd.spawn().expect("start mint"),
        },
        http: 8280 + offset,
        https: 8243 + offset,
        offset,
    }
}

/// Waits until `m` itself answers (not a listener its predecessor left behind); panics with its
/// stderr when it does not.
fn comes_up(m: &mut Mint, what: &str) {
    if eventually(Duration::from_secs(10), || {
        ping(m).as_deref() == Some("pong") && healthz(m) == Some(200)
    }) && m.proc.child.try_wait().unwrap().is_none()
    {
        return;
    }
    let _ = m.proc.child.kill();
    let mut err = String::new();
    use std::io::Read;
    let _ = m.proc.child.stderr.take().unwrap().read_to_string(&mut err);
    panic!("{what} did not come up: {err}");
}

/// The other side of item 7: the connections a stopped mint closed itself (FIN-WAIT-2 and
/// TIME_WAIT on the server side) do not count as another process on the port, so a restart
/// comes up at once; so does a restart right after SIGKILL.
#[test]
fn restart_right_after_serving_is_not_refused() {
    let h = home();
    let offset = next_offset();
    let mut first = serve_two_shards(&h, offset);
    comes_up(&mut first, "the first start");
    for _ in 0..5 {
        let mut s = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], first.http))).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        use std::io::{Read, Write};
        s.write_all(b"GET /a/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert!(all.starts_with(b"HTTP/1.1 200"));
    }
    // A client that keeps its connection open while mint stops leaves mint's side in FIN-WAIT-2.
    let mut idle = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], first.http))).unwrap();
    {
        use std::io::Write;
        idle.write_all(b"GET /a/ping HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
    }
    let idle_reader = idle.try_clone().unwrap();
    assert_eq!(
        read_response(&mut std::io::BufReader::new(idle_reader), false).map(|r| r.status),
        Some(200)
    );
    // Stopped as a service manager stops it: SIGTERM, then wait for the exit.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(first.proc.child.id() as libc::pid_t, libc::SIGTERM) };
    let status = first.proc.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut second = serve_two_shards(&h, offset);
    comes_up(&mut second, "the restart after SIGTERM");
    // Killed (SIGKILL), its listener outlives it for a few milliseconds; a restart waits that out.
    drop(second);
    let mut third = serve_two_shards(&h, offset);
    comes_up(&mut third, "the restart after SIGKILL");
    drop(idle);
}
