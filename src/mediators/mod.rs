//! The mediators: one module each, holding that mediator's compiled form, how it is read and
//! compiled from its element, and how it runs.
//!
//! A mediator's compile step needs the compiler (sequence and endpoint references, local
//! entries) and its run step needs the engine (evaluating values, running nested lists,
//! sending). Both sit above this module, so each is reached through a small trait defined here:
//! [`Compile`], implemented by `compile::Compiler`, and [`Runtime`], implemented by
//! `mediation::Engine`. Calls through them are static (one implementation each, generic methods).
//!
//! Adding a mediator is one module here (a type implementing [`Mediate`]) and one line in the
//! list at the bottom of this file, which declares the module and generates the [`Mediator`]
//! enum and its two delegating matches.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use crate::diag::{Origin, Severity};
use crate::error::{Error, Result};
use crate::json::JsonSettings;
use crate::message::content::{Evaluated, Want};
use crate::message::{EpId, Expr, MessageContext, SeqId, Value};
use crate::registry::cache::ShardRegistry;
use crate::synapse::model::{Element, LocalEntryValue, ValueSpec};
use crate::synapse::parse::{is_synapse, Reader, SYNAPSE_NS};
use crate::xml::Document;

pub mod compiled_key;
pub mod condition;
pub mod edit;
pub mod gather;
pub mod target;

/// Whether mediation goes on after a mediator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// A future on the shard (mediation is never sent across threads).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// What a mediator's compile step may ask of the compiler.
pub trait Compile {
    /// A reader whose problems are reported for `file` (the file the element came from).
    fn reader(&mut self, file: &Arc<PathBuf>) -> Reader<'_>;
    /// A sequence by key: a named sequence or a registry resource (reported when missing).
    fn sequence_key(&mut self, key: &str, at: &Origin) -> Option<SeqId>;
    /// An `<endpoint>` element inside a mediator: inline, or a reference by key.
    fn endpoint(&mut self, el: &Element, at: &Origin) -> Option<EpId>;
    /// An endpoint by key: a named endpoint or a registry resource (reported when missing).
    fn endpoint_by_key(&mut self, key: &str, at: &Origin) -> Option<EpId>;
    /// A local entry by key.
    fn local_entry(&self, key: &str) -> Option<&LocalEntryValue>;
    /// A sequence template by name (its sequence is the named sequence
    /// `synapse::model::template_sequence_name(name)`).
    fn sequence_template(&self, name: &str) -> Option<&crate::synapse::model::SequenceTemplate>;
    /// A mediator resumes split parts after itself: the engine must keep each flow's position.
    fn needs_continuations(&mut self);
    /// A configurable property's value (`${configs.key}`), fixed for the deployment.
    fn config_value(&self, key: &str) -> Option<String>;

    /// Reports an error at `at`.
    fn error(&mut self, at: &Origin, message: impl Into<String>) {
        report(self, Severity::Error, at, message.into());
    }
    /// Reports a warning at `at`.
    fn warn(&mut self, at: &Origin, message: impl Into<String>) {
        report(self, Severity::Warning, at, message.into());
    }
}

fn report<C: Compile + ?Sized>(c: &mut C, severity: Severity, at: &Origin, message: String) {
    let mut r = c.reader(&at.file);
    match severity {
        Severity::Error => r.error(at.pos, message),
        Severity::Warning => r.warn(at.pos, message),
    }
}

/// What a mediator's run step may ask of the engine.
#[allow(async_fn_in_trait)] // one implementation, called with static dispatch on the shard
pub trait Runtime {
    /// A value's text for this message.
    async fn eval(&self, ctx: &mut MessageContext, value: &Value) -> Result<String>;
    /// A value's typed result: a Synapse expression's value as MI's `objectValueOf` gives it
    /// (a failed evaluation is `""`), any other value's text as a string.
    async fn eval_object(
        &self,
        ctx: &mut MessageContext,
        value: &Value,
    ) -> Result<crate::synexpr::Val>;
    /// A compiled XPath against this message, answered in the form asked for; the document is
    /// returned when the tree was built (node-sets refer to it).
    async fn eval_xpath(
        &self,
        ctx: &mut MessageContext,
        x: &Expr,
        want: Want,
    ) -> Result<(Evaluated, Option<Arc<Document>>)>;
    /// A compiled XPath against `doc` (from its root element), with this message's properties.
    async fn eval_xpath_on(
        &self,
        ctx: &mut MessageContext,
        x: &Expr,
        doc: &Arc<Document>,
        want: Want,
    ) -> Result<Evaluated>;
    /// Runs a list of mediators (a branch); the innermost fault handler runs on a failure.
    fn run_list<'a>(
        &'a self,
        ctx: &'a mut MessageContext,
        list: &'a [Mediator],
    ) -> LocalFuture<'a, Flow>;
    /// Runs a sequence, with its `onError` handler on the fault stack.
    fn run_sequence<'a>(&'a self, ctx: &'a mut MessageContext, seq: SeqId)
        -> LocalFuture<'a, Flow>;
    /// `send`: delivers the message to the endpoint (or its `To`), then hands the response to
    /// `receive` or the out-flow; failures run the fault handler.
    async fn send(&self, ctx: &mut MessageContext, endpoint: Option<EpId>, receive: Option<SeqId>);
    /// `call`: sends the message and makes the response the current message.
    fn call<'a>(
        &'a self,
        ctx: &'a mut MessageContext,
        endpoint: Option<EpId>,
    ) -> LocalFuture<'a, Result<()>>;
    /// Resumes a split part after its splitter (the rest of each enclosing list).
    fn resume<'a>(&'a self, ctx: &'a mut MessageContext) -> LocalFuture<'a, Flow>;
    /// A JSONPath against the message's JSON (an XML body through WSO2's JSON view).
    async fn eval_json(
        &self,
        ctx: &mut MessageContext,
        path: &crate::json::JsonPath,
    ) -> Result<crate::json::JsonPathResult>;
    /// Bounds on splitting one request.
    fn split_limits(&self) -> SplitLimits;
    /// The shard's registry.
    fn registry(&self) -> &ShardRegistry;
    /// WSO2's JSON ⇄ XML settings.
    fn json(&self) -> &JsonSettings;
    /// This shard's counters.
    fn stats(&self) -> &crate::telemetry::metrics::ShardStats;
    /// A sequence deployed under `name` (defined, or compiled from the registry at deployment).
    fn named_sequence(&self, name: &str) -> Option<SeqId>;
    /// The deployed message stores.
    fn stores(&self) -> &crate::stores::Stores;
    /// Leaves `job` running on `ctx` (a copy of the message) after the current flow goes on or
    /// ends: OUT_ONLY and FORCE_SC_ACCEPTED sends. What it answers goes nowhere.
    async fn detach(&self, ctx: MessageContext, job: Detached);
}

/// Work a message leaves running (see [`Runtime::detach`]).
#[derive(Debug, Clone, Copy)]
pub enum Detached {
    /// `send`: the backend, then the response's sequence.
    Send {
        endpoint: Option<EpId>,
        receive: Option<SeqId>,
    },
    /// `call` whose response nobody waits for.
    Call { endpoint: Option<EpId> },
}

/// How far one request may be split (`[mediation]` settings).
#[derive(Debug, Clone, Copy)]
pub struct SplitLimits {
    /// Parts one request may make, nested splits included.
    pub max_parts: usize,
    /// Parts of one split running at once.
    pub concurrency: usize,
}

/// One mediator: compiled from its element once, run per message.
#[allow(async_fn_in_trait)] // static dispatch through the `Mediator` enum
pub trait Mediate: Sized {
    /// Reads and compiles the element (`at` is its position); None after reporting an error.
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self>;
    /// Runs on one message.
    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow>;
    /// The lists of mediators this one runs itself (filter's then/else, a target's sequence…),
    /// for resuming a split part inside one of them.
    fn branches(&self) -> Vec<&[Mediator]> {
        Vec::new()
    }
}

/// Large mediators are kept boxed in the [`Mediator`] enum, so that a list stays compact.
impl<T: Mediate> Mediate for Box<T> {
    fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Self> {
        T::compile(c, el, at).map(Box::new)
    }
    async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
        (**self).run(rt, ctx).await
    }
    fn branches(&self) -> Vec<&[Mediator]> {
        (**self).branches()
    }
}

/// The position of `el` in the file `at` is in.
pub fn at(el: &Element, at: &Origin) -> Origin {
    Origin {
        file: Arc::clone(&at.file),
        pos: el.pos,
    }
}

/// The mediators among `parent`'s child elements, compiled (`<description>` skipped; broken
/// mediators reported and left out).
pub fn list(c: &mut impl Compile, parent: &Element, origin: &Origin) -> Vec<Mediator> {
    parent
        .elements()
        .filter(|child| !is_synapse(child, "description"))
        .filter_map(|child| Mediator::compile(c, child, &at(child, origin)))
        .collect()
}

/// A branch (filter's then/else, switch's case/default): the sequence its `sequence` attribute
/// names, else its child mediators.
pub fn branch(c: &mut impl Compile, el: &Element, origin: &Origin) -> Vec<Mediator> {
    if let Some(key) = el.attr("sequence") {
        return c
            .sequence_key(key.trim(), origin)
            .map(|id| Mediator::Sequence(sequence::Sequence::Named(id)))
            .into_iter()
            .collect();
    }
    list(c, el, origin)
}

/// A compiled XPath written on `el` (with the namespaces in scope there).
pub fn xpath(c: &mut impl Compile, text: &str, el: &Element, at: &Origin) -> Option<Arc<Expr>> {
    if text.trim_start().starts_with("json-eval(") {
        c.warn(
            at,
            format!("json-eval expressions ('{text}') are not supported yet"),
        );
        return None;
    }
    match crate::xpath::compile(text, &el.ns_scope) {
        Ok(x) => Some(Arc::new(Expr::new(x))),
        // Names Jaxen resolves only when it evaluates: Synapse deploys the expression, and every
        // evaluation fails (a fault where the mediator faults on a failed expression).
        Err(e) if e.kind.found_at_evaluation() => {
            c.warn(
                at,
                format!(
                    "XPath '{text}': {} (at offset {}): deployed as Synapse does, and every evaluation of it fails",
                    e.kind, e.offset
                ),
            );
            let why = format!("XPath '{text}': {}", e.kind);
            Some(Arc::new(Expr::new(crate::xpath::XPath::unresolvable(
                text, &why,
            ))))
        }
        Err(e) => {
            c.error(
                at,
                format!("invalid XPath '{text}' at offset {}: {e}", e.offset),
            );
            None
        }
    }
}

/// The JSONPath inside `json-eval(…)`, when `text` is one.
pub fn json_eval_path(text: &str) -> Option<&str> {
    text.trim()
        .strip_prefix("json-eval(")
        .and_then(|r| r.strip_suffix(')'))
}

/// A JSONPath compiled, or reported (None) when it does not compile.
pub fn compile_json_path(
    c: &mut impl Compile,
    path: &str,
    at: &Origin,
) -> Option<Arc<crate::json::JsonPath>> {
    match crate::json::JsonPath::compile(path.trim()) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            c.error(at, format!("invalid JSONPath '{path}': {e}"));
            None
        }
    }
}

/// A JSONPath (`json-eval(...)`'s argument, or an `evaluator="json"` expression).
pub fn json_path(c: &mut impl Compile, path: &str, at: &Origin) -> Value {
    match compile_json_path(c, path, at) {
        Some(p) => Value::JsonPath(p),
        None => Value::Unsupported(path.to_string()),
    }
}

/// A Synapse expression (`${…}`, MI 4.4) written on `el`, compiled; reported and None when it
/// does not compile.
pub fn synapse_expression(
    c: &mut impl Compile,
    inner: &str,
    el: &Element,
    at: &Origin,
) -> Option<Arc<crate::message::SynapseExpr>> {
    match crate::synexpr::Expression::compile(inner, &el.ns_scope) {
        Ok(e) => Some(adopt_expression(c, e, at)),
        Err(e) => {
            c.error(
                at,
                format!(
                    "invalid Synapse expression '${{{inner}}}' at offset {}: {}",
                    e.offset, e.message
                ),
            );
            None
        }
    }
}

/// A compiled Synapse expression, ready to run, with a warning for each function or root mint
/// does not have (they evaluate to `""`).
pub fn adopt_expression(
    c: &mut impl Compile,
    mut e: crate::synexpr::Expression,
    at: &Origin,
) -> Arc<crate::message::SynapseExpr> {
    // `configs.key` is fixed for a deployment (MI's PropertyHolder): read once, here.
    for key in e.resolve_configs(|k| c.config_value(k)) {
        c.warn(
            at,
            format!(
                "configs.{key} in '${{{}}}' has no value (set the environment variable '{key}' \
                 or add it to conf/file.properties): it evaluates to \"\"",
                e.source()
            ),
        );
    }
    for f in e.unsupported() {
        c.warn(
            at,
            format!(
                "{f} in '${{{}}}' is not supported by mint yet: it evaluates to \"\"",
                e.source()
            ),
        );
    }
    Arc::new(crate::message::SynapseExpr::new(e))
}

/// An expression: a Synapse expression (`${…}`), the property-read fast path, `json-eval(...)`,
/// else a compiled XPath.
pub fn expression(c: &mut impl Compile, text: &str, el: &Element, at: &Origin) -> Value {
    if let Some(inner) = crate::synexpr::inner(text) {
        return match synapse_expression(c, inner, el, at) {
            Some(e) => Value::Synapse(e),
            None => Value::Unsupported(text.to_string()),
        };
    }
    if let Some(inner) = json_eval_path(text) {
        return json_path(c, inner, at);
    }
    match Value::expression(text) {
        Value::Unsupported(_) => match xpath(c, text, el, at) {
            Some(x) => Value::XPath(x),
            None => Value::Unsupported(text.to_string()),
        },
        fast => fast,
    }
}

/// A value written as Synapse's `Value` (a key, a name, a count): `{expression}` is evaluated
/// per message, anything else is the literal text.
pub fn dynamic_value(c: &mut impl Compile, text: &str, el: &Element, at: &Origin) -> Value {
    let t = text.trim();
    match t.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
        Some(expr) => expression(c, expr, el, at),
        None => Value::Literal(text.to_string()),
    }
}

/// A value as the parser gives it: a literal, inline XML or an expression.
pub fn value(c: &mut impl Compile, v: &ValueSpec, at: &Origin) -> Value {
    match v {
        ValueSpec::Literal(s) => Value::Literal(s.clone()),
        ValueSpec::Inline(el) => Value::Xml(inline_element(el)),
        ValueSpec::Expression { text, namespaces } => {
            let el = Element {
                ns_scope: namespaces.clone(),
                ..Default::default()
            };
            expression(c, text, &el, at)
        }
    }
}

/// A regular expression matched as Java's `Matcher.matches()` does: the whole string.
pub fn regex(c: &mut impl Compile, re: &str, at: &Origin) -> Option<WholeMatch> {
    match WholeMatch::new(re) {
        Ok(r) => Some(r),
        Err(e) => {
            c.error(at, format!("invalid regex '{re}': {e}"));
            None
        }
    }
}

/// A regex that must match a whole string (Java's `Matcher.matches()`), as filter, switch and
/// the rewrite conditions use them: a Thompson NFA of `^(?:re)$` searched with the lazy DFA,
/// and with the PikeVM when the lazy DFA gives up (a Unicode word boundary on non-ASCII text, or
/// a cache it keeps refilling). Deployment cost is what matters here, as matching is one short
/// header or value: the `regex` crate's builders make a new NFA compiler per pattern (which
/// zeroes a table of about 300 KiB for any Unicode class, `.` included), a reverse NFA, and a
/// full DFA for small patterns; this thread's one compiler is reused instead, and equal patterns
/// share one compiled program.
#[derive(Clone)]
pub struct WholeMatch(Arc<WholeMatchProgram>);

struct WholeMatchProgram {
    /// `None` when the NFA is too large for the lazy DFA's cache (the PikeVM answers alone, as
    /// the `regex` crate's meta engine does then).
    dfa: Option<(
        regex_automata::hybrid::dfa::DFA,
        WholeMatchPool<regex_automata::hybrid::dfa::Cache>,
    )>,
    pikevm: regex_automata::nfa::thompson::pikevm::PikeVM,
    pikevm_caches: WholeMatchPool<regex_automata::nfa::thompson::pikevm::Cache>,
}

/// A cache per thread that matches (regex-automata's pool: lock-free for its owner thread).
type WholeMatchPool<T> = regex_automata::util::pool::Pool<T, Box<dyn Fn() -> T + Send + Sync>>;

impl std::fmt::Debug for WholeMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WholeMatch")
    }
}

thread_local! {
    /// This thread's NFA compiler (deployments run on the main thread at start and on the
    /// deployer thread after); it keeps its UTF-8 tables from one pattern to the next.
    static NFA_COMPILER: regex_automata::nfa::thompson::Compiler = {
        let mut c = regex_automata::nfa::thompson::Compiler::new();
        c.configure(
            regex_automata::nfa::thompson::Config::new()
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
                // The `regex` crate's limit: a pattern such as `(?:a{1000}){1000}` is refused
                // instead of exhausting memory.
                .nfa_size_limit(Some(10 << 20)),
        );
        c
    };
    /// Patterns compiled by this thread that some artifact still uses, shared by every artifact
    /// that repeats one (`application/json.*`, `.*`, a SOAPAction…). Weak: a program (and the
    /// shards' caches in it) goes with the last artifact using it, not with this table.
    static COMPILED: std::cell::RefCell<HashMap<String, std::sync::Weak<WholeMatchProgram>>> =
        std::cell::RefCell::new(HashMap::new());
}

impl WholeMatch {
    /// Most patterns the table of compiled patterns holds (dead entries are dropped when it is
    /// full; past this, new patterns are compiled without being shared).
    const MEMO_MAX: usize = 4096;

    pub fn new(re: &str) -> std::result::Result<WholeMatch, String> {
        if let Some(p) = COMPILED.with(|m| m.borrow().get(re).and_then(|w| w.upgrade())) {
            return Ok(WholeMatch(p));
        }
        let nfa = NFA_COMPILER.with(|c| c.build(&format!("^(?:{re})$")).map_err(regex_error))?;
        let dfa = regex_automata::hybrid::dfa::Builder::new()
            .configure(
                regex_automata::hybrid::dfa::Config::new()
                    // Unicode word boundaries too: the search quits on non-ASCII text around
                    // one, and the PikeVM answers.
                    .unicode_word_boundary(true)
                    // Gives up (and the PikeVM answers) when its cache keeps being refilled,
                    // with the meta engine's thresholds.
                    .minimum_cache_clear_count(Some(3))
                    .minimum_bytes_per_state(Some(10)),
            )
            .build_from_nfa(nfa.clone())
            .ok()
            .map(|dfa| {
                let d = dfa.clone();
                let caches: WholeMatchPool<_> =
                    regex_automata::util::pool::Pool::new(Box::new(move || d.create_cache()));
                (dfa, caches)
            });
        let pikevm = regex_automata::nfa::thompson::pikevm::PikeVM::new_from_nfa(nfa)
            .map_err(regex_error)?;
        let p = pikevm.clone();
        let program = WholeMatchProgram {
            dfa,
            pikevm_caches: regex_automata::util::pool::Pool::new(Box::new(move || {
                p.create_cache()
            })),
            pikevm,
        };
        let r = WholeMatch(Arc::new(program));
        COMPILED.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= Self::MEMO_MAX {
                m.retain(|_, w| w.strong_count() > 0);
            }
            if m.len() < Self::MEMO_MAX {
                m.insert(re.to_string(), Arc::downgrade(&r.0));
            }
        });
        Ok(r)
    }

    pub fn is_match(&self, text: &str) -> bool {
        use regex_automata::{Anchored, Input};
        let p = &*self.0;
        let input = Input::new(text).anchored(Anchored::Yes).earliest(true);
        if let Some((dfa, caches)) = &p.dfa {
            let mut cache = caches.get();
            if let Ok(m) = dfa.try_search_fwd(&mut cache, &input) {
                return m.is_some();
            }
        }
        let mut cache = p.pikevm_caches.get();
        p.pikevm.is_match(&mut cache, input)
    }
}

/// A build error with its cause (the syntax error and where it is).
fn regex_error(e: impl std::error::Error) -> String {
    match e.source() {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// Removes whitespace-only text between tags (the indentation of an inline template), as
/// WSO2's payloadFactory does.
pub fn strip_indentation(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find('>') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let ws = rest.len() - rest.trim_start().len();
        if rest[ws..].starts_with('<') {
            rest = &rest[ws..];
        }
    }
    out.push_str(rest);
    out
}

/// An inline XML template as text: the element's source, with the namespace declarations it
/// inherits from the artifact (except Synapse's own default namespace, which WSO2 does not put into
/// payloads) added to its start tag when its text uses them.
/// [`format_xml`], and unprefixed elements that rely on the default namespace in scope in the
/// artifact keep it (`xmlns="http://ws.apache.org/ns/synapse"` in most, declared on the top
/// element): what Axiom writes for a clone of the artifact's element, where Synapse uses one as
/// is.
pub fn format_xml_with_default_ns(el: &Element) -> String {
    let xml = format_xml(el);
    let default = el
        .ns_scope
        .iter()
        .rev()
        .find(|(p, _)| p.is_empty())
        .map(|(_, u)| u.as_str())
        .unwrap_or_default();
    let head_end = xml.find('>').unwrap_or(xml.len());
    if default.is_empty() || xml[..head_end].contains("xmlns=") || !uses_default_ns(el, default) {
        return xml;
    }
    let decl = format!(" xmlns=\"{}\"", crate::xml::escape_attr(default));
    after_element_name(&xml, &decl)
}

/// `xml` with `extra` inserted right after the element name of its start tag.
fn after_element_name(xml: &str, extra: &str) -> String {
    let name_end = xml
        .get(1..)
        .and_then(|t| t.find(|c: char| c.is_whitespace() || c == '>' || c == '/'))
        .map(|i| i + 1)
        .unwrap_or(xml.len());
    format!("{}{}{}", &xml[..name_end], extra, &xml[name_end..])
}

/// Whether `el` or an element below it is unprefixed and in namespace `default` (so it relies
/// on the default namespace declared outside it).
fn uses_default_ns(el: &Element, default: &str) -> bool {
    (!el.qname().contains(':') && el.ns == default)
        || el.elements().any(|c| uses_default_ns(c, default))
}

pub fn format_xml(el: &Element) -> String {
    let src = el.source.trim();
    let mut extra = String::new();
    let mut seen = Vec::new();
    for (prefix, uri) in el.ns_scope.iter().rev() {
        if seen.contains(prefix) {
            continue;
        }
        seen.push(prefix.clone());
        if uri == SYNAPSE_NS || prefix.is_empty() || prefix == "xml" {
            continue;
        }
        let declared = src.contains(&format!("xmlns:{prefix}="));
        if !declared && src.contains(&format!("{prefix}:")) {
            extra.push_str(&format!(
                " xmlns:{prefix}=\"{}\"",
                crate::xml::escape_attr(uri)
            ));
        }
    }
    if extra.is_empty() {
        return src.to_string();
    }
    after_element_name(src, &extra)
}

/// Inline XML as a value (a property's or header's element): the element as WSO2 holds it, an
/// OMElement of the artifact, so it keeps the namespaces it inherits there, the default one
/// included (an unprefixed element written inside a Synapse artifact is in Synapse's namespace
/// unless it says `xmlns=""`).
pub fn inline_element(el: &Element) -> String {
    let with_prefixes = format_xml(el);
    if !el.prefix.is_empty() || el.ns.is_empty() {
        return with_prefixes;
    }
    let start_tag_end = with_prefixes.find('>').unwrap_or(with_prefixes.len());
    if with_prefixes[..start_tag_end].contains("xmlns=") {
        return with_prefixes;
    }
    let name_end = with_prefixes[1..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map(|i| i + 1)
        .unwrap_or(with_prefixes.len());
    format!(
        "{} xmlns=\"{}\"{}",
        &with_prefixes[..name_end],
        crate::xml::escape_attr(&el.ns),
        &with_prefixes[name_end..]
    )
}

/// The local entry `key` as template text (payloadFactory formats, enrich's inline source):
/// None when it is not a local entry with inline content (then it is a registry key).
pub fn local_text(c: &impl Compile, key: &str) -> Option<String> {
    match c.local_entry(key)? {
        LocalEntryValue::Xml(x) => Some(format_xml(x)),
        LocalEntryValue::Text(t) => Some(t.clone()),
        LocalEntryValue::Src(_) => None,
    }
}

/// MI's mediators that mint does not have (their elements in the Synapse namespace): deployed
/// with a warning, a fault when run. Any other element there is a deployment error.
const MI_MEDIATORS: &[&str] = &[
    "bean",
    "builder",
    "callout",
    "class",
    "conditionalRouter",
    "dataServiceCall",
    "datamapper",
    "dblookup",
    "dbreport",
    "ejb",
    "enqueue",
    "entitlementService",
    "event",
    "jsontransform",
    "ntlm",
    "oauthService",
    "pojoCommand",
    "publishEvent",
    "router",
    "rule",
    "script",
    "smooks",
    "spring",
    "transaction",
    "xquery",
];

/// A mediator's type in the [`Mediator`] enum: as it is, or boxed (`, boxed`) when it is large,
/// so that a list of mediators stays compact.
macro_rules! mediator_type {
    ($module:ident::$name:ident) => { $module::$name };
    ($module:ident::$name:ident, boxed) => { Box<$module::$name> };
}

/// Generates the mediator modules, [`Mediator`] and its two delegating matches from the list of
/// mediators: the element's local name in the Synapse namespace, the variant, its module and
/// type.
macro_rules! mediators {
    ($($local:literal => $variant:ident($module:ident::$name:ident $(, $boxed:ident)?),)*) => {
        $(pub mod $module;)*

        /// A compiled mediator.
        #[derive(Debug, Clone)]
        pub enum Mediator {
            $($variant(mediator_type!($module::$name $(, $boxed)?)),)*
            /// Raises a fault with this message when run (a sequence key that resolved to
            /// nothing, as WSO2 reports at run time).
            Raise(String),
            /// A mediator mint does not implement yet (warned at deployment): raises a fault
            /// naming it when run.
            Unsupported { name: String, origin: Origin },
        }

        impl Mediator {
            /// Reads and compiles the mediator element `el`; a mediator mint does not have is
            /// warned about and kept as [`Mediator::Unsupported`].
            pub fn compile(c: &mut impl Compile, el: &Element, at: &Origin) -> Option<Mediator> {
                let synapse = el.ns == SYNAPSE_NS || el.ns.is_empty();
                match el.local.as_str() {
                    $($local if synapse => {
                        <mediator_type!($module::$name $(, $boxed)?) as Mediate>::compile(c, el, at)
                            .map(Mediator::$variant)
                    })*
                    // An element of the Synapse namespace that no MI mediator has is an error,
                    // as in WSO2 ("Unknown mediator referenced by configuration element"); a
                    // mediator MI has and mint lacks, a connector operation (`name.operation`)
                    // or a mediator of another namespace (a custom mediator's) is a warning, and
                    // a fault when run.
                    local if synapse && !local.contains('.') && !MI_MEDIATORS.contains(&local) => {
                        c.error(
                            at,
                            format!(
                                "<{}> is not a mediator (Unknown mediator referenced by \
                                 configuration element)",
                                el.qname()
                            ),
                        );
                        None
                    }
                    _ => {
                        let what = if synapse && el.local.contains('.') {
                            "connector operation"
                        } else {
                            "mediator"
                        };
                        c.warn(at, format!("{what} <{}> is not supported yet", el.qname()));
                        Some(Mediator::Unsupported {
                            name: el.local.clone(),
                            origin: at.clone(),
                        })
                    }
                }
            }

            /// Runs the mediator on one message.
            pub async fn run(&self, rt: &impl Runtime, ctx: &mut MessageContext) -> Result<Flow> {
                match self {
                    $(Mediator::$variant(m) => m.run(rt, ctx).await,)*
                    Mediator::Raise(msg) => Err(Error::mediation(msg.clone())),
                    Mediator::Unsupported { name, origin } => Err(Error::mediation(format!(
                        "mediator '{name}' ({origin}) is not supported by mint yet"
                    ))),
                }
            }

            /// The lists of mediators this one runs itself.
            pub fn branches(&self) -> Vec<&[Mediator]> {
                match self {
                    $(Mediator::$variant(m) => m.branches(),)*
                    Mediator::Raise(_) | Mediator::Unsupported { .. } => Vec::new(),
                }
            }
        }
    };
}

mediators! {
    "aggregate" => Aggregate(aggregate::Aggregate, boxed),
    "cache" => Cache(cache::Cache),
    "call" => Call(call::Call),
    "call-template" => CallTemplate(call_template::CallTemplate),
    "clone" => Clone(clone::Clone, boxed),
    "drop" => Drop(drop::Drop),
    "enrich" => Enrich(enrich::Enrich, boxed),
    "fastXSLT" => FastXslt(fast_xslt::FastXslt, boxed),
    "filter" => Filter(filter::Filter),
    "foreach" => ForEach(foreach::ForEach, boxed),
    "header" => Header(header::Header),
    "in" => In(in_flow::In),
    "throttle" => Throttle(throttle::Throttle),
    "throwError" => ThrowError(throw_error::ThrowError),
    "validate" => Validate(validate::Validate, boxed),
    "iterate" => Iterate(iterate::Iterate, boxed),
    "log" => Log(log::Log),
    "loopback" => Loopback(loopback::Loopback),
    "makefault" => MakeFault(makefault::MakeFault, boxed),
    "out" => Out(out_flow::Out),
    "payloadFactory" => PayloadFactory(payload_factory::PayloadFactory, boxed),
    "property" => Property(property::Property),
    "propertyGroup" => PropertyGroup(property_group::PropertyGroup),
    "respond" => Respond(respond::Respond),
    "rewrite" => Rewrite(rewrite::Rewrite, boxed),
    "scatter-gather" => ScatterGather(scatter_gather::ScatterGather, boxed),
    "send" => Send(send::Send),
    "store" => Store(store::Store),
    "sequence" => Sequence(sequence::Sequence),
    "switch" => Switch(switch::Switch),
    "variable" => Variable(variable::Variable),
    "xslt" => Xslt(xslt::Xslt, boxed),
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty_elements_keep_their_indentation_only_between_tags() {
        assert_eq!(
            super::strip_indentation("<a>\n  <b>x y</b>\n</a>"),
            "<a><b>x y</b></a>"
        );
    }

    #[test]
    fn whole_match_patterns_compiled_once_match_as_their_own() {
        let a = super::WholeMatch::new("application/json.*").unwrap();
        let b = super::WholeMatch::new("application/json.*").unwrap();
        let c = super::WholeMatch::new("text/.*").unwrap();
        for (t, json) in [
            ("application/json", true),
            ("application/json; charset=UTF-8", true),
            ("xapplication/json", false),
            ("text/xml", false),
        ] {
            assert_eq!(a.is_match(t), json, "{t}");
            assert_eq!(b.is_match(t), json, "{t}");
            assert_eq!(c.is_match(t), t.starts_with("text/"), "{t}");
        }
        let e = super::WholeMatch::new("(").unwrap_err();
        assert!(e.contains("unclosed group"), "{e}");
        assert!(super::WholeMatch::new("(").is_err());
        // Refused, as by the `regex` crate, instead of compiling a huge automaton.
        assert!(super::WholeMatch::new("(?:a{1000}){1000}").is_err());
        // Unicode word boundaries: the lazy DFA quits on non-ASCII text, the PikeVM answers.
        let w = super::WholeMatch::new(r"\bé\w+\b").unwrap();
        assert!(w.is_match("été"));
        assert!(!w.is_match("été "));
        // Equal patterns share one program while an artifact holds it, and the table does not
        // keep it alive after.
        assert!(std::sync::Arc::ptr_eq(&a.0, &b.0));
        assert!(!std::sync::Arc::ptr_eq(&a.0, &c.0));
        drop((a, b));
        let dead = super::COMPILED.with(|m| m.borrow()["application/json.*"].strong_count());
        assert_eq!(dead, 0);
        assert!(super::WholeMatch::new("application/json.*")
            .unwrap()
            .is_match("application/json"));
    }
}
