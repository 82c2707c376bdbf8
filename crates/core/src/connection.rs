//! The connection state machine's states and the heartbeat / round-trip bookkeeping.
//!
//! ```text
//! idle ──connect──▶ connecting ──socket_opened──▶ handshaking ──welcome──▶ ready
//!   ▲                  │   ▲                          │                     │
//!   │             (Provider auth: awaiting_token)     │ close / timeout / dead link
//!   │                  ▼   │                          ▼                     ▼
//! close ◀───────── backoff ◀───────────────────────────────────────────────┘
//!   │              offline (went_offline; went_online retries at once)
//!   ▼
//! closed (app close, unsupported version, gave up)
//! ```

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ConnectionState {
    /// Not started (`connect` not called yet).
    Idle,
    /// Waiting for `set_token` (or `token_failed`) before opening a socket.
    AwaitingToken,
    /// `OpenSocket` emitted; waiting for `socket_opened`.
    Connecting,
    /// `hello` sent; waiting for `welcome`.
    Handshaking,
    /// Connected: subscriptions and mutations flow.
    Ready,
    /// Waiting for the backoff delay before the next attempt.
    Backoff,
    /// The device is offline; waiting for `went_online`.
    Offline,
    /// Stopped: by the app, an unsupported protocol version, or `max_attempts`.
    Closed,
}

impl ConnectionState {
    /// Whether a socket is open or opening.
    pub fn has_socket(self) -> bool {
        matches!(
            self,
            ConnectionState::Connecting | ConnectionState::Handshaking | ConnectionState::Ready
        )
    }
}

/// Heartbeat and latency of the current connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Heartbeat {
    pub(crate) interval_ms: u64,
    pub(crate) dead_after_ms: u64,
    next_nonce: u64,
    outstanding: Option<(u64, u64)>,
    rtt_ms: Option<u64>,
}

impl Heartbeat {
    /// Configures for a new connection from the server's timeout and the config overrides.
    pub(crate) fn start(
        &mut self,
        server_timeout_ms: u64,
        ping_interval: Option<u64>,
        dead_after: Option<u64>,
    ) {
        let interval = ping_interval.unwrap_or(server_timeout_ms / 3).max(1);
        self.interval_ms = interval;
        self.dead_after_ms = dead_after.unwrap_or(interval.saturating_mul(2)).max(1);
        self.outstanding = None;
    }

    /// A nonce for a ping sent at `now`.
    pub(crate) fn ping(&mut self, now: u64) -> u64 {
        self.next_nonce += 1;
        if self.outstanding.is_none() {
            self.outstanding = Some((self.next_nonce, now));
        }
        self.next_nonce
    }

    /// A pong arrived; measures the round trip (smoothed 7/8 old + 1/8 new).
    pub(crate) fn pong(&mut self, nonce: u64, now: u64) {
        if let Some((sent_nonce, sent_at)) = self.outstanding {
            if sent_nonce == nonce {
                self.outstanding = None;
                let sample = now.saturating_sub(sent_at);
                self.rtt_ms = Some(match self.rtt_ms {
                    Some(old) => (old * 7 + sample) / 8,
                    None => sample,
                });
            }
        }
    }

    pub(crate) fn rtt_ms(&self) -> Option<u64> {
        self.rtt_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_is_measured_from_matching_pongs() {
        let mut h = Heartbeat::default();
        h.start(30_000, None, None);
        assert_eq!(h.interval_ms, 10_000);
        assert_eq!(h.dead_after_ms, 20_000);
        let n = h.ping(100);
        h.pong(n + 5, 120);
        assert_eq!(h.rtt_ms(), None);
        h.pong(n, 180);
        assert_eq!(h.rtt_ms(), Some(80));
        let n = h.ping(1_000);
        h.pong(n, 1_160);
        assert_eq!(h.rtt_ms(), Some(90));
    }
}
