//! The log as C2SP tlog-tiles (contract §9, docs/tiles.md): hash tiles of
//! height 8 and entry bundles, computed from the store for the tree of the
//! latest final checkpoint. A level-L tile holds the stored node hashes at
//! height 8·L, read in one query ([`Store::read_level`]); an entry bundle
//! holds the entry texts exactly as leaf-hashed, each a big-endian uint16
//! length then the bytes, read in one query ([`Store::sequenced_entries`]).
//!
//! Used by the `/tile/...` routes (src/api/log.rs) and by the static
//! directory writer ([`write_directory`]).

use crate::service::{Error, Invalid, Missing, entry_of};
use notarium_core::merkle::leaf_hash;
use notarium_store::Store;
use std::path::Path;

/// Tree levels per tile (the spec fixes 8).
pub const HEIGHT: u32 = 8;
/// Hashes (or entries) in a full tile.
pub const WIDTH: u64 = 1 << HEIGHT;
/// The highest tile level the spec allows.
pub const MAX_LEVEL: u8 = 63;

/// `Cache-Control` of full tiles and full entry bundles: they never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of partial tiles and bundles: their bytes never change
/// either, but a reader should come back for the full tile soon.
pub const PARTIAL: &str = "public, max-age=60";
/// `Cache-Control` of `/checkpoint`: it moves with every final checkpoint.
pub const CHECKPOINT: &str = "no-cache";

/// What a tile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Hashes at tree height 8·level.
    Hashes { level: u8 },
    /// Entry texts (the bundle of level-0 tile `index`).
    Entries,
}

/// One tile or entry bundle: `tile/<L>/<N>[.p/<W>]` or
/// `tile/entries/<N>[.p/<W>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub kind: Kind,
    /// N: the tile's position among the tiles of its level.
    pub index: u64,
    /// W: 1 to 256 (256 is a full tile, written without `.p/`).
    pub width: u64,
}

impl Tile {
    pub fn is_full(&self) -> bool {
        self.width == WIDTH
    }

    /// Tree height of the hashes it holds (0 for entries).
    fn height(&self) -> u32 {
        match self.kind {
            Kind::Hashes { level } => HEIGHT * u32::from(level),
            Kind::Entries => 0,
        }
    }

    /// Its path under the log's prefix, without a leading slash.
    pub fn path(&self) -> String {
        let level = match self.kind {
            Kind::Hashes { level } => level.to_string(),
            Kind::Entries => "entries".into(),
        };
        let mut p = format!("tile/{level}/{}", encode_index(self.index));
        if !self.is_full() {
            p.push_str(&format!(".p/{}", self.width));
        }
        p
    }

    /// Parses what follows `tile/`: `<L>/<N>[.p/<W>]` or
    /// `entries/<N>[.p/<W>]`, in the one spelling the spec allows.
    pub fn parse(rest: &str) -> Result<Tile, String> {
        let (first, tail) = rest
            .split_once('/')
            .ok_or_else(|| format!("\"{rest}\" has no tile index"))?;
        let kind = if first == "entries" {
            Kind::Entries
        } else {
            let level = parse_decimal(first)
                .filter(|&l| l <= u64::from(MAX_LEVEL))
                .ok_or_else(|| {
                    format!(
                        "tile level \"{first}\" is not a decimal from 0 to 63 without leading zeros"
                    )
                })?;
            Kind::Hashes { level: level as u8 }
        };
        let (n, width) = match tail.split_once(".p/") {
            Some((n, w)) => {
                let w = parse_decimal(w).filter(|w| (1..WIDTH).contains(w)).ok_or_else(|| {
                    format!("partial width \"{w}\" is not a decimal from 1 to 255 without leading zeros")
                })?;
                (n, w)
            }
            None => (tail, WIDTH),
        };
        let index = parse_index(n).ok_or_else(|| {
            format!("tile index \"{n}\" is not 3-digit groups, all but the last prefixed with x (e.g. x001/x234/067), without a leading x000")
        })?;
        Ok(Tile { kind, index, width })
    }

    /// Whether the tree of `size` has this tile: a full tile once its 256
    /// hashes are all in the tree, a partial one whose `width` hashes are
    /// (the partial tile of the tree, or of an earlier tree: the spec
    /// requires serving those of earlier checkpoints until the full tile
    /// exists).
    pub fn in_tree(&self, size: u64) -> bool {
        let count = size.checked_shr(self.height()).unwrap_or(0);
        self.index
            .checked_mul(WIDTH)
            .and_then(|s| s.checked_add(self.width))
            .is_some_and(|end| end <= count)
    }

    /// The range of positions (node indices at its height, or log
    /// indices) it covers.
    fn range(&self) -> (u64, u64) {
        let start = self.index * WIDTH;
        (start, start + self.width)
    }
}

/// A decimal without leading zeros (and without a sign).
fn parse_decimal(s: &str) -> Option<u64> {
    let ok = !s.is_empty()
        && s.len() <= 20
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse().ok()).flatten()
}

/// N as the spec writes it: 3-digit groups, all but the last prefixed
/// with `x` (1234067 is `x001/x234/067`).
pub fn encode_index(mut n: u64) -> String {
    let mut p = format!("{:03}", n % 1000);
    while n >= 1000 {
        n /= 1000;
        p = format!("x{:03}/{p}", n % 1000);
    }
    p
}

/// The inverse of [`encode_index`]: only its exact output is accepted.
pub fn parse_index(s: &str) -> Option<u64> {
    let groups: Vec<&str> = s.split('/').collect();
    let mut n: u64 = 0;
    for (i, g) in groups.iter().enumerate() {
        let digits = if i + 1 < groups.len() {
            g.strip_prefix('x')?
        } else {
            g
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
    }
    (encode_index(n) == s).then_some(n)
}

/// The bytes of `tile` in the tree of `size` (the latest final
/// checkpoint's): 404 if that tree does not have it.
pub async fn read(store: &dyn Store, tile: Tile, size: u64) -> Result<Vec<u8>, Error> {
    if !tile.in_tree(size) {
        return Err(Error::NotFound(Missing::Tile {
            path: tile.path(),
            size,
        }));
    }
    let (start, end) = tile.range();
    match tile.kind {
        Kind::Hashes { .. } => {
            let hashes = store
                .read_level(tile.height() as u8, start, end)
                .await
                .map_err(|e| stored(&tile, e))?;
            Ok(hashes.concat())
        }
        Kind::Entries => {
            let entries = store
                .sequenced_entries(start, end)
                .await
                .map_err(|e| stored(&tile, e))?;
            let mut out = Vec::with_capacity(entries.len() * 260);
            for e in &entries {
                let text = entry_of(e)?.leaf_text();
                // The bundle must hash to the level-0 tile: a stored entry
                // whose text does not give its stored leaf hash is never
                // published.
                if leaf_hash(text.as_bytes()) != e.entry.leaf_hash {
                    return Err(Error::internal(
                        "a stored entry",
                        format!("entry {:?} does not hash to its leaf hash", e.log_index),
                    ));
                }
                let len = u16::try_from(text.len())
                    .map_err(|_| Error::internal("an entry text", "longer than 65535 bytes"))?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            Ok(out)
        }
    }
}

/// A store failure reading a tile the tree has: a missing node or entry
/// is the store's inconsistency, never the caller's 404.
fn stored(tile: &Tile, e: notarium_store::StoreError) -> Error {
    match e {
        notarium_store::StoreError::NotFound(what) => {
            Error::internal(&format!("reading {}", tile.path()), what)
        }
        e => Error::Store(std::sync::Arc::new(e)),
    }
}

/// A malformed tile path, as the caller's 400.
pub fn malformed(message: String) -> Error {
    Error::invalid(Invalid::Path, message)
}

/// Every tile and bundle the tree of `new` has and the tree of `old`
/// lacks: the full tiles completed in between, and the partial tiles of
/// `new` (the tiles C2SP says to publish for a new checkpoint).
pub fn new_tiles(old: u64, new: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    for level in 0..=MAX_LEVEL {
        let h = HEIGHT * u32::from(level);
        let (o, n) = (
            old.checked_shr(h).unwrap_or(0),
            new.checked_shr(h).unwrap_or(0),
        );
        if n == 0 {
            break;
        }
        let mut push = |index: u64, width: u64| {
            out.push(Tile {
                kind: Kind::Hashes { level },
                index,
                width,
            });
            if level == 0 {
                out.push(Tile {
                    kind: Kind::Entries,
                    index,
                    width,
                });
            }
        };
        for index in o / WIDTH..n / WIDTH {
            push(index, WIDTH);
        }
        if n % WIDTH != 0 && n != o {
            push(n / WIDTH, n % WIDTH);
        }
    }
    out
}

/// Writes `bytes` to `dir/rel` atomically: a temporary file in the same
/// directory, synced, then renamed over the name.
fn write_atomic(dir: &Path, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(rel);
    let parent = path.parent().expect("a tile path has a directory");
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .expect("a tile path has a name")
            .to_string_lossy(),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, &path)
}

/// The size the directory holds tiles for: its `checkpoint`'s tree size
/// (0 without one).
fn published_size(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("checkpoint"))
        .ok()
        .and_then(|t| t.lines().nth(1).and_then(|l| l.parse().ok()))
        .unwrap_or(0)
}

/// Publishes the final checkpoint `note` of tree `size` to the static
/// directory `dir`: first every tile the tree has that the directory's
/// checkpoint's tree lacks (a full tile written once, never again), then
/// the checkpoint, so a reader of the directory always finds the tiles of
/// the checkpoint it reads. Partial tiles superseded by the full tile are
/// removed; those of earlier checkpoints whose full tile is not complete
/// stay (the spec requires them). Returns how many files were written.
pub async fn write_directory(
    store: &dyn Store,
    dir: &Path,
    note: &str,
    size: u64,
) -> anyhow::Result<usize> {
    let old = published_size(dir);
    if old > size {
        anyhow::bail!(
            "the tiles directory {} holds a checkpoint of size {old}, larger than the final checkpoint {size}: another log's directory?",
            dir.display()
        );
    }
    let mut written = 0;
    for tile in new_tiles(old, size) {
        let path = tile.path();
        if tile.is_full() && dir.join(&path).exists() {
            continue;
        }
        let bytes = read(store, tile, size)
            .await
            .map_err(|e| anyhow::anyhow!("tile {path}: {e}"))?;
        let dir2 = dir.to_path_buf();
        let path2 = path.clone();
        tokio::task::spawn_blocking(move || write_atomic(&dir2, &path2, &bytes))
            .await?
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", dir.join(&path).display()))?;
        written += 1;
        if tile.is_full() {
            // The partial tiles of this index are superseded.
            let partials = dir.join(format!("{path}.p"));
            let _ = tokio::fs::remove_dir_all(&partials).await;
        }
    }
    let (dir2, note) = (dir.to_path_buf(), note.to_string());
    tokio::task::spawn_blocking(move || write_atomic(&dir2, "checkpoint", note.as_bytes()))
        .await?
        .map_err(|e| anyhow::anyhow!("writing {}/checkpoint: {e}", dir.display()))?;
    Ok(written + 1)
}

/// How often [`publish`] looks for a new final checkpoint.
const PUBLISH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// `[tiles] directory`: while this process sequences the log, writes each
/// new final checkpoint and its tiles to `dir` ([`write_directory`]). A
/// failure (a full disk, a directory of another log) is logged and tried
/// again; it never stops the notary.
pub async fn publish(
    store: std::sync::Arc<dyn Store>,
    dir: std::path::PathBuf,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use std::sync::atomic::Ordering;
    let mut published = published_size(&dir);
    let mut warned = false;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if metrics.leader.load(Ordering::Relaxed) {
            match store.latest_final().await {
                // A directory ahead of the log (another log's) is refused
                // by write_directory, and said once.
                Ok(Some(f)) if f.size != published => {
                    let started = std::time::Instant::now();
                    match write_directory(&*store, &dir, &f.note, f.size).await {
                        Ok(files) => {
                            tracing::info!(size = f.size, files, elapsed_ms = started.elapsed().as_millis() as u64, dir = %dir.display(), "tiles published");
                            published = f.size;
                            warned = false;
                        }
                        Err(e) if !warned => {
                            tracing::error!(error = %e, dir = %dir.display(), "tiles not published; retrying");
                            warned = true;
                        }
                        Err(_) => {}
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "tiles: reading the final checkpoint"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(PUBLISH_EVERY) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_is_the_specs() {
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
        for n in [0, 5, 999, 1000, 1_234_067, u64::MAX] {
            assert_eq!(parse_index(&encode_index(n)), Some(n));
        }
        for bad in [
            "",
            "1",
            "01",
            "0001",
            "x000/001",
            "x001",
            "001/002",
            "x1/002",
            "x001/2",
            "x018/x446/x744/x073/x709/x551/616",
            "x001/x234/067/",
            "abc",
            "-01",
        ] {
            assert_eq!(parse_index(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn paths_parse_only_in_the_specs_spelling() {
        let t = Tile::parse("2/x001/x234/067.p/8").unwrap();
        assert_eq!(
            t,
            Tile {
                kind: Kind::Hashes { level: 2 },
                index: 1_234_067,
                width: 8
            }
        );
        assert_eq!(t.path(), "tile/2/x001/x234/067.p/8");
        let e = Tile::parse("entries/000").unwrap();
        assert_eq!((e.kind, e.index, e.width), (Kind::Entries, 0, 256));
        assert_eq!(e.path(), "tile/entries/000");
        for bad in [
            "0",
            "00/000",
            "64/000",
            "-1/000",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/01",
            "0/000.p/",
            "0/0",
            "entries/000.p/300",
            "x/000",
            "0/000.p/5/6",
            "0/000/",
        ] {
            assert!(Tile::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// A directory whose checkpoint is ahead of the log is not another
    /// version of this log: nothing is written to it.
    #[tokio::test]
    async fn a_directory_ahead_of_the_log_is_refused() {
        let dir = std::env::temp_dir().join(format!("notarium-tiles-ahead-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let theirs = "other.example/log\n900\nAAAA\n\n— other sig\n";
        std::fs::write(dir.join("checkpoint"), theirs).unwrap();
        let store = notarium_store::SqliteStore::open(dir.join("store.db")).unwrap();
        let err = write_directory(&store, &dir, "ours", 500)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("size 900"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.join("checkpoint")).unwrap(),
            theirs
        );
        assert!(!dir.join("tile").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn which_tiles_a_tree_has() {
        let full0 = Tile::parse("0/000").unwrap();
        assert!(!full0.in_tree(255) && full0.in_tree(256));
        let p = Tile::parse("0/001.p/17").unwrap();
        assert!(!p.in_tree(256 + 16) && p.in_tree(256 + 17) && p.in_tree(256 + 200));
        let l1 = Tile::parse("1/000.p/2").unwrap();
        assert!(!l1.in_tree(2 * 256 - 1) && l1.in_tree(2 * 256 + 17));
        assert!(
            !Tile::parse("63/x018/x446/x744/x073/x709/x551/615")
                .unwrap()
                .in_tree(u64::MAX)
        );
        // The spec's example: a tree of 70,000 entries.
        let tiles = new_tiles(0, 70_000);
        let count = |k: fn(&Tile) -> bool| tiles.iter().filter(|t| k(t)).count();
        assert_eq!(
            count(|t| t.kind == Kind::Hashes { level: 0 } && t.is_full()),
            273
        );
        assert!(tiles.contains(&Tile::parse("0/273.p/112").unwrap()));
        assert!(tiles.contains(&Tile::parse("1/000").unwrap()));
        assert!(tiles.contains(&Tile::parse("1/001.p/17").unwrap()));
        assert!(tiles.contains(&Tile::parse("2/000.p/1").unwrap()));
        assert!(tiles.contains(&Tile::parse("entries/273.p/112").unwrap()));
        assert_eq!(tiles.len(), 273 * 2 + 2 + 1 + 1 + 1);
        assert!(tiles.iter().all(|t| t.in_tree(70_000)));
        // Growing: only what changed.
        assert_eq!(
            new_tiles(256 + 3, 256 + 9),
            vec![
                Tile::parse("0/001.p/9").unwrap(),
                Tile::parse("entries/001.p/9").unwrap()
            ]
        );
        assert!(new_tiles(300, 300).is_empty());
    }
}
