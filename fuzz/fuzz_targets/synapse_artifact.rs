//! Synapse artifact parsing (every artifact folder) and compilation: any input gives problems
//! with positions, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mint::synapse::model::Artifacts;
use mint::synapse::parse::{parse_artifact_file, ArtifactDir};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut artifacts = Artifacts::default();
    let mut problems = Vec::new();
    for dir in ArtifactDir::ALL {
        parse_artifact_file(Path::new("fuzz.xml"), text, dir, &mut artifacts, &mut problems);
    }
    let registry = mint::registry::Registry::unopened(mint::registry::RegistryConfig {
        config_root: "/nonexistent/config".into(),
        governance_root: "/nonexistent/governance".into(),
        local_root: "/nonexistent/local".into(),
        cachable_duration: std::time::Duration::ZERO,
    });
    let _ = mint::compile::compile(artifacts, &registry, &mut problems);
    for p in &problems {
        let _ = p.to_string();
    }
});
