//! Test doubles for the send path: [`MockUpstream`] (scripted answers per origin, recorded
//! requests, injected failures) and [`run_local`] (a small glommio executor on the test's thread).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body::Frame;
use http_body_util::BodyExt;

use crate::error::{Error, ErrorKind, Result, Side};
use crate::http::body::{Body, BoxError, Streamed};
use crate::http::upstream::{LocalFuture, Upstream};
use crate::program::endpoint::Origin;

pub use crate::http::run_local;

/// What the mock backend does with one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A response whose body streams in these chunks.
    Respond {
        status: StatusCode,
        headers: Vec<(&'static str, String)>,
        chunks: Vec<Bytes>,
    },
    /// The exchange fails with this kind: `ConnectFailed` (refused), `Timeout` (connect timed
    /// out), `ConnectionClosed` (closed before answering), `Protocol` (broken response).
    Fail(ErrorKind),
    /// No answer ever: the endpoint's timeout decides.
    Hang,
    /// `200` with the request's body and Content-Type.
    Echo,
    /// This answer after a delay (on the executor's timer).
    Delayed(std::time::Duration, Box<Answer>),
}

impl Answer {
    /// `200` with `body` (`text/plain`).
    pub fn ok(body: &str) -> Answer {
        Answer::status(200, body)
    }

    /// `status` with `body` (`text/plain`, or no body when empty).
    pub fn status(status: u16, body: &str) -> Answer {
        let chunks = if body.is_empty() {
            Vec::new()
        } else {
            vec![Bytes::copy_from_slice(body.as_bytes())]
        };
        let headers = if body.is_empty() {
            Vec::new()
        } else {
            vec![("content-type", "text/plain".to_string())]
        };
        Answer::Respond {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            headers,
            chunks,
        }
    }

    /// Sets a response header.
    pub fn header(mut self, name: &'static str, value: &str) -> Answer {
        if let Answer::Respond { headers, .. } = &mut self {
            // Replaces a header of that name (the default Content-Type, text/plain).
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name, value.to_string()));
        }
        self
    }

    /// Sends the body in these chunks instead.
    pub fn chunked(mut self, parts: &[&str]) -> Answer {
        if let Answer::Respond { chunks, .. } = &mut self {
            *chunks = parts
                .iter()
                .map(|p| Bytes::copy_from_slice(p.as_bytes()))
                .collect();
        }
        self
    }
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `host:port`.
    pub authority: String,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A scripted [`Upstream`]: per origin (`host:port`), answers queued with [`MockUpstream::push`]
/// are used once each, in order; then the answer set with [`MockUpstream::always`]; an origin
/// with neither refuses the connection (`ConnectFailed`). Every request is recorded, its body
/// read to the end first (as a backend would).
#[derive(Default)]
pub struct MockUpstream {
    queued: RefCell<HashMap<String, VecDeque<Answer>>>,
    standing: RefCell<HashMap<String, Answer>>,
    recorded: RefCell<Vec<Recorded>>,
}

impl MockUpstream {
    pub fn new() -> Rc<MockUpstream> {
        Rc::new(MockUpstream::default())
    }

    /// Queues a one-time answer for `authority` (`host:port`).
    pub fn push(&self, authority: &str, answer: Answer) {
        self.queued
            .borrow_mut()
            .entry(authority.to_string())
            .or_default()
            .push_back(answer);
    }

    /// The answer for `authority` once its queue is empty.
    pub fn always(&self, authority: &str, answer: Answer) {
        self.standing
            .borrow_mut()
            .insert(authority.to_string(), answer);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.borrow().clone()
    }

    /// The authorities of the requests received so far, in order.
    pub fn authorities(&self) -> Vec<String> {
        self.recorded
            .borrow()
            .iter()
            .map(|r| r.authority.clone())
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.recorded.borrow_mut().clear();
    }

    fn answer_for(&self, authority: &str) -> Option<Answer> {
        if let Some(a) = self
            .queued
            .borrow_mut()
            .get_mut(authority)
            .and_then(VecDeque::pop_front)
        {
            return Some(a);
        }
        self.standing.borrow().get(authority).cloned()
    }

    async fn exchange(&self, origin: &Origin, req: Request<Body>) -> Result<Response<Streamed>> {
        let authority = format!("{}:{}", origin.host, origin.port);
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map(|c| c.to_bytes()).map_err(|e| {
            Error::new(
                ErrorKind::ConnectionClosed,
                Side::Backend,
                format!("{authority}: request body"),
            )
            .with_cause(e)
        })?;
        let echo_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let echo_body = body.clone();
        self.recorded.borrow_mut().push(Recorded {
            authority: authority.clone(),
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        });
        let mut answer = self.answer_for(&authority);
        while let Some(Answer::Delayed(d, inner)) = answer {
            glommio::timer::sleep(d).await;
            answer = Some(*inner);
        }
        if let Some(Answer::Echo) = answer {
            answer = Some(Answer::Respond {
                status: StatusCode::OK,
                headers: vec![("content-type", echo_type)],
                chunks: vec![echo_body],
            });
        }
        match answer {
            None => Err(Error::new(
                ErrorKind::ConnectFailed,
                Side::Backend,
                format!("connect to {authority}: connection refused"),
            )),
            Some(Answer::Fail(kind)) => Err(Error::new(
                kind,
                Side::Backend,
                format!("backend {authority}: injected {}", kind.as_str()),
            )),
            Some(Answer::Hang) => std::future::pending().await,
            Some(Answer::Echo | Answer::Delayed(..)) => Err(Error::new(
                ErrorKind::Protocol,
                Side::Backend,
                "mock: unresolved answer",
            )),
            Some(Answer::Respond {
                status,
                headers,
                chunks,
            }) => {
                let frames = chunks
                    .into_iter()
                    .map(|c| Ok::<_, BoxError>(Frame::data(c)));
                let body = http_body_util::StreamBody::new(futures_lite::stream::iter(frames));
                let mut resp = Response::new(Streamed::local(body, Side::Backend));
                *resp.status_mut() = status;
                for (name, value) in headers {
                    if let Ok(v) = http::HeaderValue::from_str(&value) {
                        resp.headers_mut().append(name, v);
                    }
                }
                Ok(resp)
            }
        }
    }
}

impl Upstream for MockUpstream {
    fn send<'a>(
        &'a self,
        origin: &'a Origin,
        req: Request<Body>,
    ) -> LocalFuture<'a, Result<Response<Streamed>>> {
        Box::pin(self.exchange(origin, req))
    }
}

/// Compiles Synapse artifacts (each a whole file: `<api>`, `<proxy>`, `<sequence>`,
/// `<endpoint>`, `<localEntry>`, `<template>`) into a [`Program`], as deployment does, with a
/// registry that is never written. Panics on any error diagnostic.
pub fn program(files: &[&str]) -> crate::program::Program {
    let (program, problems) = compile_files(files);
    let errors: Vec<String> = problems
        .iter()
        .filter(|d| d.severity == crate::diag::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "artifacts do not compile: {errors:?}");
    program
}

/// Compiles artifact texts (their kind told by the root element) and returns what deploying
/// them reports, errors included.
pub fn compile_files(files: &[&str]) -> (crate::program::Program, Vec<crate::diag::Diagnostic>) {
    use crate::synapse::parse::{parse_artifact_file, ArtifactDir};
    let mut artifacts = crate::synapse::model::Artifacts::default();
    let mut problems = Vec::new();
    for (i, text) in files.iter().enumerate() {
        let root = text.trim_start();
        let dir = [
            ("<api", ArtifactDir::Api),
            ("<proxy", ArtifactDir::ProxyServices),
            ("<sequence", ArtifactDir::Sequences),
            ("<endpoint", ArtifactDir::Endpoints),
            ("<localEntry", ArtifactDir::LocalEntries),
            ("<template", ArtifactDir::Templates),
        ]
        .into_iter()
        .find(|(prefix, _)| root.starts_with(prefix))
        .map(|(_, dir)| dir)
        .unwrap_or_else(|| panic!("unknown artifact: {root}"));
        let path = std::path::PathBuf::from(format!("test{i}.xml"));
        parse_artifact_file(&path, text, dir, &mut artifacts, &mut problems);
    }
    let home = crate::config::Home::new("/nonexistent/mint-test-home".into());
    let registry = crate::registry::Registry::unopened(
        crate::registry::config::RegistryConfig::defaults(&home),
    );
    let program = crate::compile::compile(artifacts, &registry, &mut problems);
    (program, problems)
}
