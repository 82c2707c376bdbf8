//! The engine thread's side of cluster mode (CLUSTER.md): where it sends the hints of its
//! durable commits, how often it polls the shared database for other nodes' commits, and the
//! link's health for `/healthz`. The Redis client itself is in `redis_link.rs` (feature
//! `cluster`); without it a server on a shared PostgreSQL database only polls.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

/// Poll interval while the fan-out link is down (or there is none): other nodes' commits
/// reach this node's subscribers at most this late (plus the read).
pub(crate) const DEGRADED_POLL: Duration = Duration::from_millis(250);

/// Poll interval while the link is up: a safety net for a hint lost without the link noticing
/// (Redis pub/sub delivers at most once).
pub(crate) const SAFETY_POLL: Duration = Duration::from_millis(2_000);

/// Hints queued for the publisher at most; beyond it a hint is dropped (latency only: the
/// receivers' polls find the commit).
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(crate) const HINT_QUEUE: usize = 4_096;

/// Whether the fan-out link works: subscribed, and the last ping answered.
#[derive(Debug, Default)]
pub(crate) struct LinkStatus {
    /// The subscriber holds a live subscription.
    pub(crate) subscribed: AtomicBool,
    /// The publisher's last command (publish or ping) succeeded.
    pub(crate) reachable: AtomicBool,
    /// Failed publisher commands so far: a subscriber resubscribes when it grows.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) failures: AtomicU64,
}

impl LinkStatus {
    /// Both directions work.
    pub(crate) fn is_up(&self) -> bool {
        self.subscribed.load(Ordering::Relaxed) && self.reachable.load(Ordering::Relaxed)
    }
}

/// What the engine thread needs of cluster mode.
#[derive(Debug, Clone)]
pub(crate) struct ClusterLink {
    /// Hints of this node's durable commits, `(channel, head)`, for the publisher; `None`
    /// without a fan-out link.
    pub(crate) hints: Option<mpsc::Sender<(String, u64)>>,
    /// The link's health; `None` without one.
    pub(crate) status: Option<Arc<LinkStatus>>,
}

impl ClusterLink {
    /// How long until the next poll of the shared database.
    pub(crate) fn poll_interval(&self) -> Duration {
        match &self.status {
            Some(status) if status.is_up() => SAFETY_POLL,
            _ => DEGRADED_POLL,
        }
    }

    /// Queues a hint for the publisher (dropped when there is none or its queue is full).
    pub(crate) fn publish(&self, channel: String, head: u64) {
        if let Some(hints) = &self.hints {
            let _ = hints.try_send((channel, head));
        }
    }
}

/// The text of a hint on the wire: `<epoch> <offset> <channel>` (the channel last, so that it
/// may hold any character).
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(crate) fn encode_hint(epoch: &str, channel: &str, offset: u64) -> String {
    format!("{epoch} {offset} {channel}")
}

/// Reads a hint; `None` for anything else (ignored: a malformed hint costs latency only).
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(crate) fn decode_hint(text: &str) -> Option<(String, u64, String)> {
    let mut parts = text.splitn(3, ' ');
    let epoch = parts.next()?.to_owned();
    let offset = parts.next()?.parse().ok()?;
    let channel = parts.next().filter(|c| !c.is_empty())?.to_owned();
    Some((epoch, offset, channel))
}

#[cfg(test)]
mod tests {
    use super::{decode_hint, encode_hint};

    #[test]
    fn hints_round_trip_and_garbage_is_ignored() {
        let text = encode_hint("ep1", "a b:c", 42);
        assert_eq!(decode_hint(&text), Some(("ep1".into(), 42, "a b:c".into())));
        assert_eq!(decode_hint("ep1 x tasks"), None);
        assert_eq!(decode_hint("ep1 7"), None);
        assert_eq!(decode_hint("ep1 7 "), None);
        assert_eq!(decode_hint(""), None);
    }
}
