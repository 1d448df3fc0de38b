//! Bounded, name-checked access to the zip entries of a CAR.
//!
//! WSO2 extracts a CAR to disk before reading it; mint reads entries straight from memory, and
//! only the entries the descriptors name. Because the bytes come from whoever dropped the file in
//! `carbonapps/`, every entry name is checked up front (an absolute name or a `..` component makes
//! the whole CAR an error, as a zip-slip attempt), the entry count is capped, and decompression
//! draws on one budget for the whole CAR, so a zip bomb ends in an error rather than in OOM.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::{CarError, Limits};

/// Largest descriptor (`artifacts.xml`, `artifact.xml`, …) read; real ones are a few KiB, and
/// this bounds the element tree built from one.
const MAX_DESCRIPTOR_BYTES: u64 = 16 << 20;

/// How many times, on average, an entry may be read: `artifact.xml` is read twice (index, then
/// deploy) and a `.meta` file may be probed too.
const READS_PER_ENTRY: usize = 4;

/// The CAR's zip, its checked entry names and what is left of the decompression budget.
pub(super) struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// File entries WSO2 would extract: not directories, not under `META-INF/` or `dependencies/`.
    files: BTreeSet<String>,
    /// Nested CARs under `dependencies/` (MI 4.4+ "fat CAR"); reported, not read.
    pub nested: Vec<String>,
    /// Uncompressed bytes still allowed to be read.
    budget: u64,
    limit: u64,
    /// Reads still allowed: descriptors may name the same (even empty) entry many times, so the
    /// byte budget alone would not bound the work or the output.
    reads_left: usize,
}

impl<'a> Archive<'a> {
    /// Opens the zip and checks every entry name against zip-slip and the entry count.
    pub fn open(bytes: &'a [u8], limits: &Limits) -> Result<Self, CarError> {
        let zip = ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| CarError::Archive(format!("not a readable zip archive: {e}")))?;
        if zip.len() > limits.max_entries {
            return Err(CarError::Archive(format!(
                "{} zip entries, more than the {} allowed",
                zip.len(),
                limits.max_entries
            )));
        }
        let mut files = BTreeSet::new();
        let mut nested = Vec::new();
        for name in zip.file_names() {
            let name = name.map_err(|e| CarError::Archive(format!("bad entry name: {e}")))?;
            check_name(&name)?;
            let is_dir = name.ends_with('/');
            if name.starts_with("dependencies/") {
                if !is_dir {
                    nested.push(name.into_owned());
                }
            } else if !is_dir && !name.starts_with("META-INF/") {
                files.insert(name.into_owned());
            }
        }
        Ok(Archive {
            zip,
            files,
            nested,
            budget: limits.max_uncompressed_bytes,
            limit: limits.max_uncompressed_bytes,
            reads_left: limits.max_entries.saturating_mul(READS_PER_ENTRY),
        })
    }

    /// Whether a readable file entry has this exact name.
    pub fn contains(&self, name: &str) -> bool {
        self.files.contains(name)
    }

    /// File entries whose names start with `prefix`, in name order.
    pub fn files_under(&self, prefix: &str) -> Vec<String> {
        self.files
            .range(prefix.to_string()..)
            .take_while(|name| name.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// The `artifact.xml` of every directory directly below `parent` (`""` for the top level,
    /// `"metadata/"` for MI 4.x API metadata): where WSO2 looks for artifacts.
    pub fn artifact_descriptors(&self, parent: &str) -> Vec<String> {
        self.files_under(parent)
            .into_iter()
            .filter(|name| {
                name.get(parent.len()..)
                    .and_then(|rest| rest.strip_suffix("/artifact.xml"))
                    .is_some_and(|dir| !dir.is_empty() && !dir.contains('/'))
            })
            .collect()
    }

    /// Reads a file entry, or `None` when there is none by that name.
    pub fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, CarError> {
        self.read_capped(name, u64::MAX)
    }

    /// Reads a descriptor entry as UTF-8 text (at most [`MAX_DESCRIPTOR_BYTES`]).
    pub fn read_descriptor(&mut self, name: &str) -> Result<Option<String>, CarError> {
        let bytes = self.read_capped(name, MAX_DESCRIPTOR_BYTES)?;
        bytes.map(|b| utf8(name, b)).transpose()
    }

    /// Reads a file entry as UTF-8 text.
    pub fn read_text(&mut self, name: &str) -> Result<Option<String>, CarError> {
        let bytes = self.read(name)?;
        bytes.map(|b| utf8(name, b)).transpose()
    }

    /// Reads an entry, drawing on the CAR's budget; more than `cap` bytes is an error.
    fn read_capped(&mut self, name: &str, cap: u64) -> Result<Option<Vec<u8>>, CarError> {
        if !self.files.contains(name) {
            return Ok(None);
        }
        let entry_error = |message: String| CarError::Entry {
            entry: name.to_string(),
            message,
        };
        if self.reads_left == 0 {
            let message = "descriptors name entries too many times; the CAR is refused";
            return Err(entry_error(message.to_string()));
        }
        self.reads_left -= 1;
        let allowed = self.budget.min(cap);
        let too_big = |budget: u64| {
            if allowed < budget {
                format!("larger than {cap} bytes, too large for a descriptor")
            } else {
                over_budget(self.limit)
            }
        };
        let mut file = self
            .zip
            .by_name(name)
            .map_err(|e| entry_error(e.to_string()))?;
        if file.size() > allowed {
            return Err(entry_error(too_big(self.budget)));
        }
        // The declared size is only a hint (it may lie); the `take` below is the real bound.
        let hint = file.size().min(1 << 20);
        let mut data = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
        (&mut file)
            .take(allowed.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| entry_error(e.to_string()))?;
        let used = u64::try_from(data.len()).unwrap_or(u64::MAX);
        if used > allowed {
            return Err(entry_error(too_big(self.budget)));
        }
        self.budget -= used;
        Ok(Some(data))
    }
}

fn utf8(name: &str, bytes: Vec<u8>) -> Result<String, CarError> {
    String::from_utf8(bytes).map_err(|e| CarError::Entry {
        entry: name.to_string(),
        message: format!("not UTF-8 text: {e}"),
    })
}

/// The message for an entry that would take the CAR past its decompression budget.
fn over_budget(limit: u64) -> String {
    format!("uncompressed contents exceed the limit of {limit} bytes for one CAR")
}

/// Refuses names that could escape an extraction directory: absolute (`/x`, `\x`, `C:x`), with
/// a `..` component, or with a NUL byte. Backslashes count as separators here so that a name
/// meant for Windows cannot slip through.
fn check_name(name: &str) -> Result<(), CarError> {
    let first = name.split(['/', '\\']).next().unwrap_or_default();
    let absolute = name.starts_with(['/', '\\']) || first.contains(':');
    let parent = name.split(['/', '\\']).any(|part| part == "..");
    if name.is_empty() || absolute || parent || name.contains('\0') {
        return Err(CarError::Entry {
            entry: name.to_string(),
            message: "unsafe entry name (empty, absolute or containing '..'); the CAR is refused"
                .to_string(),
        });
    }
    Ok(())
}

/// Checks a file or directory name taken from a descriptor (`<file>`, `<directory>`) the same
/// way, so that it can only name entries inside its artifact's directory.
pub(super) fn is_safe_relative(name: &str) -> bool {
    check_name(name).is_ok()
}
