//! Engine configuration.

use crate::backoff::BackoffConfig;

/// How the engine obtains its auth token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// The server runs without auth (dev mode).
    #[default]
    None,
    /// A fixed token; after an auth failure (close 4001) the engine emits
    /// `Output::NeedToken` and waits for `set_token`.
    Static(String),
    /// Ask for a fresh token (`Output::NeedToken`, answered by `set_token` or `token_failed`)
    /// before every connection attempt, and before the open session's token expires (`hello`
    /// says `refresh: true`; the fresh token is sent with `auth`, without a reconnect).
    Provider,
}

/// Engine settings. `Config::default()` suits a browser app.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Reconnect backoff.
    pub backoff: BackoffConfig,
    /// Auth token source.
    pub auth: Auth,
    /// Socket open + `welcome` must complete within this (ms, default 10 000).
    pub handshake_timeout_ms: u64,
    /// Ping interval (ms); default: a third of the server's `heartbeat_timeout_ms`.
    pub ping_interval_ms: Option<u64>,
    /// The link is dead when nothing arrived for this long (ms); default: two ping
    /// intervals.
    pub dead_link_timeout_ms: Option<u64>,
    /// The flush interval of bursts (ms, default 16: one frame). A change is due at once (a
    /// timer at `now`, so input already queued in the shell joins it) unless its frame says a
    /// burst is on: a frame of several messages (the server had a backlog) is flushed at most
    /// once per interval; a full frame (`MAX_JOINED_FRAME_BYTES` or more: the server stopped
    /// joining there, so more is queued behind it) waits for the frame that ends the burst, at
    /// most this long after its oldest change. 0 flushes after every input.
    pub flush_interval_ms: u64,
    /// How long, at most, a burst that continues (full frames) holds its changes after the
    /// oldest of them (ms; `None`: [`Config::flush_interval_ms`]). A longer hold makes a long
    /// burst (a replay, a backlog released at once) one change set, at the cost of showing
    /// nothing of it meanwhile; a live event (a frame of one message) is never held by it.
    pub burst_hold_ms: Option<u64>,
    /// Cache writes (confirmed documents and resume points, read back after a reload) wait
    /// until input has been quiet for this long (ms, default 250), but no longer than 8 times
    /// it, so a burst of events writes each document once, after the burst, not once per
    /// flush. Written later, the cache is an older but consistent state (documents and resume
    /// point together). 0 writes with every flush.
    pub cache_interval_ms: u64,
    /// Requests fail with `RequestError::Timeout` after this (ms, default 10 000).
    pub request_timeout_ms: u64,
    /// Broadcasts and requests queued while not connected (default 100).
    pub offline_queue_limit: usize,
    /// Whether the engine may connect right away (the shell passes `navigator.onLine`).
    pub start_online: bool,
    /// How many server endpoints the shell can open sockets to (default 1; 0 counts as 1).
    /// Each `Output::OpenSocket` is for [`crate::Engine::current_endpoint`]: the engine stays
    /// on an endpoint while its connections work, and moves to the next (round-robin) after
    /// a connection that failed to open or handshake, or dropped. Backoff is unchanged by
    /// it: every failed attempt counts, whichever endpoint it was for.
    pub endpoints: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backoff: BackoffConfig::default(),
            auth: Auth::None,
            handshake_timeout_ms: 10_000,
            ping_interval_ms: None,
            dead_link_timeout_ms: None,
            flush_interval_ms: 16,
            burst_hold_ms: None,
            cache_interval_ms: 250,
            request_timeout_ms: 10_000,
            offline_queue_limit: 100,
            start_online: true,
            endpoints: 1,
        }
    }
}
