//! The message content as mediators see it: the lazily parsed XML view of the body, the XPath
//! context that answers Synapse's variables and `get-property()` from the message context, and
//! expression evaluation (with registry look-ups fetched off the shard before evaluating).
//!
//! A flow whose expressions only read properties never parses the body: such expressions are
//! evaluated against an empty document.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::Engine;
use crate::error::{Error, ErrorKind, Result, Side};
use crate::message::content::{Evaluated, Want};
use crate::message::context::{BodyType, MessageContext};
use crate::message::properties;
use crate::message::Expr;
use crate::registry::Resource;
use crate::xml::Document;
use crate::xpath::dom::NodeId;
use crate::xpath::{EmptyDom, XPath, XPathContext};
use crate::xpath::{MessageField, PropertyValue, Scope as XScope};

/// Answers XPath's questions from one message.
pub struct MessageXPathContext<'a> {
    pub engine: &'a Engine,
    pub ctx: &'a MessageContext,
    pub doc: Option<&'a Document>,
    /// Registry resources fetched for this evaluation (None: the key does not exist).
    pub fetched: &'a HashMap<String, Option<Arc<Resource>>>,
    /// Registry keys asked for but neither fetched nor cached: fetched, then evaluation repeats.
    pub misses: RefCell<Vec<String>>,
}

impl XPathContext for MessageXPathContext<'_> {
    fn property(&self, scope: XScope, name: &str) -> Option<PropertyValue<'_>> {
        let s = |v: &str| Some(PropertyValue::String(Cow::Owned(v.to_string())));
        match scope {
            XScope::Registry => {
                let (key, prop) = crate::xpath::split_registry_key(name);
                let found = match self.fetched.get(key) {
                    Some(f) => f.clone(),
                    None => match self.engine.registry.cached(key) {
                        Some(r) => Some(r),
                        None => {
                            self.misses.borrow_mut().push(key.to_string());
                            None
                        }
                    },
                };
                match (found, prop) {
                    (Some(r), Some(p)) => s(r.property(p).unwrap_or("")),
                    (Some(r), None) => s(&r.text()),
                    // A missing resource reads as "" (as WSO2 answers).
                    (None, _) => s(""),
                }
            }
            _ => properties::get(self.ctx, scope, name).map(PropertyValue::String),
        }
    }

    fn entry(&self, key: &str) -> Option<Cow<'_, str>> {
        self.engine.local_entry_text(key).map(Cow::Borrowed)
    }

    fn message_field(&self, f: MessageField) -> Option<Cow<'_, str>> {
        properties::field(self.ctx, f)
    }

    fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        crate::xpath::query_param_from_url(&self.ctx.uri.to_string(), name).map(Cow::Owned)
    }

    fn soap_envelope(&self) -> Option<NodeId> {
        let d = self.doc?;
        d.soap_version().map(|_| d.root_element())
    }

    fn soap_body(&self) -> Option<NodeId> {
        // A plain XML message is, in Synapse, the only child of a SOAP body: its document node
        // plays that part here (`$body/*` is the root element, as in WSO2).
        let d = self.doc?;
        d.soap_body().or_else(|| d.parent(d.root_element()))
    }

    fn soap_header(&self) -> Option<NodeId> {
        self.doc?.soap_header()
    }

    fn vault_lookup(&self, alias: &str) -> Option<Cow<'_, str>> {
        self.engine.settings.vault.get(alias).map(Cow::Borrowed)
    }
}

impl Engine {
    /// The local entry `key` as text (what `get-property('key')` falls back to when no
    /// property has the name, as Synapse's `getEntry` does).
    pub fn local_entry_text(&self, key: &str) -> Option<&str> {
        match self.config.local_entries.get(key) {
            Some(crate::program::LocalEntry::Text(t)) => Some(t),
            Some(crate::program::LocalEntry::Xml(x)) => Some(&x.source),
            _ => None,
        }
    }

    /// Evaluates a compiled XPath against the message, fetching registry resources it asks for.
    pub async fn eval_xpath(
        &self,
        ctx: &mut MessageContext,
        x: &Expr,
        want: Want,
    ) -> Result<(Evaluated, Option<Arc<Document>>)> {
        if let Some(r) = self.eval_streaming(ctx, x, want).await? {
            return Ok((r, None));
        }
        let doc = if x.reads_content() || matches!(want, Want::Nodes) {
            Some(ctx.document().await?)
        } else {
            None
        };
        let r = self.eval_xpath_on(ctx, x, doc.as_ref(), want).await?;
        Ok((r, doc))
    }

    /// Evaluates a compiled XPath on `doc` (from its root element), with the message's
    /// properties, variables and registry at hand.
    pub async fn eval_xpath_on(
        &self,
        ctx: &mut MessageContext,
        x: &Expr,
        doc: Option<&Arc<Document>>,
        want: Want,
    ) -> Result<Evaluated> {
        // Evaluation is synchronous and bounded by its work budget (`crate::xpath`, about a few
        // dozen passes over the document); other connections on the shard get their turn
        // between evaluations.
        glommio::yield_if_needed().await;
        let ctx = &*ctx;
        let (result, misses) = self.xpath_attempt(ctx, x, doc, want, &HashMap::new());
        if misses.is_empty() {
            return result;
        }
        // Boxed: this rare path would otherwise enlarge the future of every mediator that
        // evaluates XPath.
        let attempt = |fetched: &Fetched| self.xpath_attempt(ctx, x, doc, want, fetched);
        Box::pin(self.fetch_and_retry(misses, attempt, Err)).await
    }

    /// Registry keys an evaluation missed are fetched off the shard, then it runs again with
    /// them at hand, until it misses none (at most three rounds: keys can be computed from other
    /// keys; the last result stands). A failed fetch ends it with `failed`.
    async fn fetch_and_retry<R>(
        &self,
        mut misses: Vec<String>,
        attempt: impl Fn(&Fetched) -> (R, Vec<String>),
        failed: impl Fn(Error) -> R,
    ) -> R {
        let mut fetched = HashMap::new();
        for _ in 0..3 {
            for key in misses {
                match self.registry.lookup(&key).await {
                    Ok(res) => {
                        fetched.insert(key, res);
                    }
                    Err(e) => return failed(e),
                }
            }
            let (result, more) = attempt(&fetched);
            if more.is_empty() {
                return result;
            }
            misses = more;
        }
        attempt(&fetched).0
    }

    /// One evaluation with the registry resources fetched so far: the result, and the keys it
    /// missed (then the result read them as absent).
    fn xpath_attempt(
        &self,
        ctx: &MessageContext,
        x: &Expr,
        doc: Option<&Arc<Document>>,
        want: Want,
        fetched: &Fetched,
    ) -> (Result<Evaluated>, Vec<String>) {
        let cx = MessageXPathContext {
            engine: self,
            ctx,
            doc: doc.map(|d| &**d),
            fetched,
            misses: RefCell::new(Vec::new()),
        };
        let result = match doc {
            Some(d) => evaluate(x, d.as_ref(), &cx, d.root_element(), want, Some(d)),
            None => evaluate(x, &EmptyDom, &cx, 0, want, None),
        };
        let misses = cx.misses.into_inner();
        let result =
            result.map_err(|e| Error::mediation(format!("evaluating '{}': {e}", x.source())));
        (result, misses)
    }
}

impl Engine {
    /// Converts the body to what `messageType` asks for before it leaves: XML → JSON when the
    /// message type is JSON and the body is XML, JSON → XML (SOAP 1.1, SOAP 1.2 or POX) the
    /// other way round, and between plain XML and SOAP as Axis2's formatters write them (a SOAP
    /// type wraps plain XML in an envelope; a plain-XML type writes the SOAP body's first
    /// element). A body no mediator read is never converted twice or parsed needlessly. A body
    /// whose read failed (and that no mediator replaced) cannot go out: its error is returned.
    pub async fn convert_for_output(&self, ctx: &mut MessageContext) -> Result<()> {
        self.convert_for_output_as(ctx, None).await
    }

    /// [`Engine::convert_for_output`], converting a SOAP envelope of the other version to
    /// `soap` (an endpoint's `format="soap11|soap12"`; a message type alone does not).
    pub async fn convert_for_output_as(
        &self,
        ctx: &mut MessageContext,
        soap: Option<crate::xml::SoapVersion>,
    ) -> Result<()> {
        if let Some(e) = ctx.body_failure() {
            return Err(e);
        }
        let mt = ctx
            .axis2
            .get("messageType")
            .map(|m| m.to_ascii_lowercase())
            .unwrap_or_default();
        let wants = BodyType::of(&mt);
        if ctx.payload_only {
            // An envelope mint built around plain content: a SOAP message type keeps it, any
            // other writes the body's first element, as Synapse's formatters do.
            ctx.payload_only = false;
            let soap = mt == "text/xml" || mt == "application/soap+xml";
            if !soap && wants != BodyType::Json {
                let doc = ctx.document().await?;
                if let Some(p) = doc.soap_payload() {
                    ctx.set_body(payload_alone(&doc, p));
                }
            }
        }
        if wants == BodyType::Xml
            && ctx.body_type == BodyType::Xml
            && !matches!(ctx.body, crate::http::body::Body::Empty)
        {
            return self.xml_form_for_output(ctx, &mt, soap).await;
        }
        if wants == ctx.body_type
            || wants == BodyType::Other
            || ctx.body_type == BodyType::Other
            || matches!(ctx.body, crate::http::body::Body::Empty)
        {
            return Ok(());
        }
        match wants {
            BodyType::Json => {
                let doc = ctx.document().await?;
                let node = doc.soap_payload().unwrap_or_else(|| doc.root_element());
                let json = if doc.soap_version().is_some() && doc.soap_payload().is_none() {
                    String::from("{}")
                } else {
                    crate::json::element_to_json(&doc, node, &self.json).map_err(|e| {
                        Error::new(
                            ErrorKind::BadContent,
                            Side::Internal,
                            format!("XML to JSON: {e}"),
                        )
                    })?
                };
                ctx.set_body(Bytes::from(json));
                ctx.body_type = BodyType::Json;
            }
            BodyType::Xml => {
                let bytes = ctx.body_bytes().await?;
                let xml = crate::json::json_to_xml(&bytes, &self.json).map_err(|e| {
                    Error::new(
                        ErrorKind::BadContent,
                        Side::Internal,
                        format!("JSON to XML: {e}"),
                    )
                })?;
                let out = if mt.contains("soap+xml") {
                    crate::xml::soap::build_envelope(
                        crate::xml::SoapVersion::Soap12,
                        None,
                        xml.as_bytes(),
                    )
                } else if mt == "text/xml" {
                    crate::xml::soap::build_envelope(
                        crate::xml::SoapVersion::Soap11,
                        None,
                        xml.as_bytes(),
                    )
                } else {
                    Bytes::from(xml)
                };
                ctx.set_body(out);
                ctx.body_type = BodyType::Xml;
            }
            BodyType::Other => {}
        }
        if let Some(ct) = ctx.axis2.get("ContentType").cloned() {
            if let Ok(v) = http::HeaderValue::from_str(&ct) {
                ctx.headers.insert(http::header::CONTENT_TYPE, v);
            }
        }
        Ok(())
    }

    /// XML content written as the message type's formatter writes it: SOAP 1.1 (`text/xml`),
    /// SOAP 1.2 (`application/soap+xml`) or plain XML (anything else). A body as its sender sent
    /// it (streaming or read) is left alone when its own `Content-Type` is of the same form. What is
    /// known without reading is decided here; a conversion runs boxed (it is rare, and its
    /// future would otherwise enlarge every send's).
    async fn xml_form_for_output(
        &self,
        ctx: &mut MessageContext,
        mt: &str,
        force: Option<crate::xml::SoapVersion>,
    ) -> Result<()> {
        let want = xml_form(mt);
        let have = match &ctx.body {
            _ if !ctx.body_replaced && force.is_none() => {
                let sent = ctx
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(crate::http::media_type)
                    .unwrap_or_default();
                if xml_form(sent) == want {
                    return Ok(());
                }
                None
            }
            crate::http::body::Body::Full(Some(b)) => Some(crate::xml::soap::soap_version_of(b)),
            _ => None,
        };
        if have.is_some_and(|have| !needs_form_change(have, want, force)) {
            return self.set_output_type(ctx);
        }
        Box::pin(self.change_xml_form(ctx, want, force)).await
    }

    /// Reads the body and writes it in the form `want` (None: plain XML) asks for.
    async fn change_xml_form(
        &self,
        ctx: &mut MessageContext,
        want: Option<crate::xml::SoapVersion>,
        force: Option<crate::xml::SoapVersion>,
    ) -> Result<()> {
        let bytes = ctx.body_bytes().await?;
        let have = crate::xml::soap::soap_version_of(&bytes);
        if needs_form_change(have, want, force) {
            let doc = ctx.document().await?;
            let payload = match have {
                Some(_) => doc.soap_payload().map(|p| payload_alone(&doc, p)),
                None => Some(doc.standalone_bytes(doc.root_element())),
            };
            let out = match want {
                Some(v) => {
                    let header = have.and_then(|_| doc.soap_header_content());
                    crate::xml::soap::build_envelope(
                        v,
                        header.as_deref(),
                        payload.as_deref().unwrap_or_default(),
                    )
                }
                None => payload.unwrap_or_default(),
            };
            ctx.set_body(out);
        }
        self.set_output_type(ctx)
    }

    /// The `Content-Type` header of what goes out: `ContentType`, as the conversions leave it.
    fn set_output_type(&self, ctx: &mut MessageContext) -> Result<()> {
        let Some(ct) = ctx.axis2.get("ContentType") else {
            return Ok(());
        };
        let current = ctx.headers.get(http::header::CONTENT_TYPE);
        if current.is_some_and(|c| c.as_bytes() == ct.as_bytes()) {
            return Ok(());
        }
        if let Ok(v) = http::HeaderValue::from_str(ct) {
            ctx.headers.insert(http::header::CONTENT_TYPE, v);
        }
        Ok(())
    }

    /// `json-eval`: Jayway JSONPath over the body as JSON, rendered as WSO2 does.
    pub async fn eval_json_path(
        &self,
        ctx: &mut MessageContext,
        p: &crate::json::JsonPath,
    ) -> Result<String> {
        if p.is_whole_body() {
            return Ok(match self.json_text(ctx).await? {
                Some(text) => String::from_utf8_lossy(&text).into_owned(),
                None => String::new(),
            });
        }
        Ok(self.eval_json(ctx, p).await?.to_synapse_string())
    }

    /// A JSONPath's matches against the message as JSON.
    pub async fn eval_json(
        &self,
        ctx: &mut MessageContext,
        p: &crate::json::JsonPath,
    ) -> Result<crate::json::JsonPathResult> {
        let Some(text) = self.json_text(ctx).await? else {
            return Ok(crate::json::JsonPathResult::NotFound);
        };
        p.evaluate_bytes(&text)
            .map_err(|e| ctx.bad_content(format!("the message is not valid JSON: {e}")))
    }

    /// The message as JSON text (an XML body through WSO2's JSON view); None without a body.
    async fn json_text(&self, ctx: &mut MessageContext) -> Result<Option<Bytes>> {
        if let Some(e) = ctx.body_failure() {
            return Err(e);
        }
        Ok(Some(match ctx.body_type {
            BodyType::Json => ctx.body_bytes().await?,
            _ if matches!(ctx.body, crate::http::body::Body::Empty) => return Ok(None),
            _ => {
                let doc = ctx.document().await?;
                let node = doc.soap_payload().unwrap_or_else(|| doc.root_element());
                let json = crate::json::element_to_json(&doc, node, &self.json).map_err(|e| {
                    Error::new(
                        ErrorKind::BadContent,
                        Side::Internal,
                        format!("XML to JSON: {e}"),
                    )
                })?;
                Bytes::from(json)
            }
        }))
    }

    /// Answers a simple location path by scanning the body bytes, without building the tree,
    /// when the body has not been parsed yet. None: use the tree (also when the scan meets
    /// something only the tree answers like Synapse, e.g. an element with child elements).
    /// A body that cannot be read is an error, never an empty document.
    async fn eval_streaming(
        &self,
        ctx: &mut MessageContext,
        x: &Expr,
        want: Want,
    ) -> Result<Option<Evaluated>> {
        let Some(stream) = x.stream.as_ref() else {
            return Ok(None);
        };
        // The scanner reads XML bytes: a JSON body (whatever messageType says) needs the tree
        // path's XML view.
        if ctx.xml.is_some()
            || matches!(want, Want::Nodes)
            || ctx.body_type == BodyType::Json
            || ctx.builder_kind().is_some()
        {
            return Ok(None);
        }
        let bytes = ctx.body_bytes().await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        Ok(match want {
            Want::Bool => stream
                .first_match(&bytes)
                .ok()
                .map(|m| Evaluated::Bool(m.is_some())),
            Want::Text if x.stream_string => stream
                .first_string(&bytes)
                .ok()
                .map(|s| Evaluated::Text(Some(s.map(Cow::into_owned).unwrap_or_default()))),
            Want::Text => {
                let element = matches!(stream.target(), crate::xml::StreamTarget::Element);
                let mut out = String::new();
                let mut tree_needed = false;
                let scan = stream.for_each_match(&bytes, |m| {
                    let text = if element { &m.direct_text } else { &m.value };
                    if element && text.trim().is_empty() {
                        tree_needed = true;
                        return std::ops::ControlFlow::Break(());
                    }
                    out.push_str(if element { text.trim() } else { text });
                    std::ops::ControlFlow::Continue(())
                });
                (scan.is_ok() && !tree_needed).then_some(Evaluated::Text(Some(out)))
            }
            Want::Nodes => None,
        })
    }
}

fn evaluate<D: crate::xpath::dom::Dom + ?Sized>(
    x: &XPath,
    dom: &D,
    cx: &MessageXPathContext<'_>,
    node: NodeId,
    want: Want,
    doc: Option<&Arc<Document>>,
) -> std::result::Result<Evaluated, crate::xpath::EvalError> {
    match want {
        Want::Bool => x.evaluate_boolean(dom, cx, node).map(Evaluated::Bool),
        Want::Nodes => x.evaluate(dom, cx, node).map(|v| match v {
            crate::xpath::Value::NodeSet(n) => Evaluated::Nodes(n),
            other => Evaluated::Text(Some(other.into_string_value(dom))),
        }),
        Want::Text => {
            let mut ser = |n: NodeId, out: &mut String| {
                if let Some(d) = doc {
                    out.push_str(&String::from_utf8_lossy(&d.standalone_bytes(n)));
                }
            };
            x.evaluate_synapse_string(dom, cx, node, &mut ser)
                .map(Evaluated::Text)
        }
    }
}

impl Engine {
    /// A Synapse expression's value (MI's `objectValueOf`): a failed evaluation is logged (at
    /// most [`LogLimiter::PER_SECOND`](super::LogLimiter) lines a second) and gives `""`, as in MI.
    pub async fn eval_synapse(
        &self,
        ctx: &mut MessageContext,
        e: &crate::message::SynapseExpr,
    ) -> crate::synexpr::Val {
        match self.try_synapse(ctx, e).await {
            Ok(v) => v,
            Err(msg) => {
                if let Some(suppressed) = self.fault_log.allow() {
                    tracing::warn!(
                        shard = self.shard,
                        suppressed,
                        "Error evaluating expression: {} cause : {msg}",
                        e.expr.source()
                    );
                }
                crate::synexpr::Val::Str(String::new())
            }
        }
    }

    async fn try_synapse(
        &self,
        ctx: &mut MessageContext,
        e: &crate::message::SynapseExpr,
    ) -> std::result::Result<crate::synexpr::Val, String> {
        use crate::synexpr::Val;
        let payload = if e.expr.reads_payload() {
            Some(match self.json_text(ctx).await {
                Ok(Some(text)) => Ok(text),
                Ok(None) => Err("Payload is empty".to_string()),
                Err(e) => Err(e.to_string()),
            })
        } else {
            None
        };
        let mut xpaths = Vec::with_capacity(e.xpaths.len());
        for (x, var) in &e.xpaths {
            let r = match var {
                None => self.eval_xpath(ctx, x, Want::Text).await.map(|r| r.0),
                Some(name) => match ctx.variable_document(name) {
                    Ok(doc) => self.eval_xpath_on(ctx, x, Some(&doc), Want::Text).await,
                    Err(msg) => {
                        xpaths.push(Err(msg));
                        continue;
                    }
                },
            };
            xpaths.push(match r {
                Ok(Evaluated::Text(t)) => Ok(Val::Str(t.unwrap_or_default())),
                Ok(Evaluated::Bool(b)) => Ok(Val::Bool(b)),
                Ok(Evaluated::Nodes(_)) => Ok(Val::Str(String::new())),
                Err(err) => Err(format!("Invalid XPATH expression : {}: {err}", x.source())),
            });
        }
        let ctx = &*ctx;
        let (result, misses) = synapse_attempt(
            ctx,
            &self.settings.vault,
            e,
            payload.as_ref(),
            &xpaths,
            &HashMap::new(),
        );
        if misses.is_empty() {
            return result;
        }
        // `registry()` keys (possibly computed), as for XPath. Boxed: a rare path.
        let attempt = |fetched: &Fetched| {
            synapse_attempt(
                ctx,
                &self.settings.vault,
                e,
                payload.as_ref(),
                &xpaths,
                fetched,
            )
        };
        Box::pin(self.fetch_and_retry(misses, attempt, |e| Err(e.to_string()))).await
    }
}

/// Registry resources fetched for an evaluation (None: no such resource).
type Fetched = HashMap<String, Option<Arc<Resource>>>;

/// One evaluation of a Synapse expression with the registry resources fetched so far: the
/// result, and the keys it missed.
fn synapse_attempt(
    ctx: &MessageContext,
    vault: &crate::config::secrets::Secrets,
    e: &crate::message::SynapseExpr,
    payload: Option<&std::result::Result<Bytes, String>>,
    xpaths: &[std::result::Result<crate::synexpr::Val, String>],
    fetched: &Fetched,
) -> (
    std::result::Result<crate::synexpr::Val, String>,
    Vec<String>,
) {
    let env = MessageEnv {
        ctx,
        vault,
        payload,
        parsed: std::cell::OnceCell::new(),
        xpaths,
        registry: fetched,
        misses: RefCell::new(Vec::new()),
    };
    let result = e.expr.eval(&env);
    (result, env.misses.into_inner())
}

/// The XML form a message type's formatter writes: SOAP 1.1, SOAP 1.2, or plain XML (None).
fn xml_form(mt: &str) -> Option<crate::xml::SoapVersion> {
    if mt.eq_ignore_ascii_case("text/xml") {
        Some(crate::xml::SoapVersion::Soap11)
    } else if mt.eq_ignore_ascii_case("application/soap+xml") {
        Some(crate::xml::SoapVersion::Soap12)
    } else {
        None
    }
}

/// Whether XML in form `have` is written differently in form `want`: plain XML and SOAP
/// convert both ways; SOAP of the other version only when an endpoint's format forces it (Axis2
/// writes the envelope a message has).
fn needs_form_change(
    have: Option<crate::xml::SoapVersion>,
    want: Option<crate::xml::SoapVersion>,
    force: Option<crate::xml::SoapVersion>,
) -> bool {
    match (have, want) {
        (None, None) => false,
        (Some(h), Some(w)) => h != w && force == Some(w),
        _ => true,
    }
}

/// The message as a Synapse expression reads it.
struct MessageEnv<'a> {
    ctx: &'a MessageContext,
    vault: &'a crate::config::secrets::Secrets,
    /// The payload's JSON text; parsed only when an expression needs the whole tree.
    payload: Option<&'a std::result::Result<Bytes, String>>,
    parsed: std::cell::OnceCell<std::result::Result<serde_json::Value, String>>,
    xpaths: &'a [std::result::Result<crate::synexpr::Val, String>],
    /// Registry resources fetched for `registry()`, and the keys asked for but not fetched.
    registry: &'a HashMap<String, Option<Arc<Resource>>>,
    misses: RefCell<Vec<String>>,
}

impl MessageEnv<'_> {
    fn text(&self) -> std::result::Result<&[u8], String> {
        match self.payload {
            Some(Ok(t)) => Ok(t),
            Some(Err(e)) => Err(e.clone()),
            None => Err("Payload is empty".into()),
        }
    }
}

impl crate::synexpr::Env for MessageEnv<'_> {
    fn payload(&self) -> std::result::Result<&serde_json::Value, String> {
        let text = self.text()?;
        self.parsed
            .get_or_init(|| crate::json::parse(text).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn payload_path(
        &self,
        path: &crate::json::JsonPath,
    ) -> std::result::Result<crate::json::JsonPathResult, String> {
        if let Some(Ok(v)) = self.parsed.get() {
            return Ok(path.evaluate(v));
        }
        path.evaluate_bytes(self.text()?).map_err(|e| e.to_string())
    }

    fn var(&self, name: &str) -> Option<crate::synexpr::Val> {
        self.ctx.vars.get(name).cloned()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.ctx
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    fn property(&self, axis2: bool, name: &str) -> Option<String> {
        let map = if axis2 {
            &self.ctx.axis2
        } else {
            &self.ctx.props
        };
        map.get(name).map(|v| v.as_str().to_owned())
    }

    fn param(&self, kind: crate::synexpr::ParamKind, name: &str) -> Option<String> {
        use crate::synexpr::ParamKind;
        match kind {
            ParamKind::Query => self
                .ctx
                .props
                .get(format!("query.param.{name}").as_str())
                .map(|v| v.as_str().to_owned()),
            ParamKind::Path => self
                .ctx
                .props
                .get(format!("uri.var.{name}").as_str())
                .map(|v| v.as_str().to_owned()),
            ParamKind::Function => self.ctx.func_stack.last()?.get(name).cloned(),
        }
    }

    fn config(&self, _name: &str) -> Option<String> {
        None
    }

    fn vault(&self, alias: &str) -> Option<String> {
        self.vault.get(alias).map(str::to_string)
    }

    fn registry(&self, key: &str, property: Option<&str>) -> std::result::Result<String, String> {
        let found = match self.registry.get(key) {
            Some(found) => found,
            None => {
                self.misses.borrow_mut().push(key.to_string());
                return Err(format!("registry resource '{key}' not fetched yet"));
            }
        };
        let Some(r) = found else {
            return Err(format!("Could not find the registry resource: {key}"));
        };
        match property {
            None => Ok(r.text().into_owned()),
            Some(p) => r
                .properties
                .iter()
                .find(|(k, _)| k == p)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| {
                    format!("Could not find the property: {p} in the registry resource: {key}")
                }),
        }
    }

    fn xpath(&self, i: usize) -> std::result::Result<crate::synexpr::Val, String> {
        self.xpaths
            .get(i)
            .cloned()
            .unwrap_or_else(|| Err("xpath() not evaluated".into()))
    }
}

/// The SOAP body's element `p` as a document of its own. An `xmlns=""` on it undeclares nothing
/// once it stands alone, and Axiom does not write it (WSO2's PayloadFactoryXMLJSONTestCase).
fn payload_alone(doc: &crate::xml::Document, p: crate::xpath::dom::NodeId) -> bytes::Bytes {
    let payload = doc.standalone_bytes(p);
    if !doc.declared_namespaces(p).contains(&("", "")) {
        return payload;
    }
    match std::str::from_utf8(&payload).map(crate::mediators::edit::without_empty_default_ns) {
        Ok(std::borrow::Cow::Owned(o)) => bytes::Bytes::from(o),
        _ => payload,
    }
}
