//! Witnesses go down and come back: submissions are still accepted, entries
//! stay pending (never final without the quorum), and become final as soon
//! as the quorum cosigns a later checkpoint. A restarted notary, which has
//! forgotten what each witness saw, resynchronises from their 409 answers.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;

async fn status(http: &reqwest::Client, url: &str, key: &str, id: &str) -> Value {
    get_json(http, &format!("{url}/v1/evidence/{id}"), key).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_wait_for_the_quorum_and_a_restarted_notary_resynchronises() {
    let dir = TempDir::new("witnessing");
    let court = start_witness(dir.path(), "court");
    let mut arb = start_witness(dir.path(), "arbitration");
    let arb_url = arb.url.clone();
    let cfg = write_notary_config(dir.path(), &court.url, &arb_url, "");
    let key = tenant_with_key(&cfg, None, "acme");
    let mut notary = start_notary(&cfg, None);
    let http = http_client();

    let a = submit_text(&http, &notary.url, &key, "a").await;
    wait_final(&http, &notary.url, &key, &a).await;

    // The arbitration witness dies: B is accepted and sequenced, never final.
    arb.kill9();
    let b = submit_text(&http, &notary.url, &key, "b").await;
    eventually("b sequenced", Duration::from_secs(30), || async {
        status(&http, &notary.url, &key, &b).await["index"].as_u64()
    })
    .await;
    let failures = eventually(
        "the notary notices the witness is down",
        Duration::from_secs(30),
        || async {
            let m = http
                .get(format!("{}/metrics", notary.url))
                .bearer_auth(METRICS_TOKEN)
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            m.lines()
                .find(|l| {
                    l.starts_with(
                        "notarium_witness_failures_total{witness=\"arbitration.example/witness\"}",
                    )
                })
                .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .filter(|n| *n > 0)
        },
    )
    .await;
    assert!(failures > 0);
    let s = status(&http, &notary.url, &key, &b).await;
    assert_eq!(
        s["status"], "pending",
        "final without the arbitration witness: {s}"
    );
    let cert = http
        .get(format!("{}/v1/evidence/{b}/certificate.json", notary.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(cert.status().as_u16(), 409, "no certificate before final");

    // It comes back with its state: B becomes final, with both cosignatures.
    let _arb = restart_witness(dir.path(), "arbitration", &arb_url);
    wait_final(&http, &notary.url, &key, &b).await;
    let json = http
        .get(format!("{}/v1/evidence/{b}/certificate.json", notary.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let report = verifier().verify_certificate(&json, None);
    assert!(report.valid, "{:?}", report.first_failure());
    assert_eq!(report.witnesses.len(), 2);

    // A restarted notary starts from old size 0 with every witness; they
    // answer 409 with their size and it resends with the right proof.
    notary.kill9();
    let notary = start_notary(&cfg, None);
    let c = submit_text(&http, &notary.url, &key, "c").await;
    let (s, json) = final_certificate(&http, &notary.url, &key, &c).await;
    assert_eq!(s["index"], 2);
    assert!(verifier().verify_certificate(&json, None).valid);
    drop(court);
}
