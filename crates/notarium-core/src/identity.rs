//! Identities (contract §1, §9): a signer's role comes from its subject OU
//! and its name from its subject CN, and a signer certificate counts only if
//! it chains to a configured trust root, has the digitalSignature key usage,
//! allows a Notarium signature by its extended key usage (if it has one),
//! and every certificate of the chain is valid at the time of the signature.
//!
//! The X.509 profile itself (parsing, RFC 5280 paths with pathLenConstraint
//! and basicConstraints, CRLs) is the separately audited `notarium-x509`,
//! as webpki is for rustls; this module adds what Notarium makes of it.

pub use notarium_x509::{
    ANY_EKU, CertInfo, Crl, IdentityError, MAX_INTERMEDIATES, MAX_ISSUER_CANDIDATES,
    TIME_STAMPING_EKU, TrustRoots, VerifyingKey, certs_from_pem_file, seconds_text,
};

/// The extended key usage that names a Notarium signer (contract §9):
/// 2.25.52608443440459121674925930944434331781, as DER OID content bytes
/// (its last arc does not fit 64 bits, so OIDs are compared as bytes).
pub const NOTARIUM_SIGNER_EKU: &[u8] = &[
    0x69, 0xcf, 0x94, 0x82, 0xa1, 0xa1, 0x90, 0xe2, 0xa5, 0xef, 0xaf, 0xef, 0xf2, 0xdd, 0x9d, 0xfb,
    0xd3, 0xc1, 0x05,
];

/// What a signer may do, from its certificate's subject OU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The log: signs checkpoints and receipts.
    Notary,
    /// A court's witness.
    Court,
    /// An arbitration commission's witness.
    Arbitration,
}

impl Role {
    const ALL: [Role; 3] = [Role::Notary, Role::Court, Role::Arbitration];

    /// `notary`, `court` or `arbitration`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
    /// The role a certificate's subject OU names, if it names one.
    pub fn of(cert: &CertInfo) -> Option<Role> {
        cert.organizational_unit.as_deref().and_then(Role::parse)
    }
    /// The OU text.
    pub fn as_str(self) -> &'static str {
        ["notary", "court", "arbitration"][self as usize]
    }
    /// Court or arbitration.
    pub fn is_witness(self) -> bool {
        self != Role::Notary
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signer whose certificate chains to a trust root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The signer certificate first, the trust root last.
    pub certs: Vec<CertInfo>,
    /// From the signer's subject OU.
    pub role: Role,
    /// The subject CN: the log origin of a notary, the witness name of a witness.
    pub name: String,
}

impl Chain {
    /// The chain of `signer`, a signer certificate (not a CA,
    /// digitalSignature, an extended key usage that allows a Notarium
    /// signature, a role and a name), through certificates of `pool` to one
    /// of `roots`, with every certificate valid at `at` (Unix seconds, the
    /// time of the signature) and every pathLenConstraint respected.
    pub fn build(
        roots: &TrustRoots,
        signer: &CertInfo,
        pool: &[CertInfo],
        at: i64,
    ) -> Result<Chain, IdentityError> {
        if signer.is_ca {
            return Err(signer.refuse("a CA certificate cannot sign checkpoints"));
        }
        if !signer.digital_signature {
            return Err(signer.refuse("no digitalSignature key usage"));
        }
        if !signer.eku_allows(NOTARIUM_SIGNER_EKU) {
            return Err(signer.refuse(
                "its extended key usage allows neither anyExtendedKeyUsage nor the Notarium signer 2.25.52608443440459121674925930944434331781",
            ));
        }
        let role = Role::of(signer)
            .ok_or_else(|| signer.refuse("subject OU is not notary, court or arbitration"))?;
        let name = signer.common_name.clone().ok_or_else(|| signer.refuse("no subject CN"))?;
        Ok(Chain { certs: roots.path(signer, pool, at)?, role, name })
    }

    /// The signer's certificate.
    pub fn signer(&self) -> &CertInfo {
        &self.certs[0]
    }
}
