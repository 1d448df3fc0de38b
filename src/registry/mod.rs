//! The file-system registry (WSO2's `MicroIntegratorRegistry`): keys → files under the config,
//! governance and local roots, with media types (`.metadata/<file>.meta`) and resource properties
//! (`<file>.properties`).
//!
//! - [`Registry`] is the shared, immutable description of the roots plus a write generation
//!   counter; its methods do blocking file I/O and run at deploy time or on glommio's blocking pool,
//!   never on a shard.
//! - [`cache::ShardRegistry`] is each shard's moka cache in front of it, entries living
//!   `cachableDuration`.

pub mod cache;
pub mod config;
mod properties;

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use bytes::Bytes;

pub use self::config::RegistryConfig;

/// One resource as read from disk.
#[derive(Debug, Clone)]
pub struct Resource {
    pub key: String,
    pub path: PathBuf,
    pub content: Bytes,
    /// `mediaType` from `.metadata/<file>.meta`.
    pub media_type: Option<String>,
    /// `<file>.properties`, in file order.
    pub properties: Vec<(String, String)>,
    /// Modification time of the content file (and of its properties file, whichever is later).
    pub modified: Option<SystemTime>,
}

impl Resource {
    /// The content as text (lossy for binary content).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.content)
    }
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The registry roots, shared by every shard.
#[derive(Debug)]
pub struct Registry {
    pub config: RegistryConfig,
    /// Bumped by every write; shards drop their cached entries when it changes.
    generation: AtomicU64,
    /// `mint check`: writes (a CAR's resources) go here instead of to disk, and reads see them.
    dry_run: Option<DryRun>,
}

/// Files a dry run would have written. Only `mint check` (one thread, no shards) uses it.
#[allow(clippy::disallowed_types)]
type DryRun = std::sync::Mutex<std::collections::HashMap<PathBuf, Vec<u8>>>;

impl Registry {
    /// Opens the registry, creating missing root folders.
    pub fn open(config: RegistryConfig) -> Result<Registry, String> {
        for root in [
            &config.config_root,
            &config.governance_root,
            &config.local_root,
        ] {
            std::fs::create_dir_all(root)
                .map_err(|e| format!("{}: cannot create registry folder: {e}", root.display()))?;
        }
        Ok(Registry {
            config,
            generation: AtomicU64::new(0),
            dry_run: None,
        })
    }

    /// A registry over explicit roots that never writes to disk (tests, `mint check`): writes
    /// are kept in memory and seen by later reads.
    pub fn unopened(config: RegistryConfig) -> Registry {
        Registry {
            config,
            generation: AtomicU64::new(0),
            dry_run: Some(DryRun::default()),
        }
    }

    /// Content written by a dry run at `path`, if any.
    fn dry_content(&self, path: &Path) -> Option<Vec<u8>> {
        let d = self.dry_run.as_ref()?;
        d.lock().ok()?.get(path).cloned()
    }

    /// Whether the file behind a resolved key exists (on disk, or written by a dry run).
    pub fn exists(&self, path: &Path) -> bool {
        path.exists() || self.dry_content(path).is_some()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Maps a key to a file: `conf:` → config, `gov:` → governance, `local:` → local,
    /// `resources:` → governance/mi-resources, no prefix → governance; one leading `/` dropped.
    /// Keys that would leave their root (`..`, absolute paths, symlinks pointing outside) are
    /// refused.
    pub fn resolve(&self, key: &str) -> Result<PathBuf, String> {
        let c = &self.config;
        let (root, rest) = if let Some(r) = key.strip_prefix("conf:") {
            (c.config_root.clone(), r)
        } else if let Some(r) = key.strip_prefix("gov:") {
            (c.governance_root.clone(), r)
        } else if let Some(r) = key.strip_prefix("local:") {
            (c.local_root.clone(), r)
        } else if let Some(r) = key.strip_prefix("resources:") {
            (c.governance_root.join("mi-resources"), r)
        } else {
            (c.governance_root.clone(), key)
        };
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let rel = Path::new(rest);
        let illegal = || {
            format!(
                "the registry key '{key}' is illegal: it points to a location outside the registry"
            )
        };
        if rest.is_empty()
            || rel
                .components()
                .any(|comp| !matches!(comp, Component::Normal(_)))
        {
            return Err(illegal());
        }
        let path = root.join(rel);
        // Symlinks: the deepest existing ancestor must stay inside the canonical root.
        if let Ok(canon_root) = root.canonicalize() {
            let mut probe = path.clone();
            while !probe.exists() {
                if !probe.pop() {
                    break;
                }
            }
            if let Ok(canon) = probe.canonicalize() {
                if !canon.starts_with(&canon_root) {
                    return Err(illegal());
                }
            }
        }
        Ok(path)
    }

    /// The XML resources on disk whose document element is `<sequence>` in the Synapse
    /// namespace, by their canonical key (`conf:`, `gov:` or `local:` and the path from its
    /// root), so that a sequence key computed per message can name them. Bounded: at most
    /// 2,000 resources of at most 1 MiB each, 16 folders deep; hidden files are skipped.
    pub fn sequence_resources(&self) -> Vec<(String, PathBuf)> {
        let c = &self.config;
        let mut found = Vec::new();
        let mut budget = 2_000usize;
        for (prefix, root) in [
            ("conf", &c.config_root),
            ("gov", &c.governance_root),
            ("local", &c.local_root),
        ] {
            let mut stack = vec![(root.clone(), 0usize)];
            while let Some((dir, depth)) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
                entries.sort();
                for path in entries {
                    let hidden = path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                    if hidden || budget == 0 {
                        continue;
                    }
                    if path.is_dir() {
                        if depth < 16 {
                            stack.push((path, depth + 1));
                        }
                        continue;
                    }
                    if path.extension().is_none_or(|e| e != "xml") {
                        continue;
                    }
                    budget -= 1;
                    let small = std::fs::metadata(&path).is_ok_and(|m| m.len() <= 1 << 20);
                    if !small || !starts_as_sequence(&path) {
                        continue;
                    }
                    if let Ok(rel) = path.strip_prefix(root) {
                        let rel = rel.to_string_lossy().replace('\\', "/");
                        found.push((format!("{prefix}:{rel}"), path));
                    }
                }
            }
        }
        found
    }

    /// Reads a resource; `Ok(None)` when it does not exist (as WSO2's lookup returns null).
    pub fn read(&self, key: &str) -> Result<Option<Resource>, String> {
        let path = self.resolve(key)?;
        let content = match self
            .dry_content(&path)
            .map(Ok)
            .unwrap_or_else(|| std::fs::read(&path))
        {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if path.is_dir() => {
                let _ = e;
                // A collection: no content, only collection properties.
                Vec::new()
            }
            Err(e) => {
                return Err(format!(
                    "registry resource '{key}' ({}): {e}",
                    path.display()
                ))
            }
        };
        let mut modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let (props_path, meta_path) = side_files(&path);
        let properties = match std::fs::read_to_string(&props_path) {
            Ok(t) => {
                if let Ok(m) = std::fs::metadata(&props_path).and_then(|m| m.modified()) {
                    modified = modified.max(Some(m));
                }
                properties::parse(&t)
            }
            Err(_) => Vec::new(),
        };
        let media_type = std::fs::read_to_string(&meta_path).ok().and_then(|t| {
            properties::parse(&t)
                .into_iter()
                .find(|(k, _)| k == "mediaType")
                .map(|(_, v)| v)
        });
        Ok(Some(Resource {
            key: key.to_string(),
            path,
            content: Bytes::from(content),
            media_type,
            properties,
            modified,
        }))
    }

    /// Reads a resource as text, for deploy-time references.
    pub fn read_text(&self, key: &str) -> Result<(PathBuf, String), String> {
        match self.read(key)? {
            Some(r) => Ok((r.path.clone(), r.text().into_owned())),
            None => Err(format!("registry resource '{key}' does not exist")),
        }
    }

    /// The property mediator's `scope="registry"` write: `key` sets the content (media type
    /// text/plain); `key@prop` empties the content and replaces the properties file with
    /// `prop=value`, as MI 4.x does.
    pub fn write(&self, name: &str, value: &str) -> Result<(), String> {
        let (key, prop) = match name.split_once('@') {
            Some((k, p)) => (k, Some(p)),
            None => (name, None),
        };
        let path = self.resolve(key)?;
        let io = |e: std::io::Error| format!("registry write to '{key}' failed: {e}");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let (props_path, meta_path) = side_files(&path);
        match prop {
            None => std::fs::write(&path, value).map_err(io)?,
            Some(p) => {
                std::fs::write(&path, "").map_err(io)?;
                std::fs::write(
                    &props_path,
                    properties::render(&[(p.to_string(), value.to_string())]),
                )
                .map_err(io)?;
            }
        }
        if let Some(dir) = meta_path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(&meta_path, "mediaType=text/plain\n").map_err(io)?;
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

/// `<file>.properties` and `.metadata/<file>.meta` next to a resource.
/// What [`Registry::put`] replaced, so that a rolled-back CAR can put it back.
#[derive(Debug)]
pub struct Undo {
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl Registry {
    /// Writes a resource as a CAR deploys it (`addNewNonEmptyResource`): content, media type in
    /// `.metadata/<file>.meta`, properties in `<file>.properties`. Files whose content is already
    /// the same are not touched (no mtime change, so the deployer's watcher is not re-triggered).
    /// Returns what was replaced.
    pub fn put(
        &self,
        key: &str,
        content: &[u8],
        media_type: Option<&str>,
        properties: &[(String, String)],
    ) -> Result<Undo, String> {
        let path = self.resolve(key)?;
        let (props_path, meta_path) = side_files(&path);
        let mut files = vec![(path, content.to_vec())];
        if let Some(mt) = media_type {
            files.push((meta_path, format!("mediaType={mt}\n").into_bytes()));
        }
        if !properties.is_empty() {
            files.push((props_path, properties::render(properties).into_bytes()));
        }
        let mut undo = Undo { files: Vec::new() };
        let mut changed = false;
        for (p, want) in files {
            if let Some(d) = &self.dry_run {
                if let Ok(mut d) = d.lock() {
                    d.insert(p.clone(), want);
                }
                undo.files.push((p, None));
                continue;
            }
            let old = std::fs::read(&p).ok();
            if old.as_deref() == Some(want.as_slice()) {
                continue;
            }
            let io = |e: std::io::Error| {
                format!("registry write to '{key}' ({}) failed: {e}", p.display())
            };
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            std::fs::write(&p, &want).map_err(io)?;
            undo.files.push((p, old));
            changed = true;
        }
        if changed {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        Ok(undo)
    }

    /// Puts back what [`Registry::put`] replaced (files it created are removed).
    pub fn undo(&self, undo: Undo) {
        if let Some(d) = &self.dry_run {
            if let Ok(mut d) = d.lock() {
                for (p, _) in undo.files {
                    d.remove(&p);
                }
            }
            return;
        }
        for (p, old) in undo.files.into_iter().rev() {
            let _ = match old {
                Some(bytes) => std::fs::write(&p, bytes),
                None => std::fs::remove_file(&p),
            };
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

fn side_files(path: &Path) -> (PathBuf, PathBuf) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    (
        dir.join(format!("{name}.properties")),
        dir.join(".metadata").join(format!("{name}.meta")),
    )
}

#[cfg(test)]
mod tests;

/// A registry key in one spelling for each resource: `conf:`, `gov:`, `local:` or `resources:`
/// and the path without a leading `/` (a key without a prefix is a governance one), as
/// [`Registry::resolve`] maps keys. None for what is no registry key.
pub fn canonical_key(key: &str) -> Option<String> {
    let key = key.trim();
    let (prefix, rest) = match key.split_once(':') {
        Some((p @ ("conf" | "gov" | "local"), rest)) => (p, rest),
        Some(("resources", rest)) => {
            return Some(format!("gov:mi-resources/{}", rest.trim_start_matches('/')))
        }
        Some(_) => return None,
        None => ("gov", key),
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    (!rest.is_empty()).then(|| format!("{prefix}:{rest}"))
}

/// Whether the XML document in `path` is a Synapse `<sequence>`, from its first 8 KiB only
/// (prolog and comments skipped; the namespace declared on the start tag): the compiler reads
/// the whole file once it is chosen.
fn starts_as_sequence(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(8192);
    let read = std::fs::File::open(path).and_then(|f| f.take(8192).read_to_end(&mut head));
    read.is_ok() && is_sequence_document(&String::from_utf8_lossy(&head))
}

/// Whether an XML document's element is Synapse's `<sequence>` (prolog and comments skipped).
fn is_sequence_document(text: &str) -> bool {
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("<?") {
            rest = r.split_once("?>").map_or("", |(_, r)| r).trim_start();
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.split_once("-->").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    let Some(tag) = rest.strip_prefix('<') else {
        return false;
    };
    let name_end = tag
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(tag.len());
    let name = &tag[..name_end];
    let local = name.rsplit(':').next().unwrap_or(name);
    let start_tag = tag.split('>').next().unwrap_or(tag);
    local == "sequence" && start_tag.contains("http://ws.apache.org/ns/synapse")
}
