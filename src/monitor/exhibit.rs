//! The equivocation exhibit (`notarium/equivocation/v1`, docs/monitor.md):
//! two signed checkpoint notes verbatim, the certificates that verify them,
//! and, when their sizes differ, the consistency proof from the smaller
//! size to the larger in the tree the mirror verified, with the root that
//! proof fixes at the smaller size. `notarium-verify --exhibit` checks it
//! offline.

use super::Checked;
use super::tree::Tree;
use notarium_core::encoding::b64;
use serde_json::{Value, json};

/// The exhibit's `type`.
pub(crate) const EXHIBIT_TYPE: &str = "notarium/equivocation/v1";

/// `a`: the note whose tree the mirror verified (larger or same size);
/// `b`: the one that contradicts it. Each with where it was fetched.
pub(crate) fn build(
    kind: &str,
    origin: &str,
    a: (&Checked, &str),
    b: (&Checked, &str),
    tree: &Tree,
    pems: &[String],
) -> Value {
    let note = |(c, source): (&Checked, &str)| json!({"source": source, "size": c.size, "root": b64(&c.root), "note": c.note});
    let (big, small) = (a.0, b.0);
    let (consistency, summary) = if small.size == big.size {
        (
            Value::Null,
            format!(
                "two checkpoints of size {} signed by {origin} with different roots",
                big.size
            ),
        )
    } else if small.size < big.size && big.size <= tree.len() && small.size > 0 {
        let old_root = tree.root(small.size);
        let proof: Vec<String> = tree
            .consistency(small.size, big.size)
            .iter()
            .map(|h| b64(h))
            .collect();
        let agree = old_root == small.root;
        let summary = match (kind, agree) {
            ("rollback", true) => format!(
                "{origin} served a checkpoint of size {} after one of size {}: a rollback (the two notes are consistent)",
                small.size, big.size
            ),
            _ => format!(
                "the tree of size {} extends a tree of size {} whose root is {}, not the root {} of the other checkpoint of size {}: they cannot both be true",
                big.size,
                small.size,
                b64(&old_root),
                b64(&small.root),
                small.size
            ),
        };
        (
            json!({"old_size": small.size, "new_size": big.size,
                   "old_root_in_new_tree": b64(&old_root), "proof": proof}),
            summary,
        )
    } else {
        (
            Value::Null,
            format!(
                "no consistency proof: sizes {} and {}",
                big.size, small.size
            ),
        )
    };
    json!({
        "type": EXHIBIT_TYPE,
        "kind": kind,
        "origin": origin,
        "detected_at": notarium_log::clock::now().to_text(),
        "summary": summary,
        "notes": [note(a), note(b)],
        "consistency": consistency,
        "certificates": pems,
    })
}
