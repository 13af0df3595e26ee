//! The mirror's Merkle tree in memory: the leaf hashes, and the roots of
//! the complete 256-leaf tiles cached, so that a root or a consistency
//! proof costs O(n/256 + 256 log n) hashes, not O(n). Which subtrees a
//! root or proof needs is notarium-log's `Plan`, as for the notary; only
//! 32 bytes a leaf are kept (a `MemoryTree` keeps every level, twice that).

use notarium_core::Hash;
use notarium_core::merkle::node_hash;
use notarium_log::Plan;

const TILE: u64 = 256;

#[derive(Default)]
pub(crate) struct Tree {
    leaves: Vec<Hash>,
    /// Root of leaves `256·i .. 256·(i+1)` for every complete tile.
    tiles: Vec<Hash>,
}

impl Tree {
    pub(crate) fn len(&self) -> u64 {
        self.leaves.len() as u64
    }

    pub(crate) fn leaf(&self, i: u64) -> Option<&Hash> {
        self.leaves.get(i as usize)
    }

    pub(crate) fn push(&mut self, h: Hash) {
        self.leaves.push(h);
        let n = self.leaves.len() as u64;
        if n.is_multiple_of(TILE) {
            let t = self.range(n - TILE, n);
            self.tiles.push(t);
        }
    }

    /// Forgets the leaves from `n` on.
    pub(crate) fn truncate(&mut self, n: u64) {
        self.leaves.truncate(n as usize);
        self.tiles.truncate((n / TILE) as usize);
    }

    /// RFC 9162 MTH of leaves `a..b` (`a < b`).
    fn range(&self, a: u64, b: u64) -> Hash {
        if b - a == 1 {
            return self.leaves[a as usize];
        }
        if b - a == TILE && a.is_multiple_of(TILE) && ((a / TILE) as usize) < self.tiles.len() {
            return self.tiles[(a / TILE) as usize];
        }
        let k = split(b - a);
        node_hash(&self.range(a, a + k), &self.range(a + k, b))
    }

    /// The root of the tree of the first `n` leaves (`n <= len`).
    pub(crate) fn root(&self, n: u64) -> Hash {
        if n == 0 {
            return notarium_core::merkle::sha256(b"");
        }
        self.run(&Plan::root(n))[0]
    }

    /// RFC 9162 §2.1.4.1 consistency proof from size `m` to size `n`
    /// (`0 < m <= n <= len`): the log's own proof plan, its perfect
    /// subtrees hashed from this tree.
    pub(crate) fn consistency(&self, m: u64, n: u64) -> Vec<Hash> {
        self.run(&Plan::consistency(m, n).expect("m <= n"))
    }

    fn run(&self, plan: &Plan) -> Vec<Hash> {
        let hashes: Vec<Hash> = plan
            .ids()
            .iter()
            .map(|id| self.range(id.start(), id.end()))
            .collect();
        plan.fold(&hashes).expect("one hash per id")
    }
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use notarium_core::merkle::{leaf_hash, verify_consistency};

    #[test]
    fn roots_and_proofs_agree_with_the_core() {
        let mut t = Tree::default();
        for i in 0..700u32 {
            t.push(leaf_hash(&i.to_be_bytes()));
        }
        for (m, n) in [
            (1, 1),
            (1, 2),
            (3, 7),
            (256, 700),
            (255, 513),
            (512, 700),
            (699, 700),
        ] {
            let p = t.consistency(m, n);
            verify_consistency(m, n, &t.root(m), &t.root(n), &p).unwrap();
            let other = leaf_hash(b"other");
            assert!(verify_consistency(m, n, &other, &t.root(n), &p).is_err() || m == n);
        }
        // The cache changes nothing: the root of 300 leaves by plain recursion.
        let plain = Tree {
            leaves: t.leaves[..300].to_vec(),
            tiles: Vec::new(),
        };
        assert_eq!(plain.root(300), t.root(300));
        t.truncate(255);
        assert_eq!(t.root(255), plain.root(255));
    }
}
