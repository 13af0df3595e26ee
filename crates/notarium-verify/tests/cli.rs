//! Drives the real `notarium-verify` binary: verdicts, exit codes, output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden() -> PathBuf {
    repo().join("tests/golden/valid-metadata.json")
}

fn root() -> PathBuf {
    repo().join("certs/root.pem")
}

fn verify(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_notarium-verify"))
        .args(args)
        .env_remove("NOTARIUM_TRUST")
        .env_remove("NOTARIUM_ORIGIN")
        .output()
        .expect("run notarium-verify")
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("notarium-verify-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = tmp(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The evidence behind the golden certificate: 100 bytes of 0x03.
fn evidence() -> PathBuf {
    write("evidence.bin", &[3u8; 100])
}

#[test]
fn valid_certificate_exits_0_with_each_check() {
    let o = verify(&[
        os(&golden()),
        os("--trust"),
        os(&root()),
        os("--origin"),
        os("notarium.example/log"),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    for id in [
        "format",
        "file",
        "entry",
        "inclusion",
        "origin",
        "cosignature",
        "notary-signature",
        "policy",
        "certificates",
    ] {
        assert!(
            out.contains(&format!("  {id}")),
            "missing check {id}: {out}"
        );
    }
    assert!(
        out.contains("VALID: the evidence existed, unaltered, no later than 2026-11-29T06:00:03Z"),
        "{out}"
    );
    // The summary is a two-column table: every value starts in one column,
    // after at least two spaces, however long the witness role.
    let column = |label: &str, value: &str| {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line: {out}"));
        assert!(line.ends_with(value), "{line}");
        assert!(line.contains(&format!("{label}  ")), "{line}");
        line.len() - value.len()
    };
    let at = column("submitter", "acme-trading");
    // Each requirement of the policy, when it was met, and the witnessed
    // time: when the last of them was (contract §9).
    assert_eq!(
        column("arbitration>=1", "2026-11-29T06:00:03Z (1 counted)"),
        at
    );
    assert_eq!(column("court>=1", "2026-11-29T06:00:02Z (1 counted)"), at);
    assert_eq!(column("witnessed time", "2026-11-29T06:00:03Z"), at);
    assert_eq!(column("received (notary)", "Z"), at + 23);
}

#[test]
fn evidence_file_is_checked() {
    let ok = verify(&[
        os(&golden()),
        os("--trust"),
        os(&root()),
        os("--file"),
        os(&evidence()),
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("PASS  file"));
    let other = write("other.bin", b"not the evidence");
    let bad = verify(&[
        os(&golden()),
        os("--trust"),
        os(&root()),
        os("--file"),
        os(&other),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stdout(&bad).contains("INVALID: file: the file's SHA-256 is"),
        "{}",
        stdout(&bad)
    );
}

#[test]
fn json_output_is_machine_readable() {
    let o = verify(&[os(&golden()), os("--trust"), os(&root()), os("--json")]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["submitter"], "acme-trading");
    assert_eq!(v["kind"], "certificate");
    assert_eq!(v["witnessed"], true);
    assert_eq!(v["witnessed_at"], "2026-11-29T06:00:03Z");
    assert_eq!(v["groups"][0]["group"], "court");
    assert_eq!(v["groups"][0]["satisfied_at"], 1_795_932_002);
    assert_eq!(v["witnesses"][0]["counted"], true);
    assert_eq!(v["log"]["index"], 3);
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] != "fail")
    );
}

#[test]
fn tampered_certificate_exits_1_and_says_why() {
    let text = std::fs::read_to_string(golden()).unwrap();
    let tampered = text.replacen("acme-trading", "acme-tradinh", 1);
    let p = write("tampered.json", tampered.as_bytes());
    let o = verify(&[os(&p), os("--trust"), os(&root())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("INVALID: entry: the entry text differs"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("FAIL  entry"));
}

#[test]
fn wrong_origin_and_stricter_policy_are_invalid() {
    let o = verify(&[
        os(&golden()),
        os("--trust"),
        os(&root()),
        os("--origin"),
        os("x.example/log"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = verify(&[
        os(&golden()),
        os("--trust"),
        os(&root()),
        os("--policy"),
        os("court>=2"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("FAIL  policy"));
    let foreign = repo().join("tests/fixtures/pki/other-root.pem");
    let o = verify(&[os(&golden()), os("--trust"), os(&foreign)]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn usage_and_io_errors_exit_2_naming_the_problem() {
    let (g, r) = (golden(), root());
    let (golden, root) = (&g, &r);
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (vec![os(golden)], "no trust root given"),
        (
            vec![os("/nonexistent/cert.json"), os("--trust"), os(root)],
            "cannot read certificate /nonexistent/cert.json",
        ),
        (
            vec![os(golden), os("--trust"), os("/nonexistent/root.pem")],
            "cannot read trust file",
        ),
        (
            vec![
                os(golden),
                os("--trust"),
                os(root),
                os("--file"),
                os("/nonexistent/e"),
            ],
            "cannot read evidence file",
        ),
        (
            vec![
                os(golden),
                os("--trust"),
                os(root),
                os("--policy"),
                os("judge>=1"),
            ],
            "bad policy",
        ),
        (
            vec![os(golden), os("--trust"), os(golden)],
            "holds no CERTIFICATE",
        ),
    ];
    for (args, msg) in cases {
        let o = verify(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
    }
    let junk = write("junk.bin", b"\x00\x01binary");
    let o = verify(&[os(&junk), os("--trust"), os(root)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("neither a certificate JSON, a PDF, a c2sp.org/tlog-proof@v1 file nor"),
        "{}",
        stderr(&o)
    );
    let o = verify(&[os("--nonsense")]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn pdf_without_attachment_is_a_clear_error() {
    let pdf = write(
        "plain.pdf",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    );
    let o = verify(&[os(&pdf), os("--trust"), os(&root())]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("plain.pdf"), "{}", stderr(&o));
}

#[test]
fn bare_tlog_proof_with_entry() {
    let cert: serde_json::Value =
        serde_json::from_slice(&std::fs::read(golden()).unwrap()).unwrap();
    let proof = write(
        "entry.tlog-proof",
        cert["proof"].as_str().unwrap().as_bytes(),
    );
    let entry = write("entry.txt", cert["entry"].as_str().unwrap().as_bytes());
    let pems: String = cert["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let certs = write("signers.pem", pems.as_bytes());
    let o = verify(&[
        os(&proof),
        os("--entry"),
        os(&entry),
        os("--certs"),
        os(&certs),
        os("--trust"),
        os(&root()),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = verify(&[os(&proof), os("--trust"), os(&root())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs --entry"));
    let other = write(
        "other-entry.txt",
        cert["entry"]
            .as_str()
            .unwrap()
            .replace("acme", "acmf")
            .as_bytes(),
    );
    let o = verify(&[
        os(&proof),
        os("--entry"),
        os(&other),
        os("--certs"),
        os(&certs),
        os("--trust"),
        os(&root()),
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn large_evidence_is_streamed_in_bounded_memory() {
    // A 1 GiB sparse file: hashing must not read it into memory.
    let big = tmp("big.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let o = Command::new("/usr/bin/time")
        .args(["-f", "maxrss_kb=%M"])
        .arg(env!("CARGO_BIN_EXE_notarium-verify"))
        .args([
            os(&golden()),
            os("--trust"),
            os(&root()),
            os("--file"),
            os(&big),
        ])
        .output()
        .expect("GNU time (package 'time') is needed by this test");
    std::fs::remove_file(&big).unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("FAIL  file"));
    let err = stderr(&o);
    let kb: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb="))
        .unwrap_or_else(|| panic!("no maxrss in {err}"))
        .trim()
        .parse()
        .unwrap();
    assert!(kb < 64 * 1024, "verifier used {kb} KiB for a 1 GiB file");
}

#[test]
fn signed_receipt_with_entry() {
    let key = notarium_log::SigningKey::from_pkcs8_pem(
        &std::fs::read_to_string(repo().join("certs/notary.key")).unwrap(),
    )
    .unwrap();
    let cert: serde_json::Value =
        serde_json::from_slice(&std::fs::read(golden()).unwrap()).unwrap();
    let entry_text = cert["entry"].as_str().unwrap();
    let other_text = entry_text.replace("acme", "acmf");
    let receipts = notarium_log::sign::sign_receipts(
        "notarium.example/log",
        &key,
        &[other_text.as_bytes(), entry_text.as_bytes()],
    )
    .unwrap();
    let receipt = write("receipt.txt", receipts[1].as_bytes());
    let entry = write("receipt-entry.txt", entry_text.as_bytes());
    let notary = repo().join("certs/notary.pem");
    let o = verify(&[
        os(&receipt),
        os("--entry"),
        os(&entry),
        os("--certs"),
        os(&notary),
        os("--trust"),
        os(&root()),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("item 1 of a signed group of 2"), "{out}");
    // Contract §9: never VALID, and it says what a receipt is not.
    assert!(
        out.contains("RECEIPT VERIFIED (notary's signature only: not witnessed, no proof of time)"),
        "{out}"
    );
    assert!(!out.contains("VALID:"), "{out}");
    assert!(out.contains("which nothing attests"), "{out}");
    let root_pem = root();
    let args = [
        os(&receipt),
        os("--entry"),
        os(&entry),
        os("--certs"),
        os(&notary),
        os("--trust"),
        os(&root_pem),
    ];
    let o = verify(&[&args[..], &[os("--json")]].concat());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (&v["kind"], &v["witnessed"], &v["valid"], &v["verified"]),
        (
            &"receipt".into(),
            &false.into(),
            &false.into(),
            &true.into()
        )
    );
    assert!(v["witnessed_at"].is_null());
    // A policy asks for witnesses, which a receipt never has: a usage error.
    let o = verify(&[&args[..], &[os("--policy"), os("court>=5 arbitration>=5")]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("--policy does not apply to a receipt"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
    let wrong = write("receipt-other.txt", other_text.as_bytes());
    let o = verify(&[
        os(&receipt),
        os("--entry"),
        os(&wrong),
        os("--certs"),
        os(&notary),
        os("--trust"),
        os(&root()),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("FAIL  inclusion"));
    let o = verify(&[
        os(&receipt),
        os("--entry"),
        os(&entry),
        os("--trust"),
        os(&root()),
    ]);
    assert_eq!(o.status.code(), Some(1), "no notary certificate given");
}

/// A development signer, or one of tests/fixtures/pki.
fn signer(dir: &str, name: &str) -> notarium_log::testkit::Signer {
    let read =
        |ext: &str| std::fs::read_to_string(repo().join(format!("{dir}/{name}.{ext}"))).unwrap();
    notarium_log::testkit::Signer::from_pem(&read("key"), &read("pem"))
}

#[test]
fn a_backdated_cosignature_is_shown_not_counted_and_the_headline_is_the_witnessed_time() {
    use notarium_log::testkit::{Cosign, TestLog};
    const T0: u64 = 1_795_932_000; // 2026-11-29T06:00:00Z
    let mut log = TestLog::new();
    log.append(
        [7; 32],
        [8; 32],
        None,
        "acme-trading",
        "2026-11-29T05:59:59.000Z",
    );
    let (notary, court, court2, arb) = (
        signer("certs", "notary"),
        signer("certs", "court"),
        signer("tests/fixtures/pki", "court2"),
        signer("certs", "arbitration"),
    );
    let note = log.checkpoint_note(
        "notarium.example/log",
        &notary,
        &[
            Cosign {
                witness: &court,
                time: T0 - 365 * 86_400,
            },
            Cosign {
                witness: &court2,
                time: T0 + 1,
            },
            Cosign {
                witness: &arb,
                time: T0 + 5,
            },
        ],
    );
    let inter = notarium_core::identity::certs_from_pem_file(
        &std::fs::read_to_string(repo().join("tests/fixtures/pki/intermediate.pem")).unwrap(),
    )
    .unwrap();
    let pems = vec![
        notary.cert_pem.clone(),
        court.cert_pem.clone(),
        court2.cert_pem.clone(),
        arb.cert_pem.clone(),
        notarium_core::encoding::pem_encode("CERTIFICATE", &inter[0].der),
    ];
    let json = write(
        "backdated.json",
        log.certificate(0, note, pems).to_json().as_bytes(),
    );
    let o = verify(&[os(&json), os("--trust"), os(&root())]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("NOTE  cosignature       court witness court.example/witness cosigned at 2025-11-29T06:00:00Z, not counted: dated"), "{out}");
    assert!(
        out.contains("VALID: the evidence existed, unaltered, no later than 2026-11-29T06:00:05Z"),
        "{out}"
    );
    // --json carries the same time and the reason.
    let o = verify(&[os(&json), os("--trust"), os(&root()), os("--json")]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["witnessed_at"], "2026-11-29T06:00:05Z");
    assert_eq!(v["witnesses"][0]["counted"], false);
    assert!(
        v["witnesses"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("allowed skew of 300 s")
    );
    // A wider --max-skew lets it count; the time is still when the policy
    // was met.
    let o = verify(&[
        os(&json),
        os("--trust"),
        os(&root()),
        os("--max-skew"),
        os("40000000"),
    ]);
    assert!(
        stdout(&o).contains("no later than 2026-11-29T06:00:05Z"),
        "{}",
        stdout(&o)
    );
}

/// Runs the verifier under `/usr/bin/time -v`: its output and its peak
/// resident memory in kB.
fn verify_peak_kb(args: &[&std::ffi::OsStr]) -> (Output, u64) {
    let o = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_notarium-verify"))
        .args(args)
        .env_remove("NOTARIUM_TRUST")
        .env_remove("NOTARIUM_ORIGIN")
        .output()
        .expect("run /usr/bin/time -v notarium-verify");
    let err = stderr(&o);
    let kb = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak in /usr/bin/time's report: {err}"));
    (o, kb)
}

/// Issue 19: whatever the file (up to 10 MB), the verifier refuses it in
/// a little memory: decompression bombs, values by the million, files
/// larger than any certificate.
#[test]
fn hostile_inputs_up_to_10_mb_stay_under_200_mb() {
    use notarium_pdf::testkit::{object_stream_bomb, pdf_of};
    let catalog = || b"<< /Type /Catalog /Pages 2 0 R >>".to_vec();
    let pages = || b"<< /Type /Pages /Kids [] /Count 0 >>".to_vec();
    let array = |item: &[u8], n: usize| {
        let mut a = b"[".to_vec();
        a.extend_from_slice(&item.repeat(n));
        a.push(b']');
        pdf_of(&[catalog(), pages(), a])
    };
    let padded = |mut pdf: Vec<u8>| {
        pdf.resize(9_900_000, b'\n');
        pdf
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // The review's file, a fifth of it (600 MB decoded).
        (
            "bomb.pdf",
            object_stream_bomb(40, 15 << 20),
            "object streams",
        ),
        ("numbers.pdf", array(b"0 ", 1_500_000), "may begin"),
        ("names.pdf", array(b"/", 3_000_000), "may begin"),
        ("big.pdf", padded(object_stream_bomb(40, 15 << 20)), "bytes"),
        ("big.json", padded(b"{\"format\": ".to_vec()), "bytes"),
    ];
    for (name, bytes, why) in cases {
        assert!(bytes.len() <= 10_000_000);
        let path = write(name, &bytes);
        let (o, kb) = verify_peak_kb(&[os(&path), os("--trust"), os(&root())]);
        println!("{name}: {} bytes, peak {kb} kB", bytes.len());
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{name}: {}", stderr(&o));
        assert!(kb < 200 * 1024, "{name}: the verifier peaked at {kb} kB");
    }
}

/// The golden certificate with RFC 3161 tokens (contract §9) made by the
/// development TSA at `gen_time` over `data` (None: the checkpoint body).
fn with_timestamps(name: &str, tokens: &[TokenSpec<'_>]) -> PathBuf {
    let mut cert: serde_json::Value =
        serde_json::from_slice(&std::fs::read(golden()).unwrap()).unwrap();
    let proof = notarium_core::proof::TlogProof::parse(cert["proof"].as_str().unwrap()).unwrap();
    let body = proof.checkpoint.text().to_string();
    let mut list = Vec::new();
    for (data, gen_time, key, pem) in tokens {
        let read = |f: &str| std::fs::read_to_string(repo().join(f)).unwrap();
        let tsa = notarium_timestamp::tsa::DevTsa::from_pem(&read(key), &read(pem)).unwrap();
        let digest = notarium_core::merkle::sha256(data.unwrap_or(body.as_bytes()));
        let request = notarium_timestamp::TimestampRequest::new(digest, &[1; 8]).unwrap();
        let response = tsa.respond(request.der(), *gen_time, &gen_time.to_be_bytes());
        // The token is the response's last element, a ContentInfo.
        let token = &response[response.len() - token_len(&response)..];
        list.push(serde_json::Value::String(notarium_core::encoding::b64(
            token,
        )));
    }
    cert["timestamps"] = serde_json::Value::Array(list);
    write(
        name,
        serde_json::to_string_pretty(&cert).unwrap().as_bytes(),
    )
}

/// Length of the TimeStampToken at the end of a DER TimeStampResp: the
/// second element of the outer SEQUENCE (after PKIStatusInfo).
fn token_len(resp: &[u8]) -> usize {
    fn header(b: &[u8]) -> (usize, usize) {
        match b[1] {
            n if n < 0x80 => (2, n as usize),
            n => {
                let k = (n & 0x7f) as usize;
                (
                    2 + k,
                    b[2..2 + k].iter().fold(0, |a, &x| a * 256 + x as usize),
                )
            }
        }
    }
    let (h, _) = header(resp);
    let status = &resp[h..];
    let (sh, sl) = header(status);
    resp.len() - h - sh - sl
}

/// A token to make: over `data` (None: the checkpoint body), at genTime,
/// by the TSA with this key and certificate file.
type TokenSpec<'a> = (Option<&'a [u8]>, u64, &'a str, &'a str);

/// 2026-11-29T06:00:30Z: 37 s after the golden entry was received.
const TSA_TIME: u64 = 1_795_932_030;
const DEV_TSA: (&str, &str) = ("certs/tsa.key", "certs/tsa.pem");

#[test]
fn timestamps_verify_with_tsa_trust_and_count_for_tsa_policies() {
    let cert = with_timestamps("ts-valid.json", &[(None, TSA_TIME, DEV_TSA.0, DEV_TSA.1)]);
    let policy = "court>=1 arbitration>=1 tsa>=1";
    let o = verify(&[
        os(&cert),
        os("--trust"),
        os(&root()),
        os("--tsa-trust"),
        os(&root()),
        os("--policy"),
        os(policy),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.contains(
            "PASS  timestamp         TSA Notarium Development TSA timestamped the checkpoint at 2026-11-29T06:00:30Z"
        ),
        "{out}"
    );
    assert!(
        out.contains("tsa>=1                2026-11-29T06:00:30Z (1 counted)"),
        "{out}"
    );
    let o = verify(&[
        os(&cert),
        os("--trust"),
        os(&root()),
        os("--tsa-trust"),
        os(&root()),
        os("--json"),
    ]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["timestamps"][0]["tsa"], "Notarium Development TSA");
    assert_eq!(json["timestamps"][0]["unix_time"], TSA_TIME);
    assert_eq!(json["timestamps"][0]["counted"], true);

    // Without --tsa-trust the token is not checked and counts for nothing.
    let o = verify(&[os(&cert), os("--trust"), os(&root())]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("SKIP  timestamp         an RFC 3161 token: not checked"));
    let o = verify(&[
        os(&cert),
        os("--trust"),
        os(&root()),
        os("--policy"),
        os(policy),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("1 tsa required, 0 counted"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn tampered_or_untrusted_timestamps_make_the_certificate_invalid() {
    let fix = "tests/fixtures/pki";
    let other_tsa = (
        format!("{fix}/other-notary.key"),
        format!("{fix}/other-notary.pem"),
    );
    let cases: [(&str, Vec<TokenSpec<'_>>, &str); 3] = [
        (
            "ts-other-data.json",
            vec![(
                Some(&b"another checkpoint"[..]),
                TSA_TIME,
                DEV_TSA.0,
                DEV_TSA.1,
            )],
            "the token's message imprint is",
        ),
        (
            // Signed by a certificate without the timeStamping EKU.
            "ts-not-a-tsa.json",
            vec![(None, TSA_TIME, &other_tsa.0, &other_tsa.1)],
            "exactly one extendedKeyUsage extension",
        ),
        (
            // The TSA certificate (2025-2035) is not valid in 2040.
            "ts-expired.json",
            vec![(None, 2_208_988_800, DEV_TSA.0, DEV_TSA.1)],
            "is not valid at 2040-01-01T00:00:00Z",
        ),
    ];
    for (name, tokens, says) in cases {
        let cert = with_timestamps(name, &tokens);
        let o = verify(&[
            os(&cert),
            os("--trust"),
            os(&root()),
            os("--tsa-trust"),
            os(&root()),
        ]);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {out}");
        assert!(out.contains("FAIL  timestamp"), "{name}: {out}");
        assert!(out.contains(says), "{name}: {out}");
    }
    // Another TSA root: the development TSA is not trusted.
    let cert = with_timestamps(
        "ts-untrusted.json",
        &[(None, TSA_TIME, DEV_TSA.0, DEV_TSA.1)],
    );
    let other_root = repo().join(fix).join("other-root.pem");
    let o = verify(&[
        os(&cert),
        os("--trust"),
        os(&root()),
        os("--tsa-trust"),
        os(&other_root),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("does not chain to a configured trust root"),
        "{}",
        stdout(&o)
    );

    // One flipped byte of the token's signature (its last byte).
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cert).unwrap()).unwrap();
    let token = json["timestamps"][0].as_str().unwrap().to_string();
    let mut der = notarium_core::encoding::parse_b64("token", &token).unwrap();
    *der.last_mut().unwrap() ^= 1;
    json["timestamps"][0] = notarium_core::encoding::b64(&der).into();
    let flipped = write("ts-flipped.json", json.to_string().as_bytes());
    let o = verify(&[
        os(&flipped),
        os("--trust"),
        os(&root()),
        os("--tsa-trust"),
        os(&root()),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("does not verify with the TSA certificate's key"),
        "{}",
        stdout(&o)
    );

    // A token dated before the entry was received (beyond the skew) and a
    // second token of the same TSA: shown, not counted.
    let cert = with_timestamps(
        "ts-early.json",
        &[
            (None, TSA_TIME - 3600, DEV_TSA.0, DEV_TSA.1),
            (None, TSA_TIME, DEV_TSA.0, DEV_TSA.1),
            (None, TSA_TIME + 5, DEV_TSA.0, DEV_TSA.1),
        ],
    );
    let o = verify(&[
        os(&cert),
        os("--trust"),
        os(&root()),
        os("--tsa-trust"),
        os(&root()),
        os("--policy"),
        os("court>=1 arbitration>=1 tsa>=1"),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("not counted: dated 3563 s before the entry was received"),
        "{out}"
    );
    assert!(
        out.contains("not counted: the same TSA (by key or name) as Notarium Development TSA"),
        "{out}"
    );
    assert!(
        out.contains("tsa>=1                2026-11-29T06:00:30Z (1 counted)"),
        "{out}"
    );

    // Not base64: a format error.
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(golden()).unwrap()).unwrap();
    json["timestamps"] = serde_json::json!(["not base64!"]);
    let bad = write("ts-garbage.json", json.to_string().as_bytes());
    let o = verify(&[
        os(&bad),
        os("--trust"),
        os(&root()),
        os("--tsa-trust"),
        os(&root()),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("FAIL  format"), "{}", stdout(&o));
}

#[test]
fn a_key_that_is_both_witness_and_tsa_counts_for_neither() {
    // A TSA certificate (development root, critical timeStamping EKU) for
    // the court witness's own key.
    let dir = tmp("court-tsa");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = dev\n[dev]\ndatabase = ./index.txt\nnew_certs_dir = .\n\
         serial = ./serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n\
         [any]\ncommonName = supplied\n[tsa]\nbasicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature\nextendedKeyUsage = critical, timeStamping\n",
    )
    .unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "3000\n").unwrap();
    let certs = repo().join("certs");
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "openssl {args:?}: {}", stderr(&o));
    };
    let court_key = certs.join("court.key");
    let (root_pem, root_key) = (certs.join("root.pem"), certs.join("root.key"));
    let court_key = court_key.to_str().unwrap();
    run(&[
        "req",
        "-new",
        "-key",
        court_key,
        "-subj",
        "/CN=Court TSA",
        "-out",
        "tsa.csr",
    ]);
    run(&[
        "ca",
        "-batch",
        "-config",
        "ca.cnf",
        "-notext",
        "-extensions",
        "tsa",
        "-cert",
        root_pem.to_str().unwrap(),
        "-keyfile",
        root_key.to_str().unwrap(),
        "-startdate",
        "20250101000000Z",
        "-enddate",
        "20350101000000Z",
        "-in",
        "tsa.csr",
        "-out",
        "tsa.pem",
    ]);
    let tsa_pem = dir.join("tsa.pem");
    let (key, pem) = (court_key, tsa_pem.to_str().unwrap());
    // with_timestamps reads paths relative to the repository; absolute ones
    // stay absolute when joined.
    let cert = with_timestamps("ts-court-key.json", &[(None, TSA_TIME, key, pem)]);
    let o = verify(&[
        os(&cert),
        os("--trust"),
        os(&root()),
        os("--tsa-trust"),
        os(&root()),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("TSA Court TSA timestamped the checkpoint at 2026-11-29T06:00:30Z, not counted: its key or name is certified in two roles"), "{out}");
    assert!(out.contains("court witness court.example/witness cosigned at 2026-11-29T06:00:02Z, not counted: its key or name is certified in two roles"), "{out}");
    assert!(out.contains("1 court required, 0 counted"), "{out}");
}

/// A C2SP tlog-policy file (issue 20): `quorum none` adds nothing; a quorum
/// of standard witnesses the certificate lacks makes it invalid; a bad file
/// is a usage error naming its line.
#[test]
fn policy_file_is_combined_with_the_role_policy() {
    // An Ed25519 cosignature/v1 vkey (a public witness's, from
    // transparency-dev/formats' tests).
    let vkey = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
    let run = |name: &str, text: &str| {
        let p = write(name, text.as_bytes());
        verify(&[
            os(&golden()),
            os("--trust"),
            os(&root()),
            os("--policy-file"),
            os(&p),
        ])
    };
    let o = run("none.policy", "# no standard witness needed\nquorum none\n");
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("and the policy file's quorum\" is satisfied"),
        "{}",
        stdout(&o)
    );
    let o = run(
        "remora.policy",
        &format!("witness remora {vkey}\nquorum remora\n"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("1 standard required, 0 counted"),
        "{}",
        stdout(&o)
    );
    let o = run(
        "bad.policy",
        &format!("witness remora {vkey}\ngroup g 3 remora\nquorum g\n"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("line 2: threshold \"3\""),
        "{}",
        stderr(&o)
    );
    let o = run("noquorum.policy", &format!("witness remora {vkey}\n"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no quorum line"), "{}", stderr(&o));
}
