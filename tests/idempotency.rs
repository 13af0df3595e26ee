//! Exactly-once submission (contract §9, issue 19): `POST /v1/evidence` and
//! `:batch` under an `Idempotency-Key`, against the real notary on both
//! stores. The same key and body within 24 hours gets the first answer
//! (byte for byte: ids, receipts) and stores nothing new, even when the
//! copies arrive at once and after a restart; the same key with another
//! body is 422; a malformed key is 400; nothing of a refused request is
//! stored; past 24 hours the key is taken anew.

mod common;

use common::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Copies of one request sent at once.
const COPIES: usize = 12;

struct Notary {
    dir: TempDir,
    db: Option<PgDb>,
    _court: Proc,
    _arb: Proc,
    cfg: std::path::PathBuf,
    notary: Proc,
    /// On PostgreSQL, a second front-end on the same database.
    second: Option<Proc>,
    key: String,
    other_key: String,
}

impl Notary {
    fn start(pg: bool) -> Self {
        let dir = TempDir::new(if pg { "idem-pg" } else { "idem-sqlite" });
        let db = pg.then(|| PgDb::new("idem"));
        let dbu = db.as_ref().map(|d| d.url.clone());
        let court = start_witness(dir.path(), "court");
        let arb = start_witness(dir.path(), "arbitration");
        let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");
        let key = tenant_with_key(&cfg, dbu.as_deref(), "acme-trading");
        let other_key = tenant_with_key(&cfg, dbu.as_deref(), "other-corp");
        let notary = start_notary(&cfg, dbu.as_deref());
        let second = pg.then(|| start_notary(&cfg, dbu.as_deref()));
        Notary {
            dir,
            db,
            _court: court,
            _arb: arb,
            cfg,
            notary,
            second,
            key,
            other_key,
        }
    }

    fn db_url(&self) -> Option<&str> {
        self.db.as_ref().map(|d| d.url.as_str())
    }

    fn base(&self) -> &str {
        &self.notary.url
    }

    /// Every front-end's URL.
    fn bases(&self) -> Vec<String> {
        std::iter::once(&self.notary)
            .chain(&self.second)
            .map(|p| p.url.clone())
            .collect()
    }

    /// Kills the notary (-9) and starts it again on the same store.
    fn restart(&mut self) {
        self.notary.kill9();
        self.notary = start_notary(&self.cfg, self.db_url().map(str::to_owned).as_deref());
    }

    /// Moves the stored use of `key` back by `ms` milliseconds, as if it
    /// had been made that much earlier.
    async fn age_key(&self, key: &str, ms: i64) {
        let sql = "UPDATE idempotency_keys SET created_ms = created_ms - $1 WHERE key = $2 AND tenant = 'acme-trading'";
        let n = match self.db_url() {
            Some(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                let h = tokio::spawn(conn);
                let n = client.execute(sql, &[&ms, &key]).await.unwrap();
                drop(client);
                let _ = h.await;
                n
            }
            None => {
                let db = self.dir.path().join("data").join("notarium.db");
                age_sqlite_key(&db, key, ms)
            }
        };
        assert_eq!(n, 1, "one stored use of {key}");
    }
}

fn age_sqlite_key(db: &Path, key: &str, ms: i64) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn.execute(
        "UPDATE idempotency_keys SET created_ms = created_ms - ?1 WHERE key = ?2 AND tenant = 'acme-trading'",
        rusqlite::params![ms, key],
    )
    .unwrap() as u64
}

fn digest(label: &str) -> String {
    hex::encode(Sha256::digest(label.as_bytes()))
}

/// POSTs `body` to `path` with the API key and, if given, an
/// `Idempotency-Key` header of exactly these bytes: (status, JSON body).
async fn post(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    api_key: &str,
    idem: Option<&[u8]>,
    body: &str,
) -> (u16, Value) {
    let mut req = http
        .post(format!("{base}{path}"))
        .bearer_auth(api_key)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(k) = idem {
        req = req.header(
            "idempotency-key",
            reqwest::header::HeaderValue::from_bytes(k).unwrap(),
        );
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The ids of the caller's entries with this digest.
async fn stored(http: &reqwest::Client, base: &str, api_key: &str, sha256: &str) -> Vec<String> {
    let v = get_json(
        http,
        &format!("{base}/v1/evidence?sha256={sha256}"),
        api_key,
    )
    .await;
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {v}"))
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `COPIES` copies of one request at once, spread over the front-ends
/// `bases`: every answer.
async fn at_once(
    bases: &[String],
    path: &str,
    api_key: &str,
    idem: &str,
    body: &str,
) -> Vec<Value> {
    let tasks: Vec<_> = (0..COPIES)
        .map(|i| {
            let (base, path, api_key, idem, body) = (
                bases[i % bases.len()].clone(),
                path.to_owned(),
                api_key.to_owned(),
                idem.to_owned(),
                body.to_owned(),
            );
            tokio::spawn(async move {
                // One client (connection pool) per copy: separate
                // connections, so the copies really are concurrent.
                let http = http_client();
                post(&http, &base, &path, &api_key, Some(idem.as_bytes()), &body).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, 202, "{v}");
        answers.push(v);
    }
    answers
}

async fn exactly_once(pg: bool) {
    let mut n = Notary::start(pg);
    let http = http_client();
    let tag = if pg { "pg" } else { "sqlite" };
    let (key, other_key) = (n.key.clone(), n.other_key.clone());

    // One submission, sent 12 times at once under one key (on PostgreSQL
    // to two front-ends): one entry, and every answer is the first one,
    // byte for byte (id, receipt, salt).
    let one = digest(&format!("{tag} one"));
    let one_body = json!({"sha256": one, "metadata": {"title": "contract"}}).to_string();
    let answers = at_once(&n.bases(), "/v1/evidence", &key, "order-1", &one_body).await;
    let first = answers[0].clone();
    assert!(
        first["id"].is_string() && first["receipt"].is_string(),
        "{first}"
    );
    for a in &answers {
        assert_eq!(a, &first, "every copy gets the first answer");
    }
    assert_eq!(
        stored(&http, n.base(), &key, &one).await,
        vec![first["id"].as_str().unwrap().to_owned()]
    );

    // A batch, 12 times at once under another key: each item stored once.
    let items: Vec<String> = (0..3)
        .map(|i| digest(&format!("{tag} batch {i}")))
        .collect();
    let batch_body =
        json!({"items": items.iter().map(|d| json!({"sha256": d})).collect::<Vec<_>>()})
            .to_string();
    let answers = at_once(
        &n.bases(),
        "/v1/evidence:batch",
        &key,
        "order-2",
        &batch_body,
    )
    .await;
    let first_batch = answers[0].clone();
    assert_eq!(first_batch["items"].as_array().unwrap().len(), 3);
    for a in &answers {
        assert_eq!(a, &first_batch, "every copy gets the first answer");
    }
    for (i, d) in items.iter().enumerate() {
        assert_eq!(
            stored(&http, n.base(), &key, d).await,
            vec![first_batch["items"][i]["id"].as_str().unwrap().to_owned()]
        );
    }

    // The same key with another body: 422, and nothing of it stored.
    let another = digest(&format!("{tag} another"));
    let another_body = json!({"sha256": another}).to_string();
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &key,
        Some(b"order-1"),
        &another_body,
    )
    .await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (422, &json!("idempotency_key_reused")),
        "{v}"
    );
    assert!(stored(&http, n.base(), &key, &another).await.is_empty());
    // ... also on the other endpoint (the request is the endpoint and body).
    let as_batch = json!({"items": [{"sha256": another}]}).to_string();
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence:batch",
        &key,
        Some(b"order-1"),
        &as_batch,
    )
    .await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (422, &json!("idempotency_key_reused")),
        "{v}"
    );
    // ... and the same JSON spaced otherwise is another body.
    let spaced = format!(" {one_body}");
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &key,
        Some(b"order-1"),
        &spaced,
    )
    .await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (422, &json!("idempotency_key_reused")),
        "{v}"
    );
    assert!(stored(&http, n.base(), &key, &another).await.is_empty());
    assert_eq!(stored(&http, n.base(), &key, &one).await.len(), 1);

    // Keys are the tenant's own: another tenant's "order-1" is its own.
    let (status, theirs) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &other_key,
        Some(b"order-1"),
        &another_body,
    )
    .await;
    assert_eq!(status, 202, "{theirs}");
    assert_eq!(stored(&http, n.base(), &other_key, &another).await.len(), 1);
    assert!(stored(&http, n.base(), &key, &another).await.is_empty());

    // The structured-field string form names the same key as the bare one.
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &key,
        Some(b"\"order-1\""),
        &one_body,
    )
    .await;
    assert_eq!((status, &v), (202, &first));

    // Malformed keys: 400, nothing stored.
    let bad = digest(&format!("{tag} bad key"));
    let bad_body = json!({"sha256": bad}).to_string();
    let long = "k".repeat(256);
    let long_quoted = format!("\"{long}\"");
    let cases: [&[u8]; 9] = [
        b"",
        b"\"\"",
        long.as_bytes(),
        long_quoted.as_bytes(),
        b"tab\there",
        b"sp ace",
        "caf\u{e9}".as_bytes(),
        b"\"unterminated",
        b"\"bad\\escape\"",
    ];
    for k in cases {
        let (status, v) = post(&http, n.base(), "/v1/evidence", &key, Some(k), &bad_body).await;
        assert_eq!(
            (status, &v["error"]["code"]),
            (400, &json!("invalid_idempotency_key")),
            "{:?}: {v}",
            String::from_utf8_lossy(k)
        );
        let (status, _) = post(
            &http,
            n.base(),
            "/v1/evidence:batch",
            &key,
            Some(k),
            &as_batch,
        )
        .await;
        assert_eq!(status, 400, "{:?}", String::from_utf8_lossy(k));
    }
    // Sent twice: 400.
    let r = http
        .post(format!("{}/v1/evidence", n.base()))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .header("idempotency-key", "a")
        .header("idempotency-key", "b")
        .body(bad_body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(stored(&http, n.base(), &key, &bad).await.is_empty());
    assert!(stored(&http, n.base(), &key, &another).await.is_empty());
    // The longest key is accepted.
    let longest = "k".repeat(255);
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &key,
        Some(longest.as_bytes()),
        &bad_body,
    )
    .await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(stored(&http, n.base(), &key, &bad).await.len(), 1);

    // Durable: after kill -9 and a restart, the same answers, nothing new.
    n.restart();
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &key,
        Some(b"order-1"),
        &one_body,
    )
    .await;
    assert_eq!(
        (status, &v),
        (202, &first),
        "the first answer after a restart"
    );
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence:batch",
        &key,
        Some(b"order-2"),
        &batch_body,
    )
    .await;
    assert_eq!(
        (status, &v),
        (202, &first_batch),
        "the first answer after a restart"
    );
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &key,
        Some(b"order-1"),
        &another_body,
    )
    .await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (422, &json!("idempotency_key_reused")),
        "{v}"
    );
    assert_eq!(stored(&http, n.base(), &key, &one).await.len(), 1);
    for d in &items {
        assert_eq!(stored(&http, n.base(), &key, d).await.len(), 1);
    }
    assert!(stored(&http, n.base(), &key, &another).await.is_empty());

    // The window is 24 hours: a use 23 h 59 min old still answers ...
    const DAY_MS: i64 = 24 * 3600 * 1000;
    n.age_key("order-1", DAY_MS - 60_000).await;
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &key,
        Some(b"order-1"),
        &one_body,
    )
    .await;
    assert_eq!((status, &v), (202, &first), "within 24 h");
    assert_eq!(stored(&http, n.base(), &key, &one).await.len(), 1);
    // ... one older than 24 hours is forgotten: the key is taken anew.
    n.age_key("order-1", 120_000).await;
    let (status, again) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &key,
        Some(b"order-1"),
        &one_body,
    )
    .await;
    assert_eq!(status, 202, "{again}");
    assert_ne!(again["id"], first["id"], "a new entry past 24 h");
    assert_eq!(stored(&http, n.base(), &key, &one).await.len(), 2);
    // ... and names the new request from then on.
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &key,
        Some(b"order-1"),
        &one_body,
    )
    .await;
    assert_eq!((status, &v), (202, &again));
    n.age_key("order-2", DAY_MS + 1).await;
    let (status, v) = post(
        &http,
        n.base(),
        "/v1/evidence",
        &key,
        Some(b"order-2"),
        &another_body,
    )
    .await;
    assert_eq!(status, 202, "past 24 h a key may name another request: {v}");
    assert_eq!(stored(&http, n.base(), &key, &another).await.len(), 1);

    // Without a key, nothing changes: each submission is a new entry.
    for _ in 0..2 {
        let (status, _) = post(&http, n.base(), "/v1/evidence", &key, None, &one_body).await;
        assert_eq!(status, 202);
    }
    assert_eq!(stored(&http, n.base(), &key, &one).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_submits_once_on_postgres() {
    exactly_once(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_submits_once_on_sqlite() {
    exactly_once(false).await;
}
