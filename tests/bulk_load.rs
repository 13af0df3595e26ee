//! `notarium admin bulk-load` grows the log through the store's own insert
//! and sequencing paths: a notary started afterwards accepts the log (its
//! stored tree matches the stored root), the witnesses cosign it, and a new
//! submission's certificate — whose proofs run through the bulk-loaded
//! subtrees — verifies. While a notary holds the sequencer lease on
//! PostgreSQL, the loader refuses and changes nothing.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

fn bulk_load(cfg: &std::path::Path, db: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(notarium_bin());
    cmd.args(["admin", "--config"])
        .arg(cfg)
        .arg("bulk-load")
        .args(args);
    match db {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let o = cmd.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

async fn log_size(http: &reqwest::Client, url: &str) -> Option<u64> {
    let text = http
        .get(format!("{url}/v1/checkpoint"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines().nth(1)?.parse().ok()
}

async fn grow_then_serve(db: Option<&str>) {
    let dir = TempDir::new("bulk");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg, db, "bulk-tenant");

    // Unknown tenant: a usage error, nothing appended.
    let (code, _, err) = bulk_load(&cfg, db, &["--tenant", "nobody", "--entries", "5"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no tenant nobody"), "{err}");

    // 2,500 entries in chunks of 1,000: three transactions, three checkpoints.
    let (code, out, err) = bulk_load(
        &cfg,
        db,
        &[
            "--tenant",
            "bulk-tenant",
            "--entries",
            "2500",
            "--chunk",
            "1000",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("appended 2500 entries") && out.contains("log size 2500"),
        "{out}"
    );

    let notary = start_notary(&cfg, db);
    let http = http_client();
    // The loaded log gets witnessed: the final checkpoint reaches 2,500.
    eventually(
        "final checkpoint of the loaded log",
        Duration::from_secs(60),
        || async { log_size(&http, &notary.url).await.filter(|&s| s >= 2500) },
    )
    .await;

    // A new submission lands after the loaded entries, and its certificate
    // verifies (its inclusion proof hashes the bulk-loaded subtrees).
    let data = "after the bulk load";
    let digest = <sha2::Sha256 as sha2::Digest>::digest(data.as_bytes());
    let id = submit_text(&http, &notary.url, &key, data).await;
    let (status, cert) = final_certificate(&http, &notary.url, &key, &id).await;
    assert_eq!(status["index"], 2500);
    let report = verifier().verify_certificate(&cert, Some(&digest.into()));
    assert!(report.valid, "{:#?}", report.checks);

    // On PostgreSQL the running notary holds the lease: the loader refuses.
    if db.is_some() {
        let (code, out, err) = bulk_load(&cfg, db, &["--tenant", "bulk-tenant", "--entries", "10"]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains("sequencer lease"), "{err}");
        let size = log_size(&http, &notary.url).await.unwrap();
        assert!(
            size <= 2501,
            "nothing appended by the refused loader: {size}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_load_on_sqlite() {
    grow_then_serve(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_load_on_postgres() {
    let db = PgDb::new("bulk");
    grow_then_serve(Some(&db.url)).await;
}
