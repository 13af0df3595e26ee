//! RFC 9162 §2.1 Merkle tree: hashing, proof generation over stored subtree
//! hashes, and verification of inclusion and consistency proofs.
//!
//! # Storage model
//!
//! A log stores, for every *perfect* subtree that lies entirely inside the log
//! (2^level leaves starting at leaf `index << level`), its hash. Those hashes
//! never change once written, so a tree of any earlier size can be proven from
//! the same rows. Appending leaf `i` writes `1 + trailing_ones(i)` new hashes
//! (about two per leaf). Every hash of a tree of any size, and so every proof
//! element, is a right fold over at most 64 stored perfect subtrees, which is
//! why proof generation reads O(log n) hashes and never holds the tree.
//!
//! rs_merkle (no consistency proofs, whole tree in memory) and ct-merkle
//! (in-memory array whose interior nodes change as the tree grows, so old tree
//! sizes cannot be proven from stored rows) do not fit this model; the tests
//! show that their roots and proofs equal ours.

use crate::error::MerkleError;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// RFC 9162 §2.1.1: leaf hashes are `SHA-256(0x00 || leaf)`.
pub const LEAF_HASH_PREFIX: u8 = 0x00;
/// RFC 9162 §2.1.1: interior node hashes are `SHA-256(0x01 || left || right)`.
pub const NODE_HASH_PREFIX: u8 = 0x01;
/// RFC 9162 §2.1.1: the hash of an empty list is the hash of the empty string.
pub const EMPTY_TREE_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];
/// The longest proof a tree of at most 2^63 leaves can have (tlog-witness
/// also caps consistency proofs at 63 lines).
pub const MAX_PROOF_LEN: usize = 63;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Hash {
    Sha256::digest(data).into()
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_HASH_PREFIX]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_HASH_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Constant-time hash comparison.
pub fn hashes_equal(a: &Hash, b: &Hash) -> bool {
    a.ct_eq(b).into()
}

/// A perfect subtree of 2^`level` leaves, the `index`-th of its level: it
/// covers leaves `[index << level, (index + 1) << level)`. Level 0 is a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }
    /// First leaf covered.
    pub fn start(self) -> u64 {
        self.index << self.level
    }
    /// One past the last leaf covered.
    pub fn end(self) -> u64 {
        (self.index + 1) << self.level
    }
}

/// Where stored perfect-subtree hashes come from (a database, a file, memory).
pub trait HashReader {
    /// Returns the hashes of `ids`, in the same order. Every id asked for lies
    /// inside the tree size the caller is proving, so a missing one is an error.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MerkleError>;
}

/// Largest power of two strictly smaller than `n` (`n >= 2`): RFC 9162's `k`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees, left to right, whose right fold is RFC 9162's
/// `MTH(D[start:end])` for a range that arises in the RFC's recursion.
pub fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::with_capacity(64);
    let mut cur = start;
    while cur < end {
        let mut level = 63 - (end - cur).leading_zeros();
        while level > 0 && cur & ((1u64 << level) - 1) != 0 {
            level -= 1;
        }
        out.push(NodeId::new(level as u8, cur >> level));
        cur += 1u64 << level;
    }
    out
}

/// Right fold of perfect subtree hashes: `node(h0, node(h1, ... node(hk-1, hk)))`.
fn fold_range(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return EMPTY_TREE_ROOT;
    };
    iter.fold(*last, |acc, h| node_hash(h, &acc))
}

/// The ranges whose hashes make up `PATH(index, D[0:size])`, leaf to root.
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0u64, size);
    let mut out = Vec::with_capacity(64);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    out
}

/// The ranges whose hashes make up `PROOF(old, D[0:new])` (RFC 9162 §2.1.4.1),
/// in proof order. Requires `0 < old < new`.
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi, mut whole) = (0u64, new, true);
    let mut out = Vec::with_capacity(64);
    loop {
        if old == hi {
            if !whole {
                out.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if old - lo <= k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            whole = false;
        }
    }
    out.reverse();
    out
}

/// Reads every node the ranges need in one call and folds each range.
fn hash_ranges(ranges: &[(u64, u64)], reader: &dyn HashReader) -> Result<Vec<Hash>, MerkleError> {
    let plans: Vec<Vec<NodeId>> = ranges.iter().map(|&(a, b)| range_nodes(a, b)).collect();
    let ids: Vec<NodeId> = plans.iter().flatten().copied().collect();
    let hashes = reader.read_hashes(&ids)?;
    if hashes.len() != ids.len() {
        return Err(MerkleError::Store(format!(
            "store returned {} hashes for {} nodes",
            hashes.len(),
            ids.len()
        )));
    }
    let mut pos = 0;
    Ok(plans
        .iter()
        .map(|plan| {
            let h = fold_range(&hashes[pos..pos + plan.len()]);
            pos += plan.len();
            h
        })
        .collect())
}

/// The root hash of the tree of the first `size` leaves.
pub fn tree_root(size: u64, reader: &dyn HashReader) -> Result<Hash, MerkleError> {
    if size == 0 {
        return Ok(EMPTY_TREE_ROOT);
    }
    Ok(hash_ranges(&[(0, size)], reader)?[0])
}

/// RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size`.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    reader: &dyn HashReader,
) -> Result<Vec<Hash>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    hash_ranges(&inclusion_ranges(index, size), reader)
}

/// RFC 9162 §2.1.4.1 consistency proof from tree size `old` to `new`.
/// Empty when `old == 0` or `old == new`.
pub fn consistency_proof(
    old: u64,
    new: u64,
    reader: &dyn HashReader,
) -> Result<Vec<Hash>, MerkleError> {
    if old > new {
        return Err(MerkleError::SizeOutOfRange { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    hash_ranges(&consistency_ranges(old, new), reader)
}

/// RFC 9162 §2.1.3.2: verify that `leaf` is at `index` in the tree of `size`
/// with root `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    // SPEC: RFC 9162 §2.1.3.2 step 1: "Compare leaf_index from the
    // inclusion_proof against tree_size. If leaf_index is greater than or
    // equal to tree_size, then fail the proof verification."
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        // SPEC: §2.1.3.2 step 5a: "If sn is 0, then stop the iteration and fail".
        if s == 0 {
            return Err(MerkleError::BadInclusionProof("proof is too long".into()));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    // SPEC: §2.1.3.2 step 6: "Compare sn to 0. Compare r against the root_hash."
    if s != 0 {
        return Err(MerkleError::BadInclusionProof("proof is too short".into()));
    }
    if !hashes_equal(&r, root) {
        return Err(MerkleError::BadInclusionProof(
            "the proof leads to a different root hash".into(),
        ));
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: verify that the tree of size `new` with root `new_root`
/// extends the tree of size `old` with root `old_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if old > new {
        return Err(MerkleError::SizeOutOfRange { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(MerkleError::BadConsistencyProof(
                "proof between equal sizes must be empty".into(),
            ));
        }
        if !hashes_equal(old_root, new_root) {
            return Err(MerkleError::BadConsistencyProof(
                "same size, different root hashes".into(),
            ));
        }
        return Ok(());
    }
    if old == 0 {
        if !proof.is_empty() {
            return Err(MerkleError::BadConsistencyProof(
                "proof from the empty tree must be empty".into(),
            ));
        }
        return Ok(());
    }
    // SPEC: §2.1.4.2 step 1: "If consistency_path is an empty array, stop and fail".
    if proof.is_empty() {
        return Err(MerkleError::BadConsistencyProof("proof is empty".into()));
    }
    // SPEC: step 2: "If first is an exact power of 2, then prepend first_hash
    // to the consistency_path array."
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof.iter());
    // SPEC: steps 3-4.
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*path[0], *path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(MerkleError::BadConsistencyProof("proof is too long".into()));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // SPEC: step 7: "verify that fr is equal to first_hash, sr is equal to
    // second_hash and sn is 0".
    if s != 0 {
        return Err(MerkleError::BadConsistencyProof(
            "proof is too short".into(),
        ));
    }
    if !hashes_equal(&fr, old_root) {
        return Err(MerkleError::BadConsistencyProof(
            "the proof does not lead to the old root hash".into(),
        ));
    }
    if !hashes_equal(&sr, new_root) {
        return Err(MerkleError::BadConsistencyProof(
            "the proof does not lead to the new root hash".into(),
        ));
    }
    Ok(())
}

/// The right edge of a tree: the perfect subtrees of `range_nodes(0, size)`.
/// Enough to append leaves and compute the root, O(log n) memory. A sequencer
/// keeps one and rebuilds it from the store at start with [`Frontier::load`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the O(log n) hashes of the right edge of the tree of `size`.
    pub fn load(size: u64, reader: &dyn HashReader) -> Result<Self, MerkleError> {
        let hashes = reader.read_hashes(&range_nodes(0, size))?;
        Ok(Frontier { size, hashes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> Hash {
        fold_range(&self.hashes)
    }

    /// Appends one leaf hash; returns every perfect subtree the leaf completes
    /// (the leaf itself first), which the caller stores.
    pub fn append(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut out = Vec::with_capacity(4);
        self.append_into(leaf, &mut out);
        out
    }

    /// Like [`Frontier::append`], pushing into a caller's buffer.
    pub fn append_into(&mut self, leaf: Hash, out: &mut Vec<(NodeId, Hash)>) {
        let mut index = self.size;
        let mut level = 0u8;
        let mut h = leaf;
        out.push((NodeId::new(0, index), h));
        while index & 1 == 1 {
            let left = self.hashes.pop().expect("frontier holds the left sibling");
            h = node_hash(&left, &h);
            level += 1;
            index >>= 1;
            out.push((NodeId::new(level, index), h));
        }
        self.hashes.push(h);
        self.size += 1;
    }
}

/// An in-memory store of every perfect subtree hash: for tests, benchmarks
/// and small tools. Servers keep the same hashes in their database.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    pub fn push_leaf_data(&mut self, data: &[u8]) {
        self.push_leaf_hash(leaf_hash(data));
    }

    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        for (id, h) in self.frontier.append(leaf) {
            let level = id.level as usize;
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            debug_assert_eq!(self.levels[level].len() as u64, id.index);
            self.levels[level].push(h);
        }
    }
}

impl HashReader for MemoryTree {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MerkleError> {
        ids.iter()
            .map(|id| {
                self.levels
                    .get(id.level as usize)
                    .and_then(|l| l.get(id.index as usize))
                    .copied()
                    .ok_or_else(|| MerkleError::Store(format!("missing node {id:?}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference MTH straight from RFC 9162 §2.1.1's recursive definition.
    fn mth(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => sha256(b""),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn tree(n: u64) -> (MemoryTree, Vec<Vec<u8>>) {
        let mut t = MemoryTree::new();
        let mut leaves = Vec::new();
        for i in 0..n {
            let d = format!("leaf {i}").into_bytes();
            t.push_leaf_data(&d);
            leaves.push(d);
        }
        (t, leaves)
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_TREE_ROOT, sha256(b""));
        assert_eq!(tree_root(0, &MemoryTree::new()).unwrap(), EMPTY_TREE_ROOT);
    }

    #[test]
    fn roots_match_the_recursive_definition_at_every_size() {
        let (t, leaves) = tree(140);
        for n in 0..=140u64 {
            assert_eq!(
                tree_root(n, &t).unwrap(),
                mth(&leaves[..n as usize]),
                "size {n}"
            );
        }
        assert_eq!(t.root(), mth(&leaves));
    }

    #[test]
    fn frontier_reloads_from_stored_hashes() {
        let (t, _) = tree(77);
        for n in 0..=77 {
            let f = Frontier::load(n, &t).unwrap();
            assert_eq!(f.root(), tree_root(n, &t).unwrap());
        }
    }

    #[test]
    fn proof_sizes_are_logarithmic() {
        let (t, _) = tree(1000);
        assert_eq!(inclusion_proof(0, 1000, &t).unwrap().len(), 10);
        assert!(consistency_proof(1, 1000, &t).unwrap().len() <= 10);
        assert!(matches!(
            inclusion_proof(1000, 1000, &t),
            Err(MerkleError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            consistency_proof(5, 4, &t),
            Err(MerkleError::SizeOutOfRange { .. })
        ));
    }
}
