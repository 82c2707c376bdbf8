//! Engine configuration.

use super::auth::AuthConfig;
use super::forward::ForwardConfig;

/// What the engine enforces. [`ServerConfig::default`] is a dev-mode server with generous
/// limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// A connection silent for longer than this is closed with 4010 (announced in `welcome`).
    pub heartbeat_timeout_ms: u64,
    /// Largest accepted frame in bytes; larger: `TOO_LARGE` + close 1009.
    pub max_message_bytes: u64,
    /// Most channels one connection may subscribe to at once.
    pub max_subscriptions: u32,
    /// Sustained messages per second per connection (0 = unlimited).
    pub rate_per_sec: u32,
    /// Burst of messages per connection above the sustained rate.
    pub rate_burst: u32,
    /// Subscribes per second one connection may make to channels the engine has not loaded
    /// (burst: this plus `max_subscriptions`); 0 = unlimited.
    pub new_channels_per_sec: u32,
    /// Mutations delayed by the rate limiter that one connection may have queued; one more
    /// closes the connection with 4008.
    pub max_delayed_mutations: usize,
    /// Most log entries retained per channel for `since` replay.
    pub retain_events: u64,
    /// Log entries older than this cannot be replayed (the subscriber gets a reset).
    pub retain_ms: u64,
    /// Dedupe records kept per client (its newest mutation ids).
    pub dedupe_per_client: u64,
    /// A client that committed nothing for this long loses its dedupe records (its highest
    /// processed id is kept).
    pub dedupe_max_age_ms: u64,
    /// Most clients the store remembers; beyond it the one inactive longest is forgotten.
    pub max_clients: u64,
    /// Frames one connection may have output and not yet reported written
    /// ([`crate::ServerEngine::handle_written`]): its outbound capacity. Replays, snapshot pages
    /// and the processing of its further inbound frames run only while fewer than half of it
    /// are in flight; live traffic that would exceed it closes the connection with 4009 (a
    /// reader that stopped reading). At least 2.
    pub outbound_capacity: usize,
    /// Inbound frames one connection may have waiting while its outbound frames are over the
    /// low watermark; the edge stops reading the socket at this many (one more closes the
    /// connection with 4008).
    pub max_inbox: usize,
    /// Encoded document bytes per page of a streamed snapshot (a larger document goes alone);
    /// at most a quarter of `max_message_bytes` is used.
    pub snapshot_page_bytes: usize,
    /// Authentication.
    pub auth: AuthConfig,
    /// How long before its token expires a session whose client offered `refresh` is sent
    /// `token_expiring`.
    pub token_refresh_ms: u64,
    /// `request` methods forwarded to the app's backend (none by default).
    pub forward: ForwardConfig,
    /// Other servers write the same store (cluster mode, see CLUSTER.md): a `subscribe`
    /// first reads the channel's head from the store and delivers the commits of other nodes
    /// up to it, so a new subscriber never starts from a stale cached head. Off for a store
    /// only this engine writes.
    pub shared_store: bool,
}

impl ServerConfig {
    /// The outbound capacity in use (at least 2).
    pub fn capacity(&self) -> usize {
        self.outbound_capacity.max(2)
    }

    /// Below this many frames in flight, server-produced bursts run (half the capacity).
    pub fn low_watermark(&self) -> usize {
        self.capacity() / 2
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            heartbeat_timeout_ms: 30_000,
            max_message_bytes: 256 * 1024,
            max_subscriptions: 64,
            rate_per_sec: 100,
            rate_burst: 200,
            new_channels_per_sec: 20,
            max_delayed_mutations: 1_000,
            retain_events: 10_000,
            retain_ms: 3_600_000,
            dedupe_per_client: 1_000,
            dedupe_max_age_ms: 30 * 24 * 3_600_000,
            max_clients: 1_000_000,
            outbound_capacity: 1_024,
            max_inbox: 256,
            snapshot_page_bytes: 48 * 1024,
            auth: AuthConfig::Dev,
            token_refresh_ms: 30_000,
            forward: ForwardConfig::default(),
            shared_store: false,
        }
    }
}
