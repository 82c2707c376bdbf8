//! The sans-IO server engine.
//!
//! [`ServerEngine`] holds every connection's session, subscriptions, views, presence and limits,
//! and persists through a [`Store`]. It never reads a clock, never does IO and has no
//! randomness: the caller passes monotonic time (`now`, u64 milliseconds) into every input,
//! sets wall-clock unix time with [`ServerEngine::set_unix_time_ms`] (token expiry and log
//! retention), and drains what to send.
//!
//! # Run loop
//!
//! ```
//! use tether_server::{ConnectInfo, MemoryStore, Output, ServerConfig, ServerEngine};
//!
//! let mut engine = ServerEngine::new(ServerConfig::default(), MemoryStore::new("e1".into()));
//! let mut now = 0u64;
//! // A socket was accepted (the edge checked Origin and any `?token=` before the upgrade).
//! let conn = engine.connect(now, ConnectInfo::default());
//! // Each text frame read from that socket:
//! engine.handle_frame(now, conn, br#"{"type":"hello","protocol":1,"client_id":"c1"}"#);
//! // After every input, drain outputs until `None`:
//! while let Some(output) = engine.poll_output() {
//!     match output {
//!         Output::Send { conn, frame } => { /* queue `frame` on the socket of `conn` */ }
//!         Output::Close { conn, code } => { /* send close `code`, drop the socket */ }
//!     }
//! }
//! // Whenever the socket of `conn` has written frames (flow control, see below):
//! engine.handle_written(now, conn, 1);
//! // Sleep until `poll_timeout()` (or the next frame), then:
//! if let Some(at) = engine.poll_timeout() {
//!     now = now.max(at);
//!     engine.handle_timeout(now);
//! }
//! // A socket closed by the peer or the network:
//! engine.disconnect(now, conn);
//! ```
//!
//! Order guarantees the engine provides: for a mutation, the resulting `event` frames (to
//! every subscriber of each view it affects, including the mutator) are output before the
//! `ack`, and the commit to the store happens before either. Outputs for one connection must be
//! delivered in the order they are polled. A `Close` output ends the connection inside the
//! engine (presence left, subscriptions dropped); the edge need not call `disconnect` for it.
//!
//! Frames shared by several subscribers (events, broadcasts, presence) are encoded once and
//! output as clones of one `Arc<str>`.
//!
//! # Flow control
//!
//! Every `Send` counts against its connection's outbound capacity
//! ([`ServerConfig::outbound_capacity`]) until the caller reports it written with
//! [`ServerEngine::handle_written`]. Bursts the engine produces itself (replays, snapshot
//! pages, the answers to pipelined frames) are paced by those reports and never overflow it;
//! inbound frames that arrive meanwhile are held in order (see
//! [`ServerEngine::inbound_held`]: the caller should stop reading a socket while
//! [`ServerConfig::max_inbox`] of its frames are held). Live traffic that would exceed the
//! capacity closes the connection with 4009. A caller that never reports writes sees every
//! connection closed 4009 once its capacity of frames was output.
//!
//! # Group commit
//!
//! The caller may wrap a run of inputs in [`ServerEngine::begin_batch`] and
//! [`ServerEngine::end_batch`] so that their commits share one durable write of the store (one
//! fsync for SQLite, see [`Store::begin_batch`]). While the batch is open the engine holds back
//! every output it produces: none can reach a client before the commits it reports on are
//! durable. `end_batch` makes them durable and releases the outputs.
//!
//! ```
//! # use tether_server::{ConnectInfo, MemoryStore, Output, ServerConfig, ServerEngine};
//! # let mut engine = ServerEngine::new(ServerConfig::default(), MemoryStore::new("e1".into()));
//! # let (now, conn) = (0, engine.connect(0, ConnectInfo::default()));
//! # let frames: Vec<Vec<u8>> = Vec::new();
//! engine.begin_batch().ok(); // on Err, commits are durable one by one: go on unbatched
//! for frame in &frames {
//!     engine.handle_frame(now, conn, frame);
//! }
//! let failed = engine.end_batch().is_err();
//! // Only now drain the outputs. After a failure they hold none of the batch, only `Close`
//! // with 1011 for the connections it affected; the engine goes on.
//! while let Some(output) = engine.poll_output() { /* … */ }
//! # assert!(!failed);
//! ```
//!
//! If `end_batch` fails, the batch's commits may or may not be on disk while the engine's
//! in-memory state (channel heads, views) includes them. The engine recovers without a
//! restart (`recovery.rs`): it drops every output of the batch, closes with 1011
//! ([`CloseCode::Internal`]) each connection that lost an output or subscribes to a channel
//! the batch committed to, drops its cached state of those channels (their heads are read
//! from the store again), holds back later mutations of each client with a commit in the batch
//! until that one is resent, and answers the batch's API requests
//! [`ApiAnswer::Unavailable`]. Every other connection stays open. Clients resend the mutations
//! that were not acknowledged, and exactly-once holds because each dedupe record was committed
//! — or lost — together with its change.
//!
//! # Several engines over one store (cluster mode)
//!
//! With [`ServerConfig::shared_store`] several engines (one per server process) may share one
//! store, each caching the heads of its channels. A commit refused with
//! [`StoreError::OffsetMismatch`] or [`StoreError::AlreadyRecorded`] is not a failure: the engine
//! locks the channel's head for the rest of the batch ([`Store::lock_head`]), delivers the other
//! engines' commits from the log, and decides the mutation again (at most 16 times). The caller
//! carries hints between engines: after each durable batch it takes
//! [`ServerEngine::take_hints`] and gives them to the other engines as
//! [`ServerEngine::handle_log_hint`]; it also calls [`ServerEngine::sync_channels`] now and then
//! (a hint may be lost). Hints only say where to read up to: events are always read from the
//! store in offset order, so a lost, repeated or reordered hint costs latency only.

mod admission;
mod api;
mod auth;
mod bindings;
mod catchup;
mod cluster;
mod config;
mod feed;
mod flow;
mod forward;
mod jwt;
mod limits;
mod mutations;
mod notify;
mod presence;
mod recovery;
mod refresh;
mod registry;
mod relay;
mod requests;
mod session;
mod subscriptions;
#[cfg(test)]
mod tests;
mod timers;
mod views;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tether_protocol::Json;
use tether_protocol::{codec, ClientMessage, CloseCode, ErrorCode, ServerMessage};

use crate::store::{Store, StoreError};

pub use api::{
    api_origin, valid_idempotency_key, valid_key_name, ApiAnswer, ApiMutation, ApiRead, ApiReply,
    ApiRequestId, MAX_API_KEY_NAME_LEN, MAX_FEED_WAITERS, MAX_IDEMPOTENCY_KEY_LEN,
};
pub use auth::{
    mint_hs256, Audience, AuthConfig, AuthError, ChannelGrants, Claims, KeyError, TokenAuth,
    VerifyKey, DEFAULT_LEEWAY_SECS,
};
pub use config::ServerConfig;
pub use forward::{
    ForwardCall, ForwardConfig, ForwardId, ForwardOutcome, TOO_MANY_REQUESTS,
    UPSTREAM_BAD_RESPONSE, UPSTREAM_STATUS, UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE,
};
#[cfg(feature = "edge")]
pub(crate) use limits::TokenBucket;
pub use notify::MAX_SUBJECT_LEN;
pub use relay::{NodeMessage, RelayConfig, DEFAULT_EXPIRY_MS, DEFAULT_HEARTBEAT_MS};
pub use requests::RequestContext;

use requests::Handler;
use session::Conn;
use subscriptions::ChannelState;
use timers::Timers;

/// Identifies one connection inside an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "conn-{}", self.0)
    }
}

/// What the edge learned about a connection before the WebSocket upgrade.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectInfo {
    /// The `Origin` header, if any (already checked against the allow-list by the edge).
    pub origin: Option<String>,
    /// Claims of a token the edge verified before the upgrade (`?token=`); `hello` then needs
    /// no token.
    pub claims: Option<Claims>,
}

/// Something the caller must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send a text frame to a connection.
    Send {
        /// Destination.
        conn: ConnId,
        /// The JSON frame, shared across subscribers.
        frame: Arc<str>,
    },
    /// Close a connection with a code (after sending the frames output before it).
    Close {
        /// The connection.
        conn: ConnId,
        /// Close code.
        code: CloseCode,
    },
}

/// Counters for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Open connections.
    pub connections: u64,
    /// Active subscriptions over all connections.
    pub subscriptions: u64,
    /// Frames received.
    pub messages_in: u64,
    /// Frames output.
    pub messages_out: u64,
    /// Mutations applied and committed.
    pub mutations_applied: u64,
    /// Mutations answered from a dedupe record.
    pub mutations_deduped: u64,
    /// Mutations rejected as conflicts.
    pub mutations_conflicted: u64,
    /// Mutations rejected for another reason.
    pub mutations_rejected: u64,
    /// Frames dropped (or mutations delayed) by the rate limiter.
    pub rate_limited: u64,
    /// Frames answered with `BAD_MESSAGE`.
    pub bad_messages: u64,
    /// Store failures.
    pub store_errors: u64,
    /// Channels the engine holds state for (see [`ServerEngine::channel_count`]).
    pub channels: u64,
    /// Mutations not applied (their connection closed with 1011) because an earlier mutation
    /// of the same client had failed in the store and was not yet resent.
    pub mutations_held_back: u64,
    /// Connections closed with 4009 because live traffic overflowed their outbound capacity.
    pub slow_consumers: u64,
    /// Log entries of other nodes learned from the shared store and delivered (cluster mode).
    pub events_learned: u64,
    /// Commits decided again because another node had moved the channel's head
    /// ([`StoreError::OffsetMismatch`]) or recorded the mutation first.
    pub commit_retries: u64,
    /// Batches that could not be made durable ([`ServerEngine::end_batch`] failed); the
    /// engine recovered from each without a restart.
    pub failed_batches: u64,
    /// Connections closed with 1011 because a failed batch held one of their outputs or
    /// committed to a channel they subscribe to.
    pub batch_closes: u64,
}

/// The server engine: see the [module docs](self) for the run loop.
pub struct ServerEngine<S> {
    config: ServerConfig,
    store: S,
    unix_ms: u64,
    next_conn: u64,
    conns: HashMap<ConnId, Conn>,
    channels: HashMap<String, ChannelState>,
    registry: registry::Registry,
    handlers: HashMap<String, Handler>,
    outputs: VecDeque<Output>,
    timers: Timers,
    stats: Stats,
    /// While a batch is open: how many outputs from before it may still be polled.
    held: Option<usize>,
    /// What the open batch changed in memory, undone if it fails (`recovery.rs`).
    batch_log: recovery::BatchLog,
    /// Client id -> lowest id of its mutations that failed in the store and were not yet
    /// processed again; later mutations of the client are held back (see `mutations.rs`).
    held_clients: HashMap<String, u64>,
    /// Replies and waiting change-feed requests of the HTTP API (`api.rs`).
    api: api::ApiState,
    /// Requests forwarded to the app's backend (`forward.rs`).
    forward: forward::ForwardState,
    /// Hints of this node's durable commits for the fan-out link (`cluster.rs`).
    hints: cluster::Hints,
    /// Broadcasts and presence to and from other nodes (`relay.rs`).
    relay: relay::Relay,
}

impl<S: Store> ServerEngine<S> {
    /// An engine over `store`, with the built-in request methods `time` and `echo`.
    pub fn new(config: ServerConfig, store: S) -> ServerEngine<S> {
        let mut engine = ServerEngine {
            config,
            store,
            unix_ms: 0,
            next_conn: 1,
            conns: HashMap::new(),
            channels: HashMap::new(),
            registry: registry::Registry::default(),
            handlers: HashMap::new(),
            outputs: VecDeque::new(),
            timers: Timers::default(),
            stats: Stats::default(),
            held: None,
            batch_log: recovery::BatchLog::default(),
            held_clients: HashMap::new(),
            api: api::ApiState::default(),
            forward: forward::ForwardState::default(),
            hints: cluster::Hints::default(),
            relay: relay::Relay::default(),
        };
        requests::register_builtins(&mut engine);
        engine
    }

    // ---- getters ----

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Counters for metrics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (e.g. to inspect or inject faults in tests).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Ends the engine and returns its store (to restart a server on the same data).
    pub fn into_store(self) -> S {
        self.store
    }

    /// Whether a connection is open in the engine.
    pub fn is_connected(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    /// Unix ms from which the token of `conn`'s session is no longer valid (its `exp` plus the
    /// leeway); the engine closes the connection with 4001 then. `None`: no session, no
    /// expiry, or dev mode. (The hook for a token refresh before expiry.)
    pub fn token_expiry(&self, conn: ConnId) -> Option<u64> {
        self.conns.get(&conn).and_then(|c| c.token_expires_at)
    }

    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Whether a batch is open ([`ServerEngine::begin_batch`]).
    pub fn in_batch(&self) -> bool {
        self.held.is_some()
    }

    // ---- inputs ----

    /// Sets wall-clock unix time in milliseconds (token expiry, log retention). Call it before
    /// inputs whenever the wall clock may have moved; it never affects timers.
    pub fn set_unix_time_ms(&mut self, unix_ms: u64) {
        self.unix_ms = unix_ms;
    }

    /// Registers a handler for `request {method}` (replacing a built-in of the same name).
    pub fn register_handler<F>(&mut self, method: &str, handler: F)
    where
        F: FnMut(&RequestContext<'_>, Json) -> Result<Json, tether_protocol::ResponseError>
            + Send
            + 'static,
    {
        self.handlers.insert(method.to_owned(), Box::new(handler));
    }

    /// A socket was accepted; returns its id. The first frame must be `hello`.
    pub fn connect(&mut self, now: u64, info: ConnectInfo) -> ConnId {
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        let conn = Conn::new(now, info, &self.config);
        self.conns.insert(id, conn);
        self.stats.connections += 1;
        let deadline = now.saturating_add(self.config.heartbeat_timeout_ms);
        self.schedule(id, deadline);
        id
    }

    /// A text (or binary) frame arrived on `conn`. Unknown connections are ignored. While the
    /// connection is over its low watermark, or still streaming a replay or snapshot, the
    /// frame is held (see [`ServerEngine::inbound_held`]) and processed in order as credit
    /// returns ([`ServerEngine::handle_written`]).
    pub fn handle_frame(&mut self, now: u64, conn: ConnId, frame: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.last_seen = c.last_seen.max(now);
        self.stats.messages_in += 1;
        if frame.len() as u64 > self.config.max_message_bytes {
            self.handle_oversized(now, conn, Some(frame.len() as u64));
            return;
        }
        if self.must_hold(conn) {
            self.hold(now, conn, frame);
            return;
        }
        self.process_frame(now, conn, frame);
        self.pump(now, conn);
    }

    /// Decodes and dispatches one inbound frame.
    fn process_frame(&mut self, now: u64, conn: ConnId, frame: &[u8]) {
        let msg = match codec::decode_client(frame) {
            Ok(msg) => msg,
            Err(err) => {
                if self.admit_invalid_mutate(now, conn, &err) {
                    return;
                }
                self.stats.bad_messages += 1;
                self.send_error(conn, ErrorCode::BadMessage, err.to_string(), |_| {});
                return;
            }
        };
        self.dispatch(now, conn, msg);
    }

    /// The edge refused a frame larger than `max_message_bytes` on `conn` without reading it
    /// (`size` if known): answers `TOO_LARGE` and closes with 1009.
    pub fn handle_oversized(&mut self, now: u64, conn: ConnId, size: Option<u64>) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        let limit = self.config.max_message_bytes;
        let message = match size {
            Some(size) => format!("frame of {size} bytes exceeds the limit of {limit} bytes"),
            None => format!("frame exceeds the limit of {limit} bytes"),
        };
        self.send_error(conn, ErrorCode::TooLarge, message, |_| {});
        self.close_at(now, conn, CloseCode::TooLarge);
    }

    /// The socket of `conn` closed (peer, network, or the edge dropped it).
    pub fn disconnect(&mut self, now: u64, conn: ConnId) {
        self.remove_conn(now, conn);
    }

    /// Runs timers due at `now` (heartbeat timeouts, rate-limited mutations). A spurious call
    /// is a no-op.
    pub fn handle_timeout(&mut self, now: u64) {
        while let Some(conn) = self.timers.pop_due(now) {
            self.run_conn_timer(now, conn);
        }
        self.run_forward_deadlines(now);
        self.run_relay_timers(now);
    }

    /// Closes every connection with 1001 (server going away); for graceful shutdown.
    pub fn shutdown(&mut self, now: u64) {
        let mut ids: Vec<ConnId> = self.conns.keys().copied().collect();
        ids.sort();
        for id in ids {
            self.close_at(now, id, CloseCode::GoingAway);
        }
    }

    /// Starts a batch (group commit, see the [module docs](self#group-commit)): the store
    /// makes the commits of the following inputs durable together at
    /// [`ServerEngine::end_batch`], and until then [`ServerEngine::poll_output`] holds back
    /// every output produced (outputs from before the batch can still be polled). On `Err` from
    /// the store no batch is open and the engine works unbatched. A call while a batch is open
    /// does nothing.
    pub fn begin_batch(&mut self) -> Result<(), StoreError> {
        if self.held.is_some() {
            return Ok(());
        }
        self.store.begin_batch()?;
        self.held = Some(self.outputs.len());
        self.api.begin_batch();
        self.hints.begin_batch();
        Ok(())
    }

    /// Ends the batch: makes its commits durable, then releases the outputs held since
    /// [`ServerEngine::begin_batch`]. Without an open batch it does nothing.
    ///
    /// On `Err` the batch's commits may or may not be durable, and the engine recovers (see
    /// the [module docs](self#group-commit)): it drops every output and API reply of the batch,
    /// outputs `Close` with 1011 for each connection the batch affected (after any output from
    /// before the batch not yet polled), answers the batch's API requests
    /// [`ApiAnswer::Unavailable`], forgets the heads of the channels it committed to, and goes
    /// on. The caller sends those closes and keeps running.
    pub fn end_batch(&mut self) -> Result<(), StoreError> {
        let Some(ready) = self.held.take() else {
            return Ok(());
        };
        let result = self.store.end_batch();
        let dropped_api = self.api.end_batch(result.is_err());
        self.hints.end_batch(result.is_err());
        if result.is_err() {
            self.stats.store_errors += 1;
            self.stats.failed_batches += 1;
            let dropped = self.outputs.split_off(ready.min(self.outputs.len()));
            self.recover_failed_batch(dropped, dropped_api);
        }
        self.batch_log = recovery::BatchLog::default();
        result
    }

    // ---- outputs ----

    /// The earliest time `handle_timeout` should be called, if any timer is armed. May be
    /// earlier than needed (a spurious wake-up is harmless).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        [
            self.timers.next(),
            self.forward.next_deadline(),
            self.relay.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next output, in order; `None` when drained, or while a batch is open and only
    /// outputs of the batch are left.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(ready) = self.held.as_mut() {
            if *ready == 0 {
                return None;
            }
            *ready -= 1;
        }
        self.outputs.pop_front()
    }

    // ---- internals shared by the concern modules ----

    fn dispatch(&mut self, now: u64, conn: ConnId, msg: ClientMessage) {
        let handshaken = self.conns.get(&conn).is_some_and(|c| c.client_id.is_some());
        if !handshaken {
            match msg {
                ClientMessage::Hello {
                    protocol,
                    client_id,
                    token,
                    refresh,
                } => self.handle_hello(now, conn, protocol, client_id, token, refresh),
                _ => self.send_error(
                    conn,
                    ErrorCode::HandshakeRequired,
                    "the first frame must be hello".into(),
                    |_| {},
                ),
            }
            return;
        }
        if let ClientMessage::Mutate { .. } = msg {
            self.admit_mutation(now, conn, msg);
            return;
        }
        if !self.take_token(now, conn) {
            let retry = self
                .conns
                .get_mut(&conn)
                .map_or(0, |c| c.bucket.wait_ms(now));
            self.stats.rate_limited += 1;
            // Name what was dropped, so the client knows which answer will never come.
            let (dropped_channel, dropped_request) = match &msg {
                ClientMessage::Subscribe { channel, .. }
                | ClientMessage::Unsubscribe { channel }
                | ClientMessage::Broadcast { channel, .. }
                | ClientMessage::Presence { channel, .. } => (Some(channel.clone()), None),
                ClientMessage::Request { id, .. } => (None, Some(*id)),
                _ => (None, None),
            };
            self.send_error(
                conn,
                ErrorCode::RateLimited,
                "too many messages; this frame was dropped".into(),
                |e| {
                    if let ServerMessage::Error {
                        retry_after_ms,
                        channel,
                        request_id,
                        ..
                    } = e
                    {
                        *retry_after_ms = Some(retry.max(1));
                        *channel = dropped_channel;
                        *request_id = dropped_request;
                    }
                },
            );
            return;
        }
        match msg {
            ClientMessage::Hello { .. } => self.send_error(
                conn,
                ErrorCode::BadMessage,
                "hello was already received on this connection".into(),
                |_| {},
            ),
            ClientMessage::Subscribe {
                channel,
                filter,
                ids,
                since,
            } => {
                if self.admit_channel(now, conn, &channel) {
                    self.handle_subscribe(now, conn, channel, (filter, ids), since);
                }
            }
            ClientMessage::Unsubscribe { channel } => self.handle_unsubscribe(conn, channel),
            ClientMessage::Mutate { .. } => {}
            ClientMessage::Broadcast { channel, payload } => {
                self.handle_broadcast(conn, channel, payload)
            }
            ClientMessage::Request { id, method, body } => {
                self.handle_request(now, conn, id, method, body)
            }
            ClientMessage::Presence { channel, state } => {
                self.handle_presence(conn, channel, state)
            }
            ClientMessage::Ping { nonce } => {
                self.send_msg(conn, &ServerMessage::Pong { nonce });
            }
            ClientMessage::Auth { token } => self.handle_auth(now, conn, token),
        }
    }

    fn take_token(&mut self, now: u64, conn: ConnId) -> bool {
        self.conns
            .get_mut(&conn)
            .is_some_and(|c| c.bucket.try_take(now))
    }

    /// Outputs a frame to one connection, counting it against the connection's capacity
    /// (see [`flow`]); a full connection is closed with 4009 instead. Frames to unknown
    /// connections are dropped.
    fn send_frame(&mut self, conn: ConnId, frame: Arc<str>) {
        if !self.take_credit(conn) {
            return;
        }
        self.stats.messages_out += 1;
        self.outputs.push_back(Output::Send { conn, frame });
    }

    /// Encodes and outputs a message to one connection.
    fn send_msg(&mut self, conn: ConnId, msg: &ServerMessage) {
        let frame: Arc<str> = Arc::from(codec::encode_server(msg));
        self.send_frame(conn, frame);
    }

    /// Outputs an `error` frame; `fill` sets the optional fields.
    fn send_error(
        &mut self,
        conn: ConnId,
        code: ErrorCode,
        message: String,
        fill: impl FnOnce(&mut ServerMessage),
    ) {
        let mut msg = ServerMessage::Error {
            code,
            message,
            channel: None,
            mutation_id: None,
            request_id: None,
            retry_after_ms: None,
        };
        fill(&mut msg);
        self.send_msg(conn, &msg);
    }

    /// Outputs a close and forgets the connection.
    fn close(&mut self, conn: ConnId, code: CloseCode) {
        let now = self.conns.get(&conn).map_or(0, |c| c.last_seen);
        self.close_at(now, conn, code);
    }

    fn close_at(&mut self, now: u64, conn: ConnId, code: CloseCode) {
        if self.conns.contains_key(&conn) {
            self.remove_conn(now, conn);
            self.outputs.push_back(Output::Close { conn, code });
        }
    }
}

/// Sets the `channel` field of an error frame.
fn with_channel(channel: &str) -> impl FnOnce(&mut ServerMessage) + '_ {
    move |msg| {
        if let ServerMessage::Error { channel: c, .. } = msg {
            *c = Some(channel.to_owned());
        }
    }
}
