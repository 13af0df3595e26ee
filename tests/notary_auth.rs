//! API keys under a flood of random keys (issue 19, item 4), against the
//! real notary on PostgreSQL: unknown keys are never cached, so they cannot
//! push a valid key out of its bounded cache, and each client address may
//! present only a few unknown keys per window before it gets 429 (with
//! Retry-After) without a store lookup; other clients are unaffected. The
//! store lookups are counted by `notarium_key_lookups_total{result}`.

mod common;

use common::*;
use serde_json::Value;
use std::net::IpAddr;

const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn lookups(metrics: &str, result: &str) -> u64 {
    let name = format!("notarium_key_lookups_total{{result=\"{result}\"}}");
    sample(metrics, &name).unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
}

/// A client whose connections come from `ip` (any 127/8 address reaches
/// the notary on 127.0.0.1).
fn client_from(ip: &str) -> reqwest::Client {
    http_builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// A lookup with `key`: (status, Retry-After, JSON code).
async fn lookup(http: &reqwest::Client, base: &str, key: &str) -> (u16, Option<u64>, Value) {
    let r = http
        .get(format!("{base}/v1/evidence?sha256={ZEROS}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, retry, v["error"]["code"].clone())
}

fn random_key(i: u32) -> String {
    let h = <sha2::Sha256 as sha2::Digest>::digest(format!("random key {i}").as_bytes());
    format!("ntk_{}", hex::encode(h))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_keys_cost_bounded_lookups_evict_no_valid_key_and_are_limited_per_client() {
    let dir = TempDir::new("auth");
    let db = PgDb::new("auth");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(
        dir.path(),
        &court.url,
        &arb.url,
        "[limits]\nauth_failures = 5\nauth_failure_window_s = 60\nkey_cache_capacity = 4\n",
    );
    let key = tenant_with_key(&cfg, Some(&db.url), "acme-trading");
    let other_key = tenant_with_key(&cfg, Some(&db.url), "other-corp");
    let notary = start_notary(&cfg, Some(&db.url));
    let base = notary.url.clone();

    // The valid key, looked up once.
    let attacker = client_from("127.0.0.1");
    assert_eq!(lookup(&attacker, &base, &key).await.0, 200);
    let m = notary_metrics(&base).await;
    assert_eq!((lookups(&m, "found"), lookups(&m, "unknown")), (1, 0));

    // Many clients, each under its limit, with 250 random keys: every one
    // is looked up (none is cached) and the valid key stays cached
    // although the cache holds only 4 keys.
    let mut n = 0;
    for c in 10..60 {
        let http = client_from(&format!("127.0.0.{c}"));
        for _ in 0..5 {
            n += 1;
            let (status, _, code) = lookup(&http, &base, &random_key(n)).await;
            assert_eq!((status, code.as_str()), (401, Some("unauthorized")));
        }
    }
    assert_eq!(lookup(&attacker, &base, &key).await.0, 200);
    let m = notary_metrics(&base).await;
    assert_eq!(lookups(&m, "found"), 1, "the valid key was not evicted");
    assert_eq!(lookups(&m, "unknown"), 250);

    // One client's flood: 5 lookups, then 429 with Retry-After, no lookup.
    for i in 0..200 {
        n += 1;
        let (status, retry, code) = lookup(&attacker, &base, &random_key(n)).await;
        if i < 5 {
            assert_eq!(status, 401, "failure {i}");
        } else {
            assert_eq!(status, 429, "failure {i}");
            assert_eq!(code, "rate_limited");
            assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
        }
    }
    let m = notary_metrics(&base).await;
    assert_eq!(lookups(&m, "unknown"), 255, "the flood cost 5 lookups");
    assert!(
        m.contains("notarium_rejections_total{reason=\"auth_failures\"} 195\n"),
        "{m}"
    );
    // Its valid, cached key still works, without a lookup.
    assert_eq!(lookup(&attacker, &base, &key).await.0, 200);
    // Another client is unaffected: its unknown key is a plain 401, its
    // valid key (not cached yet) is looked up and works.
    let other = client_from("127.0.0.2");
    assert_eq!(lookup(&other, &base, &random_key(0)).await.0, 401);
    assert_eq!(lookup(&other, &base, &other_key).await.0, 200);
    let m = notary_metrics(&base).await;
    assert_eq!((lookups(&m, "found"), lookups(&m, "unknown")), (2, 256));
}
