//! The container image and Kubernetes packaging agree with mint's contracts and with each other:
//! the Dockerfile (stages, non-root user, exposed ports, entrypoint), and every document of
//! `deploy/kubernetes/*.yaml` (probes on the internal API, container and Service ports, selectors,
//! the HPA target, the artifact ConfigMap mount, the shutdown budget, the security context). Ports
//! are derived from the offset in `conf/deployment.toml` (8280/8243/9191 + offset), as mint derives
//! them. No cluster and no container engine is needed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// The repository root.
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The ports mint listens on for a given offset (DESIGN.md §1, "Ports").
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ports {
    http: i64,
    https: i64,
    internal: i64,
}

impl Ports {
    fn for_offset(offset: i64) -> Ports {
        Ports {
            http: 8280 + offset,
            https: 8243 + offset,
            internal: 9191 + offset,
        }
    }
}

/// `[server] offset` of a deployment.toml text (10 when absent, as in mint).
fn offset_of(toml_text: &str, what: &str) -> i64 {
    let table: toml::Table = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{what}: {e}"));
    match table.get("server").and_then(|s| s.get("offset")) {
        Some(v) => v
            .as_integer()
            .unwrap_or_else(|| panic!("{what}: [server] offset is not an integer")),
        None => 10,
    }
}

/// The ports of the repository's default configuration.
fn default_ports() -> Ports {
    let path = repo().join("conf/deployment.toml");
    Ports::for_offset(offset_of(&read(&path), "conf/deployment.toml"))
}

// ---- Dockerfile ---------------------------------------------------------------------------------

/// One Dockerfile instruction: keyword (upper case) and its arguments, continuation lines joined.
struct Instruction {
    keyword: String,
    args: String,
}

fn dockerfile() -> Vec<Instruction> {
    let text = read(&repo().join("Dockerfile"));
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        // Comments (and parser directives) are dropped, also inside a continued instruction.
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                let (keyword, args) = current
                    .split_once(char::is_whitespace)
                    .unwrap_or((&current, ""));
                out.push(Instruction {
                    keyword: keyword.to_ascii_uppercase(),
                    args: args.trim().to_string(),
                });
                current.clear();
            }
        }
    }
    assert!(
        current.is_empty(),
        "Dockerfile ends inside a continued line"
    );
    out
}

/// The words of an exec-form (`["a", "b"]`) or shell-form instruction argument.
fn command_words(args: &str) -> Vec<String> {
    if args.starts_with('[') {
        let parsed: Vec<String> = serde_json::from_str(args)
            .unwrap_or_else(|e| panic!("exec form {args} is not a JSON string array: {e}"));
        parsed
    } else {
        args.split_whitespace().map(str::to_string).collect()
    }
}

/// Instructions of the final stage (after the last FROM).
fn final_stage(all: &[Instruction]) -> &[Instruction] {
    let last_from = all
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .expect("Dockerfile has no FROM");
    &all[last_from + 1..]
}

fn image_uid(stage: &[Instruction]) -> String {
    let user = stage
        .iter()
        .rfind(|i| i.keyword == "USER")
        .expect("the final stage sets no USER: the image would run as root");
    user.args.split(':').next().unwrap_or_default().to_string()
}

/// The last value an `ENV` instruction of the stage gives `name` (`ENV K=V K2=V2` or `ENV K V`).
fn image_env(stage: &[Instruction], name: &str) -> Option<String> {
    let mut value = None;
    for i in stage.iter().filter(|i| i.keyword == "ENV") {
        let first = i.args.split_whitespace().next().unwrap_or_default();
        if first.contains('=') {
            for pair in i.args.split_whitespace() {
                if let Some((k, v)) = pair.split_once('=') {
                    if k == name {
                        value = Some(v.trim_matches('"').to_string());
                    }
                }
            }
        } else if first == name {
            value = Some(i.args[first.len()..].trim().trim_matches('"').to_string());
        }
    }
    value
}

#[test]
fn dockerfile_builds_in_stages_and_runs_mint_serve_as_non_root() {
    let all = dockerfile();
    let froms = all.iter().filter(|i| i.keyword == "FROM").count();
    assert!(
        froms >= 2,
        "expected a build stage and a runtime stage, found {froms} FROM"
    );

    let stage = final_stage(&all);
    let uid = image_uid(stage);
    assert!(
        !uid.is_empty() && uid != "root" && uid != "0",
        "USER {uid} is root"
    );

    let ports = default_ports();
    let exposed: Vec<i64> = stage
        .iter()
        .filter(|i| i.keyword == "EXPOSE")
        .flat_map(|i| i.args.split_whitespace())
        .map(|p| {
            let number = p.split('/').next().unwrap_or(p);
            number.parse().unwrap_or_else(|_| panic!("EXPOSE {p}"))
        })
        .collect();
    for port in [ports.http, ports.https, ports.internal] {
        assert!(
            exposed.contains(&port),
            "EXPOSE {exposed:?} lacks {port} ({ports:?})"
        );
    }

    let entrypoint = stage.iter().rfind(|i| i.keyword == "ENTRYPOINT");
    let cmd = stage.iter().rfind(|i| i.keyword == "CMD");
    let mut words: Vec<String> = entrypoint
        .map(|i| command_words(&i.args))
        .unwrap_or_default();
    words.extend(cmd.map(|i| command_words(&i.args)).unwrap_or_default());
    let program = words.first().expect("no ENTRYPOINT or CMD");
    assert_eq!(
        Path::new(program).file_name().and_then(|f| f.to_str()),
        Some("mint"),
        "the container runs {words:?}, not mint"
    );
    assert_eq!(words.get(1).map(String::as_str), Some("serve"), "{words:?}");

    let home = image_env(stage, "MINT_HOME").expect("the final stage sets no MINT_HOME");
    assert!(home.starts_with('/'), "MINT_HOME={home} is not absolute");
}

// ---- Kubernetes manifests -----------------------------------------------------------------------

/// Every document of every `deploy/kubernetes/*.yaml` file, with the file it came from.
fn manifests() -> Vec<(PathBuf, Yaml)> {
    let dir = repo().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    let mut docs = Vec::new();
    for file in files {
        let parsed = YamlLoader::load_from_str(&read(&file))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for doc in parsed.into_iter().filter(|d| !d.is_null()) {
            for key in ["apiVersion", "kind"] {
                assert!(
                    doc[key].as_str().is_some(),
                    "{}: a document has no {key}",
                    file.display()
                );
            }
            assert!(
                doc["metadata"]["name"].as_str().is_some(),
                "{}: a {} has no metadata.name",
                file.display(),
                kind(&doc)
            );
            docs.push((file.clone(), doc));
        }
    }
    docs
}

fn kind(doc: &Yaml) -> &str {
    doc["kind"].as_str().unwrap_or("?")
}

fn name(doc: &Yaml) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or("?")
}

fn the_one<'a>(docs: &'a [(PathBuf, Yaml)], wanted: &str) -> &'a Yaml {
    let found: Vec<&Yaml> = docs
        .iter()
        .map(|(_, d)| d)
        .filter(|d| kind(d) == wanted)
        .collect();
    assert_eq!(found.len(), 1, "expected exactly one {wanted}");
    found[0]
}

fn items(y: &Yaml) -> &[Yaml] {
    y.as_vec().map(Vec::as_slice).unwrap_or(&[])
}

fn string_map(y: &Yaml) -> BTreeMap<String, String> {
    y.as_hash()
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The mint container of the Deployment's pod template.
fn mint_container(deployment: &Yaml) -> &Yaml {
    let containers = items(&deployment["spec"]["template"]["spec"]["containers"]);
    containers
        .iter()
        .find(|c| c["name"].as_str() == Some("mint"))
        .or(containers.first())
        .expect("the Deployment has no container")
}

/// Container port names and numbers.
fn container_ports(container: &Yaml) -> Vec<(Option<String>, i64)> {
    items(&container["ports"])
        .iter()
        .map(|p| {
            let number = p["containerPort"]
                .as_i64()
                .expect("containerPort is a number");
            (p["name"].as_str().map(str::to_string), number)
        })
        .collect()
}

/// A port given as a number, a numeric string or a container port name.
fn resolve_port(port: &Yaml, ports: &[(Option<String>, i64)]) -> Option<i64> {
    if let Some(n) = port.as_i64() {
        return Some(n);
    }
    let s = port.as_str()?;
    s.parse().ok().or_else(|| {
        ports
            .iter()
            .find(|(name, _)| name.as_deref() == Some(s))
            .map(|(_, n)| *n)
    })
}

fn image_home() -> String {
    image_env(final_stage(&dockerfile()), "MINT_HOME").expect("the image sets MINT_HOME")
}

#[test]
fn every_manifest_is_named_for_mint() {
    for (file, doc) in manifests() {
        assert_eq!(
            doc["metadata"]["labels"]["app"].as_str(),
            Some("mint"),
            "{}: {} {} lacks the label app: mint",
            file.display(),
            kind(&doc),
            name(&doc)
        );
    }
}

#[test]
fn deployment_serves_the_default_ports_and_probes_the_internal_api() {
    let docs = manifests();
    let deployment = the_one(&docs, "Deployment");
    let container = mint_container(deployment);
    let ports = container_ports(container);
    let numbers: Vec<i64> = ports.iter().map(|(_, n)| *n).collect();
    let expected = default_ports();
    for port in [expected.http, expected.https, expected.internal] {
        assert!(
            numbers.contains(&port),
            "container ports {numbers:?} lack {port}"
        );
    }

    for (probe, path) in [
        ("livenessProbe", "/liveness"),
        ("readinessProbe", "/healthz"),
        ("startupProbe", "/liveness"),
    ] {
        let get = &container[probe]["httpGet"];
        if probe == "startupProbe" && container[probe].is_badvalue() {
            continue; // optional
        }
        assert!(!get.is_badvalue(), "{probe} is not an httpGet probe");
        assert_eq!(get["path"].as_str(), Some(path), "{probe} path");
        assert_eq!(
            resolve_port(&get["port"], &ports),
            Some(expected.internal),
            "{probe} does not probe the internal API port"
        );
    }

    let selector = string_map(&deployment["spec"]["selector"]["matchLabels"]);
    let labels = string_map(&deployment["spec"]["template"]["metadata"]["labels"]);
    assert!(!selector.is_empty(), "the Deployment selects nothing");
    for (k, v) in &selector {
        assert_eq!(
            labels.get(k),
            Some(v),
            "pod template lacks selector label {k}={v}"
        );
    }
}

#[test]
fn service_selects_the_pods_and_targets_their_ports() {
    let docs = manifests();
    let deployment = the_one(&docs, "Deployment");
    let labels = string_map(&deployment["spec"]["template"]["metadata"]["labels"]);
    let ports = container_ports(mint_container(deployment));
    let expected = default_ports();

    let services: Vec<&Yaml> = docs
        .iter()
        .map(|(_, d)| d)
        .filter(|d| kind(d) == "Service")
        .collect();
    assert!(!services.is_empty(), "no Service");
    let mut targets = Vec::new();
    for service in services {
        let selector = string_map(&service["spec"]["selector"]);
        assert!(
            !selector.is_empty(),
            "Service {} selects nothing",
            name(service)
        );
        for (k, v) in &selector {
            assert_eq!(
                labels.get(k),
                Some(v),
                "Service {} selects {k}={v}, which the pods lack",
                name(service)
            );
        }
        for port in items(&service["spec"]["ports"]) {
            let target = if port["targetPort"].is_badvalue() {
                &port["port"]
            } else {
                &port["targetPort"]
            };
            let resolved = resolve_port(target, &ports).unwrap_or_else(|| {
                panic!(
                    "Service {} targetPort {target:?} names no container port",
                    name(service)
                )
            });
            assert!(
                ports.iter().any(|(_, n)| *n == resolved),
                "Service {} targets {resolved}, which the container does not expose",
                name(service)
            );
            targets.push(resolved);
        }
    }
    for port in [expected.http, expected.https] {
        assert!(targets.contains(&port), "no Service targets {port}");
    }
}

#[test]
fn hpa_scales_the_deployment_on_cpu() {
    let docs = manifests();
    let deployment = the_one(&docs, "Deployment");
    let hpa = the_one(&docs, "HorizontalPodAutoscaler");
    assert_eq!(hpa["apiVersion"].as_str(), Some("autoscaling/v2"));
    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!(target["kind"].as_str(), Some("Deployment"));
    assert_eq!(target["apiVersion"].as_str(), Some("apps/v1"));
    assert_eq!(target["name"].as_str(), Some(name(deployment)));
    let cpu = items(&hpa["spec"]["metrics"]).iter().any(|m| {
        m["type"].as_str() == Some("Resource")
            && m["resource"]["name"].as_str() == Some("cpu")
            && m["resource"]["target"]["type"].as_str() == Some("Utilization")
    });
    assert!(cpu, "the HPA has no CPU utilization metric");
    assert!(
        !mint_container(deployment)["resources"]["requests"]["cpu"].is_badvalue(),
        "CPU utilization is relative to the CPU request, which the container lacks"
    );
    assert!(
        deployment["spec"]["replicas"].is_badvalue(),
        "spec.replicas fights the HPA on every re-apply"
    );
}

/// The ConfigMap behind a pod volume, if it is one.
fn configmap_of<'a>(docs: &'a [(PathBuf, Yaml)], pod: &Yaml, volume: &str) -> Option<&'a Yaml> {
    let v = items(&pod["volumes"])
        .iter()
        .find(|v| v["name"].as_str() == Some(volume))?;
    let cm = v["configMap"]["name"].as_str()?;
    docs.iter()
        .map(|(_, d)| d)
        .find(|d| kind(d) == "ConfigMap" && name(d) == cm)
}

#[test]
fn artifact_configmap_is_mounted_in_a_synapse_configs_folder() {
    let docs = manifests();
    let deployment = the_one(&docs, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let synapse = format!(
        "{}/repository/deployment/server/synapse-configs/default/",
        image_home()
    );
    let mut mounted = 0;
    for mount in items(&mint_container(deployment)["volumeMounts"]) {
        let path = mount["mountPath"].as_str().expect("mountPath");
        let Some(folder_path) = path.strip_prefix(&synapse) else {
            continue;
        };
        let volume = mount["name"].as_str().unwrap_or_default();
        let cm = configmap_of(&docs, pod, volume)
            .unwrap_or_else(|| panic!("{path} is not backed by a ConfigMap of these manifests"));
        // A whole-folder mount, or one file (subPath) inside a folder.
        let folder = match mount["subPath"].as_str() {
            Some(_) => folder_path.rsplit_once('/').map(|(f, _)| f).unwrap_or(""),
            None => folder_path.trim_end_matches('/'),
        };
        let root = match folder {
            "api" => "api",
            "proxy-services" => "proxy",
            "sequences" => "sequence",
            "endpoints" => "endpoint",
            "local-entries" => "localEntry",
            "templates" => "template",
            other => panic!("{path}: mint does not read a synapse-configs folder named {other:?}"),
        };
        let files = string_map(&cm["data"]);
        let xml: Vec<_> = files.iter().filter(|(k, _)| k.ends_with(".xml")).collect();
        assert!(
            !xml.is_empty(),
            "ConfigMap {} holds no .xml artifact",
            name(cm)
        );
        for (key, text) in xml {
            assert!(
                text.contains(&format!("<{root} ")) || text.contains(&format!("<{root}>")),
                "ConfigMap {} key {key} is mounted in {folder}/ but is not a <{root}> artifact",
                name(cm)
            );
        }
        mounted += 1;
    }
    assert!(mounted > 0, "no ConfigMap is mounted under {synapse}");
}

/// `$env{VAR}` / `$sys{VAR}` replaced from the container's environment, as mint does at start
/// (comment lines stay as written). A variable the container does not set fails the test: mint
/// would refuse to start.
fn expand_from(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
        } else {
            let mut rest = line;
            while let Some(i) = rest.find("$env{").or_else(|| rest.find("$sys{")) {
                out.push_str(&rest[..i]);
                let end = rest[i..]
                    .find('}')
                    .map(|e| i + e)
                    .expect("unterminated placeholder");
                let var = &rest[i + 5..end];
                let value = env.get(var).unwrap_or_else(|| {
                    panic!("deployment.toml uses $env{{{var}}}, which the container does not set")
                });
                out.push_str(value);
                rest = &rest[end + 1..];
            }
            out.push_str(rest);
        }
        out.push('\n');
    }
    out
}

fn container_env(container: &Yaml) -> BTreeMap<String, String> {
    items(&container["env"])
        .iter()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// The deployment.toml the pod runs with: the mounted ConfigMap key, else the image's (repo's).
fn pod_deployment_toml(docs: &[(PathBuf, Yaml)], deployment: &Yaml) -> Option<toml::Table> {
    let pod = &deployment["spec"]["template"]["spec"];
    let container = mint_container(deployment);
    let target = format!("{}/conf/deployment.toml", image_home());
    let mount = items(&container["volumeMounts"])
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(target.as_str()))?;
    let volume = mount["name"].as_str().unwrap_or_default();
    let cm = configmap_of(docs, pod, volume)
        .unwrap_or_else(|| panic!("{target} is not backed by a ConfigMap of these manifests"));
    let key = mount["subPath"].as_str().unwrap_or("deployment.toml");
    let text = cm["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("ConfigMap {} has no key {key}", name(cm)));
    let expanded = expand_from(text, &container_env(container));
    Some(toml::from_str(&expanded).unwrap_or_else(|e| panic!("ConfigMap {} {key}: {e}", name(cm))))
}

#[test]
fn mounted_configuration_keeps_the_ports_and_fits_the_grace_period() {
    let docs = manifests();
    let deployment = the_one(&docs, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let config = pod_deployment_toml(&docs, deployment);
    let server = config.as_ref().and_then(|c| c.get("server"));

    if let Some(offset) = server.and_then(|s| s.get("offset")) {
        let offset = offset.as_integer().expect("[server] offset is an integer");
        assert_eq!(
            Ports::for_offset(offset),
            default_ports(),
            "the mounted deployment.toml moves the ports away from the manifests' ones"
        );
    }

    let drain_ms = server
        .and_then(|s| s.get("drain_timeout_ms"))
        .map(|v| v.as_integer().expect("drain_timeout_ms is an integer"))
        .unwrap_or(10_000);
    let pre_stop = &mint_container(deployment)["lifecycle"]["preStop"];
    let pre_stop_s = match (
        pre_stop["exec"]["command"].as_vec(),
        pre_stop["sleep"]["seconds"].as_i64(),
    ) {
        (Some(cmd), _) if cmd.first().and_then(Yaml::as_str) == Some("sleep") => cmd
            .get(1)
            .and_then(Yaml::as_str)
            .and_then(|s| s.parse::<i64>().ok())
            .expect("preStop sleep takes whole seconds"),
        (_, Some(s)) => s,
        _ => 0,
    };
    let grace = pod["terminationGracePeriodSeconds"].as_i64().unwrap_or(30);
    assert!(
        drain_ms >= 10_000,
        "drain_timeout_ms {drain_ms} is below mint's default drain"
    );
    assert!(
        grace * 1000 > pre_stop_s * 1000 + drain_ms,
        "terminationGracePeriodSeconds {grace} s does not cover preStop {pre_stop_s} s + drain {drain_ms} ms: \
         the kubelet would SIGKILL mint mid-drain"
    );
}

#[test]
fn pods_run_as_the_image_user_without_root_or_unconfined_seccomp() {
    let docs = manifests();
    let deployment = the_one(&docs, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = mint_container(deployment);
    let pod_sc = &pod["securityContext"];
    let sc = &container["securityContext"];
    let pick = |key: &str| {
        if sc[key].is_badvalue() {
            pod_sc[key].clone()
        } else {
            sc[key].clone()
        }
    };

    assert_eq!(pick("runAsNonRoot").as_bool(), Some(true), "runAsNonRoot");
    let uid = image_uid(final_stage(&dockerfile()));
    assert_eq!(
        pick("runAsUser").as_i64().map(|u| u.to_string()),
        Some(uid.clone()),
        "runAsUser differs from the image's USER {uid}"
    );
    let seccomp = pick("seccompProfile");
    assert_ne!(
        seccomp["type"].as_str(),
        Some("Unconfined"),
        "seccomp Unconfined"
    );
    if seccomp["type"].as_str() == Some("Localhost") {
        assert!(
            seccomp["localhostProfile"].as_str().is_some(),
            "Localhost seccomp without a profile path"
        );
    }
    assert_eq!(
        sc["allowPrivilegeEscalation"].as_bool(),
        Some(false),
        "allowPrivilegeEscalation"
    );

    // A read-only root filesystem needs a writable registry (scope="registry" writes).
    if sc["readOnlyRootFilesystem"].as_bool() == Some(true) {
        let registry = format!("{}/registry", image_home());
        let writable = items(&container["volumeMounts"]).iter().any(|m| {
            m["mountPath"].as_str().map(|p| p.trim_end_matches('/')) == Some(registry.as_str())
                && m["readOnly"].as_bool() != Some(true)
        });
        assert!(
            writable,
            "readOnlyRootFilesystem without a writable volume at {registry}"
        );
    }

    let image = container["image"].as_str().expect("image");
    for init in items(&pod["initContainers"]) {
        assert_eq!(
            init["image"].as_str(),
            Some(image),
            "init container {:?} uses another image",
            init["name"]
        );
    }
}
