//! The shared cases against SQLite, then what only the embedded store
//! does: the file lock, the WAL kept bounded, durability across kill -9.

use crate::cases::every_case;
use crate::fixture::*;
use notarium_store::{NewEntry, SqliteStore, Store, StoreError};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

every_case!(Kind::Sqlite);

/// Timestamp tokens are durable: a store opened again on the file lists
/// the same tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_timestamp_tokens_survive_reopen() {
    let (_dir, path, store) = sqlite_store_with_tenants().await;
    let want = crate::cases::store_timestamp_tokens(&store).await;
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.timestamp_tokens(3).await.unwrap(), want);
}

/// SQLite keeps the ids it is given, so it refuses one it holds already,
/// and a commit that repeats one, and keeps nothing of either commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_an_id_it_holds() {
    let fx = Fixture::new(Kind::Sqlite).await;
    let s = fx.store();
    with_tenants(s).await;
    let first = put(s, (0..3).map(|n| entry(TENANT, n)).collect()).await;
    assert_eq!(first, (0..3).map(|n| entry(TENANT, n)).collect::<Vec<_>>());
    for mut bad in [
        vec![entry(TENANT, 10), entry(TENANT, 1), entry(TENANT, 11)],
        vec![entry(TENANT, 12), entry(TENANT, 13), entry(TENANT, 12)],
    ] {
        assert!(matches!(
            s.insert_entries(&mut bad).await,
            Err(StoreError::AlreadyExists(_))
        ));
    }
    for n in 10..=13 {
        let e = entry(TENANT, n);
        assert_eq!(
            s.get_entry(&tid(TENANT), &e.id).await.unwrap(),
            None,
            "entry {n}"
        );
    }
    assert_eq!(fx.raw_i64("SELECT count(*) FROM entries").await, 3);
    assert_eq!(
        s.get_entry(&tid(TENANT), &first[1].id)
            .await
            .unwrap()
            .unwrap()
            .entry,
        first[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_second_open_is_refused_until_the_first_closes() {
    let dir = TempDir::new();
    let path = dir.0.join("notary.db");
    let first = SqliteStore::open(&path).unwrap();
    first.migrate().await.unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    let lock = notarium_store::sqlite::lock_path(&path);
    assert!(msg.contains(&lock.display().to_string()), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    drop(first);
    let again = SqliteStore::open(&path).unwrap();
    again.ping().await.unwrap();
    assert_eq!(again.path(), path);
    // WAL is recorded in the file itself.
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_open_in_a_missing_directory_fails() {
    let dir = TempDir::new();
    let err = SqliteStore::open(dir.0.join("no/such/dir/notary.db")).unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
}

/// The WAL is copied into the main file by the store's checkpointer thread,
/// not by the writer (which checkpoints only past 64 MiB of WAL, far more
/// than this test writes): after a few hundred pages of commits the main
/// file grows with nothing else touching the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_is_checkpointed_off_the_writer() {
    let (_dir, path, store) = sqlite_store_with_tenants().await;
    let main_file = || std::fs::metadata(&path).unwrap().len();
    let before = main_file();
    for round in 0..20 {
        put(
            &store,
            (0..100).map(|i| entry(TENANT, round * 100 + i)).collect(),
        )
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while main_file() < before + 100 * 4096 {
        assert!(
            Instant::now() < deadline,
            "the WAL was not checkpointed: the main file has {} bytes, {before} before",
            main_file()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rows: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2000);
}

/// Under a sustained write load the WAL starts over instead of growing:
/// the checkpointer copies beside the writer, and the writer completes a
/// checkpoint past 64 MiB of WAL. (With the checkpointer alone, the WAL
/// grew past 1 GB in a benchmark: a checkpoint running beside a busy
/// writer never copies every frame. Here it grows about 20 times as fast
/// as the main file, so it would pass the bound below long before the
/// main file reaches 24 MiB.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_stays_bounded_under_sustained_writes() {
    let (dir, path, store) = sqlite_store_with_tenants().await;
    let store = Arc::new(store);
    let wal = dir.0.join("notary.db-wal");
    let wal_size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let main_file = || std::fs::metadata(&path).unwrap().len();
    // Four writers, so that the writer connection is never idle, until
    // 24 MiB have reached the main file (several hundred MiB of WAL
    // frames: the WAL starts over several times).
    let next = Arc::new(AtomicU64::new(0));
    let mut largest = 0;
    while main_file() < 24 << 20 {
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let (store, next) = (store.clone(), next.clone());
                tokio::spawn(async move {
                    for _ in 0..10 {
                        let first = next.fetch_add(200, Ordering::Relaxed);
                        put(
                            store.as_ref(),
                            (first..first + 200).map(|n| entry(TENANT, n)).collect(),
                        )
                        .await;
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        largest = largest.max(wal_size());
    }
    assert!(largest > 0);
    assert!(
        largest < 128 << 20,
        "the WAL reached {largest} bytes while {} bytes reached the main file",
        main_file()
    );
}

const DURABILITY_CHILD: &str = "NOTARIUM_STORE_DURABILITY_CHILD";

const DURABILITY_TEST: &str = "sqlite::sqlite_acknowledged_entries_survive_sigkill";

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

/// The child's role: insert groups of entries as fast as it can and print
/// each id once its insert returned, until killed (or, should the parent
/// never kill it, until a bound is reached).
async fn durability_child(path: &Path) {
    use std::io::Write;
    let store = SqliteStore::open(path).unwrap();
    let pid = u64::from(std::process::id());
    let started = Instant::now();
    let mut n = 0u64;
    let mut out = std::io::stdout().lock();
    while n < 200_000 && started.elapsed() < Duration::from_secs(120) {
        let group = put(
            &store,
            (0..1 + n % 7)
                .map(|i| NewEntry {
                    id: format!("{pid:016x}{:016x}", n + i),
                    ..entry(TENANT, n + i)
                })
                .collect(),
        )
        .await;
        for e in &group {
            writeln!(out, "ACK {}", e.id).unwrap();
        }
        out.flush().unwrap();
        n += group.len() as u64;
    }
}

/// kill -9 at a random moment, three times over: every id the child
/// printed (after `insert_entries` returned) is in the reopened store.
/// (A kill shows that an acknowledged commit has reached the OS; that it
/// also survives power loss rests on `synchronous = FULL`, which `open`
/// checks.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_entries_survive_sigkill() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    if let Some(path) = std::env::var_os(DURABILITY_CHILD) {
        durability_child(Path::new(&path)).await;
        return;
    }
    let dir = TempDir::new();
    let path = dir.0.join("notary.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.migrate().await.unwrap();
        s.add_tenant(&tid(TENANT), 0).await.unwrap();
    }
    let mut acked: Vec<String> = Vec::new();
    for round in 0..3 {
        let kill_after = 20 + (random_u64() % 400) as usize;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                DURABILITY_TEST,
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DURABILITY_CHILD, &path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut r = std::io::BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                line.clear();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    // A line cut short by the kill acknowledges nothing.
                    Ok(_) if line.ends_with(b"\n") => {
                        if let Some(id) = std::str::from_utf8(&line)
                            .ok()
                            .and_then(|l| l.strip_prefix("ACK "))
                        {
                            let _ = tx.send(id.trim_end().to_owned());
                        }
                    }
                    Ok(_) => {}
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = 0;
        while seen < kill_after {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(id) => {
                    acked.push(id);
                    seen += 1;
                }
                Err(e) => {
                    let _ = child.kill();
                    panic!("round {round}: the child acknowledged only {seen} entries ({e})");
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "round {round}: {status:?}");
        reader.join().unwrap();
        acked.extend(rx.try_iter()); // acknowledged before the kill landed
        eprintln!(
            "round {round}: killed after {seen} acknowledgements, {} in all",
            acked.len()
        );
        // The dead child's lock is gone; every acknowledged entry is there.
        let s = SqliteStore::open(&path).unwrap();
        for id in &acked {
            assert!(
                s.get_entry(&tid(TENANT), id).await.unwrap().is_some(),
                "round {round}: acknowledged entry {id} lost after kill -9"
            );
        }
        assert!(s.pending_count().await.unwrap() >= acked.len() as u64);
    }
    let check: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    assert!(acked.len() >= 60);
}
