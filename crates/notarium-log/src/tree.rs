//! Building the RFC 9162 tree and generating its proofs, as *plan, then
//! fold* (the shape of transparency-dev's `proof` package): a [`Plan`]
//! lists the stored node ids a root or proof needs, the caller fetches
//! those hashes from wherever it keeps them (a database, memory) in one
//! read, and [`Plan::fold`] combines them. Nothing here reads storage.
//!
//! # Storage model
//!
//! A log stores, for every *perfect* subtree that lies entirely inside the
//! log (2^level leaves starting at leaf `index << level`), its hash. Those
//! hashes never change once written, so a tree of any earlier size can be
//! proven from the same rows. Appending leaf `i` writes
//! `1 + trailing_ones(i)` new hashes (about two per leaf). Every hash of a
//! tree of any size, and so every proof element, is a right fold over at
//! most 64 stored perfect subtrees: a proof reads O(log n) hashes and never
//! holds the tree.
//!
//! rs_merkle (no consistency proofs, whole tree in memory) and ct-merkle
//! (interior nodes change as the tree grows, so old sizes cannot be proven
//! from stored rows) do not fit this model; the tests show that their roots
//! and proofs equal ours.

use notarium_core::merkle::{EMPTY_TREE_ROOT, Hash, leaf_hash, node_hash};

/// A perfect subtree of 2^`level` leaves, the `index`-th of its level: it
/// covers leaves `[index << level, (index + 1) << level)`. Level 0 is a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// 0 for a leaf; a subtree of 2^level leaves.
    pub level: u8,
    /// Position among the subtrees of its level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The `index`-th perfect subtree of 2^`level` leaves.
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

/// Why a plan could not be made or folded.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeError {
    /// An inclusion proof for a leaf outside the tree.
    #[error("leaf index {index} is not inside a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("tree size {old} is larger than tree size {new}")]
    SizeOutOfRange {
        /// The older size asked for.
        old: u64,
        /// The newer size asked for.
        new: u64,
    },
    /// The caller fetched a different number of hashes than planned.
    #[error("{got} hashes given for a plan of {want} nodes")]
    WrongHashCount {
        /// Node ids in the plan.
        want: usize,
        /// Hashes given.
        got: usize,
    },
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

/// The ranges whose hashes make up `PATH(index, D[0:size])` (RFC 9162
/// §2.1.3.1), leaf to root.
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

/// The ranges whose hashes make up `PROOF(old, D[0:new])` (RFC 9162
/// §2.1.4.1), in proof order. Requires `0 < old < new`.
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

/// The stored nodes a root or proof needs, and how to fold them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    ids: Vec<NodeId>,
    /// How many consecutive ids fold into each output hash.
    widths: Vec<usize>,
}

impl Plan {
    fn of_ranges(ranges: &[(u64, u64)]) -> Plan {
        let mut plan = Plan {
            ids: Vec::with_capacity(64),
            widths: Vec::with_capacity(ranges.len()),
        };
        for &(a, b) in ranges {
            let nodes = range_nodes(a, b);
            plan.widths.push(nodes.len());
            plan.ids.extend(nodes);
        }
        plan
    }

    /// The root hash of the tree of the first `size` leaves (one output).
    pub fn root(size: u64) -> Plan {
        Plan::of_ranges(&[(0, size)])
    }

    /// RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of
    /// `size`, one output hash per proof element.
    pub fn inclusion(index: u64, size: u64) -> Result<Plan, TreeError> {
        if index >= size {
            return Err(TreeError::IndexOutOfRange { index, size });
        }
        Ok(Plan::of_ranges(&inclusion_ranges(index, size)))
    }

    /// RFC 9162 §2.1.4.1 consistency proof from tree size `old` to `new`;
    /// empty when `old == 0` or `old == new`.
    pub fn consistency(old: u64, new: u64) -> Result<Plan, TreeError> {
        if old > new {
            return Err(TreeError::SizeOutOfRange { old, new });
        }
        if old == 0 || old == new {
            return Ok(Plan::of_ranges(&[]));
        }
        Ok(Plan::of_ranges(&consistency_ranges(old, new)))
    }

    /// The node ids to fetch, in the order [`Plan::fold`] takes their hashes.
    pub fn ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// Combines the fetched hashes (one per id, in order) into the outputs.
    pub fn fold(&self, hashes: &[Hash]) -> Result<Vec<Hash>, TreeError> {
        if hashes.len() != self.ids.len() {
            return Err(TreeError::WrongHashCount {
                want: self.ids.len(),
                got: hashes.len(),
            });
        }
        let mut pos = 0;
        Ok(self
            .widths
            .iter()
            .map(|&w| {
                let h = fold_range(&hashes[pos..pos + w]);
                pos += w;
                h
            })
            .collect())
    }
}

/// The right edge of a tree: the perfect subtrees of `range_nodes(0, size)`.
/// Enough to append leaves and compute the root, O(log n) memory. A
/// sequencer keeps one and rebuilds it at start from the hashes of
/// [`Frontier::plan`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The nodes whose hashes [`Frontier::from_hashes`] needs for `size`.
    pub fn plan(size: u64) -> Vec<NodeId> {
        range_nodes(0, size)
    }

    /// The frontier of the tree of `size` from the hashes of
    /// [`Frontier::plan`]`(size)`, in order.
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Result<Self, TreeError> {
        let want = range_nodes(0, size).len();
        if hashes.len() != want {
            return Err(TreeError::WrongHashCount {
                want,
                got: hashes.len(),
            });
        }
        Ok(Frontier { size, hashes })
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root hash.
    pub fn root(&self) -> Hash {
        fold_range(&self.hashes)
    }

    /// Appends one leaf hash; returns every perfect subtree the leaf
    /// completes (the leaf itself first), which the caller stores.
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

/// Every perfect subtree hash in memory: for receipts, tests, benchmarks
/// and small tools. Servers keep the same hashes in their database.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Appends the leaf `SHA-256(0x00 || data)`.
    pub fn push_leaf_data(&mut self, data: &[u8]) {
        self.push_leaf_hash(leaf_hash(data));
    }

    /// Appends a leaf hash.
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

    /// The stored hashes of `ids`; `None` if one is not in the tree.
    pub fn hashes(&self, ids: &[NodeId]) -> Option<Vec<Hash>> {
        ids.iter()
            .map(|id| {
                self.levels
                    .get(id.level as usize)
                    .and_then(|l| l.get(id.index as usize))
                    .copied()
            })
            .collect()
    }

    /// Runs a plan over this tree (every plan for a size up to
    /// [`MemoryTree::size`] finds its nodes).
    pub fn run(&self, plan: &Plan) -> Result<Vec<Hash>, TreeError> {
        let hashes = self.hashes(plan.ids()).unwrap_or_default();
        plan.fold(&hashes)
    }

    /// The root of the tree of the first `size` leaves (`size` ≤ this size).
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        Ok(self.run(&Plan::root(size))?[0])
    }

    /// RFC 9162 inclusion proof of leaf `index` in the tree of `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        self.run(&Plan::inclusion(index, size)?)
    }

    /// RFC 9162 consistency proof from `old` to `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, TreeError> {
        self.run(&Plan::consistency(old, new)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notarium_core::merkle::sha256;

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
        assert_eq!(MemoryTree::new().root_at(0).unwrap(), EMPTY_TREE_ROOT);
        assert_eq!(MemoryTree::new().root(), EMPTY_TREE_ROOT);
    }

    #[test]
    fn roots_match_the_recursive_definition_at_every_size() {
        let (t, leaves) = tree(140);
        for n in 0..=140u64 {
            assert_eq!(
                t.root_at(n).unwrap(),
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
            let hashes = t.hashes(&Frontier::plan(n)).unwrap();
            let f = Frontier::from_hashes(n, hashes).unwrap();
            assert_eq!(f.root(), t.root_at(n).unwrap());
        }
        assert!(matches!(
            Frontier::from_hashes(3, vec![[0; 32]]),
            Err(TreeError::WrongHashCount { want: 2, got: 1 })
        ));
    }

    #[test]
    fn proof_sizes_are_logarithmic_and_ranges_checked() {
        let (t, _) = tree(1000);
        assert_eq!(t.inclusion_proof(0, 1000).unwrap().len(), 10);
        assert!(t.consistency_proof(1, 1000).unwrap().len() <= 10);
        assert!(matches!(
            t.inclusion_proof(1000, 1000),
            Err(TreeError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            t.consistency_proof(5, 4),
            Err(TreeError::SizeOutOfRange { .. })
        ));
        let plan = Plan::inclusion(3, 1000).unwrap();
        assert!(matches!(
            plan.fold(&[]),
            Err(TreeError::WrongHashCount { .. })
        ));
    }

    #[test]
    fn a_plan_reads_each_node_once_and_only_inside_the_tree() {
        for size in 1..=70u64 {
            for index in 0..size {
                let ids = Plan::inclusion(index, size).unwrap().ids().to_vec();
                assert!(ids.iter().all(|id| id.end() <= size), "{index}/{size}");
                let mut sorted = ids.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted.len(), ids.len(), "{index}/{size}");
            }
        }
    }
}
