use super::*;

fn reg_at(dir: &Path) -> Registry {
    let cfg = RegistryConfig {
        config_root: dir.join("config"),
        governance_root: dir.join("governance"),
        local_root: dir.join("local"),
        cachable_duration: std::time::Duration::from_millis(300),
    };
    Registry::open(cfg).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mint-reg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn prefixes_map_to_roots() {
    let d = tmp("prefix");
    let r = reg_at(&d);
    assert_eq!(
        r.resolve("conf:/sequence/a.xml").unwrap(),
        d.join("config/sequence/a.xml")
    );
    assert_eq!(r.resolve("gov:a.xml").unwrap(), d.join("governance/a.xml"));
    assert_eq!(r.resolve("local:/x").unwrap(), d.join("local/x"));
    assert_eq!(r.resolve("/x/y").unwrap(), d.join("governance/x/y"));
    assert_eq!(
        r.resolve("resources:json/a.json").unwrap(),
        d.join("governance/mi-resources/json/a.json")
    );
}

#[test]
fn escaping_keys_are_refused() {
    let d = tmp("escape");
    let r = reg_at(&d);
    for k in [
        "conf:/../../etc/passwd",
        "conf://etc/passwd",
        "gov:a/../../b",
        "conf:",
        "local:./x",
    ] {
        let e = r.resolve(k).unwrap_err();
        assert!(e.contains("outside the registry"), "{k}: {e}");
    }
    // A symlink out of the root is refused too.
    std::os::unix::fs::symlink("/etc", d.join("config/etc")).unwrap();
    assert!(r.resolve("conf:/etc/passwd").is_err());
}

#[test]
fn reads_content_metadata_and_properties() {
    let d = tmp("read");
    let r = reg_at(&d);
    std::fs::create_dir_all(d.join("governance/json/.metadata")).unwrap();
    std::fs::write(d.join("governance/json/a.json"), "{\"a\":1}").unwrap();
    std::fs::write(
        d.join("governance/json/.metadata/a.json.meta"),
        "mediaType=application/json\n",
    )
    .unwrap();
    std::fs::write(d.join("governance/json/a.json.properties"), "owner=ops\n").unwrap();
    let res = r.read("gov:/json/a.json").unwrap().unwrap();
    assert_eq!(res.text(), "{\"a\":1}");
    assert_eq!(res.media_type.as_deref(), Some("application/json"));
    assert_eq!(res.property("owner"), Some("ops"));
    assert!(r.read("gov:/json/missing.json").unwrap().is_none());
}

#[test]
fn writes_content_and_properties_as_mi_does() {
    let d = tmp("write");
    let r = reg_at(&d);
    let g0 = r.generation();
    r.write("conf:/custom/value", "hello").unwrap();
    assert_eq!(
        std::fs::read_to_string(d.join("config/custom/value")).unwrap(),
        "hello"
    );
    assert!(r.generation() > g0);
    r.write("conf:/custom/value@colour", "blue").unwrap();
    let res = r.read("conf:/custom/value").unwrap().unwrap();
    assert_eq!(res.text(), "");
    assert_eq!(res.property("colour"), Some("blue"));
    assert_eq!(res.media_type.as_deref(), Some("text/plain"));
}
