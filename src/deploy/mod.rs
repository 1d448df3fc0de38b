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
