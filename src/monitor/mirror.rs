//! The monitor's durable mirror: one SQLite file holding every entry text
//! and leaf hash fetched from the tiles, every checkpoint note verified,
//! and the size of the tree whose root it verified.
//!
//! Leaves beyond the verified size are those of a catch-up in progress:
//! each was checked against its hash tile, but the tree they make is not
//! yet checked against a signed root. A catch-up interrupted (kill -9)
//! keeps them and goes on from there; one whose root fails removes them.

use super::tree::Tree;
use notarium_core::Hash;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

pub(crate) struct Mirror {
    db: Connection,
    pub(crate) tree: Tree,
    verified: u64,
}

/// A checkpoint note the mirror verified, and where it came from.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) size: u64,
    pub(crate) root: Hash,
    pub(crate) note: String,
}

impl Mirror {
    pub(crate) fn open(path: &Path, origin: &str) -> anyhow::Result<Mirror> {
        let db = Connection::open(path)?;
        // WAL: a commit is durable across a killed process; NORMAL syncs
        // at checkpoints (a power cut may lose the last commits, which are
        // refetched: nothing verified is lost, the log is public).
        db.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS leaves (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL, entry BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS checkpoints (
                 source TEXT NOT NULL, size INTEGER NOT NULL, root BLOB NOT NULL,
                 note TEXT NOT NULL, seen_at INTEGER NOT NULL,
                 PRIMARY KEY (source, size, root)) WITHOUT ROWID;",
        )?;
        let stored: Option<String> = db
            .query_row("SELECT value FROM meta WHERE key = 'origin'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match stored {
            None => {
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('origin', ?1), ('verified_size', '0')",
                    [origin],
                )?;
            }
            Some(o) if o == origin => {}
            Some(o) => anyhow::bail!(
                "the mirror {} holds the log {o}, not {origin}",
                path.display()
            ),
        }
        let verified: u64 = db
            .query_row(
                "SELECT value FROM meta WHERE key = 'verified_size'",
                [],
                |r| r.get::<_, String>(0),
            )?
            .parse()?;
        let mut tree = Tree::default();
        {
            let mut st = db.prepare("SELECT idx, hash FROM leaves ORDER BY idx")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let (i, h): (u64, Vec<u8>) = (r.get(0)?, r.get(1)?);
                anyhow::ensure!(i == tree.len(), "the mirror lacks leaf {}", tree.len());
                tree.push(
                    h.try_into()
                        .map_err(|_| anyhow::anyhow!("leaf {i}: not 32 bytes"))?,
                );
            }
        }
        anyhow::ensure!(
            tree.len() >= verified,
            "the mirror verified {verified} entries but holds {}",
            tree.len()
        );
        Ok(Mirror { db, tree, verified })
    }

    pub(crate) fn verified(&self) -> u64 {
        self.verified
    }

    /// Appends leaves (index `tree.len()` on) in one transaction.
    pub(crate) fn append(&mut self, leaves: &[(Hash, Vec<u8>)]) -> anyhow::Result<()> {
        let tx = self.db.transaction()?;
        {
            let mut st =
                tx.prepare_cached("INSERT INTO leaves (idx, hash, entry) VALUES (?1, ?2, ?3)")?;
            for (i, (h, e)) in (self.tree.len()..).zip(leaves) {
                st.execute(params![i, &h[..], e])?;
            }
        }
        tx.commit()?;
        for (h, _) in leaves {
            self.tree.push(*h);
        }
        Ok(())
    }

    /// Removes the leaves not covered by a verified root.
    pub(crate) fn drop_unverified(&mut self) -> anyhow::Result<()> {
        self.db
            .execute("DELETE FROM leaves WHERE idx >= ?1", [self.verified])?;
        self.tree.truncate(self.verified);
        Ok(())
    }

    /// Records `note` (of `size`, `root`) from `source`; with `verify`, the
    /// tree of that size is now verified (never goes down).
    pub(crate) fn record(
        &mut self,
        source: &str,
        size: u64,
        root: &Hash,
        note: &str,
        verify: bool,
    ) -> anyhow::Result<()> {
        let now = notarium_log::clock::now().millis() / 1000;
        let tx = self.db.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO checkpoints (source, size, root, note, seen_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![source, size, &root[..], note, now],
        )?;
        let verified = if verify {
            self.verified.max(size)
        } else {
            self.verified
        };
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'verified_size'",
            [verified.to_string()],
        )?;
        tx.commit()?;
        self.verified = verified;
        Ok(())
    }

    /// The largest checkpoint `source` served.
    pub(crate) fn largest(&self, source: &str) -> anyhow::Result<Option<Seen>> {
        Ok(self
            .db
            .query_row(
                "SELECT size, root, note FROM checkpoints WHERE source = ?1 ORDER BY size DESC, seen_at DESC LIMIT 1",
                [source],
                |r| Ok((r.get::<_, u64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, String>(2)?)),
            )
            .optional()?
            .map(|(size, root, note)| Seen {
                size,
                root: root.try_into().unwrap_or([0; 32]),
                note,
            }))
    }

    /// The entry text at `index`, if the mirror holds it.
    pub(crate) fn entry(&self, index: u64) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self
            .db
            .query_row("SELECT entry FROM leaves WHERE idx = ?1", [index], |r| {
                r.get(0)
            })
            .optional()?)
    }
}
