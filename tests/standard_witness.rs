//! Standard C2SP witnesses (issue 20, contract §9), end to end: the notary
//! asks two X.509 role witnesses (`notarium-witness`) and one standard
//! witness built here on an implementation of the cosignature format that
//! no one on this project wrote: Cloudflare's `signed_note` crate signs the
//! note (its `Signer` trait, given the cosignature/v1 message over
//! `ed25519-dalek`, since the crate has no cosignature type of its own),
//! served as tlog-witness over real HTTP. The notary's certificate carries
//! both kinds of cosignature and verifies under a C2SP tlog-policy file
//! with `notarium-verify --policy-file` and the independent Python
//! verifier; a tampered cosignature and a missing quorum fail both.

mod common;

use actix_web::{App, HttpResponse, HttpServer, web};
use common::*;
use ed25519_dalek::Signer as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const NAME: &str = "witness.example/standard";

/// signed_note's Signer for cosignature/v1 (c2sp.org/tlog-cosignature):
/// key ID over 0x04 || key, signature = 8-byte time || Ed25519 over
/// `cosignature/v1\ntime <t>\n` and the note text.
struct CosignatureV1 {
    key: ed25519_dalek::SigningKey,
    time: u64,
}

impl CosignatureV1 {
    fn public(&self) -> Vec<u8> {
        [&[0x04][..], self.key.verifying_key().as_bytes()].concat()
    }
}

impl signed_note::Signer for CosignatureV1 {
    fn name(&self) -> &str {
        NAME
    }
    fn key_id(&self) -> u32 {
        signed_note::key_id(NAME, &self.public())
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let mut m = format!("cosignature/v1\ntime {}\n", self.time).into_bytes();
        m.extend_from_slice(msg);
        let mut sig = self.time.to_be_bytes().to_vec();
        sig.extend_from_slice(&self.key.sign(&m).to_bytes());
        Ok(sig)
    }
}

/// The vkey of a signing key: `name+keyid+base64(0x04 || key)`.
fn vkey(name: &str, key: &ed25519_dalek::SigningKey) -> String {
    use base64::Engine as _;
    let public = [&[0x04][..], key.verifying_key().as_bytes()].concat();
    let id = signed_note::key_id(name, &public);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&public);
    format!("{name}+{id:08x}+{b64}")
}

/// A log's Ed25519 vkey (type 0x01): not this notary's ECDSA key.
fn ed25519_log_vkey(name: &str, key: &ed25519_dalek::SigningKey) -> String {
    use base64::Engine as _;
    let public = [&[0x01][..], key.verifying_key().as_bytes()].concat();
    let id = signed_note::key_id(name, &public);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&public);
    format!("{name}+{id:08x}+{b64}")
}

/// `notarium_witness_failures_total` of the standard witness.
async fn failures(notary: &str) -> u64 {
    let wanted = format!("notarium_witness_failures_total{{witness=\"{NAME}\"}}");
    sample(&notary_metrics(notary).await, &wanted).unwrap_or(0)
}

/// The notary's key as a signed_note Verifier (signature type 0x02:
/// ECDSA P-256 over the note text, key ID SHA-256(DER SPKI)[:4]).
struct NotaryKey(Vec<u8>);

impl signed_note::Verifier for NotaryKey {
    fn name(&self) -> &str {
        "notarium.example/log"
    }
    fn key_id(&self) -> u32 {
        let h = <sha2::Sha256 as sha2::Digest>::digest(&self.0);
        u32::from_be_bytes(h[..4].try_into().unwrap())
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let point = &self.0[self.0.len() - 65..];
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point)
            .verify(msg, sig)
            .is_ok()
    }
}

fn notary_spki() -> Vec<u8> {
    let pem = std::fs::read_to_string(common::cert("notary.pem")).unwrap();
    let c = notarium_core::identity::certs_from_pem_file(&pem)
        .unwrap()
        .remove(0);
    c.key.spki_der().to_vec()
}

/// The witness's state: the size and root it last cosigned, and whether
/// to spoil its signatures.
struct Witness {
    key: ed25519_dalek::SigningKey,
    state: Mutex<(u64, [u8; 32])>,
    tamper: AtomicBool,
}

/// tlog-witness add-checkpoint: `old <size>`, consistency proof lines, a
/// blank line, the signed checkpoint. The notary's signature must verify
/// (403), `old` must be the size held (409 with it), the proof must hold
/// (422); then the answer is the cosignature line.
async fn add_checkpoint(w: web::Data<Witness>, body: String) -> HttpResponse {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).ok();
    let Some((head, note)) = body.split_once("\n\n") else {
        return HttpResponse::BadRequest().body("no blank line");
    };
    let mut head = head.lines();
    let Some(old) = head
        .next()
        .and_then(|l| l.strip_prefix("old ")?.parse::<u64>().ok())
    else {
        return HttpResponse::BadRequest().body("no old line");
    };
    let proof: Option<Vec<[u8; 32]>> = head.map(|l| b64(l)?.try_into().ok()).collect();
    let Ok(mut parsed) = signed_note::Note::from_bytes(note.as_bytes()) else {
        return HttpResponse::BadRequest().body("not a signed note");
    };
    let log = signed_note::VerifierList::new(vec![Box::new(NotaryKey(notary_spki()))]);
    if parsed.verify(&log).is_err() {
        return HttpResponse::Forbidden().body("no valid signature by the log");
    }
    let text = String::from_utf8(parsed.text().to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let size: Option<u64> = lines.get(1).and_then(|s| s.parse().ok());
    let root: Option<[u8; 32]> = lines.get(2).and_then(|s| b64(s)?.try_into().ok());
    let (Some(size), Some(root), Some(proof)) = (size, root, proof) else {
        return HttpResponse::BadRequest().body("malformed checkpoint or proof");
    };
    let mut held = w.state.lock().unwrap();
    if old != held.0 {
        return HttpResponse::Conflict()
            .content_type("text/x.tlog.size")
            .body(format!("{}\n", held.0));
    }
    if notarium_core::merkle::verify_consistency(old, size, &held.1, &root, &proof).is_err() {
        return HttpResponse::UnprocessableEntity().body("bad consistency proof");
    }
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signer = CosignatureV1 {
        key: w.key.clone(),
        time,
    };
    parsed.add_sigs(&[&signer]).unwrap();
    let signed = String::from_utf8(parsed.to_bytes()).unwrap();
    let mut line = signed
        .lines()
        .find(|l| l.starts_with(&format!("\u{2014} {NAME} ")))
        .unwrap()
        .to_string();
    if w.tamper.load(Ordering::Relaxed) {
        spoil(&mut line);
    } else {
        *held = (size, root);
    }
    HttpResponse::Ok().body(format!("{line}\n"))
}

/// Changes one base64 character inside the Ed25519 signature of a line.
fn spoil(line: &mut String) {
    let i = line.len() - 10;
    let c = if &line[i..i + 1] == "A" { "B" } else { "A" };
    line.replace_range(i..i + 1, c);
}

/// Starts the standard witness on loopback; returns its URL.
fn start_standard_witness(w: web::Data<Witness>) -> String {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(w.clone())
            .route("/add-checkpoint", web::post().to(add_checkpoint))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    format!("http://{addr}")
}

/// `notarium-verify CERT --policy-file POLICY`: (exit code, output).
fn verify(cert: &Path, policy: &Path, json: bool) -> (i32, String) {
    let mut cmd = Command::new(verify_bin());
    cmd.arg(cert)
        .arg("--trust")
        .arg(common::cert("root.pem"))
        .args(["--origin", "notarium.example/log", "--policy-file"])
        .arg(policy)
        .env_remove("NOTARIUM_TRUST")
        .env_remove("NOTARIUM_ORIGIN");
    if json {
        cmd.arg("--json");
    }
    let o = cmd.output().unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), out)
}

/// The independent Python verifier: (exit code, output).
fn python(cert: &Path, policy: &Path) -> (i32, String) {
    let o = Command::new("python3")
        .arg(repo().join("tests/interop/verify_certificate.py"))
        .arg(cert)
        .arg(common::cert("root.pem"))
        .arg("notarium.example/log")
        .arg("--policy-file")
        .arg(policy)
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), out)
}

/// The notary's log vkey: type 0x02, the DER SPKI of its certificate.
fn notary_vkey() -> String {
    use base64::Engine as _;
    let spki = &notary_spki()[..];
    let id = <sha2::Sha256 as sha2::Digest>::digest(spki);
    let b64 = base64::engine::general_purpose::STANDARD.encode([&[0x02][..], spki].concat());
    format!("notarium.example/log+{}+{b64}", hex::encode(&id[..4]))
}

fn notary_config(dir: &Path, court: &str, arb: &str, standard: &str, vkey: &str) -> PathBuf {
    let policy = dir.join("notary-policy.txt");
    std::fs::write(
        &policy,
        format!("log {}\nwitness std {vkey}\nquorum std\n", notary_vkey()),
    )
    .unwrap();
    // The common notary, one more [[witness]] (the standard one), and the
    // policy file in [trust].
    let extra = format!("[[witness]]\nurl = \"{standard}\"\nvkey = \"{vkey}\"\n");
    let cfg = write_notary_config(dir, court, arb, &extra);
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "[trust]\n",
        &format!("[trust]\npolicy_file = \"{}\"\n", policy.display()),
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

#[actix_web::test]
async fn a_standard_witness_cosigns_beside_the_role_witnesses() {
    let dir = TempDir::new("standard-witness");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let vk = vkey(NAME, &key);
    let witness = web::Data::new(Witness {
        key,
        state: Mutex::new((0, <sha2::Sha256 as sha2::Digest>::digest(b"").into())),
        tamper: AtomicBool::new(false),
    });
    let standard = start_standard_witness(witness.clone());
    let cfg = notary_config(dir.path(), &court.url, &arb.url, &standard, &vk);
    let api = tenant_with_key(&cfg, None, "acme");
    let notary = start_notary(&cfg, None);
    let http = http_client();

    let id = submit_text(&http, &notary.url, &api, "contract v1").await;
    let (_, json) = final_certificate(&http, &notary.url, &api, &id).await;
    let text = String::from_utf8(json.clone()).unwrap();
    let cert: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let proof = cert["proof"].as_str().unwrap();
    assert!(proof.contains(&format!("\u{2014} {NAME} ")), "{proof}");
    assert!(proof.contains("\u{2014} court.example"), "{proof}");
    // The standard witness has no X.509 certificate: notary, court and
    // arbitration only.
    assert_eq!(cert["certificates"].as_array().unwrap().len(), 3, "{text}");

    let cert_path = dir.path().join("certificate.json");
    std::fs::write(&cert_path, &json).unwrap();
    let policy = dir.path().join("policy.txt");
    std::fs::write(
        &policy,
        format!(
            "# the log, and one standard witness as the quorum\nlog {}\nwitness std {vk} {standard}\ngroup g any std\nquorum g\n",
            notary_vkey()
        ),
    )
    .unwrap();
    let (code, out) = verify(&cert_path, &policy, false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("standard witness"), "{out}");
    assert!(out.contains(&format!("std ({NAME})")), "{out}");
    let (code, out) = verify(&cert_path, &policy, true);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sw = &report["standard_witnesses"][0];
    assert_eq!(
        (sw["name"].as_str(), sw["counted"].as_bool()),
        (Some("std"), Some(true))
    );
    assert!(
        report["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["group"] == "standard")
    );
    let (code, out) = python(&cert_path, &policy);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("STANDARD WITNESS: std"), "{out}");

    // The judge's page (headless Chromium) lists it among the witnesses,
    // as counted, beside the court and arbitration witnesses.
    let config = serde_json::json!({
        "base": notary.url,
        "insecure_host": "notary.test",
        "screenshots": dir.path(),
        "chromium": common::page::chromium(),
        "cases": [{"name": "standard", "certificate": cert_path, "evidence": null}],
    });
    let page = common::page::run_verify_page(&config, dir.path()).await;
    let shown = &page["cases"][0]["shown"];
    assert_eq!(shown["valid"], "true", "{shown}");
    let rows = shown["witnesses"].as_array().unwrap();
    let roles: Vec<&str> = rows.iter().map(|w| w["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["court", "arbitration", "standard"], "{shown}");
    assert_eq!(rows[2]["name"], format!("std ({NAME})"), "{shown}");
    assert_eq!(rows[2]["counted"], true, "{shown}");
    assert_eq!(rows[2]["time"], sw["time"], "{shown}");
    let meaning = shown["meaning"].as_str().unwrap();
    assert!(
        meaning.contains(&format!("the standard witnesses (std ({NAME}))")),
        "{meaning}"
    );

    // The PDF states the standard witness the notary's verifier counted.
    let r = http.get(format!("{}/v1/evidence/{id}/certificate.pdf", notary.url));
    let pdf = r
        .bearer_auth(&api)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let pdf_path = dir.path().join("certificate.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let shown = Command::new("pdftotext")
        .arg(&pdf_path)
        .arg("-")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("C2SP witness") && shown.contains(&format!("std ({NAME})")),
        "the PDF shows no standard witness row: {shown}"
    );

    // Tampered: one bit of the Ed25519 signature.
    let line_start = text.find(&format!("\u{2014} {NAME} ")).unwrap();
    let line_end = line_start + text[line_start..].find("\\n").unwrap();
    let mut line = text[line_start..line_end].to_string();
    spoil(&mut line);
    let tampered = format!("{}{line}{}", &text[..line_start], &text[line_end..]);
    let bad = dir.path().join("tampered.json");
    std::fs::write(&bad, &tampered).unwrap();
    let (code, out) = verify(&bad, &policy, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("standard witness std"), "{out}");
    assert_eq!(python(&bad, &policy).0, 1);

    // Missing quorum: the policy wants a second standard witness.
    let other = vkey(
        "witness.example/other",
        &ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
    );
    let both = dir.path().join("both.txt");
    std::fs::write(
        &both,
        format!("witness std {vk}\nwitness other {other}\ngroup g all std other\nquorum g\n"),
    )
    .unwrap();
    let (code, out) = verify(&cert_path, &both, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("2 standard required, 1 counted"), "{out}");
    assert_eq!(python(&cert_path, &both).0, 1);

    // Another log's key: the policy's log line must be this notary's.
    let wrong_log = dir.path().join("wrong-log.txt");
    let another = ed25519_log_vkey(
        "notarium.example/log",
        &ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
    );
    std::fs::write(
        &wrong_log,
        format!("log {another}\nwitness std {vk}\nquorum std\n"),
    )
    .unwrap();
    let (code, out) = verify(&cert_path, &wrong_log, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("lists no log"), "{out}");
    assert_eq!(python(&cert_path, &wrong_log).0, 1);

    // A bad file: exit 2, naming the line.
    let broken = dir.path().join("broken.txt");
    std::fs::write(
        &broken,
        format!("witness std {vk}\ngroup g 2 std\nquorum g\n"),
    )
    .unwrap();
    let (code, out) = verify(&cert_path, &broken, false);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("line 2"), "{out}");
    assert_eq!(python(&cert_path, &broken).0, 2);

    // A witness that spoils its signature is refused by the notary: with
    // the policy file's quorum, nothing new becomes final.
    let before = failures(&notary.url).await;
    witness.tamper.store(true, Ordering::Relaxed);
    let id2 = submit_text(&http, &notary.url, &api, "contract v2").await;
    let status_url = format!("{}/v1/evidence/{id2}", notary.url);
    eventually(
        "the notary to refuse the spoilt cosignature",
        Duration::from_secs(30),
        || async { (failures(&notary.url).await > before).then_some(()) },
    )
    .await;
    let s = get_json(&http, &status_url, &api).await;
    assert_eq!(s["status"], "pending", "{s}");
    // Once it signs honestly again, the checkpoint becomes final.
    witness.tamper.store(false, Ordering::Relaxed);
    wait_final(&http, &notary.url, &api, &id2).await;
}
