//! Node-to-node relay of cluster mode (CLUSTER.md): broadcasts and presence, which are
//! ephemeral and never stored, travel between the engines of several nodes as
//! [`NodeMessage`]s. The engine only produces and consumes them; the edge carries them (Redis
//! pub/sub) and names the sending node.
//!
//! * This node's outputs ([`ServerEngine::poll_node_message`]): every `broadcast` (WebSocket or
//!   HTTP API) after its local delivery, every change of a local member's presence, and on a
//!   heartbeat timer ([`RelayConfig::heartbeat_ms`]) the full list of this node's members.
//! * Other nodes' messages ([`ServerEngine::handle_node_message`]): a broadcast is delivered to
//!   this node's subscribers of the channel; presence is mirrored per node, and a change of what
//!   this node's subscribers see is sent to them as `join` / `update` / `leave`. A node not
//!   heard from for [`RelayConfig::expiry_ms`] (killed, cut off) is forgotten: its members
//!   leave. A heartbeat list replaces the node's mirror, so a lost message is repaired within
//!   one heartbeat.
//! * Each message carries the sending node's sequence number: a message of this node itself,
//!   or one at or below the last seen of its node (a duplicate), is ignored, so nothing is
//!   delivered twice to one connection.

use std::collections::{BTreeMap, VecDeque};

use tether_protocol::{validate_channel, Json, PresenceEvent, ServerMessage};

use super::{ConnId, ServerEngine};
use crate::store::Store;

/// Heartbeat of a node's presence list, by default (ms).
pub const DEFAULT_HEARTBEAT_MS: u64 = 1_000;
/// A node not heard from for this long is forgotten and its members leave, by default (ms).
pub const DEFAULT_EXPIRY_MS: u64 = 5_000;
/// Most relay messages queued for the edge; beyond it the oldest is dropped (ephemeral).
const MAX_QUEUED: usize = 65_536;

/// Timing of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayConfig {
    /// How often this node sends the list of its members (also its sign of life).
    pub heartbeat_ms: u64,
    /// How long another node may be silent before its members leave.
    pub expiry_ms: u64,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            heartbeat_ms: DEFAULT_HEARTBEAT_MS,
            expiry_ms: DEFAULT_EXPIRY_MS,
        }
    }
}

/// What one node tells the others.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeMessage {
    /// A broadcast its subscribers already got.
    Broadcast {
        /// The channel.
        channel: String,
        /// The payload.
        payload: Json,
        /// The sender (`client_id`, or `api:<key name>`).
        from: String,
    },
    /// A member of the sending node set (`Some`) or cleared (`None`) its presence.
    Presence {
        /// The channel.
        channel: String,
        /// The member.
        client_id: String,
        /// Its state, or `None` when it left.
        state: Option<Json>,
    },
    /// Every member of the sending node: `(channel, client_id, state)`, sorted (heartbeat).
    Members(Vec<(String, String, Json)>),
    /// A notification to a subject whose connections on the sending node already got it.
    Notification {
        /// The subject (`sub`).
        subject: String,
        /// The payload.
        payload: Json,
        /// The sender (`api:<key name>`).
        from: String,
    },
}

/// Another node as this one mirrors it.
#[derive(Debug, Default)]
struct RemoteNode {
    /// When it was last heard from (engine time).
    last_seen: u64,
    /// Its highest sequence number seen.
    seq: u64,
    /// Its members: `(channel, client_id)` -> state.
    members: BTreeMap<(String, String), Json>,
}

/// The relay state of an engine.
#[derive(Debug, Default)]
pub(crate) struct Relay {
    /// This node's id and timing; `None`: no relay (a single node).
    node: Option<(String, RelayConfig)>,
    /// Messages for the edge, with their sequence numbers.
    queue: VecDeque<(u64, NodeMessage)>,
    next_seq: u64,
    next_heartbeat: u64,
    nodes: BTreeMap<String, RemoteNode>,
}

impl Relay {
    /// Whether the relay is on.
    pub(crate) fn enabled(&self) -> bool {
        self.node.is_some()
    }

    /// Queues a message for the other nodes (nothing without a relay).
    pub(crate) fn push(&mut self, msg: NodeMessage) {
        if self.node.is_none() {
            return;
        }
        if self.queue.len() >= MAX_QUEUED {
            self.queue.pop_front();
        }
        self.next_seq += 1;
        self.queue.push_back((self.next_seq, msg));
    }

    /// The next deadline: the heartbeat, or the expiry of the node heard from longest ago.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let (_, config) = self.node.as_ref()?;
        let expiry = self
            .nodes
            .values()
            .map(|n| n.last_seen.saturating_add(config.expiry_ms))
            .min();
        Some(expiry.map_or(self.next_heartbeat, |e| e.min(self.next_heartbeat)))
    }

    /// The state another node gives `client_id` on `channel` (the first node by id).
    pub(crate) fn remote_state(&self, channel: &str, client_id: &str) -> Option<&Json> {
        let key = (channel.to_owned(), client_id.to_owned());
        self.nodes.values().find_map(|n| n.members.get(&key))
    }

    /// Every member other nodes have on `channel`: client id -> state (first node by id).
    pub(crate) fn remote_members(&self, channel: &str) -> BTreeMap<String, Json> {
        let mut out = BTreeMap::new();
        for node in self.nodes.values() {
            let from = (channel.to_owned(), String::new());
            for ((ch, client), state) in node.members.range(from..) {
                if ch != channel {
                    break;
                }
                out.entry(client.clone()).or_insert_with(|| state.clone());
            }
        }
        out
    }
}

impl<S: Store> ServerEngine<S> {
    /// Turns the relay on (cluster mode with a link between nodes): this node is `node` (an id
    /// unique among the nodes, chosen by the edge), its first heartbeat is due at `now`.
    pub fn enable_relay(&mut self, now: u64, node: String, config: RelayConfig) {
        self.relay.node = Some((node, config));
        self.relay.next_heartbeat = now;
    }

    /// The next message for the other nodes with its sequence number (increasing by one per
    /// message of this engine), in order; `None` when drained or without a relay. The edge
    /// sends each with this node's id to every other node.
    #[must_use]
    pub fn poll_node_message(&mut self) -> Option<(u64, NodeMessage)> {
        self.relay.queue.pop_front()
    }

    /// A message of node `node` with its sequence number `seq`. Ignored when `node` is this
    /// node, when `seq` is at or below the last seen of `node` (a duplicate or late copy), or
    /// when it names an invalid channel.
    pub fn handle_node_message(&mut self, now: u64, node: &str, seq: u64, msg: NodeMessage) {
        let Some((own, _)) = &self.relay.node else {
            return;
        };
        if own == node {
            return;
        }
        let entry = self.relay.nodes.entry(node.to_owned()).or_default();
        if seq <= entry.seq {
            return;
        }
        entry.seq = seq;
        entry.last_seen = entry.last_seen.max(now);
        match msg {
            NodeMessage::Broadcast {
                channel,
                payload,
                from,
            } => {
                if validate_channel(&channel).is_ok() {
                    let msg = ServerMessage::Broadcast {
                        channel: channel.clone(),
                        payload,
                        from,
                    };
                    self.send_to_channel(&channel, ConnId(0), &msg);
                }
            }
            NodeMessage::Presence {
                channel,
                client_id,
                state,
            } => {
                if validate_channel(&channel).is_ok() {
                    self.set_remote(node, channel, client_id, state.filter(|s| !s.is_null()));
                }
            }
            NodeMessage::Notification {
                subject,
                payload,
                from,
            } => {
                if !subject.is_empty() && subject.len() <= super::notify::MAX_SUBJECT_LEN {
                    self.notify_local(&subject, payload, from);
                }
            }
            NodeMessage::Members(list) => {
                let mut fresh = BTreeMap::new();
                for (channel, client_id, state) in list {
                    if validate_channel(&channel).is_ok() && !state.is_null() {
                        fresh.insert((channel, client_id), state);
                    }
                }
                let old = self
                    .relay
                    .nodes
                    .get(node)
                    .map(|n| n.members.clone())
                    .unwrap_or_default();
                for (channel, client_id) in old.keys() {
                    if !fresh.contains_key(&(channel.clone(), client_id.clone())) {
                        self.set_remote(node, channel.clone(), client_id.clone(), None);
                    }
                }
                for ((channel, client_id), state) in fresh {
                    if old.get(&(channel.clone(), client_id.clone())) != Some(&state) {
                        self.set_remote(node, channel, client_id, Some(state));
                    }
                }
            }
        }
    }

    /// The relay's timers: the heartbeat (this node's member list) and the expiry of silent
    /// nodes (their members leave).
    pub(super) fn run_relay_timers(&mut self, now: u64) {
        let Some((_, config)) = self.relay.node.clone() else {
            return;
        };
        if now >= self.relay.next_heartbeat {
            self.relay.next_heartbeat = now.saturating_add(config.heartbeat_ms.max(1));
            let list = self.local_members();
            self.relay.push(NodeMessage::Members(list));
        }
        let silent: Vec<String> = self
            .relay
            .nodes
            .iter()
            .filter(|(_, n)| now >= n.last_seen.saturating_add(config.expiry_ms))
            .map(|(id, _)| id.clone())
            .collect();
        for node in silent {
            let keys: Vec<(String, String)> = self
                .relay
                .nodes
                .get(&node)
                .map(|n| n.members.keys().cloned().collect())
                .unwrap_or_default();
            for (channel, client_id) in keys {
                self.set_remote(&node, channel, client_id, None);
            }
            self.relay.nodes.remove(&node);
        }
    }

    /// Every member of this node: `(channel, client_id, state)`, sorted.
    fn local_members(&self) -> Vec<(String, String, Json)> {
        let mut list: Vec<(String, String, Json)> = self
            .channels
            .iter()
            .flat_map(|(channel, state)| {
                state
                    .presence
                    .iter()
                    .map(move |(client, p)| (channel.clone(), client.clone(), p.state.clone()))
            })
            .collect();
        list.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        list
    }

    /// Sets (or clears) what `node` says of `client_id` on `channel`, telling this node's
    /// subscribers of the channel when what they see changes.
    fn set_remote(&mut self, node: &str, channel: String, client_id: String, state: Option<Json>) {
        let before = self.visible_presence(&channel, &client_id);
        let Some(entry) = self.relay.nodes.get_mut(node) else {
            return;
        };
        let key = (channel, client_id);
        match state {
            Some(state) => entry.members.insert(key.clone(), state),
            None => entry.members.remove(&key),
        };
        let (channel, client_id) = key;
        self.presence_changed(&channel, &client_id, before, ConnId(0));
    }
}

/// The `presence` event for a member whose visible state went from `before` to `after`
/// (`None`: no change to tell).
pub(super) fn presence_event(
    channel: &str,
    client_id: &str,
    before: Option<&Json>,
    after: Option<Json>,
    always_update: bool,
) -> Option<ServerMessage> {
    let event = match (before, &after) {
        (None, None) => return None,
        (None, Some(_)) => PresenceEvent::Join,
        (Some(_), None) => PresenceEvent::Leave,
        (Some(b), Some(a)) if b == a && !always_update => return None,
        (Some(_), Some(_)) => PresenceEvent::Update,
    };
    Some(ServerMessage::Presence {
        channel: channel.to_owned(),
        event,
        client_id: client_id.to_owned(),
        state: after,
    })
}
