//! Sessions: per-connection state, the `hello` handshake and connection teardown.

use std::collections::{BTreeMap, VecDeque};

use tether_protocol::{CloseCode, ErrorCode, Limits, ServerMessage, PROTOCOL_VERSION};

use super::auth::Claims;
use super::bindings::{valid_client_id, MAX_CLIENT_ID_LEN};
use super::catchup::Catchup;
use super::flow::Flow;
use super::limits::TokenBucket;
use super::{ConnId, ConnectInfo, ServerConfig, ServerEngine};
use crate::store::Store;

/// One connection's state.
#[derive(Debug)]
pub(crate) struct Conn {
    /// Set by a valid `hello`; `None` until the handshake completes.
    pub(crate) client_id: Option<String>,
    /// Token claims; `None` = unrestricted (dev mode).
    pub(crate) claims: Option<Claims>,
    /// Claims verified by the edge before the upgrade.
    pub(crate) preauth: Option<Claims>,
    /// Unix ms from which the session's token is no longer valid (its `exp` plus the leeway):
    /// the connection is closed with 4001 then. `None`: no expiry (or dev mode). A token
    /// refresh would move it.
    pub(crate) token_expires_at: Option<u64>,
    /// The `Origin` header, for logs.
    #[allow(dead_code)]
    pub(crate) origin: Option<String>,
    /// Last time a frame arrived (or the connection opened).
    pub(crate) last_seen: u64,
    /// Channel -> key of the view the connection is in.
    pub(crate) subscriptions: BTreeMap<String, String>,
    pub(crate) bucket: TokenBucket,
    /// Mutations waiting for rate-limit tokens, in arrival order.
    pub(crate) delayed: VecDeque<super::admission::Queued>,
    /// The deadline of this connection's live timer entry.
    pub(crate) scheduled: Option<u64>,
    /// Credit and held inbound frames.
    pub(crate) flow: Flow,
    /// Subscriptions still streaming their replay or snapshot, by channel.
    pub(crate) catchups: BTreeMap<String, Catchup>,
    /// The client's `hello` said `refresh: true`: it is told before its token expires.
    pub(crate) refresh: bool,
    /// `token_expiring` was sent for the session's current token.
    pub(crate) refresh_sent: bool,
}

impl Conn {
    pub(crate) fn new(now: u64, info: ConnectInfo, config: &ServerConfig) -> Conn {
        Conn {
            client_id: None,
            claims: None,
            preauth: info.claims,
            token_expires_at: None,
            origin: info.origin,
            last_seen: now,
            subscriptions: BTreeMap::new(),
            bucket: TokenBucket::new(config.rate_per_sec, config.rate_burst, now),
            delayed: VecDeque::new(),
            scheduled: None,
            flow: Flow::default(),
            catchups: BTreeMap::new(),
            refresh: false,
            refresh_sent: false,
        }
    }

    /// Whether the connection may read `channel` (subscribe, presence).
    pub(crate) fn may_read(&self, channel: &str) -> bool {
        self.claims.as_ref().is_none_or(|c| c.may_read(channel))
    }

    /// Whether the connection may write `channel` (mutate, broadcast).
    pub(crate) fn may_write(&self, channel: &str) -> bool {
        self.claims.as_ref().is_none_or(|c| c.may_write(channel))
    }
}

impl<S: Store> ServerEngine<S> {
    pub(super) fn handle_hello(
        &mut self,
        now: u64,
        conn: ConnId,
        protocol: u32,
        client_id: String,
        token: Option<String>,
        refresh: bool,
    ) {
        if protocol != PROTOCOL_VERSION {
            let message = format!(
                "protocol {protocol} is not supported; this server speaks {PROTOCOL_VERSION}"
            );
            self.send_error(conn, ErrorCode::UnsupportedVersion, message, |_| {});
            self.close(conn, CloseCode::UnsupportedVersion);
            return;
        }
        if !valid_client_id(&client_id) {
            self.stats.bad_messages += 1;
            self.send_error(
                conn,
                ErrorCode::BadMessage,
                format!("client_id must be 1-{MAX_CLIENT_ID_LEN} bytes, not starting with api:"),
                |_| {},
            );
            return;
        }
        let claims = if self.config.auth.is_dev() {
            None
        } else {
            let preauth = self.conns.get(&conn).and_then(|c| c.preauth.clone());
            let verified = match (token, preauth) {
                (Some(token), _) => self.config.auth.verify(&token, self.unix_ms),
                // Verified before the upgrade; it may have expired since.
                (None, Some(claims)) => self
                    .config
                    .auth
                    .recheck(&claims, self.unix_ms)
                    .map(|()| Some(claims)),
                (None, None) => {
                    self.send_error(
                        conn,
                        ErrorCode::AuthRequired,
                        "this server requires a token".into(),
                        |_| {},
                    );
                    self.close(conn, CloseCode::AuthFailed);
                    return;
                }
            };
            match verified {
                Ok(claims) => claims,
                Err(err) => {
                    self.send_error(conn, ErrorCode::AuthInvalid, err.to_string(), |_| {});
                    self.close(conn, CloseCode::AuthFailed);
                    return;
                }
            }
        };
        if !self.bind_session(conn, &client_id, claims.as_ref().map(|c| c.sub.as_str())) {
            return;
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.client_id = Some(client_id.clone());
        let expires = claims
            .as_ref()
            .and_then(|cl| self.config.auth.expires_at_ms(cl));
        c.claims = claims;
        c.token_expires_at = expires;
        c.refresh = refresh;
        if let Some(at) = expires {
            // Wall-clock deadline onto the monotonic timers; the timer re-checks unix time.
            let deadline = now.saturating_add(at.saturating_sub(self.unix_ms));
            self.schedule(conn, deadline);
        }
        let welcome = ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            client_id,
            heartbeat_timeout_ms: self.config.heartbeat_timeout_ms,
            limits: Limits {
                max_message_bytes: self.config.max_message_bytes,
                max_subscriptions: self.config.max_subscriptions,
                rate_per_sec: self.config.rate_per_sec,
                rate_burst: self.config.rate_burst,
            },
        };
        self.send_msg(conn, &welcome);
        // A token already within the refresh window is announced at once.
        self.maybe_warn_expiry(conn);
        if let Some(due) = self.refresh_due_at(conn) {
            self.schedule(conn, now.saturating_add(due.saturating_sub(self.unix_ms)));
        }
    }

    /// Closes `conn` with 4001 (after `error {code: AUTH_INVALID}`) because its token expired.
    pub(super) fn expire_token(&mut self, now: u64, conn: ConnId) {
        let exp = self
            .conns
            .get(&conn)
            .and_then(|c| c.claims.as_ref())
            .and_then(|cl| cl.exp)
            .unwrap_or_default();
        let message = format!("the token expired at {exp}");
        self.send_error(conn, ErrorCode::AuthInvalid, message, |_| {});
        self.close_at(now, conn, CloseCode::AuthFailed);
    }

    /// Forgets a connection: leaves its presence and drops its subscriptions.
    pub(super) fn remove_conn(&mut self, _now: u64, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.stats.connections = self.stats.connections.saturating_sub(1);
        self.forward.forget_conn(conn);
        let client_id = c.client_id.unwrap_or_default();
        for (channel, view_key) in c.subscriptions {
            self.detach(conn, &client_id, &channel, &view_key);
        }
    }
}
