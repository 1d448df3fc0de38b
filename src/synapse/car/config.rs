//! `config/property` artifacts (`ConfigDeployer`): the artifact folder's `config.properties`
//! declares the keys that artifacts read as `${configs.key}`; values come from the environment or
//! `conf/file.properties` at run time, so only the key names are taken from the CAR.

use super::archive::Archive;
use super::resolve::Descriptor;
use super::{note, CarApp, CarError};

/// Adds the keys of the artifact's `config.properties` (MI reads that name, whatever `<file>`
/// says); a missing file is a note, as MI only logs it.
pub(super) fn read_config(
    archive: &mut Archive<'_>,
    found: &Descriptor,
    app: &mut CarApp,
) -> Result<(), CarError> {
    let entry = format!("{}/config.properties", found.dir);
    match archive.read_text(&entry)? {
        Some(text) => app.config_keys.extend(property_keys(&text)),
        None => note(
            &mut app.skipped,
            format!("{entry}: not in the CAR; no config keys declared"),
        ),
    }
    Ok(())
}

/// Key names of a Java properties file, in order: comment (`#`, `!`), blank and continuation
/// lines are skipped; a key ends at an unescaped `=`, `:` or whitespace.
fn property_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut continued = false;
    for line in text.lines().map(str::trim_start) {
        let was_continued = continued;
        let comment = line.starts_with(['#', '!']);
        let trailing = line.len() - line.trim_end_matches('\\').len();
        continued = !comment && trailing % 2 == 1;
        if was_continued || comment || line.is_empty() {
            continue;
        }
        let mut key = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => key.extend(chars.next()),
                '=' | ':' => break,
                c if c.is_whitespace() => break,
                c => key.push(c),
            }
        }
        if !key.is_empty() {
            keys.push(key);
        }
    }
    keys
}
