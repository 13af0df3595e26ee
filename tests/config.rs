//! Configuration is validated once at start, with messages naming the setting.

use notarium::config::FileConfig;
use std::path::PathBuf;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn sample() -> String {
    std::fs::read_to_string(examples().join("notary.toml")).unwrap()
}

fn resolve(text: &str) -> Result<notarium::config::Config, String> {
    FileConfig::from_toml(text)
        .and_then(|f| f.resolve(&examples()))
        .map_err(|e| e.to_string())
}

#[test]
fn the_sample_configuration_is_valid() {
    let c = resolve(&sample()).unwrap();
    assert_eq!(c.origin, "notarium.example/log");
    assert_eq!(c.witnesses.len(), 2);
    assert_eq!(
        c.certificate_pems.len(),
        3,
        "notary, court and arbitration certificates"
    );
    assert_eq!(c.public_url, "http://127.0.0.1:8080");
}

/// Unset, the sequencing interval suits the store: short on the embedded
/// store, whose one writer a batch holds, longer on PostgreSQL; a
/// configured value is kept on either.
#[test]
fn the_batch_interval_defaults_by_store() {
    let embedded = sample();
    let postgres = sample().replace(
        "# database_url = \"postgres://notarium@db.internal/notarium\"",
        "database_url = \"postgres://notarium@db.internal/notarium\"",
    );
    assert_ne!(embedded, postgres);
    assert_eq!(resolve(&embedded).unwrap().batch_interval_ms, 100);
    assert_eq!(resolve(&postgres).unwrap().batch_interval_ms, 500);
    for text in [embedded, postgres] {
        let set = text.replace("# batch_interval_ms = 100", "batch_interval_ms = 250");
        assert_eq!(resolve(&set).unwrap().batch_interval_ms, 250);
    }
}

#[test]
fn problems_are_named() {
    let cases: Vec<(String, &str)> = vec![
        (
            sample().replace(
                "origin = \"notarium.example/log\"",
                "origin = \"other.example/log\"",
            ),
            "certificate's CN",
        ),
        (
            sample().replace("../certs/notary.key", "../certs/court.key"),
            "does not certify the key",
        ),
        (
            sample().replace(
                "cert_file = \"../certs/notary.pem\"",
                "cert_file = \"../certs/court.pem\"",
            ),
            "does not certify",
        ),
        (
            sample().replace("../certs/arbitration.pem", "../certs/court.pem"),
            "configured twice",
        ),
        (
            sample().replace(
                "policy = \"court>=1 arbitration>=1\"",
                "policy = \"court>=2\"",
            ),
            "needs 2 court witness",
        ),
        (
            sample().replace(
                "policy = \"court>=1 arbitration>=1\"",
                "policy = \"judge>=1\"",
            ),
            "trust.policy",
        ),
        (
            sample().replace("# batch_interval_ms = 100", "batch_interval_ms = 0"),
            "batch_interval_ms",
        ),
        (
            sample().replace("listen = \"127.0.0.1:8080\"", "listen = \"nowhere\""),
            "server.listen",
        ),
        (
            sample().replace("intake_workers = 2", "intake_workers = 0"),
            "limits.intake_workers",
        ),
        (
            sample().replace(
                "roots = [\"../certs/root.pem\"]",
                "roots = [\"../tests/fixtures/pki/other-root.pem\"]",
            ),
            "does not chain",
        ),
        (
            sample().replace("[limits]", "[limits]\nunknown_setting = 1"),
            "unknown field",
        ),
        (
            sample().replace("../certs/root.pem", "../certs/missing.pem"),
            "missing.pem",
        ),
        (
            sample().replace("url = \"http://127.0.0.1:7380\"", "url = \"ftp://x\""),
            "witness[0].url",
        ),
    ];
    for (text, want) in cases {
        let err = resolve(&text).expect_err(want);
        assert!(err.contains(want), "expected \"{want}\" in: {err}");
    }
}

/// Rotation and renewal (docs/operations.md): the notary's previous
/// certificates and each witness's other certificates are checked at start.
#[test]
fn previous_certificates_are_checked() {
    let with = |from: &str, to: &str| {
        let s = sample();
        assert!(s.contains(from), "{from}");
        s.replacen(from, to, 1)
    };
    let notary_prev = "# previous_cert_files = [\"../certs/notary-2026.pem\"]";
    let court_prev = "# previous_cert_files = [\"../certs/court-2026.pem\"]";
    let ok = resolve(&with(court_prev, "previous_cert_files = []")).unwrap();
    assert_eq!(ok.witnesses[0].certs.len(), 1);
    assert_eq!(ok.notary_certs.len(), 1);
    let cases = [
        (
            with(
                notary_prev,
                "previous_cert_files = [\"../certs/court.pem\"]",
            ),
            "log.previous_cert_files[0] ../certs/court.pem: role court",
        ),
        (
            with(
                notary_prev,
                "previous_cert_files = [\"../certs/notary.pem\"]",
            ),
            "this certificate is configured twice",
        ),
        (
            with(
                notary_prev,
                "previous_cert_files = [\"../tests/fixtures/pki/other-notary.pem\"]",
            ),
            "does not chain",
        ),
        (
            with(
                court_prev,
                "previous_cert_files = [\"../certs/missing.pem\"]",
            ),
            "missing.pem",
        ),
        (
            with(
                court_prev,
                "previous_cert_files = [\"../certs/arbitration.pem\"]",
            ),
            "a renewed certificate keeps the name and role",
        ),
        (
            with(court_prev, "previous_cert_files = [\"../certs/court.pem\"]"),
            "this certificate is configured twice",
        ),
    ];
    for (text, want) in cases {
        let err = resolve(&text).expect_err(want);
        assert!(err.contains(want), "expected \"{want}\" in: {err}");
    }
}

/// Standard C2SP witnesses (issue 20): `[[witness]] vkey` instead of a
/// certificate, and `trust.policy_file`, whose quorum the configured vkeys
/// must be able to meet.
#[test]
fn standard_witnesses_are_checked() {
    let vkey = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
    let dir = std::env::temp_dir().join(format!("notarium-config-std-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        format!("policy_file = \"{}\"\n", p.display())
    };
    let with = |trust: &str, witness: &str| {
        sample()
            .replace(
                "policy = \"court>=1 arbitration>=1\"\n",
                &format!("policy = \"court>=1 arbitration>=1\"\n{trust}"),
            )
            .replace(
                "[[witness]]\nurl = \"http://127.0.0.1:7380\"",
                &format!("[[witness]]\nurl = \"http://127.0.0.1:7390\"\n{witness}\n[[witness]]\nurl = \"http://127.0.0.1:7380\""),
            )
    };
    let ok = with(
        &policy("ok.txt", &format!("witness r {vkey}\nquorum r\n")),
        &format!("vkey = \"{vkey}\""),
    );
    let c = resolve(&ok).unwrap();
    assert_eq!(c.witnesses.len(), 3);
    assert_eq!(c.witnesses[0].name, "remora.n621.de");
    assert!(c.witnesses[0].role.is_none() && c.policy_file.is_some());
    for (text, wanted) in [
        (
            with(
                "",
                &format!("vkey = \"{vkey}\"\ncert_file = \"../certs/court.pem\""),
            ),
            "not both or neither",
        ),
        (
            with(
                "",
                &format!("vkey = \"{}\"", vkey.replace("da77ade7", "da77ade8")),
            ),
            "witness[0].vkey",
        ),
        (
            with(
                &policy("unmet.txt", &format!("witness r {vkey}\nquorum r\n")),
                "",
            ),
            "not both or neither",
        ),
        (
            with(
                &policy("other.txt", &format!("witness r {vkey}\nquorum r\n")),
                "vkey = \"TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6\"",
            ),
            "quorum cannot be met",
        ),
        (
            with(
                &policy("bad.txt", "quorum nobody\n"),
                &format!("vkey = \"{vkey}\""),
            ),
            "line 1",
        ),
    ] {
        let e = resolve(&text)
            .err()
            .unwrap_or_else(|| panic!("accepted:\n{text}"));
        assert!(e.contains(wanted), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `[tsa]`: a valid section resolves (required defaults to every url); its
/// problems are named; `tsa>=k` needs `tsa.required` of at least k.
#[test]
fn the_tsa_section_is_checked() {
    let base = sample().replace(
        "policy = \"court>=1 arbitration>=1\"",
        "policy = \"court>=1 arbitration>=1 tsa>=1\"",
    );
    let with = |tsa: &str| format!("{base}\n[tsa]\n{tsa}\n");
    let ok = resolve(&with(
        "urls = [\"http://127.0.0.1:3161\"]\ntrust = [\"../certs/root.pem\"]",
    ))
    .unwrap();
    let tsa = ok.tsa.unwrap();
    assert_eq!(tsa.required, 1, "default: every url");
    assert_eq!(tsa.urls, ["http://127.0.0.1:3161"]);
    let err = resolve(&base).expect_err("tsa>=1 without [tsa]");
    assert!(err.contains("needs 1 TSA token(s)"), "{err}");
    for (tsa, want) in [
        (
            "urls = []\ntrust = [\"../certs/root.pem\"]",
            "tsa.urls needs at least one",
        ),
        (
            "urls = [\"ftp://x\"]\ntrust = [\"../certs/root.pem\"]",
            "is not an http(s) URL",
        ),
        (
            "urls = [\"http://a\", \"http://a\"]\ntrust = [\"../certs/root.pem\"]",
            "configured twice",
        ),
        ("urls = [\"http://a\"]\ntrust = []", "tsa.trust needs"),
        (
            "urls = [\"http://a\"]\ntrust = [\"../certs/none.pem\"]",
            "tsa.trust",
        ),
        (
            "urls = [\"http://a\"]\ntrust = [\"../certs/root.pem\"]\nrequired = 2",
            "tsa.required is 2",
        ),
        (
            "urls = [\"http://a\"]\ntrust = [\"../certs/root.pem\"]\nrequired = 0",
            "tsa.required is 0",
        ),
    ] {
        let err = resolve(&with(tsa)).expect_err(want);
        assert!(err.contains(want), "{tsa}: {err}");
    }
    let two = base.replace("tsa>=1", "tsa>=2");
    let err = resolve(&format!(
        "{two}\n[tsa]\nurls = [\"http://a\", \"http://b\"]\ntrust = [\"../certs/root.pem\"]\nrequired = 1\n"
    ))
    .expect_err("tsa>=2 with required = 1");
    assert!(
        err.contains("needs 2 TSA token(s) but [tsa] requires 1"),
        "{err}"
    );
}
