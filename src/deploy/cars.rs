//! Carbon applications (`carbonapps/*.car`) deployed as WSO2 does: CARs in alphabetical order,
//! each one's registry resources written first (so its artifacts can use them), then its Synapse
//! artifacts parsed in place (never copied into `synapse-configs`); an artifact whose file name
//! already exists in `synapse-configs/default/<folder>/` is skipped, as WSO2 ignores the CAR's
//! copy. A CAR that cannot be read, or whose artifacts do not deploy, is rolled back (its
//! registry writes undone) and reported as faulty; the others and the loose artifacts deploy.

use crate::diag::Severity;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Home;
use crate::registry::{Registry, Undo};
use crate::synapse::car::{self, CarApp};
use crate::synapse::model::{Artifacts, Diagnostic, Origin, Pos};
use crate::synapse::parse::{parse_artifact_file, ArtifactDir};

/// One CAR, read and parsed.
pub(super) struct LoadedCar {
    /// The file name (what `/healthz` lists).
    pub name: String,
    /// `path!/` — the prefix of every origin inside this CAR.
    pub prefix: String,
    pub artifacts: Artifacts,
    pub problems: Vec<Diagnostic>,
    pub undo: Vec<Undo>,
}

impl LoadedCar {
    /// True when `p` is about a file of this CAR.
    pub fn owns(&self, p: &Diagnostic) -> bool {
        p.origin.file.to_string_lossy().starts_with(&self.prefix)
    }
}

/// Reads every CAR of the home. CARs that cannot be read at all are returned as faulty names,
/// with the reason appended to `problems` (as warnings: the rest still deploys).
pub(super) fn load(
    home: &Home,
    registry: &Registry,
    problems: &mut Vec<Diagnostic>,
) -> (Vec<LoadedCar>, Vec<String>) {
    let dir = home.carbonapps_dir();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(_) => return (Vec::new(), Vec::new()),
    };
    files.sort();
    let synapse_dir = home.synapse_dir();
    let (mut loaded, mut faulty) = (Vec::new(), Vec::new());
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            continue;
        }
        if !name.ends_with(".car") {
            problems.push(note(&path, "not a .car file; ignored".into()));
            continue;
        }
        let app = std::fs::read(&path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|bytes| {
                car::read_car(&bytes, &car::DEFAULT_SERVER_ROLES).map_err(|e| e.to_string())
            });
        match app {
            Ok(app) => loaded.push(deploy_one(&path, name, app, &synapse_dir, registry)),
            Err(e) => {
                problems.push(note(&path, format!("faulty CAR, not deployed: {e}")));
                faulty.push(name);
            }
        }
    }
    (loaded, faulty)
}

fn deploy_one(
    path: &Path,
    name: String,
    app: CarApp,
    synapse_dir: &Path,
    registry: &Registry,
) -> LoadedCar {
    let prefix = format!("{}!/", path.display());
    let mut car = LoadedCar {
        name,
        prefix,
        artifacts: Artifacts::default(),
        problems: Vec::new(),
        undo: Vec::new(),
    };
    for s in &app.skipped {
        car.problems.push(note(path, s.clone()));
    }
    for r in &app.resources {
        match registry.put(&r.key, &r.content, r.media_type.as_deref(), &r.properties) {
            Ok(u) => car.undo.push(u),
            Err(e) => car.problems.push(Diagnostic {
                origin: origin_in(&car.prefix, &r.entry),
                message: e,
                severity: Severity::Error,
            }),
        }
    }
    for a in &app.artifacts {
        let origin = origin_in(&car.prefix, &a.entry);
        let Some(dir) = ArtifactDir::from_car_type(&a.car_type) else {
            car.problems.push(Diagnostic {
                origin,
                message: format!("artifact type '{}' is not supported; skipped", a.car_type),
                severity: Severity::Warning,
            });
            continue;
        };
        let file_name = a.entry.rsplit('/').next().unwrap_or(&a.entry);
        if synapse_dir.join(dir.dir_name()).join(file_name).exists() {
            car.problems.push(Diagnostic {
                origin,
                message: format!(
                    "artifact {file_name} already found in synapse-configs; ignoring the CAR's copy"
                ),
                severity: Severity::Warning,
            });
            continue;
        }
        parse_artifact_file(
            &origin.file,
            &a.content,
            dir,
            &mut car.artifacts,
            &mut car.problems,
        );
    }
    car
}

fn origin_in(prefix: &str, entry: &str) -> Origin {
    Origin {
        file: Arc::new(PathBuf::from(format!("{prefix}{entry}"))),
        pos: Pos { line: 1, col: 1 },
    }
}

fn note(path: &Path, message: String) -> Diagnostic {
    Diagnostic {
        origin: Origin {
            file: Arc::new(path.to_path_buf()),
            pos: Pos { line: 1, col: 1 },
        },
        message,
        severity: Severity::Warning,
    }
}

/// Appends `more` to `into` (a CAR's artifacts to the home's).
pub(super) fn merge(into: &mut Artifacts, more: &Artifacts) {
    let more = more.clone();
    into.proxies.extend(more.proxies);
    into.apis.extend(more.apis);
    into.sequences.extend(more.sequences);
    into.endpoints.extend(more.endpoints);
    into.local_entries.extend(more.local_entries);
    into.endpoint_templates.extend(more.endpoint_templates);
    into.sequence_templates.extend(more.sequence_templates);
    into.stores.extend(more.stores);
    into.processors.extend(more.processors);
    into.tasks.extend(more.tasks);
    into.unsupported.extend(more.unsupported);
    into.orphans.extend(more.orphans);
}
