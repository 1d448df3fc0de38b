//! Deployment: loading a home (loose artifacts and CARs, with a faulty CAR rolled back),
//! compiling it into a [`Program`], publishing programs to the shards ([`hub`]) and watching the
//! home for changes ([`watch`]).

mod cars;
pub mod hub;
pub mod watch;

use crate::compile::compile_with;
use crate::config::Home;
use crate::diag::{Diagnostic, Origin, Pos, Severity};
use crate::program::Program;
use crate::registry::Registry;
use crate::synapse::model::Artifacts;
use crate::synapse::resolve::ValueResolver;
use crate::telemetry::metrics::Metrics;

/// The outcome of deploying a home.
pub struct Deployment {
    /// None when any error was found.
    pub config: Option<Program>,
    /// Errors and warnings: the parser's file by file, then the compiler's (mediators, references).
    pub problems: Vec<Diagnostic>,
    /// CARs that failed and were left out (rolled back), by file name.
    pub faulty_capps: Vec<String>,
}

/// Reads the files `<localEntry key src="file:…"/>` name (relative to the home, as MI reads them
/// relative to its own): XML content becomes the entry's element, anything else its text. Other
/// URL schemes are not fetched (a warning; the entry stays empty). A proxy's
/// `<publishWSDL uri="file:…"/>` is read the same way.
fn read_local_sources(home: &Home, artifacts: &mut Artifacts, problems: &mut Vec<Diagnostic>) {
    use crate::synapse::model::{LocalEntryValue, PublishWsdl};
    for entry in &mut artifacts.local_entries {
        let LocalEntryValue::Src(src) = &entry.value else {
            continue;
        };
        let Some((file, read)) = read_file_uri(home, src) else {
            problems.push(Diagnostic::warning(
                entry.origin.clone(),
                format!(
                    "local entry '{}': src '{src}' is not read (mint reads file: sources only)",
                    entry.key
                ),
            ));
            continue;
        };
        match read {
            Ok(FileSource::Xml(el)) => entry.value = LocalEntryValue::Xml(el),
            Ok(FileSource::Text(text)) => entry.value = LocalEntryValue::Text(text),
            Err(e) => problems.push(Diagnostic::error(
                entry.origin.clone(),
                format!(
                    "local entry '{}': cannot read src '{src}' ({}): {e}",
                    entry.key,
                    file.display()
                ),
            )),
        }
    }
    // `<publishWSDL uri="file:…">`: the WSDL read at deployment, as MI's ProxyService does.
    for proxy in &mut artifacts.proxies {
        let Some(PublishWsdl::Uri(uri)) = &proxy.publish_wsdl else {
            continue;
        };
        let Some((file, read)) = read_file_uri(home, uri) else {
            continue;
        };
        match read {
            Ok(FileSource::Xml(el)) => proxy.publish_wsdl = Some(PublishWsdl::Inline(el)),
            Ok(FileSource::Text(_)) => problems.push(Diagnostic::error(
                proxy.origin.clone(),
                format!("publishWSDL uri '{uri}' ({}) is not XML", file.display()),
            )),
            Err(e) => problems.push(Diagnostic::error(
                proxy.origin.clone(),
                format!(
                    "publishWSDL uri '{uri}': cannot read {}: {e}",
                    file.display()
                ),
            )),
        }
    }
}

/// What a `file:` URI holds: its document element when it is XML, else its text.
enum FileSource {
    Xml(crate::synapse::model::Element),
    Text(String),
}

/// Reads a `file:` URI as MI does (a relative path from the home), with the file it names. None
/// for any other scheme (mint fetches nothing at deployment).
fn read_file_uri(
    home: &Home,
    uri: &str,
) -> Option<(std::path::PathBuf, std::io::Result<FileSource>)> {
    let path = uri.trim().strip_prefix("file:")?;
    let path = path.strip_prefix("//").unwrap_or(path);
    let file = if std::path::Path::new(path).is_absolute() {
        std::path::PathBuf::from(path)
    } else {
        home.root.join(path)
    };
    let read = std::fs::read_to_string(&file).map(|text| {
        let body = text.trim_start();
        let body = match body.strip_prefix("<?xml") {
            Some(rest) => rest.split_once("?>").map_or("", |(_, r)| r).trim_start(),
            None => body,
        };
        match crate::xml::element::parse_document(body) {
            Ok(el) if body.starts_with('<') => FileSource::Xml(el),
            _ => FileSource::Text(text),
        }
    });
    Some((file, read))
}

/// Loads and compiles every artifact of a home, with `$SYSTEM:`/`$FILE:`/`${configs.*}` values
/// resolved and, given `metrics`, each proxy, API and endpoint wired to its counters.
pub fn deploy_home(home: &Home, registry: &Registry, metrics: Option<&Metrics>) -> Deployment {
    let mut loose = Artifacts::default();
    let mut problems = Vec::new();
    crate::synapse::parse::load_synapse_dir(&home.synapse_dir(), &mut loose, &mut problems);
    let file_properties = home.root.join("conf").join("file.properties");
    let resolver = match ValueResolver::load(&file_properties) {
        Ok(r) => r,
        Err(e) => {
            problems.push(Diagnostic::error(
                Origin::new(file_properties, Pos { line: 1, col: 1 }),
                e,
            ));
            ValueResolver::default()
        }
    };
    let (mut cars, mut faulty_capps) = cars::load(home, registry, &mut problems);
    read_local_sources(home, &mut loose, &mut problems);
    for car in &mut cars {
        read_local_sources(home, &mut car.artifacts, &mut car.problems);
    }
    // Compile everything; a CAR whose own files have errors is rolled back and the rest compiled
    // again without it (WSO2 deploys CARs one by one; a faulty one does not stop the others).
    loop {
        let mut artifacts = loose.clone();
        let mut all = problems.clone();
        for car in &cars {
            cars::merge(&mut artifacts, &car.artifacts);
            all.extend(car.problems.iter().cloned());
        }
        let mut config = compile_with(artifacts, registry, resolver.clone(), &mut all);
        let bad = cars
            .iter()
            .position(|car| all.iter().any(|p| p.is_error() && car.owns(p)));
        if let Some(i) = bad {
            let car = cars.remove(i);
            for p in all.iter().filter(|p| p.is_error() && car.owns(p)) {
                problems.push(Diagnostic {
                    severity: Severity::Warning,
                    message: format!("faulty CAR {} rolled back: {}", car.name, p.message),
                    ..p.clone()
                });
            }
            for u in car.undo.into_iter().rev() {
                registry.undo(u);
            }
            faulty_capps.push(car.name);
            continue;
        }
        if let Some(m) = metrics {
            config.attach_stats(m);
        }
        let failed = all.iter().any(|p| p.is_error());
        faulty_capps.sort();
        return Deployment {
            config: (!failed).then_some(config),
            problems: all,
            faulty_capps,
        };
    }
}
