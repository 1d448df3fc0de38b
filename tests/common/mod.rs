//! Shared helpers for the end-to-end tests: temporary homes, mint and backend processes on
//! 127.0.0.1, and a small raw HTTP/1.1 client (raw so tests can send malformed requests).

#![allow(dead_code)]
// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

pub mod car_builder;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

pub const MINT: &str = env!("CARGO_BIN_EXE_mint");
pub const BACKEND: &str = env!("CARGO_BIN_EXE_mint-backend");

/// Port offsets handed out to tests so that servers started in parallel never collide.
static NEXT_OFFSET: AtomicU16 = AtomicU16::new(0);
static NEXT_BACKEND: AtomicU16 = AtomicU16::new(0);

pub fn next_offset() -> u16 {
    // 8280+2000+i*3 … stays clear of the WSO2 defaults (offset 10) used by people running mint.
    2000 + (std::process::id() as u16 % 50) * 40 + NEXT_OFFSET.fetch_add(1, Ordering::SeqCst)
}

pub fn next_backend_port() -> u16 {
    21000 + (std::process::id() as u16 % 50) * 40 + NEXT_BACKEND.fetch_add(1, Ordering::SeqCst)
}

pub fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// A home with WSO2's performance-test artifacts (`tests/data/wso2-perf/<Name>-1.0.0.xml`) as proxy
/// services, the `proxy_wsdl` local entry, and `RealService` pointed at the echo backend on
/// `backend_port` (the only change made to them).
pub fn wso2_perf_home(backend_port: u16, proxies: &[&str], apis: &[&str]) -> TempHome {
    let home = TempHome::new("perf");
    let read =
        |f: &str| std::fs::read_to_string(data(&format!("wso2-perf/{f}-1.0.0.xml"))).unwrap();
    for p in proxies {
        home.artifact("proxy-services", &format!("{p}.xml"), &read(p));
    }
    for a in apis {
        home.artifact("api", &format!("{a}.xml"), &read(a));
    }
    home.artifact("local-entries", "proxy_wsdl.xml", &read("proxy_wsdl"));
    let ep = read("RealService").replace(
        "http://netty:8688/service/EchoService",
        &format!("http://127.0.0.1:{backend_port}/service/EchoService"),
    );
    home.artifact("endpoints", "RealService.xml", &ep);
    home
}

/// A temporary home folder, removed on drop.
pub struct TempHome {
    pub root: PathBuf,
}

impl TempHome {
    pub fn new(name: &str) -> TempHome {
        let root = std::env::temp_dir().join(format!(
            "mint-test-{}-{}-{}",
            name,
            std::process::id(),
            next_offset()
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("conf")).unwrap();
        TempHome { root }
    }
    /// Writes an artifact into `synapse-configs/default/<dir>/<file>`.
    pub fn artifact(&self, dir: &str, file: &str, text: &str) -> &Self {
        let d = self
            .root
            .join("repository/deployment/server/synapse-configs/default")
            .join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(file), text).unwrap();
        self
    }
    pub fn file(&self, rel: &str, text: &str) -> &Self {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A child process killed on drop.
pub struct Proc {
    pub child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` every 50 ms until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

pub fn wait_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

pub fn start_backend() -> (Proc, u16) {
    let port = next_backend_port();
    (start_backend_on(port), port)
}

/// `mint-backend` on a given port (a backend that comes back where it was).
pub fn start_backend_on(port: u16) -> Proc {
    let child = Command::new(BACKEND)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mint-backend");
    let p = Proc { child };
    assert!(
        wait_port(port, Duration::from_secs(10)),
        "backend did not start on {port}"
    );
    p
}

/// A running mint: HTTP on `http`, HTTPS on `https`.
pub struct Mint {
    pub proc: Proc,
    pub http: u16,
    pub https: u16,
    pub offset: u16,
}

/// `mint serve --home HOME --cores N`, plus `--offset N` when given.
pub fn mint_command(home: &Path, offset: Option<u16>, cores: usize) -> Command {
    let mut c = Command::new(MINT);
    c.args(["serve", "--home"])
        .arg(home)
        .args(["--cores", &cores.to_string()]);
    if let Some(o) = offset {
        c.args(["--offset", &o.to_string()]);
    }
    c
}

/// `mint check --home HOME`.
pub fn check_command(home: &Path) -> Command {
    let mut c = Command::new(MINT);
    c.args(["check", "--home"]).arg(home);
    c
}

pub fn start_mint(home: &Path, cores: usize) -> Mint {
    let offset = next_offset();
    let child = mint_command(home, Some(offset), cores)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mint");
    let m = Mint {
        proc: Proc { child },
        http: 8280 + offset,
        https: 8243 + offset,
        offset,
    };
    assert!(
        wait_port(m.http, Duration::from_secs(10)),
        "mint did not start on {}",
        m.http
    );
    assert!(
        wait_port(m.https, Duration::from_secs(10)),
        "mint https did not start on {}",
        m.https
    );
    m
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Reads one response from a buffered stream (`head_only` for HEAD requests).
pub fn read_response(r: &mut BufReader<TcpStream>, head_only: bool) -> Option<Resp> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    if status == 100 {
        return read_response(r, head_only);
    }
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if !head_only && status != 204 && status != 304 {
        if let Some(len) = get("content-length") {
            body.resize(len.parse().ok()?, 0);
            r.read_exact(&mut body).ok()?;
        } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            loop {
                let mut size = String::new();
                r.read_line(&mut size).ok()?;
                let n = usize::from_str_radix(size.trim(), 16).ok()?;
                let mut chunk = vec![0; n + 2];
                r.read_exact(&mut chunk).ok()?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else {
            r.read_to_end(&mut body).ok()?;
        }
    }
    Some(Resp {
        status,
        headers,
        body,
    })
}

/// Sends raw bytes on a new connection and reads one response.
pub fn raw(port: u16, request: &[u8]) -> Option<Resp> {
    let mut s = connect(port);
    s.write_all(request).ok()?;
    let head = request.starts_with(b"HEAD ");
    read_response(&mut BufReader::new(s), head)
}

/// A simple request with a Content-Length body.
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    raw(port, &bytes).expect("no response")
}
