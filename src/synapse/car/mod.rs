//! Carbon Application (`.car`) reader: a CAR zip → the Synapse artifacts, registry resources and
//! config keys WSO2 Micro Integrator would deploy from it, in MI's deployment order.
//!
//! What WSO2 does, and this module follows (`ApplicationConfiguration`, `CappDeployer`,
//! `SynapseAppDeployer`, `FileRegistryResourceDeployer`, `ConfigDeployer`):
//! - the root descriptor is `metadata.xml` when present ("new CAPP format"), else `artifacts.xml`;
//!   its first `<artifact type="carbon/application">` is the application;
//! - a `<dependency>` is kept when its `serverRole` is matched, as a whole string, by one of the
//!   server's role patterns (a dependency without `serverRole` is kept);
//! - dependencies resolve by name and version against the `artifact.xml` of every top-level
//!   directory; one that does not resolve makes the CAR fail, as in MI; dependencies on API
//!   metadata (`metadata/*/artifact.xml`, swagger and service catalog) are dropped with a note;
//! - registry resources come first, then the Synapse artifacts by type: local-entry, endpoint,
//!   sequence, message-store, template, proxy, task, message-processor, api, inbound-endpoint.
//!
//! Descriptors (`artifacts.xml`, `artifact.xml`, `registry-info.xml`, `.meta/~*.xml`) are parsed
//! with [`crate::xml::element`] and read by local name, as Axiom's `getChildrenWithLocalName`
//! does in MI; errors point at the element's `line:col` inside the zip entry.
//!
//! Types mint does not run (class mediators, connectors, data services, data sources, …) are
//! reported in [`CarApp::skipped`], not treated as errors. Nothing is written to disk: callers
//! get the contents and decide where they go.

mod archive;
mod config;
mod registry;
mod resolve;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use regex::Regex;

use archive::Archive;
pub use registry::{registry_key, registry_path_key};
use resolve::{Dependency, Descriptor};

use crate::xml::element::{parse_document, Element};

/// MI's default server roles (`default.json: server.roles`).
pub const DEFAULT_SERVER_ROLES: [&str; 3] = [
    "EnterpriseIntegrator",
    "EnterpriseServiceBus",
    "DataServicesServer",
];

/// Default cap on the number of zip entries in one CAR.
pub const MAX_ENTRIES: usize = 65_536;

/// Default cap on the bytes decompressed from one CAR (512 MiB).
pub const MAX_UNCOMPRESSED_BYTES: u64 = 512 << 20;

/// Most notes kept in [`CarApp::skipped`]; a hostile descriptor could ask for millions.
const MAX_NOTES: usize = 1000;

/// Synapse artifact types mint deploys, in `SynapseAppDeployer`'s order.
const SYNAPSE_ORDER: [&str; 10] = [
    "synapse/local-entry",
    "synapse/endpoint",
    "synapse/sequence",
    "synapse/message-store",
    "synapse/template",
    "synapse/proxy-service",
    "synapse/task",
    "synapse/message-processors",
    "synapse/api",
    "synapse/inbound-endpoint",
];

/// Everything mint takes from one CAR.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CarApp {
    pub name: String,
    pub version: String,
    /// Synapse artifacts, in deployment order.
    pub artifacts: Vec<CarArtifact>,
    /// Registry resources (items and collection files), to be written before the artifacts load.
    pub resources: Vec<CarResource>,
    /// Registry collections with their properties (`<dir>.collections.properties` in MI).
    pub collections: Vec<CarCollection>,
    /// Keys declared by `config/property` artifacts (`config.properties`), read as `${configs.key}`.
    pub config_keys: Vec<String>,
    /// Human-readable notes on what was left out and why.
    pub skipped: Vec<String>,
}

/// One Synapse artifact file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarArtifact {
    pub name: String,
    pub version: String,
    /// The CAR type, e.g. `synapse/api`; `synapse/sequenceTemplate` and
    /// `synapse/endpointTemplate` (tooling-side names) are reported as `synapse/template`.
    pub car_type: String,
    /// Zip path of the Synapse XML, e.g. `HealthcareAPI_1.0.0/HealthcareAPI.xml`.
    pub entry: String,
    pub content: String,
}

/// One registry resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarResource {
    /// Registry key, e.g. `gov:custom/transform.xslt`.
    pub key: String,
    pub content: Vec<u8>,
    pub media_type: Option<String>,
    pub properties: Vec<(String, String)>,
    /// Zip path the content came from.
    pub entry: String,
}

/// One registry collection (folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarCollection {
    /// Registry key of the folder, e.g. `conf:schemas`.
    pub key: String,
    pub properties: Vec<(String, String)>,
    /// Zip path of the folder, ending in `/`.
    pub entry: String,
}

/// Bounds on what one CAR may make the reader do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_uncompressed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: MAX_ENTRIES,
            max_uncompressed_bytes: MAX_UNCOMPRESSED_BYTES,
        }
    }
}

/// Why a CAR cannot be deployed. Messages name the zip entry, and for XML the `line:col` in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarError {
    /// The archive as a whole: not a zip, too many entries, no descriptor.
    #[error("{0}")]
    Archive(String),
    /// One zip entry: unsafe name, unreadable, over the size budget, not UTF-8, missing.
    #[error("{entry}: {message}")]
    Entry { entry: String, message: String },
    /// A descriptor problem at a 1-based position inside a zip entry.
    #[error("{entry}:{line}:{col}: {message}")]
    Xml {
        entry: String,
        line: u32,
        col: u32,
        message: String,
    },
    /// A server role pattern that is not a valid regular expression.
    #[error("server role '{role}' is not a valid regular expression: {message}")]
    ServerRole { role: String, message: String },
}

/// Reads a CAR with the default [`Limits`]. `server_roles` are the server's role patterns,
/// usually [`DEFAULT_SERVER_ROLES`].
pub fn read_car<S: AsRef<str>>(bytes: &[u8], server_roles: &[S]) -> Result<CarApp, CarError> {
    read_car_with_limits(bytes, server_roles, &Limits::default())
}

/// Reads a CAR with explicit [`Limits`].
pub fn read_car_with_limits<S: AsRef<str>>(
    bytes: &[u8],
    server_roles: &[S],
    limits: &Limits,
) -> Result<CarApp, CarError> {
    let roles = compile_roles(server_roles)?;
    let mut archive = Archive::open(bytes, limits)?;
    let (root_entry, root) = root_descriptor(&mut archive)?;
    let app_el = root
        .children_local("artifact")
        .find(|a| a.attr_local("type") == Some("carbon/application"))
        .ok_or_else(|| {
            at(
                &root_entry,
                &root,
                "no <artifact type=\"carbon/application\">",
            )
        })?;
    let name = app_el.attr_local("name").ok_or_else(|| {
        at(
            &root_entry,
            app_el,
            "the application <artifact> has no name",
        )
    })?;
    let mut app = CarApp {
        name: name.to_string(),
        version: app_el.attr_local("version").unwrap_or_default().to_string(),
        ..CarApp::default()
    };
    let deps = included_dependencies(&root_entry, app_el, &roles, &mut app.skipped)?;
    if deps.is_empty() {
        let message =
            format!("{root_entry}: no dependency for this server's roles; MI ignores such a CAR");
        note(&mut app.skipped, message);
    } else {
        let index = resolve::index_artifacts(&mut archive)?;
        let metadata = resolve::metadata_artifacts(&mut archive)?;
        for dep in &deps {
            if let Some(entry) = metadata.get(dep.name) {
                let message = format!("{entry}: {} is API metadata; not used by mint", dep.name);
                note(&mut app.skipped, message);
                continue;
            }
            let found = resolve::find(&index, &root_entry, dep)?;
            let root = resolve::load(&mut archive, &found.entry)?;
            resolve::check_nested(&index, &found.entry, &root)?;
            deploy_one(&mut archive, found, &root, &mut app)?;
        }
        order_artifacts(&mut app.artifacts);
        let mut seen = HashSet::new();
        app.config_keys.retain(|key| seen.insert(key.clone()));
    }
    for nested in &archive.nested {
        let message = format!("{nested}: nested CAR (fat CAR) is not deployed by mint");
        note(&mut app.skipped, message);
    }
    Ok(app)
}

/// Server roles are patterns matched against the whole dependency role (Java `String.matches`).
fn compile_roles<S: AsRef<str>>(roles: &[S]) -> Result<Vec<Regex>, CarError> {
    roles
        .iter()
        .map(|role| {
            let role = role.as_ref();
            Regex::new(&format!("^(?:{role})$")).map_err(|e| CarError::ServerRole {
                role: role.to_string(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// `metadata.xml` first, then `artifacts.xml`, as `ApplicationConfiguration` does.
fn root_descriptor(archive: &mut Archive<'_>) -> Result<(String, Element), CarError> {
    for entry in ["metadata.xml", "artifacts.xml"] {
        if let Some(root) = parse_entry(archive, entry)? {
            return Ok((entry.to_string(), root));
        }
    }
    Err(CarError::Archive(
        "neither metadata.xml nor artifacts.xml at the root of the CAR".to_string(),
    ))
}

/// The application's dependencies whose `serverRole` the server accepts.
fn included_dependencies<'e>(
    entry: &str,
    app_el: &'e Element,
    roles: &[Regex],
    notes: &mut Vec<String>,
) -> Result<Vec<Dependency<'e>>, CarError> {
    let mut deps: Vec<Dependency<'e>> = Vec::new();
    let mut names = HashSet::new();
    for el in app_el.children_local("dependency") {
        let name = el
            .attr_local("artifact")
            .ok_or_else(|| at(entry, el, "<dependency> without artifact attribute"))?;
        if let Some(role) = el.attr_local("serverRole") {
            if !roles.iter().any(|re| re.is_match(role)) {
                let (line, col) = (el.pos.line, el.pos.col);
                let message = format!(
                    "{entry}:{line}:{col}: {name}: serverRole '{role}' matches no server role; skipped"
                );
                note(notes, message);
                continue;
            }
        }
        if !names.insert(name) {
            return Err(at(entry, el, format!("artifact '{name}' is listed twice")));
        }
        let version = el.attr_local("version");
        deps.push(Dependency {
            name,
            version,
            element: el,
        });
    }
    Ok(deps)
}

/// Routes one resolved artifact (`art` is its parsed `artifact.xml`) by type.
fn deploy_one(
    archive: &mut Archive<'_>,
    found: &Descriptor,
    art: &Element,
    app: &mut CarApp,
) -> Result<(), CarError> {
    let name = art.attr_local("name").unwrap_or_default();
    let car_type = art.attr_local("type").unwrap_or_default();
    match car_type {
        "registry/resource" => {
            registry::read_registry_artifact(archive, &found.dir, &found.entry, art, app)
        }
        "config/property" => config::read_config(archive, found, app),
        _ => {
            let Some(synapse) = synapse_type(car_type) else {
                let shown = if car_type.is_empty() {
                    "no type"
                } else {
                    car_type
                };
                let message = format!(
                    "{}: {name} ({shown}) is not supported by mint; skipped",
                    found.entry
                );
                note(&mut app.skipped, message);
                return Ok(());
            };
            if synapse != car_type {
                let message = format!(
                    "{}: {name} ({car_type}) read as {synapse}; MI deploys only {synapse} from a CAR",
                    found.entry
                );
                note(&mut app.skipped, message);
            }
            let artifact = read_synapse(archive, found, art, synapse)?;
            app.artifacts.push(artifact);
            Ok(())
        }
    }
}

/// The Synapse type mint deploys for a CAR type. `synapse/sequenceTemplate` and
/// `synapse/endpointTemplate` are the tooling's project-side names, which Developer Studio turns
/// into `synapse/template` when it builds a CAR; a hand-made CAR that kept them clearly means
/// templates, so they are read as such (with a note, since MI would not deploy them).
fn synapse_type(car_type: &str) -> Option<&'static str> {
    let car_type = match car_type {
        "synapse/sequenceTemplate" | "synapse/endpointTemplate" => "synapse/template",
        other => other,
    };
    SYNAPSE_ORDER.iter().copied().find(|t| *t == car_type)
}

/// The one `<file>` of a Synapse artifact, read as text.
fn read_synapse(
    archive: &mut Archive<'_>,
    found: &Descriptor,
    art: &Element,
    car_type: &str,
) -> Result<CarArtifact, CarError> {
    let files: Vec<&Element> = art.children_local("file").collect();
    let file = match files.as_slice() {
        [file] => *file,
        [] => return Err(at(&found.entry, art, "missing <file>")),
        more => {
            let message = format!("{} <file> elements; expected one", more.len());
            return Err(at(&found.entry, art, message));
        }
    };
    let entry = file_entry(&found.dir, &found.entry, file)?;
    let content = archive
        .read_text(&entry)?
        .ok_or_else(|| at(&found.entry, file, format!("'{entry}' is not in the CAR")))?;
    Ok(CarArtifact {
        name: art.attr_local("name").unwrap_or_default().to_string(),
        version: art.attr_local("version").unwrap_or_default().to_string(),
        car_type: car_type.to_string(),
        entry,
        content,
    })
}

/// Stable sort by `SynapseAppDeployer`'s type order; CAR order is kept within a type.
fn order_artifacts(artifacts: &mut [CarArtifact]) {
    let rank = |a: &CarArtifact| SYNAPSE_ORDER.iter().position(|t| *t == a.car_type);
    artifacts.sort_by_key(rank);
}

/// The zip path named by a `<file>` element in `<dir>/artifact.xml`; refuses names that leave
/// the artifact's folder.
fn file_entry(dir: &str, entry: &str, file: &Element) -> Result<String, CarError> {
    let text = file.text();
    let name = text.trim();
    if name.is_empty() || !archive::is_safe_relative(name) {
        return Err(at(
            entry,
            file,
            format!("unsafe or empty file name '{name}'"),
        ));
    }
    Ok(format!("{dir}/{name}"))
}

/// Reads and parses a descriptor entry; `None` when the entry does not exist.
fn parse_entry(archive: &mut Archive<'_>, entry: &str) -> Result<Option<Element>, CarError> {
    let Some(text) = archive.read_descriptor(entry)? else {
        return Ok(None);
    };
    parse_document(&text)
        .map(Some)
        .map_err(|(pos, message)| CarError::Xml {
            entry: entry.to_string(),
            line: pos.line,
            col: pos.col,
            message,
        })
}

/// The trimmed text of `el`'s first child with local name `local`; `None` when absent or blank.
fn child_text(el: &Element, local: &str) -> Option<String> {
    let text = el.child_local(local)?.text();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// An error at `el`'s position in `entry`.
fn at(entry: &str, el: &Element, message: impl Into<String>) -> CarError {
    CarError::Xml {
        entry: entry.to_string(),
        line: el.pos.line,
        col: el.pos.col,
        message: message.into(),
    }
}

/// Adds a note to [`CarApp::skipped`], up to [`MAX_NOTES`].
fn note(notes: &mut Vec<String>, message: String) {
    match notes.len() {
        n if n < MAX_NOTES => notes.push(message),
        MAX_NOTES => notes.push(format!("more than {MAX_NOTES} notes; the rest are omitted")),
        _ => {}
    }
}
