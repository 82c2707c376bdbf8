//! Inputs of the backend HTTP API (API.md): writes that go through the same mutation path as
//! a WebSocket `mutate` (dedupe, conflicts, commit, fan-out), reads, and the change feed.
//!
//! Each request carries an [`ApiRequestId`] chosen by the caller and is answered by exactly
//! one [`ApiReply`], drained with [`ServerEngine::poll_api_reply`]. Replies obey the group
//! commit like outputs: while a batch is open they are held back, so an answer never leaves
//! before the commit it reports on is durable; if the batch fails they are dropped.
//!
//! Exactly once: a write with an idempotency key `K` from the API key named `N` is the
//! mutation `(client_id "api:N:K", mutation_id 1)`; a retry is answered from its dedupe record.
//! A write without one is the next mutation id of the client `api:N`. Event origins name that
//! client id.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tether_protocol::{codec, Document, Filter, Json, Op, Origin, ServerMessage};

use super::feed::Waiter;
use super::mutations::Mutation;
use super::{ConnId, ServerEngine};
use crate::store::{LogEntry, Store, StoreError};

/// Longest API key name, in bytes (`[A-Za-z0-9_.-]`).
pub const MAX_API_KEY_NAME_LEN: usize = 32;
/// Longest idempotency key the engine takes, in bytes (visible ASCII); the HTTP edge takes
/// headers of up to 64 bytes and derives keys of batch items from them (`K:<index>`).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 80;
/// Most change-feed requests waiting at once; beyond it a request is answered at once.
pub const MAX_FEED_WAITERS: usize = 1024;

/// Identifies one API request (chosen by the caller, unique among requests in flight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiRequestId(pub u64);

/// Where the answer of a mutation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyTo {
    /// A WebSocket connection.
    Conn(ConnId),
    /// An API request.
    Api(ApiRequestId),
}

/// A write of the API: one `put`, `patch` or `delete` of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiMutation {
    /// Name of the API key that sent it (see [`valid_key_name`]).
    pub key_name: String,
    /// The `Idempotency-Key` header, if any (see [`valid_idempotency_key`]).
    pub idempotency_key: Option<String>,
    /// Channel.
    pub channel: String,
    /// Document id.
    pub id: String,
    /// Operation.
    pub op: Op,
    /// Body (put) or fields (patch).
    pub doc: Option<Json>,
    /// Expected current version (0: must not exist); `None`: unconditional.
    pub base_version: Option<u64>,
}

/// A read of the API.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiRead {
    /// One document.
    Document {
        /// Channel.
        channel: String,
        /// Document id.
        id: String,
    },
    /// Live documents in id order, after a cursor, optionally filtered.
    Query {
        /// Channel.
        channel: String,
        /// Only documents it matches.
        filter: Option<Filter>,
        /// Only ids after this one.
        after: Option<String>,
        /// Most documents returned (1..).
        limit: usize,
    },
    /// The channel's epoch and head offset.
    Head {
        /// Channel.
        channel: String,
    },
    /// Committed changes after an offset.
    Events {
        /// Channel.
        channel: String,
        /// The epoch the offset belongs to (required when `since > 0`).
        epoch: Option<String>,
        /// Changes with an offset above this.
        since: u64,
        /// Most changes returned (1..).
        limit: usize,
        /// Wait for a change when there is none yet (until [`ServerEngine::api_expire`]).
        wait: bool,
    },
}

/// The answer to one API request.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiAnswer {
    /// A write's `ack` or `reject` (the same frame a WebSocket client gets; identical on a
    /// retry with the same idempotency key).
    Mutation(ServerMessage),
    /// A document read: `None` if absent.
    Document(Option<Document>),
    /// A page of documents; `next` is the cursor of the next page when there may be one.
    Page {
        /// The documents.
        docs: Vec<Document>,
        /// The id to pass as `after` for the next page.
        next: Option<String>,
    },
    /// A channel's position.
    Head {
        /// Database epoch.
        epoch: String,
        /// Offset of the last committed change (0: none).
        offset: u64,
    },
    /// Changes in offset order, gap-free from `since + 1` (empty: none yet).
    Events {
        /// Database epoch.
        epoch: String,
        /// The changes.
        events: Vec<LogEntry>,
        /// The channel's head offset when answered.
        head: u64,
    },
    /// The feed cannot continue from that offset (other epoch, pruned, or past the head):
    /// start again from the head (after reading the documents).
    Reset {
        /// Database epoch.
        epoch: String,
        /// The channel's head offset.
        offset: u64,
    },
    /// A broadcast was sent to this many current subscribers.
    Broadcast {
        /// Subscribers it was output to.
        delivered: u64,
    },
    /// A notification was sent to this many connections of its subject.
    Notified {
        /// Connections it was output to.
        delivered: u64,
    },
    /// The request is not valid (bad channel, id, key name or idempotency key).
    Invalid(String),
    /// The store failed; nothing was applied. Retrying is safe. After a batch that could not
    /// be made durable ([`ServerEngine::end_batch`]) a write answered so may have been
    /// applied: a retry with the same idempotency key is answered from its record if it was.
    Unavailable(String),
}

/// An answer for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiReply {
    /// The request.
    pub request: ApiRequestId,
    /// Its answer.
    pub answer: ApiAnswer,
}

/// The engine's API state.
#[derive(Debug, Default)]
pub(crate) struct ApiState {
    replies: VecDeque<ApiReply>,
    /// While a batch is open: how many replies from before it may still be polled.
    held: Option<usize>,
    pub(super) waiters: HashMap<String, Vec<Waiter>>,
    pub(super) waiting: usize,
}

impl ApiState {
    pub(crate) fn begin_batch(&mut self) {
        self.held = Some(self.replies.len());
    }

    /// The batch ended; if it failed, its replies are dropped and their requests returned.
    pub(crate) fn end_batch(&mut self, failed: bool) -> Vec<ApiRequestId> {
        match self.held.take() {
            Some(ready) if failed => {
                let ready = ready.min(self.replies.len());
                self.replies.drain(ready..).map(|r| r.request).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Whether an API key name is valid: 1-32 bytes of `[A-Za-z0-9_.-]`.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_API_KEY_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether an idempotency key is valid: 1-80 bytes of visible ASCII.
pub fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic())
}

impl<S: Store> ServerEngine<S> {
    /// An API write: applied in its turn like a `mutate` (dedupe, `base_version`, commit,
    /// fan-out to every affected view), answered by one [`ApiReply`] with
    /// [`ApiAnswer::Mutation`] (or `Invalid` / `Unavailable`).
    pub fn api_mutate(&mut self, request: ApiRequestId, m: ApiMutation) {
        if !valid_key_name(&m.key_name) {
            let text = "API key names are 1-32 bytes of [A-Za-z0-9_.-]".to_owned();
            return self.api_answer(request, ApiAnswer::Invalid(text));
        }
        let (client_id, mutation_id) = match &m.idempotency_key {
            Some(key) if !valid_idempotency_key(key) => {
                let text = format!(
                    "idempotency keys are 1-{MAX_IDEMPOTENCY_KEY_LEN} bytes of visible ASCII"
                );
                return self.api_answer(request, ApiAnswer::Invalid(text));
            }
            Some(key) => (format!("api:{}:{key}", m.key_name), 1),
            None => {
                let client_id = format!("api:{}", m.key_name);
                match self.store.dedupe(&client_id, u64::MAX) {
                    Ok(d) => {
                        let next = d.highest.unwrap_or(0).saturating_add(1);
                        (client_id, next)
                    }
                    Err(err) => return self.api_store_failed(request, &err),
                }
            }
        };
        let mutation = Mutation {
            mutation_id,
            channel: m.channel,
            op: m.op,
            id: m.id,
            base_version: m.base_version,
            doc: m.doc,
            client_id,
        };
        if let Err(err) = self.apply_mutation(ReplyTo::Api(request), mutation) {
            self.api_store_failed(request, &err);
        }
    }

    /// An API read, answered by one [`ApiReply`] (a waiting change-feed request only after a
    /// commit to its channel or [`ServerEngine::api_expire`]).
    pub fn api_read(&mut self, request: ApiRequestId, read: ApiRead) {
        let channel = match &read {
            ApiRead::Document { channel, .. }
            | ApiRead::Query { channel, .. }
            | ApiRead::Head { channel }
            | ApiRead::Events { channel, .. } => channel,
        };
        if let Err(err) = tether_protocol::validate_channel(channel) {
            return self.api_answer(request, ApiAnswer::Invalid(err.to_string()));
        }
        let result = match read {
            ApiRead::Document { channel, id } => {
                if let Err(err) = tether_protocol::validate_doc_id(&id) {
                    return self.api_answer(request, ApiAnswer::Invalid(err.to_string()));
                }
                self.store.document(&channel, &id).map(|d| {
                    ApiAnswer::Document(d.and_then(|d| {
                        d.body.map(|doc| Document {
                            id,
                            version: d.version,
                            doc,
                        })
                    }))
                })
            }
            ApiRead::Query {
                channel,
                filter,
                after,
                limit,
            } => self.api_query(&channel, filter.as_ref(), after, limit.max(1)),
            ApiRead::Head { channel } => self.channel_head(&channel).map(|h| ApiAnswer::Head {
                epoch: self.store.epoch().to_owned(),
                offset: h.head,
            }),
            ApiRead::Events {
                channel,
                epoch,
                since,
                limit,
                wait,
            } => {
                let waiter = Waiter {
                    request,
                    epoch,
                    since,
                    limit: limit.max(1),
                };
                match self.feed(&channel, &waiter) {
                    Ok(Some(answer)) => Ok(answer),
                    Ok(None) if wait && self.api.waiting < MAX_FEED_WAITERS => {
                        self.api.waiting += 1;
                        self.api.waiters.entry(channel).or_default().push(waiter);
                        return;
                    }
                    Ok(None) => self.empty_feed(&channel),
                    Err(err) => Err(err),
                }
            }
        };
        match result {
            Ok(answer) => self.api_answer(request, answer),
            Err(err) => self.api_store_failed(request, &err),
        }
    }

    /// Answers an ephemeral API call (broadcast, notification) whose `key_name` is not a valid
    /// key name ([`ApiAnswer::Invalid`]); whether it did.
    pub(super) fn refuse_ephemeral(&mut self, request: ApiRequestId, key_name: &str) -> bool {
        let answer = if !valid_key_name(key_name) {
            ApiAnswer::Invalid("API key names are 1-32 bytes of [A-Za-z0-9_.-]".into())
        } else {
            return false;
        };
        self.api_answer(request, answer);
        true
    }

    /// An ephemeral broadcast from the API key `key_name` to the channel's current subscribers
    /// (`from` is `api:<key name>`), never stored; answered [`ApiAnswer::Broadcast`].
    pub fn api_broadcast(
        &mut self,
        request: ApiRequestId,
        key_name: &str,
        channel: String,
        payload: Json,
    ) {
        if self.refuse_ephemeral(request, key_name) {
            return;
        }
        if let Err(err) = tether_protocol::validate_channel(&channel) {
            return self.api_answer(request, ApiAnswer::Invalid(err.to_string()));
        }
        let delivered = self
            .channels
            .get(&channel)
            .map_or(0, |s| s.subscribers.len() as u64);
        // No connection has id 0: every subscriber gets it (and other nodes' subscribers).
        self.broadcast_from(ConnId(0), channel, payload, format!("api:{key_name}"));
        self.api_answer(request, ApiAnswer::Broadcast { delivered });
    }

    /// The next API reply, in order; `None` when drained or while a batch is open and only
    /// replies of the batch are left.
    #[must_use]
    pub fn poll_api_reply(&mut self) -> Option<ApiReply> {
        if let Some(ready) = self.api.held.as_mut() {
            if *ready == 0 {
                return None;
            }
            *ready -= 1;
        }
        self.api.replies.pop_front()
    }

    /// Sends a mutation's answer frame to a connection or an API request.
    pub(super) fn reply(&mut self, to: ReplyTo, frame: Arc<str>) {
        match to {
            ReplyTo::Conn(conn) => self.send_frame(conn, frame),
            ReplyTo::Api(request) => {
                let answer = match codec::decode_server(frame.as_bytes()) {
                    Ok(msg) => ApiAnswer::Mutation(msg),
                    Err(err) => ApiAnswer::Unavailable(format!("unreadable answer record: {err}")),
                };
                self.api_answer(request, answer);
            }
        }
    }

    pub(super) fn api_answer(&mut self, request: ApiRequestId, answer: ApiAnswer) {
        self.api.replies.push_back(ApiReply { request, answer });
    }

    pub(super) fn api_store_failed(&mut self, request: ApiRequestId, err: &StoreError) {
        self.stats.store_errors += 1;
        self.api_answer(
            request,
            ApiAnswer::Unavailable(format!("storage failed: {err}")),
        );
    }

    fn api_query(
        &mut self,
        channel: &str,
        filter: Option<&Filter>,
        mut after: Option<String>,
        limit: usize,
    ) -> Result<ApiAnswer, StoreError> {
        // Scan store pages until `limit` matches or the channel ends; a filter that matches
        // little scans at most SCAN_BUDGET documents per request and returns a cursor.
        const SCAN_PAGE: usize = 256;
        const SCAN_BUDGET: usize = 4096;
        let mut docs = Vec::new();
        let mut scanned = 0usize;
        loop {
            let page = self
                .store
                .snapshot_page(channel, after.as_deref(), SCAN_PAGE)?;
            let end = page.len() < SCAN_PAGE;
            for doc in page {
                scanned += 1;
                after = Some(doc.id.clone());
                if filter.is_none_or(|f| f.matches(&doc.doc)) {
                    docs.push(doc);
                    if docs.len() == limit {
                        return Ok(ApiAnswer::Page { docs, next: after });
                    }
                }
            }
            if end {
                return Ok(ApiAnswer::Page { docs, next: None });
            }
            if scanned >= SCAN_BUDGET {
                return Ok(ApiAnswer::Page { docs, next: after });
            }
        }
    }
}

/// The origin an API write gets in events (for tests and docs).
pub fn api_origin(key_name: &str, idempotency_key: Option<&str>, mutation_id: u64) -> Origin {
    let client_id = match idempotency_key {
        Some(key) => format!("api:{key_name}:{key}"),
        None => format!("api:{key_name}"),
    };
    Origin {
        client_id,
        mutation_id,
    }
}
