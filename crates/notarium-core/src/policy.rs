//! Witness policies: how many distinct witnesses of each role must cosign a
//! checkpoint before it is final.
//!
//! Syntax: requirements separated by spaces or commas, each
//! `<role>>=<count>` with role `court` or `arbitration` and count 1..=64,
//! each role at most once. The default is `court>=1 arbitration>=1`.
//! Witnesses are counted by name (certificate CN): two cosignatures by the
//! same witness count once.

use crate::error::PolicyError;
use crate::identity::Role;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    required: BTreeMap<Role, usize>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            required: BTreeMap::from([(Role::Court, 1), (Role::Arbitration, 1)]),
        }
    }
}

impl Policy {
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let bad = |why: String| PolicyError::Syntax {
            text: text.to_string(),
            why,
        };
        let mut required = BTreeMap::new();
        for term in text.split([' ', ',']).filter(|t| !t.is_empty()) {
            let (role, count) = term
                .split_once(">=")
                .ok_or_else(|| bad(format!("\"{term}\" is not of the form role>=count")))?;
            let role = Role::parse(role)
                .filter(|r| r.is_witness())
                .ok_or_else(|| {
                    bad(format!(
                        "\"{role}\" is not a witness role (court, arbitration)"
                    ))
                })?;
            let count: usize = count
                .parse()
                .ok()
                .filter(|c| (1..=64).contains(c))
                .ok_or_else(|| bad(format!("\"{count}\" is not a count from 1 to 64")))?;
            if required.insert(role, count).is_some() {
                return Err(bad(format!("{role} is required twice")));
            }
        }
        if required.is_empty() {
            return Err(bad("no requirement".into()));
        }
        Ok(Policy { required })
    }

    pub fn required(&self) -> &BTreeMap<Role, usize> {
        &self.required
    }

    /// Checks the distinct witness names per role; the error says what is missing.
    pub fn check(&self, witnesses: &BTreeMap<Role, BTreeSet<String>>) -> Result<(), String> {
        let missing: Vec<String> = self
            .required
            .iter()
            .filter_map(|(role, &need)| {
                let have = witnesses.get(role).map_or(0, BTreeSet::len);
                (have < need).then(|| format!("{need} {role} witness(es) required, {have} valid"))
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.join("; "))
        }
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let terms: Vec<String> = self
            .required
            .iter()
            .map(|(r, n)| format!("{r}>={n}"))
            .collect();
        f.write_str(&terms.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(court: &[&str], arb: &[&str]) -> BTreeMap<Role, BTreeSet<String>> {
        BTreeMap::from([
            (Role::Court, court.iter().map(|s| s.to_string()).collect()),
            (
                Role::Arbitration,
                arb.iter().map(|s| s.to_string()).collect(),
            ),
        ])
    }

    #[test]
    fn default_needs_one_of_each() {
        let p = Policy::default();
        assert_eq!(p.to_string(), "court>=1 arbitration>=1");
        assert_eq!(Policy::parse("court>=1 arbitration>=1").unwrap(), p);
        assert!(p.check(&seen(&["c"], &["a"])).is_ok());
        let err = p.check(&seen(&["c", "c2"], &[])).unwrap_err();
        assert!(
            err.contains("1 arbitration witness(es) required, 0 valid"),
            "{err}"
        );
    }

    #[test]
    fn counts_distinct_witnesses() {
        let p = Policy::parse("court>=2,arbitration>=1").unwrap();
        assert!(p.check(&seen(&["c1"], &["a"])).is_err());
        assert!(p.check(&seen(&["c1", "c2"], &["a"])).is_ok());
        assert!(
            Policy::parse("court>=2")
                .unwrap()
                .check(&seen(&["c1", "c2"], &[]))
                .is_ok()
        );
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "",
            "court>=0",
            "court>1",
            "notary>=1",
            "court>=1 court>=2",
            "judge>=1",
            "court>=x",
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad:?}");
        }
    }
}
