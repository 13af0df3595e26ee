//! The log as C2SP tlog-tiles (contract §9, docs/tiles.md), checked by an
//! implementation no one on this project wrote: Cloudflare's `tlog_tiles`
//! crate recomputes the root of the served checkpoint and inclusion proofs
//! from the tiles it reads over HTTP, on a notary (real binaries, real
//! witnesses) whose log crosses two full tiles and has a level-1 tile;
//! on the embedded store and on PostgreSQL.

mod common;

use common::*;
use notarium_core::encoding::b64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tlog_tiles::{Checkpoint, Hash, TileHashReader, TileReader};

/// Entries notarized: two full level-0 tiles and a partial one of 17, so
/// the level-1 tile is partial of width 2.
const ENTRIES: usize = 256 * 2 + 17;
const HEIGHT: u8 = 8;

/// Our path of a tile given by the crate: its paths are the Go sumdb's,
/// `tile/<H>/<L>/<N>[.p/<W>]` with `data` for the entries' level; the
/// C2SP paths drop the height and name that level `entries`. The index
/// encoding is the crate's own.
fn c2sp_path(t: &tlog_tiles::Tile) -> String {
    let p = t.path();
    let rest = p
        .strip_prefix(&format!("tile/{HEIGHT}/"))
        .unwrap_or_else(|| panic!("unexpected tile path {p}"));
    match rest.strip_prefix("data/") {
        Some(n) => format!("tile/entries/{n}"),
        None => format!("tile/{rest}"),
    }
}

/// Reads tiles over HTTP from the notary, for `TileHashReader` (which
/// authenticates every tile against the checkpoint's root). `tamper`
/// flips one byte of one tile as it arrives.
struct HttpTiles {
    base: String,
    /// Read from this directory instead (the `[tiles] directory`).
    dir: Option<std::path::PathBuf>,
    http: reqwest::Client,
    tamper: Option<(String, usize)>,
    fetched: Mutex<Vec<String>>,
}

impl HttpTiles {
    fn new(base: &str, http: &reqwest::Client, tamper: Option<(&str, usize)>) -> Self {
        HttpTiles {
            base: base.to_string(),
            dir: None,
            http: http.clone(),
            tamper: tamper.map(|(p, i)| (p.to_string(), i)),
            fetched: Mutex::new(Vec::new()),
        }
    }
}

impl TileReader for HttpTiles {
    fn height(&self) -> u8 {
        HEIGHT
    }

    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let mut out = Vec::new();
                for t in tiles {
                    let path = c2sp_path(t);
                    if let Some(dir) = &self.dir {
                        let bytes = std::fs::read(dir.join(&path))
                            .unwrap_or_else(|e| panic!("{path} in the directory: {e}"));
                        self.fetched.lock().unwrap().push(path);
                        out.push(bytes);
                        continue;
                    }
                    let r = self
                        .http
                        .get(format!("{}/{path}", self.base))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 200, "GET /{path}");
                    let mut bytes = r.bytes().await.unwrap().to_vec();
                    if let Some((p, i)) = &self.tamper
                        && *p == path
                    {
                        bytes[*i] ^= 1;
                    }
                    self.fetched.lock().unwrap().push(path);
                    out.push(bytes);
                }
                Ok(out)
            })
        })
    }

    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

async fn get(http: &reqwest::Client, url: &str) -> reqwest::Response {
    http.get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// GET a path that must fail: its status and JSON error code.
async fn refused(http: &reqwest::Client, base: &str, path: &str) -> (u16, String) {
    let r = get(http, &format!("{base}{path}")).await;
    let status = r.status().as_u16();
    let body: Value = r
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"));
    (status, body["error"]["code"].as_str().unwrap_or("").into())
}

/// The entries of a bundle: big-endian uint16 length, then the bytes.
fn split_bundle(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        assert!(b.len() >= 2, "a bundle ends inside a length");
        let n = u16::from_be_bytes([b[0], b[1]]) as usize;
        assert!(b.len() >= 2 + n, "a bundle ends inside an entry");
        out.push(b[2..2 + n].to_vec());
        b = &b[2 + n..];
    }
    out
}

/// A small deterministic generator for the sampled indices (the seed is
/// printed, so a failure can be replayed).
fn sample(seed: u64, n: usize, below: u64) -> Vec<u64> {
    (0..n as u64)
        .map(|i| {
            let h = Sha256::digest([seed.to_be_bytes(), i.to_be_bytes()].concat());
            u64::from_be_bytes(h[..8].try_into().unwrap()) % below
        })
        .collect()
}

async fn tiles_agree_with_tlog_tiles(pg: bool) {
    let dir = TempDir::new(if pg { "tiles-pg" } else { "tiles-sqlite" });
    let db = pg.then(|| PgDb::new("tiles"));
    let dbu = db.as_ref().map(|d| d.url.clone());
    let _court = start_witness(dir.path(), "court");
    let _arb = start_witness(dir.path(), "arbitration");
    let public = dir.path().join("public");
    let cfg = write_notary_config(
        dir.path(),
        &_court.url,
        &_arb.url,
        &format!("[tiles]\ndirectory = \"{}\"\n", public.display()),
    );
    let key = tenant_with_key(&cfg, dbu.as_deref(), "acme-trading");
    let notary = start_notary(&cfg, dbu.as_deref());
    let base = notary.url.trim_end_matches('/').to_string();
    notarium_http::tls::install_default_provider();
    let http = reqwest::Client::new();

    // Before anything is final: no checkpoint, no tile.
    assert_eq!(
        refused(&http, &base, "/checkpoint").await,
        (404, "not_found".into())
    );
    assert_eq!(
        refused(&http, &base, "/tile/0/000.p/1").await,
        (404, "not_found".into())
    );

    // Notarize in several requests (several commit groups and sequencer
    // batches), keeping each entry's text as the 202 answer gave it.
    let mut texts: HashMap<String, String> = HashMap::new();
    let mut sent = 0;
    while sent < ENTRIES {
        let n = (ENTRIES - sent).min(100);
        let items: Vec<Value> = (sent..sent + n)
            .map(|i| json!({"sha256": hex::encode(Sha256::digest(format!("tile evidence {i}")))}))
            .collect();
        let r = http
            .post(format!("{base}/v1/evidence:batch"))
            .bearer_auth(&key)
            .json(&json!({ "items": items }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202);
        let body: Value = r.json().await.unwrap();
        for item in body["items"].as_array().unwrap() {
            texts.insert(
                item["id"].as_str().unwrap().into(),
                item["entry"].as_str().unwrap().into(),
            );
        }
        sent += n;
    }
    assert_eq!(texts.len(), ENTRIES);

    // Wait for a final checkpoint covering every entry.
    let note = eventually(
        "a final checkpoint of every entry",
        Duration::from_secs(90),
        || async {
            let r = get(&http, &format!("{base}/checkpoint")).await;
            if r.status() != 200 {
                return None;
            }
            let note = r.text().await.unwrap();
            let size: usize = note.lines().nth(1)?.parse().ok()?;
            (size == ENTRIES).then_some(note)
        },
    )
    .await;

    // /checkpoint: the same note as /v1/checkpoint, text, not cached.
    let r = get(&http, &format!("{base}/checkpoint")).await;
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let v1 = get(&http, &format!("{base}/v1/checkpoint"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(v1, note);
    assert!(note.contains("\n\n— "), "the note carries its signatures");

    // The checkpoint as the crate reads it (the note's body).
    let body = &note[..note.find("\n\n").unwrap() + 1];
    let cp = Checkpoint::from_bytes(body.as_bytes()).expect("tlog_tiles parses the checkpoint");
    assert_eq!(cp.origin(), "notarium.example/log");
    assert_eq!(cp.size(), ENTRIES as u64);
    let size = cp.size();
    let root = *cp.hash();

    // The crate recomputes the root from the tiles it needs.
    let tiles = HttpTiles::new(&base, &http, None);
    let reader = TileHashReader::new(size, root, &tiles);
    let recomputed = tlog_tiles::tree_hash(size, &reader).expect("the tiles give the root");
    assert_eq!(recomputed, root);
    let fetched = tiles.fetched.lock().unwrap().clone();
    assert!(
        fetched.contains(&"tile/1/000.p/2".to_string())
            && fetched.contains(&"tile/0/002.p/17".to_string()),
        "{fetched:?}"
    );

    // Every entry bundle: its texts hash to its level-0 tile, and they are
    // exactly the texts the notary answered at submission.
    let mut published: HashMap<u64, Vec<u8>> = HashMap::new();
    for (n, w) in [(0u64, 256u32), (1, 256), (2, 17)] {
        let bundle_tile = tlog_tiles::Tile::new(HEIGHT, 0, n, w, true);
        let hash_tile = tlog_tiles::Tile::new(HEIGHT, 0, n, w, false);
        let r = get(&http, &format!("{base}/{}", c2sp_path(&bundle_tile))).await;
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        let cache = if w == 256 {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=60"
        };
        assert_eq!(r.headers()["cache-control"], cache);
        let entries = split_bundle(&r.bytes().await.unwrap());
        assert_eq!(entries.len(), w as usize);
        let hashes = get(&http, &format!("{base}/{}", c2sp_path(&hash_tile)))
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(hashes.len(), 32 * w as usize);
        for (i, e) in entries.into_iter().enumerate() {
            let leaf = tlog_tiles::record_hash(&e);
            assert_eq!(
                &hashes[i * 32..i * 32 + 32],
                &leaf.0,
                "bundle {n} entry {i}"
            );
            published.insert(n * 256 + i as u64, e);
        }
    }
    let mut all: Vec<&[u8]> = published.values().map(|v| v.as_slice()).collect();
    let mut answered: Vec<&[u8]> = texts.values().map(|t| t.as_bytes()).collect();
    all.sort();
    answered.sort();
    assert_eq!(
        all, answered,
        "the bundles hold exactly the submitted entries"
    );

    // Inclusion proofs by the crate for random entries: each checks
    // against the root with the leaf hash of the entry's text (as its
    // status gives the index), and equals the notary's own proof.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("inclusion sample seed {seed}");
    let ids: Vec<&String> = {
        let mut v: Vec<&String> = texts.keys().collect();
        v.sort();
        v
    };
    for pick in
        sample(seed, 12, ENTRIES as u64)
            .into_iter()
            .chain([0, 255, 256, ENTRIES as u64 - 1])
    {
        let id = ids[pick as usize];
        let status = get_json(&http, &format!("{base}/v1/evidence/{id}"), &key).await;
        let index = status["index"].as_u64().unwrap();
        let text = &texts[id];
        assert_eq!(published[&index], text.as_bytes(), "entry {index}");
        let leaf = tlog_tiles::record_hash(text.as_bytes());
        let proof = tlog_tiles::prove_record(size, index, &reader)
            .unwrap_or_else(|e| panic!("proof of {index}: {e:?}"));
        tlog_tiles::check_record(&proof, size, root, index, leaf)
            .unwrap_or_else(|e| panic!("proof of {index} does not check: {e:?}"));
        let ours: Value = get(
            &http,
            &format!("{base}/v1/proof/inclusion?index={index}&size={size}"),
        )
        .await
        .json()
        .await
        .unwrap();
        let theirs: Vec<String> = proof.iter().map(|h| b64(&h.0)).collect();
        assert_eq!(ours["hashes"], json!(theirs), "proof of {index}");
    }

    // A tampered tile is caught: a flipped byte in the partial level-0
    // tile or in the level-1 tile breaks the root (the reader refuses
    // them); in a full level-0 tile, the proof of an entry under it no
    // longer checks against the root. (The crate's reader checks such a
    // tile against its parent only when the checkpoint's subtrees fall in
    // as many tiles as there are subtrees: `for i in stx.len()..` counts
    // subtrees, not tiles. Here two share tile 0/002.p/17, so it is the
    // proof's check that refuses it.)
    for (tile, index) in [
        ("tile/0/002.p/17", 520),
        ("tile/1/000.p/2", 300),
        ("tile/0/000", 5),
        ("tile/0/001", 300),
    ] {
        let bad = HttpTiles::new(&base, &http, Some((tile, 40)));
        let reader = TileHashReader::new(size, root, &bad);
        let leaf = tlog_tiles::record_hash(&published[&index]);
        let checked = tlog_tiles::prove_record(size, index, &reader)
            .and_then(|proof| tlog_tiles::check_record(&proof, size, root, index, leaf));
        assert!(
            checked.is_err(),
            "a flipped byte in {tile} went unnoticed (entry {index})"
        );
        assert!(
            bad.fetched.lock().unwrap().contains(&tile.to_string()),
            "{tile} was not read"
        );
    }
    let bad = HttpTiles::new(&base, &http, Some(("tile/0/002.p/17", 3)));
    assert!(tlog_tiles::tree_hash(size, &TileHashReader::new(size, root, &bad)).is_err());
    let wrong_root = Hash([7; 32]);
    assert!(tlog_tiles::tree_hash(size, &TileHashReader::new(size, wrong_root, &tiles)).is_err());

    // Tiles the final tree does not have: 404, JSON.
    for path in [
        "/tile/0/003",       // beyond the tree
        "/tile/0/002",       // full, not complete
        "/tile/0/002.p/18",  // wider than the tree
        "/tile/0/003.p/1",   // beyond
        "/tile/1/000",       // a level-1 tile of 256 leaves' tiles
        "/tile/1/001.p/1",   // beyond
        "/tile/2/000.p/1",   // the tree has no level 2 yet
        "/tile/entries/003", // beyond
        "/tile/entries/002.p/18",
        "/tile/63/x018/x446/x744/x073/x709/x551/615",
    ] {
        assert_eq!(
            refused(&http, &base, path).await,
            (404, "not_found".into()),
            "{path}"
        );
    }
    // A narrower partial tile (an earlier checkpoint's) is served while
    // its full tile is incomplete: a prefix of the current one.
    let narrow = get(&http, &format!("{base}/tile/0/002.p/5"))
        .await
        .bytes()
        .await
        .unwrap();
    let current = get(&http, &format!("{base}/tile/0/002.p/17"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(narrow[..], current[..5 * 32]);

    // Malformed paths: 400 invalid_path, JSON.
    for path in [
        "/tile/0/2",
        "/tile/00/000",
        "/tile/64/000",
        "/tile/-1/000",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/0/000.p/017",
        "/tile/0/x000/001",
        "/tile/0/001/002",
        "/tile/0/x001",
        "/tile/entries/x000/001",
        "/tile/entries/1",
        "/tile/entries",
        "/tile/abc/000",
        "/tile/0/x018/x446/x744/x073/x709/x551/616",
    ] {
        assert_eq!(
            refused(&http, &base, path).await,
            (400, "invalid_path".into()),
            "{path}"
        );
    }
    // Bundles are gzip-compressed for a client that accepts it, and only
    // then; hash tiles never (they do not compress).
    let plain = get(&http, &format!("{base}/tile/entries/000")).await;
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["vary"], "Accept-Encoding");
    let plain = plain.bytes().await.unwrap();
    for (accept, gzip) in [
        ("gzip", true),
        ("br;q=1.0, gzip;q=0.5", true),
        ("*", true),
        ("gzip;q=0", false),
        ("identity", false),
    ] {
        let r = http
            .get(format!("{base}/tile/entries/000"))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let encoding = r.headers().get("content-encoding").cloned();
        let body = r.bytes().await.unwrap();
        if gzip {
            assert_eq!(encoding.unwrap(), "gzip", "{accept}");
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut out)
                .unwrap();
            assert_eq!(out, plain, "{accept}");
            assert!(
                body.len() < plain.len() * 2 / 3,
                "{} of {}",
                body.len(),
                plain.len()
            );
        } else {
            assert!(encoding.is_none(), "{accept}");
            assert_eq!(body, plain, "{accept}");
        }
    }
    let r = http
        .get(format!("{base}/tile/0/000"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(r.bytes().await.unwrap().len(), 8192);

    // The static directory: the same checkpoint and the same bytes, and
    // the crate recomputes the root from its files alone.
    let on_disk = eventually(
        "the directory's checkpoint",
        Duration::from_secs(30),
        || async {
            let t = std::fs::read_to_string(public.join("checkpoint")).ok()?;
            (t == note).then_some(t)
        },
    )
    .await;
    assert_eq!(on_disk, note);
    for path in [
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/17",
        "tile/1/000.p/2",
        "tile/entries/000",
        "tile/entries/001",
        "tile/entries/002.p/17",
    ] {
        let served = get(&http, &format!("{base}/{path}"))
            .await
            .bytes()
            .await
            .unwrap();
        let written = std::fs::read(public.join(path)).unwrap();
        assert_eq!(written, served[..], "{path}");
    }
    // Partial tiles superseded by their full tile are gone; no temporary
    // file is left behind.
    assert!(!public.join("tile/0/000.p").exists());
    assert!(!public.join("tile/entries/001.p").exists());
    let mut stack = vec![public.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            assert!(
                !e.file_name().to_string_lossy().contains(".tmp-"),
                "{:?}",
                e.path()
            );
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    let files = HttpTiles {
        dir: Some(public.clone()),
        ..HttpTiles::new(&base, &http, None)
    };
    let from_files = TileHashReader::new(size, root, &files);
    assert_eq!(tlog_tiles::tree_hash(size, &from_files).unwrap(), root);
    let proof = tlog_tiles::prove_record(size, 300, &from_files).unwrap();
    tlog_tiles::check_record(
        &proof,
        size,
        root,
        300,
        tlog_tiles::record_hash(&published[&300]),
    )
    .unwrap();

    // Only GET.
    let r = http
        .post(format!("{base}/tile/0/000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_agree_with_tlog_tiles_sqlite() {
    tiles_agree_with_tlog_tiles(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_agree_with_tlog_tiles_postgres() {
    tiles_agree_with_tlog_tiles(true).await;
}

/// Sum of file sizes, space on disk (allocated blocks) and file count of
/// the tree under `dir`.
fn disk_usage(dir: &std::path::Path) -> (u64, u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let (mut bytes, mut blocks, mut files) = (0, 0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                bytes += m.len();
                blocks += m.blocks() * 512;
                files += 1;
            }
        }
    }
    (bytes, blocks, files)
}

/// The cost of the tiles (docs/tiles.md gives the numbers): notarizes
/// `NOTARIUM_TILES_COST_ENTRIES` entries (default 20,000; all but the last
/// 20,000 bulk-loaded) on the embedded store with `[tiles] directory`, then, the notary stopped, publishes the
/// whole log again and single batches of it from the store in this
/// process, and prints bytes per entry and the time of a batch as a share
/// of the batch interval. Run alone:
///
///   cargo nextest run -p notarium --test tiles tiles_cost --run-ignored only --no-capture
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: docs/tiles.md"]
async fn tiles_cost() {
    let n: u64 = std::env::var("NOTARIUM_TILES_COST_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = TempDir::new("tiles-cost");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let public = dir.path().join("public");
    let cfg = write_notary_config(
        dir.path(),
        &court.url,
        &arb.url,
        &format!(
            "[limits]\nper_key_rate = 0\n[tiles]\ndirectory = \"{}\"\n",
            public.display()
        ),
    );
    let key = tenant_with_key(&cfg, None, "acme-trading");
    let started = std::time::Instant::now();
    // Past the last 20,000 entries, the log is grown with `notarium admin
    // bulk-load` (the intake's entries and the real sequencer, without
    // HTTP), so 10 M entries take minutes; the last 20,000 come over HTTP
    // and the running notary publishes the whole log to the directory.
    let bulk = n.saturating_sub(20_000);
    if bulk > 0 {
        let entries = bulk.to_string();
        admin(
            &cfg,
            None,
            &[
                "bulk-load",
                "--tenant",
                "acme-trading",
                "--entries",
                &entries,
            ],
        );
        eprintln!(
            "bulk-loaded {bulk} entries in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let mut notary = start_notary(&cfg, None);
    let base = notary.url.trim_end_matches('/').to_string();
    notarium_http::tls::install_default_provider();
    let http = reqwest::Client::new();
    let mut sent = bulk;
    while sent < n {
        let k = (n - sent).min(1000);
        let items: Vec<Value> = (sent..sent + k)
            .map(|i| {
                json!({"sha256": hex::encode(Sha256::digest(format!("cost {i}"))),
                       "metadata": {"file_name": format!("exhibit-{i}.pdf")}})
            })
            .collect();
        let r = http
            .post(format!("{base}/v1/evidence:batch"))
            .bearer_auth(&key)
            .json(&json!({ "items": items }))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        assert_eq!(r.status().as_u16(), 202);
        sent += k;
    }
    eventually(
        "the directory at the last entry",
        Duration::from_secs(600.max(n / 2_000)),
        || async {
            let t = std::fs::read_to_string(public.join("checkpoint")).ok()?;
            (t.lines().nth(1)? == n.to_string()).then_some(())
        },
    )
    .await;
    let notarize_s = started.elapsed().as_secs_f64();
    notary.kill9();

    let store = notarium_store::SqliteStore::open(dir.path().join("data/notarium.db")).unwrap();
    let fin = notarium_store::Store::latest_final(&store)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fin.size, n);
    let (written_bytes, _, written_files) = disk_usage(&public.join("tile"));

    // The whole log again, into an empty directory.
    let again = dir.path().join("again");
    let t = std::time::Instant::now();
    notarium::tiles::write_directory(&store, &again, &fin.note, n)
        .await
        .unwrap();
    let all_s = t.elapsed().as_secs_f64();
    // The directory written as the log grew holds the same, and the
    // partial tiles of earlier checkpoints whose full tile is not complete.
    let (bytes, blocks, files) = disk_usage(&again.join("tile"));
    let entries_bytes = disk_usage(&again.join("tile/entries")).0;
    assert!(written_bytes >= bytes && written_files >= files);

    // One batch: the tiles a checkpoint `b` entries after the previous one
    // publishes (the directory says it holds the tree of n - b).
    let interval_s = 0.1; // batch_interval_ms of the tests' configuration
    let mut report = Vec::new();
    for b in [100u64, 1000, 4096] {
        let mut times = Vec::new();
        for rep in 0..5 {
            let d = dir.path().join(format!("batch-{b}-{rep}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("checkpoint"), format!("x\n{}\nx\n", n - b)).unwrap();
            let t = std::time::Instant::now();
            notarium::tiles::write_directory(&store, &d, &fin.note, n)
                .await
                .unwrap();
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        report.push(format!(
            "batch of {b}: {:.2} of the {} ms batch interval; {:.2}x the per-entry time of publishing the whole log",
            median / interval_s,
            (interval_s * 1000.0) as u64,
            (median / b as f64) / (all_s / n as f64)
        ));
    }
    let per_million = |v: u64| v as f64 / n as f64 * 1e6 / 1e6;
    eprintln!(
        "tiles cost, {n} entries ({bulk} bulk-loaded; notarized and published in {notarize_s:.1} s):\n\
         kept partial tiles of earlier checkpoints: {} files, {} bytes\n\
         files {files}; bytes {bytes} ({:.1} per entry: hash tiles {:.1}, bundles {:.1}); on disk {blocks} ({:.2}x the bytes)\n\
         per million entries: {:.1} MB of files, {:.1} MB on disk; at 10 M: {:.0} MB, {:.0} files\n\
         publishing the whole log from the store: {:.2}x the time its notarization took\n{}",
        written_files - files,
        written_bytes - bytes,
        bytes as f64 / n as f64,
        (bytes - entries_bytes) as f64 / n as f64,
        entries_bytes as f64 / n as f64,
        blocks as f64 / bytes as f64,
        per_million(bytes),
        per_million(blocks),
        per_million(blocks) * 10.0,
        files as f64 / n as f64 * 1e7,
        all_s / notarize_s,
        report.join("\n")
    );
}
