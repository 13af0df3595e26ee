//! Trust that lasts years (issue 18), end to end with the real binaries: a
//! notary key rotation and a witness certificate renewal while the log
//! goes on. Certificates issued before, during and after each change all
//! verify with the real `notarium-verify`, each carrying the certificates
//! that signed it; a witness refuses the old notary key once its overlap
//! has ended (docs/operations.md, "Rotating the notary key").

mod common;

use common::*;
use notarium_core::checkpoint::Checkpoint;
use notarium_core::note::Note;
use notarium_log::SigningKey;
use notarium_log::sign::SignCheckpoint;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// `notarium-verify` on a certificate, trusting the development root and
/// pinning the origin: (exit code, stdout).
fn verify(dir: &Path, name: &str, cert: &[u8]) -> (i32, String) {
    let p = dir.join(name);
    std::fs::write(&p, cert).unwrap();
    let o = Command::new(verify_bin())
        .arg(&p)
        .arg("--trust")
        .arg(cert_path("root.pem"))
        .args(["--origin", "notarium.example/log"])
        .env_remove("NOTARIUM_TRUST")
        .env_remove("NOTARIUM_ORIGIN")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn cert_path(name: &str) -> PathBuf {
    cert(name)
}

/// A new ECDSA P-256 key and a certificate for it (or for `reuse_key`),
/// issued by the development root with the signer profile of
/// certs/generate.sh, valid from now for a year: `(key, cert)` paths.
fn issue(dir: &Path, name: &str, subject: &str, reuse_key: Option<&Path>) -> (PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let key = dir.join(format!("{name}.key"));
    match reuse_key {
        Some(k) => {
            std::fs::copy(k, &key).unwrap();
        }
        None => run(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            key.to_str().unwrap(),
        ]),
    }
    std::fs::write(
        dir.join("signer.cnf"),
        "[signer]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
    )
    .unwrap();
    let csr = dir.join(format!("{name}.csr"));
    run(&[
        "req",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-subj",
        subject,
        "-out",
        csr.to_str().unwrap(),
    ]);
    let pem = dir.join(format!("{name}.pem"));
    run(&[
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        cert_path("root.pem").to_str().unwrap(),
        "-CAkey",
        cert_path("root.key").to_str().unwrap(),
        "-set_serial",
        &format!("0x{:x}", rand_serial()),
        "-days",
        "365",
        "-sha256",
        "-extfile",
        "signer.cnf",
        "-extensions",
        "signer",
        "-out",
        pem.to_str().unwrap(),
    ]);
    (key, pem)
}

fn rand_serial() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    (t ^ (std::process::id() as u64) << 32) >> 2 | 1 << 40
}

const O: &str = "/O=Notarium Development (NOT FOR PRODUCTION)";

/// Rewrites one setting line of a configuration file.
fn set_line(path: &Path, starts_with: &str, line: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut found = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(starts_with) {
                found = true;
                line.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(found, "no line {starts_with:?} in {}", path.display());
    std::fs::write(path, out.join("\n") + "\n").unwrap();
}

fn utc(unix: i64) -> String {
    notarium_core::identity::seconds_text(unix as u64 as i64)
}

fn now() -> i64 {
    notarium_log::clock::now().unix_seconds()
}

/// The certificate PEMs a certificate JSON carries.
fn pems(cert: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(cert).unwrap();
    v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

fn pem_of(path: &Path) -> String {
    let c = notarium_core::identity::certs_from_pem_file(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .remove(0);
    notarium_core::encoding::pem_encode("CERTIFICATE", &c.der)
}

/// An add-checkpoint request that re-presents the witness's latest cosigned
/// checkpoint (same size and root) signed by `key`: what a notary that
/// still held the old key could send. Returns the HTTP status and body.
async fn present_latest_signed_by(
    http: &reqwest::Client,
    witness: &str,
    key: &SigningKey,
) -> (u16, String) {
    let latest = http
        .get(format!("{witness}/checkpoint?origin=notarium.example/log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let note = Note::parse(&latest).unwrap();
    let cp = Checkpoint::parse(note.text()).unwrap();
    let signed = cp.signed_note(key).unwrap();
    let body = format!("old {}\n\n{}", cp.size(), signed.to_text());
    let r = http
        .post(format!("{witness}/add-checkpoint"))
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notary_key_rotation_keeps_old_and_new_certificates_valid() {
    let tmp = TempDir::new("rotation");
    let dir = tmp.path();
    let (new_key, new_cert) = issue(
        dir,
        "notary-2",
        &format!("{O}/OU=notary/CN=notarium.example\\/log"),
        None,
    );

    // Before: the log signs with the old key; the witnesses trust it alone.
    let court = start_witness(dir, "court");
    let arb = start_witness(dir, "arbitration");
    let (court_url, arb_url) = (court.url.clone(), arb.url.clone());
    let cfg = write_notary_config(dir, &court_url, &arb_url, "");
    let key = tenant_with_key(&cfg, None, "acme");
    let mut notary = start_notary(&cfg, None);
    let http = http_client();
    let a = submit_text(&http, &notary.url, &key, "before the rotation").await;
    let (_, cert_a) = final_certificate(&http, &notary.url, &key, &a).await;

    // 1. Every witness trusts both keys: the new one, and the old one until
    //    the end of the overlap.
    let overlap_end = utc(now() + 30 * 86_400);
    let both = format!(
        "notary_certificates = [{:?}, {{ file = {:?}, until = \"{overlap_end}\" }}]",
        new_cert.display().to_string(),
        cert_path("notary.pem").display().to_string()
    );
    let mut witnesses = Vec::new();
    drop((court, arb));
    for (role, url) in [("court", &court_url), ("arbitration", &arb_url)] {
        set_line(
            &dir.join(format!("{role}-witness.toml")),
            "notary_certificates",
            &both,
        );
        witnesses.push(restart_witness(dir, role, url));
    }
    // The old key is still accepted during the overlap.
    let b = submit_text(&http, &notary.url, &key, "during the overlap, old key").await;
    let (_, cert_b) = final_certificate(&http, &notary.url, &key, &b).await;

    // An entry whose checkpoint the old key signs just before the restart
    // and that becomes final only after it (the arbitration witness is down
    // meanwhile).
    witnesses[1].kill9();
    let pending = submit_text(
        &http,
        &notary.url,
        &key,
        "signed by the old key, final after",
    )
    .await;
    eventually("the entry sequenced", Duration::from_secs(60), || async {
        get_json(
            &http,
            &format!("{}/v1/evidence/{pending}", notary.url),
            &key,
        )
        .await["index"]
            .as_u64()
    })
    .await;

    // 2. The notary restarts with the new key and certificate, keeping the
    //    old certificate for checkpoints the old key signed.
    notary.kill9();
    let cfg_text = std::fs::read_to_string(&cfg).unwrap();
    let cfg_text = cfg_text
        .replace(
            &format!("key_file = \"{}\"", cert_path("notary.key").display()),
            &format!("key_file = \"{}\"", new_key.display()),
        )
        .replace(
            &format!("cert_file = \"{}\"", cert_path("notary.pem").display()),
            &format!(
                "cert_file = \"{}\"\nprevious_cert_files = [\"{}\"]",
                new_cert.display(),
                cert_path("notary.pem").display()
            ),
        );
    std::fs::write(&cfg, cfg_text).unwrap();
    let notary = start_notary(&cfg, None);
    witnesses[1] = restart_witness(dir, "arbitration", &arb_url);
    // Nothing new is submitted yet: the latest checkpoint is still the old
    // key's, and becomes final with the old certificate.
    let (_, cert_pending) = final_certificate(&http, &notary.url, &key, &pending).await;
    let c = submit_text(&http, &notary.url, &key, "after the rotation").await;
    let (status_c, cert_c) = final_certificate(&http, &notary.url, &key, &c).await;
    assert!(
        status_c["index"].as_u64().unwrap() > 1,
        "the log goes on: {status_c}"
    );

    // Old and new certificates verify, each with the notary certificate
    // that signed it.
    let (old_pem, new_pem) = (pem_of(&cert_path("notary.pem")), pem_of(&new_cert));
    for (name, cert, notary_pem) in [
        ("a.json", &cert_a, &old_pem),
        ("b.json", &cert_b, &old_pem),
        ("pending.json", &cert_pending, &old_pem),
        ("c.json", &cert_c, &new_pem),
    ] {
        let (code, out) = verify(dir, name, cert);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.contains("VALID: the evidence existed"), "{name}: {out}");
        let carried = pems(cert);
        assert!(carried.contains(notary_pem), "{name} carries its signer");
        assert_eq!(carried.len(), 3, "{name}: notary, court, arbitration");
    }
    // Certificate A, fetched again after the rotation, is the same bytes.
    let again = get_bytes(
        &http,
        &format!("{}/v1/evidence/{a}/certificate.json", notary.url),
        &key,
    )
    .await;
    assert_eq!(again, cert_a);

    // 3. The overlap ends: a witness now refuses the old key (403, saying
    //    why) and goes on cosigning the new one.
    let old_key =
        SigningKey::from_pkcs8_pem(&std::fs::read_to_string(cert_path("notary.key")).unwrap())
            .unwrap();
    let (code, body) = present_latest_signed_by(&http, &court_url, &old_key).await;
    assert_eq!(
        code, 200,
        "the old key is accepted during the overlap: {body}"
    );
    let ended = utc(now() - 1);
    let after = format!(
        "notary_certificates = [{:?}, {{ file = {:?}, until = \"{ended}\" }}]",
        new_cert.display().to_string(),
        cert_path("notary.pem").display().to_string()
    );
    drop(witnesses);
    let court_cfg = dir.join("court-witness.toml");
    set_line(&court_cfg, "notary_certificates", &after);
    let _court = restart_witness(dir, "court", &court_url);
    let _arb = restart_witness(dir, "arbitration", &arb_url);
    let (code, body) = present_latest_signed_by(&http, &court_url, &old_key).await;
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains(&format!(
            "was trusted until {ended} (the end of its rotation overlap)"
        )),
        "{body}"
    );
    let new_signing =
        SigningKey::from_pkcs8_pem(&std::fs::read_to_string(&new_key).unwrap()).unwrap();
    let (code, body) = present_latest_signed_by(&http, &court_url, &new_signing).await;
    assert_eq!(code, 200, "{body}");
    let d = submit_text(&http, &notary.url, &key, "after the overlap").await;
    let (_, cert_d) = final_certificate(&http, &notary.url, &key, &d).await;
    let (code, out) = verify(dir, "d.json", &cert_d);
    assert_eq!(code, 0, "{out}");
    // And the certificates issued before stay valid, forever: nothing in
    // them depends on what the witnesses trust now.
    let (code, out) = verify(dir, "a2.json", &cert_a);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witness_certificate_renewal_keeps_old_and_new_certificates_valid() {
    let tmp = TempDir::new("renewal");
    let dir = tmp.path();
    // The court witness renews with a new key; the arbitration witness
    // renews its certificate for the same key.
    let (court_key, court_cert) = issue(
        dir,
        "court-2",
        &format!("{O}/OU=court/CN=court.example\\/witness"),
        None,
    );
    let (arb_key, arb_cert) = issue(
        dir,
        "arbitration-2",
        &format!("{O}/OU=arbitration/CN=arbitration.example\\/witness"),
        Some(&cert_path("arbitration.key")),
    );

    let court = start_witness(dir, "court");
    let arb = start_witness(dir, "arbitration");
    let (court_url, arb_url) = (court.url.clone(), arb.url.clone());
    let cfg = write_notary_config(dir, &court_url, &arb_url, "");
    let key = tenant_with_key(&cfg, None, "acme");
    let mut notary = start_notary(&cfg, None);
    let http = http_client();
    let a = submit_text(&http, &notary.url, &key, "before the renewal").await;
    let (_, cert_a) = final_certificate(&http, &notary.url, &key, &a).await;

    // 1. The notary learns the renewed certificates first (each witness's
    //    old one stays accepted) and restarts.
    notary.kill9();
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text
        .replace(
            &format!("cert_file = \"{}\"", cert_path("court.pem").display()),
            &format!(
                "cert_file = \"{}\"\nprevious_cert_files = [\"{}\"]",
                court_cert.display(),
                cert_path("court.pem").display()
            ),
        )
        .replace(
            &format!("cert_file = \"{}\"", cert_path("arbitration.pem").display()),
            &format!(
                "cert_file = \"{}\"\nprevious_cert_files = [\"{}\"]",
                arb_cert.display(),
                cert_path("arbitration.pem").display()
            ),
        );
    std::fs::write(&cfg, text).unwrap();
    let notary = start_notary(&cfg, None);
    // The witnesses still sign with their old certificates: accepted.
    let b = submit_text(
        &http,
        &notary.url,
        &key,
        "notary updated, witnesses not yet",
    )
    .await;
    let (_, cert_b) = final_certificate(&http, &notary.url, &key, &b).await;
    assert!(pems(&cert_b).contains(&pem_of(&cert_path("court.pem"))));

    // 2. Each witness restarts with its renewed certificate, on its state.
    drop((court, arb));
    let court_cfg = dir.join("court-witness.toml");
    set_line(
        &court_cfg,
        "certificate =",
        &format!("certificate = \"{}\"", court_cert.display()),
    );
    set_line(
        &court_cfg,
        "key =",
        &format!("key = \"{}\"", court_key.display()),
    );
    let arb_cfg = dir.join("arbitration-witness.toml");
    set_line(
        &arb_cfg,
        "certificate =",
        &format!("certificate = \"{}\"", arb_cert.display()),
    );
    set_line(
        &arb_cfg,
        "key =",
        &format!("key = \"{}\"", arb_key.display()),
    );
    let _court = restart_witness(dir, "court", &court_url);
    let _arb = restart_witness(dir, "arbitration", &arb_url);
    let c = submit_text(&http, &notary.url, &key, "after the renewal").await;
    let (_, cert_c) = final_certificate(&http, &notary.url, &key, &c).await;
    let carried = pems(&cert_c);
    assert!(
        carried.contains(&pem_of(&court_cert)),
        "the renewed court certificate"
    );
    assert!(
        !carried.contains(&pem_of(&cert_path("court.pem"))),
        "not the old one"
    );
    assert_eq!(carried.len(), 3, "notary, court, arbitration: {carried:?}");

    for (name, cert) in [
        ("a.json", &cert_a),
        ("b.json", &cert_b),
        ("c.json", &cert_c),
    ] {
        let (code, out) = verify(dir, name, cert);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.contains("VALID: the evidence existed"), "{name}: {out}");
    }
    // The court cosignature of A is by the old key, that of C by the new.
    let a_text = String::from_utf8(cert_a.clone()).unwrap();
    let c_text = String::from_utf8(cert_c.clone()).unwrap();
    let court_line = |t: &str| {
        let v: serde_json::Value = serde_json::from_str(t).unwrap();
        v["proof"]
            .as_str()
            .unwrap()
            .lines()
            .find(|l| l.starts_with("— court.example/witness "))
            .unwrap()
            .split(' ')
            .nth(2)
            .unwrap()[..6]
            .to_string()
    };
    assert_ne!(court_line(&a_text), court_line(&c_text), "another key ID");
}
