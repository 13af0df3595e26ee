//! The arrows between the notary's layers point inward: the service and
//! everything it drives (intake, sequencer, witnessing, rendering, the
//! store, the body budget) know nothing of HTTP or of the API that calls
//! them. `api` may use them; they may not name `api` or actix. This reads
//! the source files, so a new `use` that points outward fails here.

use std::path::{Path, PathBuf};

/// The inner layers: files, or folders taken whole.
const INNER: &[&str] = &[
    "src/service",
    "src/intake.rs",
    "src/render",
    "src/sequencer",
    "src/witnessing",
    "src/store",
    "src/budget.rs",
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            rust_files(&p, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Where `text` names the API module or actix: `actix` anywhere, an
/// `api::` path, or `api` inside a `use crate::{...}` or `use super::{...}`
/// group.
fn outward_mentions(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut at = |what: &str| found.push(format!("line {}: {what}: {}", n + 1, line.trim()));
        if line.contains("actix") {
            at("actix");
        }
        for (i, _) in line.match_indices("api::") {
            if !line[..i].ends_with(is_ident) {
                at("api::");
            }
        }
    }
    // `use crate::{a, api, b}` may span lines: look inside every group.
    for prefix in ["crate::{", "super::{"] {
        for (i, _) in text.match_indices(prefix) {
            let group = &text[i + prefix.len()..];
            let group = &group[..group.find('}').unwrap_or(group.len())];
            if group
                .split(|c: char| !is_ident(c))
                .any(|word| word == "api")
            {
                found.push(format!("a group names api: {prefix}{group}}}"));
            }
        }
    }
    found
}

#[test]
fn the_detector_sees_outward_imports() {
    for bad in [
        "use crate::api::error::ApiError;",
        "use actix_web::http::StatusCode;",
        "let b = crate::api::Budget::new(1);",
        "use crate::{\n    api,\n    config::Config,\n};",
        "use super::{api::Budget, config};",
    ] {
        assert!(!outward_mentions(bad).is_empty(), "missed: {bad}");
    }
    for fine in [
        "use crate::config::Config;",
        "let rapid::x = 1; // not_api::y",
        "use crate::{intake, rapid};",
    ] {
        assert!(outward_mentions(fine).is_empty(), "flagged: {fine}");
    }
}

#[test]
fn inner_layers_do_not_know_http_or_the_api() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for inner in INNER {
        let path = root.join(inner);
        assert!(path.exists(), "{inner} is gone: update INNER in this test");
        let before = files.len();
        rust_files(&path, &mut files);
        assert!(files.len() > before, "{inner} has no Rust file");
    }
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for m in outward_mentions(&text) {
            problems.push(format!(
                "{}: {m}",
                file.strip_prefix(root).unwrap().display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "inner layers point outward (move the HTTP part into src/api/):\n{}",
        problems.join("\n")
    );
}
