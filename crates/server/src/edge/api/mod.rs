//! The HTTP API for app backends (API.md): `/api/v1/...` routes authorized by an API key,
//! answered by the engine ([`crate::engine::ApiMutation`], [`crate::engine::ApiRead`]) through
//! the engine task, so writes have the semantics of a WebSocket `mutate` and leave only after
//! their group commit is durable.

mod answers;
mod error;
mod keys;
mod openapi;
mod reads;
mod stream;
mod writes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap};
use axum::routing::{get, post};
use axum::Router;
use tether_protocol::Json;
use tokio::sync::{mpsc, oneshot};

use super::engine_task::Input;
use crate::engine::{ApiAnswer, ApiMutation, ApiRead, ApiRequestId};
use answers::failure;
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

    async fn notify(
        &self,
        key_name: String,
        subject: String,
        payload: Json,
    ) -> Result<ApiAnswer, ApiError> {
        let [request] = self.ids(1)[..] else {
            return Err(ApiError::new(Code::Unavailable, "no request id"));
        };
        let (reply, answer) = oneshot::channel();
        let input = Input::ApiNotify {
            request,
            key_name,
            subject,
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
            // Also when the client goes away meanwhile (this future is dropped): the engine
            // forgets the waiting request.
            let mut guard = ExpireOnDrop {
                inputs: Some(self.inputs.clone()),
                request,
            };
            if let Ok(got) = tokio::time::timeout(wait, &mut answer).await {
                guard.inputs = None;
                return first(got.ok());
            }
            guard.inputs = None;
            let _ = self.inputs.send(Input::ApiExpire { request }).await;
        }
        match tokio::time::timeout(ENGINE_WAIT, answer).await {
            Ok(got) => first(got.ok()),
            Err(_) => Err(unavailable("no answer in time: retry")),
        }
    }
}

/// Expires a waiting change-feed request when dropped while armed (`inputs` is `Some`).
struct ExpireOnDrop {
    inputs: Option<mpsc::Sender<Input>>,
    request: ApiRequestId,
}

impl Drop for ExpireOnDrop {
    fn drop(&mut self) {
        if let Some(inputs) = self.inputs.take() {
            let _ = inputs.try_send(Input::ApiExpire {
                request: self.request,
            });
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
        .route("/openapi.json", get(openapi::serve))
        .route("/channels/{channel}", get(reads::head))
        .route("/channels/{channel}/documents", get(reads::list))
        .route(
            "/channels/{channel}/documents/{id}",
            get(reads::get_document)
                .put(writes::put_document)
                .patch(writes::patch_document)
                .delete(writes::delete_document),
        )
        .route("/channels/{channel}/batch", post(writes::batch))
        .route("/channels/{channel}/events", get(reads::events))
        .route("/channels/{channel}/broadcast", post(writes::broadcast))
        .route("/subjects/{subject}/notifications", post(writes::notify))
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
fn unexpected(answer: &ApiAnswer) -> ApiError {
    failure(answer)
        .unwrap_or_else(|| ApiError::new(Code::Unavailable, "unexpected answer from the engine"))
}
