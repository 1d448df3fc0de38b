//! Builds Carbon Application (`.car`) files in memory for tests, laid out the way WSO2's tooling
//! lays them out, so that WSO2 MI itself would deploy them:
//! - `artifacts.xml` with one `<dependency>` per artifact (`serverRole="EnterpriseIntegrator"`);
//! - an explicit zip directory entry for every folder (MI's extractor only creates folders that
//!   have one, see `AppDeployerUtils.extract`);
//! - `<name>_<version>/artifact.xml` plus the Synapse file for each artifact;
//! - one `registry/resource` artifact per resource, with `registry-info.xml` and the file under
//!   `resources/`.
//!
//! Entries are deflate-compressed, like the CARs Maven and the VS Code extension produce.

#![allow(dead_code)]

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A CAR named `app` `version` holding `artifacts` — (name, CAR type such as `synapse/api`, file
/// name, content) — and registry `resources` — (Carbon registry path such as
/// `/_system/governance/custom`, file name, media type, content).
pub fn build_car(
    app: &str,
    version: &str,
    artifacts: &[(&str, &str, &str, &str)],
    resources: &[(&str, &str, &str, &[u8])],
) -> Vec<u8> {
    let mut car = CarWriter::new();
    let mut deps = Vec::new();
    for (name, car_type, file, content) in artifacts {
        let dir = format!("{name}_{version}");
        car.dir(&dir);
        car.file(
            &format!("{dir}/artifact.xml"),
            artifact_xml(name, version, car_type, file).as_bytes(),
        );
        car.file(&format!("{dir}/{file}"), content.as_bytes());
        deps.push(name.to_string());
    }
    for (path, file, media_type, content) in resources {
        let name = resource_artifact_name(path, file);
        let dir = format!("{name}_{version}");
        car.dir(&dir);
        car.dir(&format!("{dir}/resources"));
        let descriptor = artifact_xml(&name, version, "registry/resource", "registry-info.xml");
        car.file(&format!("{dir}/artifact.xml"), descriptor.as_bytes());
        car.file(
            &format!("{dir}/registry-info.xml"),
            registry_info(path, file, media_type).as_bytes(),
        );
        car.file(&format!("{dir}/resources/{file}"), content);
        deps.push(name);
    }
    car.file(
        "artifacts.xml",
        artifacts_xml(app, version, &deps).as_bytes(),
    );
    car.finish()
}

/// The root descriptor naming every artifact as a dependency of the application.
pub fn artifacts_xml(app: &str, version: &str, deps: &[String]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<artifacts>\n");
    xml.push_str(&format!(
        "    <artifact name=\"{}\" version=\"{}\" type=\"carbon/application\">\n",
        esc(app),
        esc(version)
    ));
    for dep in deps {
        xml.push_str(&format!(
            "        <dependency artifact=\"{}\" version=\"{}\" include=\"true\" serverRole=\"EnterpriseIntegrator\"/>\n",
            esc(dep),
            esc(version)
        ));
    }
    xml.push_str("    </artifact>\n</artifacts>\n");
    xml
}

/// One artifact's `artifact.xml`.
pub fn artifact_xml(name: &str, version: &str, car_type: &str, file: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<artifact name=\"{}\" version=\"{}\" type=\"{}\" serverRole=\"EnterpriseIntegrator\">\n    <file>{}</file>\n</artifact>\n",
        esc(name),
        esc(version),
        esc(car_type),
        esc(file)
    )
}

/// `registry-info.xml` with a single `<item>`.
pub fn registry_info(path: &str, file: &str, media_type: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<resources>\n    <item>\n        <file>{}</file>\n        <path>{}</path>\n        <mediaType>{}</mediaType>\n        <properties/>\n    </item>\n</resources>\n",
        esc(file),
        esc(path),
        esc(media_type)
    )
}

/// A name for a resource's registry artifact, from its path and file as the tooling does:
/// (`/_system/governance/custom`, `a.xslt`) → `governance_custom_a_xslt`.
fn resource_artifact_name(path: &str, file: &str) -> String {
    let path = path.trim_start_matches('/').trim_start_matches("_system/");
    format!("{path}/{file}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .trim_matches('_')
        .to_string()
}

/// Escapes text for XML content and double-quoted attributes.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A zip being written in memory, with deflate compression and explicit folder entries.
pub struct CarWriter {
    zip: ZipWriter<Cursor<Vec<u8>>>,
    options: SimpleFileOptions,
}

impl CarWriter {
    pub fn new() -> Self {
        CarWriter {
            zip: ZipWriter::new(Cursor::new(Vec::new())),
            options: SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
        }
    }

    /// Adds a folder entry (`name/`).
    pub fn dir(&mut self, name: &str) {
        self.zip
            .add_directory(format!("{}/", name.trim_end_matches('/')), self.options)
            .expect("add zip directory");
    }

    /// Adds a file entry.
    pub fn file(&mut self, name: &str, content: &[u8]) {
        self.zip
            .start_file(name, self.options)
            .expect("start zip entry");
        self.zip.write_all(content).expect("write zip entry");
    }

    pub fn finish(self) -> Vec<u8> {
        self.zip.finish().expect("finish zip").into_inner()
    }
}

impl Default for CarWriter {
    fn default() -> Self {
        Self::new()
    }
}
