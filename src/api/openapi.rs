//! `GET /v1/openapi.json`: every route, described exactly: each constraint
//! the handlers enforce (patterns, lengths, bounds, alternatives) and each
//! status each handler can answer, with the JSON error body.
//!
//! Written by hand, held to the router by tests: `tests::*` below (every
//! route of [`super::ROUTES`] with the same methods, every error code) and
//! tests/api_contract.rs (each undeclared method answers 405 with `Allow`),
//! and exercised by schemathesis against a live notary (scripts/schemathesis).
//!
//! Layout: reusable pieces first (schemas, parameters, responses), then one
//! function per operation, then [`document`] assembling the paths. To add a
//! header to the submission endpoints, add it to [`submission_headers`].

use super::error::CODES;
use crate::service::MAX_BATCH;
use actix_web::HttpResponse;
use notarium_core::entry::MAX_METADATA_BYTES;
use serde_json::{Map, Value, json};

/// The API key's security requirement.
fn api_key() -> Value {
    json!([{"apiKey": []}])
}

/// An error answer: the JSON error body.
fn error(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// An error answer that always carries `Retry-After` (429 and 503).
fn retry_error(desc: &str) -> Value {
    let mut r = error(desc);
    r["headers"] = json!({"Retry-After": {"$ref": "#/components/headers/RetryAfter"}});
    r
}

/// A success answer with a JSON body of `schema`.
fn ok_json(desc: &str, schema: Value) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": schema}}})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// What every route may answer besides its own statuses: 405 for a method
/// the path does not answer (with `Allow`), 500 for our own bug.
fn always(responses: &mut Map<String, Value>) {
    let mut r405 = error(
        "Method not allowed (code method_not_allowed): the path answers only the methods described here, listed in Allow",
    );
    r405["headers"] = json!({"Allow": {"required": true, "description": "The methods this path answers, e.g. `GET, POST`", "schema": {"type": "string"}}});
    responses.entry("405").or_insert(r405);
    responses.entry("500").or_insert(error(
        "A bug on our side (code internal); the operator has been told",
    ));
}

/// The answers of a route that takes an API key, before its own work: no
/// or unknown key, too many unknown keys from this address, the store.
fn authenticated(responses: &mut Map<String, Value>) {
    responses
        .entry("401")
        .or_insert(error("Missing or unknown API key (code unauthorized)"));
    responses.entry("429").or_insert(retry_error(
        "Too many unknown API keys from this address (code rate_limited); see Retry-After",
    ));
    responses.entry("503").or_insert(retry_error(
        "The store cannot be reached (code store_unreachable); see Retry-After",
    ));
}

/// `responses` (a JSON object of status → response), completed with what
/// every route answers.
fn responses(own: Value) -> Value {
    let mut m = match own {
        Value::Object(m) => m,
        _ => unreachable!("responses are a JSON object"),
    };
    always(&mut m);
    Value::Object(m)
}

/// The same, for a route that takes an API key.
fn authenticated_responses(own: Value) -> Value {
    let mut m = match own {
        Value::Object(m) => m,
        _ => unreachable!("responses are a JSON object"),
    };
    authenticated(&mut m);
    always(&mut m);
    Value::Object(m)
}

/// The header parameters of both submission endpoints (`POST /v1/evidence`
/// and `POST /v1/evidence:batch`); the API key is a security requirement.
fn submission_headers() -> Vec<Value> {
    vec![
        json!({"name": "Idempotency-Key", "in": "header", "required": false,
        "description": "Exactly-once submission (contract §9, IETF httpapi Idempotency-Key): the same key and body (bytes) within 24 hours gets the first answer again and stores nothing new; the same key with another body is 422. The key is a structured-field string (\"...\": 1 to 255 printable ASCII characters, \\\" and \\\\ escaped) or a bare key of 1 to 255 visible ASCII characters; keys are per submitter",
        "schema": {"type": "string", "pattern": r#"^([!#-~][!-~]{0,254}|"([ !#-\[\]-~]|\\["\\]){1,255}")$"#}}),
    ]
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": "The entry's id, as the 202 answer gave it",
           "schema": {"$ref": "#/components/schemas/EvidenceId"}})
}

/// A non-negative integer query parameter (a leaf index or a tree size).
fn count_param(name: &str, minimum: u64, desc: &str) -> Value {
    json!({"name": name, "in": "query", "required": true, "description": desc,
           "schema": {"type": "integer", "minimum": minimum, "maximum": u64::MAX}})
}

/// The links from a submission's answer to the entry's other resources
/// (`id` read from the answer at `id_at`).
fn entry_links(id_at: &str, sha256_at: Option<&str>) -> Value {
    let mut links = json!({
        "GetEvidence": {"operationId": "getEvidence", "parameters": {"id": id_at},
            "description": "The entry's status"},
        "GetCertificateJson": {"operationId": "getCertificateJson", "parameters": {"id": id_at},
            "description": "Its certificate once final (409 before)"},
        "GetCertificatePdf": {"operationId": "getCertificatePdf", "parameters": {"id": id_at},
            "description": "Its PDF certificate once final (409 before)"}
    });
    if let Some(at) = sha256_at {
        links["LookupEvidence"] = json!({"operationId": "lookupEvidence", "parameters": {"sha256": at},
            "description": "The caller's entries with this digest (this one among them)"});
    }
    links
}

/// Every schema of `components`.
fn schemas() -> Value {
    let mut all = Map::new();
    for part in [
        base_schemas(),
        answer_schemas(),
        request_schemas(),
        output_schemas(),
    ] {
        if let Value::Object(m) = part {
            all.extend(m);
        }
    }
    Value::Object(all)
}

/// The errors, the digest, the id, and what a submission carries.
fn base_schemas() -> Value {
    json!({
        "Error": {"type": "object", "required": ["error"], "additionalProperties": false, "properties": {
            "error": {"type": "object", "required": ["code", "message"], "additionalProperties": false, "properties": {
                "code": {"type": "string", "enum": CODES},
                "message": {"type": "string", "minLength": 1}}}}},
        "Sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$", "minLength": 64, "maxLength": 64,
            "description": "Hex SHA-256 (64 hex digits, either case)"},
        "EvidenceId": {"type": "string", "pattern": "^[0-9a-f]{32}$", "minLength": 32, "maxLength": 32,
            "description": "32 lowercase hex digits; any other text names no entry (404)"},
        "Metadata": {"type": "object", "nullable": true,
            "description": format!("Any JSON object, at most {MAX_METADATA_BYTES} bytes as compact JSON with sorted keys (else 400 metadata_too_large); stored and certified byte for byte. null or absent: none.")},
        "Submission": {"type": "object", "required": ["sha256"], "additionalProperties": false, "properties": {
            "sha256": {"allOf": [schema_ref("Sha256")], "description": "SHA-256 of the evidence file, computed by the client"},
            "metadata": schema_ref("Metadata")}},
        "Batch": {"type": "object", "required": ["items"], "additionalProperties": false, "properties": {
            "items": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": schema_ref("Submission")}}},
    })
}

fn answer_schemas() -> Value {
    json!({
        "Accepted": {"type": "object", "required": ["id", "status", "received_at", "receipt", "entry", "salt"], "properties": {
            "id": schema_ref("EvidenceId"),
            "status": {"type": "string", "enum": ["pending"]},
            "received_at": {"type": "string", "example": "2026-11-29T05:41:56.123Z", "description": "The notary's clock, UTC"},
            "receipt": {"type": "string", "description": "notarium/receipt/v1 signed receipt (docs/receipts.md)"},
            "entry": {"type": "string", "description": "the exact log entry text"},
            "salt": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "hex of the 32-byte salt"}}},
        "AcceptedBatch": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": schema_ref("Accepted")}}},
        "Status": {"type": "object", "required": ["id", "status", "sha256", "metadata", "submitter", "received_at", "index"], "properties": {
            "id": schema_ref("EvidenceId"),
            "status": {"type": "string", "enum": ["pending", "final"]},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "metadata": schema_ref("Metadata"),
            "submitter": {"type": "string"},
            "received_at": {"type": "string"},
            "index": {"type": "integer", "minimum": 0, "nullable": true, "description": "Its leaf index, once sequenced"},
            "tree_size": {"type": "integer", "minimum": 1, "description": "Once final: the first final checkpoint covering it"},
            "certificate_json": {"type": "string", "description": "Once final: the certificate's path"},
            "certificate_pdf": {"type": "string", "description": "Once final: the PDF certificate's path"}}},
        "Lookup": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "maxItems": 100, "items": schema_ref("Status")}}},
        "Hashes": {"type": "array", "maxItems": 128, "items": {"type": "string", "format": "byte", "minLength": 44, "maxLength": 44},
            "description": "Base64 SHA-256 node hashes, RFC 9162 order"},
        "InclusionProof": {"type": "object", "required": ["index", "size", "hashes"], "properties": {
            "index": {"type": "integer", "minimum": 0}, "size": {"type": "integer", "minimum": 1}, "hashes": schema_ref("Hashes")}},
        "ConsistencyProof": {"type": "object", "required": ["old", "new", "hashes"], "properties": {
            "old": {"type": "integer", "minimum": 0}, "new": {"type": "integer", "minimum": 0}, "hashes": schema_ref("Hashes")}},
    })
}

fn request_schemas() -> Value {
    json!({
        "VerifyRequest": {"type": "object", "additionalProperties": false,
            "description": "Exactly one of certificate and certificate_pdf; sha256 optional",
            "properties": {
                "certificate": {"type": "string", "description": "The certificate JSON text, exactly as in the file"},
                "certificate_pdf": {"type": "string", "format": "byte",
                    "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
                    "description": "The PDF certificate, standard base64 with padding; a PDF without a readable certificate.json attachment answers 400 invalid_pdf"},
                "sha256": {"allOf": [schema_ref("Sha256")], "description": "SHA-256 of the evidence file, computed by the caller"}},
            "oneOf": [{"required": ["certificate"]}, {"required": ["certificate_pdf"]}]},
    })
}

/// The answers' schemas (the Report apart: one `json!` would be too deep).
fn output_schemas() -> Value {
    json!({
        "Report": {"type": "object", "required": ["kind", "valid", "verified", "witnessed", "checks", "witnesses", "groups"],
            "description": "The verification report (docs/format.md), the same as notarium-verify --json",
            "properties": {
                "kind": {"type": "string", "enum": ["certificate", "tlog-proof", "receipt"]},
                "valid": {"type": "boolean"}, "verified": {"type": "boolean"}, "witnessed": {"type": "boolean"},
                "checks": {"type": "array", "items": {"type": "object", "required": ["id", "status", "detail"], "properties": {
                    "id": {"type": "string", "enum": ["format", "file", "entry", "inclusion", "origin", "cosignature", "timestamp", "notary-signature", "policy", "certificates"]},
                    "status": {"type": "string", "enum": ["pass", "fail", "skipped", "ignored"]},
                    "detail": {"type": "string"}}}},
                "evidence_sha256": {"type": "string", "nullable": true},
                "submitter": {"type": "string", "nullable": true},
                "received_at": {"type": "string", "nullable": true},
                "log": {"type": "object", "nullable": true},
                "witnesses": {"type": "array", "items": {"type": "object", "required": ["role", "name", "time", "unix_time", "counted"], "properties": {
                    "role": {"type": "string", "enum": ["notary", "court", "arbitration"]}, "name": {"type": "string"},
                    "time": {"type": "string"}, "unix_time": {"type": "integer", "minimum": 0},
                    "counted": {"type": "boolean"}, "reason": {"type": "string", "nullable": true}}}},
                "timestamps": {"type": "array", "items": {"type": "object", "required": ["tsa", "time", "unix_time", "counted"], "properties": {
                    "tsa": {"type": "string"}, "time": {"type": "string"}, "unix_time": {"type": "integer", "minimum": 0},
                    "counted": {"type": "boolean"}, "reason": {"type": "string", "nullable": true}}}},
                "groups": {"type": "array", "items": {"type": "object"}},
                "witnessed_at": {"type": "string", "nullable": true},
                "witnessed_unix": {"type": "integer", "minimum": 0, "nullable": true}}}
    })
}

fn submit() -> Value {
    json!({"operationId": "submitEvidence", "summary": "Submit one evidence digest", "security": api_key(),
    "parameters": submission_headers(),
    "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("Submission")}}},
    "responses": authenticated_responses(json!({
        "202": {"description": "Stored durably; signed receipt (under an Idempotency-Key already used for this request: its first answer, nothing stored)",
            "content": {"application/json": {"schema": schema_ref("Accepted")}},
            "links": entry_links("$response.body#/id", Some("$request.body#/sha256"))},
        "400": error("Malformed request, nothing stored (codes invalid_json, invalid_request, invalid_sha256, invalid_metadata, metadata_too_large, invalid_body, invalid_idempotency_key)"),
        "413": error("Body larger than 16 KiB (code body_too_large)"),
        "422": error("This Idempotency-Key was used with another request in the last 24 hours (code idempotency_key_reused); nothing stored"),
        "429": retry_error("This key's submission rate is spent (limits.per_key_rate), or too many unknown keys from this address (code rate_limited); see Retry-After"),
        "503": retry_error("At capacity, shutting down, or the store cannot be reached (codes overloaded, shutting_down, store_unreachable); see Retry-After")
    }))})
}

fn submit_batch() -> Value {
    json!({"operationId": "submitEvidenceBatch", "summary": format!("Submit 1 to {MAX_BATCH} digests; one invalid item rejects the whole batch"), "security": api_key(),
    "parameters": submission_headers(),
    "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("Batch")}}},
    "responses": authenticated_responses(json!({
        "202": {"description": "All stored; one answer per item, in order (under an Idempotency-Key already used for this request: its first answer, nothing stored)",
            "content": {"application/json": {"schema": schema_ref("AcceptedBatch")}},
            "links": entry_links("$response.body#/items/0/id", Some("$request.body#/items/0/sha256"))},
        "400": error("Malformed request, nothing stored (codes invalid_json, invalid_request, invalid_sha256, invalid_metadata, metadata_too_large, empty_batch, batch_too_large, invalid_body, invalid_idempotency_key); the message names the item"),
        "413": error("Body larger than 6 KiB per allowed item (code body_too_large)"),
        "422": error("This Idempotency-Key was used with another request in the last 24 hours (code idempotency_key_reused); nothing stored"),
        "429": retry_error("This key's submission rate is spent (limits.per_key_rate), or too many unknown keys from this address (code rate_limited); see Retry-After"),
        "503": retry_error("At capacity, shutting down, or the store cannot be reached (codes overloaded, shutting_down, store_unreachable); see Retry-After")
    }))})
}

fn lookup() -> Value {
    json!({"operationId": "lookupEvidence", "summary": "The caller's entries with this digest (at most 100)", "security": api_key(),
    "parameters": [{"name": "sha256", "in": "query", "required": true, "description": "SHA-256 of the evidence file",
        "schema": schema_ref("Sha256")}],
    "responses": authenticated_responses(json!({
        "200": ok_json("Matching entries, possibly none", schema_ref("Lookup")),
        "400": error("Not a hex SHA-256 (invalid_sha256), or a missing or unknown query parameter (invalid_query)")
    }))})
}

fn get_evidence() -> Value {
    json!({"operationId": "getEvidence", "summary": "Status of an entry", "security": api_key(), "parameters": [id_param()],
    "responses": authenticated_responses(json!({
        "200": {"description": "Status", "content": {"application/json": {"schema": schema_ref("Status")}},
            "links": {"GetCertificateJson": {"operationId": "getCertificateJson", "parameters": {"id": "$response.body#/id"}}}},
        "404": error("No such entry of this tenant (another tenant's is not found either) (code not_found)")
    }))})
}

fn certificate(operation_id: &str, summary: &str, ok: Value) -> Value {
    json!({"operationId": operation_id, "summary": summary, "security": api_key(), "parameters": [id_param()],
    "responses": authenticated_responses(json!({
        "200": ok,
        "404": error("No such entry of this tenant (code not_found)"),
        "409": error("Not final yet: no witnessed checkpoint covers it (code not_final)")
    }))})
}

fn checkpoint() -> Value {
    json!({"operationId": "getCheckpoint", "summary": "Latest final checkpoint (signed note with cosignatures)",
    "responses": responses(json!({
        "200": {"description": "Signed note", "content": {"text/plain": {"schema": {"type": "string"}}}},
        "404": error("None final yet (code not_found)"),
        "503": retry_error("The store cannot be reached (code store_unreachable); see Retry-After")
    }))})
}

/// `GET /checkpoint`: the tlog-tiles checkpoint.
fn tlog_checkpoint() -> Value {
    json!({"operationId": "getTlogCheckpoint", "summary": "C2SP tlog-tiles checkpoint: the latest final checkpoint with its cosignatures, the same note as /v1/checkpoint; Cache-Control: no-cache",
    "responses": responses(json!({
        "200": {"description": "Signed note", "headers": {"Cache-Control": cache_header("no-cache")},
            "content": {"text/plain": {"schema": {"type": "string"}}}},
        "404": error("None final yet (code not_found)"),
        "503": retry_error("The store cannot be reached (code store_unreachable); see Retry-After")
    }))})
}

/// The `Cache-Control` header of a tile answer.
fn cache_header(desc: &str) -> Value {
    json!({"description": desc, "schema": {"type": "string"}})
}

/// `GET /tile/...`: a hash tile or an entry bundle (docs/tiles.md).
fn tile(operation_id: &str, summary: &str, param: &str, example: &str) -> Value {
    json!({"operationId": operation_id, "summary": summary,
    "parameters": [{"name": param, "in": "path", "required": true,
        "description": format!("The rest of the C2SP tlog-tiles path, slashes included (e.g. {example}): the index N in 3-digit groups, all but the last prefixed with x (1234067 is x001/x234/067), then .p/<W> (W from 1 to 255, no leading zeros) for a partial tile"),
        "schema": {"type": "string"}}],
    "responses": responses(json!({
        "200": {"description": "The tile's bytes (an entry bundle gzip-compressed, Content-Encoding: gzip, when Accept-Encoding takes gzip)",
            "headers": {"Cache-Control": cache_header("public, max-age=31536000, immutable for a full tile; public, max-age=60 for a partial one")},
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        "400": error("Not a tile path in the spec's one spelling (code invalid_path)"),
        "404": error("The tree of the latest final checkpoint does not have this tile: beyond it, a full tile not yet complete, a partial width it has not reached, or no final checkpoint yet (code not_found)"),
        "503": retry_error("The store cannot be reached (code store_unreachable); see Retry-After")
    }))})
}

fn proof(operation_id: &str, summary: &str, params: Value, schema: &str, range: &str) -> Value {
    json!({"operationId": operation_id, "summary": summary, "parameters": params,
    "responses": responses(json!({
        "200": ok_json("Proof", schema_ref(schema)),
        "400": error(&format!("Out of range: {range} (code out_of_range); or a parameter missing, unknown or not a non-negative integer (invalid_query)")),
        "503": retry_error("The store cannot be reached (code store_unreachable); see Retry-After")
    }))})
}

fn verify() -> Value {
    json!({"operationId": "verifyCertificate", "summary": "Verify a certificate (the same checks as notarium-verify); the evidence file stays with the caller, only its digest is sent",
    "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("VerifyRequest")}}},
    "responses": responses(json!({
        "200": ok_json("Report, valid or not", schema_ref("Report")),
        "400": error("Malformed request (invalid_json, invalid_request: not exactly one of certificate and certificate_pdf, or bad base64; invalid_sha256; invalid_pdf: no readable certificate.json attachment; invalid_body)"),
        "413": error("Body larger than 4 MiB (code body_too_large)"),
        "415": error("The body is not application/json (code unsupported_media_type)"),
        "429": retry_error("This client address's verification rate is spent (limits.verify_rate) (code rate_limited); see Retry-After"),
        "503": retry_error("At capacity (code overloaded); see Retry-After")
    }))})
}

fn plain(operation_id: &str, summary: &str, ok: Value) -> Value {
    json!({"operationId": operation_id, "summary": summary, "responses": responses(json!({"200": ok}))})
}

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Notarium notary API",
            "version": "1",
            "description": "Submit evidence digests, follow them to a witnessed checkpoint, fetch deposit certificates, and verify them. Formats: docs/format.md. Every error is JSON: {\"error\": {\"code\", \"message\"}}."
        },
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "The tenant's API key: Authorization: Bearer <key>"},
                "metricsToken": {"type": "http", "scheme": "bearer", "description": "server.metrics_token"}
            },
            "headers": {
                "RetryAfter": {"required": true, "description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}}
            },
            "schemas": schemas()
        },
        "paths": {
            "/v1/evidence": {"post": submit(), "get": lookup()},
            "/v1/evidence:batch": {"post": submit_batch()},
            "/v1/evidence/{id}": {"get": get_evidence()},
            "/v1/evidence/{id}/certificate.json": {"get": certificate("getCertificateJson",
                "The deposit certificate (JSON, contract §5), once final; byte-identical on every request",
                json!({"description": "Certificate JSON", "content": {"application/json": {"schema": {"type": "object"}}}}))},
            "/v1/evidence/{id}/certificate.pdf": {"get": certificate("getCertificatePdf",
                "The bilingual PDF certificate with certificate.json attached, once final",
                json!({"description": "PDF", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}))},
            "/v1/checkpoint": {"get": checkpoint()},
            "/v1/proof/inclusion": {"get": proof("getInclusionProof", "RFC 9162 inclusion proof of leaf index in the tree of size",
                json!([count_param("index", 0, "Leaf index, below size"), count_param("size", 1, "Tree size, at most the log's size")]),
                "InclusionProof", "need index < size <= the log's size")},
            "/v1/proof/consistency": {"get": proof("getConsistencyProof", "RFC 9162 consistency proof between the trees of sizes old and new",
                json!([count_param("old", 0, "The older tree size, at most new"), count_param("new", 0, "The newer tree size, at most the log's size")]),
                "ConsistencyProof", "need old <= new <= the log's size")},
            "/checkpoint": {"get": tlog_checkpoint()},
            "/tile/entries/{bundle}": {"get": tile("getEntryBundle",
                "C2SP tlog-tiles entry bundle: the entry texts of up to 256 consecutive leaves, exactly as leaf-hashed, each a big-endian uint16 length then the text",
                "bundle", "x001/234 or 001.p/17")},
            "/tile/{tile}": {"get": tile("getTile",
                "C2SP tlog-tiles hash tile: up to 256 SHA-256 node hashes at tree height 8*L",
                "tile", "0/x001/234 or 1/000.p/2")},
            "/v1/verify": {"post": verify()},
            "/v1/openapi.json": {"get": plain("getOpenApi", "This document",
                json!({"description": "OpenAPI 3.0", "content": {"application/json": {"schema": {"type": "object"}}}}))},
            "/verify": {"get": plain("getVerifyPage", "The judge's verification page (HTML, strict Content-Security-Policy)",
                json!({"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}))},
            "/healthz": {"get": plain("getHealth", "Liveness",
                json!({"description": "Up", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}}))},
            "/readyz": {"get": {"operationId": "getReadiness", "summary": "Readiness: store reachable, log sequenced", "responses": responses(json!({
                "200": ok_json("Ready", json!({"type": "object", "required": ["status", "sequencer"], "properties": {
                    "status": {"type": "string", "enum": ["ready"]}, "sequencer": {"type": "string", "enum": ["this process", "another process"]}}})),
                "503": retry_error("Not ready: the store cannot be reached (store_unreachable), or entries wait and no process sequences the log (no_sequencer); see Retry-After")}))}},
            "/metrics": {"get": {"operationId": "getMetrics", "summary": "Prometheus metrics, for operators: served here only when server.metrics_token is set and there is no admin listener (server.admin_listen)",
                "security": [{"metricsToken": []}], "responses": responses(json!({
                    "200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "401": error("Missing or wrong metrics token (code unauthorized)"),
                    "404": error("Not served on this listener (code not_found)")}))}}
        }
    })
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    /// The document describes exactly the router's routes, each with the
    /// same methods: a route added or removed on one side only fails here.
    #[test]
    fn every_route_is_described_with_its_methods() {
        let doc = document();
        let described: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .filter(|m| METHODS.contains(&m.as_str()))
                    .map(move |m| (path.clone(), m.to_uppercase()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> = super::super::ROUTES
            .iter()
            .flat_map(|e| {
                e.methods
                    .iter()
                    .map(move |(m, _)| (without_patterns(e.path), m.to_string()))
            })
            .collect();
        assert_eq!(described, routed);
    }

    /// A route's path as OpenAPI writes it: `{name:regex}` is `{name}`.
    fn without_patterns(path: &str) -> String {
        let (mut out, mut in_name, mut in_pattern) = (String::new(), false, false);
        for c in path.chars() {
            match c {
                '{' => in_name = true,
                ':' if in_name => in_pattern = true,
                '}' => (in_name, in_pattern) = (false, false),
                _ => {}
            }
            if !in_pattern {
                out.push(c);
            }
        }
        out
    }

    /// Each operation: an id, JSON errors for every 4xx/5xx, 405 with
    /// Allow, Retry-After on every 429 and 503; each route with an API key
    /// answers 401; each $ref resolves.
    #[test]
    fn every_operation_declares_its_errors() {
        let doc = document();
        let text = doc.to_string();
        let mut ids = BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let at = format!("{method} {path}");
                assert!(
                    ids.insert(op["operationId"].as_str().unwrap().to_string()),
                    "{at}"
                );
                let rs = op["responses"].as_object().unwrap();
                assert!(rs.contains_key("405") && rs.contains_key("500"), "{at}");
                assert!(rs["405"]["headers"]["Allow"]["required"] == true, "{at}");
                for (status, r) in rs {
                    let code: u16 = status.parse().unwrap();
                    if code >= 400 {
                        assert_eq!(
                            r["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/Error",
                            "{at} {status}"
                        );
                    }
                    if code == 429 || code == 503 {
                        assert!(r["headers"]["Retry-After"].is_object(), "{at} {status}");
                    }
                }
                if op["security"] == api_key() {
                    for s in ["401", "429", "503"] {
                        assert!(rs.contains_key(s), "{at} lacks {s}");
                    }
                }
            }
        }
        for r in text.split("\"$ref\":\"").skip(1) {
            let target = &r[..r.find('"').unwrap()];
            let mut v = &doc;
            for part in target.trim_start_matches("#/").split('/') {
                v = &v[part];
            }
            assert!(!v.is_null(), "{target} does not resolve");
        }
        for link in text.split("\"operationId\":\"").skip(1) {
            let id = &link[..link.find('"').unwrap()];
            assert!(ids.contains(id), "a link names {id}, no operation");
        }
    }

    /// The patterns say what the handlers accept.
    #[test]
    fn patterns_match_the_handlers() {
        let doc = document();
        let s = &doc["components"]["schemas"];
        let re = |p: &Value| regex_lite(p.as_str().unwrap());
        let sha = re(&s["Sha256"]["pattern"]);
        for t in [
            "aB".repeat(32),
            "0".repeat(64),
            "a".repeat(63),
            "a".repeat(65),
            "g".repeat(64),
            format!("{} ", "a".repeat(63)),
            String::new(),
        ] {
            let handler = notarium_core::encoding::parse_hex32_any_case("sha256", &t).is_ok();
            assert_eq!(sha(&t), handler, "{t:?}");
        }
        let id = re(&s["EvidenceId"]["pattern"]);
        assert!(id(&"0f".repeat(16)) && !id(&"0F".repeat(16)));
        assert_eq!(
            s["Batch"]["properties"]["items"]["maxItems"],
            MAX_BATCH as u64
        );
    }

    /// Enough of a regex for the two anchored character-class patterns.
    fn regex_lite(p: &str) -> impl Fn(&str) -> bool + use<> {
        let (class, n) = match p {
            "^[0-9a-fA-F]{64}$" => ("0123456789abcdefABCDEF", 64),
            "^[0-9a-f]{32}$" => ("0123456789abcdef", 32),
            other => panic!("unexpected pattern {other}"),
        };
        move |s: &str| s.len() == n && s.chars().all(|c| class.contains(c))
    }
}
