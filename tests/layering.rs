//! The module layering of ARCHITECTURE.md, checked: every `crate::<module>` path in `src/` must
//! point to a module in a lower layer than the file's own top-level module. Same-layer modules
//! are independent of each other (the front end and the compiled program, for instance).

use std::path::Path;

/// Lowest first. A module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    // Foundations: diagnostics, the domain error type and the allocator.
    &["diag", "error", "mem"],
    // The shard's sockets (epoll readiness, the io_uring bridge that wakes a sleeping shard) and
    // its coarse deadlines: glommio only.
    &["net"],
    // Libraries: no knowledge of artifacts, shards or each other beyond this order.
    &["xpath", "uri_template"],
    &["xml"],
    &["xmllib", "xslt"],
    &["json"],
    &["synexpr"],
    // Services used by the runtime and the deployer.
    &["config"],
    &["telemetry"],
    &["registry", "userstore", "stores"],
    // HTTP/1.1 over glommio (generic over its handler), and the language front end: independent.
    &["http", "synapse"],
    // One message: context, content, property table, compiled values.
    &["message"],
    // One module per mediator: its compiled form, compile step and run step (reaching the
    // compiler and the engine through the traits it defines).
    &["mediators"],
    // The compiled program the engine runs.
    &["program"],
    // Synapse model -> Program.
    &["compile"],
    // Deploying a home and publishing programs.
    &["deploy"],
    &["endpoint"],
    &["mediation"],
    // Shard 0's message processors and scheduled tasks.
    &["scheduled"],
    &["server"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level modules named by `crate::<name>` paths in `code` (in code and doc comments).
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in code.lines().enumerate() {
        // Doc comments count (an intra-doc link is a reference too); other comments do not.
        let t = line.trim_start();
        let doc = t.starts_with("///") || t.starts_with("//!");
        let line = match line.find("//") {
            Some(c) if !doc => &line[..c],
            _ => line,
        };
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((i + 1, name));
            }
            rest = after;
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Violations in the tree under `src`: `file:line: a -> b`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = first.trim_end_matches(".rs").to_string();
        if matches!(top.as_str(), "lib" | "main" | "bin") {
            continue;
        }
        let Some(own) = layer(&top) else {
            found.push(format!(
                "{}: module `{top}` is in no layer of tests/layering.rs",
                rel.display()
            ));
            continue;
        };
        let code = std::fs::read_to_string(&f).unwrap();
        for (line, target) in crate_paths(&code) {
            if target == top {
                continue;
            }
            match layer(&target) {
                Some(l) if l < own => {}
                Some(_) => found.push(format!(
                    "{}:{line}: `{top}` uses `{target}`, which is not below it",
                    rel.display()
                )),
                None => found.push(format!(
                    "{}:{line}: `{target}` is in no layer of tests/layering.rs",
                    rel.display()
                )),
            }
        }
    }
    found
}

#[test]
fn no_module_imports_upward_or_sideways() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let v = violations(&src);
    assert!(
        v.is_empty(),
        "imports against the layering (ARCHITECTURE.md):\n{}",
        v.join("\n")
    );
}

#[test]
fn the_checker_sees_paths_and_skips_comments() {
    let code = "use crate::xml::Document; // crate::server\n//! [`crate::mediation`]\nlet x = crate::json::parse(crate::xpath::x);\n";
    let names: Vec<String> = crate_paths(code).into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["xml", "mediation", "json", "xpath"]);
}
