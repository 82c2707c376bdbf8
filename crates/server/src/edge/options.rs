//! Command-line flags and environment variables of `tether-server`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, ValueEnum};

use super::EdgeError;
use crate::engine::{
    AuthConfig, Claims, ForwardConfig, ServerConfig, TokenAuth, VerifyKey, DEFAULT_LEEWAY_SECS,
};

/// Read-window permits of one connection (the engine's `max_inbox`): each inbound frame handed
/// to the engine takes [`read_units`] of them until the engine consumed it, and the socket is
/// not read while they are taken. So the engine holds at most this many unprocessed frames of
/// a connection, and at most `READ_WINDOW * READ_UNIT` bytes (1 MiB) plus one frame.
pub(crate) const READ_WINDOW: usize = 256;
/// Bytes per read-window permit.
const READ_UNIT: usize = 4_096;

/// The read-window permits a frame of `len` bytes takes (at least 1, at most the window).
pub(crate) fn read_units(len: usize) -> u32 {
    u32::try_from(len.div_ceil(READ_UNIT).clamp(1, READ_WINDOW)).unwrap_or(1)
}

/// SQLite durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncMode {
    /// `synchronous=FULL`: every acknowledged mutation survives power loss.
    Full,
    /// `synchronous=NORMAL`: survives a process crash; the last commits may be lost on power
    /// loss. Faster.
    Normal,
}

/// Tether reference server: realtime + offline sync over WebSocket, stored in SQLite.
///
/// Endpoints: `GET /ws` (WebSocket; a token may be passed as `?token=`), `GET /healthz` (200
/// `ok`, or 503 with the reason while the database cannot be written: it probes with a real
/// write at most every 500 ms), `GET /metrics` (Prometheus text), the HTTP API for app
/// backends under `/api/v1` (with `--api-key`; API.md), and with `--static DIR` the files of DIR.
#[derive(Debug, Clone, Parser)]
#[command(name = "tether-server", version)]
pub struct Options {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "TETHER_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// SQLite database file (created if missing, with a new epoch); `:memory:` for a
    /// throw-away database.
    #[arg(long, env = "TETHER_DB", default_value = "tether.sqlite3")]
    pub db: PathBuf,

    /// Store in PostgreSQL instead of the SQLite file `--db`: a connection URL such as
    /// `postgres://user@127.0.0.1:5432/tether` (the schema is created if missing). Only in a
    /// build with the `postgres` feature; the source of truth of cluster mode: several servers
    /// may share one database (CLUSTER.md).
    #[arg(long, env = "TETHER_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Cluster mode's fan-out link: a Redis URL such as `redis://127.0.0.1:6379` over which
    /// the servers sharing `--database-url` tell each other of their commits (pub/sub hints;
    /// the events themselves are read from PostgreSQL). Without it they poll the database every
    /// 250 ms. Only in a build with the `cluster` feature (CLUSTER.md).
    #[arg(long, env = "TETHER_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// SQLite durability of each commit.
    #[arg(long, env = "TETHER_SQLITE_SYNC", value_enum, default_value = "full")]
    pub sqlite_sync: SyncMode,

    /// Development mode: no authentication, every client may use every channel.
    #[arg(long, env = "TETHER_DEV")]
    pub dev: bool,

    /// Shared secret of HS256-signed JWT client tokens (its UTF-8 bytes, as given). Also the
    /// secret `tether-server token` mints with.
    #[arg(long, env = "TETHER_AUTH_SECRET", hide_env_values = true)]
    pub auth_secret: Option<String>,

    /// PEM file of a public key verifying JWT client tokens: RSA (RS256) or EC P-256 (ES256),
    /// for any `kid` (repeatable, or comma-separated in the env var).
    #[arg(
        long = "jwt-public-key",
        env = "TETHER_JWT_PUBLIC_KEYS",
        value_delimiter = ','
    )]
    pub jwt_public_keys: Vec<PathBuf>,

    /// JWKS file (`{"keys": [...]}`) of public keys verifying JWT client tokens by `kid`:
    /// RSA keys verify RS256, EC P-256 keys ES256; keys for encryption or of other types are
    /// skipped. Read at start.
    #[arg(long, env = "TETHER_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,

    /// Accepted `aud` of JWT client tokens (repeatable, or comma-separated in the env var):
    /// when given, a token must carry one of them. Without it `aud` is not checked.
    #[arg(
        long = "jwt-audience",
        env = "TETHER_JWT_AUDIENCE",
        value_delimiter = ','
    )]
    pub jwt_audiences: Vec<String>,

    /// Accepted `iss` of JWT client tokens (repeatable, or comma-separated in the env var):
    /// when given, a token must carry one of them.
    #[arg(long = "jwt-issuer", env = "TETHER_JWT_ISSUER", value_delimiter = ',')]
    pub jwt_issuers: Vec<String>,

    /// Slack in seconds on a token's `exp`, `nbf` and `iat` (clock skew with the issuer): a
    /// token is refused, and its connection closed with 4001, from `exp` plus this.
    #[arg(long, env = "TETHER_TOKEN_LEEWAY_SECS", default_value_t = DEFAULT_LEEWAY_SECS)]
    pub token_leeway_secs: u64,

    /// Seconds before a session's token expires (its `exp` plus the leeway) that a client
    /// which offered `refresh` in its `hello` is sent `token_expiring`, to hand a fresh token
    /// over the open connection with `auth`.
    #[arg(long, env = "TETHER_TOKEN_REFRESH_SECS", default_value_t = 30)]
    pub token_refresh_secs: u64,

    /// JSON file mapping opaque static tokens to claims: `{"token": {"sub": "u1",
    /// "channels": {"read": ["chat:*"], "write": ["tasks"]}, "exp": 1900000000}}`.
    #[arg(long, env = "TETHER_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,

    /// Allowed `Origin` of WebSocket upgrades (repeatable, or comma-separated in the env var);
    /// others, and upgrades without an Origin, get 403; `*` allows any Origin. Without this
    /// flag: outside `--dev` only same-origin upgrades (the Origin's host and port are the
    /// request's `Host`) and upgrades without an Origin (non-browser clients) are accepted; with
    /// `--dev` every upgrade is. Behind a proxy that rewrites `Host`, list the app's origin.
    #[arg(
        long = "allowed-origin",
        env = "TETHER_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// API key of the HTTP API for app backends (API.md), as `name:secret` or `secret` (named
    /// `default`); repeatable, or comma-separated in the env var. Sent as `Authorization: Bearer
    /// <secret>`. A name is 1-32 bytes of `[A-Za-z0-9_.-]`, a secret at least 16 bytes. Without
    /// any key the API is off (404), except with `--dev`, where it needs no key.
    #[arg(
        long = "api-key",
        env = "TETHER_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,

    /// Requests per second one API key may make to the HTTP API (0 = unlimited); over it:
    /// 429 `RATE_LIMITED` with `Retry-After`.
    #[arg(long, env = "TETHER_API_RATE_PER_SEC", default_value_t = 1_000)]
    pub api_rate_per_sec: u32,

    /// Burst of HTTP API requests per key above the sustained rate.
    #[arg(long, env = "TETHER_API_RATE_BURST", default_value_t = 2_000)]
    pub api_rate_burst: u32,

    /// Forwards `request` messages of one method to the app's backend, as `METHOD=URL`
    /// (repeatable, or comma-separated in the env var): each becomes an HTTP POST to the URL
    /// and its answer the `response` (API.md, "Requests forwarded to the app"). Plain
    /// `http://` URLs only. A route overrides a built-in method of the same name.
    #[arg(long = "forward", env = "TETHER_FORWARD", value_delimiter = ',')]
    pub forward_routes: Vec<String>,

    /// Forwards every `request` method that has no `--forward` route and no handler
    /// (built-in: `time`, `echo`) to this URL, instead of answering `UNKNOWN_METHOD`.
    #[arg(long, env = "TETHER_FORWARD_URL")]
    pub forward_url: Option<String>,

    /// How long a forwarded request waits for the backend's answer; then the client gets
    /// `UPSTREAM_TIMEOUT`.
    #[arg(long, env = "TETHER_FORWARD_TIMEOUT_MS", default_value_t = 5_000)]
    pub forward_timeout_ms: u64,

    /// Forwarded requests one connection may have waiting; one more is answered
    /// `TOO_MANY_REQUESTS` without being sent.
    #[arg(long, env = "TETHER_FORWARD_MAX_IN_FLIGHT", default_value_t = 32)]
    pub forward_max_in_flight: usize,

    /// Sent to the app's backend with every forwarded request as `Authorization: Bearer
    /// <secret>`, so that it can refuse callers other than this server.
    #[arg(long, env = "TETHER_FORWARD_SECRET", hide_env_values = true)]
    pub forward_secret: Option<String>,

    /// Largest accepted WebSocket message in bytes; larger: `TOO_LARGE` and close 1009,
    /// nothing past the limit is buffered.
    #[arg(long, env = "TETHER_MAX_MESSAGE_BYTES", default_value_t = 256 * 1024)]
    pub max_message_bytes: u64,

    /// Sustained messages per second per connection (0 = unlimited). Mutations over the rate
    /// are delayed, other frames dropped with `RATE_LIMITED`.
    #[arg(long, env = "TETHER_RATE_PER_SEC", default_value_t = 100)]
    pub rate_per_sec: u32,

    /// Burst of messages per connection above the sustained rate.
    #[arg(long, env = "TETHER_RATE_BURST", default_value_t = 200)]
    pub rate_burst: u32,

    /// Subscribes per second one connection may make to channels not in use (0 = unlimited;
    /// burst: this plus `--max-subscriptions`); over it: `RATE_LIMITED` naming the channel.
    #[arg(long, env = "TETHER_NEW_CHANNELS_PER_SEC", default_value_t = 20)]
    pub new_channels_per_sec: u32,

    /// Rate-delayed mutations one connection may have queued; more closes it with 4008.
    #[arg(long, env = "TETHER_MAX_DELAYED_MUTATIONS", default_value_t = 1_000)]
    pub max_delayed_mutations: usize,

    /// Most channels one connection may subscribe to.
    #[arg(long, env = "TETHER_MAX_SUBSCRIPTIONS", default_value_t = 64)]
    pub max_subscriptions: u32,

    /// Frames in flight to one connection (output by the engine, not yet written to its
    /// socket). Replays, snapshot pages and the answers to pipelined frames are paced to half
    /// of it; live traffic that overflows it closes a reader that stopped reading with 4009
    /// while the others keep receiving.
    #[arg(long, env = "TETHER_OUTBOUND_QUEUE", default_value_t = 1_024)]
    pub outbound_queue: usize,

    /// Events retained per channel for resuming with `since`.
    #[arg(long, env = "TETHER_RETAIN_EVENTS", default_value_t = 10_000)]
    pub retain_events: u64,

    /// Age in seconds after which events are no longer replayed (resume gets a reset).
    #[arg(long, env = "TETHER_RETAIN_SECS", default_value_t = 3_600)]
    pub retain_secs: u64,

    /// Exactly-once records kept per client (its newest mutation ids).
    #[arg(long, env = "TETHER_DEDUPE_PER_CLIENT", default_value_t = 1_000)]
    pub dedupe_per_client: u64,

    /// Days a client's exactly-once records are kept after its last mutation (its highest id
    /// is kept longer: an older resend is rejected `invalid`, never applied twice).
    #[arg(long, env = "TETHER_DEDUPE_DAYS", default_value_t = 30)]
    pub dedupe_days: u64,

    /// Most clients remembered (highest id, records, subject binding); beyond it the client
    /// inactive longest is forgotten.
    #[arg(long, env = "TETHER_MAX_CLIENTS", default_value_t = 1_000_000)]
    pub max_clients: u64,

    /// A connection silent for this long is closed with 4010 (clients ping every third of it).
    #[arg(long, env = "TETHER_HEARTBEAT_TIMEOUT_MS", default_value_t = 30_000)]
    pub heartbeat_timeout_ms: u64,

    /// On SIGTERM/SIGINT, how long to wait for sockets to close after sending 1001.
    #[arg(long, env = "TETHER_SHUTDOWN_GRACE_MS", default_value_t = 5_000)]
    pub shutdown_grace_ms: u64,

    /// Serve the files of this directory (e.g. the demo app) at `/`.
    #[arg(long = "static", env = "TETHER_STATIC")]
    pub static_dir: Option<PathBuf>,

    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `tether_server=debug`).
    #[arg(long, env = "TETHER_LOG", default_value = "info")]
    pub log: String,
}

impl Options {
    /// Options for an in-process server on an ephemeral loopback port over `db`, dev mode,
    /// with a short shutdown grace.
    pub fn for_tests(db: PathBuf) -> Options {
        let mut options = Options::parse_from(["tether-server", "--dev", "--bind", "127.0.0.1:0"]);
        options.db = db;
        options.database_url = None;
        options.redis_url = None;
        options.shutdown_grace_ms = 100;
        options
    }

    /// The authentication configuration, reading the tokens file if any.
    pub fn auth(&self) -> Result<AuthConfig, EdgeError> {
        if self.dev {
            return Ok(AuthConfig::Dev);
        }
        let static_tokens = match &self.tokens_file {
            None => HashMap::new(),
            Some(path) => {
                let text = read(path, "tokens file")?;
                serde_json::from_str::<HashMap<String, Claims>>(&text).map_err(|e| {
                    EdgeError::Config {
                        message: format!("tokens file {} is not valid: {e}", path.display()),
                    }
                })?
            }
        };
        let mut keys = Vec::new();
        if let Some(secret) = &self.auth_secret {
            keys.push(VerifyKey::hs256(secret.as_bytes()));
        }
        for path in &self.jwt_public_keys {
            let pem = read(path, "public key")?;
            keys.push(
                VerifyKey::public_pem(pem.as_bytes()).map_err(|e| EdgeError::Config {
                    message: format!("public key {}: {e}", path.display()),
                })?,
            );
        }
        if let Some(path) = &self.jwks_file {
            let json = read(path, "JWKS file")?;
            keys.extend(VerifyKey::jwks(&json).map_err(|e| EdgeError::Config {
                message: format!("JWKS file {}: {e}", path.display()),
            })?);
        }
        if keys.is_empty() && static_tokens.is_empty() {
            return Err(EdgeError::Config {
                message: "authentication needs --auth-secret, --jwt-public-key, --jwks-file or \
                          --tokens-file (or --dev for none)"
                    .into(),
            });
        }
        Ok(AuthConfig::Tokens(TokenAuth {
            keys,
            static_tokens,
            audiences: self.jwt_audiences.clone(),
            issuers: self.jwt_issuers.clone(),
            leeway_secs: self.token_leeway_secs,
        }))
    }

    /// The engine configuration.
    pub fn engine_config(&self) -> Result<ServerConfig, EdgeError> {
        Ok(ServerConfig {
            heartbeat_timeout_ms: self.heartbeat_timeout_ms,
            max_message_bytes: self.max_message_bytes,
            max_subscriptions: self.max_subscriptions,
            rate_per_sec: self.rate_per_sec,
            rate_burst: self.rate_burst,
            new_channels_per_sec: self.new_channels_per_sec,
            max_delayed_mutations: self.max_delayed_mutations,
            retain_events: self.retain_events,
            retain_ms: self.retain_secs.saturating_mul(1_000),
            dedupe_per_client: self.dedupe_per_client,
            dedupe_max_age_ms: self.dedupe_days.saturating_mul(86_400_000),
            max_clients: self.max_clients,
            outbound_capacity: self.outbound_queue,
            max_inbox: READ_WINDOW,
            snapshot_page_bytes: ServerConfig::default().snapshot_page_bytes,
            // Several servers may write one PostgreSQL database (cluster mode, CLUSTER.md).
            shared_store: self.database_url.is_some(),
            auth: self.auth()?,
            token_refresh_ms: self.token_refresh_secs.saturating_mul(1_000),
            forward: self.forward()?,
        })
    }

    /// The forwarding configuration, with every URL checked.
    pub fn forward(&self) -> Result<ForwardConfig, EdgeError> {
        let mut routes = HashMap::new();
        for route in &self.forward_routes {
            let Some((method, url)) = route.split_once('=') else {
                return Err(EdgeError::Config {
                    message: format!("--forward {route:?} must be METHOD=URL"),
                });
            };
            if method.is_empty() {
                return Err(EdgeError::Config {
                    message: format!("--forward {route:?} names no method"),
                });
            }
            super::forward::check_url(url)?;
            routes.insert(method.to_owned(), Arc::from(url));
        }
        let fallback = match &self.forward_url {
            Some(url) => {
                super::forward::check_url(url)?;
                Some(Arc::from(url.as_str()))
            }
            None => None,
        };
        Ok(ForwardConfig {
            routes,
            fallback,
            timeout_ms: self.forward_timeout_ms.max(1),
            max_in_flight: self.forward_max_in_flight,
        })
    }
}

/// Reads a configuration file (`what` names it in the error).
fn read(path: &std::path::Path, what: &str) -> Result<String, EdgeError> {
    std::fs::read_to_string(path).map_err(|e| EdgeError::Config {
        message: format!("cannot read {what} {}: {e}", path.display()),
    })
}
