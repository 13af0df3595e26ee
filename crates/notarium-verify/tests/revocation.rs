//! Offline revocation with the real `notarium-verify` binary and CRLs made by
//! `openssl ca -gencrl` (contract §9, docs/format.md §5): a signature by a
//! revoked certificate counts only if the policy was met, by the unrevoked
//! counted signatures alone, strictly before the revocation took effect
//! (the entry's invalidityDate if it has one, else its revocationDate).

use notarium_log::testkit::{Cosign, Signer, TestLog};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const T0: u64 = 1_795_932_000; // 2026-11-29T06:00:00Z

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn root() -> PathBuf {
    repo().join("certs/root.pem")
}

/// A fresh directory for one test.
fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("notarium-revocation-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
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

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn signer(dir: &str, name: &str) -> Signer {
    let read =
        |ext: &str| std::fs::read_to_string(repo().join(format!("{dir}/{name}.{ext}"))).unwrap();
    Signer::from_pem(&read("key"), &read("pem"))
}

fn openssl(args: &[&std::ffi::OsStr], cwd: &Path) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "openssl {args:?}: {}", out(&o));
}

/// The serial number of a PEM certificate, in hex as openssl prints it.
fn serial(cert: &Path) -> String {
    let o = Command::new("openssl")
        .args([os("x509"), os("-in"), os(cert), os("-noout"), os("-serial")])
        .output()
        .unwrap();
    String::from_utf8(o.stdout)
        .unwrap()
        .trim()
        .trim_start_matches("serial=")
        .to_string()
}

/// A CRL issued by `ca` (certificate and key, relative to the repository)
/// revoking each `(certificate, revocation field)`: the field is openssl's
/// index.txt form, `YYMMDDHHMMSSZ,keyCompromise` (a revocationDate and the
/// reason) or `YYMMDDHHMMSSZ,keyTime,YYYYMMDDHHMMSSZ` (reason keyCompromise
/// with an invalidityDate). PEM, or DER when `der`.
fn crl(work: &Path, ca: (&str, &str), revoked: &[(&str, &str)], der: bool) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ca_dir = work.join(format!("ca-{n}"));
    std::fs::create_dir_all(&ca_dir).unwrap();
    let mut index = String::new();
    for (cert, field) in revoked {
        let s = serial(&repo().join(cert));
        index.push_str(&format!(
            "R\t350101000000Z\t{field}\t{s}\tunknown\t/CN=revoked\n"
        ));
    }
    std::fs::write(ca_dir.join("index.txt"), index).unwrap();
    std::fs::write(ca_dir.join("crlnumber"), "01\n").unwrap();
    std::fs::write(
        ca_dir.join("ca.cnf"),
        "[ca]\ndefault_ca = dev\n[dev]\ndatabase = index.txt\ncrlnumber = crlnumber\n\
         default_md = sha256\ndefault_crl_days = 3650\n",
    )
    .unwrap();
    let pem = work.join(format!("crl-{n}.pem"));
    openssl(
        &[
            os("ca"),
            os("-gencrl"),
            os("-config"),
            os("ca.cnf"),
            os("-cert"),
            os(&repo().join(ca.0)),
            os("-keyfile"),
            os(&repo().join(ca.1)),
            os("-out"),
            os(&pem),
        ],
        &ca_dir,
    );
    std::fs::remove_dir_all(&ca_dir).unwrap();
    if !der {
        return pem;
    }
    let der = work.join(format!("crl-{n}.der"));
    openssl(
        &[
            os("crl"),
            os("-in"),
            os(&pem),
            os("-outform"),
            os("DER"),
            os("-out"),
            os(&der),
        ],
        work,
    );
    der
}

/// A certificate of one entry (received 05:59:59) cosigned by court at
/// T0+1, court2 (through the intermediate CA) at T0+2 and arbitration at
/// T0+5; with `court2` false, by court at T0+1 and arbitration at T0+5 only.
fn certificate(work: &Path, court2: bool) -> PathBuf {
    let mut log = TestLog::new();
    log.append(
        [7; 32],
        [8; 32],
        None,
        "acme-trading",
        "2026-11-29T05:59:59.000Z",
    );
    let (notary, court, c2, arb) = (
        signer("certs", "notary"),
        signer("certs", "court"),
        signer("tests/fixtures/pki", "court2"),
        signer("certs", "arbitration"),
    );
    let mut cosigs = vec![Cosign {
        witness: &court,
        time: T0 + 1,
    }];
    let mut pems = vec![notary.cert_pem.clone(), court.cert_pem.clone()];
    if court2 {
        cosigs.push(Cosign {
            witness: &c2,
            time: T0 + 2,
        });
        pems.push(c2.cert_pem.clone());
        let inter =
            std::fs::read_to_string(repo().join("tests/fixtures/pki/intermediate.pem")).unwrap();
        pems.push(inter.trim_end().to_string() + "\n");
    }
    cosigs.push(Cosign {
        witness: &arb,
        time: T0 + 5,
    });
    pems.push(arb.cert_pem.clone());
    let note = log.checkpoint_note("notarium.example/log", &notary, &cosigs);
    let p = work.join("certificate.json");
    std::fs::write(&p, log.certificate(0, note, pems).to_json()).unwrap();
    p
}

fn run(cert: &Path, crl: &Path, extra: &[&str]) -> Output {
    let root = root();
    let mut args = vec![os(cert), os("--trust"), os(&root), os("--crl"), os(crl)];
    args.extend(extra.iter().map(os));
    verify(&args)
}

fn json(cert: &Path, crl: &Path, extra: &[&str]) -> serde_json::Value {
    let mut e = extra.to_vec();
    e.push("--json");
    serde_json::from_slice(&run(cert, crl, &e).stdout).expect("--json output")
}

fn witness<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["witnesses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no witness {name}: {v}"))
}

#[test]
fn without_a_crl_every_witness_counts() {
    let work = dir("none");
    let cert = certificate(&work, true);
    let o = verify(&[os(&cert), os("--trust"), os(&root()), os("--json")]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(witness(&v, "court.example/witness")["counted"], true);
    assert_eq!(v["witnessed_at"], "2026-11-29T06:00:05Z");
}

#[test]
fn a_key_compromise_dated_before_the_witnessed_time_is_not_counted_and_the_verdict_says_why() {
    let work = dir("before");
    let cert = certificate(&work, true);
    // revocationDate 2026-11-28T06:00:00Z, a day before every cosignature.
    let crl = crl(
        &work,
        ("certs/root.pem", "certs/root.key"),
        &[("certs/court.pem", "261128060000Z,keyCompromise")],
        false,
    );
    let o = run(&cert, &crl, &[]);
    let text = out(&o);
    // court2 and arbitration still meet the default policy: valid, at the
    // time they attest, with the court cosignature shown and not counted.
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "NOTE  cosignature       court witness court.example/witness cosigned at 2026-11-29T06:00:01Z, not counted:"
        ),
        "{text}"
    );
    assert!(text.contains("revoked from 2026-11-28T06:00:00Z"), "{text}");
    assert!(
        text.contains("VALID: the evidence existed, unaltered, no later than 2026-11-29T06:00:05Z"),
        "{text}"
    );
    let v = json(&cert, &crl, &[]);
    let court = witness(&v, "court.example/witness");
    assert_eq!(court["counted"], false);
    assert!(
        court["reason"]
            .as_str()
            .unwrap()
            .contains("revoked from 2026-11-28T06:00:00Z"),
        "{v}"
    );
    assert_eq!(witness(&v, "court2.example/witness")["counted"], true);
    // The court group is met by court2 alone, at its time.
    assert_eq!(v["groups"][0]["group"], "court");
    assert_eq!(v["groups"][0]["satisfied_at"], T0 + 2);

    // A policy that needs both court witnesses is not met: INVALID, and why.
    let o = run(&cert, &crl, &["--policy", "court>=2 arbitration>=1"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  policy"), "{text}");
    assert!(text.contains("INVALID: policy: witness policy"), "{text}");

    // With only the revoked court witness, the default policy is not met.
    let two = certificate(&dir("before-two"), false);
    let o = run(&two, &crl, &[]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("revoked from 2026-11-28T06:00:00Z"), "{text}");
    assert!(text.contains("INVALID: policy"), "{text}");
}

#[test]
fn a_key_compromise_dated_after_the_witnessed_time_leaves_the_cosignature_counted() {
    let work = dir("after");
    let cert = certificate(&work, true);
    // revocationDate 2026-11-30T06:00:00Z: a day after the witnessed time,
    // by which the policy was met by court2 and arbitration alone.
    for der in [false, true] {
        let crl = crl(
            &work,
            ("certs/root.pem", "certs/root.key"),
            &[("certs/court.pem", "261130060000Z,keyCompromise")],
            der,
        );
        let o = run(&cert, &crl, &[]);
        let text = out(&o);
        assert_eq!(o.status.code(), Some(0), "der={der}: {text}");
        assert!(
            text.contains(
                "PASS  cosignature       court witness court.example/witness cosigned at 2026-11-29T06:00:01Z"
            ),
            "{text}"
        );
        let v = json(&cert, &crl, &[]);
        assert_eq!(witness(&v, "court.example/witness")["counted"], true, "{v}");
        assert_eq!(v["groups"][0]["satisfied_at"], T0 + 1, "{v}");
        assert_eq!(v["witnessed_at"], "2026-11-29T06:00:05Z");
    }
}

#[test]
fn a_revoked_witness_the_policy_cannot_do_without_never_counts() {
    // Contract §9: a revoked signature counts only if the witnessed time
    // computed without it precedes the revocation. A compromised key can
    // sign any timestamp, so a revocation dated after the cosignature does
    // not save a certificate that needs that witness.
    let work = dir("needed");
    let crl = crl(
        &work,
        ("certs/root.pem", "certs/root.key"),
        &[("certs/court.pem", "261130060000Z,keyCompromise")],
        false,
    );
    let two = certificate(&work, false);
    let o = run(&two, &crl, &[]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "revoked from 2026-11-30T06:00:00Z, and the policy was not met without it before then"
        ),
        "{text}"
    );
    // So does a certificate of three witnesses under a policy that needs
    // both court witnesses.
    let three = certificate(&dir("needed-three"), true);
    let o = run(&three, &crl, &["--policy", "court>=2 arbitration>=1"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
}

#[test]
fn an_invalidity_date_before_the_witnessed_time_wins_over_a_later_revocation_date() {
    let work = dir("invalidity");
    let cert = certificate(&work, true);
    // Revoked on 2026-11-30 (after), key compromised since 2026-11-28
    // (invalidityDate, before).
    let crl = crl(
        &work,
        ("certs/root.pem", "certs/root.key"),
        &[("certs/court.pem", "261130060000Z,keyTime,20261128060000Z")],
        false,
    );
    let v = json(&cert, &crl, &[]);
    let court = witness(&v, "court.example/witness");
    assert_eq!(court["counted"], false, "{v}");
    assert!(
        court["reason"]
            .as_str()
            .unwrap()
            .contains("revoked from 2026-11-28T06:00:00Z"),
        "{v}"
    );
    assert_eq!(v["valid"], true);
}

#[test]
fn a_revoked_intermediate_ca_revokes_the_witnesses_below_it() {
    let work = dir("intermediate");
    let cert = certificate(&work, true);
    let crl = crl(
        &work,
        ("certs/root.pem", "certs/root.key"),
        &[(
            "tests/fixtures/pki/intermediate.pem",
            "261128060000Z,cACompromise",
        )],
        false,
    );
    let v = json(&cert, &crl, &[]);
    let c2 = witness(&v, "court2.example/witness");
    assert_eq!(c2["counted"], false, "{v}");
    assert!(
        c2["reason"]
            .as_str()
            .unwrap()
            .contains("Intermediate CA revoked from"),
        "{v}"
    );
    assert_eq!(witness(&v, "court.example/witness")["counted"], true);
    assert_eq!(v["valid"], true);
}

#[test]
fn a_revoked_notary_certificate_counts_only_before_the_revocation() {
    let work = dir("notary");
    let cert = certificate(&work, true);
    let before = crl(
        &work,
        ("certs/root.pem", "certs/root.key"),
        &[("certs/notary.pem", "261128060000Z,keyCompromise")],
        false,
    );
    let o = run(&cert, &before, &[]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  notary-signature"), "{text}");
    assert!(
        text.contains("revoked from 2026-11-28T06:00:00Z, not after the witnessed time"),
        "{text}"
    );
    let after = crl(
        &work,
        ("certs/root.pem", "certs/root.key"),
        &[("certs/notary.pem", "261130060000Z,keyCompromise")],
        false,
    );
    let o = run(&cert, &after, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

#[test]
fn a_crl_whose_signature_does_not_verify_makes_the_certificate_invalid() {
    let work = dir("forged");
    let cert = certificate(&work, true);
    let der = crl(
        &work,
        ("certs/root.pem", "certs/root.key"),
        &[("certs/arbitration.pem", "261130060000Z,keyCompromise")],
        true,
    );
    let mut bytes = std::fs::read(&der).unwrap();
    // The last byte is inside the signature's s value.
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&der, bytes).unwrap();
    let o = run(&cert, &der, &[]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("does not verify with that CA's key"),
        "{text}"
    );
}

#[test]
fn a_crl_of_another_ca_does_not_apply() {
    let work = dir("foreign");
    let cert = certificate(&work, true);
    // The foreign root's CRL lists a serial equal to court's: another
    // issuer, so it does not revoke court.
    let crl = crl(
        &work,
        (
            "tests/fixtures/pki/other-root.pem",
            "tests/fixtures/pki/other-root.key",
        ),
        &[("certs/court.pem", "261128060000Z,keyCompromise")],
        false,
    );
    let v = json(&cert, &crl, &[]);
    assert_eq!(witness(&v, "court.example/witness")["counted"], true, "{v}");
    assert_eq!(v["valid"], true);
}

#[test]
fn an_unreadable_or_empty_crl_file_is_a_usage_error() {
    let work = dir("bad");
    let cert = certificate(&work, true);
    let missing = work.join("missing.crl");
    let o = run(&cert, &missing, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("missing.crl"), "{}", out(&o));
    let junk = work.join("junk.crl");
    std::fs::write(&junk, b"\x30\x03\x02\x01\x01").unwrap();
    let o = run(&cert, &junk, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("CRL"), "{}", out(&o));
    // A PEM file without a CRL in it (here, a certificate) is not silently
    // taken as "nothing is revoked".
    let o = run(&cert, &root(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("holds no X509 CRL"), "{}", out(&o));
}
