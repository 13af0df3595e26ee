//! The commands: init, export, and configuration validation at start (exit
//! code 2 with a message naming the problem).

mod common;

use common::*;
use notarium_core::encoding::b64;
use notarium_core::note::Note;

#[test]
fn init_creates_the_state_and_prints_the_public_identity() {
    let s = Setup::config_only(Opts::default());
    let (st, out, err) = s.run(&["init"]);
    assert!(st.success(), "{err}");
    assert!(s.state.exists());
    let court = cert(&certs("court.pem"));
    let key_id = hex::encode(notarium_core::cosignature::cosignature_key_id(
        &court.key, COURT,
    ));
    for line in [
        format!("name: {COURT}"),
        "role: court".to_string(),
        format!("key ID: {key_id}"),
        format!("SPKI: {}", b64(court.key.spki_der())),
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line:?} in {out}");
    }
    // Never over an existing state.
    let (st, _, err) = s.run(&["init"]);
    assert_eq!(st.code(), Some(2), "{err}");
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn init_json_for_an_arbitration_witness() {
    let s = Setup::config_only(Opts {
        cert: certs("arbitration.pem"),
        key: certs("arbitration.key"),
        ..Opts::default()
    });
    let (st, out, err) = s.run(&["init", "--json"]);
    assert!(st.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let arb = cert(&certs("arbitration.pem"));
    assert_eq!(v["name"], "arbitration.example/witness");
    assert_eq!(v["role"], "arbitration");
    assert_eq!(
        v["key_id"],
        hex::encode(notarium_core::cosignature::cosignature_key_id(
            &arb.key,
            "arbitration.example/witness"
        ))
    );
    assert_eq!(v["spki"], b64(arb.key.spki_der()));
}

#[test]
fn serve_refuses_a_missing_state_and_a_state_of_another_witness() {
    let s = Setup::config_only(Opts::default());
    let (st, _, err) = s.run(&["serve"]);
    assert_eq!(st.code(), Some(2), "{err}");
    assert!(
        err.contains("does not exist") && err.contains("init"),
        "{err}"
    );
    // The court's state, served with the arbitration witness's certificate.
    let court = Setup::new();
    let text = std::fs::read_to_string(&court.config)
        .unwrap()
        .replace("court.pem", "arbitration.pem")
        .replace("court.key", "arbitration.key");
    std::fs::write(&court.config, text).unwrap();
    let (st, _, err) = court.run(&["serve"]);
    assert_eq!(st.code(), Some(2), "{err}");
    assert!(
        err.contains("belongs to the witness \"court.example/witness\""),
        "{err}"
    );
}

#[test]
fn export_lists_the_kept_checkpoints_and_evidence_in_order() {
    let log = Log::new(30, "a");
    let fork = Log::new(30, "b");
    let s = Setup::new();
    assert!(s.export(ORIGIN).is_empty());
    let w = s.start();
    let c = client();
    for (old, new) in [(0, 3), (3, 10), (10, 30)] {
        assert_eq!(w.add(&c, log.body(old, new)).status, 200);
    }
    assert_eq!(w.add(&c, fork.body(30, 30)).status, 409);
    // Export works while the witness is serving.
    let all = s.export(ORIGIN);
    assert_eq!(all.len(), 4, "{all:?}");
    let court = cert(&certs("court.pem"));
    for (v, size) in all[..3].iter().zip([3u64, 10, 30]) {
        assert_eq!(v["kind"], "cosigned");
        assert_eq!(v["size"], size);
        assert_eq!(v["origin"], ORIGIN);
        assert_eq!(v["root"], b64(&log.root(size)));
        let n = Note::parse(v["note"].as_str().unwrap()).unwrap();
        assert_eq!(n.signatures().len(), 2);
        let cs = notarium_core::cosignature::Cosignature::from_note_signature(&n.signatures()[1])
            .unwrap();
        assert_eq!(v["cosigned_at"], cs.timestamp);
        cs.verify(&log.checkpoint(size), &court.key).unwrap();
    }
    assert_eq!(all[3]["kind"], "evidence");
    assert_eq!(all[3]["evidence"], "fork");
    // Another origin has nothing.
    assert!(s.export("other.example/log").is_empty());
}

/// Config text with one substitution applied.
fn broken(from: &str, to: &str) -> Setup {
    let s = Setup::config_only(Opts::default());
    let text = std::fs::read_to_string(&s.config).unwrap();
    assert!(text.contains(from), "{from:?} not in {text}");
    std::fs::write(&s.config, text.replacen(from, to, 1)).unwrap();
    s
}

fn path(p: std::path::PathBuf) -> String {
    format!("{p:?}")
}

#[test]
fn every_configuration_problem_exits_2_with_a_message_naming_it() {
    let court = path(certs("court.pem"));
    let court_key = path(certs("court.key"));
    let notary = path(certs("notary.pem"));
    let root = path(certs("root.pem"));
    let cases: Vec<(Setup, &str)> = vec![
        (
            broken("listen = \"127.0.0.1:0\"", "listen = \"localhost\""),
            "listen: \"localhost\"",
        ),
        (
            broken("prefix = \"\"", "prefix = \"/w/\""),
            "prefix: \"/w/\"",
        ),
        (broken("prefix = \"\"", "prefix = \"w\""), "prefix: \"w\""),
        (
            broken("[witness]", "colour = \"red\"\n[witness]"),
            "unknown field `colour`",
        ),
        (
            broken("[witness]", "[witness"),
            "not a valid witness configuration",
        ),
        (
            broken("[witness]", "max_evidence_per_log = -1\n[witness]"),
            "not a valid witness configuration",
        ),
        (
            broken("[witness]", "max_evidence_per_log = 100001\n[witness]"),
            "max_evidence_per_log: 100001",
        ),
        (
            broken(&court_key, &path(certs("arbitration.key"))),
            "is not the private key of the certificate",
        ),
        (
            broken(&court_key, &path(certs("missing.key"))),
            "witness.key",
        ),
        (broken(&court_key, &court), "witness.key"),
        (
            broken(&court, &notary),
            "needs OU \"court\" or \"arbitration\"",
        ),
        (
            broken(&court, &path(fixture("expired-court.pem"))),
            "not now",
        ),
        (
            broken(&court, &path(fixture("nods-court.pem"))),
            "no digitalSignature key usage",
        ),
        (
            broken(&court, &path(certs("nothing.pem"))),
            "witness.certificate",
        ),
        (broken(&root, &court), "trust root must be a self-signed CA"),
        (
            broken(&root, &path(fixture("other-root.pem"))),
            "does not chain to a configured trust root",
        ),
        (
            broken("[witness]", "[witness]\nname = \"someone.example/witness\""),
            "witness.name",
        ),
        (
            broken(
                &format!("notary_certificates = [{notary}]"),
                "notary_certificates = []",
            ),
            "notary_certificates is empty",
        ),
        (broken(&notary, &court), "not \"notary\""),
        (
            broken(&notary, &path(fixture("other-notary.pem"))),
            "does not chain",
        ),
        (
            broken(
                &format!("origin = \"{ORIGIN}\""),
                "origin = \"other.example/log\"",
            ),
            "is not the origin \"other.example/log\"",
        ),
        (
            broken(&format!("origin = \"{ORIGIN}\""), "origin = \"bad origin\""),
            "not a valid origin",
        ),
        (
            broken(
                "[[log]]",
                &format!(
                    "[[log]]\norigin = \"{ORIGIN}\"\nnotary_certificates = [{notary}]\n\n[[log]]"
                ),
            ),
            "configured twice",
        ),
        (broken("[[log]]", "[[nolog]]"), "unknown field `nolog`"),
        // The rotation overlap (docs/operations.md): each notary certificate
        // may carry the time its key stops being trusted.
        (
            broken(
                &format!("[{notary}]"),
                &format!("[{{ file = {notary}, until = \"tomorrow\" }}]"),
            ),
            "until \"tomorrow\" is not a UTC time like \"2027-01-15T00:00:00Z\"",
        ),
        (
            broken(
                &format!("[{notary}]"),
                &format!("[{{ file = {notary}, until = 2024-06-01T00:00:00Z }}]"),
            ),
            "is not after the certificate's notBefore 2025-01-01T00:00:00Z, so it would never be trusted",
        ),
        (
            broken(
                &format!("[{notary}]"),
                &format!("[{{ file = {notary}, until = \"2026-01-01T00:00:00Z\" }}]"),
            ),
            "no notary certificate is trusted now",
        ),
        (
            broken(&format!("[{notary}]"), &format!("[{{ path = {notary} }}]")),
            "unknown field `path`",
        ),
        (
            broken(
                &format!("[{notary}]"),
                "[{ until = \"2030-01-01T00:00:00Z\" }]",
            ),
            "missing field `file`",
        ),
        (
            broken(&format!("[{notary}]"), "[42]"),
            "a PEM file path, or a table",
        ),
        (
            broken(&format!("[{notary}]"), &format!("[{notary}, {notary}]")),
            "this certificate is listed twice",
        ),
    ];
    for (s, expected) in cases {
        let text = std::fs::read_to_string(&s.config).unwrap();
        for cmd in ["serve", "init"] {
            let (st, out, err) = s.run(&[cmd]);
            assert_eq!(
                st.code(),
                Some(2),
                "{cmd} with\n{text}\nstdout: {out}\nstderr: {err}"
            );
            assert!(
                err.contains(expected) && err.contains("configuration"),
                "{cmd}: expected {expected:?} in {err:?} for\n{text}"
            );
            assert!(!s.state.exists(), "a bad configuration created state");
        }
    }
    // A missing configuration file.
    let s = Setup::config_only(Opts::default());
    std::fs::remove_file(&s.config).unwrap();
    let (st, _, err) = s.run(&["serve"]);
    assert_eq!(st.code(), Some(2));
    assert!(err.contains("cannot be read"), "{err}");
}

#[test]
fn a_config_without_logs_is_refused() {
    let s = Setup::config_only(Opts {
        logs: String::new(),
        ..Opts::default()
    });
    let (st, _, err) = s.run(&["serve"]);
    assert_eq!(st.code(), Some(2));
    assert!(err.contains("no [[log]] section"), "{err}");
}

#[test]
fn the_sample_config_is_valid() {
    // examples/witness.toml points at certs/: check it with a temporary state.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.sqlite");
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/witness.toml");
    let out = std::process::Command::new(BIN)
        .args(["init", "--config"])
        .arg(&example)
        .env("NOTARIUM_WITNESS_STATE", &state)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(state.exists());
    assert!(String::from_utf8_lossy(&out.stdout).contains("role: court"));
}

#[test]
fn the_listen_address_can_be_overridden() {
    let s = Setup::new();
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:1\"");
    std::fs::write(&s.config, text).unwrap();
    // With the file's port 1 it cannot listen (privileged or taken)...
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&s.config)
        .args(["--listen", "bad address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen: \"bad address\""));
    // ...with NOTARIUM_WITNESS_LISTEN it serves on a free port.
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&s.config)
        .env("NOTARIUM_WITNESS_LISTEN", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        line.starts_with("notarium-witness listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(!line.contains(":1\n"), "{line}");
}

#[test]
fn serve_init_if_missing_creates_the_state_once() {
    let s = Setup::config_only(Opts::default());
    let start = |s: &Setup| {
        let mut child = std::process::Command::new(BIN)
            .args(["serve", "--init-if-missing", "--config"])
            .arg(&s.config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        (
            child,
            line.trim_end()
                .replace("notarium-witness listening on ", ""),
        )
    };
    let log = Log::new(4, "a");
    let (mut child, url) = start(&s);
    assert!(s.state.exists());
    let c = client();
    let r = resp(
        c.post(format!("{url}/add-checkpoint"))
            .body(log.body(0, 4))
            .send()
            .unwrap(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    // The second start keeps what the first cosigned.
    let (mut child, url) = start(&s);
    let r = resp(
        c.post(format!("{url}/add-checkpoint"))
            .body(log.body(0, 4))
            .send()
            .unwrap(),
    );
    assert_eq!((r.status, r.body.as_str()), (409, "4\n"));
    child.kill().unwrap();
    child.wait().unwrap();
}
