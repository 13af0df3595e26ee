//! The README's first command, as CI can run it: `notarium demo` notarizes
//! the sample evidence, and the offline verifier accepts what it wrote.

mod common;

use common::*;
use std::process::Command;

#[test]
fn demo_produces_certificates_the_offline_verifier_accepts() {
    let tmp = TempDir::new("demo");
    let dir = tmp.path().join("demo-data");
    // Run twice: the second run resets the directory and says so.
    for run in 0..2 {
        let out = Command::new(notarium_bin())
            .args(["demo", "--once", "--listen", "127.0.0.1:0", "--dir"])
            .arg(&dir)
            .env_remove("RUST_LOG")
            .current_dir(repo())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "demo failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.matches("  VALID    ").count(), 4, "{stdout}");
        assert!(!stdout.contains("INVALID"), "{stdout}");
        assert!(stdout.contains("/verify"), "{stdout}");
        assert_eq!(
            stdout.matches("RFC 3161 timestamp ").count(),
            4,
            "every certificate carries a verified token: {stdout}"
        );
        // A newcomer's terminal shows the demo's story, not server logs.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains(" WARN ") && !stderr.contains(" INFO "),
            "log lines in the demo's output: {stderr}"
        );
        if run == 1 {
            assert!(stdout.contains("Resetting the demo directory"), "{stdout}");
        }
    }
    let certs = dir.join("certificates");
    let pdf = certs.join("supply-contract.txt.certificate.pdf");
    let evidence = repo().join("examples/evidence/supply-contract.txt");
    let root = cert("root.pem");
    let ok = Command::new(verify_bin())
        .arg(&pdf)
        .arg("--file")
        .arg(&evidence)
        .arg("--trust")
        .arg(&root)
        .args(["--origin", "notarium.example/log"])
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    // Its certificates carry an RFC 3161 token of the development TSA,
    // which counts for the demo's policy with --tsa-trust ...
    let json_path = certs.join("supply-contract.txt.certificate.json");
    let cert_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(
        cert_json["timestamps"].as_array().map(Vec::len),
        Some(1),
        "{cert_json}"
    );
    let policy = "court>=1 arbitration>=1 tsa>=1";
    let stamped = Command::new(verify_bin())
        .arg(&pdf)
        .arg("--file")
        .arg(&evidence)
        .arg("--trust")
        .arg(&root)
        .arg("--tsa-trust")
        .arg(&root)
        .args(["--policy", policy, "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stamped.stdout);
    assert_eq!(stamped.status.code(), Some(0), "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        report["timestamps"][0]["tsa"], "Notarium Development TSA",
        "{report}"
    );
    assert_eq!(report["timestamps"][0]["counted"], true, "{report}");
    // ... and not without it (a token no one checked counts for nothing).
    let unchecked = Command::new(verify_bin())
        .arg(&json_path)
        .arg("--trust")
        .arg(&root)
        .args(["--policy", policy])
        .output()
        .unwrap();
    assert_eq!(
        unchecked.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&unchecked.stdout)
    );
    // The tampering the demo suggests is caught.
    let json = std::fs::read_to_string(certs.join("supply-contract.txt.certificate.json")).unwrap();
    let tampered = tmp.path().join("tampered.json");
    std::fs::write(&tampered, json.replace("DEMO-2026-001", "DEMO-2026-002")).unwrap();
    let bad = Command::new(verify_bin())
        .arg(&tampered)
        .arg("--trust")
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
    assert!(String::from_utf8_lossy(&bad.stdout).contains("INVALID: entry"));
}
