//! The mediation engine: runs compiled sequences against a [`MessageContext`].
//!
//! Every mediator is a [`crate::mediators::Mediator`] built at deploy time and run through the
//! engine's [`Runtime`] implementation; [`Engine::run_seq`] runs a sequence's list of them in
//! order and each says whether the flow continues. Flows follow Synapse: a proxy runs its in-sequence, then (if the flow continued)
//! sends to its target endpoint; a backend response runs the out-sequence (or goes straight back);
//! `call` resumes the same sequence with the response; `respond` sends the current message back; a
//! failure runs the innermost fault handler (sequence `onError`, the service's faultSequence, else
//! `fault`) with `ERROR_CODE` / `ERROR_MESSAGE` set.

mod auth;
pub mod dispatch;
pub mod evaluate;

pub mod respond;
#[cfg(test)]
mod tests;

use crate::http::server::Conn;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Method, Request, Response};

use self::dispatch::Route;
use crate::config::Settings;
use crate::deploy::hub::ConfigHub;
use crate::endpoint::{self, Backends};
use crate::error::{Error, ErrorKind, Result, Side};
use crate::http::body::Body;
use crate::http::rules::without_dot_segments;
pub use crate::mediators::Flow;
use crate::mediators::{LocalFuture, Mediator, Runtime};
use crate::message::content::{self, Evaluated, Want};
use crate::message::context::MessageContext;
use crate::message::properties;
use crate::message::split::{Frame, ListRef};
use crate::message::{EpId, Scope, SeqId, Value};
use crate::program::endpoint::Format;
use crate::program::Program;
use crate::registry::cache::ShardRegistry;
use crate::telemetry::metrics::{Metrics, ServiceStats, ShardStats};

/// At most [`LogLimiter::PER_SECOND`] lines a second per shard; the next line allowed says how
/// many were suppressed in between (the metrics still count every error).
#[derive(Default)]
pub struct LogLimiter {
    second: Cell<i64>,
    lines: Cell<u32>,
    suppressed: Cell<u64>,
}

impl LogLimiter {
    pub const PER_SECOND: u32 = 20;

    /// `Some(suppressed so far)` when a line may be written now.
    pub fn allow(&self) -> Option<u64> {
        let now = endpoint::now_ms() / 1000;
        if now != self.second.get() {
            self.second.set(now);
            self.lines.set(0);
        }
        if self.lines.get() >= Self::PER_SECOND {
            self.suppressed.set(self.suppressed.get() + 1);
            return None;
        }
        self.lines.set(self.lines.get() + 1);
        Some(self.suppressed.replace(0))
    }
}

/// Counts a request in the shard's in-flight gauge while it lives (also when mediation panics and
/// the connection task unwinds).
struct InFlight<'a>(&'a std::sync::atomic::AtomicI64);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a std::sync::atomic::AtomicI64) -> InFlight<'a> {
        ShardStats::gauge(gauge, 1);
        InFlight(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        ShardStats::gauge(self.0, -1);
    }
}

/// How deeply sequences may run inside each other for one message (a sequence that names
/// itself, a `main` without `<in>`/`<out>` that sends its responses on and gets them back through
/// `main`): deeper, the flow ends with a fault instead of overflowing the shard's stack.
pub const MAX_SEQUENCE_DEPTH: u32 = 32;

/// The proxy or API a request was dispatched to.
#[derive(Clone, Copy)]
pub struct Served<'a> {
    pub name: &'a str,
    pub stats: &'a Option<Arc<ServiceStats>>,
}

/// One shard's mediation engine for one configuration (a redeployment builds a new one; see
/// [`EngineSlot`]).
pub struct Engine {
    pub config: Arc<Program>,
    /// The upstream, the suspension clock and the round-robin counters of this shard.
    pub backends: Backends,
    pub settings: Rc<Settings>,
    pub registry: Rc<ShardRegistry>,
    pub metrics: Arc<Metrics>,
    /// Bounds mint's own fault log lines (a dead backend at 30k req/s must not fill the disk).
    pub fault_log: Rc<LogLimiter>,
    pub shard: usize,
    /// WSO2's JSON ↔ XML conversion settings.
    pub json: crate::json::JsonSettings,
    /// The user store for APIs with MI's basic-auth handler (`None`: such APIs refuse everyone).
    pub users: Option<crate::userstore::UserStore>,
    /// This engine, for the work a message leaves running after its client was answered
    /// (OUT_ONLY and FORCE_SC_ACCEPTED sends); set once the engine is shared.
    pub me: std::cell::OnceCell<std::rc::Weak<Engine>>,
    /// Detached sends running now on this shard.
    pub detached: Cell<usize>,
    /// The deployed message stores (shared by the shards; kept across configurations).
    pub stores: Arc<crate::stores::Stores>,
}

/// Most detached sends a shard runs at once; past it a send waits in its own flow (the client
/// waits too), so that a flood of fire-and-forget requests keeps its backpressure.
const MAX_DETACHED: usize = 10_000;

/// A shard's current engine: rebuilt when the deployer publishes a new configuration.
pub struct EngineSlot {
    hub: Arc<ConfigHub>,
    seen: Cell<u64>,
    current: RefCell<Rc<Engine>>,
}

impl EngineSlot {
    pub fn new(hub: Arc<ConfigHub>, engine: Engine) -> EngineSlot {
        EngineSlot {
            seen: Cell::new(hub.generation()),
            hub,
            current: RefCell::new(shared(engine)),
        }
    }

    /// The engine for a new request: one atomic load when nothing changed.
    #[inline]
    pub fn get(&self) -> Rc<Engine> {
        let g = self.hub.generation();
        if g != self.seen.get() {
            self.swap(g);
        }
        self.current.borrow().clone()
    }

    /// The generation of the configuration the current engine runs (as of the last [`get`]).
    ///
    /// [`get`]: EngineSlot::get
    pub fn generation(&self) -> u64 {
        self.seen.get()
    }

    #[cold]
    fn swap(&self, generation: u64) {
        let config = self.hub.current();
        let old = self.current.borrow().clone();
        let engine = Engine {
            config,
            backends: old.backends.renewed(),
            settings: old.settings.clone(),
            registry: old.registry.clone(),
            metrics: old.metrics.clone(),
            fault_log: old.fault_log.clone(),
            shard: old.shard,
            json: old.json.clone(),
            users: old.users.clone(),
            me: Default::default(),
            detached: Cell::new(0),
            stores: old.stores.clone(),
        };
        *self.current.borrow_mut() = shared(engine);
        self.seen.set(generation);
        tracing::debug!(shard = old.shard, generation, "configuration swapped in");
    }
}

/// The engine in its `Rc`, knowing itself.
fn shared(engine: Engine) -> Rc<Engine> {
    let rc = Rc::new(engine);
    let _ = rc.me.set(Rc::downgrade(&rc));
    rc
}

impl crate::http::server::Handler for EngineSlot {
    fn handle(
        &self,
        req: Request<Body>,
        conn: Conn,
    ) -> impl Future<Output = Response<Body>> + use<> {
        // The engine's own future, not one awaiting it: each such level would move the large
        // future once more.
        Engine::handle_with(self.get(), req, conn)
    }
}

impl Engine {
    /// Serves one request from start to finish, and counts it. The body is the client's stream
    /// ([`Body::Incoming`]), or any body a test builds.
    pub async fn handle(&self, req: Request<Body>, conn: Conn) -> Response<Body> {
        Engine::handle_with(self, req, conn).await
    }

    /// [`Engine::handle`] on an engine held any way (the server holds it by `Rc`).
    pub async fn handle_with<E: std::ops::Deref<Target = Engine>>(
        this: E,
        req: Request<Body>,
        conn: Conn,
    ) -> Response<Body> {
        let this = &*this;
        let started = Instant::now();
        let in_flight = InFlight::enter(&this.metrics.shard(this.shard).in_flight);
        let method = req.method().clone();
        let path = this
            .settings
            .logging
            .access_log
            .then(|| req.uri().path().to_string());
        let (resp, service) = this.mediate_request(req, conn).await;
        drop(in_flight);
        let status = resp.status();
        if let Some(stats) = service.and_then(|s| s.stats.as_ref()) {
            stats.record(this.shard, started.elapsed(), status.is_server_error());
        }
        if let Some(path) = path {
            tracing::info!(
                target: "mint::access",
                shard = this.shard,
                method = %method,
                path = %path,
                status = status.as_u16(),
                micros = started.elapsed().as_micros() as u64,
                service = service.map(|s| s.name).unwrap_or("main"),
                "access"
            );
        }
        resp
    }

    async fn mediate_request(
        &self,
        req: Request<Body>,
        conn: Conn,
    ) -> (Response<Body>, Option<Served<'_>>) {
        let mut ctx = MessageContext::new(
            without_dot_segments(req),
            conn.https,
            self.settings.http.max_body_size,
            Duration::from_millis(self.settings.http.body_read_timeout_ms),
        );
        ctx.remote = conn.remote;
        // Borrowed, not cloned: an Arc clone per request would bounce its counter between cores.
        let config = &*self.config;
        match dispatch::route(config, &self.settings, &mut ctx) {
            Route::Reply(r) => (r, None),
            Route::ApiReply {
                api,
                reply,
                by_cors_handler,
            } => {
                // API handlers run before its dispatch, in their order: basic auth answers first
                // unless the CORS handler before it already answered the preflight.
                if api.basic_auth && !(by_cors_handler && api.cors_first) {
                    if let Some(refused) = self.basic_auth(&ctx).await {
                        return (refused, None);
                    }
                }
                (reply, None)
            }
            Route::Proxy(p) => {
                self.run_proxy(&mut ctx, p).await;
                let served = Served {
                    name: &p.name,
                    stats: &p.stats,
                };
                (self.finish(ctx).await, Some(served))
            }
            Route::Resource(api, res) => {
                if api.basic_auth {
                    if let Some(refused) = self.basic_auth(&ctx).await {
                        return (refused, None);
                    }
                }
                ctx.out_seq = res.out_seq;
                ctx.fault_stack.push(res.fault_seq.unwrap_or(config.fault));
                if let Some(seq) = res.in_seq {
                    self.run_seq(&mut ctx, seq).await;
                }
                let served = Served {
                    name: &api.name,
                    stats: &api.stats,
                };
                (self.finish(ctx).await, Some(served))
            }
            Route::Sequence(seq) => {
                // A response to a message that `main` sent goes through `main` again (Synapse's
                // injectMessage: no proxy, no API, no receiving sequence); `<out>` selects it.
                if seq == config.main {
                    ctx.out_seq = Some(seq);
                }
                ctx.fault_stack.push(config.fault);
                self.run_seq(&mut ctx, seq).await;
                (self.finish(ctx).await, None)
            }
        }
    }

    /// A proxy service's in-flow on a message dispatched (or injected) to it: its in sequence,
    /// then its target endpoint unless the flow ended or answered.
    pub async fn run_proxy(&self, ctx: &mut MessageContext, p: &crate::program::Proxy) {
        ctx.out_seq = p.out_seq;
        ctx.target_endpoint = p.endpoint;
        ctx.fault_stack
            .push(p.fault_seq.unwrap_or(self.config.fault));
        let flow = match p.in_seq {
            Some(seq) => self.run_seq(ctx, seq).await,
            None => Flow::Continue,
        };
        if flow == Flow::Continue && !ctx.responded {
            if let Some(ep) = p.endpoint {
                self.send(ctx, Some(ep), None).await;
            }
        }
    }

    /// The client's answer once mediation has finished.
    async fn finish(&self, mut ctx: MessageContext) -> Response<Body> {
        if ctx.controls && ctx.called && ctx.axis2_true("FORCE_SC_ACCEPTED") {
            // Synapse answers 202 as soon as the in-flow hands the message to a backend, and
            // sends nothing later: the flow after that `call` ran, its answer goes nowhere.
            return dispatch::empty(http::StatusCode::ACCEPTED);
        }
        if ctx.responded {
            if let Err(e) = self.convert_for_output(&mut ctx).await {
                // Content that cannot be converted belongs to whoever sent it; the fault
                // handler runs as for any other failure, and may answer itself.
                let side = if ctx.is_response {
                    Side::Backend
                } else {
                    Side::Client
                };
                let e = if e.kind == ErrorKind::BadContent {
                    Error { side, ..e }
                } else {
                    e
                };
                ctx.responded = false;
                self.run_fault(&mut ctx, e).await;
                if !ctx.responded {
                    return self.fallback(&ctx);
                }
                if let Err(e) = self.convert_for_output(&mut ctx).await {
                    let e = e.attributed();
                    return respond::fault_fallback(e.kind, e.synapse_code(), &e.to_string());
                }
            }
            if ctx.expect_continue && !ctx.is_response && matches!(ctx.body, Body::Incoming(_)) {
                // Answering with the request's own body: read it first, so that hyper sends
                // `100 Continue` before our final status (it does so when the body is first polled).
                if let Err(e) = ctx.body_bytes().await {
                    return respond::fault_fallback(e.kind, e.synapse_code(), &e.to_string());
                }
            }
            return respond::build(&mut ctx);
        }
        self.fallback(&ctx)
    }

    /// The answer when mediation ended without responding: the fault's status when a fault
    /// handler ran; otherwise (drop, OUT_ONLY, FORCE_SC_ACCEPTED, or an in-flow that just ended)
    /// 202 rather than leave the client waiting.
    fn fallback(&self, ctx: &MessageContext) -> Response<Body> {
        if let Some((kind, code, msg)) = &ctx.fault {
            return respond::fault_fallback(*kind, *code, msg);
        }
        dispatch::empty(http::StatusCode::ACCEPTED)
    }

    /// Runs a sequence, with its `onError` handler on the fault stack.
    pub fn run_seq<'a>(&'a self, ctx: &'a mut MessageContext, seq: SeqId) -> LocalFuture<'a, Flow> {
        Box::pin(async move {
            let s = &self.config.sequences[seq];
            if ctx.depth >= MAX_SEQUENCE_DEPTH {
                let msg = format!(
                    "sequence '{}' not run: sequences nested more than {MAX_SEQUENCE_DEPTH} deep \
                     (does a sequence call itself, or a flow send its own responses on?)",
                    s.name
                );
                if let Some(suppressed) = self.fault_log.allow() {
                    tracing::warn!(shard = self.shard, suppressed, "fault: {msg}");
                }
                ctx.fault = Some((ErrorKind::Mediation, 500000, msg));
                return Flow::Stop;
            }
            ctx.depth += 1;
            let pushed = s.on_error.is_some();
            if let Some(h) = s.on_error {
                ctx.fault_stack.push(h);
            }
            let track = self.config.continuations;
            if track {
                ctx.frames.push(Frame {
                    list: ListRef::Sequence(seq),
                    next: 0,
                    handler: pushed,
                });
            }
            let flow = self.run_items(ctx, &s.mediators, 0).await;
            if track {
                ctx.frames.pop();
            }
            if pushed {
                ctx.fault_stack.pop();
            }
            ctx.depth -= 1;
            flow
        })
    }

    /// Runs a branch (a list of mediators inside a mediator).
    fn run_list<'a>(
        &'a self,
        ctx: &'a mut MessageContext,
        meds: &'a [Mediator],
    ) -> LocalFuture<'a, Flow> {
        Box::pin(async move {
            let track = self.config.continuations;
            if track {
                ctx.frames.push(Frame {
                    list: ListRef::Branch(meds.as_ptr() as usize),
                    next: 0,
                    handler: false,
                });
            }
            let flow = self.run_items(ctx, meds, 0).await;
            if track {
                ctx.frames.pop();
            }
            flow
        })
    }

    /// Runs `meds[start..]`, keeping the innermost frame's position when frames are kept.
    async fn run_items(&self, ctx: &mut MessageContext, meds: &[Mediator], start: usize) -> Flow {
        let track = self.config.continuations;
        for (i, m) in meds.iter().enumerate().skip(start) {
            if track {
                if let Some(f) = ctx.frames.last_mut() {
                    f.next = i as u32 + 1;
                }
            }
            match m.run(self, ctx).await {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => return Flow::Stop,
                Err(e) if ctx.catching > 0 => {
                    ctx.caught = Some(e);
                    return Flow::Stop;
                }
                Err(e) => {
                    self.run_fault(ctx, e).await;
                    return Flow::Stop;
                }
            }
            if ctx.responded {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Resumes a split part after its splitter: the rest of each enclosing list, innermost first
    /// (Synapse's continuation after a `call` in an iterate or clone target).
    pub fn resume<'a>(&'a self, ctx: &'a mut MessageContext) -> LocalFuture<'a, Flow> {
        Box::pin(async move {
            while let Some(&top) = ctx.frames.last() {
                let Some(list) = self.resolve(&ctx.frames) else {
                    // Frames always come from this program; not finding them is mint's bug.
                    tracing::error!(shard = self.shard, "a split part's position was not found");
                    return Flow::Stop;
                };
                let flow = self.run_items(ctx, list, top.next as usize).await;
                ctx.frames.pop();
                if let ListRef::Sequence(_) = top.list {
                    ctx.depth = ctx.depth.saturating_sub(1);
                    if top.handler {
                        ctx.fault_stack.pop();
                    }
                }
                if flow == Flow::Stop || ctx.responded {
                    return Flow::Stop;
                }
            }
            Flow::Continue
        })
    }

    /// The list of mediators the innermost frame is in.
    fn resolve(&self, frames: &[Frame]) -> Option<&[Mediator]> {
        let mut list: Option<&[Mediator]> = None;
        let mut at = 0usize;
        for f in frames {
            list = Some(match f.list {
                ListRef::Sequence(s) => &self.config.sequences.get(s.index())?.mediators,
                ListRef::Branch(addr) => {
                    let parent = list?.get(at.checked_sub(1)?)?;
                    parent
                        .branches()
                        .into_iter()
                        .find(|b| b.as_ptr() as usize == addr)?
                }
            });
            at = f.next as usize;
        }
        list
    }

    /// Runs the innermost fault handler with the error properties set.
    pub async fn run_fault(&self, ctx: &mut MessageContext, e: Error) {
        let e = e.attributed();
        let code = e.synapse_code();
        let code = if code == 0 { 500000 } else { code };
        if let Some(suppressed) = self.fault_log.allow() {
            tracing::warn!(
                shard = self.shard,
                code,
                kind = e.kind.as_str(),
                suppressed,
                "fault: {e}"
            );
        }
        let code_text = e
            .thrown
            .as_deref()
            .map_or_else(|| code.to_string(), str::to_string);
        ctx.props.insert("ERROR_CODE".into(), code_text.into());
        // MI's words for the transport's failures (its passthrough sender and timeout handler);
        // mint's own account, with the address and the cause, is ERROR_DETAIL.
        let message = match e.kind {
            ErrorKind::ConnectFailed => "Error connecting to the back end".to_string(),
            ErrorKind::ConnectionClosed | ErrorKind::Protocol => "Error in Sender".to_string(),
            ErrorKind::Timeout if e.side == Side::Backend => "Send timeout".to_string(),
            _ => e.context.clone(),
        };
        ctx.props.insert("ERROR_MESSAGE".into(), message.into());
        ctx.props
            .insert("ERROR_DETAIL".into(), e.to_string().into());
        ctx.props
            .insert("ERROR_EXCEPTION".into(), e.to_string().into());
        ctx.fault = Some((e.kind, code, e.to_string()));
        // A failure inside a handler goes to the global `fault`, once: a failure inside the
        // global `fault` itself (the stack is empty then) ends the flow.
        let Some(handler) = ctx.fault_stack.pop() else {
            return;
        };
        let saved = std::mem::take(&mut ctx.fault_stack);
        if handler != self.config.fault {
            ctx.fault_stack.push(self.config.fault);
        }
        self.run_seq(ctx, handler).await;
        ctx.fault_stack = saved;
    }

    /// Evaluates a value against the message.
    pub async fn eval(&self, ctx: &mut MessageContext, v: &Value) -> Result<String> {
        match v {
            Value::Literal(s) | Value::Xml(s) => Ok(s.clone()),
            Value::Field(f) => Ok(properties::field(ctx, *f).unwrap_or_default().into_owned()),
            Value::GetProperty(name) => Ok(properties::get(ctx, Scope::Default, name)
                .or_else(|| self.local_entry_text(name).map(Cow::Borrowed))
                .unwrap_or_default()
                .into_owned()),
            Value::Property { scope, name } => Ok(properties::get(ctx, *scope, name)
                .unwrap_or_default()
                .into_owned()),
            Value::Registry { key, property } => {
                let res = match self.registry.lookup(key).await {
                    Ok(r) => r,
                    // An illegal key reads as missing; the reason goes to the debug log.
                    Err(e) => {
                        tracing::debug!(key = %key, error = %e, "registry lookup failed");
                        None
                    }
                };
                Ok(match (res, property) {
                    (Some(r), Some(p)) => r.property(p).unwrap_or_default().to_string(),
                    (Some(r), None) => r.text().into_owned(),
                    (None, _) => String::new(),
                })
            }
            Value::XPath(x) => match self.eval_xpath(ctx, x, Want::Text).await?.0 {
                Evaluated::Text(t) => Ok(t.unwrap_or_default()),
                Evaluated::Bool(b) => Ok(b.to_string()),
                Evaluated::Nodes(_) => Ok(String::new()),
            },
            Value::JsonPath(p) => self.eval_json_path(ctx, p).await,
            Value::Synapse(e) => Ok(self.eval_synapse(ctx, e).await.text().into_owned()),
            Value::Unsupported(expr) => Err(Error::mediation(format!(
                "expression '{expr}' cannot be evaluated (see the deployment warnings)"
            ))),
        }
    }

    /// `send`: deliver to the endpoint, then hand the response to the out-flow; failures run the
    /// fault handler.
    pub async fn send(
        &self,
        ctx: &mut MessageContext,
        endpoint: Option<EpId>,
        receive: Option<SeqId>,
    ) {
        if let Err(e) = self.call(ctx, endpoint).await {
            if e.is_discarded() {
                // responseAction=discard: the late response is dropped and fault handlers are
                // skipped (Synapse); the client gets the timeout answer.
                ctx.fault = Some((ErrorKind::Timeout, 101504, e.to_string()));
            } else {
                self.run_fault(ctx, e).await;
            }
            return;
        }
        match receive.or(ctx.out_seq) {
            Some(out) => {
                self.run_seq(ctx, out).await;
            }
            None => ctx.responded = true,
        }
    }

    /// Sends the current message to the endpoint (or the `To` address) and makes the response the
    /// current message (see [`endpoint::Backends::call`]).
    pub fn call<'a>(
        &'a self,
        ctx: &'a mut MessageContext,
        endpoint: Option<EpId>,
    ) -> LocalFuture<'a, Result<()>> {
        ctx.called = true;
        self.backends
            .call(&self.config, Sending { engine: self, ctx }, endpoint)
    }
}

/// What mediators ask of the engine (see [`crate::mediators`]).
impl Runtime for Engine {
    async fn eval(&self, ctx: &mut MessageContext, value: &Value) -> Result<String> {
        Engine::eval(self, ctx, value).await
    }

    async fn eval_object(
        &self,
        ctx: &mut MessageContext,
        value: &Value,
    ) -> Result<crate::synexpr::Val> {
        match value {
            Value::Synapse(e) => Ok(self.eval_synapse(ctx, e).await),
            other => Ok(crate::synexpr::Val::Str(
                Engine::eval(self, ctx, other).await?,
            )),
        }
    }

    async fn eval_xpath(
        &self,
        ctx: &mut MessageContext,
        x: &crate::message::Expr,
        want: Want,
    ) -> Result<(Evaluated, Option<Arc<crate::xml::Document>>)> {
        Engine::eval_xpath(self, ctx, x, want).await
    }

    async fn eval_xpath_on(
        &self,
        ctx: &mut MessageContext,
        x: &crate::message::Expr,
        doc: &Arc<crate::xml::Document>,
        want: Want,
    ) -> Result<Evaluated> {
        Engine::eval_xpath_on(self, ctx, x, Some(doc), want).await
    }

    fn run_list<'a>(
        &'a self,
        ctx: &'a mut MessageContext,
        list: &'a [Mediator],
    ) -> LocalFuture<'a, Flow> {
        Engine::run_list(self, ctx, list)
    }

    fn run_sequence<'a>(
        &'a self,
        ctx: &'a mut MessageContext,
        seq: SeqId,
    ) -> LocalFuture<'a, Flow> {
        self.run_seq(ctx, seq)
    }

    async fn send(&self, ctx: &mut MessageContext, endpoint: Option<EpId>, receive: Option<SeqId>) {
        Engine::send(self, ctx, endpoint, receive).await
    }

    fn call<'a>(
        &'a self,
        ctx: &'a mut MessageContext,
        endpoint: Option<EpId>,
    ) -> LocalFuture<'a, Result<()>> {
        Engine::call(self, ctx, endpoint)
    }

    fn resume<'a>(&'a self, ctx: &'a mut MessageContext) -> LocalFuture<'a, Flow> {
        Engine::resume(self, ctx)
    }

    async fn eval_json(
        &self,
        ctx: &mut MessageContext,
        path: &crate::json::JsonPath,
    ) -> Result<crate::json::JsonPathResult> {
        Engine::eval_json(self, ctx, path).await
    }

    fn split_limits(&self) -> crate::mediators::SplitLimits {
        crate::mediators::SplitLimits {
            max_parts: self.settings.mediation.max_split_parts,
            concurrency: self.settings.mediation.split_concurrency,
        }
    }

    fn registry(&self) -> &ShardRegistry {
        &self.registry
    }

    fn stats(&self) -> &crate::telemetry::metrics::ShardStats {
        self.metrics.shard(self.shard)
    }

    fn stores(&self) -> &crate::stores::Stores {
        &self.stores
    }

    fn named_sequence(&self, name: &str) -> Option<SeqId> {
        let named = &self.config.named_sequences;
        named.get(name).copied().or_else(|| {
            // A registry key in another spelling (`conf:/a.xml`, `conf:a.xml`).
            crate::registry::canonical_key(name).and_then(|k| named.get(&k).copied())
        })
    }

    async fn detach(&self, mut ctx: MessageContext, job: crate::mediators::Detached) {
        use crate::mediators::Detached;
        let run = move |engine: Rc<Engine>, mut ctx: MessageContext| async move {
            match job {
                Detached::Send { endpoint, receive } => {
                    engine.send(&mut ctx, endpoint, receive).await
                }
                Detached::Call { endpoint } => match engine.call(&mut ctx, endpoint).await {
                    // Read the ignored answer, so that its connection can be used again.
                    Ok(()) => drop(ctx.body_bytes().await),
                    Err(e) if e.is_discarded() => {}
                    Err(e) => engine.run_fault(&mut ctx, e).await,
                },
            }
            // Whatever the flow answered goes nowhere: the client was answered already.
        };
        let engine = self.me.get().and_then(std::rc::Weak::upgrade);
        match engine {
            Some(engine) if self.detached.get() < MAX_DETACHED => {
                self.detached.set(self.detached.get() + 1);
                glommio::spawn_local(async move {
                    let e = engine.clone();
                    let outcome = AssertUnwindSafe(run(engine, ctx)).catch_unwind().await;
                    if outcome.is_err() {
                        tracing::error!("a detached send panicked; it was abandoned");
                    }
                    e.detached.set(e.detached.get().saturating_sub(1));
                })
                .detach();
            }
            // Too many already: the flow waits for it.
            Some(engine) => run(engine, ctx).await,
            // No shared engine (a test rig): the same, here.
            None => match job {
                Detached::Send { endpoint, receive } => {
                    self.send(&mut ctx, endpoint, receive).await
                }
                Detached::Call { endpoint } => {
                    if let Err(e) = self.call(&mut ctx, endpoint).await {
                        self.run_fault(&mut ctx, e).await;
                    }
                }
            },
        }
    }

    fn json(&self) -> &crate::json::JsonSettings {
        &self.json
    }
}

/// The message context as the send path sees it.
struct Sending<'e, 'c> {
    engine: &'e Engine,
    ctx: &'c mut MessageContext,
}

impl endpoint::Message for Sending<'_, '_> {
    fn headers(&self) -> &http::HeaderMap {
        &self.ctx.headers
    }

    async fn buffer(&mut self) -> Result<bytes::Bytes> {
        self.ctx.body_bytes().await
    }

    fn reset(&mut self, headers: http::HeaderMap, body: bytes::Bytes) {
        self.ctx.headers = headers;
        self.ctx.body = Body::full(body);
    }

    async fn eval(&mut self, expr: &Value) -> Result<String> {
        self.engine.eval(self.ctx, expr).await
    }

    async fn set_property(&mut self, name: &str, value: &Value, scope: Scope) -> Result<()> {
        let v = self.engine.eval(self.ctx, value).await?;
        properties::set(self.ctx, name, scope, v)
    }

    fn property(&self, name: &str) -> Option<String> {
        self.ctx.props.get(name).map(|v| v.as_str().to_owned())
    }

    fn rest_url_postfix(&self) -> Option<&str> {
        self.ctx
            .rest_url_postfix()
            .filter(|p| !p.is_empty() && self.ctx.doing_rest())
    }

    async fn to_address(&mut self) -> Option<String> {
        self.ctx.to_address().await
    }

    async fn outbound(&mut self, format: Option<Format>) -> Result<endpoint::Outbound> {
        let ctx = &mut *self.ctx;
        let (soap, query) = match format {
            // Boxed: rare, and its future would otherwise enlarge every send's.
            Some(f) => Box::pin(apply_format(ctx, f)).await?,
            None => (None, None),
        };
        let method = match ctx.axis2.get("HTTP_METHOD") {
            Some(m) => Method::from_bytes(m.as_bytes()).unwrap_or_else(|_| ctx.method.clone()),
            None => ctx.method.clone(),
        };
        self.engine.convert_for_output_as(ctx, soap).await?;
        let framing = if ctx.controls {
            Box::pin(framing(ctx)).await?
        } else {
            endpoint::Framing::default()
        };
        Ok(endpoint::Outbound {
            method,
            headers: std::mem::take(&mut ctx.headers),
            body: std::mem::take(&mut ctx.body),
            soap_action: ctx.action.clone().filter(|_| !ctx.doing_rest()),
            content_type: ctx.axis2.get("ContentType").cloned(),
            query,
            framing,
        })
    }

    fn accept(&mut self, resp: Response<crate::http::body::Streamed>) {
        self.ctx.set_response(resp);
    }

    fn soap_fault_fails(&self) -> bool {
        let ctx = &*self.ctx;
        ctx.controls
            && ctx.body_type == crate::message::context::BodyType::Xml
            && ctx.prop_true("FORCE_ERROR_ON_SOAP_FAULT")
    }

    async fn is_soap_fault(&mut self) -> Result<bool> {
        // (Its caller boxes this future: it is rare.)
        use crate::xpath::dom::Dom;
        let doc = self.ctx.document().await?;
        Ok(doc.soap_body().is_some()
            && doc.soap_payload().is_some_and(|p| {
                doc.local_name(p) == "Fault"
                    && crate::xml::SoapVersion::from_namespace(doc.namespace_uri(p)).is_some()
            }))
    }
}

/// The axis2 control properties on how the request goes on the wire; the body is read whole when
/// it must go with its Content-Length (never chunked).
async fn framing(ctx: &mut MessageContext) -> Result<endpoint::Framing> {
    let framing = endpoint::Framing {
        http10: ctx.axis2_true("FORCE_HTTP_1.0"),
        close: ctx.axis2_true("NO_KEEPALIVE"),
        absolute_uri: ctx.axis2_true("POST_TO_URI"),
    };
    if framing.http10
        || ctx.axis2_true("DISABLE_CHUNKING")
        || ctx.axis2_true("FORCE_HTTP_CONTENT_LENGTH")
    {
        let body = ctx.body_bytes().await?;
        ctx.body = crate::http::body::Body::full(body);
    }
    Ok(framing)
}

/// What an endpoint's `format` does to the message before it is sent, as Synapse's
/// Axis2FlexibleMEPClient does: the message type (and `Content-Type`, keeping a charset), the
/// method, and for GET the query the payload's fields make (the body is then not sent). Returns
/// the SOAP version the content must be converted to, and that query.
async fn apply_format(
    ctx: &mut MessageContext,
    format: Format,
) -> Result<(Option<crate::xml::SoapVersion>, Option<String>)> {
    use crate::xml::SoapVersion;
    let charset = ctx
        .axis2
        .get("ContentType")
        .and_then(|ct| {
            ct.split(';')
                .skip(1)
                .find_map(|p| p.trim().strip_prefix("charset="))
        })
        .map(|c| format!("; charset={}", c.trim_matches('"')))
        .unwrap_or_default();
    let set_type = |ctx: &mut MessageContext, mt: &str, ct: String| {
        ctx.axis2.insert("messageType".into(), mt.into());
        ctx.axis2.insert("ContentType".into(), ct.into());
    };
    Ok(match format {
        Format::Pox => {
            set_type(ctx, "application/xml", format!("application/xml{charset}"));
            (None, None)
        }
        Format::Soap11 => {
            set_type(ctx, "text/xml", format!("text/xml{charset}"));
            ctx.axis2.insert("HTTP_METHOD".into(), "POST".into());
            (Some(SoapVersion::Soap11), None)
        }
        Format::Soap12 => {
            let action = ctx
                .action
                .as_deref()
                .map(|a| format!(";action=\"{a}\""))
                .unwrap_or_default();
            set_type(
                ctx,
                "application/soap+xml",
                format!("application/soap+xml{action}{charset}"),
            );
            ctx.axis2.insert("HTTP_METHOD".into(), "POST".into());
            (Some(SoapVersion::Soap12), None)
        }
        Format::Get => {
            ctx.axis2.insert("HTTP_METHOD".into(), "GET".into());
            let query = if matches!(ctx.body, crate::http::body::Body::Empty) {
                None
            } else {
                let doc = ctx.document().await?;
                Some(content::form_query(&doc))
            };
            // No body, so no content type.
            ctx.set_body(bytes::Bytes::new());
            ctx.axis2.remove("ContentType");
            ctx.headers.remove(http::header::CONTENT_TYPE);
            (None, query)
        }
        Format::Rest => (None, None),
    })
}
