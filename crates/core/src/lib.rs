//! Tether's sans-IO client engine.
//!
//! The [`Engine`] is a pure state machine: no sockets, no clock, no randomness of its own.
//! Its shell (the WASM crate in a browser, or a test harness) feeds it inputs — socket
//! events, received frames, `handle_timeout(now)`, online/offline and visibility signals, and
//! the app's calls — and drains its [`Output`]s: open/close the socket, send frames, persist
//! the outbox and the channel cache, and hand change-sets, mutation outcomes, presence and
//! status to the app. Time is `u64` monotonic milliseconds passed in; backoff jitter comes
//! from a seed passed in. So a simulation runs thousands of fault schedules in milliseconds.
//!
//! # The run loop
//!
//! ```
//! use tether_core::{Config, Engine, Output};
//!
//! let mut engine = Engine::new(Config::default(), "client-1", 0x5eed);
//! let tasks = engine.subscribe(0, "tasks", None).unwrap();
//! engine.connect(0);
//! let mut now = 0;
//! for _ in 0..3 {
//!     // 1. Drain every output after every input.
//!     while let Some(output) = engine.poll_output() {
//!         match output {
//!             Output::OpenSocket => {
//!                 // to endpoint engine.current_endpoint() (with Config::endpoints > 1)
//!                 /* open a WebSocket; later: engine.socket_opened(now) */
//!             }
//!             Output::CloseSocket { .. } => { /* close it; do not report socket_closed */ }
//!             Output::Send(_frame) => { /* socket.send(frame) */ }
//!             Output::WriteReady => {
//!                 // Later (e.g. at the end of the current task, so that more writes join):
//!                 if let Some(batch) = engine.take_writes() {
//!                     /* one IndexedDB transaction with batch.writes, then: */
//!                     engine.write_done(now, batch.id, Ok(()));
//!                 }
//!             }
//!             Output::NeedToken => { /* call the token provider, then engine.set_token(..) */ }
//!             Output::Changes(_sets) => { /* hand change-sets to the app */ }
//!             Output::Mutation(_outcome) => { /* resolve or reject the mutate() promise */ }
//!             _ => {}
//!         }
//!     }
//!     // 2. Arm one timer for the next deadline; when it fires, call handle_timeout.
//!     match engine.poll_timeout() {
//!         Some(at) => {
//!             now = at;
//!             engine.handle_timeout(now);
//!         }
//!         None => break,
//!     }
//!     // Socket events and frames: engine.socket_opened(now), engine.handle_message(now,
//!     // bytes), engine.socket_closed(now, code); browser signals: engine.went_online(now)...
//! }
//! assert!(engine.view(tasks).unwrap().is_empty());
//! ```
//!
//! # Guarantees the shell and the app can rely on
//!
//! * **Durable before sent.** The engine holds every `mutate` frame (and every frame behind
//!   one) until the write batch with its `OutboxPut` is reported durable
//!   ([`Engine::write_done`]); a batch that fails withdraws its mutations (rolled back,
//!   `Rejection::Storage`) and their frames are never sent. So the server never sees a
//!   mutation id the client could forget.
//! * **Exactly once, in order.** Mutation ids grow per client across restarts; the whole
//!   outbox is resent in order after every (re)connect and leaves it only on `ack`/`reject`;
//!   each mutation gets one [`MutationOutcome`].
//! * **Optimistic, no double show.** A view shows `confirmed ⊕ pending`; the mutation's own
//!   event moves it from pending to confirmed; a rejection rolls back that mutation alone and
//!   is reported before the (immediately flushed) change-set that shows the rollback.
//! * **No silent gaps.** Events apply only in sequence (`prev` chain); duplicates are
//!   dropped, a gap resubscribes `since` the cursor, and every (re)subscription is reported as
//!   `recovered` or `reset` in the view's next [`ChangeSet`].
//! * **Attributable answers.** At most one `subscribe` answer is awaited per channel (a
//!   filter change waits for it). A `RATE_LIMITED` error that names no frame, or names only
//!   the channel (which its `unsubscribe`, `broadcast` and `presence` share), makes the engine
//!   send a pending `subscribe` again, identically, after `retry_after_ms`, or replace the
//!   connection when the channel's views changed since it was sent; a `subscribe` unanswered
//!   for the handshake timeout replaces the connection.
//!
//! Known transient: after a `reset` snapshot, a pending mutation the server had already
//! applied (its ack lost) is folded in once more until its ack arrives. Put, patch and delete
//! are idempotent on the same base, so this shows only when someone else changed the same
//! fields in between.
//!
//! # Parts
//!
//! * [`backoff`]: capped exponential reconnect delays with full jitter.
//! * [`connection`]: connection states, heartbeat and round-trip time.
//! * `outbox`: ordered unacknowledged mutations, resent after every reconnect.
//! * [`store`]: confirmed documents ⊕ pending mutations per channel.
//! * `continuity`: cursors, duplicate and gap detection, `recovered` / `reset`.
//! * [`ingest`]: batching and coalescing of change notifications, counters.
//! * [`persist`]: what the shell stores, and [`PersistedState`] to [`Engine::restore`] from.

pub mod backoff;
mod config;
pub mod connection;
mod continuity;
mod engine;
mod error;
pub mod ingest;
mod outbox;
mod output;
pub mod persist;
pub mod rng;
pub mod store;
pub mod stored;
mod timer;
mod view;

pub use tether_protocol as protocol;

mod barrier;
mod budget;
mod sorted;

pub use backoff::{Backoff, BackoffConfig};
pub use barrier::WriteBatch;
pub use config::{Auth, Config};
pub use connection::ConnectionState;
pub use engine::{Engine, Precondition, LATENCY_PUBLISH_MS};
pub use error::{ConnectionError, EngineError, Rejection, RequestError};
pub use ingest::Counters;
pub use outbox::PendingMutation;
pub use output::{Conflict, MutationOutcome, Output, PresenceChange, Status};
pub use persist::{CachedChannel, ChannelDelta, Persist, PersistedState};
pub use rng::Rng;
pub use sorted::{ChunkKey, ChunkedMap, ChunkedSet, Entry, SortedMap, SortedSet};
pub use store::{overlay, VisibleDoc};
pub use stored::StoredError;
pub use view::{ChangeSet, ViewEvent, ViewId};
