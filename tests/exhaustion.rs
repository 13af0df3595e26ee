//! Issue 19, resource exhaustion on `POST /v1/verify`: hostile PDFs keep
//! the real notary small and its other answers quick, and each client
//! address is rate-limited.

mod common;

use base64::Engine;
use common::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A peak (VmHWM) of a process, in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// A notary whose witnesses are never reached (nothing is submitted).
fn notary(dir: &TempDir, limits: &str) -> Proc {
    let nowhere = "http://127.0.0.1:9";
    let cfg = write_notary_config(dir.path(), nowhere, nowhere, limits);
    start_notary(&cfg, None)
}

/// Until `stop`, GETs /healthz every 10 ms; the slowest answer, in ms
/// (a failed request counts as 10 s).
async fn watch_health(url: String, stop: Arc<AtomicBool>, slowest: Arc<AtomicU64>) -> u64 {
    let http = http_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut polls = 0;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let ok = http
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let ms = if ok {
            started.elapsed().as_millis() as u64
        } else {
            10_000
        };
        slowest.fetch_max(ms, Ordering::Relaxed);
        polls += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    polls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_pdfs_keep_the_notary_small_and_healthy() {
    let dir = TempDir::new("pdf-bomb");
    let notary = notary(&dir, "[limits]\nverify_rate = 0\n");
    let pid = notary.child.id();
    let url = notary.url.clone();
    // The review's file, a fifth of it: 40 object streams of 15 MB each
    // (600 MB decoded) in a 0.6 MB file; and a file whose one array
    // parses into 1.5 million values.
    let bomb = notarium_pdf::testkit::object_stream_bomb(40, 15 << 20);
    let array = {
        let mut a = b"[".to_vec();
        a.extend_from_slice(&b"0 ".repeat(1_500_000));
        a.push(b']');
        notarium_pdf::testkit::pdf_of(&[
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [] /Count 0 >>".to_vec(),
            a,
        ])
    };
    let http = http_builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let before = peak_rss_kb(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let slowest = Arc::new(AtomicU64::new(0));
    let health = tokio::spawn(watch_health(url.clone(), stop.clone(), slowest.clone()));
    for (what, pdf) in [("object streams", &bomb), ("value may begin", &array)] {
        let body = json!({
            "certificate_pdf": base64::engine::general_purpose::STANDARD.encode(pdf)
        })
        .to_string();
        // Eight at once.
        let answers = futures::future::join_all((0..8).map(|_| {
            let (http, url, body) = (&http, &url, body.clone());
            async move {
                let r = http
                    .post(format!("{url}/v1/verify"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        }))
        .await;
        // Refused as PDFs, or (bodies beyond the 16 MiB in flight) asked
        // to come back: never read into memory.
        let mut refused = 0;
        for (status, v) in answers {
            if status == 503 {
                assert_eq!(v["error"]["code"], "overloaded", "{v}");
                continue;
            }
            assert_eq!(status, 400, "{v}");
            assert_eq!(v["error"]["code"], "invalid_pdf", "{v}");
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains(what), "{message}");
            refused += 1;
        }
        assert!(
            refused >= 4,
            "{refused} of 8 {what} PDFs were read and refused"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let polls = health.await.unwrap();
    let peak = peak_rss_kb(pid);
    let slowest = slowest.load(Ordering::Relaxed);
    println!(
        "notary peak RSS {before} kB before, {peak} kB after 16 hostile PDFs; /healthz slowest {slowest} ms over {polls} polls"
    );
    assert!(polls >= 5, "/healthz was polled throughout ({polls} polls)");
    assert!(peak < 300 * 1024, "the notary peaked at {peak} kB");
    assert!(
        slowest < 100,
        "/healthz took {slowest} ms during the attack"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_is_rate_limited_per_client_with_429_and_retry_after() {
    let dir = TempDir::new("verify-rate");
    let notary = notary(&dir, "[limits]\nverify_rate = 1\nverify_burst = 3\n");
    let http = http_client();
    let post = || {
        http.post(format!("{}/v1/verify", notary.url))
            .header("content-type", "application/json")
            .body(json!({"certificate": "{}"}).to_string())
            .send()
    };
    // The burst passes (a report, valid or not), then 429.
    for _ in 0..3 {
        assert_eq!(post().await.unwrap().status().as_u16(), 200);
    }
    let r = post().await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 verifications per second"),
        "{v}"
    );
    // Other routes are not limited by it.
    let h = http
        .get(format!("{}/healthz", notary.url))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status().as_u16(), 200);
}
