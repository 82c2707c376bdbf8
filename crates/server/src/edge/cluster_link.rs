//! The engine thread's side of cluster mode (CLUSTER.md): where it sends the hints of its
//! durable commits, how often it polls the shared database for other nodes' commits, and the
//! link's health for `/healthz`. The Redis client itself is in `redis_link.rs` (feature
//! `cluster`); without it a server on a shared PostgreSQL database only polls.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tether_protocol::json::Object;
use tether_protocol::Json;
use tokio::sync::mpsc;

use crate::engine::NodeMessage;

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
    /// Broadcasts and presence for the other nodes, encoded ([`encode_node_message`]); `None`
    /// without a fan-out link.
    pub(crate) relay: Option<mpsc::Sender<String>>,
    /// This node's id among the nodes (random per process); `None` without a fan-out link.
    pub(crate) node_id: Option<String>,
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

/// Relay messages queued for the publisher at most; beyond it one is dropped (ephemeral:
/// broadcasts are at most once across nodes, presence is repaired by the next heartbeat).
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(crate) const RELAY_QUEUE: usize = 16_384;

impl ClusterLink {
    /// Queues a relay message for the publisher (dropped when there is none or it is full).
    pub(crate) fn relay(&self, seq: u64, msg: &NodeMessage) {
        if let (Some(relay), Some(node)) = (&self.relay, &self.node_id) {
            let _ = relay.try_send(encode_node_message(node, seq, msg));
        }
    }
}

/// A node id: 16 random hex digits (unique among the nodes of a cluster).
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(crate) fn new_node_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No system randomness: the process id and the time still tell nodes apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        bytes[..4].copy_from_slice(&std::process::id().to_le_bytes());
        bytes[4..].copy_from_slice(&nanos.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(s: &str) -> Json {
    Json::String(s.to_owned())
}

/// The text of a relay message on the wire: `<node> <seq> <json>`, the JSON one of
/// `{"t":"broadcast","channel","payload","from"}`, `{"t":"presence","channel","client_id",
/// "state"}` (state `null`: left), `{"t":"notification","subject","payload","from"}` or
/// `{"t":"members","members":[[channel,client_id,state]…]}`.
pub(crate) fn encode_node_message(node: &str, seq: u64, msg: &NodeMessage) -> String {
    let entries = match msg {
        NodeMessage::Broadcast {
            channel,
            payload,
            from,
        } => vec![
            ("t".to_owned(), text("broadcast")),
            ("channel".to_owned(), text(channel)),
            ("payload".to_owned(), payload.clone()),
            ("from".to_owned(), text(from)),
        ],
        NodeMessage::Presence {
            channel,
            client_id,
            state,
        } => vec![
            ("t".to_owned(), text("presence")),
            ("channel".to_owned(), text(channel)),
            ("client_id".to_owned(), text(client_id)),
            ("state".to_owned(), state.clone().unwrap_or(Json::Null)),
        ],
        NodeMessage::Notification {
            subject,
            payload,
            from,
        } => vec![
            ("t".to_owned(), text("notification")),
            ("subject".to_owned(), text(subject)),
            ("payload".to_owned(), payload.clone()),
            ("from".to_owned(), text(from)),
        ],
        NodeMessage::Members(list) => {
            let members = list
                .iter()
                .map(|(channel, client, state)| {
                    Json::Array(vec![text(channel), text(client), state.clone()])
                })
                .collect();
            vec![
                ("t".to_owned(), text("members")),
                ("members".to_owned(), Json::Array(members)),
            ]
        }
    };
    let json = Json::Object(Object::from_entries(entries)).to_text();
    format!("{node} {seq} {json}")
}

/// Reads a relay message: `(node, seq, message)`; `None` for anything else (ignored).
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(crate) fn decode_node_message(wire: &str) -> Option<(String, u64, NodeMessage)> {
    let mut parts = wire.splitn(3, ' ');
    let node = parts.next().filter(|n| !n.is_empty())?.to_owned();
    let seq = parts.next()?.parse().ok()?;
    let json = Json::parse(parts.next()?).ok()?;
    let field = |key: &str| json.get(key).and_then(Json::as_str).map(str::to_owned);
    let msg = match json.get("t").and_then(Json::as_str)? {
        "broadcast" => NodeMessage::Broadcast {
            channel: field("channel")?,
            payload: json.get("payload")?.clone(),
            from: field("from")?,
        },
        "presence" => NodeMessage::Presence {
            channel: field("channel")?,
            client_id: field("client_id")?,
            state: json.get("state").filter(|s| !s.is_null()).cloned(),
        },
        "notification" => NodeMessage::Notification {
            subject: field("subject")?,
            payload: json.get("payload")?.clone(),
            from: field("from")?,
        },
        "members" => {
            let mut list = Vec::new();
            for member in json.get("members")?.as_array()? {
                match member.as_array()?.as_slice() {
                    [Json::String(channel), Json::String(client), state] => {
                        list.push((channel.clone(), client.clone(), state.clone()));
                    }
                    _ => return None,
                }
            }
            NodeMessage::Members(list)
        }
        _ => return None,
    };
    Some((node, seq, msg))
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
    use super::{decode_hint, decode_node_message, encode_hint, encode_node_message};
    use crate::engine::NodeMessage;
    use tether_protocol::Json;

    #[test]
    fn node_messages_round_trip_and_garbage_is_ignored() {
        let state = Json::parse(r#"{"editing":"t1","n":1.50}"#).expect("json");
        let messages = [
            NodeMessage::Broadcast {
                channel: "a b".into(),
                payload: state.clone(),
                from: "api:jobs".into(),
            },
            NodeMessage::Presence {
                channel: "tasks".into(),
                client_id: "c1".into(),
                state: Some(state.clone()),
            },
            NodeMessage::Presence {
                channel: "tasks".into(),
                client_id: "c1".into(),
                state: None,
            },
            NodeMessage::Notification {
                subject: "user 1".into(),
                payload: state.clone(),
                from: "api:jobs".into(),
            },
            NodeMessage::Members(vec![("tasks".into(), "c1".into(), state)]),
            NodeMessage::Members(Vec::new()),
        ];
        for msg in messages {
            let wire = encode_node_message("n1", 7, &msg);
            assert_eq!(decode_node_message(&wire), Some(("n1".into(), 7, msg)));
        }
        for garbage in [
            "",
            "n1",
            "n1 x {}",
            "n1 7 {}",
            "n1 7 {\"t\":\"presence\"}",
            "n1 7 {\"t\":\"members\",\"members\":[[1,2,3]]}",
            " 7 {\"t\":\"members\",\"members\":[]}",
        ] {
            assert_eq!(decode_node_message(garbage), None, "{garbage}");
        }
    }

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
