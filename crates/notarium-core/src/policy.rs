//! Witness policies and the time a certificate proves (contract §3, §9).
//!
//! Syntax: requirements separated by spaces or commas, each
//! `<group>>=<count>`, count 1..=64, each group at most once. A group is a
//! witness role (`court`, `arbitration`) or `tsa` (RFC 3161 timestamping
//! authorities). The default is `court>=1 arbitration>=1`.

use crate::error::PolicyError;
use crate::identity::Role;
use serde::Serialize;

/// Who can satisfy a requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// X.509 witnesses whose certificate's subject OU is this role.
    Role(Role),
    /// RFC 3161 timestamping authorities.
    Tsa,
    /// Standard C2SP witnesses: the quorum of a tlog-policy file.
    Standard,
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Group::Role(r) => r.fmt(f),
            Group::Tsa => f.write_str("tsa"),
            Group::Standard => f.write_str("standard"),
        }
    }
}

impl Serialize for Group {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `group>=count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// Who counts.
    pub group: Group,
    /// How many distinct parties of the group must attest.
    pub count: usize,
}

/// How one requirement fared: its parties' times, earliest first, and the
/// moment it was satisfied (the `count`-th of those times).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupTime {
    /// The group.
    pub group: Group,
    /// Parties required.
    pub required: usize,
    /// Distinct parties counted.
    pub counted: usize,
    /// Unix seconds at which the requirement was first met, if it was.
    pub satisfied_at: Option<u64>,
}

/// A set of requirements, all of which must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    reqs: Vec<Requirement>,
}

impl Default for Policy {
    fn default() -> Self {
        let req = |r, count| Requirement { group: Group::Role(r), count };
        Policy { reqs: vec![req(Role::Court, 1), req(Role::Arbitration, 1)] }
    }
}

impl Policy {
    /// Parses `court>=1 arbitration>=1` and the like (module docs).
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let bad = |why: String| PolicyError::Syntax { text: text.to_string(), why };
        let mut reqs: Vec<Requirement> = Vec::new();
        for term in text.split([' ', ',']).filter(|t| !t.is_empty()) {
            let (name, count) = term
                .split_once(">=")
                .ok_or_else(|| bad(format!("\"{term}\" is not of the form group>=count")))?;
            let group = match Role::parse(name).filter(|r| r.is_witness()) {
                Some(r) => Group::Role(r),
                None if name == "tsa" => Group::Tsa,
                None => {
                    return Err(bad(format!(
                        "\"{name}\" is not a group (court, arbitration, tsa)"
                    )));
                }
            };
            let count = count
                .parse()
                .ok()
                .filter(|c| (1..=64).contains(c))
                .ok_or_else(|| bad(format!("\"{count}\" is not a count from 1 to 64")))?;
            if reqs.iter().any(|r| r.group == group) {
                return Err(bad(format!("{group} is required twice")));
            }
            reqs.push(Requirement { group, count });
        }
        if reqs.is_empty() {
            return Err(bad("no requirement".into()));
        }
        Ok(Policy { reqs })
    }

    /// The requirements, in the order written.
    pub fn requirements(&self) -> &[Requirement] {
        &self.reqs
    }

    /// Contract §9: for each requirement `group>=k`, the k-th earliest time
    /// among the distinct parties of that group (`parties`: one entry per
    /// party, already made distinct by the caller), and `quorum` (a policy
    /// file's, §9) if given; the policy is satisfied at the latest of these.
    /// Returns that time, or why the policy is not satisfied, and each
    /// group's figures either way.
    pub fn satisfied_at(
        &self,
        parties: &[(Group, u64)],
        quorum: Option<GroupTime>,
    ) -> (Result<u64, String>, Vec<GroupTime>) {
        // SPEC: contract §9: "for each role group role>=k, the k-th earliest
        // counted cosignature time among distinct witnesses of that role; the
        // certificate's witnessed time is the latest of these over all groups".
        let group = |r: &Requirement| {
            let mut times: Vec<u64> =
                parties.iter().filter(|(g, _)| *g == r.group).map(|(_, t)| *t).collect();
            times.sort_unstable();
            let (required, counted) = (r.count, times.len());
            GroupTime {
                group: r.group,
                required,
                counted,
                satisfied_at: times.get(r.count - 1).copied(),
            }
        };
        let groups: Vec<GroupTime> = self.reqs.iter().map(group).chain(quorum).collect();
        let missing: Vec<String> = groups
            .iter()
            .filter(|g| g.satisfied_at.is_none())
            .map(|g| format!("{} {} required, {} counted", g.required, g.group, g.counted))
            .collect();
        let at = match missing.is_empty() {
            true => Ok(groups.iter().filter_map(|g| g.satisfied_at).max().unwrap_or(0)),
            false => Err(missing.join("; ")),
        };
        (at, groups)
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let terms: Vec<String> =
            self.reqs.iter().map(|r| format!("{}>={}", r.group, r.count)).collect();
        f.write_str(&terms.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const C: Group = Group::Role(Role::Court);
    const A: Group = Group::Role(Role::Arbitration);

    #[test]
    fn default_needs_one_of_each() {
        let p = Policy::default();
        assert_eq!(p.to_string(), "court>=1 arbitration>=1");
        assert_eq!(Policy::parse("court>=1 arbitration>=1").unwrap(), p);
        assert_eq!(p.satisfied_at(&[(C, 10), (A, 20)], None).0, Ok(20));
        let (err, groups) = p.satisfied_at(&[(C, 10), (C, 11)], None);
        assert_eq!(err, Err("1 arbitration required, 0 counted".into()));
        assert_eq!(groups[0].satisfied_at, Some(10));
        assert_eq!(groups[1].counted, 0);
    }

    #[test]
    fn the_kth_earliest_per_group_then_the_latest_over_groups() {
        let p = Policy::parse("court>=2,arbitration>=1 tsa>=1").unwrap();
        // A backdated court time cannot move the result before the second
        // court witness, nor before the arbitration witness or the TSA.
        let parties = [(C, 5), (C, 100), (C, 50), (A, 70), (Group::Tsa, 60)];
        assert_eq!(p.satisfied_at(&parties, None).0, Ok(70));
        assert_eq!(Policy::parse("court>=3").unwrap().satisfied_at(&parties, None).0, Ok(100));
        assert!(p.satisfied_at(&parties[..1], None).0.is_err());
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
            "court>=65",
            "tsa>=1 tsa>=1",
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad:?}");
        }
    }
}
