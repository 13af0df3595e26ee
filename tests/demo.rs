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
    // The PDF is sealed by the notary, its signature timestamped by the
    // demo's TSA (PAdES B-T), and its facts show the TSA's time.
    assert_eq!(report["pdf_seal"]["status"], "valid", "{report}");
    assert_eq!(
        report["pdf_seal"]["timestamp"]["tsa"], "Notarium Development TSA",
        "{report}"
    );
    let shown = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("RFC 3161") && shown.contains("Notarium Development TSA"),
        "the PDF shows no TSA row: {shown}"
    );
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

/// The monitor a court runs beside its witness (issue 20) follows the
/// running demo: it mirrors the log from the notary's tiles, finds both
/// witnesses consistent with it, and holds a demo certificate's entry.
#[test]
fn the_monitor_follows_the_demo() {
    use std::io::BufRead;
    let tmp = TempDir::new("demo-monitor");
    let dir = tmp.path().join("demo-data");
    let mut demo = Command::new(notarium_bin())
        .args(["demo", "--listen", "127.0.0.1:0", "--dir"])
        .arg(&dir)
        .env_remove("RUST_LOG")
        .current_dir(repo())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = demo.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut text = String::new();
    while !text.contains("Serving.") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => text.push_str(&(line + "\n")),
            Err(_) => panic!("the demo did not reach \"Serving.\":\n{text}"),
        }
    }
    let after = |label: &str| -> String {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap();
        line.trim_start()[label.len()..].trim().to_string()
    };
    let (court, arb) = (after("court witness"), after("arbitration witness"));
    let notary = after("http://")
        .rsplit_once("/verify")
        .map(|(u, _)| format!("http://{u}"))
        .unwrap();
    let mirror = tmp.path().join("court-mirror.sqlite");
    let monitor = |extra: &[&str]| {
        let mut cmd = Command::new(notarium_bin());
        cmd.arg("monitor").args(extra);
        cmd.arg("--trust")
            .arg(cert("root.pem"))
            .arg("--mirror")
            .arg(&mirror);
        for c in ["notary.pem", "court.pem", "arbitration.pem"] {
            cmd.arg("--certs").arg(cert(c));
        }
        let out = cmd.output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), all)
    };
    let court_arg = format!("court.example/witness={court}");
    let arb_arg = format!("arbitration.example/witness={arb}");
    let (code, out) = monitor(&[
        "--log",
        &notary,
        "--witness",
        &court_arg,
        "--witness",
        &arb_arg,
        "--once",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("log verified at size 4"), "{out}");
    assert_eq!(out.matches(": consistent at size 4").count(), 2, "{out}");
    let pdf = dir.join("certificates/supply-contract.txt.certificate.pdf");
    let pdf = pdf.to_str().unwrap();
    let (code, out) = monitor(&["check", pdf, "--witness-name", "court.example/witness"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("HELD: entry "), "{out}");

    // Ctrl-C stops the demo and its witnesses and TSA.
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(demo.id().to_string())
        .status();
    let stopped = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while demo.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < stopped,
            "the demo did not stop on SIGINT"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
