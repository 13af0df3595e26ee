//! Web and operations hygiene of the notary (issue 19): `/readyz` says why
//! it is not ready in a fixed JSON form, never with internal text;
//! `/v1/verify` takes only JSON (415 otherwise); `/metrics` is for
//! operators: on the admin listener when there is one, else behind a bearer
//! token, else not served.

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Starts `notarium serve` with extra environment; returns the process
/// (its URL is the main listener's) and the admin listener's URL, if any.
fn start_notary_env(cfg: &std::path::Path, env: &[(&str, &str)]) -> (Proc, Option<String>) {
    let mut cmd = Command::new(notarium_bin());
    cmd.args(["serve", "--config"])
        .arg(cfg)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut admin = None;
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(u) = line.strip_prefix("notarium admin listening on ") {
                admin = Some(u.to_string());
            }
            if !sent && let Some(u) = line.strip_prefix("notarium listening on ") {
                let _ = tx.send((u.to_string(), admin.take()));
                sent = true;
            }
        }
    });
    let (url, admin) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the notary did not start");
    (Proc { child, url }, admin)
}

async fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = http_client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_operators_only() {
    let dir = TempDir::new("metrics");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");

    // A token, no admin listener: /metrics on the main listener, behind it.
    let (notary, admin) = start_notary_env(&cfg, &[]);
    assert_eq!(admin, None);
    let url = format!("{}/metrics", notary.url);
    for token in [None, Some("not-the-metrics-token")] {
        let (status, body) = get(&url, token).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert!(!body.contains("notarium_submissions_total"), "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "unauthorized");
    }
    let (status, body) = get(&url, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200);
    assert!(body.contains("notarium_submissions_total 0\n"), "{body}");
    drop(notary);

    // An admin listener: /metrics there only (the token still required).
    let (notary, admin) = start_notary_env(&cfg, &[("NOTARIUM_ADMIN_LISTEN", "127.0.0.1:0")]);
    let admin = admin.expect("the admin listener's line");
    assert_ne!(admin, notary.url);
    let (status, _) = get(&format!("{}/metrics", notary.url), Some(METRICS_TOKEN)).await;
    assert_eq!(status, 404, "not on the public listener");
    assert_eq!(get(&format!("{admin}/metrics"), None).await.0, 401);
    let (status, body) = get(&format!("{admin}/metrics"), Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200);
    assert!(body.contains("notarium_sequencer_leader"), "{body}");
    assert_eq!(get(&format!("{admin}/healthz"), None).await.0, 200);
    assert_eq!(get(&format!("{admin}/readyz"), None).await.0, 200);
    let (status, _) = get(&format!("{admin}/v1/checkpoint"), None).await;
    assert_eq!(status, 404, "the API is not on the admin listener");
    assert_eq!(get(&format!("{}/healthz", notary.url), None).await.0, 200);
    drop(notary);

    // Neither: /metrics is not served at all.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("metrics_token"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&cfg, without).unwrap();
    let (notary, _) = start_notary_env(&cfg, &[]);
    let (status, _) = get(&format!("{}/metrics", notary.url), Some(METRICS_TOKEN)).await;
    assert_eq!(status, 404);

    // A token too short to be one is refused at start.
    let out = Command::new(notarium_bin())
        .args(["serve", "--config"])
        .arg(&cfg)
        .env("NOTARIUM_METRICS_TOKEN", "short")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("server.metrics_token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_takes_only_json() {
    let dir = TempDir::new("verify415");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg, None, "acme-trading");
    let notary = start_notary(&cfg, None);
    let http = http_client();
    let id = submit_text(&http, &notary.url, &key, "verified").await;
    let (_, cert) = final_certificate(&http, &notary.url, &key, &id).await;
    let body = json!({"certificate": String::from_utf8(cert).unwrap()}).to_string();
    let url = format!("{}/v1/verify", notary.url);

    // The documented form, with or without a charset.
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
    ] {
        let r = http
            .post(&url)
            .header("content-type", ct)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{ct}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["valid"], true, "{ct}: {v}");
    }
    // Anything else: 415, a JSON error, whatever the body.
    let pdf = b"%PDF-1.7\n".to_vec();
    for (ct, b) in [
        (Some("text/plain"), body.clone().into_bytes()),
        (Some("application/pdf"), pdf),
        (
            Some("application/x-www-form-urlencoded"),
            b"certificate=x".to_vec(),
        ),
        (Some("multipart/form-data; boundary=x"), b"--x--".to_vec()),
        (Some("application/jsonx"), body.clone().into_bytes()),
        (None, body.clone().into_bytes()),
    ] {
        let mut req = http.post(&url).body(b);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 415, "{ct:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "unsupported_media_type", "{ct:?}: {v}");
    }
    // Documented.
    let doc: Value = http
        .get(format!("{}/v1/openapi.json", notary.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verify = &doc["paths"]["/v1/verify"]["post"];
    assert!(verify["responses"]["415"].is_object(), "{verify}");
    assert_eq!(
        verify["requestBody"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["application/json"]
    );
}

/// Pauses a process (SIGSTOP) until dropped (SIGCONT).
struct Stopped(u32);

impl Stopped {
    fn new(pid: u32) -> Self {
        let st = Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_says_why_without_internal_detail() {
    let dir = TempDir::new("readyz");
    let db = PgDb::new("readyz");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let cfg_a = write_notary_config(&dir_a, &court.url, &arb.url, "");
    let cfg_b = write_notary_config(&dir_b, &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg_a, Some(&db.url), "acme-trading");
    let a = start_notary(&cfg_a, Some(&db.url));
    let leader = |url: String| async move {
        let (_, m) = get(&format!("{url}/metrics"), Some(METRICS_TOKEN)).await;
        m.contains("notarium_sequencer_leader 1\n")
    };
    eventually("A sequences", Duration::from_secs(30), || async {
        leader(a.url.clone()).await.then_some(())
    })
    .await;
    let b = start_notary(&cfg_b, Some(&db.url));
    let http = http_client();
    let id = submit_text(&http, &b.url, &key, "before").await;
    wait_final(&http, &b.url, &key, &id).await;
    assert_eq!(get(&format!("{}/readyz", b.url), None).await.0, 200);

    // The sequencer stops answering (it keeps its lease): entries wait on B.
    let paused = Stopped::new(a.child.id());
    submit_text(&http, &b.url, &key, "waiting 1").await;
    submit_text(&http, &b.url, &key, "waiting 2").await;
    let (retry, v) = eventually("B not ready", Duration::from_secs(40), || async {
        let r = http.get(format!("{}/readyz", b.url)).send().await.ok()?;
        if r.status().as_u16() != 503 {
            return None;
        }
        let retry = r.headers().get("retry-after")?.to_str().ok()?.to_string();
        Some((retry, r.json::<Value>().await.ok()?))
    })
    .await;
    assert!(retry.parse::<u64>().is_ok_and(|s| s >= 1), "{retry}");
    assert_eq!(
        v,
        json!({"error": {"code": "no_sequencer", "message": "not ready: the log is not being sequenced"}}),
        "a fixed answer: no counts, no timings, no internal text"
    );
    drop(paused);
    eventually("B ready again", Duration::from_secs(40), || async {
        (get(&format!("{}/readyz", b.url), None).await.0 == 200).then_some(())
    })
    .await;

    // A store that cannot be reached: the same fixed form.
    db.cut_off();
    let r = http.get(format!("{}/readyz", b.url)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"error": {"code": "store_unreachable", "message": "not ready: the store cannot be reached"}})
    );
    db.restore();
}
