//! `registry/resource` artifacts: `registry-info.xml` items and collections → registry keys.
//!
//! Follows MI's `FileRegistryResourceDeployer`: an `<item>` names a file under the artifact's
//! `resources/` folder and a Carbon registry path; a `<collection>` names a folder under
//! `resources/` whose files (recursively, `.meta` folders excluded) go below its path, each with
//! the media type of its `.meta/~<file>.xml`. Where MI only logs and carries on (a missing item
//! file, an unreadable `.meta`, `<dump>`, `<association>`), this module adds a note to
//! [`CarApp::skipped`] instead of failing.

use super::archive::{is_safe_relative, Archive};
use super::{
    at, child_text, file_entry, note, parse_entry, CarApp, CarCollection, CarError, CarResource,
};
use crate::xml::element::Element;

/// Reads one registry artifact (directory `dir`, descriptor `entry` whose root is `art`).
pub(super) fn read_registry_artifact(
    archive: &mut Archive<'_>,
    dir: &str,
    entry: &str,
    art: &Element,
    app: &mut CarApp,
) -> Result<(), CarError> {
    let (info_entry, info) = registry_info(archive, dir, entry, art)?;
    for item in info.children_local("item") {
        read_item(archive, dir, &info_entry, item, app)?;
    }
    for collection in info.children_local("collection") {
        read_collection(archive, dir, &info_entry, collection, app)?;
    }
    for (tag, why) in [
        ("dump", "registry dumps are not supported"),
        ("association", "associations are ignored, as MI does"),
    ] {
        for el in info.children_local(tag) {
            let (line, col) = (el.pos.line, el.pos.col);
            let message = format!("{info_entry}:{line}:{col}: <{tag}> skipped: {why}");
            note(&mut app.skipped, message);
        }
    }
    Ok(())
}

/// The element listing the resources: the root of the one `<file>` (normally
/// `registry-info.xml`), or `artifact.xml` itself when newer tooling put `<item>`s there.
fn registry_info(
    archive: &mut Archive<'_>,
    dir: &str,
    entry: &str,
    art: &Element,
) -> Result<(String, Element), CarError> {
    let files: Vec<&Element> = art.children_local("file").collect();
    let inline = art.child_local("item").is_some() || art.child_local("collection").is_some();
    if files.is_empty() && inline {
        return Ok((entry.to_string(), art.clone()));
    }
    let [file] = files.as_slice() else {
        let found = files.len();
        return Err(at(
            entry,
            art,
            format!("expected one <file>, found {found}"),
        ));
    };
    let info_entry = file_entry(dir, entry, file)?;
    let info = parse_entry(archive, &info_entry)?
        .ok_or_else(|| at(entry, file, format!("'{info_entry}' is not in the CAR")))?;
    Ok((info_entry, info))
}

fn read_item(
    archive: &mut Archive<'_>,
    dir: &str,
    info_entry: &str,
    item: &Element,
    app: &mut CarApp,
) -> Result<(), CarError> {
    let file = required(info_entry, item, "file")?;
    let path = required(info_entry, item, "path")?;
    check_names(info_entry, item, &file, &path)?;
    // `resources/<file>` is the layout; the artifact folder itself is tried for the inline form.
    let found = [format!("{dir}/resources/{file}"), format!("{dir}/{file}")]
        .into_iter()
        .find(|candidate| archive.contains(candidate));
    let Some(entry) = found else {
        let (line, col) = (item.pos.line, item.pos.col);
        let message = format!(
            "{info_entry}:{line}:{col}: registry item '{file}' has no file under {dir}/resources/; \
             skipped (MI logs an error and carries on)"
        );
        note(&mut app.skipped, message);
        return Ok(());
    };
    let content = archive.read(&entry)?.unwrap_or_default();
    app.resources.push(CarResource {
        key: registry_key(&path, &file),
        content,
        media_type: child_text(item, "mediaType"),
        properties: properties(item),
        entry,
    });
    Ok(())
}

fn read_collection(
    archive: &mut Archive<'_>,
    dir: &str,
    info_entry: &str,
    collection: &Element,
    app: &mut CarApp,
) -> Result<(), CarError> {
    let directory = required(info_entry, collection, "directory")?;
    let path = required(info_entry, collection, "path")?;
    check_names(info_entry, collection, &directory, &path)?;
    let prefix = format!("{dir}/resources/{}/", directory.trim_matches('/'));
    let files = archive.files_under(&prefix);
    if files.is_empty() {
        let (line, col) = (collection.pos.line, collection.pos.col);
        let message =
            format!("{info_entry}:{line}:{col}: collection folder {prefix} has no files; skipped");
        note(&mut app.skipped, message);
        return Ok(());
    }
    let base = registry_path_key(&path);
    app.collections.push(CarCollection {
        key: base.clone(),
        properties: properties(collection),
        entry: prefix.clone(),
    });
    for entry in files {
        let rel = entry.get(prefix.len()..).unwrap_or_default().to_string();
        if rel.split('/').any(|part| part == ".meta") {
            continue;
        }
        let media_type = meta_media_type(archive, dir, &entry, &mut app.skipped)?;
        let content = archive.read(&entry)?.unwrap_or_default();
        app.resources.push(CarResource {
            key: join_key(&base, &rel),
            content,
            media_type,
            properties: Vec::new(),
            entry,
        });
    }
    Ok(())
}

/// The `<mediaType>` of `.meta/~<file>.xml`, looked up beside the file (the Carbon registry
/// dump layout) and then in `resources/.meta/` (`AppDeployerUtils.readMediaType`).
fn meta_media_type(
    archive: &mut Archive<'_>,
    dir: &str,
    entry: &str,
    notes: &mut Vec<String>,
) -> Result<Option<String>, CarError> {
    let (parent, name) = entry.rsplit_once('/').unwrap_or(("", entry));
    for meta in [
        format!("{parent}/.meta/~{name}.xml"),
        format!("{dir}/resources/.meta/~{name}.xml"),
    ] {
        match parse_entry(archive, &meta) {
            Ok(Some(root)) => return Ok(child_text(&root, "mediaType")),
            Ok(None) => {}
            // MI logs an unreadable meta file and goes on without a media type.
            Err(e @ CarError::Xml { .. }) => {
                note(notes, format!("{e}; media type ignored"));
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn required(entry: &str, el: &Element, name: &str) -> Result<String, CarError> {
    child_text(el, name).ok_or_else(|| at(entry, el, format!("<{}> without <{name}>", el.local)))
}

/// A file or folder name must stay inside the artifact; a registry path must not climb out.
fn check_names(entry: &str, el: &Element, name: &str, path: &str) -> Result<(), CarError> {
    if !is_safe_relative(name) {
        return Err(at(entry, el, format!("unsafe file name '{name}'")));
    }
    if path.split(['/', '\\']).any(|part| part == "..") {
        return Err(at(
            entry,
            el,
            format!("registry path '{path}' contains '..'"),
        ));
    }
    Ok(())
}

/// `<properties><property key="k" value="v"/>…</properties>` (`name` accepted for `key`).
fn properties(el: &Element) -> Vec<(String, String)> {
    let Some(list) = el.child_local("properties") else {
        return Vec::new();
    };
    list.children_local("property")
        .filter_map(|p| {
            let key = p.attr_local("key").or_else(|| p.attr_local("name"))?;
            Some((
                key.to_string(),
                p.attr_local("value").unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// The registry key of file `file` stored at Carbon registry path `path`, e.g.
/// (`/_system/governance/custom`, `a.xslt`) → `gov:custom/a.xslt`.
pub fn registry_key(path: &str, file: &str) -> String {
    join_key(&registry_path_key(path), file)
}

/// `AppDeployerUtils.createRegistryPath`: `/_system/governance/x` → `gov:x`,
/// `/_system/config/x` → `conf:x`, `/_system/local/x` → `local:x`, keys that already have a
/// prefix are kept, anything else goes under `gov:`. Leading and trailing `/` after the prefix
/// are dropped (MI's registry treats `gov:/x` and `gov:x` as the same key).
pub fn registry_path_key(path: &str) -> String {
    let path = path.trim();
    for prefix in ["gov:", "conf:", "local:", "resources:"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return format!("{prefix}{}", rest.trim_matches('/'));
        }
    }
    for (root, prefix) in [
        ("/_system/governance", "gov:"),
        ("/_system/config", "conf:"),
        ("/_system/local", "local:"),
    ] {
        if let Some(rest) = path.strip_prefix(root) {
            if rest.is_empty() || rest.starts_with('/') {
                return format!("{prefix}{}", rest.trim_matches('/'));
            }
        }
    }
    format!("gov:{}", path.trim_matches('/'))
}

/// `AppDeployerUtils.computeResourcePath`, on keys: `gov:` + `a` → `gov:a`, `gov:x` + `a` → `gov:x/a`.
fn join_key(base: &str, rel: &str) -> String {
    if base.ends_with(':') || base.ends_with('/') {
        format!("{base}{rel}")
    } else {
        format!("{base}/{rel}")
    }
}
