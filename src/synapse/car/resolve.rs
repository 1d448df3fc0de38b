//! Dependency resolution, as `CappDeployer` does it: every top-level directory with an
//! `artifact.xml` is an artifact, and a dependency matches the artifact with the same name and
//! version, whatever its directory is called. A dependency that matches nothing makes the CAR
//! fail (`isArtifactReadyToDeploy`).

use std::collections::HashMap;

use super::archive::Archive;
use super::{at, parse_entry, CarError};
use crate::xml::element::Element;

/// A `<dependency>` of the application that matched the server roles.
pub(super) struct Dependency<'e> {
    pub name: &'e str,
    pub version: Option<&'e str>,
    pub element: &'e Element,
}

/// Where one artifact's descriptor is. Only names are kept: the descriptor is parsed again when
/// the artifact is deployed, so that at most one artifact tree is in memory at a time.
pub(super) struct Descriptor {
    pub dir: String,
    pub entry: String,
}

/// Artifacts by (name, version).
pub(super) type Index = HashMap<(String, Option<String>), Descriptor>;

/// Parses the `artifact.xml` of every top-level directory (`searchArtifacts`); a malformed one
/// fails the CAR, as in MI, and two artifacts with the same name and version are an error.
pub(super) fn index_artifacts(archive: &mut Archive<'_>) -> Result<Index, CarError> {
    let mut index = Index::new();
    for entry in archive.artifact_descriptors("") {
        let root = load(archive, &entry)?;
        let name = root.attr_local("name").unwrap_or_default().to_string();
        let key = (name, root.attr_local("version").map(str::to_string));
        if let Some(other) = index.get(&key) {
            let message = format!("artifact '{}' is also declared by {}", key.0, other.entry);
            return Err(at(&entry, &root, message));
        }
        let dir = entry.trim_end_matches("/artifact.xml").to_string();
        index.insert(key, Descriptor { dir, entry });
    }
    Ok(index)
}

/// MI 4.x API metadata (`metadata/<name>_<version>/artifact.xml`: swagger and service-catalog
/// files): MI drops the application dependencies with these names before resolving the rest.
/// Returns each artifact's name and descriptor entry.
pub(super) fn metadata_artifacts(
    archive: &mut Archive<'_>,
) -> Result<HashMap<String, String>, CarError> {
    let mut found = HashMap::new();
    for entry in archive.artifact_descriptors("metadata/") {
        let root = load(archive, &entry)?;
        let name = root.attr_local("name").unwrap_or_default().to_string();
        found.entry(name).or_insert(entry);
    }
    Ok(found)
}

/// Parses one `artifact.xml`: an `<artifact>` root with a name.
pub(super) fn load(archive: &mut Archive<'_>, entry: &str) -> Result<Element, CarError> {
    let root = parse_entry(archive, entry)?.ok_or_else(|| CarError::Entry {
        entry: entry.to_string(),
        message: "not in the CAR".to_string(),
    })?;
    if root.local != "artifact" {
        let message = format!("expected <artifact>, found <{}>", root.local);
        return Err(at(entry, &root, message));
    }
    if root.attr_local("name").is_none() {
        return Err(at(entry, &root, "<artifact> has no name"));
    }
    Ok(root)
}

/// The artifact a dependency names.
pub(super) fn find<'i>(
    index: &'i Index,
    entry: &str,
    dep: &Dependency<'_>,
) -> Result<&'i Descriptor, CarError> {
    let key = (dep.name.to_string(), dep.version.map(str::to_string));
    index.get(&key).ok_or_else(|| {
        let version = dep.version.unwrap_or("(no version)");
        let message = format!(
            "dependency {} {version} does not resolve: no <dir>/artifact.xml declares it",
            dep.name
        );
        at(entry, dep.element, message)
    })
}

/// MI deploys an artifact only when its own `<dependency>`s are in the CAR too.
pub(super) fn check_nested(index: &Index, entry: &str, root: &Element) -> Result<(), CarError> {
    for el in root.children_local("dependency") {
        let name = el.attr_local("artifact").unwrap_or_default().to_string();
        let key = (name, el.attr_local("version").map(str::to_string));
        if !index.contains_key(&key) {
            let message = format!("dependency '{}' is not in the CAR", key.0);
            return Err(at(entry, el, message));
        }
    }
    Ok(())
}
