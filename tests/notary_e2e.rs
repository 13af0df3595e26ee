//! The notary end to end: real binaries (notary and two witnesses) over HTTP
//! on loopback; submit, wait for final, fetch and verify certificates; the
//! same on the embedded store and on PostgreSQL.

mod common;

use common::*;
use notarium_core::identity::certs_from_pem_file;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;

struct Env {
    _dir: TempDir,
    _court: Proc,
    _arb: Proc,
    notary: Proc,
    key: String,
    other_key: String,
    http: reqwest::Client,
    _db: Option<PgDb>,
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.notary.url)
    }

    async fn post(
        &self,
        path: &str,
        key: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send().await.unwrap()
    }
}

fn start(pg: bool) -> Env {
    let dir = TempDir::new(if pg { "pg" } else { "sqlite" });
    let db = pg.then(|| PgDb::new("e2e"));
    let dbu = db.as_ref().map(|d| d.url.clone());
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg, dbu.as_deref(), "acme-trading");
    let other_key = tenant_with_key(&cfg, dbu.as_deref(), "other-corp");
    let notary = start_notary(&cfg, dbu.as_deref());
    Env {
        _dir: dir,
        _court: court,
        _arb: arb,
        notary,
        key,
        other_key,
        http: http_client(),
        _db: db,
    }
}

fn digest_of(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

async fn wait_final(env: &Env, id: &str) -> Value {
    eventually(
        &format!("entry {id} final"),
        Duration::from_secs(60),
        || async {
            let v: Value = env
                .get(&format!("/v1/evidence/{id}"), Some(&env.key))
                .await
                .json()
                .await
                .ok()?;
            (v["status"] == "final").then_some(v)
        },
    )
    .await
}

async fn full_flow(env: Env) {
    let evidence = b"the signed supply contract, version 3";
    let digest = digest_of(evidence);

    // Submit one with metadata, and a batch of three.
    let (st, one) = env
        .post(
            "/v1/evidence",
            Some(&env.key),
            json!({"sha256": digest, "metadata": {"title": "Supply contract", "file_name": "contract.pdf"}}).to_string(),
        )
        .await;
    assert_eq!(st, 202, "{one}");
    assert_eq!(one["status"], "pending");
    let id = one["id"].as_str().unwrap().to_string();
    let batch_items: Vec<Value> = (0..3)
        .map(|i| json!({"sha256": digest_of(format!("batch {i}").as_bytes())}))
        .collect();
    let (st, batch) = env
        .post(
            "/v1/evidence:batch",
            Some(&env.key),
            json!({"items": batch_items}).to_string(),
        )
        .await;
    assert_eq!(st, 202, "{batch}");
    assert_eq!(batch["items"].as_array().unwrap().len(), 3);

    // The receipt verifies offline against the entry text it came with.
    let notary_cert =
        certs_from_pem_file(&std::fs::read_to_string(cert("notary.pem")).unwrap()).unwrap();
    for a in std::iter::once(&one).chain(batch["items"].as_array().unwrap()) {
        let r = verifier().verify_receipt(
            a["receipt"].as_str().unwrap(),
            a["entry"].as_str().unwrap().as_bytes(),
            notary_cert.clone(),
        );
        // A receipt verifies (the notary signed it) but is never valid
        // as a certificate: nothing witnessed it (contract §9).
        assert!(
            r.verified && !r.valid && !r.witnessed,
            "receipt: {:?}",
            r.first_failure()
        );
    }

    // Final, then the certificate verifies, with the file, and is stable.
    let status = wait_final(&env, &id).await;
    assert_eq!(status["sha256"], digest);
    assert_eq!(status["metadata"]["title"], "Supply contract");
    let c1 = env
        .get(
            &format!("/v1/evidence/{id}/certificate.json"),
            Some(&env.key),
        )
        .await;
    assert_eq!(c1.status().as_u16(), 200);
    let c1 = c1.bytes().await.unwrap();
    let c2 = env
        .get(
            &format!("/v1/evidence/{id}/certificate.json"),
            Some(&env.key),
        )
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(c1, c2, "certificate bytes differ between requests");
    let d: [u8; 32] = Sha256::digest(evidence).into();
    let report = verifier().verify_certificate(&c1, Some(&d));
    assert!(report.valid, "{:#?}", report.checks);
    assert_eq!(report.submitter.as_deref(), Some("acme-trading"));
    assert_eq!(report.received_at.as_deref(), one["received_at"].as_str());

    // The PDF carries the same JSON byte for byte.
    let pdf = env
        .get(
            &format!("/v1/evidence/{id}/certificate.pdf"),
            Some(&env.key),
        )
        .await;
    assert_eq!(pdf.status().as_u16(), 200);
    let pdf = pdf.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(
        notarium_pdf::extract_certificate_json(&pdf).unwrap(),
        c1.to_vec()
    );

    // The judge's API agrees, and catches the wrong file.
    let (st, v) = env
        .post(
            "/v1/verify",
            None,
            json!({"certificate": String::from_utf8(c1.to_vec()).unwrap(), "sha256": digest})
                .to_string(),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["valid"], true, "{v}");
    let (_, v) = env.post("/v1/verify", None, json!({"certificate": String::from_utf8(c1.to_vec()).unwrap(), "sha256": digest_of(b"x")}).to_string()).await;
    assert_eq!(v["valid"], false);

    // Lookup by digest, own entries only.
    let found: Value = env
        .get(&format!("/v1/evidence?sha256={digest}"), Some(&env.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let none: Value = env
        .get(
            &format!("/v1/evidence?sha256={digest}"),
            Some(&env.other_key),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    assert_eq!(
        env.get(&format!("/v1/evidence/{id}"), Some(&env.other_key))
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        env.get(
            &format!("/v1/evidence/{id}/certificate.json"),
            Some(&env.other_key)
        )
        .await
        .status()
        .as_u16(),
        404
    );

    // Monitors: the checkpoint and proofs agree with each other.
    let cp = env.get("/v1/checkpoint", None).await.text().await.unwrap();
    let note = notarium_core::note::Note::parse(&cp).unwrap();
    let checkpoint = notarium_core::checkpoint::Checkpoint::parse(note.text()).unwrap();
    assert!(checkpoint.size() >= 1);
    assert!(
        note.signatures().len() >= 3,
        "notary + two cosignatures: {cp}"
    );
    let index = status["index"].as_u64().unwrap();
    let proof: Value = env
        .get(
            &format!(
                "/v1/proof/inclusion?index={index}&size={}",
                checkpoint.size()
            ),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let path: Vec<[u8; 32]> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| notarium_core::encoding::parse_b64_hash("h", h.as_str().unwrap()).unwrap())
        .collect();
    let cert: Value = serde_json::from_slice(&c1).unwrap();
    let leaf = notarium_core::merkle::leaf_hash(cert["entry"].as_str().unwrap().as_bytes());
    notarium_core::merkle::verify_inclusion(
        &leaf,
        index,
        checkpoint.size(),
        &path,
        checkpoint.root(),
    )
    .unwrap();
    let cons = env
        .get(
            &format!("/v1/proof/consistency?old=1&new={}", checkpoint.size()),
            None,
        )
        .await;
    assert_eq!(cons.status().as_u16(), 200);
    let bad = env
        .get("/v1/proof/inclusion?index=5&size=999999", None)
        .await;
    assert_eq!(bad.status().as_u16(), 400);

    // Batch entries become final too.
    for a in batch["items"].as_array().unwrap() {
        wait_final(&env, a["id"].as_str().unwrap()).await;
    }

    // The log grows past every size this notary has answered a proof for:
    // a proof for the grown tree is answered, not refused as out of range.
    let (st, later) = env
        .post(
            "/v1/evidence",
            Some(&env.key),
            json!({"sha256": digest_of(b"a later file")}).to_string(),
        )
        .await;
    assert_eq!(st, 202, "{later}");
    let later = wait_final(&env, later["id"].as_str().unwrap()).await;
    let index = later["index"].as_u64().unwrap();
    assert!(index >= checkpoint.size(), "{later}");
    let grown = env
        .get(
            &format!("/v1/proof/inclusion?index={index}&size={}", index + 1),
            None,
        )
        .await;
    assert_eq!(grown.status().as_u16(), 200);
    let cons = env
        .get(
            &format!(
                "/v1/proof/consistency?old={}&new={}",
                checkpoint.size(),
                index + 1
            ),
            None,
        )
        .await;
    assert_eq!(cons.status().as_u16(), 200);

    // Service endpoints.
    assert_eq!(env.get("/healthz", None).await.status().as_u16(), 200);
    assert_eq!(env.get("/readyz", None).await.status().as_u16(), 200);
    let metrics = env
        .get("/metrics", Some(METRICS_TOKEN))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("notarium_submissions_total 5"),
        "{metrics}"
    );
    assert!(metrics.contains("notarium_sequencer_leader 1"));
    for state in ["queued", "committing"] {
        assert!(
            metrics.contains(&format!("notarium_intake_entries{{state=\"{state}\"}} 0\n")),
            "nothing in the intake once answered: {metrics}"
        );
    }
    assert!(
        metrics.contains(&format!("notarium_log_size {}\n", index + 1)),
        "the log holds the later entry: {metrics}"
    );
    let batches: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("notarium_batch_seconds_count{} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no batch count in {metrics}"));
    assert!(batches >= 1.0, "entries became final, so a batch was timed");
    let openapi: Value = env
        .get("/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    for p in [
        "/v1/evidence",
        "/v1/evidence:batch",
        "/v1/evidence/{id}",
        "/v1/evidence/{id}/certificate.json",
        "/v1/evidence/{id}/certificate.pdf",
        "/v1/checkpoint",
        "/v1/proof/inclusion",
        "/v1/proof/consistency",
        "/v1/verify",
    ] {
        assert!(openapi["paths"][p].is_object(), "openapi lacks {p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_on_the_embedded_store() {
    full_flow(start(false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_on_postgresql() {
    full_flow(start(true)).await;
}

/// Every kind of bad input gets a 4xx JSON error and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_changes_nothing() {
    let env = start(false);
    let good = digest_of(b"x");
    let big_meta = json!({"sha256": good, "metadata": {"x": "y".repeat(5000)}}).to_string();
    let too_many: Vec<Value> = (0..1001).map(|_| json!({"sha256": good})).collect();
    let one_bad = json!({"items": [{"sha256": good}, {"sha256": "zz"}]}).to_string();
    let cases: Vec<(&str, Option<&str>, String, u16, &str)> = vec![
        (
            "/v1/evidence",
            Some(&env.key),
            "{not json".into(),
            400,
            "invalid_json",
        ),
        (
            "/v1/evidence",
            Some(&env.key),
            json!({"sha256": "abc"}).to_string(),
            400,
            "invalid_sha256",
        ),
        (
            "/v1/evidence",
            Some(&env.key),
            json!({"sha256": "g".repeat(64)}).to_string(),
            400,
            "invalid_sha256",
        ),
        (
            "/v1/evidence",
            Some(&env.key),
            json!({"sha256": good, "extra": 1}).to_string(),
            400,
            "invalid_request",
        ),
        (
            "/v1/evidence",
            Some(&env.key),
            json!({"sha256": good, "metadata": [1]}).to_string(),
            400,
            "invalid_metadata",
        ),
        (
            "/v1/evidence",
            Some(&env.key),
            big_meta,
            400,
            "metadata_too_large",
        ),
        (
            "/v1/evidence",
            Some(&env.key),
            "x".repeat(100_000),
            413,
            "body_too_large",
        ),
        (
            "/v1/evidence",
            None,
            json!({"sha256": good}).to_string(),
            401,
            "unauthorized",
        ),
        (
            "/v1/evidence",
            Some("ntk_wrong"),
            json!({"sha256": good}).to_string(),
            401,
            "unauthorized",
        ),
        (
            "/v1/evidence:batch",
            Some(&env.key),
            json!({"items": too_many}).to_string(),
            400,
            "batch_too_large",
        ),
        (
            "/v1/evidence:batch",
            Some(&env.key),
            json!({"items": []}).to_string(),
            400,
            "empty_batch",
        ),
        (
            "/v1/evidence:batch",
            Some(&env.key),
            one_bad,
            400,
            "invalid_sha256",
        ),
        (
            "/v1/verify",
            None,
            json!({"certificate": "{}", "certificate_pdf": "AA=="}).to_string(),
            400,
            "invalid_request",
        ),
        (
            "/v1/verify",
            None,
            json!({"certificate_pdf": "JVBERi0="}).to_string(),
            400,
            "invalid_pdf",
        ),
    ];
    for (path, key, body, status, code) in cases {
        let (st, v) = env.post(path, key, body.clone()).await;
        assert_eq!(st, status, "{path} {body:.80}: {v}");
        assert_eq!(v["error"]["code"], code, "{path} {body:.80}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    for (path, status) in [
        ("/v1/evidence/zzz", 404),
        ("/v1/evidence/0123456789abcdef0123456789abcdef", 404),
        ("/v1/evidence?sha256=nothex", 400),
        ("/v1/proof/inclusion?index=x&size=1", 400),
        ("/v1/proof/consistency?old=2&new=1", 400),
        ("/nope", 404),
    ] {
        let r = env.get(path, Some(&env.key)).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"]["code"].is_string(), "{path}: {v}");
    }
    // Nothing was stored: the log and the pending queue are empty.
    let metrics = env
        .get("/metrics", Some(METRICS_TOKEN))
        .await
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("notarium_pending_entries 0"), "{metrics}");
    assert!(
        metrics.contains("notarium_submissions_total 0"),
        "{metrics}"
    );
    let found: Value = env
        .get(&format!("/v1/evidence?sha256={good}"), Some(&env.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 0);
}
