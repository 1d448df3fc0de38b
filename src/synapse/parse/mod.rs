//! Synapse artifact files → [`model`](super::model) values, with a `file:line:col` [`Diagnostic`]
//! for everything wrong in them.
//!
//! This module owns the mapping from WSO2's XML configuration language to the model: which root
//! element each deployment folder holds, which attributes and children each artifact, mediator
//! and endpoint has, their defaults, and which of them mint does not implement yet (those become
//! warnings plus `Unsupported` nodes, so a later version can compile them). It checks only what
//! one file can tell; references between artifacts (sequence and endpoint keys, XPath syntax) are
//! the deployer's job.
//!
//! Error policy: parsing goes on after an error so that one run reports every problem. An
//! artifact whose identity (name or key) could be read is still added to [`Artifacts`] even when
//! parts of it were wrong (the broken parts are left out), which keeps later reference errors
//! from piling up; callers must treat any non-warning [`Diagnostic`] as a failed deployment.
//! Unknown attributes are ignored silently, as WSO2 does; missing required ones are errors.
//!
//! Submodules: `artifacts` (proxy, API, local entry), `mediators` (sequences and mediators),
//! `endpoint` (endpoint definitions and references).

use crate::diag::Severity;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use super::model::{
    Artifacts, Diagnostic, Element, Endpoint, EndpointRef, Origin, Pos, Sequence, ValueSpec,
};
use crate::xml::element::parse_document;

mod artifacts;
mod endpoint;
mod scheduled;
#[cfg(test)]
mod tests;

/// The namespace of every Synapse configuration element.
pub const SYNAPSE_NS: &str = "http://ws.apache.org/ns/synapse";

/// A deployment folder under `synapse-configs/default/`, i.e. the kind of artifact its files hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArtifactDir {
    Api,
    ProxyServices,
    Sequences,
    Endpoints,
    LocalEntries,
    Templates,
    InboundEndpoints,
    MessageStores,
    MessageProcessors,
    Tasks,
}

impl ArtifactDir {
    /// Every folder, in the order WSO2 loads them (`MultiXMLConfigurationBuilder`).
    pub const ALL: [ArtifactDir; 10] = [
        ArtifactDir::LocalEntries,
        ArtifactDir::Endpoints,
        ArtifactDir::Sequences,
        ArtifactDir::Templates,
        ArtifactDir::ProxyServices,
        ArtifactDir::Tasks,
        ArtifactDir::MessageStores,
        ArtifactDir::MessageProcessors,
        ArtifactDir::Api,
        ArtifactDir::InboundEndpoints,
    ];

    /// The folder for a folder name (`api`, `proxy-services`, …).
    pub fn from_dir_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|dir| dir.dir_name() == name)
    }

    /// The folder for a CAR artifact type (`synapse/proxy-service`, `synapse/api`, …).
    pub fn from_car_type(car_type: &str) -> Option<Self> {
        Some(match car_type {
            "synapse/api" => ArtifactDir::Api,
            "synapse/proxy-service" => ArtifactDir::ProxyServices,
            "synapse/sequence" => ArtifactDir::Sequences,
            "synapse/endpoint" => ArtifactDir::Endpoints,
            "synapse/local-entry" => ArtifactDir::LocalEntries,
            "synapse/template" => ArtifactDir::Templates,
            "synapse/inbound-endpoint" => ArtifactDir::InboundEndpoints,
            "synapse/message-store" => ArtifactDir::MessageStores,
            "synapse/message-processors" => ArtifactDir::MessageProcessors,
            "synapse/task" => ArtifactDir::Tasks,
            _ => return None,
        })
    }

    /// The folder's name under `synapse-configs/default/`.
    pub fn dir_name(self) -> &'static str {
        match self {
            ArtifactDir::Api => "api",
            ArtifactDir::ProxyServices => "proxy-services",
            ArtifactDir::Sequences => "sequences",
            ArtifactDir::Endpoints => "endpoints",
            ArtifactDir::LocalEntries => "local-entries",
            ArtifactDir::Templates => "templates",
            ArtifactDir::InboundEndpoints => "inbound-endpoints",
            ArtifactDir::MessageStores => "message-stores",
            ArtifactDir::MessageProcessors => "message-processors",
            ArtifactDir::Tasks => "tasks",
        }
    }

    /// The root element (local name, Synapse namespace) of the folder's files.
    pub fn root_element(self) -> &'static str {
        match self {
            ArtifactDir::Api => "api",
            ArtifactDir::ProxyServices => "proxy",
            ArtifactDir::Sequences => "sequence",
            ArtifactDir::Endpoints => "endpoint",
            ArtifactDir::LocalEntries => "localEntry",
            ArtifactDir::Templates => "template",
            ArtifactDir::InboundEndpoints => "inboundEndpoint",
            ArtifactDir::MessageStores => "messageStore",
            ArtifactDir::MessageProcessors => "messageProcessor",
            ArtifactDir::Tasks => "task",
        }
    }
}

/// Loads every `*.xml` file of every known sub-folder of `dir` (a `synapse-configs/default`
/// folder). Folders are read in WSO2's load order and files sorted by name; missing folders are
/// fine and unknown ones are ignored. A file that cannot be read or parsed adds a [`Diagnostic`] and
/// the others are still loaded.
pub fn load_synapse_dir(dir: &Path, out: &mut Artifacts, problems: &mut Vec<Diagnostic>) {
    // Synapse's single-file form first (its samples), then the folders, as Synapse loads them.
    let single = dir.join("synapse.xml");
    if single.is_file() {
        match std::fs::read_to_string(&single) {
            Ok(text) => parse_definitions(&single, &text, out, problems),
            Err(e) => problems.push(file_problem(&single, format!("cannot read file: {e}"))),
        }
    }
    for kind in ArtifactDir::ALL {
        let folder = dir.join(kind.dir_name());
        if !folder.is_dir() {
            continue;
        }
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(file_problem(&folder, format!("cannot read folder: {e}")));
                continue;
            }
        };
        let mut files: Vec<PathBuf> = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let path = entry.path();
                    if path.extension().is_some_and(|ext| ext == "xml") && path.is_file() {
                        files.push(path);
                    }
                }
                Err(e) => problems.push(file_problem(&folder, format!("cannot read folder: {e}"))),
            }
        }
        files.sort();
        for path in files {
            match std::fs::read_to_string(&path) {
                Ok(text) => parse_artifact_file(&path, &text, kind, out, problems),
                Err(e) => problems.push(file_problem(&path, format!("cannot read file: {e}"))),
            }
        }
    }
}

/// Parses a single-file configuration (`synapse.xml`: `<definitions>` holding proxies,
/// sequences, endpoints, local entries, APIs and templates) and adds what it defines to `out`.
pub fn parse_definitions(
    path: &Path,
    text: &str,
    out: &mut Artifacts,
    problems: &mut Vec<Diagnostic>,
) {
    let mut ctx = Reader::new(Arc::new(path.to_path_buf()), problems);
    let Some(root) = parse_root(&mut ctx, text, "definitions") else {
        return;
    };
    for child in root.elements() {
        let dir = ArtifactDir::ALL
            .into_iter()
            .find(|d| is_synapse(child, d.root_element()));
        match dir {
            Some(dir) => parse_artifact_element(&mut ctx, child, dir, out),
            None if is_synapse(child, "registry") => ctx.warn(
                child.pos,
                "<registry> here is ignored: mint's registry is configured in conf/registry.xml",
            ),
            None if is_synapse(child, "description") => {}
            None => ctx.warn(
                child.pos,
                format!(
                    "<{}> in a synapse.xml is not supported by mint and is ignored",
                    child.qname()
                ),
            ),
        }
    }
}

/// Parses one artifact file of the folder `dir` and adds what it defines to `out`.
pub fn parse_artifact_file(
    path: &Path,
    text: &str,
    dir: ArtifactDir,
    out: &mut Artifacts,
    problems: &mut Vec<Diagnostic>,
) {
    let mut ctx = Reader::new(Arc::new(path.to_path_buf()), problems);
    if let Some(root) = parse_root(&mut ctx, text, dir.root_element()) {
        parse_artifact_element(&mut ctx, &root, dir, out);
    }
}

/// A file's root element when the file parses and its root is `<expected>` (else reported).
fn parse_root(ctx: &mut Reader<'_>, text: &str, expected: &str) -> Option<Element> {
    let root = match parse_document(text) {
        Ok(root) => root,
        Err((pos, message)) => {
            ctx.error(pos, message);
            return None;
        }
    };
    ctx.expect_root(&root, expected).then_some(root)
}

/// One artifact element (a file's root, or a child of `<definitions>`), added to `out`.
fn parse_artifact_element(
    ctx: &mut Reader<'_>,
    root: &Element,
    dir: ArtifactDir,
    out: &mut Artifacts,
) {
    match dir {
        ArtifactDir::Api => {
            if let Some(api) = artifacts::api(ctx, root, &mut out.orphans) {
                out.apis.push(api);
            }
        }
        ArtifactDir::ProxyServices => {
            if let Some(proxy) = artifacts::proxy(ctx, root) {
                out.proxies.push(proxy);
            }
        }
        ArtifactDir::Sequences => {
            if ctx.required(root, "name").is_some() {
                out.sequences.push(sequence(ctx, root));
            }
        }
        ArtifactDir::Endpoints => {
            if ctx.required(root, "name").is_some() {
                if let Some(endpoint) = endpoint::definition(ctx, root) {
                    out.endpoints.push(endpoint);
                }
            }
        }
        ArtifactDir::LocalEntries => {
            if let Some(entry) = artifacts::local_entry(ctx, root) {
                out.local_entries.push(entry);
            }
        }
        ArtifactDir::Templates if root.elements().any(|c| c.local == "endpoint") => {
            if let Some(t) = endpoint::template(ctx, root) {
                out.endpoint_templates.push(t);
            }
        }
        ArtifactDir::Templates if root.elements().any(|c| is_synapse(c, "sequence")) => {
            let Some(name) = ctx.required(root, "name").map(str::to_string) else {
                return;
            };
            ctx.known_attrs(root, &["name", "xmlns", "onError"]);
            let mut params = Vec::new();
            for p in root.elements().filter(|c| is_synapse(c, "parameter")) {
                let Some(pname) = ctx.required(p, "name") else {
                    continue;
                };
                params.push(crate::synapse::model::TemplateParam {
                    name: pname.to_string(),
                    default: p.attr("defaultValue").map(str::to_string),
                    mandatory: p
                        .attr("isMandatory")
                        .is_some_and(|m| m.trim().eq_ignore_ascii_case("true")),
                });
            }
            for c in root.elements() {
                if !["parameter", "sequence", "description"].contains(&c.local.as_str()) {
                    ctx.unknown_child(c, "template");
                }
            }
            if let Some(el) = root.elements().find(|c| is_synapse(c, "sequence")) {
                let mut seq = sequence(ctx, el);
                seq.name = Some(crate::synapse::model::template_sequence_name(&name));
                if seq.on_error.is_none() {
                    seq.on_error = root.attr("onError").map(str::to_string);
                }
                out.sequences.push(seq);
            }
            out.sequence_templates
                .push(crate::synapse::model::SequenceTemplate {
                    name,
                    origin: ctx.origin(root.pos),
                    params,
                });
        }
        ArtifactDir::MessageStores => {
            if let Some(s) = scheduled::message_store(ctx, root) {
                out.stores.push(s);
            }
        }
        ArtifactDir::MessageProcessors => {
            if let Some(p) = scheduled::message_processor(ctx, root) {
                out.processors.push(p);
            }
        }
        ArtifactDir::Tasks => {
            if let Some(t) = scheduled::task(ctx, root) {
                out.tasks.push(t);
            }
        }
        ArtifactDir::Templates | ArtifactDir::InboundEndpoints => {
            let name = ctx.required(root, "name").unwrap_or("?");
            let what = format!("{} '{name}'", root.local);
            ctx.warn(
                root.pos,
                format!(
                    "<{}> artifacts are not supported yet; {what} is not deployed",
                    root.local
                ),
            );
            out.unsupported.push((ctx.origin(root.pos), what));
        }
    }
}

/// Parses a `<sequence>` element obtained elsewhere (e.g. a registry resource read from `file`).
/// The name is optional here. Returns None when the element is not a Synapse `<sequence>`; any
/// other problem is added to `problems` (check them for errors before using the result).
pub fn parse_sequence_element(
    element: &Element,
    file: &Arc<PathBuf>,
    problems: &mut Vec<Diagnostic>,
) -> Option<Sequence> {
    let mut ctx = Reader::new(Arc::clone(file), problems);
    ctx.expect_root(element, "sequence")
        .then(|| sequence(&mut ctx, element))
}

/// A `<sequence>` artifact or an inline `<inSequence>`/`<outSequence>`/`<faultSequence>`: its
/// name and onError attributes; its mediators are the element's children, read by the compiler.
fn sequence(reader: &mut Reader<'_>, el: &Element) -> Sequence {
    Sequence {
        name: el.attr("name").map(str::to_string),
        origin: reader.origin(el.pos),
        on_error: el.attr("onError").map(str::to_string),
        element: el.clone(),
    }
}

/// Parses the `<endpoint>` child of a mediator (send, call…): inline, or a reference by key.
pub fn parse_endpoint_reference(
    element: &Element,
    file: &Arc<PathBuf>,
    problems: &mut Vec<Diagnostic>,
) -> Option<EndpointRef> {
    let mut reader = Reader::new(Arc::clone(file), problems);
    endpoint::reference(&mut reader, element)
}

/// Parses an `<endpoint>` definition obtained elsewhere (e.g. a registry resource read from
/// `file`). The name is optional here. Returns None when the element is not a usable Synapse
/// `<endpoint>`; every problem is added to `problems`.
pub fn parse_endpoint_element(
    element: &Element,
    file: &Arc<PathBuf>,
    problems: &mut Vec<Diagnostic>,
) -> Option<Endpoint> {
    let mut ctx = Reader::new(Arc::clone(file), problems);
    if !ctx.expect_root(element, "endpoint") {
        return None;
    }
    endpoint::definition(&mut ctx, element)
}

/// A problem about a whole file or folder (no position inside it).
fn file_problem(path: &Path, message: String) -> Diagnostic {
    Diagnostic {
        origin: Origin {
            file: Arc::new(path.to_path_buf()),
            pos: Pos { line: 1, col: 1 },
        },
        message,
        severity: Severity::Error,
    }
}

/// True when `el` is the Synapse element `local` (Synapse namespace, or no namespace as WSO2
/// also accepts).
pub fn is_synapse(el: &Element, local: &str) -> bool {
    el.local == local && in_synapse_ns(el)
}

pub fn in_synapse_ns(el: &Element) -> bool {
    el.ns == SYNAPSE_NS || el.ns.is_empty()
}

/// Per-file parsing state: where problems go and how they are located, with the attribute
/// readers every artifact and mediator uses (each problem at the attribute's own position).
pub struct Reader<'p> {
    file: Arc<PathBuf>,
    problems: &'p mut Vec<Diagnostic>,
}

impl<'p> Reader<'p> {
    pub fn new(file: Arc<PathBuf>, problems: &'p mut Vec<Diagnostic>) -> Self {
        Reader { file, problems }
    }

    pub fn origin(&self, pos: Pos) -> Origin {
        Origin {
            file: Arc::clone(&self.file),
            pos,
        }
    }

    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        let origin = self.origin(pos);
        self.problems.push(Diagnostic::error(origin, message));
    }

    pub fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        let origin = self.origin(pos);
        self.problems.push(Diagnostic::warning(origin, message));
    }

    /// Warns that `child` is not expected inside `<parent>` and is ignored.
    pub fn unknown_child(&mut self, child: &Element, parent: &str) {
        self.warn(
            child.pos,
            format!(
                "unknown element <{}> in <{parent}> is ignored",
                child.qname()
            ),
        );
    }

    /// Warns about each attribute of `el` that is not in `known` (namespace declarations aside):
    /// an attribute mint does not read is never ignored silently.
    pub fn known_attrs(&mut self, el: &Element, known: &[&str]) {
        for a in &el.attrs {
            if a.name == "xmlns" || a.name.starts_with("xmlns:") || known.contains(&a.name.as_str())
            {
                continue;
            }
            self.warn(
                a.pos,
                format!(
                    "attribute '{}' of <{}> is not known and is ignored",
                    a.name, el.local
                ),
            );
        }
    }

    /// Checks that `root` is the Synapse element `expected`; reports an error otherwise.
    fn expect_root(&mut self, root: &Element, expected: &str) -> bool {
        if root.local != expected {
            self.error(
                root.pos,
                format!(
                    "expected <{expected}> as the root element, found <{}>",
                    root.qname()
                ),
            );
            false
        } else if !in_synapse_ns(root) {
            self.error(
                root.pos,
                format!(
                    "<{expected}> must be in the Synapse namespace {SYNAPSE_NS}, not '{}'",
                    root.ns
                ),
            );
            false
        } else {
            true
        }
    }

    /// The value of a required attribute; reports an error when it is missing or empty.
    pub fn required<'e>(&mut self, el: &'e Element, name: &str) -> Option<&'e str> {
        match el.attribute(name) {
            Some(attr) if !attr.value.trim().is_empty() => Some(attr.value.as_str()),
            Some(attr) => {
                self.error(
                    attr.pos,
                    format!("attribute '{name}' of <{}> is empty", el.local),
                );
                None
            }
            None => {
                self.error(el.pos, format!("<{}> has no {name} attribute", el.local));
                None
            }
        }
    }

    /// A `true`/`false` attribute (case-insensitive); `default` when absent or invalid.
    pub fn bool_attr(&mut self, el: &Element, name: &str, default: bool) -> bool {
        let Some(attr) = el.attribute(name) else {
            return default;
        };
        match attr.value.trim().to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                self.error(
                    attr.pos,
                    format!(
                        "attribute '{name}' must be true or false, found '{}'",
                        attr.value
                    ),
                );
                default
            }
        }
    }

    /// A numeric attribute; None when absent, an error when it does not parse.
    pub fn number_attr<T: FromStr>(&mut self, el: &Element, name: &str) -> Option<T> {
        let attr = el.attribute(name)?;
        let parsed = attr.value.trim().parse().ok();
        if parsed.is_none() {
            self.error(
                attr.pos,
                format!(
                    "attribute '{name}' must be a number, found '{}'",
                    attr.value
                ),
            );
        }
        parsed
    }

    /// An attribute whose value must be one of `allowed` (compared case-insensitively); returns
    /// the allowed spelling. None when absent or invalid (invalid is reported).
    pub fn choice_attr(
        &mut self,
        el: &Element,
        name: &str,
        allowed: &[&'static str],
    ) -> Option<&'static str> {
        let attr = el.attribute(name)?;
        let value = attr.value.trim();
        let found = allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(value))
            .copied();
        if found.is_none() {
            self.error(
                attr.pos,
                format!(
                    "invalid {name} '{}' on <{}> (expected {})",
                    attr.value,
                    el.local,
                    allowed.join(", ")
                ),
            );
        }
        found
    }

    /// Like [`Reader::value_spec`], but reports an error naming `what` when no value is given.
    pub fn required_value(&mut self, el: &Element, what: &str) -> Option<ValueSpec> {
        let attribute_given =
            el.attribute("value").is_some() || el.attribute("expression").is_some();
        let value = self.value_spec(el);
        if value.is_none() && !attribute_given {
            self.error(
                el.pos,
                format!("{what} has no value, expression or inline XML"),
            );
        }
        value
    }

    /// The value of a property-like element: `value="..."`, `expression="..."` or an inline XML
    /// child. None when none is given (the caller decides whether that is an error) or when both
    /// attributes are given (reported).
    pub fn value_spec(&mut self, el: &Element) -> Option<ValueSpec> {
        match (el.attr("value"), el.attr("expression")) {
            (Some(_), Some(_)) => {
                self.error(
                    el.pos,
                    format!(
                        "<{}> has both a value and an expression attribute",
                        el.local
                    ),
                );
                None
            }
            (Some(value), None) => Some(ValueSpec::Literal(value.to_string())),
            (None, Some(expression)) => Some(ValueSpec::Expression {
                text: expression.to_string(),
                namespaces: el.ns_scope.clone(),
            }),
            (None, None) => el.elements().next().cloned().map(ValueSpec::Inline),
        }
    }
}
