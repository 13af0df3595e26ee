//! A store that cannot be reached is the operator's passing trouble, not a
//! bug and not the caller's fault: while the notary's PostgreSQL refuses
//! connections (and the ones it had are cut), every route that reads or
//! writes the store answers 503 `store_unreachable` with Retry-After, and
//! nothing is acknowledged; once the database is back the same notary
//! process answers again and gets new entries witnessed.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

/// An answer during the outage: 503, the store's code, and when to retry.
async fn assert_store_unreachable(what: &str, r: reqwest::Response) {
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 503, "{what}: {v}");
    assert_eq!(v["error"]["code"], "store_unreachable", "{what}: {v}");
    assert!(retry.is_some_and(|s| s >= 1), "{what}: no Retry-After");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains("postgres") && !message.contains("notarium_e2e"),
        "{what}: the database's own words reach the caller: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_503_with_retry_after_and_the_notary_recovers() {
    let dir = TempDir::new("outage");
    let db = PgDb::new("outage");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg, Some(&db.url), "acme-trading");
    let notary = start_notary(&cfg, Some(&db.url));
    let base = notary.url.clone();
    let http = http_client();

    // Before: an entry, final (the key is now in the notary's cache).
    let id = submit_text(&http, &base, &key, "before the outage").await;
    wait_final(&http, &base, &key, &id).await;
    let size_before: u64 = http
        .get(format!("{base}/v1/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();

    db.cut_off();
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"during the outage"));
    let submit = http
        .post(format!("{base}/v1/evidence"))
        .bearer_auth(&key)
        .json(&json!({ "sha256": digest }))
        .send()
        .await
        .unwrap();
    assert_store_unreachable("POST /v1/evidence", submit).await;
    for (path, authed) in [
        (format!("/v1/evidence/{id}"), true),
        (format!("/v1/evidence?sha256={digest}"), true),
        (format!("/v1/evidence/{id}/certificate.json"), true),
        ("/v1/checkpoint".to_string(), false),
        ("/v1/proof/consistency?old=1&new=2".to_string(), false),
        ("/readyz".to_string(), false),
    ] {
        let mut req = http.get(format!("{base}{path}"));
        if authed {
            req = req.bearer_auth(&key);
        }
        assert_store_unreachable(&format!("GET {path}"), req.send().await.unwrap()).await;
    }
    // The refusal was counted.
    let metrics = notary_metrics(&base).await;
    assert!(
        metrics.contains("notarium_rejections_total{reason=\"store\"}"),
        "{metrics}"
    );

    db.restore();
    // The same process answers again, and nothing of the refused
    // submission was stored.
    let found = eventually(
        "the notary to reach its store again",
        Duration::from_secs(60),
        || async {
            let r = http
                .get(format!("{base}/v1/evidence?sha256={digest}"))
                .bearer_auth(&key)
                .send()
                .await
                .ok()?;
            (r.status().as_u16() == 200).then_some(r)
        },
    )
    .await;
    let found: Value = found.json().await.unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 0, "{found}");
    let status = get_json(&http, &format!("{base}/v1/evidence/{id}"), &key).await;
    assert_eq!(status["status"], "final", "{status}");
    // And the log moves on: a new entry is sequenced and witnessed.
    let after = submit_text(&http, &base, &key, "after the outage").await;
    let fin = wait_final(&http, &base, &key, &after).await;
    assert!(fin["tree_size"].as_u64().unwrap() > size_before, "{fin}");
}
