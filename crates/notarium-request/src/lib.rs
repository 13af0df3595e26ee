//! The notary's request bodies and query strings, parsed and validated.
//!
//! Every function here is pure (no store, no runtime, no HTTP): the
//! handlers call it before anything else, and a refusal is a [`Rejected`],
//! which the notary answers as 400 with the JSON code of its [`Invalid`]
//! kind (src/api/error.rs). The fuzz target `notary_request` calls exactly
//! these functions (docs/fuzzing.md), which is why they live in a crate of
//! their own, small enough to build with coverage instrumentation.

use base64::Engine;
use notarium_core::encoding::parse_hex32_any_case;
use notarium_core::entry::{MAX_METADATA_BYTES, Metadata};
use notarium_core::merkle::Hash;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::borrow::Cow;

/// Largest batch.
pub const MAX_BATCH: usize = 1000;

/// The validation failures the API reports, one per JSON code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not JSON at all.
    Json,
    /// JSON of the wrong shape: unknown or missing fields, wrong types.
    Request,
    Sha256,
    /// Metadata that is not a JSON object.
    Metadata,
    MetadataTooLarge,
    EmptyBatch,
    BatchTooLarge,
    /// A PDF without a readable `certificate.json` attachment.
    Pdf,
    /// A query string that does not parse.
    Query,
    /// A path segment that does not parse.
    Path,
    /// The body could not be read.
    Body,
    /// An `Idempotency-Key` header that is not 1 to 255 visible ASCII
    /// characters (bare, or as a structured-field string).
    IdempotencyKey,
}

/// A malformed request: its kind and what is wrong, for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub kind: Invalid,
    pub message: String,
}

impl Rejected {
    pub fn new(kind: Invalid, message: impl Into<String>) -> Self {
        Rejected {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejected {}

/// A digest and its normalised metadata: one validated submission.
pub type Item = ([u8; 32], Option<Metadata>);

/// One submission as the API takes it: `{"sha256": ..., "metadata": ...}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission<'a> {
    /// Borrowed from the request body unless it has escapes.
    #[serde(borrow)]
    sha256: Cow<'a, str>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest<'a> {
    #[serde(borrow)]
    items: Vec<Submission<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// Each field is optional, but present means a string: `null` is refused
/// (as openapi.json says), not read as absent.
struct VerifyRequest {
    /// The certificate JSON text, exactly as in the file.
    #[serde(default, deserialize_with = "present")]
    certificate: Option<String>,
    /// Or the certificate PDF, base64.
    #[serde(default, deserialize_with = "present")]
    certificate_pdf: Option<String>,
    /// Hex SHA-256 of the evidence file, computed by the caller.
    #[serde(default, deserialize_with = "present")]
    sha256: Option<String>,
}

/// A field that, when present, holds a `T` (never `null`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `GET /v1/evidence?sha256=`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    pub sha256: String,
}

/// `GET /v1/proof/inclusion?index=&size=`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    pub index: u64,
    pub size: u64,
}

/// `GET /v1/proof/consistency?old=&new=`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub old: u64,
    pub new: u64,
}

/// Parses a JSON request body: `Invalid::Json` if it is not JSON at all,
/// `Invalid::Request` if it is JSON of the wrong shape.
pub fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Rejected> {
    serde_json::from_slice(body).map_err(|e| {
        let kind = if e.is_syntax() || e.is_eof() {
            Invalid::Json
        } else {
            Invalid::Request
        };
        Rejected::new(kind, e.to_string())
    })
}

/// A query string, as the handlers' extractor (actix-web's `Query`, which
/// is serde_urlencoded) parses it into one of the query types above.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Rejected> {
    serde_urlencoded::from_str(query).map_err(|e| Rejected::new(Invalid::Query, e.to_string()))
}

/// A hex SHA-256 digest, in either case.
pub fn parse_sha256(text: &str) -> Result<[u8; 32], Rejected> {
    parse_hex32_any_case("sha256", text).map_err(|e| Rejected::new(Invalid::Sha256, e.to_string()))
}

/// Validates one item; `at` names it in batch errors.
fn validate(item: Submission, at: Option<usize>) -> Result<Item, Rejected> {
    let place = || at.map(|i| format!("items[{i}]: ")).unwrap_or_default();
    let digest = parse_hex32_any_case("sha256", &item.sha256)
        .map_err(|e| Rejected::new(Invalid::Sha256, format!("{}{e}", place())))?;
    let metadata = match item.metadata {
        None | Some(serde_json::Value::Null) => None,
        Some(v @ serde_json::Value::Object(_)) => Some(Metadata::normalise(&v).map_err(|_| {
            Rejected::new(
                Invalid::MetadataTooLarge,
                format!(
                    "{}metadata is larger than {MAX_METADATA_BYTES} bytes",
                    place()
                ),
            )
        })?),
        Some(_) => {
            return Err(Rejected::new(
                Invalid::Metadata,
                format!("{}metadata must be a JSON object", place()),
            ));
        }
    };
    Ok((digest, metadata))
}

/// The body of `POST /v1/evidence`, parsed and validated: what the handler
/// stores.
pub fn parse_submission(body: &[u8]) -> Result<Item, Rejected> {
    validate(parse_json::<Submission>(body)?, None)
}

/// The body of `POST /v1/evidence:batch`, parsed and validated (every item,
/// or the first error).
pub fn parse_batch(body: &[u8]) -> Result<Vec<Item>, Rejected> {
    let batch: BatchRequest = parse_json(body)?;
    if batch.items.is_empty() {
        return Err(Rejected::new(
            Invalid::EmptyBatch,
            "items must not be empty",
        ));
    }
    if batch.items.len() > MAX_BATCH {
        return Err(Rejected::new(
            Invalid::BatchTooLarge,
            format!("{} items; at most {MAX_BATCH} per batch", batch.items.len()),
        ));
    }
    batch
        .items
        .into_iter()
        .enumerate()
        .map(|(i, it)| validate(it, Some(i)))
        .collect()
}

/// The body of `POST /v1/verify`, parsed: the certificate JSON (given as
/// text, or extracted from the base64 PDF) and the evidence digest, if
/// given.
pub fn parse_verify_request(body: &[u8]) -> Result<(Vec<u8>, Option<Hash>), Rejected> {
    let req: VerifyRequest = parse_json(body)?;
    let json = match (req.certificate, req.certificate_pdf) {
        (Some(c), None) => c.into_bytes(),
        (None, Some(pdf)) => {
            let pdf = base64::engine::general_purpose::STANDARD
                .decode(pdf.as_bytes())
                .map_err(|e| {
                    Rejected::new(
                        Invalid::Request,
                        format!("certificate_pdf is not base64: {e}"),
                    )
                })?;
            notarium_pdf::extract_certificate_json(&pdf)
                .map_err(|e| Rejected::new(Invalid::Pdf, e.to_string()))?
        }
        _ => {
            return Err(Rejected::new(
                Invalid::Request,
                "give exactly one of certificate (JSON text) and certificate_pdf (base64)",
            ));
        }
    };
    let digest = req.sha256.as_deref().map(parse_sha256).transpose()?;
    Ok((json, digest))
}

/// The longest `Idempotency-Key` (characters of the key itself).
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The key an `Idempotency-Key` header value names: an RFC 8941
/// structured-field string (`"..."`, as the IETF httpapi draft writes it:
/// printable ASCII, `\"` and `\\` escaped; the quotes are not part of the
/// key), or, as many clients send it, the bare key (visible ASCII, no
/// space, not starting with a quote). Either way 1 to
/// [`MAX_IDEMPOTENCY_KEY`] characters.
pub fn parse_idempotency_key(value: &[u8]) -> Result<String, Rejected> {
    idempotency_key(value).ok_or_else(|| {
        Rejected::new(
            Invalid::IdempotencyKey,
            format!(
                "Idempotency-Key must be a string of 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII \
                 characters (\"...\"), or a bare key of visible ASCII characters"
            ),
        )
    })
}

fn idempotency_key(value: &[u8]) -> Option<String> {
    let key = match value.strip_prefix(b"\"") {
        Some(rest) => {
            let mut key = Vec::with_capacity(rest.len());
            let mut chars = rest.iter();
            loop {
                match *chars.next()? {
                    b'"' => break,
                    b'\\' => match *chars.next()? {
                        c @ (b'"' | b'\\') => key.push(c),
                        _ => return None,
                    },
                    c @ 0x20..=0x7e => key.push(c),
                    _ => return None,
                }
            }
            if chars.next().is_some() {
                return None;
            }
            key
        }
        None if value.iter().all(u8::is_ascii_graphic) => value.to_vec(),
        None => return None,
    };
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
        return None;
    }
    String::from_utf8(key).ok()
}

/// Whether `id` has the form of an evidence id (32 lowercase hex
/// characters); any other is answered as not found.
pub fn is_evidence_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
