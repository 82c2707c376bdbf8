//! Tether's reference server.
//!
//! * [`engine`]: the sans-IO server engine ([`ServerEngine`]): sessions, subscriptions and
//!   filtered views, mutation application with exactly-once dedupe, offsets and replay,
//!   presence, broadcast, request/response, auth and limits. No IO, no clock, no randomness:
//!   time is passed in, outputs are drained with [`ServerEngine::poll_output`].
//! * [`store`]: the [`Store`] trait the engine persists through, with [`MemoryStore`] (tests,
//!   simulation), with the `sqlite` feature [`SqliteStore`] (production, embedded), and with
//!   the `postgres` feature `PgStore` (PostgreSQL, the source of truth of the coming cluster
//!   mode; `--database-url`).
//! * `edge` (feature `edge`, on by default): the axum/tokio WebSocket server that moves frames
//!   between sockets and the engine, and the `tether-server` binary.
//!
//! With `default-features = false` the crate needs neither tokio nor SQLite, so a deterministic
//! simulation can drive the real engine over a [`MemoryStore`].

pub mod engine;
pub mod store;

#[cfg(feature = "edge")]
pub mod edge;

pub use engine::{
    api_origin, valid_idempotency_key, valid_key_name, ApiAnswer, ApiMutation, ApiRead, ApiReply,
    ApiRequestId, MAX_API_KEY_NAME_LEN, MAX_FEED_WAITERS, MAX_IDEMPOTENCY_KEY_LEN,
};
pub use engine::{
    mint_hs256, Audience, AuthConfig, AuthError, ChannelGrants, Claims, ConnId, ConnectInfo,
    KeyError, Output, RequestContext, ServerConfig, ServerEngine, Stats, TokenAuth, VerifyKey,
    DEFAULT_LEEWAY_SECS,
};
pub use engine::{
    ForwardCall, ForwardConfig, ForwardId, ForwardOutcome, TOO_MANY_REQUESTS,
    UPSTREAM_BAD_RESPONSE, UPSTREAM_STATUS, UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE,
};
pub use engine::{NodeMessage, RelayConfig, DEFAULT_EXPIRY_MS, DEFAULT_HEARTBEAT_MS};
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
pub use store::{
    ChannelHead, Commit, Dedupe, LogEntry, MemoryStore, Retention, Store, StoreError, StoredDoc,
};
pub use tether_protocol as protocol;
