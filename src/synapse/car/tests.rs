//! Unit tests: CARs are built in memory with the zip writer.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::*;
use crate::xml::element::parse_document;

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/// A zip of `entries`; names ending in `/` become directory entries.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        if name.ends_with('/') {
            zip.add_directory(*name, options).unwrap();
        } else {
            zip.start_file(*name, options).unwrap();
            zip.write_all(content).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

/// `artifacts.xml` for app `app` with (name, serverRole) dependencies at version 1.0.0.
fn artifacts_xml(app: &str, deps: &[(&str, Option<&str>)]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<artifacts>\n  \
         <artifact name=\"{app}\" version=\"1.0.0\" type=\"carbon/application\">\n"
    );
    for (name, role) in deps {
        let role = role
            .map(|r| format!(" serverRole=\"{r}\""))
            .unwrap_or_default();
        xml.push_str(&format!(
            "    <dependency artifact=\"{name}\" version=\"1.0.0\" include=\"true\"{role}/>\n"
        ));
    }
    xml + "  </artifact>\n</artifacts>\n"
}

fn artifact_xml(name: &str, car_type: &str, file: &str) -> String {
    format!(
        "<artifact name=\"{name}\" version=\"1.0.0\" type=\"{car_type}\" \
         serverRole=\"EnterpriseIntegrator\">\n  <file>{file}</file>\n</artifact>\n"
    )
}

/// Entries of one artifact directory `<name>_1.0.0/` with its artifact.xml and file.
fn artifact_entries(name: &str, car_type: &str, content: &str) -> Vec<(String, Vec<u8>)> {
    let dir = format!("{name}_1.0.0");
    vec![
        (format!("{dir}/"), Vec::new()),
        (
            format!("{dir}/artifact.xml"),
            artifact_xml(name, car_type, &format!("{name}.xml")).into_bytes(),
        ),
        (format!("{dir}/{name}.xml"), content.as_bytes().to_vec()),
    ]
}

fn zip_owned(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let borrowed: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    zip(&borrowed)
}

/// A CAR of synapse artifacts (name, type), all with roles matching the defaults.
fn synapse_car(artifacts: &[(&str, &str)]) -> Vec<u8> {
    let deps: Vec<(&str, Option<&str>)> = artifacts
        .iter()
        .map(|(n, _)| (*n, Some("EnterpriseIntegrator")))
        .collect();
    let mut entries = vec![(
        "artifacts.xml".to_string(),
        artifacts_xml("App", &deps).into_bytes(),
    )];
    for (name, car_type) in artifacts {
        entries.extend(artifact_entries(
            name,
            car_type,
            &format!("<x name=\"{name}\"/>"),
        ));
    }
    zip_owned(&entries)
}

fn read(bytes: &[u8]) -> Result<CarApp, CarError> {
    read_car(bytes, &DEFAULT_SERVER_ROLES)
}

fn names(app: &CarApp) -> Vec<&str> {
    app.artifacts.iter().map(|a| a.name.as_str()).collect()
}

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

// ------------------------------------------------------------------------------------------------
// Descriptors, order and roles
// ------------------------------------------------------------------------------------------------

#[test]
fn synapse_artifacts_come_out_in_wso2_deployment_order() {
    let car = synapse_car(&[
        ("HealthcareAPI", "synapse/api"),
        ("StockProxy", "synapse/proxy-service"),
        ("LogSeq", "synapse/sequence"),
        ("QueryDoctorEP", "synapse/endpoint"),
        ("Wsdl", "synapse/local-entry"),
        ("SecondEP", "synapse/endpoint"),
        ("Inbound", "synapse/inbound-endpoint"),
        ("Tpl", "synapse/template"),
        ("Store", "synapse/message-store"),
        ("Proc", "synapse/message-processors"),
        ("Task", "synapse/task"),
    ]);
    let app = read(&car).unwrap();
    assert_eq!((app.name.as_str(), app.version.as_str()), ("App", "1.0.0"));
    assert_eq!(
        names(&app),
        [
            "Wsdl",
            "QueryDoctorEP",
            "SecondEP",
            "LogSeq",
            "Store",
            "Tpl",
            "StockProxy",
            "Task",
            "Proc",
            "HealthcareAPI",
            "Inbound"
        ]
    );
    let api = app
        .artifacts
        .iter()
        .find(|a| a.name == "HealthcareAPI")
        .unwrap();
    assert_eq!(api.car_type, "synapse/api");
    assert_eq!(api.version, "1.0.0");
    assert_eq!(api.entry, "HealthcareAPI_1.0.0/HealthcareAPI.xml");
    assert_eq!(api.content, "<x name=\"HealthcareAPI\"/>");
    assert!(app.skipped.is_empty(), "{:?}", app.skipped);
}

#[test]
fn template_type_aliases_deploy_as_templates() {
    let car = synapse_car(&[
        ("Api", "synapse/api"),
        ("SeqTpl", "synapse/sequenceTemplate"),
        ("EpTpl", "synapse/endpointTemplate"),
    ]);
    let app = read(&car).unwrap();
    assert_eq!(names(&app), ["SeqTpl", "EpTpl", "Api"]);
    assert_eq!(app.artifacts[0].car_type, "synapse/template");
    assert_eq!(
        app.skipped[0],
        "SeqTpl_1.0.0/artifact.xml: SeqTpl (synapse/sequenceTemplate) read as synapse/template; \
         MI deploys only synapse/template from a CAR"
    );
}

#[test]
fn dependencies_are_filtered_by_server_role() {
    let mut entries = vec![(
        "artifacts.xml".to_string(),
        artifacts_xml(
            "App",
            &[
                ("EsbApi", Some("EnterpriseServiceBus")),
                ("DssService", Some("DataServicesServer")),
                ("NoRole", None),
            ],
        )
        .into_bytes(),
    )];
    entries.extend(artifact_entries("EsbApi", "synapse/api", "<api/>"));
    entries.extend(artifact_entries(
        "NoRole",
        "synapse/sequence",
        "<sequence/>",
    ));
    // DssService's folder is absent: a filtered dependency is never looked up.
    let app = read_car(&zip_owned(&entries), &["EnterpriseServiceBus"]).unwrap();
    assert_eq!(names(&app), ["NoRole", "EsbApi"]);
    assert_eq!(app.skipped.len(), 1, "{:?}", app.skipped);
    assert!(
        app.skipped[0]
            .starts_with("artifacts.xml:5:5: DssService: serverRole 'DataServicesServer'"),
        "{}",
        app.skipped[0]
    );
}

#[test]
fn server_roles_are_whole_string_patterns() {
    let car = synapse_car(&[("A", "synapse/api")]); // serverRole="EnterpriseIntegrator"
    assert_eq!(names(&read_car(&car, &["Enterprise.*"]).unwrap()), ["A"]);
    assert_eq!(
        names(&read_car(&car, &[".*Integrator|Other"]).unwrap()),
        ["A"]
    );
    // A prefix is not a match: Java's String.matches anchors both ends.
    let app = read_car(&car, &["Enterprise"]).unwrap();
    assert!(app.artifacts.is_empty());
    assert!(app
        .skipped
        .iter()
        .any(|n| n.contains("no dependency for this server's roles")));
    let configured: Vec<String> = vec!["EnterpriseIntegrator".to_string()];
    assert_eq!(names(&read_car(&car, &configured).unwrap()), ["A"]);
    let err = read_car(&car, &["Enterprise("]).unwrap_err();
    assert!(
        matches!(err, CarError::ServerRole { ref role, .. } if role == "Enterprise("),
        "{err}"
    );
}

#[test]
fn metadata_xml_is_preferred_over_artifacts_xml() {
    let mut entries = vec![
        (
            "artifacts.xml".to_string(),
            artifacts_xml("Old", &[("OldApi", None)]).into_bytes(),
        ),
        (
            "metadata.xml".to_string(),
            artifacts_xml("New", &[("NewApi", None)]).into_bytes(),
        ),
    ];
    entries.extend(artifact_entries("NewApi", "synapse/api", "<api/>"));
    let app = read(&zip_owned(&entries)).unwrap();
    assert_eq!(app.name, "New");
    assert_eq!(names(&app), ["NewApi"]);
}

#[test]
fn the_first_carbon_application_artifact_is_the_app() {
    let xml = "<artifacts>\n<artifact name=\"Lib\" type=\"lib/synapse/mediator\"/>\n\
               <artifact name=\"First\" version=\"2.0\" type=\"carbon/application\"/>\n\
               <artifact name=\"Second\" type=\"carbon/application\"/>\n</artifacts>";
    let app = read(&zip(&[("artifacts.xml", xml.as_bytes())])).unwrap();
    assert_eq!((app.name.as_str(), app.version.as_str()), ("First", "2.0"));
    // No dependency at all: MI ignores such a CAR.
    assert!(app.artifacts.is_empty() && app.skipped.len() == 1);
    let none = "<artifacts><artifact name=\"X\" type=\"synapse/api\"/></artifacts>";
    let err = read(&zip(&[("artifacts.xml", none.as_bytes())])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "artifacts.xml:1:1: no <artifact type=\"carbon/application\">"
    );
}

#[test]
fn unsupported_types_are_skipped_with_a_note() {
    let car = synapse_car(&[
        ("Api", "synapse/api"),
        ("ClassMediator", "lib/synapse/mediator"),
        ("Dss", "service/dataservice"),
        ("Connector", "synapse/lib"),
        ("Events", "synapse/event-source"),
    ]);
    let app = read(&car).unwrap();
    assert_eq!(names(&app), ["Api"]);
    assert_eq!(app.skipped.len(), 4, "{:?}", app.skipped);
    assert_eq!(
        app.skipped[0],
        "ClassMediator_1.0.0/artifact.xml: ClassMediator (lib/synapse/mediator) is not supported by mint; skipped"
    );
}

#[test]
fn api_metadata_dependencies_are_dropped_with_a_note() {
    let deps = [
        ("HealthcareAPI", None),
        ("HealthcareAPI_metadata", None),
        ("HealthcareAPI_swagger", None),
    ];
    let mut entries = vec![(
        "artifacts.xml".to_string(),
        artifacts_xml("App", &deps).into_bytes(),
    )];
    entries.extend(artifact_entries("HealthcareAPI", "synapse/api", "<api/>"));
    for (name, file) in [
        (
            "HealthcareAPI_metadata",
            "HealthcareAPI_metadata-1.0.0.yaml",
        ),
        ("HealthcareAPI_swagger", "HealthcareAPI_swagger-1.0.0.yaml"),
    ] {
        let dir = format!("metadata/{name}_1.0.0");
        let descriptor = artifact_xml(name, "synapse/metadata", file);
        entries.push((format!("{dir}/artifact.xml"), descriptor.into_bytes()));
        entries.push((format!("{dir}/{file}"), b"openapi: 3.0.1".to_vec()));
    }
    let app = read(&zip_owned(&entries)).unwrap();
    assert_eq!(names(&app), ["HealthcareAPI"]);
    assert_eq!(
        app.skipped,
        [
            "metadata/HealthcareAPI_metadata_1.0.0/artifact.xml: HealthcareAPI_metadata is API metadata; not used by mint",
            "metadata/HealthcareAPI_swagger_1.0.0/artifact.xml: HealthcareAPI_swagger is API metadata; not used by mint",
        ]
    );
}

#[test]
fn dependencies_resolve_by_declared_name_not_folder_name() {
    let entries = [
        (
            "artifacts.xml",
            artifacts_xml("App", &[("Api", None)]).into_bytes(),
        ),
        (
            "odd-folder/artifact.xml",
            artifact_xml("Api", "synapse/api", "a.xml").into_bytes(),
        ),
        ("odd-folder/a.xml", b"<api/>".to_vec()),
    ];
    let entries: Vec<(String, Vec<u8>)> = entries
        .into_iter()
        .map(|(n, c)| (n.to_string(), c))
        .collect();
    let app = read(&zip_owned(&entries)).unwrap();
    assert_eq!(app.artifacts[0].entry, "odd-folder/a.xml");
}

// ------------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------------

#[test]
fn a_missing_dependency_is_an_error() {
    let mut entries = vec![(
        "artifacts.xml".to_string(),
        artifacts_xml("App", &[("Here", None), ("Gone", None)]).into_bytes(),
    )];
    entries.extend(artifact_entries("Here", "synapse/api", "<api/>"));
    let err = read(&zip_owned(&entries)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "artifacts.xml:5:5: dependency Gone 1.0.0 does not resolve: no <dir>/artifact.xml declares it"
    );
}

#[test]
fn a_missing_synapse_file_or_file_element_is_an_error() {
    let entries = [
        ("artifacts.xml", artifacts_xml("App", &[("Api", None)])),
        (
            "Api_1.0.0/artifact.xml",
            artifact_xml("Api", "synapse/api", "Api.xml"),
        ),
    ];
    let bytes = zip(&[
        (entries[0].0, entries[0].1.as_bytes()),
        (entries[1].0, entries[1].1.as_bytes()),
    ]);
    assert_eq!(
        read(&bytes).unwrap_err().to_string(),
        "Api_1.0.0/artifact.xml:2:3: 'Api_1.0.0/Api.xml' is not in the CAR"
    );

    let no_file = "<?xml version=\"1.0\"?>\n\n<artifact name=\"Api\" version=\"1.0.0\" type=\"synapse/api\">\n</artifact>";
    let artifacts = artifacts_xml("App", &[("Api", None)]);
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Api_1.0.0/artifact.xml", no_file.as_bytes()),
    ]);
    assert_eq!(
        read(&bytes).unwrap_err().to_string(),
        "Api_1.0.0/artifact.xml:3:1: missing <file>"
    );
}

#[test]
fn malformed_artifact_xml_names_the_entry_and_position() {
    let bad = "<?xml version=\"1.0\"?>\n<artifact name=\"HealthcareAPI\" version=\"1.0.0\" type=\"synapse/api\">\n    <file>HealthcareAPI.xml</fil>\n</artifact>\n";
    let artifacts = artifacts_xml("App", &[("HealthcareAPI", None)]);
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("HealthcareAPI_1.0.0/artifact.xml", bad.as_bytes()),
    ]);
    let err = read(&bytes).unwrap_err();
    let CarError::Xml {
        entry, line, col, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (entry.as_str(), *line, *col),
        ("HealthcareAPI_1.0.0/artifact.xml", 3, 28),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("HealthcareAPI_1.0.0/artifact.xml:3:28: "),
        "{err}"
    );
}

#[test]
fn malformed_root_descriptor_and_doctype_are_errors() {
    let err = read(&zip(&[("artifacts.xml", b"<artifacts>\n  <artifact")])).unwrap_err();
    assert!(err.to_string().starts_with("artifacts.xml:2:"), "{err}");
    let doctype = b"<!DOCTYPE a [<!ENTITY x \"y\">]>\n<artifacts/>";
    let err = read(&zip(&[("artifacts.xml", doctype)])).unwrap_err();
    assert_eq!(err.to_string(), "artifacts.xml:1:1: DOCTYPE is not allowed");
}

#[test]
fn zip_slip_entry_names_are_refused() {
    let artifacts = artifacts_xml("App", &[]);
    for evil in [
        "../evil.xml",
        "a/../../evil.xml",
        "/etc/passwd",
        "a\\..\\..\\evil",
        "C:\\evil.xml",
    ] {
        let bytes = zip(&[("artifacts.xml", artifacts.as_bytes()), (evil, b"x")]);
        let err = read(&bytes).unwrap_err();
        assert!(
            matches!(&err, CarError::Entry { entry, message } if entry == evil && message.contains("unsafe entry name")),
            "{evil}: {err:?}"
        );
    }
}

#[test]
fn unsafe_file_references_in_descriptors_are_refused() {
    let artifacts = artifacts_xml("App", &[("Api", None)]);
    let descriptor = artifact_xml("Api", "synapse/api", "../other/Api.xml");
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Api_1.0.0/artifact.xml", descriptor.as_bytes()),
    ]);
    let err = read(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Api_1.0.0/artifact.xml:2:3: unsafe or empty file name '../other/Api.xml'"
    );
}

#[test]
fn duplicate_artifacts_are_errors() {
    let artifacts = artifacts_xml("App", &[("Api", None), ("Api", None)]);
    let descriptor = artifact_xml("Api", "synapse/api", "Api.xml");
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Api_1.0.0/artifact.xml", descriptor.as_bytes()),
        ("Api_1.0.0/Api.xml", b"<api/>"),
    ]);
    assert_eq!(
        read(&bytes).unwrap_err().to_string(),
        "artifacts.xml:5:5: artifact 'Api' is listed twice"
    );

    let artifacts = artifacts_xml("App", &[("Api", None)]);
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Api_1.0.0/artifact.xml", descriptor.as_bytes()),
        ("Copy_1.0.0/artifact.xml", descriptor.as_bytes()),
    ]);
    assert_eq!(
        read(&bytes).unwrap_err().to_string(),
        "Copy_1.0.0/artifact.xml:1:1: artifact 'Api' is also declared by Api_1.0.0/artifact.xml"
    );
}

#[test]
fn limits_turn_zip_bombs_into_errors() {
    let zeros = vec![0u8; 4 << 20]; // deflates to a few KiB
    let artifacts = artifacts_xml("App", &[("Api", None)]);
    let descriptor = artifact_xml("Api", "synapse/api", "Api.xml");
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Api_1.0.0/artifact.xml", descriptor.as_bytes()),
        ("Api_1.0.0/Api.xml", &zeros),
    ]);
    assert!(bytes.len() < 64 << 10);
    let small = Limits {
        max_uncompressed_bytes: 1 << 20,
        ..Limits::default()
    };
    let err = read_car_with_limits(&bytes, &DEFAULT_SERVER_ROLES, &small).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Api_1.0.0/Api.xml: uncompressed contents exceed the limit of 1048576 bytes for one CAR"
    );

    let few = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let err = read_car_with_limits(&bytes, &DEFAULT_SERVER_ROLES, &few).unwrap_err();
    assert_eq!(err.to_string(), "3 zip entries, more than the 2 allowed");
}

#[test]
fn oversized_descriptors_and_repeated_reads_are_refused() {
    let mut huge = vec![b' '; 17 << 20];
    huge.extend_from_slice(b"<artifacts/>");
    let err = read(&zip(&[("artifacts.xml", &huge)])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "artifacts.xml: larger than 16777216 bytes, too large for a descriptor"
    );

    // 60 items naming the same empty file: no bytes, but more reads than 4 per entry.
    let items = "<item><file>e.txt</file><path>/x</path></item>".repeat(60);
    let info = format!("<resources>{items}</resources>");
    let artifacts = artifacts_xml("App", &[("Res", None)]);
    let res = artifact_xml("Res", "registry/resource", "registry-info.xml");
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Res_1.0.0/artifact.xml", res.as_bytes()),
        ("Res_1.0.0/registry-info.xml", info.as_bytes()),
        ("Res_1.0.0/resources/e.txt", b""),
    ]);
    let few = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let err = read_car_with_limits(&bytes, &DEFAULT_SERVER_ROLES, &few).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Res_1.0.0/resources/e.txt: descriptors name entries too many times; the CAR is refused"
    );
    assert_eq!(read(&bytes).unwrap().resources.len(), 60);
}

#[test]
fn notes_are_capped() {
    let deps: Vec<String> = (0..1200).map(|i| format!("D{i}")).collect();
    let deps: Vec<(&str, Option<&str>)> =
        deps.iter().map(|d| (d.as_str(), Some("Other"))).collect();
    let bytes = zip(&[("artifacts.xml", artifacts_xml("App", &deps).as_bytes())]);
    let app = read(&bytes).unwrap();
    assert_eq!(app.skipped.len(), MAX_NOTES + 1);
    assert_eq!(
        app.skipped[MAX_NOTES],
        "more than 1000 notes; the rest are omitted"
    );
}

#[test]
fn garbage_and_truncated_archives_are_errors_not_panics() {
    assert!(matches!(read(b"not a zip"), Err(CarError::Archive(_))));
    assert!(matches!(read(&[]), Err(CarError::Archive(_))));
    let car = synapse_car(&[("Api", "synapse/api"), ("Ep", "synapse/endpoint")]);
    for cut in (0..car.len()).step_by(13) {
        assert!(read(&car[..cut]).is_err(), "cut at {cut}");
    }
    for i in (0..car.len()).step_by(7) {
        let mut flipped = car.clone();
        flipped[i] ^= 0xa5;
        let _ = read(&flipped); // any result but a panic
    }
    let no_descriptor = zip(&[("readme.txt", b"hi")]);
    assert_eq!(
        read(&no_descriptor).unwrap_err().to_string(),
        "neither metadata.xml nor artifacts.xml at the root of the CAR"
    );
}

#[test]
fn meta_inf_is_ignored_and_nested_cars_are_noted() {
    let mut entries = vec![
        ("META-INF/".to_string(), Vec::new()),
        (
            "META-INF/MANIFEST.MF".to_string(),
            b"Manifest-Version: 1.0\n".to_vec(),
        ),
        ("dependencies/".to_string(), Vec::new()),
        ("dependencies/Lib_1.0.0.car".to_string(), b"PK".to_vec()),
        (
            "artifacts.xml".to_string(),
            artifacts_xml("App", &[("Api", None)]).into_bytes(),
        ),
    ];
    entries.extend(artifact_entries("Api", "synapse/api", "<api/>"));
    let app = read(&zip_owned(&entries)).unwrap();
    assert_eq!(names(&app), ["Api"]);
    assert_eq!(
        app.skipped,
        ["dependencies/Lib_1.0.0.car: nested CAR (fat CAR) is not deployed by mint"]
    );
}

// ------------------------------------------------------------------------------------------------
// Registry resources and config
// ------------------------------------------------------------------------------------------------

const REGISTRY_INFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<resources>
  <item>
    <file>transform.xslt</file>
    <path>/_system/governance/custom</path>
    <mediaType>application/xslt+xml</mediaType>
    <properties><property key="owner" value="team-a"/><property key="v" value="2"/></properties>
  </item>
  <item><file>conf.json</file><path>/_system/config/</path><mediaType>application/json</mediaType></item>
  <item><file>l.txt</file><path>/_system/local/x</path></item>
  <item><file>other.xml</file><path>/custom/other</path></item>
  <item><file>kept.xml</file><path>gov:/already</path></item>
  <item><file>missing.xml</file><path>/_system/config</path></item>
  <collection>
    <directory>schemas</directory>
    <path>/_system/config/schemas</path>
    <properties><property key="c" value="1"/></properties>
  </collection>
  <dump><file>d.dump</file><path>/_system/config</path></dump>
</resources>
"#;

fn registry_car() -> Vec<u8> {
    let artifacts = artifacts_xml("App", &[("Api", None), ("Res", None)]);
    let res = artifact_xml("Res", "registry/resource", "registry-info.xml");
    let api = artifact_xml("Api", "synapse/api", "Api.xml");
    let meta = b"<resource><mediaType>application/xsd</mediaType></resource>";
    let sibling_meta = b"<resource>\n<mediaType> application/json </mediaType></resource>";
    zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Api_1.0.0/", b""),
        ("Api_1.0.0/artifact.xml", api.as_bytes()),
        ("Api_1.0.0/Api.xml", b"<api/>"),
        ("Res_1.0.0/", b""),
        ("Res_1.0.0/artifact.xml", res.as_bytes()),
        ("Res_1.0.0/registry-info.xml", REGISTRY_INFO.as_bytes()),
        ("Res_1.0.0/resources/", b""),
        ("Res_1.0.0/resources/transform.xslt", b"<xsl:stylesheet/>"),
        ("Res_1.0.0/resources/conf.json", b"{}"),
        ("Res_1.0.0/resources/l.txt", b"local"),
        ("Res_1.0.0/resources/other.xml", b"<o/>"),
        ("Res_1.0.0/resources/kept.xml", b"<k/>"),
        ("Res_1.0.0/resources/.meta/~a.xsd.xml", meta),
        ("Res_1.0.0/resources/schemas/", b""),
        ("Res_1.0.0/resources/schemas/a.xsd", b"<xs:schema/>"),
        ("Res_1.0.0/resources/schemas/sub/b.json", b"[1]"),
        (
            "Res_1.0.0/resources/schemas/sub/.meta/~b.json.xml",
            sibling_meta,
        ),
        ("Res_1.0.0/resources/schemas/plain.txt", b"plain"),
    ])
}

#[test]
fn registry_items_and_collections_become_keyed_resources() {
    let app = read(&registry_car()).unwrap();
    assert_eq!(names(&app), ["Api"]);
    let keys: Vec<(&str, Option<&str>)> = app
        .resources
        .iter()
        .map(|r| (r.key.as_str(), r.media_type.as_deref()))
        .collect();
    assert_eq!(
        keys,
        [
            ("gov:custom/transform.xslt", Some("application/xslt+xml")),
            ("conf:conf.json", Some("application/json")),
            ("local:x/l.txt", None),
            ("gov:custom/other/other.xml", None),
            ("gov:already/kept.xml", None),
            ("conf:schemas/a.xsd", Some("application/xsd")),
            ("conf:schemas/plain.txt", None),
            ("conf:schemas/sub/b.json", Some("application/json")),
        ]
    );
    let xslt = &app.resources[0];
    assert_eq!(xslt.content, b"<xsl:stylesheet/>");
    assert_eq!(xslt.entry, "Res_1.0.0/resources/transform.xslt");
    let props = [("owner", "team-a"), ("v", "2")].map(|(k, v)| (k.to_string(), v.to_string()));
    assert_eq!(xslt.properties, props);
    assert_eq!(app.resources[7].content, b"[1]");
    assert_eq!(
        app.collections,
        [CarCollection {
            key: "conf:schemas".to_string(),
            properties: vec![("c".to_string(), "1".to_string())],
            entry: "Res_1.0.0/resources/schemas/".to_string(),
        }]
    );
    assert_eq!(app.skipped.len(), 2, "{:?}", app.skipped);
    assert!(
        app.skipped[0].starts_with("Res_1.0.0/registry-info.xml:13:3: registry item 'missing.xml'")
    );
    assert!(app.skipped[1].starts_with("Res_1.0.0/registry-info.xml:19:3: <dump> skipped"));
}

#[test]
fn registry_paths_map_to_keys_like_create_registry_path() {
    let cases = [
        ("/_system/governance/custom", "a.xslt", "gov:custom/a.xslt"),
        ("/_system/governance", "a.xslt", "gov:a.xslt"),
        ("/_system/governance/", "a.xslt", "gov:a.xslt"),
        ("/_system/config/x/y", "a", "conf:x/y/a"),
        ("/_system/local", "a", "local:a"),
        ("/custom", "a", "gov:custom/a"),
        ("/_system/governanceX", "a", "gov:_system/governanceX/a"),
        ("conf:/keep", "a", "conf:keep/a"),
        ("gov:", "a", "gov:a"),
        ("resources:json", "a.json", "resources:json/a.json"),
        ("", "a", "gov:a"),
    ];
    for (path, file, key) in cases {
        assert_eq!(registry_key(path, file), key, "{path} + {file}");
    }
}

#[test]
fn items_inline_in_artifact_xml_are_read() {
    let artifacts = artifacts_xml("App", &[("Res", None)]);
    let res = r#"<artifact name="Res" version="1.0.0" type="registry/resource">
  <item><file>t.xslt</file><path>/_system/governance/x</path><mediaType>application/xslt+xml</mediaType></item>
</artifact>"#;
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Res_1.0.0/artifact.xml", res.as_bytes()),
        ("Res_1.0.0/resources/t.xslt", b"<t/>"),
    ]);
    let app = read(&bytes).unwrap();
    assert_eq!(app.resources.len(), 1);
    assert_eq!(app.resources[0].key, "gov:x/t.xslt");
    assert_eq!(app.resources[0].content, b"<t/>");
}

#[test]
fn registry_descriptor_errors_point_into_registry_info() {
    let artifacts = artifacts_xml("App", &[("Res", None)]);
    let res = artifact_xml("Res", "registry/resource", "registry-info.xml");
    let info = "<resources>\n  <item><file>a.xml</file></item>\n</resources>";
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Res_1.0.0/artifact.xml", res.as_bytes()),
        ("Res_1.0.0/registry-info.xml", info.as_bytes()),
    ]);
    assert_eq!(
        read(&bytes).unwrap_err().to_string(),
        "Res_1.0.0/registry-info.xml:2:3: <item> without <path>"
    );
}

#[test]
fn config_property_artifacts_declare_keys() {
    let artifacts = artifacts_xml("App", &[("Conf", None)]);
    let conf = artifact_xml("Conf", "config/property", "config.properties");
    let props = "# comment\n! also a comment \\\nbackend.url=string\nport:integer\n\
                 cert.path cert\nmulti=a,\\\n   not.a.key=x\nesc\\=aped=y\n\nbackend.url=again\n";
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Conf_1.0.0/artifact.xml", conf.as_bytes()),
        ("Conf_1.0.0/config.properties", props.as_bytes()),
    ]);
    let app = read(&bytes).unwrap();
    assert_eq!(
        app.config_keys,
        ["backend.url", "port", "cert.path", "multi", "esc=aped"]
    );
}

// ------------------------------------------------------------------------------------------------
// WSO2's performance-test CAR, rebuilt from shared/bench/wso2-perf/synapse
// ------------------------------------------------------------------------------------------------

/// Dependencies of the published CAR whose files are not in the folder (the data mapper config
/// and its two JSON schemas); the CAR is rebuilt without them.
const PERF_ABSENT: [&str; 3] = [
    "DMPerfTest",
    "DMPerfTest_inputSchema",
    "DMPerfTest_outputSchema",
];

/// The registry resources: the keys the proxies use (`conf:XSLT_Datatransform.xslt`,
/// `gov:datamapper/DMPerfTest_xsltStyleSheet.xml`).
const PERF_RESOURCES: [(&str, &str, &str); 2] = [
    (
        "XSLT_Datatransform",
        "XSLT_Datatransform.xslt",
        "/_system/config",
    ),
    (
        "DMPerfTest_xsltStyleSheet",
        "DMPerfTest_xsltStyleSheet.xml",
        "/_system/governance/datamapper",
    ),
];

/// Builds the perf CAR from the folder; `keep` filters `artifacts.xml` dependency lines.
fn perf_car(keep: impl Fn(&str) -> bool) -> Vec<u8> {
    let dir = shared_dir().join("bench/wso2-perf/synapse");
    let descriptor = std::fs::read_to_string(dir.join("artifacts.xml")).unwrap();
    let root = parse_document(&descriptor).unwrap();
    let deps: Vec<String> = root
        .elements()
        .next()
        .unwrap()
        .children_local("dependency")
        .map(|d| d.attr_local("artifact").unwrap().to_string())
        .collect();
    assert_eq!(deps.len(), 33);
    let artifacts_xml: String = descriptor
        .lines()
        .filter(|line| keep(line))
        .map(|line| format!("{line}\n"))
        .collect();
    let mut entries = vec![("artifacts.xml".to_string(), artifacts_xml.into_bytes())];
    for name in deps.iter().filter(|n| !PERF_ABSENT.contains(&n.as_str())) {
        entries.push((format!("{name}_1.0.0/"), Vec::new()));
        if let Some((_, file, path)) = PERF_RESOURCES.iter().find(|(n, ..)| n == name) {
            let content = std::fs::read(dir.join(file)).unwrap();
            let info = format!(
                "<resources><item><file>{file}</file><path>{path}</path>\
                 <mediaType>application/xslt+xml</mediaType></item></resources>"
            );
            let descriptor = artifact_xml(name, "registry/resource", "registry-info.xml");
            entries.push((
                format!("{name}_1.0.0/artifact.xml"),
                descriptor.into_bytes(),
            ));
            entries.push((format!("{name}_1.0.0/registry-info.xml"), info.into_bytes()));
            entries.push((format!("{name}_1.0.0/resources/{file}"), content));
            continue;
        }
        let file = format!("{name}-1.0.0.xml");
        let content = std::fs::read_to_string(dir.join(&file)).unwrap();
        let car_type = match parse_document(&content).unwrap().local.as_str() {
            "proxy" => "synapse/proxy-service",
            "api" => "synapse/api",
            "endpoint" => "synapse/endpoint",
            "localEntry" => "synapse/local-entry",
            other => panic!("{file}: unexpected root <{other}>"),
        };
        let descriptor = artifact_xml(name, car_type, &file);
        entries.push((
            format!("{name}_1.0.0/artifact.xml"),
            descriptor.into_bytes(),
        ));
        entries.push((format!("{name}_1.0.0/{file}"), content.into_bytes()));
    }
    zip_owned(&entries)
}

#[test]
fn wso2_perf_car_reads_in_deployment_order() {
    let car = perf_car(|line| {
        !PERF_ABSENT
            .iter()
            .any(|n| line.contains(&format!("\"{n}\"")))
    });
    let app = read(&car).unwrap();
    assert_eq!(app.name, "ESBPerformanceTestArtifacts");
    assert!(app.skipped.is_empty(), "{:?}", app.skipped);
    assert_eq!(app.artifacts.len(), 28);
    let count = |t: &str| app.artifacts.iter().filter(|a| a.car_type == t).count();
    assert_eq!(
        [
            "synapse/local-entry",
            "synapse/endpoint",
            "synapse/proxy-service",
            "synapse/api"
        ]
        .map(count),
        [6, 1, 19, 2]
    );
    // Local entries first, in CAR order; then the endpoint; APIs last.
    assert_eq!(
        names(&app)[..7],
        [
            "xslt_transform",
            "xslt_transform_reverse",
            "proxy_wsdl",
            "security_policy",
            "fastxslt_transform",
            "fastxslt_transform_reverse",
            "RealService"
        ]
    );
    assert_eq!(names(&app)[7], "CBRProxy");
    assert_eq!(names(&app)[26..], ["DirectAPI", "EchoApi"]);
    let real = &app.artifacts[6];
    assert_eq!(real.entry, "RealService_1.0.0/RealService-1.0.0.xml");
    assert!(real
        .content
        .contains("http://netty:8688/service/EchoService"));
    let keys: Vec<&str> = app.resources.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "conf:XSLT_Datatransform.xslt",
            "gov:datamapper/DMPerfTest_xsltStyleSheet.xml"
        ]
    );
}

#[test]
fn wso2_perf_car_with_all_33_dependencies_fails_on_the_absent_data_mapper_files() {
    let err = read(&perf_car(|_| true)).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("artifacts.xml:30:9: dependency DMPerfTest 1.0.0 does not resolve"),
        "{message}"
    );
}

// ------------------------------------------------------------------------------------------------
// Descriptor XML
// ------------------------------------------------------------------------------------------------

#[test]
fn descriptor_xml_resolves_entities_reads_local_names_and_counts_characters() {
    let text = "\u{feff}<?xml version=\"1.0\"?>\r\n<c:artifact xmlns:c=\"urn:x\" c:name=\"a&amp;b\">\r\n  \
                <file>x&lt;&#65;<![CDATA[&]]>.xml</file>\n  <é/><dependency/>\n</c:artifact>";
    let root = parse_document(text).unwrap();
    assert_eq!(
        (root.local.as_str(), root.pos.line, root.pos.col),
        ("artifact", 2, 1)
    );
    assert_eq!(root.attr_local("name"), Some("a&b"));
    assert_eq!(
        root.attr_local("c"),
        None,
        "xmlns declarations are not attributes"
    );
    assert_eq!(child_text(&root, "file").as_deref(), Some("x<A&.xml"));
    let dep = root.child_local("dependency").unwrap();
    assert_eq!(
        (dep.pos.line, dep.pos.col),
        (4, 7),
        "columns count characters, not bytes"
    );
    let (pos, message) = parse_document("<a>\n  <b>&nbsp;</b></a>").unwrap_err();
    assert_eq!((pos.line, pos.col), (2, 6));
    assert!(message.contains("nbsp"), "{message}");
    assert!(parse_document("<a/><b/>").is_err());
    assert!(parse_document(&"<a>".repeat(100)).is_err());
}

#[test]
fn prefixed_descriptors_are_read_by_local_name() {
    let artifacts = "<c:artifacts xmlns:c=\"urn:c\">\n  \
        <c:artifact c:name=\"App\" version=\"1.0.0\" type=\"carbon/application\">\n    \
        <c:dependency artifact=\"Api\" version=\"1.0.0\"/>\n  </c:artifact>\n</c:artifacts>";
    let descriptor =
        "<artifact xmlns=\"urn:d\" name=\"Api\" version=\"1.0.0\" type=\"synapse/api\">\
        <file>Api.xml</file></artifact>";
    let bytes = zip(&[
        ("artifacts.xml", artifacts.as_bytes()),
        ("Api_1.0.0/artifact.xml", descriptor.as_bytes()),
        ("Api_1.0.0/Api.xml", b"<api/>"),
    ]);
    let app = read(&bytes).unwrap();
    assert_eq!((app.name.as_str(), names(&app)), ("App", vec!["Api"]));
}

#[test]
fn an_undeclared_prefix_in_a_descriptor_is_an_error() {
    // WSO2 reads descriptors with a namespace-aware parser, which refuses an unbound prefix.
    let artifacts =
        "<artifacts>\n  <c:artifact name=\"App\" type=\"carbon/application\"/>\n</artifacts>";
    let err = read(&zip(&[("artifacts.xml", artifacts.as_bytes())])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "artifacts.xml:2:3: namespace prefix 'c' of <c:artifact> is not declared"
    );
}
