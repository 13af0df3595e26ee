//! RFC 5280 certification paths to configured trust roots.

use crate::{CertInfo, IdentityError};
use std::collections::HashMap;
use std::sync::Mutex;

/// SHA-256 of a certificate's DER.
type Fingerprint = [u8; 32];

/// Longest accepted chain: signer, up to this many intermediates, root.
pub const MAX_INTERMEDIATES: usize = 3;
/// Certificates with an issuer's name tried as that issuer, at most.
pub const MAX_ISSUER_CANDIDATES: usize = 4;

/// The configured trust roots, with a cache of issuer signatures already
/// checked (they do not depend on time).
#[derive(Debug, Default)]
pub struct TrustRoots {
    roots: Vec<CertInfo>,
    signed: Mutex<HashMap<(Fingerprint, Fingerprint), bool>>,
}

impl Clone for TrustRoots {
    fn clone(&self) -> Self {
        TrustRoots {
            roots: self.roots.clone(),
            signed: Mutex::default(),
        }
    }
}

impl TrustRoots {
    /// Trust roots must be self-signed CA certificates with keyCertSign.
    pub fn new(roots: Vec<CertInfo>) -> Result<Self, IdentityError> {
        if roots.is_empty() {
            return Err(IdentityError::NoTrustRoots);
        }
        if let Some(r) = roots
            .iter()
            .find(|r| !r.is_ca || !r.key_cert_sign || !r.signed_by(r))
        {
            return Err(
                r.refuse("a trust root must be a self-signed CA certificate with keyCertSign")
            );
        }
        Ok(TrustRoots {
            roots,
            signed: Mutex::default(),
        })
    }

    /// The roots of a PEM file.
    pub fn from_pem(text: &str) -> Result<Self, IdentityError> {
        Self::new(crate::certs_from_pem_file(text)?)
    }

    /// The root certificates.
    pub fn roots(&self) -> &[CertInfo] {
        &self.roots
    }

    fn signed_by(&self, cert: &CertInfo, ca: &CertInfo) -> bool {
        let key = (cert.fingerprint, ca.fingerprint);
        if let Some(&hit) = self.signed.lock().expect("cache lock").get(&key) {
            return hit;
        }
        let ok = cert.signed_by(ca);
        let mut cache = self.signed.lock().expect("cache lock");
        if cache.len() >= 4096 {
            cache.clear();
        }
        cache.insert(key, ok);
        ok
    }

    /// The certification path of `cert` (first) through certificates of
    /// `pool` to a root (last), every certificate valid at `at` and every
    /// pathLenConstraint respected. What `cert` may sign is the caller's
    /// check (Notarium signers in the core, RFC 3161 TSAs in notarium-timestamp).
    pub fn path(
        &self,
        cert: &CertInfo,
        pool: &[CertInfo],
        at: i64,
    ) -> Result<Vec<CertInfo>, IdentityError> {
        cert.check_valid_at(at)?;
        let (mut path, mut why) = (vec![cert], None);
        if self.extend(&mut path, pool, at, &mut why) {
            return Ok(path.into_iter().cloned().collect());
        }
        Err(why.unwrap_or_else(|| IdentityError::UntrustedChain(cert.subject.clone())))
    }

    /// Depth-first search for an issuer of the last certificate of `path`.
    fn extend<'a>(
        &'a self,
        path: &mut Vec<&'a CertInfo>,
        pool: &'a [CertInfo],
        at: i64,
        why: &mut Option<IdentityError>,
    ) -> bool {
        let cur = *path.last().expect("the signer is first");
        // SPEC: RFC 5280 §4.2.1.9: pathLenConstraint "gives the maximum
        // number of non-self-issued intermediate certificates that may
        // follow this certificate in a valid certification path".
        let below = path.len() - 1;
        let fits = |ca: &CertInfo, why: &mut Option<IdentityError>| {
            let ok = ca.path_len.is_none_or(|n| below as u64 <= u64::from(n));
            if !ok {
                *why = Some(ca.refuse(format!(
                    "its pathLenConstraint {} allows fewer CA certificates below it than {below}",
                    ca.path_len.unwrap_or(0)
                )));
            }
            ok && ca.check_valid_at(at).map_err(|e| *why = Some(e)).is_ok()
        };
        let named = |c: &&CertInfo| c.subject_raw == cur.issuer_raw;
        for root in self.roots.iter().filter(named) {
            if self.signed_by(cur, root) && fits(root, why) {
                path.push(root);
                return true;
            }
        }
        if below >= MAX_INTERMEDIATES {
            return false;
        }
        let candidates: Vec<&CertInfo> = pool
            .iter()
            .filter(named)
            .filter(|c| {
                c.is_ca && c.key_cert_sign && !path.iter().any(|p| p.fingerprint == c.fingerprint)
            })
            .take(MAX_ISSUER_CANDIDATES)
            .collect();
        for ca in candidates {
            if self.signed_by(cur, ca) && fits(ca, why) {
                path.push(ca);
                if self.extend(path, pool, at, why) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
}
