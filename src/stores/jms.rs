//! Synapse's `JmsStore`, on ActiveMQ through STOMP 1.2 (ActiveMQ's own STOMP connector): mint has
//! no JMS client (JMS is a Java API; ActiveMQ's native OpenWire protocol has no maintained Rust
//! client), and STOMP is a small text protocol ActiveMQ speaks beside OpenWire, over which the same
//! queue is reached. Messages are sent persistent with a receipt (a message the broker did not
//! acknowledge with its receipt is a failed store); the processor's side subscribes (lazily, so a
//! store that is only written to never takes a message) with `client-individual`
//! acknowledgement and a prefetch of one, and holds the head unacknowledged until it is removed:
//! if mint dies meanwhile, the broker gives it again.
//!
//! Blocking I/O on the store's own worker thread; a failed exchange drops the connection (the
//! broker redelivers what was held) and the next operation opens a new one. A message mint cannot
//! read is refused with NACK (ActiveMQ's redelivery policy then moves it to its dead-letter queue).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::{Backend, StoredMessage};

/// Where the queue is.
#[derive(Debug, Clone, PartialEq)]
pub struct JmsConfig {
    pub host: String,
    /// The broker's STOMP port.
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `store.jms.destination` (default `<store name>_Queue`).
    pub queue: String,
}

impl JmsConfig {
    /// `host:port queue`, for logs.
    pub fn describe(&self) -> String {
        format!("{}:{} queue {}", self.host, self.port, self.queue)
    }
}

/// How long the broker may take to answer a frame.
const ANSWER: Duration = Duration::from_secs(10);
/// How long a read of the queue waits for a message before it says the queue is empty (the
/// worker does nothing else meanwhile).
const EMPTY: Duration = Duration::from_millis(50);
/// How long a slow failed connection attempt answers for the ones after it.
const REFUSED_FOR: Duration = Duration::from_secs(1);
/// A connection attempt that failed after this long (a host that does not answer) is not tried
/// again at once; a quick refusal is (the broker may be back the next moment).
const SLOW_FAILURE: Duration = Duration::from_secs(1);
/// Largest frame accepted from the broker.
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// One STOMP frame as read.
struct Frame {
    command: String,
    /// Header lines as received (values still escaped).
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Frame {
    fn header(&self, name: &str) -> Option<&str> {
        // STOMP 1.2: the first of repeated headers counts.
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Link {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    subscribed: bool,
    receipts: u64,
}

pub(super) struct Jms {
    config: JmsConfig,
    link: Option<Link>,
    /// The head, received and not yet acknowledged: (its `ack` header, message).
    held: Option<(String, StoredMessage)>,
    /// When a connection attempt last failed slowly, and why (see [`REFUSED_FOR`]).
    refused: Option<(std::time::Instant, String)>,
}

/// STOMP 1.2's header escaping.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace(':', "\\c")
}

impl Jms {
    pub(super) fn new(config: JmsConfig) -> Jms {
        Jms {
            config,
            link: None,
            held: None,
            refused: None,
        }
    }

    fn connect(&self) -> Result<Link, String> {
        let c = &self.config;
        let addr: SocketAddr = (c.host.as_str(), c.port)
            .to_socket_addrs()
            .map_err(|e| format!("{}: {e}", c.host))?
            .next()
            .ok_or_else(|| format!("{}: no address", c.host))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(ANSWER))
            .map_err(|e| e.to_string())?;
        // A broker that stops reading (flow control) fails the send in time.
        stream
            .set_write_timeout(Some(ANSWER))
            .map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        let mut link = Link {
            reader: BufReader::new(stream),
            writer,
            subscribed: false,
            receipts: 0,
        };
        let mut headers = vec![
            ("accept-version".to_string(), "1.2".to_string()),
            ("host".to_string(), "/".to_string()),
            ("heart-beat".to_string(), "0,0".to_string()),
        ];
        // CONNECT's headers are not escaped (STOMP 1.2).
        if let Some(u) = &c.username {
            headers.push(("login".into(), u.clone()));
        }
        if let Some(p) = &c.password {
            headers.push(("passcode".into(), p.clone()));
        }
        link.send("CONNECT", &headers, b"")?;
        let f = link.read()?.ok_or("no answer to CONNECT")?;
        if f.command != "CONNECTED" {
            return Err(format!(
                "the broker refused the connection: {}",
                f.header("message").unwrap_or(&f.command)
            ));
        }
        Ok(link)
    }

    /// Runs `op` on the connection (opened first when needed); a failure drops it, and with it
    /// what was held (the broker gives it again). On a connection that was already open (the
    /// broker may have restarted since), a failure is tried once more on a new one, unless a
    /// delivery was held (`always`: even then — a send does not touch it).
    fn with<T>(
        &mut self,
        always: bool,
        mut op: impl FnMut(&mut Link, &JmsConfig) -> Result<T, String>,
    ) -> Result<T, String> {
        let retry = self.link.is_some() && (always || self.held.is_none());
        match self.attempt(&mut op) {
            Err(_) if retry => self.attempt(&mut op),
            other => other,
        }
        .map_err(|e| format!("ActiveMQ (STOMP) at {}: {e}", self.config.describe()))
    }

    fn attempt<T>(
        &mut self,
        op: &mut impl FnMut(&mut Link, &JmsConfig) -> Result<T, String>,
    ) -> Result<T, String> {
        if self.link.is_none() {
            if let Some((at, why)) = &self.refused {
                if at.elapsed() < REFUSED_FOR {
                    return Err(why.clone());
                }
            }
            let started = std::time::Instant::now();
            match self.connect() {
                Ok(l) => {
                    self.refused = None;
                    self.link = Some(l);
                }
                Err(e) => {
                    if started.elapsed() >= SLOW_FAILURE {
                        self.refused = Some((std::time::Instant::now(), e.clone()));
                    }
                    return Err(e);
                }
            }
        }
        let link = self.link.as_mut().expect("connected above");
        let result = op(link, &self.config);
        if result.is_err() {
            self.link = None;
            self.held = None;
        }
        result
    }
}

impl Link {
    fn send(
        &mut self,
        command: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), String> {
        let mut out = Vec::with_capacity(body.len() + 256);
        out.extend_from_slice(command.as_bytes());
        out.push(b'\n');
        for (k, v) in headers {
            out.extend_from_slice(k.as_bytes());
            out.push(b':');
            out.extend_from_slice(v.as_bytes());
            out.push(b'\n');
        }
        if !body.is_empty() {
            out.extend_from_slice(format!("content-length:{}\n", body.len()).as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(body);
        out.push(0);
        self.writer.write_all(&out).map_err(|e| e.to_string())
    }

    /// The next frame; None when nothing came within the read timeout.
    fn read(&mut self) -> Result<Option<Frame>, String> {
        let mut line = String::new();
        // Frames may be separated by end-of-lines (heart-beats).
        loop {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return Err("the broker closed the connection".into()),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) && line.is_empty() =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e.to_string()),
            }
            if !line.trim_end_matches(['\r', '\n']).is_empty() {
                break;
            }
        }
        let command = line.trim_end_matches(['\r', '\n']).to_string();
        // The rest of a frame that has begun is waited for as long as any answer.
        self.set_wait(ANSWER)?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            let l = line.trim_end_matches(['\r', '\n']);
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.to_string(), v.to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        let body = match length {
            Some(n) if n > MAX_FRAME => return Err(format!("a frame of {n} bytes")),
            Some(n) => {
                let mut b = vec![0; n + 1];
                self.reader.read_exact(&mut b).map_err(|e| e.to_string())?;
                if b.pop() != Some(0) {
                    return Err("a frame not ended by NUL".into());
                }
                b
            }
            None => {
                let mut b = Vec::new();
                (&mut self.reader)
                    .take(MAX_FRAME as u64 + 1)
                    .read_until(0, &mut b)
                    .map_err(|e| e.to_string())?;
                if b.pop() != Some(0) {
                    return Err("a frame too large, or the broker closed the connection".into());
                }
                b
            }
        };
        let frame = Frame {
            command,
            headers,
            body,
        };
        if frame.command == "ERROR" {
            return Err(format!(
                "the broker answered ERROR: {}",
                frame.header("message").unwrap_or_default()
            ));
        }
        Ok(Some(frame))
    }

    fn set_wait(&mut self, wait: Duration) -> Result<(), String> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())
    }
}

/// The headers of a persistent `SEND` of a stored message to the store's queue, with `extra`
/// (its receipt, or the transaction it belongs to).
fn send_headers(c: &JmsConfig, extra: (&str, &str)) -> Vec<(String, String)> {
    vec![
        (
            "destination".to_string(),
            format!("/queue/{}", escape(&c.queue)),
        ),
        ("persistent".to_string(), "true".to_string()),
        ("content-type".to_string(), "application/json".to_string()),
        (extra.0.to_string(), extra.1.to_string()),
    ]
}

/// Reads until the broker's `RECEIPT` for `receipt`; the subscription's message may come first
/// and is kept in `early` for the next read.
fn await_receipt(link: &mut Link, receipt: &str, early: &mut Option<Frame>) -> Result<(), String> {
    link.set_wait(ANSWER)?;
    loop {
        let f = link.read()?.ok_or("no receipt from the broker in time")?;
        match f.command.as_str() {
            "RECEIPT" if f.header("receipt-id") == Some(receipt) => return Ok(()),
            "MESSAGE" => *early = Some(f),
            _ => {}
        }
    }
}

impl Jms {
    /// A message that arrived while a send waited for its receipt: held for the next read (the
    /// send succeeded whatever becomes of it).
    fn keep_early(&mut self, early: Option<Frame>) {
        if let Some(f) = early {
            if let Err(e) = self.take(f) {
                tracing::warn!(queue = %self.config.queue, error = %e, "a message received while sending");
            }
        }
    }
}

impl Backend for Jms {
    fn put(&mut self, message: StoredMessage) -> Result<(), String> {
        let body = message.to_json();
        let mut early: Option<Frame> = None;
        let result = self.with(true, |link, c| {
            // A message read on a connection that then failed is the broker's again.
            early = None;
            link.receipts += 1;
            let receipt = format!("mint-{}", link.receipts);
            let headers = send_headers(c, ("receipt", &receipt));
            link.send("SEND", &headers, body.as_bytes())?;
            await_receipt(link, &receipt, &mut early)
        });
        self.keep_early(early);
        result
    }

    fn put_all(&mut self, messages: Vec<StoredMessage>) -> Result<(), String> {
        let bodies: Vec<String> = messages.iter().map(StoredMessage::to_json).collect();
        let mut early: Option<Frame> = None;
        let result = self.with(true, |link, c| {
            early = None;
            // One STOMP transaction: the broker persists the lot at COMMIT, whose receipt says
            // they are all stored (a connection lost before it aborts them all).
            link.receipts += 1;
            let tx = format!("mint-tx-{}", link.receipts);
            let receipt = format!("mint-{}", link.receipts);
            link.send("BEGIN", &[("transaction".to_string(), tx.clone())], b"")?;
            for body in &bodies {
                let headers = send_headers(c, ("transaction", &tx));
                link.send("SEND", &headers, body.as_bytes())?;
            }
            link.send(
                "COMMIT",
                &[
                    ("transaction".to_string(), tx.clone()),
                    ("receipt".to_string(), receipt.clone()),
                ],
                b"",
            )?;
            await_receipt(link, &receipt, &mut early)
        });
        self.keep_early(early);
        result
    }

    fn peek(&mut self) -> Result<Option<StoredMessage>, String> {
        loop {
            if let Some((_, m)) = &self.held {
                return Ok(Some(m.clone()));
            }
            let frame = self.with(false, |link, c| {
                if !link.subscribed {
                    let headers = vec![
                        ("id".to_string(), "0".to_string()),
                        (
                            "destination".to_string(),
                            format!("/queue/{}", escape(&c.queue)),
                        ),
                        ("ack".to_string(), "client-individual".to_string()),
                        ("activemq.prefetchSize".to_string(), "1".to_string()),
                    ];
                    link.send("SUBSCRIBE", &headers, b"")?;
                    link.subscribed = true;
                }
                link.set_wait(EMPTY)?;
                link.read()
            })?;
            match frame {
                None => return Ok(None),
                Some(f) if f.command == "MESSAGE" => self.take(f)?,
                Some(_) => {}
            }
        }
    }

    fn remove(&mut self, id: &str) -> Result<bool, String> {
        let Some((ack, m)) = &self.held else {
            return Ok(false);
        };
        if m.id != id {
            return Ok(false);
        }
        let ack = ack.clone();
        self.with(false, |link, _| {
            link.send("ACK", &[("id".to_string(), ack.clone())], b"")
        })?;
        self.held = None;
        Ok(true)
    }

    fn size(&mut self) -> Result<usize, String> {
        Err("STOMP cannot count a queue's messages".into())
    }
}

impl Jms {
    /// Holds a received message. One mint cannot read (MI's Java serialisation, say) is
    /// refused with NACK, which hands it to the broker's redelivery policy (ActiveMQ moves it to
    /// its dead-letter queue after its redeliveries), and reported: nothing is destroyed.
    fn take(&mut self, f: Frame) -> Result<(), String> {
        let Some(ack) = f.header("ack").map(str::to_string) else {
            return Err("a MESSAGE without an ack header".into());
        };
        match std::str::from_utf8(&f.body)
            .map_err(|e| e.to_string())
            .and_then(StoredMessage::from_json)
        {
            Ok(m) => {
                self.held = Some((ack, m));
                Ok(())
            }
            Err(e) => {
                self.with(false, |link, _| {
                    link.send("NACK", &[("id".to_string(), ack.clone())], b"")
                })?;
                Err(format!(
                    "queue {}: a message ({} bytes) that is not one mint wrote was refused (NACK) for the broker's redelivery policy: {e}",
                    self.config.queue,
                    f.body.len()
                ))
            }
        }
    }
}
