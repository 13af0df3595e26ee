//! Standard C2SP witnesses (contract §9): note verifier keys (signed-note
//! vkeys), Ed25519 cosignature/v1 lines (tlog-cosignature, type 0x04), and
//! C2SP tlog-policy files, whose quorum is one more group on top of the
//! role policy.

use crate::cosignature::cosignature_message;
use crate::encoding::{hex_lower, parse_b64};
use crate::error::PolicyError;
use crate::merkle::sha256;
use crate::note::{NoteSignature, check_key_name};
use crate::policy::{Group, GroupTime};
use ring::signature::{ED25519, UnparsedPublicKey};

/// signed-note signature type: Ed25519 note signatures (a log's key).
pub const VKEY_ED25519: u8 = 0x01;
/// signed-note signature type: ECDSA, key material the DER SPKI (this
/// project's notary, contract §3).
pub const VKEY_ECDSA: u8 = 0x02;
/// tlog-cosignature: timestamped Ed25519 witness cosignatures.
pub const VKEY_COSIGNATURE: u8 = 0x04;
/// Bytes after the key ID of a cosignature/v1 line: timestamp, signature.
pub const COSIGNATURE_V1_LEN: usize = 8 + 64;

/// A note verifier key `<name>+<hex key ID>+<base64(type || key)>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vkey {
    /// The key name (a cosignature line's name).
    pub name: String,
    /// The signature type byte.
    pub key_type: u8,
    /// The public key material after the type byte.
    pub key: Vec<u8>,
}

impl Vkey {
    /// Parses a vkey of type 0x01, 0x02 or 0x04 and checks its key ID.
    pub fn parse(s: &str) -> Result<Self, String> {
        // SPEC: signed-note "Verifier keys": the key name, a plus, the key
        // ID as 8 hex digits, a plus, base64 of the type byte and the key.
        let [name, id, data] = s.splitn(3, '+').collect::<Vec<_>>()[..] else {
            return Err(format!("\"{s}\" is not a vkey (name+keyid+base64)"));
        };
        check_key_name(name).map_err(|e| e.to_string())?;
        let raw = parse_b64("vkey", data).map_err(|e| e.to_string())?;
        let Some((&key_type, key)) = raw.split_first() else {
            return Err(format!("vkey {name} has no key"));
        };
        let ok = match key_type {
            VKEY_ED25519 | VKEY_COSIGNATURE => key.len() == 32,
            VKEY_ECDSA => !key.is_empty(),
            t => {
                return Err(format!(
                    "vkey {name}: type 0x{t:02x} is not supported (0x01, 0x02, 0x04)"
                ));
            }
        };
        if !ok {
            return Err(format!("vkey {name}: an Ed25519 key is 32 bytes, not {}", key.len()));
        }
        let v = Vkey { name: name.to_string(), key_type, key: key.to_vec() };
        match hex_lower(&v.key_id()) == id {
            true => Ok(v),
            false => Err(format!("vkey {name}: key ID {id} is not the key's")),
        }
    }

    /// SPEC: signed-note: `SHA-256(name || 0x0A || type || key)[:4]`; for
    /// type 0x02, `SHA-256(DER SPKI)[:4]`.
    pub fn key_id(&self) -> [u8; 4] {
        let h = match self.key_type {
            VKEY_ECDSA => sha256(&self.key),
            t => sha256(&[self.name.as_bytes(), b"\n", &[t], &self.key].concat()),
        };
        h[..4].try_into().expect("4 bytes")
    }

    /// Whether `sig` claims to be by this key (same name and key ID).
    pub fn is_signer_of(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.key_id()
    }

    /// Verifies a cosignature/v1 line over a checkpoint body; its time.
    pub fn verify_cosignature(&self, sig: &NoteSignature, body: &str) -> Result<u64, String> {
        if self.key_type != VKEY_COSIGNATURE || sig.signature.len() != COSIGNATURE_V1_LEN {
            return Err("not an Ed25519 cosignature/v1 (8-byte time, 64-byte signature)".into());
        }
        // SPEC: tlog-cosignature: "timestamped_signature": a big-endian u64
        // that "MUST NOT exceed 2^63 - 1", then the Ed25519 signature.
        let t = u64::from_be_bytes(sig.signature[..8].try_into().expect("8 bytes"));
        if t > i64::MAX as u64 {
            return Err("the cosignature time exceeds 2^63 - 1".into());
        }
        UnparsedPublicKey::new(&ED25519, &self.key)
            .verify(&cosignature_message(t, body), &sig.signature[8..])
            .map_err(|_| "the Ed25519 signature does not verify over this checkpoint and time")?;
        Ok(t)
    }
}

/// A group or quorum member: a witness or an earlier group (by index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

/// A parsed C2SP tlog-policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyFile {
    /// The `log` lines' keys.
    pub logs: Vec<Vkey>,
    /// The `witness` lines: the policy's name for it, and its key.
    pub witnesses: Vec<(String, Vkey)>,
    /// Name, threshold, members.
    groups: Vec<(String, usize, Vec<Member>)>,
    /// `None`: `quorum none`.
    quorum: Option<Member>,
}

impl PolicyFile {
    /// Parses the file; an error names the line.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let mut p = PolicyFile { logs: vec![], witnesses: vec![], groups: vec![], quorum: None };
        let mut quorum = false;
        let n = text.split('\n').count();
        for (i, line) in text.split('\n').enumerate() {
            p.line(line, &mut quorum).map_err(|why| PolicyError::File { line: i + 1, why })?;
        }
        match quorum {
            true => Ok(p),
            false => Err(PolicyError::File { line: n, why: "no quorum line".into() }),
        }
    }

    fn line(&mut self, line: &str, quorum: &mut bool) -> Result<(), String> {
        // SPEC: tlog-policy: only tab and newline among control characters;
        // items separated by spaces and tabs; "#" lines are comments.
        if let Some(c) = line.chars().find(|&c| (c < ' ' && c != '\t') || c == '\x7f') {
            return Err(format!("control character U+{:04X}", c as u32));
        }
        let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
        // A log key is Ed25519 (0x01) or ECDSA (0x02); a witness key is
        // type 0x04, or 0x01 for the same Ed25519 key (as transparency-dev's
        // tools write it): its cosignatures still use the 0x04 key ID.
        let key = |s: &str, witness: bool| match Vkey::parse(s)? {
            k if k.key_type == VKEY_ED25519 && witness => Ok(Vkey { key_type: 0x04, ..k }),
            k if (k.key_type == VKEY_COSIGNATURE) == witness => Ok(k),
            k => Err(format!("key {} has type 0x{:02x}", k.name, k.key_type)),
        };
        match words[..] {
            [] => {}
            [w, ..] if w.starts_with('#') => {}
            ["log", vkey] | ["log", vkey, _] => {
                let k = key(vkey, false)?;
                if self.logs.iter().any(|l| l.key == k.key) {
                    return Err(format!("log {} is listed twice", k.name));
                }
                self.logs.push(k);
            }
            ["witness", name, vkey] | ["witness", name, vkey, _] => {
                self.fresh(name)?;
                let k = key(vkey, true)?;
                if self.witnesses.iter().any(|(_, w)| w.key == k.key) {
                    return Err(format!("witness {name} has the key of another witness"));
                }
                self.witnesses.push((name.to_string(), k));
            }
            ["group", name, k, ref members @ ..] if !members.is_empty() => {
                self.fresh(name)?;
                let mut ms = Vec::with_capacity(members.len());
                for m in members {
                    let m = self.member(m)?;
                    if ms.contains(&m) {
                        return Err(format!("group {name} lists a member twice"));
                    }
                    ms.push(m);
                }
                let k =
                    match k {
                        "all" => ms.len(),
                        "any" => 1,
                        k => k.parse().ok().filter(|k| (1..=ms.len()).contains(k)).ok_or_else(
                            || format!("threshold \"{k}\" is not all, any or 1 to {}", ms.len()),
                        )?,
                    };
                self.groups.push((name.to_string(), k, ms));
            }
            ["quorum", name] if !*quorum => {
                *quorum = true;
                self.quorum = (name != "none").then(|| self.member(name)).transpose()?;
            }
            ["quorum", _] => return Err("a second quorum line".into()),
            _ => return Err(format!("\"{line}\" is not a log, witness, group or quorum line")),
        }
        Ok(())
    }

    fn fresh(&self, name: &str) -> Result<(), String> {
        match name == "none" || self.member(name).is_ok() {
            true => Err(format!("the name {name} is already defined")),
            false => Ok(()),
        }
    }

    fn member(&self, name: &str) -> Result<Member, String> {
        let w = self.witnesses.iter().position(|(n, _)| n == name).map(Member::Witness);
        w.or_else(|| self.groups.iter().position(|(n, ..)| n == name).map(Member::Group))
            .ok_or_else(|| format!("\"{name}\" is not a witness or group defined above"))
    }

    /// Whether a checkpoint of `origin` signed by the ECDSA key `spki` is by
    /// a log this file lists.
    pub fn check_log(&self, origin: &str, spki: &[u8]) -> Result<(), String> {
        // SPEC: tlog-policy: a checkpoint is valid if "signed by any one of
        // the listed logs" (none listed: the trust roots decide).
        let listed = |l: &Vkey| l.key_type == VKEY_ECDSA && l.key == spki && l.name == origin;
        match self.logs.is_empty() || self.logs.iter().any(listed) {
            true => Ok(()),
            false => Err(format!(
                "the policy file lists no log with origin {origin} and this notary's ECDSA key"
            )),
        }
    }

    /// The quorum as a group (`None` for `quorum none`): fewest witnesses
    /// that can meet it, witnesses counted, and when it was first met.
    /// `times[i]`: witness i's counted cosignature time.
    pub fn quorum_time(&self, times: &[Option<u64>]) -> Option<GroupTime> {
        let required = self.fold(
            |_| 1,
            |k, mut v: Vec<usize>| {
                v.sort_unstable();
                v[..k].iter().sum()
            },
        )?;
        // SPEC: tlog-policy: a group witnesses a checkpoint when k of its
        // members have; contract §9: it does so at the k-th earliest time.
        let satisfied_at = self.fold(
            |i| times[i],
            |k, v| {
                let mut v: Vec<u64> = v.into_iter().flatten().collect();
                v.sort_unstable();
                v.get(k - 1).copied()
            },
        )?;
        let counted = times.iter().flatten().count();
        Some(GroupTime { group: Group::Standard, required, counted, satisfied_at })
    }

    /// Evaluates the quorum: witnesses by `leaf`, groups (in file order, so
    /// each once) by `group(k, member values)`.
    fn fold<T: Clone>(
        &self,
        leaf: impl Fn(usize) -> T,
        group: impl Fn(usize, Vec<T>) -> T,
    ) -> Option<T> {
        let mut done: Vec<T> = Vec::with_capacity(self.groups.len());
        let value = |m: &Member, done: &[T]| match *m {
            Member::Witness(i) => leaf(i),
            Member::Group(g) => done[g].clone(),
        };
        for (_, k, ms) in &self.groups {
            let v = group(*k, ms.iter().map(|m| value(m, &done)).collect());
            done.push(v);
        }
        self.quorum.map(|q| value(&q, &done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Note;

    // Vectors of transparency-dev/formats (note_cosigv1_test.go): a public
    // witness's native 0x04 vkey, and a 0x01 vkey whose base64 holds a '+'.
    const REMORA: &str = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
    const TEST01: &str = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6";

    fn key(seed: u8) -> (ring::signature::Ed25519KeyPair, Vkey) {
        let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        use ring::signature::KeyPair;
        let v = Vkey {
            name: format!("w{seed}.example"),
            key_type: VKEY_COSIGNATURE,
            key: kp.public_key().as_ref().to_vec(),
        };
        (kp, v)
    }

    fn vkey_text(v: &Vkey) -> String {
        let data = [&[v.key_type][..], &v.key].concat();
        format!("{}+{}+{}", v.name, hex_lower(&v.key_id()), crate::encoding::b64(&data))
    }

    #[test]
    fn parses_vkeys() {
        let remora = Vkey::parse(REMORA).unwrap();
        assert_eq!((remora.key_type, remora.key.len()), (VKEY_COSIGNATURE, 32));
        assert_eq!(Vkey::parse(TEST01).unwrap().key_type, VKEY_ED25519);
        let p = PolicyFile::parse(&format!("witness R {REMORA}\nwitness T {TEST01}\nquorum R\n"));
        assert_eq!(p.unwrap().witnesses[1].1.key_type, VKEY_COSIGNATURE);
        assert!(Vkey::parse(&REMORA.replace("da77ade7", "da77ade8")).is_err());
        let (_, v) = key(1);
        assert_eq!(Vkey::parse(&vkey_text(&v)).unwrap(), v);
        let text = vkey_text(&v);
        for bad in [
            text.replacen('+', "-", 1),
            text.replacen("w1.example", "w2.example", 1),
            format!("{text}+x"),
            text.replacen("+B", "+D", 1),
            "a+00000000+".into(),
        ] {
            assert!(Vkey::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verifies_cosignature_v1() {
        let (kp, v) = key(7);
        let body = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let mut sig = 1_700_000_000u64.to_be_bytes().to_vec();
        sig.extend_from_slice(kp.sign(&cosignature_message(1_700_000_000, body)).as_ref());
        let line = NoteSignature { name: v.name.clone(), key_id: v.key_id(), signature: sig };
        assert!(v.is_signer_of(&line));
        assert_eq!(v.verify_cosignature(&line, body), Ok(1_700_000_000));
        assert!(v.verify_cosignature(&line, &body.replace('5', "6")).is_err());
        let mut later = line.clone();
        later.signature[7] ^= 1;
        assert!(v.verify_cosignature(&later, body).is_err());
        assert!(Note::parse(&format!("{body}\n{}", line.to_line())).is_ok());
    }

    #[test]
    fn spec_example_line_has_the_spec_shape() {
        // tlog-cosignature's example line: 4-byte key ID, 8-byte time,
        // 64-byte signature (its key is not published, so only the shape).
        let line = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
        let sig = NoteSignature::parse_line(line).unwrap();
        assert_eq!(sig.signature.len(), COSIGNATURE_V1_LEN);
        assert_eq!(u64::from_be_bytes(sig.signature[..8].try_into().unwrap()), 1_679_315_147);
    }

    #[test]
    fn quorum_is_a_group_of_groups() {
        let ws: Vec<String> = (1..=4).map(|i| vkey_text(&key(i).1)).collect();
        let text = format!(
            "# comment\nlog {TEST01} https://log.example\n\n\twitness A {} https://a.example\nwitness B {}\nwitness C {}\nwitness D {}\ngroup AB 2 A B\ngroup CD any C D\ngroup all all AB CD\nquorum all\n",
            ws[0], ws[1], ws[2], ws[3]
        );
        let p = PolicyFile::parse(&text).unwrap();
        assert_eq!(p.logs.len(), 1);
        assert_eq!(p.witnesses.len(), 4);
        let g = p.quorum_time(&[Some(10), Some(30), None, Some(20)]).unwrap();
        assert_eq!((g.required, g.counted, g.satisfied_at), (3, 3, Some(30)));
        assert_eq!(p.quorum_time(&[Some(10), None, Some(5), Some(20)]).unwrap().satisfied_at, None);
        let none = PolicyFile::parse("quorum none\n").unwrap();
        assert_eq!(none.quorum_time(&[]), None);
    }

    #[test]
    fn bad_files_name_the_line() {
        let w = vkey_text(&key(1).1);
        for (bad, line) in [
            (format!("witness A {w}\nquorum B\n"), 2),
            (format!("witness A {w}\nwitness B {w}\nquorum A\n"), 2),
            (format!("witness A {w}\nwitness A {}\nquorum A\n", vkey_text(&key(2).1)), 2),
            (format!("witness A {w}\ngroup G 2 A\nquorum G\n"), 2),
            (format!("witness A {w}\ngroup G all A A\nquorum G\n"), 2),
            (format!("witness A {w}\nquorum A\nquorum A\n"), 3),
            (format!("witness A {w}\n"), 2),
            (format!("witness none {w}\nquorum none\n"), 1),
            (format!("log {w}\nquorum none\n"), 1),
            ("frobnicate\nquorum none\n".into(), 1),
            ("quorum none\r\n".into(), 1),
        ] {
            match PolicyFile::parse(&bad) {
                Err(PolicyError::File { line: l, .. }) => assert_eq!(l, line, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
