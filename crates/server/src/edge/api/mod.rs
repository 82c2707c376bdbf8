//! The HTTP API for app backends (API.md): `/api/v1/...` routes authorized by an API key,
//! answered by the engine ([`crate::engine::ApiMutation`], [`crate::engine::ApiRead`]) through
//! the engine task, so writes have the semantics of a WebSocket `mutate` and leave only after
//! their group commit is durable.

mod answers;
mod error;
mod keys;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tether_protocol::{Filter, Json, Object, Op};
use tokio::sync::{mpsc, oneshot};

use super::engine_task::Input;
use crate::engine::{api_origin, ApiAnswer, ApiMutation, ApiRead, ApiRequestId};
use answers::{change, document, failure, mutation, object, respond};
use error::{ApiError, Code};
pub(crate) use keys::ApiKeys;
use keys::KeyName;

/// Longest `Idempotency-Key` header, in bytes.
pub(crate) const MAX_IDEMPOTENCY_HEADER: usize = 64;
/// Most mutations in one batch.
pub(crate) const MAX_BATCH: usize = 100;
/// Default and largest `limit` of document and event reads.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;
/// Largest `wait` of a change-feed read, in seconds.
pub(crate) const MAX_WAIT_SECS: u64 = 30;
/// How long a request waits for the engine to take it, and a write for its answer.
const ENGINE_WAIT: Duration = Duration::from_secs(30);

/// Shared state of the API routes.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub(crate) inputs: mpsc::Sender<Input>,
    pub(crate) keys: Arc<ApiKeys>,
    /// Largest accepted body, in bytes (`--max-message-bytes`).
    pub(crate) max_body: usize,
    pub(crate) next_id: Arc<AtomicU64>,
}

impl ApiState {
    fn ids(&self, n: usize) -> Vec<ApiRequestId> {
        let first = self.next_id.fetch_add(n as u64, Ordering::Relaxed);
        (0..n as u64).map(|i| ApiRequestId(first + i)).collect()
    }

    /// Sends an input and waits (up to `wait`) for its answers.
    async fn call(
        &self,
        input: Input,
        answer: oneshot::Receiver<Vec<ApiAnswer>>,
        wait: Duration,
    ) -> Result<Vec<ApiAnswer>, ApiError> {
        let unavailable = |m: &str| ApiError::new(Code::Unavailable, m);
        tokio::time::timeout(ENGINE_WAIT, self.inputs.send(input))
            .await
            .map_err(|_| unavailable("the server is busy: retry"))?
            .map_err(|_| unavailable("the server is stopping: retry"))?;
        match tokio::time::timeout(wait, answer).await {
            Ok(Ok(answers)) => Ok(answers),
            Ok(Err(_)) => Err(unavailable("the server stopped before answering: retry")),
            Err(_) => Err(unavailable(
                "no answer in time: retry (with the same Idempotency-Key)",
            )),
        }
    }

    async fn write(&self, items: Vec<ApiMutation>) -> Result<Vec<ApiAnswer>, ApiError> {
        let ids = self.ids(items.len());
        let (reply, answer) = oneshot::channel();
        let items = ids.into_iter().zip(items).collect();
        self.call(Input::ApiMutate { items, reply }, answer, ENGINE_WAIT)
            .await
    }

    async fn broadcast(
        &self,
        key_name: String,
        channel: String,
        payload: Json,
    ) -> Result<ApiAnswer, ApiError> {
        let [request] = self.ids(1)[..] else {
            return Err(ApiError::new(Code::Unavailable, "no request id"));
        };
        let (reply, answer) = oneshot::channel();
        let input = Input::ApiBroadcast {
            request,
            key_name,
            channel,
            payload,
            reply,
        };
        first(Some(self.call(input, answer, ENGINE_WAIT).await?))
    }

    async fn read(&self, read: ApiRead, wait: Option<Duration>) -> Result<ApiAnswer, ApiError> {
        let [request] = self.ids(1)[..] else {
            return Err(ApiError::new(Code::Unavailable, "no request id"));
        };
        let (reply, mut answer) = oneshot::channel();
        let unavailable = |m: &str| ApiError::new(Code::Unavailable, m);
        let input = Input::ApiRead {
            request,
            read,
            reply,
        };
        tokio::time::timeout(ENGINE_WAIT, self.inputs.send(input))
            .await
            .map_err(|_| unavailable("the server is busy: retry"))?
            .map_err(|_| unavailable("the server is stopping: retry"))?;
        if let Some(wait) = wait {
            if let Ok(got) = tokio::time::timeout(wait, &mut answer).await {
                return first(got.ok());
            }
            let _ = self.inputs.send(Input::ApiExpire { request }).await;
        }
        match tokio::time::timeout(ENGINE_WAIT, answer).await {
            Ok(got) => first(got.ok()),
            Err(_) => Err(unavailable("no answer in time: retry")),
        }
    }
}

fn first(answers: Option<Vec<ApiAnswer>>) -> Result<ApiAnswer, ApiError> {
    answers
        .and_then(|a| a.into_iter().next())
        .ok_or_else(|| ApiError::new(Code::Unavailable, "the server stopped before answering"))
}

/// The `/api/v1` router.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(state: ApiState) -> Router<S> {
    Router::new()
        .route("/channels/{channel}", get(head))
        .route("/channels/{channel}/documents", get(list))
        .route(
            "/channels/{channel}/documents/{id}",
            get(get_document)
                .put(put_document)
                .patch(patch_document)
                .delete(delete_document),
        )
        .route("/channels/{channel}/batch", post(batch))
        .route("/channels/{channel}/events", get(events))
        .route("/channels/{channel}/broadcast", post(broadcast))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found(_key: KeyName) -> ApiError {
    ApiError::new(Code::NotFound, "no such API route")
}

async fn method_not_allowed(_key: KeyName) -> ApiError {
    ApiError::new(
        Code::MethodNotAllowed,
        "this route does not take that method",
    )
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn params(query: Params) -> Result<HashMap<String, String>, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::new(Code::BadRequest, format!("bad query string: {e}")))
}

fn path<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    path.map(|Path(p)| p)
        .map_err(|e| ApiError::new(Code::BadRequest, format!("bad path: {e}")))
}

/// An optional unsigned integer query parameter.
fn number(q: &HashMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    q.get(name)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiError::new(
                    Code::BadRequest,
                    format!("{name} must be an unsigned integer"),
                )
            })
        })
        .transpose()
}

fn limit(q: &HashMap<String, String>) -> Result<usize, ApiError> {
    match number(q, "limit")? {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => Ok(n as usize),
        Some(_) => Err(ApiError::new(
            Code::BadRequest,
            format!("limit must be 1-{MAX_LIMIT}"),
        )),
    }
}

/// Reads the whole body, refusing more than `max` bytes (413).
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Json, ApiError> {
    let too_large = || ApiError::new(Code::TooLarge, format!("the body exceeds {max} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, max)
        .await
        .map_err(|_| too_large())?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::new(Code::BadRequest, "the body is not UTF-8"))?;
    Json::parse(text)
        .map_err(|e| ApiError::new(Code::BadRequest, format!("the body is not JSON: {e}")))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key)
            if !key.is_empty()
                && key.len() <= MAX_IDEMPOTENCY_HEADER
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key.to_owned()))
        }
        _ => Err(ApiError::new(
            Code::BadRequest,
            format!("Idempotency-Key must be 1-{MAX_IDEMPOTENCY_HEADER} bytes of visible ASCII"),
        )),
    }
}

async fn head(
    State(state): State<ApiState>,
    _key: KeyName,
    channel: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let channel = path(channel)?;
    let answer = state
        .read(
            ApiRead::Head {
                channel: channel.clone(),
            },
            None,
        )
        .await?;
    match answer {
        ApiAnswer::Head { epoch, offset } => {
            let body = object(vec![
                ("channel", Json::from(channel.as_str())),
                ("epoch", Json::from(epoch.as_str())),
                ("offset", Json::from(offset)),
            ]);
            Ok(respond(StatusCode::OK, &body))
        }
        other => Err(unexpected(&other)),
    }
}

fn unexpected(answer: &ApiAnswer) -> ApiError {
    failure(answer)
        .unwrap_or_else(|| ApiError::new(Code::Unavailable, "unexpected answer from the engine"))
}

async fn get_document(
    State(state): State<ApiState>,
    _key: KeyName,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (channel, id) = path(ids)?;
    match state.read(ApiRead::Document { channel, id }, None).await? {
        ApiAnswer::Document(Some(d)) => Ok(respond(StatusCode::OK, &document(&d))),
        ApiAnswer::Document(None) => Err(ApiError::new(Code::NotFound, "no such document")),
        other => Err(unexpected(&other)),
    }
}

async fn list(
    State(state): State<ApiState>,
    _key: KeyName,
    channel: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Response, ApiError> {
    let channel = path(channel)?;
    let q = params(query)?;
    let filter = match q.get("filter") {
        None => None,
        Some(text) => {
            let value = Json::parse(text).map_err(|e| {
                ApiError::new(Code::InvalidFilter, format!("filter is not JSON: {e}"))
            })?;
            Some(
                Filter::parse(&value)
                    .map_err(|e| ApiError::new(Code::InvalidFilter, e.to_string()))?,
            )
        }
    };
    let read = ApiRead::Query {
        channel,
        filter,
        after: q.get("after").cloned(),
        limit: limit(&q)?,
    };
    match state.read(read, None).await? {
        ApiAnswer::Page { docs, next } => {
            let body = object(vec![
                (
                    "documents",
                    Json::Array(docs.iter().map(document).collect()),
                ),
                ("next", next.map_or(Json::Null, Json::from)),
            ]);
            Ok(respond(StatusCode::OK, &body))
        }
        other => Err(unexpected(&other)),
    }
}

async fn events(
    State(state): State<ApiState>,
    _key: KeyName,
    channel: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Response, ApiError> {
    let channel = path(channel)?;
    let q = params(query)?;
    let since = number(&q, "since")?.unwrap_or(0);
    let wait = number(&q, "wait")?.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::new(
            Code::BadRequest,
            format!("wait must be 0-{MAX_WAIT_SECS} seconds"),
        ));
    }
    let read = ApiRead::Events {
        channel,
        epoch: q.get("epoch").cloned(),
        since,
        limit: limit(&q)?,
        wait: wait > 0,
    };
    let wait = (wait > 0).then(|| Duration::from_secs(wait));
    match state.read(read, wait).await? {
        ApiAnswer::Events {
            epoch,
            events,
            head,
        } => {
            let next = events.last().map_or(since, |e| e.offset);
            let body = object(vec![
                ("epoch", Json::from(epoch.as_str())),
                ("events", Json::Array(events.iter().map(change).collect())),
                ("next", Json::from(next)),
                ("head", Json::from(head)),
            ]);
            Ok(respond(StatusCode::OK, &body))
        }
        other => Err(unexpected(&other)),
    }
}

/// One write of a single document.
#[allow(clippy::too_many_arguments)]
async fn write_one(
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

async fn put_document(
    State(state): State<ApiState>,
    key: KeyName,
    ids: Result<Path<(String, String)>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    write_one(state, key, ids, query, headers, Some(body), Op::Put).await
}

async fn patch_document(
    State(state): State<ApiState>,
    key: KeyName,
    ids: Result<Path<(String, String)>, PathRejection>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    write_one(state, key, ids, query, headers, Some(body), Op::Patch).await
}

async fn delete_document(
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

async fn batch(
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

async fn broadcast(
    State(state): State<ApiState>,
    key: KeyName,
    channel: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let channel = path(channel)?;
    let body = read_body(&headers, body, state.max_body).await?;
    let payload = body
        .get("payload")
        .cloned()
        .ok_or_else(|| ApiError::new(Code::BadRequest, "the body must be {\"payload\": ...}"))?;
    match state.broadcast(key.0, channel, payload).await? {
        ApiAnswer::Broadcast { delivered } => {
            let body = object(vec![("delivered", Json::from(delivered))]);
            Ok(respond(StatusCode::OK, &body))
        }
        other => Err(unexpected(&other)),
    }
}
