//! WSO2's own `deployment.toml` drops in: the sections and keys MI documents that mint does not
//! use are set aside before the typed parse (their lines blanked, so every other position stays
//! where it was) and reported as warnings; a typo in a section or key mint knows stays an error.
//! MI's unquoted `synapse.*` keys under `[mediation]` that mint implements are read as mint reads
//! their quoted form. Names from wso2/micro-integrator
//! `distribution/src/resources/config-tool/{deployment-full.toml,default.json}`.

use super::Pos;

/// A message with its position in the file.
type Positioned = (Pos, String);

/// Top-level sections MI documents and mint does not use.
const MI_SECTIONS: &[&str] = &[
    "analytics",
    "authorization_manager",
    "blocking",
    "custom_message_builders",
    "custom_message_formatters",
    "custom_transport",
    "dashboard_config",
    "database",
    "encryption",
    "external_vault",
    "integration",
    "internal_api_ssl_config",
    "internal_apis",
    "liveness_probe",
    "log_pattern",
    "management_api",
    "message_builders",
    "message_formatters",
    "monitoring",
    "opentelemetry",
    "passthru_properties",
    "prometheus_api",
    "readiness_probe",
    "server_conf",
    "service_catalog",
    "super_admin",
    "system",
    "tasks",
    "user",
    "user_access",
];

/// Sections that can put code in front of every message (global Synapse handlers): what mint
/// cannot run there may guard access, so they stop the start.
const GUARDING_SECTIONS: &[&str] = &["synapse_handlers"];

/// `[server]` keys of MI that mint does not use.
const MI_SERVER_KEYS: &[&str] = &[
    "node_ip",
    "enable_mtom",
    "enable_swa",
    "hide_admin_service_wsdl",
    "proxy_context_path",
    "enable_security_deployment_interceptor",
    "userAgent",
    "serverDetails",
    "synapse_config_file_path",
    "http_content_negotiation",
    "auth2_token_validation_service",
    "identity_server_username",
    "identity_server_password",
    "get_request_processor",
    "disable_rest_api_schema_validation",
    "enable_pox_security",
];

/// `[mediation]` keys MI writes unquoted that mint implements (read as their quoted form).
const MEDIATION_KEYS: &[&str] = &[
    "synapse.enable_auto_primitive",
    "synapse.disable_auto_primitive_regex",
    "synapse.json_out_auto_array",
    "synapse.enable_xml_nil",
    "synapse.global_timeout_interval",
];

/// The first segment of a dotted (possibly quoted) TOML key or header name.
fn first_segment(key: &str) -> &str {
    let k = key.trim();
    if let Some(rest) = k.strip_prefix('"').or_else(|| k.strip_prefix('\'')) {
        return rest.split(['"', '\'']).next().unwrap_or("");
    }
    k.split('.').next().unwrap_or("").trim()
}

/// The text with MI-only sections and keys blanked, the warnings for them, and the errors for
/// sections that must not be ignored.
pub fn set_aside(text: &str) -> Result<(String, Vec<Positioned>), Positioned> {
    let mut out = String::with_capacity(text.len());
    let mut warnings = Vec::new();
    let mut sections: Vec<(Pos, String)> = Vec::new();
    let mut section = String::new();
    let mut skipping = false;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let pos = |col: usize| Pos {
            line: i as u32 + 1,
            col: col as u32 + 1,
        };
        let body = line.trim_end_matches(['\n', '\r']);
        let t = body.trim_start();
        let indent = body.len() - t.len();
        if t.starts_with('[') {
            let name = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            let top = first_segment(&name).to_string();
            if GUARDING_SECTIONS.contains(&top.as_str()) {
                return Err((
                    pos(indent),
                    format!("[{top}]: global Synapse handlers are not implemented by mint; they may guard access, so mint does not start with them"),
                ));
            }
            // `[[server.get_request_processor]]` and the like: MI's [server] tables mint has no use for.
            let server_table = top == "server"
                && name
                    .split('.')
                    .nth(1)
                    .is_some_and(|k| MI_SERVER_KEYS.contains(&k.trim()));
            if server_table {
                skipping = true;
                warnings.push((
                    pos(indent),
                    format!("'[{name}]' is accepted from MI but not honoured by mint"),
                ));
                out.push_str(&line[body.len()..]);
                continue;
            }
            skipping = MI_SECTIONS.contains(&top.as_str());
            if skipping {
                if !sections.iter().any(|(_, s)| *s == top) {
                    sections.push((pos(indent), top));
                }
                out.push_str(&line[body.len()..]);
                continue;
            }
            section = name;
            out.push_str(line);
            continue;
        }
        if skipping {
            // Blank, keeping the line (positions after it stay right).
            out.push_str(&line[body.len()..]);
            continue;
        }
        let is_key = !t.is_empty() && !t.starts_with('#') && t.contains('=');
        if is_key {
            let key = t.split('=').next().unwrap_or("").trim();
            let quoted = key.starts_with('"') || key.starts_with('\'');
            if section == "server" && !quoted && MI_SERVER_KEYS.contains(&first_segment(key)) {
                warnings.push((
                    pos(indent),
                    format!("'server.{key}' is accepted from MI but not honoured by mint"),
                ));
                out.push_str(&line[body.len()..]);
                continue;
            }
            if section == "mediation" && !quoted {
                if MEDIATION_KEYS.contains(&key) {
                    // `synapse.x = v` (nested tables in TOML) read as mint's `"synapse.x" = v`.
                    out.push_str(&body[..indent]);
                    out.push('"');
                    out.push_str(key);
                    out.push_str("\" ");
                    out.push_str(&t[t.find('=').unwrap_or(0)..]);
                    out.push_str(&line[body.len()..]);
                    continue;
                }
                let top = first_segment(key);
                if matches!(top, "synapse" | "flow" | "statistics" | "stat" | "inbound") {
                    warnings.push((
                        pos(indent),
                        format!("'mediation.{key}' is accepted from MI but not honoured by mint"),
                    ));
                    out.push_str(&line[body.len()..]);
                    continue;
                }
            }
        }
        out.push_str(line);
    }
    if let Some((first, _)) = sections.first() {
        let names: Vec<String> = sections.iter().map(|(_, s)| format!("[{s}]")).collect();
        warnings.insert(
            0,
            (
                *first,
                format!(
                    "MI sections mint does not use (accepted, not honoured): {}",
                    names.join(", ")
                ),
            ),
        );
    }
    Ok((out, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mi_sections_are_set_aside_and_positions_kept() {
        let text = "[server]\nhostname = \"h\"\nnode_ip = \"1.2.3.4\"\n\n[management_api]\nprotocols = \"https\"\n\n[[internal_apis.users]]\nuser.name = \"admin\"\n\n[mediation]\nsynapse.enable_auto_primitive = false\nsynapse.core_threads = 20\n";
        let (out, warnings) = set_aside(text).unwrap();
        assert_eq!(out.lines().count(), text.lines().count());
        assert!(!out.contains("protocols") && !out.contains("admin") && !out.contains("node_ip"));
        assert!(out.contains("\"synapse.enable_auto_primitive\" = false"));
        assert!(!out.contains("core_threads"));
        let w: Vec<String> = warnings
            .iter()
            .map(|(p, m)| format!("{}:{} {m}", p.line, p.col))
            .collect();
        assert_eq!(
            w,
            [
                "5:1 MI sections mint does not use (accepted, not honoured): [management_api], [internal_apis]",
                "3:1 'server.node_ip' is accepted from MI but not honoured by mint",
                "13:1 'mediation.synapse.core_threads' is accepted from MI but not honoured by mint",
            ]
        );
        assert!(set_aside("[synapse_handlers]\nx.class = \"a.B\"\n").is_err());
        // MI's [[server.get_request_processor]] tables (deployment-full.toml).
        let (out, warnings) = set_aside(
            "[server]\nhostname = \"h\"\n\n[[server.get_request_processor]]\nitem = \"swagger.yaml\"\nclass = \"a.B\"\n",
        )
        .unwrap();
        assert!(!out.contains("swagger") && out.contains("hostname"));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].0, Pos { line: 4, col: 1 });
    }
}
