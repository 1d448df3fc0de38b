//! Shared helpers for the end-to-end tests: temporary homes, mint and backend processes on
//! 127.0.0.1, and a small raw HTTP/1.1 client (raw so tests can send malformed requests).

#![allow(dead_code)]
// Tests run on plain threads, not on shards: blocking sleeps are fine here.
#![allow(clippy::disallowed_methods)]

pub mod activemq;
pub mod car_builder;
pub mod postgres;
pub mod rabbitmq;

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

/// An API at `/hello` that answers `hello` (text) without a backend.
pub const HELLO_API: &str = r#"<api xmlns="http://ws.apache.org/ns/synapse" name="hello" context="/hello">
  <resource methods="GET"><inSequence>
    <payloadFactory media-type="text"><format>hello</format><args/></payloadFactory>
    <respond/>
  </inSequence></resource>
</api>"#;

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

/// `mint check` on a home: whether it passed, and what it printed (stderr, then stdout).
pub fn check_output(home: &Path) -> (bool, String) {
    let out = check_command(home).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    (out.status.success(), text)
}

/// A request a test's own backend thread read.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request target as sent (a path, or an absolute URI).
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.x request (with a Content-Length body) from a test backend's connection.
pub fn read_request(stream: &TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (target, version) = (parts.nth(1)?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                len = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        target,
        version,
        headers,
        body,
    })
}

pub fn start_mint(home: &Path, cores: usize) -> Mint {
    let offset = next_offset();
    let mut cmd = mint_command(home, Some(offset), cores);
    cmd.env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    launch(cmd, offset)
}

/// Spawns `cmd` (a `mint serve` at `offset`) and waits for its HTTP and HTTPS ports.
pub fn launch(mut cmd: Command, offset: u16) -> Mint {
    let child = cmd.spawn().expect("start mint");
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

/// A mint on 127.0.0.1 with a temporary home, whose artifacts may name its own port (`http`) and
/// a backend, with its log (the log mediator at `info`, everything else at `warn`) in a file.
/// Artifacts are written before [`Mi::start`], with the rewrites of [`Mi::rewrite`] applied.
pub struct Mi {
    // Dropped in this order: mint, then the backend, then the home.
    proc: Option<Proc>,
    backend: Option<(Proc, u16)>,
    rewrites: Vec<(String, String)>,
    pub offset: u16,
    pub http: u16,
    pub log: PathBuf,
    pub home: TempHome,
}

impl Mi {
    pub fn new(name: &str) -> Mi {
        let home = TempHome::new(name);
        let offset = next_offset();
        Mi {
            proc: None,
            backend: None,
            rewrites: Vec::new(),
            offset,
            http: 8280 + offset,
            log: home.root.join("mint.log"),
            home,
        }
    }

    /// `http://127.0.0.1:<http>`: this mint, as its artifacts call it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    /// Replaces `from` with `to` in the artifacts written after this call (after the rewrites
    /// asked for before it).
    pub fn rewrite(&mut self, from: &str, to: &str) -> &mut Self {
        self.rewrites.push((from.to_string(), to.to_string()));
        self
    }

    /// Starts `mint-backend` (an echo, stopped with this mint) and returns its port.
    pub fn start_backend(&mut self) -> u16 {
        let (proc, port) = start_backend();
        self.backend = Some((proc, port));
        port
    }

    /// `xml` with the rewrites of [`Mi::rewrite`] applied.
    pub fn adapt(&self, xml: &str) -> String {
        self.rewrites
            .iter()
            .fold(xml.to_string(), |x, (from, to)| x.replace(from, to))
    }

    /// Writes an artifact into `synapse-configs/default/<dir>/<file>`, rewritten ([`Mi::adapt`]).
    pub fn artifact(&self, dir: &str, file: &str, xml: &str) -> &Self {
        self.home.artifact(dir, file, &self.adapt(xml));
        self
    }

    /// Writes an artifact into the folder of its kind (`<proxy>` into `proxy-services/`, …), in a
    /// file named after it ([`kind_and_name`]), rewritten.
    pub fn deploy(&self, xml: &str) -> &Self {
        let (dir, name) = kind_and_name(xml);
        self.artifact(dir, &format!("{name}.xml"), xml)
    }

    /// Kills mint with SIGKILL (a crash: nothing is drained or flushed).
    pub fn kill(&mut self) {
        self.proc = None;
    }

    /// Starts mint on the home (again, after [`Mi::kill`]: its log goes on in the same file).
    pub fn start(&mut self) {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = mint_command(&self.home.root, Some(self.offset), 2)
            .env("RUST_LOG", "warn,mint::log_mediator=info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start mint");
        self.proc = Some(Proc { child });
        assert!(
            wait_port(self.http, Duration::from_secs(10)),
            "mint did not start on {}: {}",
            self.http,
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log written since `mark` (a length of [`Mi::log_text`]).
    pub fn log_since(&self, mark: usize) -> String {
        self.log_text().get(mark..).unwrap_or_default().to_string()
    }

    /// Waits (up to 5 s) for `needle` in the log; panics with the log when it never comes.
    pub fn expect_log(&self, needle: &str) {
        let found = eventually(Duration::from_secs(5), || self.log_text().contains(needle));
        assert!(found, "log has no {needle:?}:\n{}", self.log_text());
    }

    /// A request with `body` as `content_type` (no Content-Type when it is empty).
    pub fn send(&self, method: &str, path: &str, content_type: &str, body: &str) -> Resp {
        let mut headers = vec![];
        if !content_type.is_empty() {
            headers.push(("Content-Type", content_type));
        }
        request(self.http, method, path, &headers, body.as_bytes())
    }

    /// A POST of `body` as `content_type`.
    pub fn post(&self, path: &str, content_type: &str, body: &str) -> Resp {
        self.send("POST", path, content_type, body)
    }

    pub fn post_json(&self, path: &str, body: &str) -> Resp {
        self.post(path, "application/json", body)
    }

    pub fn post_xml(&self, path: &str, body: &str) -> Resp {
        self.post(path, "application/xml", body)
    }
}

/// POSTs `bodies` (XML) to `path` from `threads` threads at once; the statuses, in any order.
#[allow(clippy::disallowed_types)] // test threads, not shards
pub fn post_concurrently(port: u16, path: &str, bodies: Vec<String>, threads: usize) -> Vec<u16> {
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(bodies));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (bodies, path) = (bodies.clone(), path.to_string());
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                loop {
                    let Some(body) = bodies.lock().unwrap().pop() else {
                        return statuses;
                    };
                    let r = request(
                        port,
                        "POST",
                        &path,
                        &[("Content-Type", "application/xml")],
                        body.as_bytes(),
                    );
                    statuses.push(r.status);
                }
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

/// The folder of an artifact's kind and the artifact's name: `<proxy … name="P">` is
/// (`proxy-services`, `P`).
pub fn kind_and_name(xml: &str) -> (&'static str, &str) {
    let xml = xml.trim_start();
    let xml = match xml.strip_prefix("<?xml") {
        Some(rest) => rest
            .split_once("?>")
            .expect("an XML declaration")
            .1
            .trim_start(),
        None => xml,
    };
    let head = &xml[1..xml.find('>').expect("an element")];
    let dir = match head.split_whitespace().next() {
        Some("proxy") => "proxy-services",
        Some("sequence") => "sequences",
        Some("endpoint") => "endpoints",
        Some("api") => "api",
        Some("template") => "templates",
        Some("localEntry") => "local-entries",
        Some("messageStore") => "message-stores",
        Some("messageProcessor") => "message-processors",
        Some("task") => "tasks",
        _ => panic!("not an artifact: {head}"),
    };
    let name = head
        .split_whitespace()
        .find_map(|a| a.strip_prefix("name=\"")?.split('"').next())
        .unwrap_or_else(|| panic!("no name: {head}"));
    (dir, name)
}

/// The string value of each node `expr` selects in `xml`, in document order (an XPath
/// implementation independent of mint's), with the prefixes `namespaces` declares.
pub fn select_ns(xml: &str, expr: &str, namespaces: &[(&str, &str)]) -> Vec<String> {
    let package =
        sxd_document::parser::parse(xml).unwrap_or_else(|e| panic!("not XML ({e:?}): {xml}"));
    let doc = package.as_document();
    let xpath = sxd_xpath::Factory::new()
        .build(expr)
        .unwrap()
        .expect("an expression");
    let mut ctx = sxd_xpath::Context::new();
    for (prefix, uri) in namespaces {
        ctx.set_namespace(prefix, uri);
    }
    match xpath.evaluate(&ctx, doc.root()).unwrap() {
        sxd_xpath::Value::Nodeset(n) => n
            .document_order()
            .iter()
            .map(|n| n.string_value())
            .collect(),
        other => panic!("{expr} is not a node-set: {other:?}"),
    }
}

/// A backend on 127.0.0.1:`port` (0: any free port) that reports each request and answers 200
/// `<ok/>`; the port it listens on. (Store tests restart mint against the same backend port.)
pub fn ok_backend(port: u16) -> (u16, std::sync::mpsc::Receiver<Received>) {
    recording_backend(
        port,
        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 5\r\n\r\n<ok/>",
    )
}

/// A backend on 127.0.0.1:`port` (0: any free port) that reports each request and answers it
/// with `answer` (a whole HTTP response); the port it listens on.
pub fn recording_backend(
    port: u16,
    answer: &'static str,
) -> (u16, std::sync::mpsc::Receiver<Received>) {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                while let Some(req) = read_request(&stream) {
                    let _ = tx.send(req);
                    if stream.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, rx)
}
