//! Merkle tree benchmarks at 10^6 leaves: ours (`MemoryTree` over stored
//! perfect subtrees) against rs_merkle 1.5 and ct-merkle 0.3, in one run.
//!
//! ```text
//! cargo bench -p notarium-log --bench merkle -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! * `build_root`: from 10^6 leaf data to the root (leaf hashing included for
//!   all three: ours `push_leaf_data`, ct-merkle `push`, rs_merkle
//!   `from_leaves` over `leaf_hash`es).
//! * `inclusion_proof`, `consistency_proof`: proof generation in the full tree
//!   (ct-merkle can only prove against its current size; rs_merkle has no
//!   consistency proofs), at pseudo-random indices and old sizes.
//! * `verify_inclusion`, `verify_consistency`: verification of precomputed
//!   proofs; ct-merkle hashes the leaf itself, so ours is given the data and
//!   hashes it too. Throughput is reported in proofs per second.
//! * `inclusion_proof_old_size`: ours only, a leaf proven in an older tree
//!   size from the same stored rows (which ct-merkle cannot do).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ct_merkle::digest::Output;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use notarium_core::merkle::{
    Hash, NODE_HASH_PREFIX, leaf_hash, verify_consistency, verify_inclusion,
};
use notarium_log::tree::MemoryTree;
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::sync::OnceLock;

const N: u64 = 1_000_000;
/// How many distinct pseudo-random queries each proof benchmark cycles through.
const QUERIES: usize = 4096;

fn data(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

/// RFC 6962 interior nodes for rs_merkle, hashing `left || right` without the
/// two `Vec`s of the trait's default `concat_and_hash` (the lone last node
/// is promoted unchanged, as there).
#[derive(Clone, Debug)]
struct Rfc6962Node;

impl rs_merkle::Hasher for Rfc6962Node {
    type Hash = Hash;
    fn hash(data: &[u8]) -> Hash {
        let mut h = Sha256::new();
        h.update([NODE_HASH_PREFIX]);
        h.update(data);
        h.finalize().into()
    }
    fn concat_and_hash(left: &Hash, right: Option<&Hash>) -> Hash {
        match right {
            Some(right) => notarium_core::merkle::node_hash(left, right),
            None => *left,
        }
    }
}

type CtTree = MemoryBackedTree<Sha256, [u8; 8]>;

fn build_ours() -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..N {
        t.push_leaf_data(&data(i));
    }
    t
}

fn build_ct() -> CtTree {
    let mut t = CtTree::new();
    for i in 0..N {
        t.push(data(i));
    }
    t
}

fn build_rs() -> rs_merkle::MerkleTree<Rfc6962Node> {
    let leaves: Vec<Hash> = (0..N).map(|i| leaf_hash(&data(i))).collect();
    rs_merkle::MerkleTree::<Rfc6962Node>::from_leaves(&leaves)
}

struct Trees {
    ours: MemoryTree,
    ct: CtTree,
    rs: rs_merkle::MerkleTree<Rfc6962Node>,
}

fn trees() -> &'static Trees {
    static TREES: OnceLock<Trees> = OnceLock::new();
    TREES.get_or_init(|| {
        let t = Trees {
            ours: build_ours(),
            ct: build_ct(),
            rs: build_rs(),
        };
        let root = t.ours.root();
        assert_eq!(t.ct.root(), RootHash::new(Output::<Sha256>::from(root), N));
        assert_eq!(t.rs.root(), Some(root));
        t
    })
}

/// Deterministic pseudo-random values in `lo..hi` (SplitMix64).
fn queries(lo: u64, hi: u64) -> Vec<u64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..QUERIES)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            lo + z % (hi - lo)
        })
        .collect()
}

fn bench_build(c: &mut Criterion) {
    let mut g = c.benchmark_group("build_root_1M");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N));
    g.bench_function("ours", |b| {
        b.iter_with_large_drop(|| {
            let t = build_ours();
            black_box(t.root());
            t
        })
    });
    g.bench_function("rs_merkle", |b| {
        b.iter_with_large_drop(|| {
            let t = build_rs();
            black_box(t.root());
            t
        })
    });
    g.bench_function("ct_merkle", |b| {
        b.iter_with_large_drop(|| {
            let t = build_ct();
            black_box(t.root());
            t
        })
    });
    g.finish();
}

fn bench_prove(c: &mut Criterion) {
    let t = trees();
    let idx = queries(0, N);
    let olds = queries(1, N);

    let mut g = c.benchmark_group("inclusion_proof_1M");
    g.throughput(Throughput::Elements(1));
    let mut k = 0;
    g.bench_function("ours", |b| {
        b.iter(|| {
            k = (k + 1) % QUERIES;
            black_box(t.ours.inclusion_proof(idx[k], N).unwrap())
        })
    });
    g.bench_function("ct_merkle", |b| {
        b.iter(|| {
            k = (k + 1) % QUERIES;
            black_box(t.ct.prove_inclusion(idx[k] as usize))
        })
    });
    g.bench_function("rs_merkle", |b| {
        b.iter(|| {
            k = (k + 1) % QUERIES;
            black_box(t.rs.proof(&[idx[k] as usize]))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("consistency_proof_1M");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ours", |b| {
        b.iter(|| {
            k = (k + 1) % QUERIES;
            black_box(t.ours.consistency_proof(olds[k], N).unwrap())
        })
    });
    g.bench_function("ct_merkle", |b| {
        b.iter(|| {
            k = (k + 1) % QUERIES;
            black_box(t.ct.prove_consistency((N - olds[k]) as usize))
        })
    });
    g.finish();
}

/// A precomputed consistency proof from `old` to `N`, in both libraries' types.
struct ConsistencyCase {
    old: u64,
    old_root: Hash,
    proof: Vec<Hash>,
    ct_old_root: RootHash<Sha256>,
    ct_proof: ConsistencyProof<Sha256>,
}

fn bench_verify(c: &mut Criterion) {
    let t = trees();
    let root = t.ours.root();
    let ct_root = RootHash::<Sha256>::new(Output::<Sha256>::from(root), N);

    let idx = queries(0, N);
    let incl: Vec<(u64, Vec<Hash>, InclusionProof<Sha256>)> = idx
        .iter()
        .map(|&i| {
            let p = t.ours.inclusion_proof(i, N).unwrap();
            let ct = InclusionProof::from_bytes(p.concat());
            (i, p, ct)
        })
        .collect();
    let mut g = c.benchmark_group("verify_inclusion_1M");
    g.throughput(Throughput::Elements(1));
    let mut k = 0;
    g.bench_function("ours", |b| {
        b.iter(|| {
            k = (k + 1) % QUERIES;
            let (i, p, _) = &incl[k];
            verify_inclusion(&leaf_hash(&data(*i)), *i, N, p, &root).unwrap()
        })
    });
    g.bench_function("ct_merkle", |b| {
        b.iter(|| {
            k = (k + 1) % QUERIES;
            let (i, _, p) = &incl[k];
            ct_root.verify_inclusion(&data(*i), *i, p).unwrap()
        })
    });
    g.finish();

    let olds = queries(1, N);
    let cons: Vec<ConsistencyCase> = olds
        .iter()
        .map(|&old| {
            let proof = t.ours.consistency_proof(old, N).unwrap();
            let old_root = t.ours.root_at(old).unwrap();
            ConsistencyCase {
                old,
                old_root,
                ct_old_root: RootHash::new(Output::<Sha256>::from(old_root), old),
                ct_proof: ConsistencyProof::try_from_bytes(proof.concat()).unwrap(),
                proof,
            }
        })
        .collect();
    let mut g = c.benchmark_group("verify_consistency_1M");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ours", |b| {
        b.iter(|| {
            k = (k + 1) % QUERIES;
            let c = &cons[k];
            verify_consistency(c.old, N, &c.old_root, &root, &c.proof).unwrap()
        })
    });
    g.bench_function("ct_merkle", |b| {
        b.iter(|| {
            k = (k + 1) % QUERIES;
            let c = &cons[k];
            ct_root
                .verify_consistency(&c.ct_old_root, &c.ct_proof)
                .unwrap()
        })
    });
    g.finish();

    // Ours also proves inclusion in any older tree size from the same stored
    // rows, which ct-merkle cannot do; for reference only.
    let mut g = c.benchmark_group("inclusion_proof_old_size_1M");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ours", |b| {
        b.iter(|| {
            k = (k + 1) % QUERIES;
            let (i, size) = (idx[k] / 2, olds[k].max(idx[k] / 2 + 1));
            black_box(t.ours.inclusion_proof(i, size).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_build, bench_prove, bench_verify);
criterion_main!(benches);
