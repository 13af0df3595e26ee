//! The judge's page driven in the system's headless Chromium by
//! tests/browser/verify_page.js (Node + playwright-core): shared by the
//! browser test and the standard witness test. A missing node, npm or
//! Chromium is a failure, never a skip.

use super::repo;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) fn browser_dir() -> PathBuf {
    repo().join("tests").join("browser")
}

pub(crate) fn chromium() -> PathBuf {
    let p = PathBuf::from(
        std::env::var("NOTARIUM_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    assert!(
        p.exists(),
        "{} is missing: this test needs Chromium (apt-get update && apt-get install -y chromium, \
         as scripts/test does), or NOTARIUM_CHROMIUM=/path/to/chromium",
        p.display()
    );
    p
}

/// Checks node and npm, and installs the locked node packages if needed.
pub(crate) fn node_ready() {
    let mut node_version = String::new();
    for tool in ["node", "npm"] {
        let out = Command::new(tool).arg("--version").output();
        match &out {
            Ok(o) if o.status.success() => {
                if tool == "node" {
                    node_version = String::from_utf8_lossy(&o.stdout).trim().to_string();
                }
            }
            _ => panic!(
                "`{tool}` is required for the browser test (Node 20 or later, with npm) and was not found: {out:?}"
            ),
        }
    }
    let major: u32 = node_version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 20,
        "the browser test needs Node 20 or later (playwright-core), found {node_version}"
    );
    // Two tests use the page (the browser test and the standard witness
    // test) and nextest runs them at once: `npm ci` runs under a lock, and
    // only if no test installed the packages while this one waited.
    let dir = browser_dir();
    let out = Command::new("flock")
        .arg(dir.join(".npm-ci.lock"))
        .args([
            "sh",
            "-c",
            "[ -f node_modules/playwright-core/package.json ] || npm ci --no-audit --no-fund",
        ])
        .current_dir(&dir)
        .output()
        .expect("flock (util-linux) and sh");
    assert!(
        out.status.success(),
        "npm ci in {} failed:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs verify_page.js with `config` (its format is at the top of the
/// script), written to `dir`; what the page showed, per case.
pub(crate) async fn run_verify_page(config: &Value, dir: &Path) -> Value {
    node_ready();
    let config_path = dir.join("browser.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("verify_page.js")
            .arg(&config_path)
            .current_dir(browser_dir())
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "verify_page.js failed ({}):\n{stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify_page.js output is not JSON: {e}\n{stderr}"))
}
