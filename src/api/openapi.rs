//! `GET /v1/openapi.json`: every route, described.

use super::error::CODES;
use actix_web::HttpResponse;
use serde_json::{Value, json};

fn error_response(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// What any route that reads the store may answer.
fn store_errors() -> Value {
    json!({
        "500": error_response("A bug on our side (code internal); the operator has been told"),
        "503": error_response("The store cannot be reached (code store_unreachable); see Retry-After")
    })
}

/// What the routes that take an API key may answer.
fn errors() -> Value {
    json!({
        "400": error_response("Malformed request (bad JSON, unknown field, bad digest, bad metadata, empty or too large batch)"),
        "401": error_response("Missing or unknown API key"),
        "404": error_response("Not found (or another tenant's)"),
        "413": error_response("Body too large"),
        "429": error_response("Rate limited; see Retry-After"),
        "500": error_response("A bug on our side (code internal); the operator has been told"),
        "503": error_response("Overloaded, shutting down, or the store cannot be reached (codes overloaded, shutting_down, store_unreachable); see Retry-After")
    })
}

fn merged(mut responses: Value, more: Value) -> Value {
    if let (Some(r), Value::Object(e)) = (responses.as_object_mut(), more) {
        for (k, v) in e {
            r.entry(k).or_insert(v);
        }
    }
    responses
}

fn with_errors(responses: Value) -> Value {
    merged(responses, errors())
}

fn with_store_errors(responses: Value) -> Value {
    merged(responses, store_errors())
}

pub fn document() -> Value {
    let bearer = json!([{"apiKey": []}]);
    let id_param = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}]);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Notarium notary API",
            "version": "1",
            "description": "Submit evidence digests, follow them to a witnessed checkpoint, fetch deposit certificates, and verify them. Formats: docs/format.md."
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}, "metricsToken": {"type": "http", "scheme": "bearer", "description": "server.metrics_token"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string", "enum": CODES}, "message": {"type": "string"}}}}},
                "Submission": {"type": "object", "required": ["sha256"], "additionalProperties": false, "properties": {
                    "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$", "description": "SHA-256 of the evidence file, computed by the client"},
                    "metadata": {"type": "object", "description": "At most 4 KiB as compact JSON with sorted keys; stored and certified byte for byte"}}},
                "Accepted": {"type": "object", "properties": {
                    "id": {"type": "string"}, "status": {"type": "string", "enum": ["pending"]},
                    "received_at": {"type": "string", "example": "2026-11-29T05:41:56.123Z"},
                    "receipt": {"type": "string", "description": "notarium/receipt/v1 signed receipt (docs/receipts.md)"},
                    "entry": {"type": "string", "description": "the exact log entry text"},
                    "salt": {"type": "string", "description": "hex of the 32-byte salt"}}},
                "Status": {"type": "object", "properties": {
                    "id": {"type": "string"}, "status": {"type": "string", "enum": ["pending", "final"]},
                    "sha256": {"type": "string"}, "metadata": {"type": "object", "nullable": true}, "submitter": {"type": "string"},
                    "received_at": {"type": "string"}, "index": {"type": "integer", "nullable": true},
                    "tree_size": {"type": "integer"}, "certificate_json": {"type": "string"}, "certificate_pdf": {"type": "string"}}},
                "Proof": {"type": "object", "properties": {"hashes": {"type": "array", "items": {"type": "string", "format": "byte"}}}},
                "Report": {"type": "object", "description": "Verification report: valid, checks (id, status pass|fail|skipped, detail), evidence_sha256, submitter, received_at, log, witnesses, earliest_witnessed"}
            }
        },
        "paths": {
            "/v1/evidence": {
                "post": {"summary": "Submit one evidence digest", "security": bearer,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Submission"}}}},
                    "responses": with_errors(json!({"202": {"description": "Stored durably; signed receipt", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}}}))},
                "get": {"summary": "The caller's entries with this digest", "security": bearer,
                    "parameters": [{"name": "sha256", "in": "query", "required": true, "schema": {"type": "string"}}],
                    "responses": with_errors(json!({"200": {"description": "Matching entries", "content": {"application/json": {"schema": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Status"}}}}}}}}))}
            },
            "/v1/evidence:batch": {
                "post": {"summary": "Submit up to 1000 digests; one invalid item rejects the whole batch", "security": bearer,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["items"], "additionalProperties": false, "properties": {"items": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"$ref": "#/components/schemas/Submission"}}}}}}},
                    "responses": with_errors(json!({"202": {"description": "All stored; one response per item, in order", "content": {"application/json": {"schema": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Accepted"}}}}}}}}))}
            },
            "/v1/evidence/{id}": {"get": {"summary": "Status of an entry", "security": bearer, "parameters": id_param,
                "responses": with_errors(json!({"200": {"description": "Status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}}))}},
            "/v1/evidence/{id}/certificate.json": {"get": {"summary": "The deposit certificate (JSON, contract §5), once final", "security": bearer, "parameters": id_param,
                "responses": with_errors(json!({"200": {"description": "Certificate JSON, byte-identical on every request"}, "409": error_response("Not final yet")}))}},
            "/v1/evidence/{id}/certificate.pdf": {"get": {"summary": "The bilingual PDF certificate with certificate.json attached", "security": bearer, "parameters": id_param,
                "responses": with_errors(json!({"200": {"description": "PDF", "content": {"application/pdf": {}}}, "409": error_response("Not final yet")}))}},
            "/v1/checkpoint": {"get": {"summary": "Latest final checkpoint (signed note with cosignatures)",
                "responses": with_store_errors(json!({"200": {"description": "text/plain signed note", "content": {"text/plain": {}}}, "404": error_response("None final yet")}))}},
            "/v1/proof/inclusion": {"get": {"summary": "RFC 9162 inclusion proof",
                "parameters": [{"name": "index", "in": "query", "required": true, "schema": {"type": "integer"}}, {"name": "size", "in": "query", "required": true, "schema": {"type": "integer"}}],
                "responses": with_store_errors(json!({"200": {"description": "Proof", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Proof"}}}}, "400": error_response("Out of range (out_of_range) or not integers (invalid_query)")}))}},
            "/v1/proof/consistency": {"get": {"summary": "RFC 9162 consistency proof",
                "parameters": [{"name": "old", "in": "query", "required": true, "schema": {"type": "integer"}}, {"name": "new", "in": "query", "required": true, "schema": {"type": "integer"}}],
                "responses": with_store_errors(json!({"200": {"description": "Proof", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Proof"}}}}, "400": error_response("Out of range (out_of_range) or not integers (invalid_query)")}))}},
            "/v1/verify": {"post": {"summary": "Verify a certificate (the same checks as notarium-verify)",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
                    "certificate": {"type": "string", "description": "certificate JSON text"},
                    "certificate_pdf": {"type": "string", "format": "byte"},
                    "sha256": {"type": "string", "description": "hex SHA-256 of the evidence file"}}}}}},
                "responses": {"200": {"description": "Report (valid or not)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}}}, "400": error_response("Malformed request (invalid_json, invalid_request, invalid_sha256, invalid_pdf)"), "413": error_response("Too large"), "415": error_response("The body is not application/json (code unsupported_media_type)"), "503": error_response("Overloaded (code overloaded); see Retry-After")}}},
            "/verify": {"get": {"summary": "The judge's verification page (HTML)", "responses": {"200": {"description": "HTML"}}}},
            "/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3"}}}},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "Up"}}}},
            "/readyz": {"get": {"summary": "Readiness: store reachable, log sequenced", "responses": {"200": {"description": "Ready"}, "503": error_response("Not ready: the store cannot be reached (store_unreachable), or entries wait and no process sequences the log (no_sequencer); see Retry-After")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics, for operators: served here only when server.metrics_token is set and there is no admin listener (server.admin_listen)", "security": [{"metricsToken": []}], "responses": {"200": {"description": "text/plain"}, "401": error_response("Missing or wrong metrics token (code unauthorized)"), "404": error_response("Not served on this listener (code not_found)")}}}
        }
    })
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(document())
}
