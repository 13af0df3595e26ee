//! The sequencer's statements do work in proportion to the batch, even
//! when PostgreSQL's statistics make the queue look empty: measured from
//! their plans (`EXPLAIN ANALYZE`) and under a statement timeout, never by
//! the clock.

use crate::fixture::*;
use notarium_store::{PostgresStore, Store};

/// The queue's statistics come from its last VACUUM: taken when one entry
/// waited in a table of many pages, they make the queue look empty. A batch
/// of 20 000 entries after that must still be joined with the queue in
/// linear time (the planner's nested loop took minutes at 50 000). Generic
/// plans are forced: the store's statements are prepared once per
/// connection, and PostgreSQL switches to a generic plan (which cannot see
/// the batch's size) after five executions. The statement timeout is the
/// deadline, two orders of magnitude above what the batch needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_large_batch_after_tidying_a_nearly_empty_queue_is_not_quadratic() {
    const N: u64 = 20_000;
    let db = PgDb::create().await;
    let raw = admin_client(&db.url).await;
    raw.batch_execute(&format!(
        "ALTER DATABASE {0} SET statement_timeout = '10s';
         ALTER DATABASE {0} SET plan_cache_mode = force_generic_plan",
        db.name
    ))
    .await
    .unwrap();
    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    with_tenants(&store).await;
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    let mut seq = Seq::new();
    put(&store, (0..N).map(|n| entry(TENANT, n)).collect()).await;
    seq.sequence(&store, &lease, N as u32 - 1).await;
    store.tidy_queue().await.unwrap();
    let estimate: f32 = scalar(
        &raw,
        "SELECT reltuples FROM pg_class WHERE relname = 'pending_groups'",
    )
    .await;
    assert_eq!(estimate, 1.0, "the queue looks nearly empty to the planner");

    put(&store, (N..2 * N).map(|n| entry(TENANT, n)).collect()).await;
    seq.sequence(&store, &lease, N as u32 + 1).await;
    assert_eq!(store.log_state().await.unwrap().size, 2 * N);
    assert_eq!(store.pending_count().await.unwrap(), 0);
}

/// Rows produced by all the nodes of an `EXPLAIN ANALYZE` text plan, each
/// node's rows times its loops: the work a plan did, whatever its shape.
fn rows_processed(plan: &[String]) -> u64 {
    plan.iter()
        .filter_map(|line| {
            let at = line.find("actual rows=")?;
            let mut fields = line[at..].split(['=', ' ', ')']);
            let rows: u64 = fields.nth(2)?.parse().ok()?;
            let loops: u64 = fields.nth(1)?.parse().ok()?;
            Some(rows * loops)
        })
        .sum()
}

/// Runs `sql` under `EXPLAIN ANALYZE` and checks that its work touched
/// each of the queue's `groups` and stayed in proportion to them.
async fn assert_linear(
    raw: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    groups: u64,
) {
    let plan: Vec<String> = raw
        .query(
            &format!("EXPLAIN (ANALYZE, TIMING false, COSTS false) {sql}"),
            params,
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let text = plan.join("\n");
    assert!(
        text.contains(&format!("rows={groups} ")),
        "every group in the work:\n{text}"
    );
    assert!(
        rows_processed(&plan) <= 20 * groups,
        "work quadratic in the queue:\n{text}"
    );
}

/// The sequencer's statements that read the queue do work in proportion
/// to the batch even when PostgreSQL believes the queue is empty, as it
/// does after the sequencer's `VACUUM` found only dead rows. With that
/// estimate they used to loop over the queue once per group (561 × 561
/// rows, 0.4-1.5 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_queue_statements_stay_linear_when_the_queue_looks_empty() {
    let (_db, store, raw) = pg_store_with_tenants().await;
    // One group sequenced (its row now dead), then the queue vacuumed: its
    // statistics say 0 rows in the pages it has.
    put(&store, vec![entry(TENANT, 0)]).await;
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    Seq::new().sequence(&store, &lease, 1).await;
    raw.batch_execute("VACUUM (TRUNCATE false) pending_groups")
        .await
        .unwrap();
    let groups = 400u64;
    for n in 1..=groups {
        put(&store, vec![entry(TENANT, n)]).await;
    }
    let estimate: String = raw
        .query_one("EXPLAIN SELECT * FROM pending_groups", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        estimate.contains("rows=1 "),
        "the queue should look empty to the planner: {estimate}"
    );
    let [next_pending, append_batch] = PostgresStore::queue_statements();
    assert_linear(&raw, next_pending, &[&(groups as i64)], groups).await;

    // The batch of all 400 groups, in a transaction rolled back after.
    let queue: Vec<(i64, i32)> = raw
        .query("SELECT grp, n FROM pending_groups ORDER BY grp", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let grps: Vec<i64> = queue.iter().map(|q| q.0).collect();
    let lo: Vec<i32> = vec![0; queue.len()];
    let hi: Vec<i32> = queue.iter().map(|q| q.1).collect();
    let first: Vec<i64> = (1..=groups as i64).collect();
    raw.batch_execute("BEGIN").await.unwrap();
    assert_linear(&raw, append_batch, &[&grps, &lo, &hi, &first], groups).await;
    raw.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(store.pending_count().await.unwrap(), groups);
}
