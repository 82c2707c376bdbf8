//! `request` methods forwarded to the app's backend over HTTP.
//!
//! The engine decides which requests leave ([`ForwardConfig`]), hands each to the edge as a
//! [`ForwardCall`] ([`ServerEngine::poll_forward`]), and answers the client when the edge
//! reports the outcome ([`ServerEngine::handle_forward_result`]) or when the call's deadline
//! passes first (`UPSTREAM_TIMEOUT`, on the engine's own timers: deterministic). Whatever
//! arrives second is ignored, so every request gets exactly one `response`. A connection that
//! closes forgets its calls; their outcomes are ignored.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use tether_protocol::{Json, ResponseError, ServerMessage};

use super::{ConnId, ServerEngine};
use crate::store::Store;

/// `error.code` of a forwarded request that got no answer within [`ForwardConfig::timeout_ms`].
pub const UPSTREAM_TIMEOUT: &str = "UPSTREAM_TIMEOUT";
/// `error.code` of a forwarded request whose backend could not be reached (connection refused,
/// reset, name not resolved).
pub const UPSTREAM_UNAVAILABLE: &str = "UPSTREAM_UNAVAILABLE";
/// `error.code` of a forwarded request the backend answered with a status other than 2xx (and
/// no error code of its own, see [`ForwardOutcome::Status`]).
pub const UPSTREAM_STATUS: &str = "UPSTREAM_STATUS";
/// `error.code` of a forwarded request the backend answered 2xx with a body that is not JSON,
/// or larger than the message limit.
pub const UPSTREAM_BAD_RESPONSE: &str = "UPSTREAM_BAD_RESPONSE";
/// `error.code` of a request refused because its connection already has
/// [`ForwardConfig::max_in_flight`] forwarded requests waiting.
pub const TOO_MANY_REQUESTS: &str = "TOO_MANY_REQUESTS";

/// Which `request` methods go to the app's backend, and how long to wait.
///
/// A request's method is looked up in this order: a route for exactly that method, then a
/// handler registered in the embedding code or built in (`time`, `echo`), then the fallback
/// URL, else `UNKNOWN_METHOD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardConfig {
    /// Method name → URL receiving its POSTs.
    pub routes: HashMap<String, Arc<str>>,
    /// URL receiving every method without a route or handler.
    pub fallback: Option<Arc<str>>,
    /// How long a forwarded request may wait for the backend's answer.
    pub timeout_ms: u64,
    /// Forwarded requests one connection may have waiting at once; one more is answered
    /// `TOO_MANY_REQUESTS` without being sent.
    pub max_in_flight: usize,
}

impl Default for ForwardConfig {
    fn default() -> Self {
        ForwardConfig {
            routes: HashMap::new(),
            fallback: None,
            timeout_ms: 5_000,
            max_in_flight: 32,
        }
    }
}

/// Identifies one forwarded call inside an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ForwardId(pub u64);

/// One HTTP POST the edge must make for a forwarded request.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardCall {
    /// Reported back with the outcome.
    pub id: ForwardId,
    /// Where to POST.
    pub url: Arc<str>,
    /// The JSON body of the POST (see API.md, "Requests forwarded to the app").
    pub body: String,
    /// How long the edge should wait before giving up (the engine answers the client
    /// `UPSTREAM_TIMEOUT` at this deadline in any case).
    pub timeout_ms: u64,
}

/// What became of a [`ForwardCall`], as the edge saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum ForwardOutcome {
    /// A 2xx answer whose body parsed as JSON (an empty body is `null`): relayed as the
    /// response's `body`.
    Answer(Json),
    /// A 2xx answer whose body is not JSON, or over the size limit.
    BadResponse(String),
    /// A non-2xx answer. A JSON body `{"code": C, "message": M}` whose code is 1-64 bytes of
    /// `[A-Z0-9_]` starting with a letter is relayed as the client's `error` as it is (the
    /// app's own typed errors); otherwise the error is `UPSTREAM_STATUS`.
    Status {
        /// The HTTP status.
        status: u16,
        /// The answer's body, if it was JSON.
        body: Option<Json>,
    },
    /// No connection to the backend (refused, reset, unresolved), with the reason.
    Unavailable(String),
    /// The edge gave up waiting.
    Timeout,
}

/// A forwarded call waiting for its outcome.
#[derive(Debug)]
struct Pending {
    conn: ConnId,
    request_id: u64,
    deadline: u64,
}

/// Forwarded calls: those to hand to the edge and those waiting for an outcome.
#[derive(Debug, Default)]
pub(crate) struct ForwardState {
    next: u64,
    calls: VecDeque<ForwardCall>,
    pending: HashMap<ForwardId, Pending>,
    /// `(deadline, call)`; entries of calls already answered are skipped when popped.
    deadlines: BinaryHeap<Reverse<(u64, ForwardId)>>,
    /// Waiting calls per connection.
    per_conn: HashMap<ConnId, usize>,
}

impl ForwardState {
    /// The earliest deadline of a waiting call.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.deadlines.peek().map(|Reverse((at, _))| *at)
    }

    fn take(&mut self, id: ForwardId) -> Option<Pending> {
        let pending = self.pending.remove(&id)?;
        if let Some(n) = self.per_conn.get_mut(&pending.conn) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_conn.remove(&pending.conn);
            }
        }
        Some(pending)
    }

    /// Forgets every call of a closed connection.
    pub(crate) fn forget_conn(&mut self, conn: ConnId) {
        if self.per_conn.remove(&conn).is_some() {
            self.pending.retain(|_, p| p.conn != conn);
        }
    }
}

/// Whether `code` may be relayed as an app-defined error code.
fn valid_app_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes[0].is_ascii_uppercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
}

/// The client's `error` for a non-2xx answer.
fn status_error(status: u16, body: Option<&Json>) -> ResponseError {
    if let Some(Json::Object(obj)) = body {
        if let Some(Json::String(code)) = obj.get("code") {
            if valid_app_code(code) {
                let message = match obj.get("message") {
                    Some(Json::String(m)) => m.clone(),
                    _ => String::new(),
                };
                return ResponseError {
                    code: code.clone(),
                    message,
                };
            }
        }
    }
    ResponseError {
        code: UPSTREAM_STATUS.into(),
        message: format!("the app's backend answered HTTP {status}"),
    }
}

impl<S: Store> ServerEngine<S> {
    /// The URL of the route for exactly `method`, if one is configured.
    pub(super) fn forward_route(&self, method: &str) -> Option<Arc<str>> {
        self.config.forward.routes.get(method).cloned()
    }

    /// Sends a request to the app's backend: queues the call for the edge and arms its
    /// deadline, or answers `TOO_MANY_REQUESTS` when the connection has its maximum waiting.
    pub(super) fn forward_request(
        &mut self,
        now: u64,
        conn: ConnId,
        request_id: u64,
        url: Arc<str>,
        method: &str,
        body: Json,
    ) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let forward = &self.config.forward;
        let waiting = self.forward.per_conn.get(&conn).copied().unwrap_or(0);
        if waiting >= forward.max_in_flight {
            let error = ResponseError {
                code: TOO_MANY_REQUESTS.into(),
                message: format!(
                    "{waiting} forwarded requests of this connection are still waiting"
                ),
            };
            self.send_response(conn, request_id, Err(error));
            return;
        }
        let mut envelope = tether_protocol::Object::new();
        envelope.insert("method", Json::String(method.to_owned()));
        envelope.insert("body", body);
        envelope.insert(
            "client_id",
            Json::String(c.client_id.clone().unwrap_or_default()),
        );
        envelope.insert(
            "sub",
            c.claims
                .as_ref()
                .map_or(Json::Null, |cl| Json::String(cl.sub.clone())),
        );
        envelope.insert("request_id", Json::from(request_id));
        let timeout_ms = forward.timeout_ms;
        let deadline = now.saturating_add(timeout_ms);
        let state = &mut self.forward;
        state.next += 1;
        let id = ForwardId(state.next);
        state.pending.insert(
            id,
            Pending {
                conn,
                request_id,
                deadline,
            },
        );
        *state.per_conn.entry(conn).or_insert(0) += 1;
        state.deadlines.push(Reverse((deadline, id)));
        state.calls.push_back(ForwardCall {
            id,
            url,
            body: Json::Object(envelope).to_text(),
            timeout_ms,
        });
    }

    /// The next HTTP call the edge must make for a forwarded request, in order.
    #[must_use]
    pub fn poll_forward(&mut self) -> Option<ForwardCall> {
        self.forward.calls.pop_front()
    }

    /// The edge's outcome of a [`ForwardCall`]: answers the client's request. An outcome of a
    /// call already answered (its deadline passed) or of a closed connection is ignored.
    pub fn handle_forward_result(&mut self, _now: u64, id: ForwardId, outcome: ForwardOutcome) {
        let Some(pending) = self.forward.take(id) else {
            return;
        };
        let result = match outcome {
            ForwardOutcome::Answer(body) => Ok(body),
            ForwardOutcome::BadResponse(why) => Err(ResponseError {
                code: UPSTREAM_BAD_RESPONSE.into(),
                message: format!("the app's backend gave an unusable answer: {why}"),
            }),
            ForwardOutcome::Status { status, body } => Err(status_error(status, body.as_ref())),
            ForwardOutcome::Unavailable(why) => Err(ResponseError {
                code: UPSTREAM_UNAVAILABLE.into(),
                message: format!("the app's backend cannot be reached: {why}"),
            }),
            ForwardOutcome::Timeout => Err(self.timeout_error()),
        };
        self.send_response(pending.conn, pending.request_id, result);
    }

    fn timeout_error(&self) -> ResponseError {
        ResponseError {
            code: UPSTREAM_TIMEOUT.into(),
            message: format!(
                "the app's backend did not answer within {} ms",
                self.config.forward.timeout_ms
            ),
        }
    }

    /// Answers `UPSTREAM_TIMEOUT` for every waiting call whose deadline is `now` or earlier.
    pub(super) fn run_forward_deadlines(&mut self, now: u64) {
        while let Some(Reverse((at, id))) = self.forward.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.forward.deadlines.pop();
            let due = self
                .forward
                .pending
                .get(&id)
                .is_some_and(|p| p.deadline == at);
            if !due {
                continue; // answered already
            }
            if let Some(pending) = self.forward.take(id) {
                let error = self.timeout_error();
                self.send_response(pending.conn, pending.request_id, Err(error));
            }
        }
    }

    /// Outputs the `response` to request `id` of `conn`.
    pub(super) fn send_response(
        &mut self,
        conn: ConnId,
        id: u64,
        result: Result<Json, ResponseError>,
    ) {
        let msg = match result {
            Ok(body) => ServerMessage::Response {
                id,
                body: Some(body),
                error: None,
            },
            Err(error) => ServerMessage::Response {
                id,
                body: None,
                error: Some(error),
            },
        };
        self.send_msg(conn, &msg);
    }
}
