//! Write routes: put, patch, delete of one document, batches, broadcasts.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tether_protocol::{Json, Object, Op};

use super::answers::{mutation, object, respond};
use super::error::{ApiError, Code};
use super::keys::KeyName;
use super::{
    first, idempotency_key, number, params, path, read_body, unexpected, ApiState, Params,
    MAX_BATCH,
};
use crate::engine::{api_origin, ApiAnswer, ApiMutation};

/// One write of a single document.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_one(
    state: ApiState,
    key: KeyName,
    ids: Result<Path<(String, String)>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Option<Body>,
    op: Op,
) -> Result<Response, ApiError> {
    let (channel, id) = path(ids)?;
    let q = params(query)?;
    let idempotency_key = idempotency_key(&headers)?;
    let doc = match body {
        Some(body) => Some(read_body(&headers, body, state.max_body).await?),
        None => None,
    };
    let m = ApiMutation {
        key_name: key.0.clone(),
        idempotency_key: idempotency_key.clone(),
        channel,
        id: id.clone(),
        op,
        doc,
        base_version: number(&q, "base_version")?,
    };
    let answers = state.write(vec![m]).await?;
    let answer = first(Some(answers))?;
    let origin_of = |mid| api_origin(&key.0, idempotency_key.as_deref(), mid);
    let (status, body) = mutation(&answer, &id, &origin_of);
    Ok(respond(status, &body))
}

pub(super) async fn put_document(
    State(state): State<ApiState>,
    key: KeyName,
    ids: Result<Path<(String, String)>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    write_one(state, key, ids, query, headers, Some(body), Op::Put).await
}

pub(super) async fn patch_document(
    State(state): State<ApiState>,
    key: KeyName,
    ids: Result<Path<(String, String)>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    write_one(state, key, ids, query, headers, Some(body), Op::Patch).await
}

pub(super) async fn delete_document(
    State(state): State<ApiState>,
    key: KeyName,
    ids: Result<Path<(String, String)>, PathRejection>,
    query: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    write_one(state, key, ids, query, headers, None, Op::Delete).await
}

/// Parses one item of a batch.
fn batch_item(
    item: &Json,
    index: usize,
) -> Result<(Op, String, Option<Json>, Option<u64>), ApiError> {
    let bad = |m: &str| ApiError::new(Code::BadRequest, format!("mutations[{index}]: {m}"));
    let fields = item.as_object().ok_or_else(|| bad("not an object"))?;
    let op = match fields.get("op").and_then(Json::as_str) {
        Some("put") => Op::Put,
        Some("patch") => Op::Patch,
        Some("delete") => Op::Delete,
        _ => return Err(bad("op must be \"put\", \"patch\" or \"delete\"")),
    };
    let id = fields
        .get("id")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("id must be a string"))?
        .to_owned();
    let base_version = match fields.get("base_version") {
        None | Some(Json::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| bad("base_version must be an unsigned integer"))?,
        ),
    };
    let doc = fields.get("doc").filter(|d| !d.is_null()).cloned();
    Ok((op, id, doc, base_version))
}

pub(super) async fn batch(
    State(state): State<ApiState>,
    key: KeyName,
    channel: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let channel = path(channel)?;
    let idempotency_key = idempotency_key(&headers)?;
    let body = read_body(&headers, body, state.max_body).await?;
    let items = body
        .get("mutations")
        .and_then(Json::as_array)
        .ok_or_else(|| {
            ApiError::new(Code::BadRequest, "the body must be {\"mutations\": [...]}")
        })?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::new(
            Code::BadRequest,
            format!("a batch has 1-{MAX_BATCH} mutations"),
        ));
    }
    let mut mutations = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let (op, id, doc, base_version) = batch_item(item, index)?;
        mutations.push(ApiMutation {
            key_name: key.0.clone(),
            idempotency_key: idempotency_key.as_ref().map(|k| format!("{k}:{index}")),
            channel: channel.clone(),
            id,
            op,
            doc,
            base_version,
        });
    }
    let ids: Vec<(String, Option<String>)> = mutations
        .iter()
        .map(|m| (m.id.clone(), m.idempotency_key.clone()))
        .collect();
    let answers = state.write(mutations).await?;
    let results = answers
        .iter()
        .zip(&ids)
        .map(|(answer, (id, item_key))| {
            let origin_of = |mid| api_origin(&key.0, item_key.as_deref(), mid);
            let (status, body) = mutation(answer, id, &origin_of);
            let mut fields = Object::new();
            fields.insert("status", Json::from(u64::from(status.as_u16())));
            if let Json::Object(o) = body {
                for (k, v) in o {
                    fields.insert(k, v);
                }
            }
            Json::Object(fields)
        })
        .collect();
    let body = object(vec![("results", Json::Array(results))]);
    Ok(respond(StatusCode::OK, &body))
}

/// `POST /subjects/{subject}/notifications` with `{"payload": ...}`: a `notification` to every
/// connection of the subject (on every node in cluster mode); answers `{"delivered": N}`, the
/// connections of this node.
pub(super) async fn notify(
    State(state): State<ApiState>,
    key: KeyName,
    subject: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let subject = path(subject)?;
    let payload = payload_of(&read_body(&headers, body, state.max_body).await?)?;
    match state.notify(key.0, subject, payload).await? {
        ApiAnswer::Notified { delivered: n } => Ok(delivered(n)),
        other => Err(unexpected(&other)),
    }
}

/// The `payload` of an ephemeral call's body (`{"payload": ...}`), else 400 `BAD_REQUEST`.
fn payload_of(body: &Json) -> Result<Json, ApiError> {
    body.get("payload")
        .cloned()
        .ok_or_else(|| ApiError::new(Code::BadRequest, "the body must be {\"payload\": ...}"))
}

/// `{"delivered": n}`, 200.
fn delivered(n: u64) -> Response {
    respond(StatusCode::OK, &object(vec![("delivered", Json::from(n))]))
}

pub(super) async fn broadcast(
    State(state): State<ApiState>,
    key: KeyName,
    channel: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let channel = path(channel)?;
    let payload = payload_of(&read_body(&headers, body, state.max_body).await?)?;
    match state.broadcast(key.0, channel, payload).await? {
        ApiAnswer::Broadcast { delivered: n } => Ok(delivered(n)),
        other => Err(unexpected(&other)),
    }
}
