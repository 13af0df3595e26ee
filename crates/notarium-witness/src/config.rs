//! The witness configuration (TOML), validated once at start. Every problem
//! is reported with the file and the setting it concerns; `main` exits with
//! code 2 on any of them.
//!
//! `/metrics` is served on `admin_listen` when it is set, else on the main
//! listener only behind `metrics_token` (a bearer token), else not at all.
//!
//! `tls_cert_file` and `tls_key_file` (PEM) make both listeners speak only
//! TLS; the pair is re-read on SIGHUP (`notarium_http::tls`).
//!
//! Relative paths in the file are resolved from the file's folder. Two
//! environment variables override the file: `NOTARIUM_WITNESS_LISTEN` and
//! `NOTARIUM_WITNESS_STATE` (a relative state path there is taken from the
//! current directory).

use crate::witness::{Identity, LogKeys, TrustedKey};
use notarium_core::checkpoint::Checkpoint;
use notarium_core::identity::seconds_text;
use notarium_core::identity::{CertInfo, Role, TrustRoots, certs_from_pem_file};
use notarium_core::note::check_key_name;
use notarium_core::time::UtcMillis;
use notarium_log::SigningKey;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const ENV_LISTEN: &str = "NOTARIUM_WITNESS_LISTEN";
pub const ENV_STATE: &str = "NOTARIUM_WITNESS_STATE";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7380";
pub const DEFAULT_MAX_EVIDENCE_PER_LOG: u32 = 1000;
/// Upper bound of `max_evidence_per_log` (each kept request is at most
/// [`crate::protocol::MAX_BODY_BYTES`]).
pub const MAX_MAX_EVIDENCE_PER_LOG: u32 = 100_000;

/// A configuration problem, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("configuration {file}: {problem}")]
pub struct ConfigError {
    pub file: String,
    pub problem: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `host:port`; port 0 picks a free port (printed on standard output).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// URL prefix of the witness endpoints: empty or `/something`.
    #[serde(default)]
    pub prefix: String,
    /// The SQLite state file.
    pub state: PathBuf,
    #[serde(default)]
    pub log_format: LogFormat,
    #[serde(default = "default_max_evidence")]
    pub max_evidence_per_log: u32,
    /// A second listener for operators, serving `/metrics` and `/healthz`;
    /// set, `/metrics` is served there only.
    #[serde(default)]
    pub admin_listen: Option<String>,
    /// A bearer token `/metrics` requires (at least 16 characters). Without
    /// `admin_listen`, `/metrics` is served on the main listener only if
    /// this is set; with neither, `/metrics` is not served.
    #[serde(default)]
    pub metrics_token: Option<String>,
    /// The HTTPS certificate (then its intermediates), PEM. Set with
    /// `tls_key_file`, the listeners speak only TLS.
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of `tls_cert_file`, PEM. Never logged.
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    pub witness: WitnessSection,
    #[serde(rename = "log", default)]
    pub logs: Vec<LogSection>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSection {
    /// Optional: if given it must equal the certificate's subject CN.
    pub name: Option<String>,
    /// PEM: the witness certificate first, then any intermediate CA.
    pub certificate: PathBuf,
    /// PEM PKCS#8 ECDSA P-256 private key.
    pub key: PathBuf,
    /// Optional PEM trust root(s): the witness and notary certificates must
    /// chain to one of them.
    #[serde(default)]
    pub trust_roots: Vec<PathBuf>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub origin: String,
    /// PEM files, each with a notary certificate (OU notary, CN = origin)
    /// first, then any intermediate CA; each either a path or, during a key
    /// rotation, `{ file = "...", until = "YYYY-MM-DDTHH:MM:SSZ" }`.
    pub notary_certificates: Vec<NotaryCertificate>,
}

/// A trusted notary certificate: `"notary.pem"`, or
/// `{ file = "notary.pem", until = "2027-01-15T00:00:00Z" }` when the key is
/// being rotated out: the witness refuses its signatures from `until` on (the
/// end of the overlap), whatever the certificate's own validity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotaryCertificate {
    pub file: PathBuf,
    /// As written (a TOML string or date-time), checked by [`Settings`].
    pub until: Option<String>,
}

impl<'de> Deserialize<'de> for NotaryCertificate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NotaryCertificate;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a PEM file path, or a table { file = \"notary.pem\", until = \"2027-01-15T00:00:00Z\" }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NotaryCertificate, E> {
                Ok(NotaryCertificate {
                    file: v.into(),
                    until: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<NotaryCertificate, A::Error> {
                let (mut file, mut until) = (None, None);
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "file" => file = Some(m.next_value::<PathBuf>()?),
                        "until" => {
                            until = Some(match m.next_value::<toml::Value>()? {
                                toml::Value::String(s) => s,
                                toml::Value::Datetime(t) => t.to_string(),
                                other => {
                                    return Err(de::Error::custom(format!(
                                        "until: {other} is not a UTC time like \"2027-01-15T00:00:00Z\""
                                    )));
                                }
                            })
                        }
                        other => return Err(de::Error::unknown_field(other, &["file", "until"])),
                    }
                }
                Ok(NotaryCertificate {
                    file: file.ok_or_else(|| de::Error::missing_field("file"))?,
                    until,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (or with milliseconds) to Unix seconds.
fn parse_utc(text: &str) -> Option<i64> {
    let t = match text.len() {
        20 if text.ends_with('Z') => format!("{}.000Z", &text[..19]),
        _ => text.to_string(),
    };
    UtcMillis::parse(&t).ok().map(|t| t.unix_seconds())
}

fn default_listen() -> String {
    DEFAULT_LISTEN.to_string()
}

fn default_max_evidence() -> u32 {
    DEFAULT_MAX_EVIDENCE_PER_LOG
}

/// The validated configuration of a serving witness.
#[derive(Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub prefix: String,
    pub state: PathBuf,
    pub log_format: LogFormat,
    pub max_evidence_per_log: u32,
    pub admin_listen: Option<SocketAddr>,
    pub metrics_token: Option<String>,
    /// Set: the listeners speak only TLS with this certificate and key.
    pub tls: Option<std::sync::Arc<notarium_http::tls::CertReloader>>,
    pub identity: Identity,
    pub logs: Vec<LogKeys>,
}

impl ConfigFile {
    /// Reads and parses the file, resolves relative paths, applies the
    /// environment overrides. Checks nothing else.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let err = |problem: String| ConfigError {
            file: path.display().to_string(),
            problem,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| err(format!("cannot be read: {e}")))?;
        let mut file: ConfigFile = toml::from_str(&text).map_err(|e| {
            err(format!(
                "is not a valid witness configuration: {}",
                e.to_string().trim_end()
            ))
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut file.state);
        resolve(&mut file.witness.certificate);
        resolve(&mut file.witness.key);
        if let Some(p) = &mut file.tls_cert_file {
            resolve(p);
        }
        if let Some(p) = &mut file.tls_key_file {
            resolve(p);
        }
        file.witness.trust_roots.iter_mut().for_each(resolve);
        for log in &mut file.logs {
            log.notary_certificates
                .iter_mut()
                .for_each(|n| resolve(&mut n.file));
        }
        if let Ok(v) = std::env::var(ENV_LISTEN) {
            file.listen = v;
        }
        if let Ok(v) = std::env::var(ENV_STATE) {
            file.state = PathBuf::from(v);
        }
        Ok(file)
    }
}

/// Reads a PEM file of certificates: `(first, rest)`.
fn read_certs(setting: &str, path: &Path) -> Result<(CertInfo, Vec<CertInfo>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{setting}: {} cannot be read: {e}", path.display()))?;
    let mut certs =
        certs_from_pem_file(&text).map_err(|e| format!("{setting}: {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{setting}: {} holds no CERTIFICATE PEM block",
            path.display()
        ));
    }
    let first = certs.remove(0);
    Ok((first, certs))
}

/// The profile of a signer certificate (contract §1), without the chain.
fn check_signer(setting: &str, path: &Path, c: &CertInfo) -> Result<(), String> {
    let at = || format!("{setting}: {} (\"{}\")", path.display(), c.subject);
    if c.is_ca {
        return Err(format!("{}: is a CA certificate, not a signer's", at()));
    }
    if !c.digital_signature {
        return Err(format!("{}: has no digitalSignature key usage", at()));
    }
    Ok(())
}

impl Settings {
    /// Validates everything a serving witness needs, at Unix time `now`.
    pub fn from_file(config_path: &Path, file: ConfigFile, now: i64) -> Result<Self, ConfigError> {
        Self::validate(file, now).map_err(|problem| ConfigError {
            file: config_path.display().to_string(),
            problem,
        })
    }

    fn validate(file: ConfigFile, now: i64) -> Result<Self, String> {
        let listen: SocketAddr = file.listen.parse().map_err(|_| {
            format!(
                "listen: \"{}\" is not an address and port like \"{DEFAULT_LISTEN}\"",
                file.listen
            )
        })?;
        let prefix = file.prefix;
        if !prefix.is_empty()
            && (!prefix.starts_with('/')
                || prefix.ends_with('/')
                || prefix
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "?#%".contains(c)))
        {
            return Err(format!(
                "prefix: \"{prefix}\" must be empty or a path like \"/witness\" (starting with '/', not ending with '/')"
            ));
        }
        let admin_listen = file
            .admin_listen
            .as_deref()
            .map(|a| {
                a.parse::<SocketAddr>().map_err(|_| {
                    format!(
                        "admin_listen: \"{a}\" is not an address and port like \"127.0.0.1:9380\""
                    )
                })
            })
            .transpose()?;
        if file
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.trim().len() < 16 || t.trim() != t)
        {
            return Err(
                "metrics_token: must be at least 16 characters, without spaces around".into(),
            );
        }
        let tls = match (&file.tls_cert_file, &file.tls_key_file) {
            (None, None) => None,
            (Some(c), Some(k)) => {
                Some(notarium_http::tls::CertReloader::load(c, k).map_err(|e| e.to_string())?)
            }
            _ => {
                return Err(
                    "tls_cert_file and tls_key_file go together: set both, or neither".into(),
                );
            }
        };
        if file.max_evidence_per_log > MAX_MAX_EVIDENCE_PER_LOG {
            return Err(format!(
                "max_evidence_per_log: {} is more than {MAX_MAX_EVIDENCE_PER_LOG}",
                file.max_evidence_per_log
            ));
        }

        // The witness's own certificate, key and trust.
        let w = &file.witness;
        let (cert, intermediates) = read_certs("witness.certificate", &w.certificate)?;
        check_signer("witness.certificate", &w.certificate, &cert)?;
        let at = || {
            format!(
                "witness.certificate: {} (\"{}\")",
                w.certificate.display(),
                cert.subject
            )
        };
        let role = Role::of(&cert).filter(|r| r.is_witness()).ok_or_else(|| {
            format!(
                "{}: subject OU is {}; a witness certificate needs OU \"court\" or \"arbitration\"",
                at(),
                cert.organizational_unit
                    .as_deref()
                    .map_or("missing".to_string(), |ou| format!("\"{ou}\""))
            )
        })?;
        let name = cert
            .common_name
            .clone()
            .ok_or_else(|| format!("{}: has no subject CN (the witness name)", at()))?;
        check_key_name(&name).map_err(|e| format!("{}: CN cannot be a witness name: {e}", at()))?;
        if let Some(n) = &w.name
            && *n != name
        {
            return Err(format!(
                "witness.name: \"{n}\" is not the certificate's CN \"{name}\" (the witness name comes from its certificate)"
            ));
        }
        if !cert.valid_at(now) {
            return Err(format!(
                "{}: is valid from {} to {}, not now ({}); its cosignatures would not be accepted",
                at(),
                seconds_text(cert.not_before),
                seconds_text(cert.not_after),
                seconds_text(now)
            ));
        }
        let key_text = std::fs::read_to_string(&w.key)
            .map_err(|e| format!("witness.key: {} cannot be read: {e}", w.key.display()))?;
        let key = SigningKey::from_pkcs8_pem(&key_text)
            .map_err(|e| format!("witness.key: {}: {e}", w.key.display()))?;
        if key.public() != &cert.key {
            return Err(format!(
                "witness.key: {} is not the private key of the certificate {} (the public keys differ)",
                w.key.display(),
                w.certificate.display()
            ));
        }
        let roots = if w.trust_roots.is_empty() {
            None
        } else {
            let mut all = Vec::new();
            for p in &w.trust_roots {
                let (first, rest) = read_certs("witness.trust_roots", p)?;
                all.push(first);
                all.extend(rest);
            }
            Some(TrustRoots::new(all).map_err(|e| format!("witness.trust_roots: {e}"))?)
        };
        if let Some(roots) = &roots {
            notarium_core::identity::Chain::build(roots, &cert, &intermediates, now)
                .map_err(|e| format!("witness.certificate: {e}"))?;
        }

        // The logs.
        if file.logs.is_empty() {
            return Err(
                "no [[log]] section: a witness needs at least one log (origin and notary certificate)"
                    .into(),
            );
        }
        let mut logs: Vec<LogKeys> = Vec::new();
        for (i, log) in file.logs.iter().enumerate() {
            let setting = format!("log #{} (origin \"{}\")", i + 1, log.origin);
            Checkpoint::new(&log.origin, 0, [0; 32])
                .map_err(|e| format!("{setting}: not a valid origin: {e}"))?;
            if logs.iter().any(|l| l.origin == log.origin) {
                return Err(format!("{setting}: this origin is configured twice"));
            }
            if log.notary_certificates.is_empty() {
                return Err(format!("{setting}: notary_certificates is empty"));
            }
            let mut keys: Vec<TrustedKey> = Vec::new();
            for (j, nc) in log.notary_certificates.iter().enumerate() {
                let p = &nc.file;
                let what = format!("{setting} notary_certificates[{j}]");
                let (c, inter) = read_certs(&what, p)?;
                check_signer(&what, p, &c)?;
                let at = format!("{what}: {} (\"{}\")", p.display(), c.subject);
                if Role::of(&c) != Some(Role::Notary) {
                    return Err(format!(
                        "{at}: subject OU is {}, not \"notary\"",
                        c.organizational_unit
                            .as_deref()
                            .map_or("missing".to_string(), |ou| format!("\"{ou}\""))
                    ));
                }
                if c.common_name.as_deref() != Some(log.origin.as_str()) {
                    return Err(format!(
                        "{at}: subject CN {:?} is not the origin \"{}\" (a notary certificate's CN is its log origin)",
                        c.common_name.as_deref().unwrap_or(""),
                        log.origin
                    ));
                }
                if let Some(roots) = &roots {
                    // Checked within the certificate's own validity: an
                    // expired notary key still verifies the checkpoints it
                    // signed while valid (see below for "valid now").
                    notarium_core::identity::Chain::build(
                        roots,
                        &c,
                        &inter,
                        now.min(c.not_after - 1).max(c.not_before),
                    )
                    .map_err(|e| format!("{what}: {}: {e}", p.display()))?;
                }
                let until = match &nc.until {
                    None => None,
                    Some(text) => {
                        let u = parse_utc(text).ok_or_else(|| {
                            format!(
                                "{what}: until \"{text}\" is not a UTC time like \"2027-01-15T00:00:00Z\""
                            )
                        })?;
                        if u <= c.not_before {
                            return Err(format!(
                                "{at}: until {} is not after the certificate's notBefore {}, so it would never be trusted",
                                seconds_text(u),
                                seconds_text(c.not_before)
                            ));
                        }
                        Some(u)
                    }
                };
                if keys.iter().any(|k| {
                    k.key == c.key && k.not_before == c.not_before && k.not_after == c.not_after
                }) {
                    return Err(format!("{at}: this certificate is listed twice"));
                }
                keys.push(TrustedKey {
                    until,
                    ..TrustedKey::from_cert(&c)
                });
            }
            if !keys.iter().any(|k| k.valid_at(now)) {
                return Err(format!(
                    "{setting}: no notary certificate is trusted now ({}): {}",
                    seconds_text(now),
                    keys.iter()
                        .map(|k| format!(
                            "\"{}\" valid from {} to {}{}",
                            k.subject,
                            seconds_text(k.not_before),
                            seconds_text(k.not_after),
                            k.until
                                .map(|u| format!(", trusted until {}", seconds_text(u)))
                                .unwrap_or_default()
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
            logs.push(LogKeys {
                origin: log.origin.clone(),
                keys,
            });
        }
        Ok(Settings {
            listen,
            prefix,
            state: file.state,
            log_format: file.log_format,
            max_evidence_per_log: file.max_evidence_per_log,
            admin_listen,
            metrics_token: file.metrics_token,
            tls,
            identity: Identity {
                name,
                role,
                key,
                certificate: cert,
            },
            logs,
        })
    }
}
