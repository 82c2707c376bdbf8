//! The OpenAPI 3.1 description of the HTTP API, served at `GET /api/v1/openapi.json` (no key
//! needed). It is built here from the code's own tables: the error codes and their statuses
//! ([`Code::ALL`]), the limits ([`MAX_BATCH`], [`MAX_LIMIT`], [`MAX_WAIT_SECS`],
//! [`MAX_IDEMPOTENCY_HEADER`]) and the server's version; the routes are the router's
//! ([`ROUTES`], checked against it by the integration test `api_openapi_describes_every_route`).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::error::Code;
use super::{DEFAULT_LIMIT, MAX_BATCH, MAX_IDEMPOTENCY_HEADER, MAX_LIMIT, MAX_WAIT_SECS};

/// Every `(path, method)` the API router answers, under `/api/v1`.
pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("/channels/{channel}", "get"),
    ("/channels/{channel}/documents", "get"),
    ("/channels/{channel}/documents/{id}", "get"),
    ("/channels/{channel}/documents/{id}", "put"),
    ("/channels/{channel}/documents/{id}", "patch"),
    ("/channels/{channel}/documents/{id}", "delete"),
    ("/channels/{channel}/batch", "post"),
    ("/channels/{channel}/events", "get"),
    ("/channels/{channel}/broadcast", "post"),
    ("/subjects/{subject}/notifications", "post"),
];

/// `GET /api/v1/openapi.json`.
pub(super) async fn serve() -> Response {
    // The description depends only on the code: built once per process.
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = TEXT.get_or_init(|| {
        let mut text = document().to_string();
        text.push('\n');
        text
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        text.as_str(),
    )
        .into_response()
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn json_body(schema: Value) -> Value {
    json!({"content": {"application/json": {"schema": schema}}})
}

fn error_response(codes: &[Code]) -> Value {
    let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    let mut out = json_body(schema_ref("Error"));
    out["description"] = json!(format!("error; `error.code` one of {}", names.join(", ")));
    out
}

/// The error responses every keyed route may give, beside its own.
const ALWAYS: &[Code] = &[
    Code::ApiKeyRequired,
    Code::ApiKeyInvalid,
    Code::ApiDisabled,
    Code::RateLimited,
    Code::Unavailable,
];

/// One operation: its summary, parameters, body, success schema and further error codes.
fn operation(
    id: &str,
    summary: &str,
    params: &[Value],
    body: Option<Value>,
    ok: Value,
    errors: &[Code],
) -> Value {
    let mut responses = Map::new();
    let mut ok_response = json_body(ok);
    ok_response["description"] = json!("success");
    responses.insert("200".into(), ok_response);
    let mut by_status: std::collections::BTreeMap<u16, Vec<Code>> = Default::default();
    for code in ALWAYS.iter().chain(errors) {
        by_status
            .entry(code.status().as_u16())
            .or_default()
            .push(*code);
    }
    for (status, codes) in by_status {
        responses.insert(status.to_string(), error_response(&codes));
    }
    let mut op = json!({
        "operationId": id,
        "summary": summary,
        "parameters": params,
        "responses": responses,
    });
    if let Some(body) = body {
        let mut body = json_body(body);
        body["required"] = json!(true);
        op["requestBody"] = body;
    }
    op
}

/// A channel name in a path (PROTOCOL.md §3).
fn channel_param() -> Value {
    json!({"name": "channel", "in": "path", "required": true,
           "description": "channel name (PROTOCOL.md §3)",
           "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"}})
}

/// A token subject in a path: 1-256 bytes.
fn subject_param() -> Value {
    json!({"name": "subject", "in": "path", "required": true,
           "description": "a token's `sub`, 1-256 bytes of UTF-8 (percent-encoded in the path)",
           "schema": {"type": "string", "minLength": 1, "maxLength": 256}})
}

/// A document id in a path: 1-256 bytes (PROTOCOL.md §3).
fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": "document id, 1-256 bytes of UTF-8 (64 characters always fit)",
           "schema": {"type": "string", "minLength": 1, "maxLength": 64}})
}

fn query_param(name: &str, what: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": what, "schema": schema})
}

fn idempotency_param() -> Value {
    json!({"name": "Idempotency-Key", "in": "header", "required": false,
           "description": "retries with the same key return the identical answer and apply nothing twice (API.md §3)",
           "schema": {"type": "string", "pattern": format!("^[!-~]{{1,{MAX_IDEMPOTENCY_HEADER}}}$")}})
}

fn base_version_param() -> Value {
    query_param(
        "base_version",
        "the version the write expects (0: the document must not exist); a mismatch is 409 CONFLICT",
        json!({"type": "integer", "minimum": 0, "maximum": 9_007_199_254_740_991u64}),
    )
}

/// A document body: any JSON object whose integers lie within ±(2^53 − 1) (PROTOCOL.md §1).
fn doc_schema() -> Value {
    json!({"type": "object",
           "description": "any JSON object; integers beyond ±(2^53 − 1) are refused INVALID (send them as strings)"})
}

fn schemas() -> Value {
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": codes},
                    "message": {"type": "string"},
                    "reason": {"type": "string", "enum": ["conflict", "invalid", "not_found", "forbidden"]},
                    "id": {"type": "string"},
                    "current": {"oneOf": [{"type": "null"}, schema_ref("Document")]},
                    "epoch": {"type": "string"},
                    "offset": {"type": "integer", "minimum": 0},
                    "retry_after_ms": {"type": "integer", "minimum": 1}
                }
            }}
        },
        "Origin": {
            "type": "object", "required": ["client_id", "mutation_id"],
            "properties": {"client_id": {"type": "string"}, "mutation_id": {"type": "integer", "minimum": 0}}
        },
        "Document": {
            "type": "object", "required": ["id", "version", "doc"],
            "properties": {"id": {"type": "string"}, "version": {"type": "integer", "minimum": 1},
                           "doc": {"type": "object"}}
        },
        "DocumentPage": {
            "type": "object", "required": ["documents", "next"],
            "properties": {"documents": {"type": "array", "items": schema_ref("Document")},
                           "next": {"type": ["string", "null"]}}
        },
        "Head": {
            "type": "object", "required": ["channel", "epoch", "offset"],
            "properties": {"channel": {"type": "string"}, "epoch": {"type": "string"},
                           "offset": {"type": "integer", "minimum": 0}}
        },
        "WriteResult": {
            "type": "object", "required": ["id", "version", "offset", "origin"],
            "properties": {"id": {"type": "string"}, "version": {"type": "integer", "minimum": 1},
                           "offset": {"type": "integer", "minimum": 1}, "origin": schema_ref("Origin")}
        },
        "BatchRequest": {
            "type": "object", "required": ["mutations"],
            "properties": {"mutations": {
                "type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                "items": {"type": "object", "required": ["op", "id"],
                          "properties": {"op": {"type": "string", "enum": ["put", "patch", "delete"]},
                                         "id": {"type": "string"}, "doc": {"type": "object"},
                                         "base_version": {"type": "integer", "minimum": 0}}}
            }}
        },
        "BatchResult": {
            "type": "object", "required": ["results"],
            "properties": {"results": {"type": "array", "items": {
                "type": "object", "required": ["status"],
                "description": "per item: `status` plus the single write's answer (WriteResult) or error (Error's `error`)",
                "properties": {"status": {"type": "integer"}}
            }}}
        },
        "Change": {
            "type": "object", "required": ["offset", "id", "version", "op", "kind", "origin"],
            "properties": {"offset": {"type": "integer", "minimum": 1}, "id": {"type": "string"},
                           "version": {"type": "integer", "minimum": 1},
                           "op": {"type": "string", "enum": ["upsert", "remove"]},
                           "kind": {"type": "string", "enum": ["created", "updated", "deleted"]},
                           "doc": {"type": "object"}, "origin": schema_ref("Origin")}
        },
        "ChangePage": {
            "type": "object", "required": ["epoch", "head", "next", "events"],
            "properties": {"epoch": {"type": "string"}, "head": {"type": "integer", "minimum": 0},
                           "next": {"type": "integer", "minimum": 0},
                           "events": {"type": "array", "items": schema_ref("Change")}}
        },
        "BroadcastRequest": {
            "type": "object", "required": ["payload"],
            "properties": {"payload": {"description": "any JSON value"}}
        },
        "BroadcastResult": {
            "type": "object", "required": ["delivered"],
            "properties": {"delivered": {"type": "integer", "minimum": 0}}
        }
    })
}

/// The whole description.
pub(crate) fn document() -> Value {
    let channel = channel_param();
    let id = id_param();
    let write_errors = [
        Code::BadRequest,
        Code::Invalid,
        Code::Conflict,
        Code::NotFound,
        Code::TooLarge,
    ];
    let put = operation(
        "putDocument",
        "Create or replace a document",
        &[
            channel.clone(),
            id.clone(),
            base_version_param(),
            idempotency_param(),
        ],
        Some(doc_schema()),
        schema_ref("WriteResult"),
        &write_errors,
    );
    let patch = operation(
        "patchDocument",
        "Merge fields into a document (null removes a field)",
        &[
            channel.clone(),
            id.clone(),
            base_version_param(),
            idempotency_param(),
        ],
        Some(doc_schema()),
        schema_ref("WriteResult"),
        &write_errors,
    );
    let delete = operation(
        "deleteDocument",
        "Delete a document",
        &[
            channel.clone(),
            id.clone(),
            base_version_param(),
            idempotency_param(),
        ],
        None,
        schema_ref("WriteResult"),
        &write_errors,
    );
    let get_doc = operation(
        "getDocument",
        "Read one document",
        &[channel.clone(), id],
        None,
        schema_ref("Document"),
        &[Code::BadRequest, Code::Invalid, Code::NotFound],
    );
    let list = operation(
        "listDocuments",
        "Read a channel's documents in id order, filtered and paged",
        &[
            channel.clone(),
            query_param(
                "filter",
                "URL-encoded JSON filter (PROTOCOL.md §6)",
                json!({"type": "string"}),
            ),
            query_param(
                "limit",
                "page size",
                json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
            ),
            query_param(
                "after",
                "the previous page's `next`",
                json!({"type": "string"}),
            ),
        ],
        None,
        schema_ref("DocumentPage"),
        &[Code::BadRequest, Code::Invalid, Code::InvalidFilter],
    );
    let head = operation(
        "getHead",
        "A channel's head: epoch and offset of its last committed change",
        std::slice::from_ref(&channel),
        None,
        schema_ref("Head"),
        &[Code::BadRequest, Code::Invalid],
    );
    let events = operation(
        "getChanges",
        "The channel's committed changes after `since` (long-poll with `wait`; `Accept: text/event-stream` streams them)",
        &[
            channel.clone(),
            query_param("since", "offset to continue after (0: from the start)", json!({"type": "integer", "minimum": 0})),
            query_param(
                "epoch",
                "the database epoch (required with since > 0; another epoch than the database's is 410 RESET)",
                json!({"type": "string", "minLength": 1}),
            ),
            query_param(
                "limit",
                "most changes per answer",
                json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
            ),
            query_param(
                "wait",
                "seconds to hold the request while there is nothing new",
                json!({"type": "integer", "minimum": 0, "maximum": MAX_WAIT_SECS}),
            ),
        ],
        None,
        schema_ref("ChangePage"),
        &[Code::BadRequest, Code::Invalid, Code::Reset],
    );
    let batch = operation(
        "writeBatch",
        "Apply up to 100 writes of one channel in order, each with its own result (not atomic)",
        &[channel.clone(), idempotency_param()],
        Some(schema_ref("BatchRequest")),
        schema_ref("BatchResult"),
        &[Code::BadRequest, Code::TooLarge],
    );
    let broadcast = operation(
        "broadcast",
        "Send an ephemeral broadcast to the channel's current subscribers",
        &[channel],
        Some(schema_ref("BroadcastRequest")),
        schema_ref("BroadcastResult"),
        &[Code::BadRequest, Code::Invalid, Code::TooLarge],
    );
    let notify = operation(
        "notifySubject",
        "Send an ephemeral notification to every connection of a subject (every node in cluster mode; `delivered` counts this node)",
        &[subject_param()],
        Some(schema_ref("BroadcastRequest")),
        schema_ref("BroadcastResult"),
        &[Code::BadRequest, Code::Invalid, Code::TooLarge],
    );
    let mut paths = Map::new();
    for (path, method) in ROUTES {
        let op = match (*path, *method) {
            ("/channels/{channel}", "get") => head.clone(),
            ("/channels/{channel}/documents", "get") => list.clone(),
            ("/channels/{channel}/documents/{id}", "get") => get_doc.clone(),
            ("/channels/{channel}/documents/{id}", "put") => put.clone(),
            ("/channels/{channel}/documents/{id}", "patch") => patch.clone(),
            ("/channels/{channel}/documents/{id}", "delete") => delete.clone(),
            ("/channels/{channel}/batch", "post") => batch.clone(),
            ("/channels/{channel}/events", "get") => events.clone(),
            ("/channels/{channel}/broadcast", "post") => broadcast.clone(),
            ("/subjects/{subject}/notifications", "post") => notify.clone(),
            _ => continue,
        };
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tether server HTTP API for app backends",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Writes with WebSocket `mutate` semantics and exactly-once Idempotency-Key, reads, the change feed, broadcast and notifications to a subject. Prose: API.md."
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "a secret given with --api-key"}},
            "schemas": schemas()
        }
    })
}
