//! The compiler: model → one immutable, validated [`Program`].
//!
//! It resolves every reference (sequence keys, endpoint keys, registry keys, `receive` sequences,
//! local entries), compiles URI templates and endpoint addresses, sorts the API table as Synapse does
//! (longest context first) and reports each problem as `file:line:col: message`. A home with any
//! error produces no `Program`: the caller keeps what it had (the deployer rolls back a CAR with
//! errors in its own files and compiles again without it, as WSO2 deploys CARs one by one).
//!
//! Sequences and endpoints referenced by a registry key are compiled here too, like every other
//! artifact, so shards never parse configuration; the files they came from are listed in
//! `Program::registry_deps`, which the hot-deployment watcher (run by the deployer) re-checks every
//! `cachableDuration` and recompiles on change — WSO2's "re-read after the cache expires", done
//! off the shards.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use http::Method;

use crate::diag::Severity;
use crate::mediators::{self, Compile, Mediator};
use crate::message::{EpId, Scope, SeqId, Value};
use crate::program::endpoint::{Endpoint, EndpointKind};
use crate::program::{Api, LocalEntry, Matcher, Program, Proxy, Resource, Sequence};
use crate::registry::Registry;
use crate::synapse::model::{
    self, Artifacts, Diagnostic, EndpointRef, LocalEntryValue, Origin, SeqRef,
};
use crate::synapse::parse::Reader;
use crate::synapse::resolve::ValueResolver;
use crate::uri_template::{UriTemplate, UrlMapping};

pub mod endpoint;
mod scheduled;
#[cfg(test)]
mod tests;

struct Compiler<'a> {
    registry: &'a Registry,
    problems: &'a mut Vec<Diagnostic>,
    sequences: Vec<Option<Sequence>>,
    endpoints: Vec<Option<Endpoint>>,
    named_sequences: HashMap<String, SeqId>,
    named_endpoints: HashMap<String, EpId>,
    /// Named sequence / endpoint models waiting to be compiled, by id.
    seq_models: Vec<(SeqId, model::Sequence)>,
    ep_models: Vec<(EpId, model::Endpoint)>,
    local_entries: HashMap<String, LocalEntryValue>,
    resolver: ValueResolver,
    registry_deps: Vec<PathBuf>,
    endpoint_templates: HashMap<String, model::EndpointTemplate>,
    /// Template instantiations in progress (a template that instantiates itself is an error).
    template_depth: usize,
    /// A mediator resumes split parts after itself (see `Program::continuations`).
    continuations: bool,
    /// Sequence templates by name (their sequences are named sequences).
    sequence_templates: HashMap<String, model::SequenceTemplate>,
}

fn local_entry(v: LocalEntryValue) -> LocalEntry {
    match v {
        LocalEntryValue::Text(t) => LocalEntry::Text(t),
        LocalEntryValue::Xml(x) => LocalEntry::Xml(x),
        LocalEntryValue::Src(u) => LocalEntry::Src(u),
    }
}

/// Compiles parsed artifacts; problems are appended. Configuration values are resolved against
/// the environment only (see [`compile_with`]).
pub fn compile(
    artifacts: Artifacts,
    registry: &Registry,
    problems: &mut Vec<Diagnostic>,
) -> Program {
    compile_with(artifacts, registry, ValueResolver::default(), problems)
}

/// Compiles parsed artifacts with `resolver` for `$SYSTEM:` / `$FILE:` / `${configs.*}` values.
pub fn compile_with(
    artifacts: Artifacts,
    registry: &Registry,
    resolver: ValueResolver,
    problems: &mut Vec<Diagnostic>,
) -> Program {
    let mut c = Compiler {
        registry,
        problems,
        resolver,
        registry_deps: Vec::new(),
        endpoint_templates: HashMap::new(),
        template_depth: 0,
        continuations: false,
        sequence_templates: HashMap::new(),
        sequences: Vec::new(),
        endpoints: Vec::new(),
        named_sequences: HashMap::new(),
        named_endpoints: HashMap::new(),
        seq_models: Vec::new(),
        ep_models: Vec::new(),
        local_entries: HashMap::new(),
    };
    for t in artifacts.endpoint_templates {
        if c.endpoint_templates.contains_key(&t.name) {
            c.error(&t.origin, format!("duplicate template '{}'", t.name));
            continue;
        }
        c.endpoint_templates.insert(t.name.clone(), t);
    }
    for t in artifacts.sequence_templates {
        if c.sequence_templates.contains_key(&t.name) {
            c.error(&t.origin, format!("duplicate template '{}'", t.name));
            continue;
        }
        c.sequence_templates.insert(t.name.clone(), t);
    }
    for le in artifacts.local_entries {
        if c.local_entries.insert(le.key.clone(), le.value).is_some() {
            c.error(&le.origin, format!("duplicate local entry '{}'", le.key));
        }
    }
    // Pass 1: ids for every named sequence and endpoint, so references resolve in any order.
    // Sequences that cannot be deployed (duplicates, and those of artifacts the parser left
    // out) are compiled too, after the others and into nothing, for their mediators' problems.
    let mut rejected = artifacts.orphans;
    for s in artifacts.sequences {
        let name = s.name.clone().unwrap_or_default();
        if c.named_sequences.contains_key(&name) {
            c.error(&s.origin, format!("duplicate sequence '{name}'"));
            rejected.push(s);
            continue;
        }
        let id = c.reserve_seq();
        c.named_sequences.insert(name, id);
        c.seq_models.push((id, s));
    }
    for e in artifacts.endpoints {
        let name = e.name.clone().unwrap_or_default();
        if c.named_endpoints.contains_key(&name) {
            c.error(&e.origin, format!("duplicate endpoint '{name}'"));
            let _ = c.endpoint(&e);
            continue;
        }
        let id = c.push_ep(None);
        c.named_endpoints.insert(name, id);
        c.ep_models.push((id, e));
    }
    // Defaults for main and fault when the home does not define them (WSO2's shipped ones).
    // Both are named sequences like any other (`<sequence key="fault"/>` works, as in WSO2).
    let main = match c.named_sequences.get("main") {
        Some(&id) => id,
        None => {
            let id = c.built_in("main", DEFAULT_MAIN);
            c.named_sequences.insert("main".into(), id);
            id
        }
    };
    let fault = match c.named_sequences.get("fault") {
        Some(&id) => id,
        None => {
            let id = c.built_in("fault", DEFAULT_FAULT);
            c.named_sequences.insert("fault".into(), id);
            id
        }
    };
    // Pass 2: bodies.
    for (id, e) in std::mem::take(&mut c.ep_models) {
        let rt = c.endpoint(&e);
        c.endpoints[id.index()] = Some(rt);
    }
    for (id, s) in std::mem::take(&mut c.seq_models) {
        let rt = c.sequence(&s);
        c.sequences[id.index()] = Some(rt);
    }
    for s in &rejected {
        let _ = c.sequence(s);
    }
    c.registry_sequences();
    let mut proxies = HashMap::new();
    for p in artifacts.proxies {
        if proxies.contains_key(&p.name) {
            c.error(&p.origin, format!("duplicate proxy service '{}'", p.name));
            let _ = c.proxy(&p);
            continue;
        }
        let rt = c.proxy(&p);
        proxies.insert(p.name.clone(), rt);
    }
    let mut apis: Vec<Api> = Vec::new();
    for a in artifacts.apis {
        if apis.iter().any(|x| x.name == a.name) {
            c.error(&a.origin, format!("duplicate API '{}'", a.name));
            let _ = c.api(&a);
            continue;
        }
        let rt = c.api(&a);
        apis.push(rt);
    }
    apis.sort_by_key(|a| std::cmp::Reverse(a.context.len()));
    let stores = c.stores(&artifacts.stores);
    let processors = c.processors(&artifacts.processors, &stores);
    let proxy_names: Vec<String> = proxies.keys().cloned().collect();
    let tasks = c.tasks(&artifacts.tasks, &proxy_names);
    let resource_mismatch = c
        .named_sequences
        .get("_resource_mismatch_handler_")
        .copied();
    let method_not_allowed = c
        .named_sequences
        .get("_method_not_allowed_handler_")
        .copied();
    Program {
        proxies,
        apis,
        sequences: c
            .sequences
            .into_iter()
            .map(Option::unwrap_or_default_seq)
            .collect(),
        endpoints: c
            .endpoints
            .into_iter()
            .map(|e| e.unwrap_or_else(Endpoint::placeholder))
            .collect(),
        named_sequences: c.named_sequences,
        named_endpoints: c.named_endpoints,
        local_entries: c
            .local_entries
            .into_iter()
            .map(|(k, v)| (k, local_entry(v)))
            .collect(),
        main,
        fault,
        continuations: c.continuations,
        resource_mismatch,
        method_not_allowed,
        stores,
        processors,
        tasks,
        registry_deps: c.registry_deps,
    }
}

/// Replaces `$key` by its (XML-escaped) value wherever `key` is a whole identifier
/// (`[A-Za-z0-9_.-]+`), longest key first. Other `$` text is left alone.
fn substitute(text: &str, values: &[(&str, &str)]) -> String {
    let ident = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let end = tail.bytes().position(|b| !ident(b)).unwrap_or(tail.len());
        let word = &tail[..end];
        match values.iter().find(|(k, _)| *k == word) {
            Some((_, v)) => {
                out.push_str(&crate::xml::escape_text(v));
                rest = &tail[end..];
            }
            None => {
                out.push('$');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `source` (the text of `el`) with the namespace declarations in scope at `el` made explicit on
/// its start tag, so that it parses on its own.
fn with_namespaces(el: &model::Element, source: &str) -> String {
    let declared = |prefix: &str| {
        el.attrs.iter().any(|a| {
            a.name
                == if prefix.is_empty() {
                    "xmlns".to_string()
                } else {
                    format!("xmlns:{prefix}")
                }
        })
    };
    let mut decls = String::new();
    let mut seen: Vec<&str> = Vec::new();
    for (prefix, uri) in el.ns_scope.iter().rev() {
        if seen.contains(&prefix.as_str()) || declared(prefix) {
            continue;
        }
        seen.push(prefix);
        let attr = if prefix.is_empty() {
            "xmlns".to_string()
        } else {
            format!("xmlns:{prefix}")
        };
        decls.push_str(&format!(" {attr}=\"{}\"", crate::xml::escape_attr(uri)));
    }
    let name_end = source[1..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map_or(source.len(), |i| i + 1);
    format!("{}{decls}{}", &source[..name_end], &source[name_end..])
}

trait UnwrapSeq {
    fn unwrap_or_default_seq(self) -> Sequence;
}
impl UnwrapSeq for Option<Sequence> {
    fn unwrap_or_default_seq(self) -> Sequence {
        self.unwrap_or(Sequence {
            name: String::new(),
            mediators: Vec::new(),
            on_error: None,
        })
    }
}

/// WSO2's shipped `main`: answer unmatched requests with an empty 404.
const DEFAULT_MAIN: &str = r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="main">
    <property name="NO_ENTITY_BODY" scope="axis2" value="true" type="BOOLEAN"/>
    <property name="HTTP_SC" scope="axis2" value="404"/>
    <respond/>
</sequence>"#;

/// WSO2's shipped `fault`: log the error and drop the message.
const DEFAULT_FAULT: &str = r#"<sequence xmlns="http://ws.apache.org/ns/synapse" name="fault">
    <log level="custom" category="ERROR" separator=", ">
        <property name="MESSAGE" value="Executing default 'fault' sequence"/>
        <property name="ERROR_MESSAGE" expression="get-property('ERROR_MESSAGE')"/>
        <property name="ERROR_CODE" expression="get-property('ERROR_CODE')"/>
    </log>
    <drop/>
</sequence>"#;

impl Compile for Compiler<'_> {
    fn reader(&mut self, file: &Arc<PathBuf>) -> Reader<'_> {
        Reader::new(Arc::clone(file), self.problems)
    }

    fn sequence_key(&mut self, key: &str, at: &Origin) -> Option<SeqId> {
        self.seq_key(key, at)
    }

    fn endpoint(&mut self, el: &model::Element, at: &Origin) -> Option<EpId> {
        let r = crate::synapse::parse::parse_endpoint_reference(el, &at.file, self.problems)?;
        self.endpoint_ref(&r)
    }

    fn endpoint_by_key(&mut self, key: &str, at: &Origin) -> Option<EpId> {
        self.endpoint_key(key, at)
    }

    fn local_entry(&self, key: &str) -> Option<&LocalEntryValue> {
        self.local_entries.get(key)
    }

    fn sequence_template(&self, name: &str) -> Option<&model::SequenceTemplate> {
        self.sequence_templates.get(name)
    }

    fn needs_continuations(&mut self) {
        self.continuations = true;
    }

    fn config_value(&self, key: &str) -> Option<String> {
        self.resolver.config(key)
    }
}

impl Compiler<'_> {
    /// A sequence mint ships (WSO2's default `main` or `fault`), compiled like any other.
    fn built_in(&mut self, name: &str, xml: &str) -> SeqId {
        let file = Arc::new(PathBuf::from(format!("<built-in {name} sequence>")));
        let el = crate::xml::element::parse_document(xml)
            .expect("the built-in sequences are well-formed");
        let origin = Origin { file, pos: el.pos };
        let mediators = mediators::list(self, &el, &origin);
        self.push_seq(Sequence {
            name: name.to_string(),
            mediators,
            on_error: None,
        })
    }

    fn error(&mut self, origin: &Origin, message: String) {
        self.problems.push(Diagnostic {
            origin: origin.clone(),
            message,
            severity: Severity::Error,
        });
    }
    fn warn(&mut self, origin: &Origin, message: String) {
        self.problems.push(Diagnostic {
            origin: origin.clone(),
            message,
            severity: Severity::Warning,
        });
    }
    fn reserve_seq(&mut self) -> SeqId {
        self.sequences.push(None);
        SeqId::new(self.sequences.len() - 1)
    }
    fn push_seq(&mut self, s: Sequence) -> SeqId {
        self.sequences.push(Some(s));
        SeqId::new(self.sequences.len() - 1)
    }
    fn push_ep(&mut self, e: Option<Endpoint>) -> EpId {
        self.endpoints.push(e);
        EpId::new(self.endpoints.len() - 1)
    }

    fn sequence(&mut self, s: &model::Sequence) -> Sequence {
        let on_error = s.on_error.as_ref().and_then(|k| self.seq_key(k, &s.origin));
        let mediators = mediators::list(self, &s.element, &s.origin);
        Sequence {
            name: s.name.clone().unwrap_or_else(|| "anonymous".into()),
            mediators,
            on_error,
        }
    }

    fn seq_ref(&mut self, r: &Option<SeqRef>, what: &str) -> Option<SeqId> {
        match r.as_ref()? {
            SeqRef::Key { key, origin } => self.seq_key(key, origin),
            SeqRef::Inline(s) => {
                let mut rt = self.sequence(s);
                rt.name = what.to_string();
                Some(self.push_seq(rt))
            }
        }
    }

    /// Resolves a sequence key: a named sequence, else a registry resource.
    fn seq_key(&mut self, key: &str, origin: &Origin) -> Option<SeqId> {
        if let Some(&id) = self.named_sequences.get(key) {
            return Some(id);
        }
        if self.registry_missing(key, origin) {
            // WSO2 resolves sequence keys when the message arrives: a missing one is a fault
            // then ("Sequence named … cannot be found"), not a deployment error.
            self.warn(
                origin,
                format!("sequence '{key}' is neither defined nor in the registry; invoking it raises a fault until it appears"),
            );
            let id = self.push_seq(Sequence {
                name: key.to_string(),
                mediators: vec![Mediator::Raise(format!(
                    "Sequence named {key} cannot be found"
                ))],
                on_error: None,
            });
            self.named_sequences.insert(key.to_string(), id);
            return Some(id);
        }
        match self.registry_element(key, origin) {
            Some((path, el)) => {
                let id = self.reserve_seq();
                self.named_sequences.insert(key.to_string(), id);
                let file = Arc::new(path);
                let parsed =
                    crate::synapse::parse::parse_sequence_element(&el, &file, self.problems);
                let rt = match parsed {
                    Some(s) => {
                        let mut rt = self.sequence(&s);
                        rt.name = key.to_string();
                        rt
                    }
                    None => Sequence {
                        name: key.to_string(),
                        mediators: Vec::new(),
                        on_error: None,
                    },
                };
                self.sequences[id.index()] = Some(rt);
                if let Some(canonical) = crate::registry::canonical_key(key) {
                    self.named_sequences.entry(canonical).or_insert(id);
                }
                Some(id)
            }
            None => None,
        }
    }

    /// The sequences in the registry, compiled under their canonical keys, so that a key
    /// computed per message (`<sequence key="{…}"/>`) finds them as Synapse's registry lookup
    /// does. Nothing names them when written, so one that does not compile does not stop the
    /// deployment: it is warned, and invoking it raises its problem as a fault.
    fn registry_sequences(&mut self) {
        for (key, path) in self.registry.sequence_resources() {
            if self.named_sequences.contains_key(&key) {
                continue;
            }
            let origin = Origin {
                file: Arc::new(path),
                pos: crate::diag::Pos { line: 1, col: 1 },
            };
            let outer = std::mem::take(self.problems);
            let id = self.seq_key(&key, &origin);
            let own = std::mem::replace(self.problems, outer);
            let error = own.iter().find(|p| p.is_error()).map(|p| p.to_string());
            self.problems
                .extend(own.into_iter().filter(|p| !p.is_error()));
            if let (Some(id), Some(error)) = (id, error) {
                self.warn(
                    &origin,
                    format!("registry sequence '{key}' does not compile ({error}); invoking it raises a fault"),
                );
                self.sequences[id.index()] = Some(Sequence {
                    name: key.clone(),
                    mediators: vec![Mediator::Raise(format!(
                        "Sequence named {key} cannot be used: {error}"
                    ))],
                    on_error: None,
                });
            }
        }
    }

    /// True when `key` names neither a local entry nor an existing registry resource (nor, as
    /// the callers check first, a deployed sequence or endpoint): such a reference deploys and
    /// faults at run time, as in WSO2 (wso2/micro-integrator `Soap11FaultDetailAsElementTestCase`
    /// sends to `nonExistentEndpoint` and expects its fault sequence), and works once the resource
    /// appears (the file is recorded as a dependency). The callers warn, so `mint check --strict`
    /// still catches a typo.
    fn registry_missing(&mut self, key: &str, _origin: &Origin) -> bool {
        if self.local_entries.contains_key(key) {
            return false;
        }
        match self.registry.resolve(key) {
            Ok(path) => {
                let missing = !self.registry.exists(&path);
                self.registry_deps.push(path);
                missing
            }
            Err(_) => false,
        }
    }

    fn registry_element(
        &mut self,
        key: &str,
        origin: &Origin,
    ) -> Option<(PathBuf, model::Element)> {
        if self.local_entries.contains_key(key) {
            if let Some(LocalEntryValue::Xml(el)) = self.local_entries.get(key) {
                return Some(((*origin.file).clone(), el.clone()));
            }
        }
        let (path, text) = match self.registry.read_text(key) {
            Ok(x) => x,
            Err(e) => {
                self.error(
                    origin,
                    format!("'{key}' is not a known sequence or endpoint, and {e}"),
                );
                return None;
            }
        };
        match crate::xml::element::parse_document(&text) {
            Ok(el) => Some((path, el)),
            Err((pos, msg)) => {
                let o = Origin {
                    file: Arc::new(path),
                    pos,
                };
                self.error(&o, msg);
                None
            }
        }
    }

    fn endpoint_ref(&mut self, r: &EndpointRef) -> Option<EpId> {
        match r {
            EndpointRef::Key { key, origin } => self.endpoint_key(key, origin),
            EndpointRef::Inline(e) => {
                let rt = self.endpoint(e);
                Some(self.push_ep(Some(rt)))
            }
        }
    }

    fn endpoint_key(&mut self, key: &str, origin: &Origin) -> Option<EpId> {
        if let Some(&id) = self.named_endpoints.get(key) {
            return Some(id);
        }
        if self.registry_missing(key, origin) {
            self.warn(
                origin,
                format!("endpoint '{key}' is neither defined nor in the registry; sending to it raises a fault until it appears"),
            );
            let mut rt = Endpoint::placeholder();
            rt.name = key.to_string();
            rt.kind = EndpointKind::Missing(key.to_string());
            let id = self.push_ep(Some(rt));
            self.named_endpoints.insert(key.to_string(), id);
            return Some(id);
        }
        let (path, el) = self.registry_element(key, origin)?;
        let file = Arc::new(path);
        let parsed = crate::synapse::parse::parse_endpoint_element(&el, &file, self.problems)?;
        let mut rt = self.endpoint(&parsed);
        if rt.name.is_empty() {
            rt.name = key.to_string();
        }
        let id = self.push_ep(Some(rt));
        self.named_endpoints.insert(key.to_string(), id);
        Some(id)
    }

    fn endpoint(&mut self, e: &model::Endpoint) -> Endpoint {
        let mut props = Vec::new();
        for p in &e.properties {
            let v = self.value(&p.value, &e.origin);
            let scope = match crate::message::properties::scope_named(&p.scope) {
                Some(s @ (Scope::System | Scope::Env)) => {
                    self.warn(
                        &p.scope_origin,
                        format!("property scope '{}' is not supported yet", p.scope),
                    );
                    s
                }
                Some(s) => s,
                None => {
                    self.error(
                        &p.scope_origin,
                        format!(
                            "endpoint property '{}': invalid scope '{}'",
                            p.name, p.scope
                        ),
                    );
                    Scope::Default
                }
            };
            props.push((p.name.clone(), v, scope));
        }
        let group = match &e.kind {
            model::EndpointKind::Failover { children, .. } => Some((children, None, None)),
            model::EndpointKind::Loadbalance {
                children,
                algorithm,
                session,
                session_timeout_ms,
                ..
            } => Some((
                children,
                algorithm.as_deref(),
                session.as_deref().map(|s| (s, *session_timeout_ms)),
            )),
            _ => None,
        };
        if let Some((children, algorithm, session)) = group {
            let sticky = match session {
                Some(("http", timeout)) => {
                    Some(Arc::new(crate::program::endpoint::Sticky::new(timeout)))
                }
                Some((s, _)) => {
                    self.warn(&e.origin, format!("sticky sessions of type \"{s}\" are not supported (only type=\"http\"); round robin is used"));
                    None
                }
                None => None,
            };
            let ids: Vec<EpId> = children
                .iter()
                .filter_map(|c| self.endpoint_ref(c))
                .collect();
            let weighted = algorithm.is_some_and(|a| a.contains("Weighted"));
            let weights = if weighted {
                ids.iter()
                    .map(|&id| {
                        self.endpoints[id.index()]
                            .as_ref()
                            .map(|c| c.weight())
                            .unwrap_or(1)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            if algorithm.is_some_and(|a| !a.ends_with("RoundRobin")) {
                self.warn(
                    &e.origin,
                    format!(
                        "load-balance algorithm '{}' is not supported; round robin is used",
                        algorithm.unwrap_or("")
                    ),
                );
            }
            return endpoint::group(e, props, ids, weights, sticky);
        }
        if let model::EndpointKind::Dynamic(expr) = &e.kind {
            let mut rt = Endpoint::placeholder();
            rt.name = e.name.clone().unwrap_or_default();
            rt.kind = EndpointKind::Dynamic(self.value(expr, &e.origin));
            return rt;
        }
        if let model::EndpointKind::Template {
            template,
            uri,
            params,
        } = &e.kind
        {
            return self.template_endpoint(e, template, uri.as_deref(), params);
        }
        let resolved = self.resolve_endpoint(e);
        let e = resolved.as_ref().unwrap_or(e);
        match endpoint::leaf(e, props) {
            Ok((rt, warnings)) => {
                for w in warnings {
                    self.warn(&e.origin, w);
                }
                rt
            }
            Err(msg) => {
                self.error(&e.origin, msg);
                Endpoint::placeholder()
            }
        }
    }

    /// Instantiates an endpoint template as Synapse does: `$name`, `$uri` and every `$param` in
    /// the template's `<endpoint>` text are replaced by the instance's values, and the result is
    /// compiled as an endpoint of its own (named after the instance).
    fn template_endpoint(
        &mut self,
        e: &model::Endpoint,
        template: &str,
        uri: Option<&str>,
        params: &[(String, String)],
    ) -> Endpoint {
        let Some(t) = self.endpoint_templates.get(template).cloned() else {
            self.error(
                &e.origin,
                format!("endpoint template '{template}' is not defined"),
            );
            return Endpoint::placeholder();
        };
        if self.template_depth > 8 {
            self.error(
                &e.origin,
                format!("endpoint template '{template}' instantiates itself"),
            );
            return Endpoint::placeholder();
        }
        let name = e.name.clone().unwrap_or_default();
        let mut values: Vec<(&str, &str)> = vec![("name", &name), ("uri", uri.unwrap_or(""))];
        for (k, v) in params {
            if !t.params.contains(k) {
                self.warn(
                    &e.origin,
                    format!("template '{template}' declares no parameter '{k}'"),
                );
            }
            values.push((k, v));
        }
        let text = with_namespaces(&t.endpoint, &substitute(&t.endpoint.source, &values));
        let file = Arc::clone(&t.origin.file);
        let parsed = match crate::xml::element::parse_document(&text) {
            Ok(el) => crate::synapse::parse::parse_endpoint_element(&el, &file, self.problems),
            Err((_, msg)) => {
                self.error(
                    &t.origin,
                    format!("template '{template}' instantiated for '{name}': {msg}"),
                );
                None
            }
        };
        let Some(mut parsed) = parsed else {
            return Endpoint::placeholder();
        };
        parsed.name = e.name.clone();
        parsed.properties.extend(e.properties.iter().cloned());
        self.template_depth += 1;
        let rt = self.endpoint(&parsed);
        self.template_depth -= 1;
        rt
    }

    /// The endpoint with `$SYSTEM:` / `$FILE:` / `${configs.*}` in its URI resolved; None when
    /// nothing needed resolving (or it failed: the error is reported and the URI kept).
    fn resolve_endpoint(&mut self, e: &model::Endpoint) -> Option<model::Endpoint> {
        let uri = match &e.kind {
            model::EndpointKind::Address { uri, .. } => uri,
            model::EndpointKind::Http { uri_template, .. } => uri_template,
            _ => return None,
        };
        let resolved = match self.resolver.resolve(uri) {
            Ok(std::borrow::Cow::Borrowed(_)) => return None,
            Ok(std::borrow::Cow::Owned(v)) => v,
            Err(msg) => {
                self.error(&e.origin, msg);
                return None;
            }
        };
        let mut out = e.clone();
        match &mut out.kind {
            model::EndpointKind::Address { uri, .. } => *uri = resolved,
            model::EndpointKind::Http { uri_template, .. } => *uri_template = resolved,
            _ => {}
        }
        Some(out)
    }

    fn value(&mut self, v: &model::ValueSpec, origin: &Origin) -> Value {
        mediators::value(self, v, origin)
    }

    fn proxy(&mut self, p: &model::Proxy) -> Proxy {
        let t = &p.target;
        let in_seq = self.seq_ref(&t.in_sequence, &format!("{}:inSequence", p.name));
        let out_seq = self.seq_ref(&t.out_sequence, &format!("{}:outSequence", p.name));
        let fault_seq = self.seq_ref(&t.fault_sequence, &format!("{}:faultSequence", p.name));
        let endpoint = t.endpoint.as_ref().and_then(|e| self.endpoint_ref(e));
        let wsdl = match &p.publish_wsdl {
            Some(model::PublishWsdl::Key(k)) => {
                match self.local_entries.get(k) {
                    Some(LocalEntryValue::Xml(el)) => Some(el.source.clone()),
                    Some(LocalEntryValue::Text(t)) => Some(t.clone()),
                    _ => match self.registry.read_text(k) {
                        Ok((_, t)) => Some(t),
                        Err(_) => {
                            self.error(&p.origin, format!("publishWSDL key '{k}' is not a local entry or registry resource"));
                            None
                        }
                    },
                }
            }
            Some(model::PublishWsdl::Inline(el)) => Some(el.source.clone()),
            Some(model::PublishWsdl::Uri(u)) => {
                self.warn(
                    &p.origin,
                    format!("publishWSDL uri '{u}' is not fetched (mint reads file: URIs only); ?wsdl answers 404"),
                );
                None
            }
            None => None,
        };
        let has = |t: &str| p.transports.iter().any(|x| x.eq_ignore_ascii_case(t));
        Proxy {
            name: p.name.clone(),
            http: has("http"),
            https: has("https"),
            in_seq,
            out_seq,
            fault_seq,
            endpoint,
            wsdl,
            stats: None,
        }
    }

    fn api(&mut self, a: &model::Api) -> Api {
        let mut resources = Vec::new();
        for r in &a.resources {
            let mut methods = Vec::new();
            for m in &r.methods {
                match Method::from_bytes(m.as_bytes()) {
                    Ok(m) => methods.push(m),
                    Err(_) => self.error(&r.origin, format!("'{m}' is not an HTTP method")),
                }
            }
            let matcher = match &r.matcher {
                model::ResourceMatcher::UriTemplate(t) => match UriTemplate::parse(t) {
                    Ok(t) => Matcher::Template(t),
                    Err(e) => {
                        self.error(&r.origin, format!("bad uri-template '{t}': {e}"));
                        Matcher::Default
                    }
                },
                model::ResourceMatcher::UrlMapping(m) => match UrlMapping::parse(m) {
                    Ok(m) => Matcher::Mapping(m),
                    Err(e) => {
                        self.error(&r.origin, format!("bad url-mapping '{m}': {e}"));
                        Matcher::Default
                    }
                },
                model::ResourceMatcher::Default => Matcher::Default,
            };
            let label = format!("{}:resource", a.name);
            resources.push(Resource {
                methods,
                matcher,
                protocol: r.protocol.clone(),
                content_type: r.content_type.clone(),
                in_seq: self.seq_ref(&r.in_sequence, &format!("{label}:inSequence")),
                out_seq: self.seq_ref(&r.out_sequence, &format!("{label}:outSequence")),
                fault_seq: self.seq_ref(&r.fault_sequence, &format!("{label}:faultSequence")),
            });
        }
        Api {
            name: a.name.clone(),
            context: a.context.clone(),
            version: a.version.clone(),
            url_versioned: a.version_type == model::VersionType::Url,
            hostname: a.hostname.clone(),
            port: a.port,
            resources,
            cors: a.cors.clone(),
            basic_auth: a.basic_auth,
            cors_first: a.cors_first,
            stats: None,
        }
    }
}
