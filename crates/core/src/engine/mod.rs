//! The engine: ties connection, backoff, outbox, optimistic store, continuity and ingest
//! together behind sans-IO inputs and outputs.
//!
//! Methods are grouped like quinn-proto's: getters (here), inputs from the shell
//! (`lifecycle.rs`: sockets, frames, timeouts, network and visibility signals), app calls
//! (`api.rs`: subscribe, mutate, ...), and outputs (`poll_output`, `poll_timeout`). Every input
//! takes `now` (monotonic ms) and may queue outputs; drain `poll_output` after each input, then
//! re-arm one timer at `poll_timeout`.

mod api;
pub use api::Precondition;
mod flush;
mod incoming;
mod lifecycle;

use crate::sorted::{ChunkedMap, SortedMap};
use std::collections::VecDeque;

use tether_protocol::Json;
use tether_protocol::{codec, ClientMessage, Document, Since};

use crate::backoff::Backoff;
use crate::barrier::Barrier;
use crate::budget::SendBudget;
use crate::config::{Auth, Config};
use crate::connection::{ConnectionState, Heartbeat};
use crate::continuity::Subscription;
use crate::error::{ConnectionError, EngineError, RequestError};
use crate::ingest::Ingest;
use crate::outbox::{Outbox, PendingMutation};
use crate::output::{Output, Status};
use crate::persist::{Persist, PersistedState};
use crate::rng::Rng;
use crate::store::{ChannelStore, VisibleDoc};
use crate::timer::TimerTable;
use crate::view::{View, ViewId};

/// A change of the measured round-trip time alone publishes a `Status` at most this often (ms).
pub const LATENCY_PUBLISH_MS: u64 = 1_000;

/// State of one channel: its optimistic store, subscription and our presence on it.
#[derive(Debug, Clone)]
struct Channel {
    store: ChannelStore,
    sub: Subscription,
    presence: Option<Json>,
    /// The server dropped a `presence` frame of this channel (`RATE_LIMITED` naming it): send
    /// the current state again when the send budget allows.
    presence_resend: bool,
    /// Everyone else present on the channel, by client id.
    members: SortedMap<String, Json>,
    /// The documents come from the local cache, restored with a resume point, and no
    /// `subscribed` has answered since: views of it are `cached`.
    cached: bool,
}

/// A broadcast or request waiting for a connection.
#[derive(Debug, Clone)]
enum Queued {
    Broadcast { channel: String, payload: Json },
    Request { id: u64, method: String, body: Json },
}

#[derive(Debug, Clone, Copy)]
struct PendingRequest {
    deadline: u64,
    sent: bool,
}

/// The sans-IO client engine. See the crate docs for the run loop.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    rng: Rng,
    client_id: String,
    state: ConnectionState,
    online: bool,
    visible: bool,
    token: Option<String>,
    /// The server refused the token: ask for a new one before the next attempt.
    token_stale: bool,
    /// A token was set after `hello` went out with the previous one: sent with `auth` as
    /// soon as the session is ready (a reconnect's `hello` carries it instead).
    auth_after_welcome: bool,
    backoff: Backoff,
    /// The endpoint the next (or current) socket is for (below `config.endpoints`).
    endpoint: usize,
    heartbeat: Heartbeat,
    timers: TimerTable,
    outbox: Outbox,
    channels: SortedMap<String, Channel>,
    views: SortedMap<ViewId, View>,
    next_view: u64,
    ingest: Ingest,
    queue: VecDeque<Queued>,
    requests: SortedMap<u64, PendingRequest>,
    next_request: u64,
    retry_hint: Option<u64>,
    /// The server's rate limit as announced in `welcome` (None before the first one).
    budget: Option<SendBudget>,
    /// Writes gathered and in flight, and the frames waiting for them.
    barrier: Barrier,
    /// The last write batch was stored.
    storage_ok: bool,
    last_error: Option<ConnectionError>,
    last_status: Option<Status>,
    /// When the last `Status` output was made (engine ms), to throttle latency-only changes.
    last_status_at: u64,
    urgent_flush: bool,
    /// When the oldest change not yet flushed arrived (engine ms).
    unflushed_since: Option<u64>,
    /// When the last change-set flush happened (engine ms).
    last_flush: Option<u64>,
    /// What the last frame says of a burst (see [`Burst`]).
    burst: Burst,
    /// Since when cache writes have been waiting (engine ms).
    cache_dirty_since: Option<u64>,
    outputs: VecDeque<Output>,
}

impl Engine {
    /// A new client with a fresh outbox. `client_id` must be stable for this client (the
    /// shell generates and persists it; it is also emitted as `Persist::ClientId`). `seed`
    /// seeds the backoff jitter.
    pub fn new(config: Config, client_id: impl Into<String>, seed: u64) -> Engine {
        let mut engine = Engine::blank(config, client_id.into(), seed, Outbox::default());
        let client_id = engine.client_id.clone();
        engine.persist(Persist::ClientId { client_id });
        engine
    }

    /// Resumes from persisted state: the outbox (sent again on connect, same ids), the cached
    /// confirmed documents and their resume points (so views show cached data at once and
    /// subscriptions resume with `since`).
    pub fn restore(config: Config, state: PersistedState, seed: u64) -> Engine {
        let outbox = Outbox::restore(state.outbox.into_values().collect(), state.last_mutation_id);
        let mut engine = Engine::blank(config, state.client_id, seed, outbox);
        for (name, cached) in state.channels {
            let from_cache = cached.cursor.is_some();
            let mut channel = Channel {
                store: ChannelStore::from_confirmed(cached.documents),
                sub: Subscription::new(cached.cursor, cached.filter_key),
                presence: None,
                presence_resend: false,
                members: SortedMap::new(),
                cached: from_cache,
            };
            let ids = engine.outbox.pending_ids(&name);
            for id in ids {
                channel
                    .store
                    .rebase(&id, engine.outbox.pending_for(&name, &id));
            }
            engine.channels.insert(name, channel);
        }
        engine
    }

    fn blank(config: Config, client_id: String, seed: u64, outbox: Outbox) -> Engine {
        let token = match &config.auth {
            Auth::Static(token) => Some(token.clone()),
            _ => None,
        };
        Engine {
            rng: Rng::new(seed),
            client_id,
            state: ConnectionState::Idle,
            online: config.start_online,
            visible: true,
            token,
            token_stale: false,
            auth_after_welcome: false,
            backoff: Backoff::new(config.backoff.clone()),
            endpoint: 0,
            heartbeat: Heartbeat::default(),
            timers: TimerTable::default(),
            outbox,
            channels: SortedMap::new(),
            views: SortedMap::new(),
            next_view: 1,
            ingest: Ingest::default(),
            queue: VecDeque::new(),
            requests: SortedMap::new(),
            next_request: 1,
            retry_hint: None,
            budget: None,
            barrier: Barrier::default(),
            storage_ok: true,
            last_error: None,
            last_status: None,
            last_status_at: 0,
            urgent_flush: false,
            unflushed_since: None,
            last_flush: None,
            burst: Burst::None,
            cache_dirty_since: None,
            outputs: VecDeque::new(),
            config,
        }
    }

    // ---- getters ----

    /// This client's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The endpoint (an index below `Config::endpoints`) that an `Output::OpenSocket` is for:
    /// the shell reads it when it opens the socket.
    pub fn current_endpoint(&self) -> usize {
        self.endpoint
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// Current status, with counters.
    pub fn status(&self) -> Status {
        Status {
            state: self.state,
            attempt: self.backoff.attempt(),
            next_retry_at: if self.state == ConnectionState::Backoff {
                self.timers.get(crate::timer::Timer::Reconnect)
            } else {
                None
            },
            rtt_ms: self.heartbeat.rtt_ms(),
            pending_mutations: self.outbox.len(),
            queued_messages: self.queue.len(),
            online: self.online,
            endpoint: self.endpoint,
            last_error: self.last_error.clone(),
            counters: self.ingest.counters,
        }
    }

    /// The documents of a view (its channel's visible documents through its filter), in id
    /// order.
    pub fn view(&self, view: ViewId) -> Result<Vec<&VisibleDoc>, EngineError> {
        let v = self
            .views
            .get(&view)
            .ok_or(EngineError::UnknownView { view: view.0 })?;
        let mut docs = Vec::new();
        if let Some(c) = self.channels.get(&v.channel) {
            for d in c.store.visible.values() {
                if v.matches(d) {
                    docs.push(d);
                }
            }
        }
        Ok(docs)
    }

    /// A channel's confirmed documents (the server's state as far as events told us).
    pub fn confirmed(&self, channel: &str) -> Option<&ChunkedMap<String, Document>> {
        self.channels.get(channel).map(|c| &c.store.confirmed)
    }

    /// A channel's visible documents (`confirmed ⊕ pending`, unfiltered).
    pub fn visible(&self, channel: &str) -> Option<&ChunkedMap<String, VisibleDoc>> {
        self.channels.get(channel).map(|c| &c.store.visible)
    }

    /// A channel's resume point.
    pub fn cursor(&self, channel: &str) -> Option<&Since> {
        self.channels
            .get(channel)
            .and_then(|c| c.sub.cursor.as_ref())
    }

    /// Channels the engine holds state for.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.channels.keys().map(String::as_str)
    }

    /// The pending layer: unacknowledged mutations whose own event has not arrived, in order.
    pub fn pending(&self) -> impl Iterator<Item = &PendingMutation> {
        self.outbox.pending()
    }

    /// The whole outbox (unacknowledged mutations), in order.
    pub fn outbox(&self) -> impl Iterator<Item = &PendingMutation> {
        self.outbox.all()
    }

    /// Whether cache writes are waiting for `cache_interval_ms` (they are emitted at once when
    /// the page is hidden, goes offline or the client closes).
    pub fn cache_pending(&self) -> bool {
        !self.ingest.cache.is_empty()
    }

    /// Whether the channel's subscription is answered and live on this connection.
    pub fn is_live(&self, channel: &str) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|c| c.sub.state == crate::continuity::SubState::Live)
    }

    // ---- outputs ----

    /// The next output, or None when drained. Drain after every input.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next deadline (engine time, ms): call `handle_timeout` then. A spurious or early
    /// call is harmless.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        let requests = self.requests.values().map(|r| r.deadline).min();
        match (self.timers.next(), requests) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- helpers shared by the input groups ----

    fn send(&mut self, msg: &ClientMessage) {
        self.ingest.counters.frames_sent += 1;
        if !matches!(msg, ClientMessage::Hello { .. }) {
            if let Some(budget) = self.budget.as_mut() {
                budget.charge();
            }
        }
        let mutation = match msg {
            ClientMessage::Mutate { mutation_id, .. } => Some(*mutation_id),
            _ => None,
        };
        // Durable before sent: a `mutate` waits for its `OutboxPut`, later frames behind it.
        if let Some(frame) = self.barrier.send(codec::encode_client(msg), mutation) {
            self.outputs.push_back(Output::Send(frame));
        }
    }

    /// Adds a durable write to the next batch (telling the shell when one is ready).
    fn persist(&mut self, write: Persist) {
        if self.barrier.push(write) {
            self.outputs.push_back(Output::WriteReady);
        }
    }

    fn respond(&mut self, id: u64, result: Result<Json, RequestError>) {
        if self.requests.remove(&id).is_some() {
            self.queue
                .retain(|q| !matches!(q, Queued::Request { id: qid, .. } if *qid == id));
            self.outputs.push_back(Output::Response { id, result });
        }
    }

    /// Recomputes the visible document of `id` and marks it changed if it did.
    fn rebase(&mut self, channel: &str, id: &str) {
        let Some(ch) = self.channels.get_mut(channel) else {
            return;
        };
        if ch.store.rebase(id, self.outbox.pending_for(channel, id)) {
            self.ingest.touch(channel, id);
        }
    }

    /// Ends every input: schedules or performs the flush and reports a status change.
    fn finish(&mut self, now: u64) {
        let views_waiting = self.views.values().any(View::wants_flush);
        let cache_later = self.config.cache_interval_ms > 0;
        if !self.ingest.cache.is_empty() && cache_later {
            // Debounced: written once input has been quiet for the interval (so a burst is
            // written once, after it), but never later than 8 intervals after the first change.
            let interval = self.config.cache_interval_ms;
            let since = *self.cache_dirty_since.get_or_insert(now);
            let due = (now + interval).min(since + 8 * interval);
            self.timers.set(crate::timer::Timer::CacheFlush, due);
        }
        let dirty = !self.ingest.visible.is_empty() || !cache_later && self.ingest.is_dirty();
        if dirty || views_waiting {
            if self.urgent_flush || self.config.flush_interval_ms == 0 {
                self.flush(now);
            } else {
                // Due at once (the shell's zero-delay timer still lets input already queued
                // join the batch), unless the last frame says a burst is on (see `Burst`).
                let interval = self.config.flush_interval_ms;
                let since = *self.unflushed_since.get_or_insert(now);
                let due = match self.burst {
                    Burst::None => now,
                    Burst::Backlog => self.last_flush.map_or(now, |last| now.max(last + interval)),
                    Burst::Continues => since + self.config.burst_hold_ms.unwrap_or(interval),
                };
                match self.timers.get(crate::timer::Timer::Flush) {
                    Some(set) if set <= due => {}
                    _ => self.timers.set(crate::timer::Timer::Flush, due),
                }
            }
        }
        self.urgent_flush = false;
        let status = self.status();
        let publish = match &self.last_status {
            None => true,
            Some(last) => {
                status.differs(last)
                    // A new round-trip time alone is published too, at most once per
                    // LATENCY_PUBLISH_MS, so a quiet connection's latency does not go stale.
                    || (status.rtt_ms != last.rtt_ms
                        && now >= self.last_status_at.saturating_add(LATENCY_PUBLISH_MS))
            }
        };
        if publish {
            self.last_status = Some(status.clone());
            self.last_status_at = now;
            self.outputs.push_back(Output::Status(status));
        }
    }
}

/// What the last frame received says of a burst, for the flush decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Burst {
    /// One message (or other input): live traffic, flushed at once.
    None,
    /// Several messages joined into one frame: the server had a backlog for this client, so
    /// change sets are throttled to one per flush interval (the first after a quiet interval
    /// at once).
    Backlog,
    /// A full frame ([`tether_protocol::MAX_JOINED_FRAME_BYTES`] or more): the server stopped
    /// joining at its cap, so more is queued behind it; the change set waits for the frame
    /// that ends the burst, at most `Config::burst_hold_ms` (default: one flush interval)
    /// after its oldest change.
    Continues,
}
