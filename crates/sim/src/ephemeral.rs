//! Invariants of the ephemeral messages (PROTOCOL.md §3-4 `broadcast`, `presence`,
//! `presence_sync`; §5 and CLUSTER.md across nodes), checked on what the server engines read
//! and write, and on what the client engines report:
//!
//! * A `broadcast` never reaches one connection twice, never the connection that sent it,
//!   and never a connection not subscribed to its channel; its `from` is the sender's client
//!   id. (Across nodes it is at most once: a lost one is not a violation.)
//! * A `presence_sync` lists each client once.
//! * Presence converges: at the end (faults healed, the relay link lossless, every node's
//!   heartbeat and the expiry of dead nodes past), every client sees exactly the members whose
//!   app set a presence state on the channel and that are still there, with that state, on
//!   whichever node each is connected to; so a dead node's members are gone.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use tether_protocol::{codec, ClientMessage, Json, ServerMessage};
use tether_server::ConnId;

use super::world::World;

/// What the server was told and said of one connection's subscription to one channel.
#[derive(Debug, Default)]
struct SubTrack {
    /// The last `subscribed` / `unsubscribed` the server wrote said subscribed.
    answered: bool,
    /// `subscribe` (true) and `unsubscribe` (false) frames read and not answered yet.
    pending: VecDeque<bool>,
}

impl SubTrack {
    /// Whether the server may hold the connection as a subscriber (a `subscribe` it read and
    /// has not answered may be in effect already).
    fn may_be_subscribed(&self) -> bool {
        self.answered || self.pending.iter().any(|s| *s)
    }
}

/// The observer's records.
#[derive(Debug, Default)]
pub struct Ephemeral {
    subs: HashMap<(usize, ConnId, String), SubTrack>,
    /// Broadcast number -> the node and connection that read it, and its client id.
    sent: HashMap<u64, (usize, ConnId, String)>,
    /// `(node, connection, broadcast number)` delivered.
    delivered: HashSet<(usize, ConnId, u64)>,
    /// Broadcasts the apps made (their payloads are numbered).
    pub next_broadcast: u64,
    /// Broadcasts delivered to a connection (for the tally).
    pub deliveries: u64,
}

/// The number in a simulated broadcast's payload.
fn number(payload: &Json) -> Option<u64> {
    payload.get("b").and_then(Json::as_u64)
}

impl World {
    /// Node `k` is about to read `frame` from `conn`.
    pub fn observe_up(&mut self, k: usize, conn: ConnId, frame: &str) {
        let interesting = [
            r#"{"type":"subscribe""#,
            r#"{"type":"unsubscribe""#,
            r#"{"type":"broadcast""#,
        ];
        if !interesting.iter().any(|p| frame.starts_with(p)) {
            return;
        }
        let Ok(msg) = codec::decode_client(frame.as_bytes()) else {
            return;
        };
        let client = self
            .conn_owner
            .get(&(k, conn))
            .map(|&i| self.clients[i].id.clone());
        let e = &mut self.ephemeral;
        match msg {
            ClientMessage::Subscribe { channel, .. } => {
                e.subs
                    .entry((k, conn, channel))
                    .or_default()
                    .pending
                    .push_back(true);
            }
            ClientMessage::Unsubscribe { channel } => {
                e.subs
                    .entry((k, conn, channel))
                    .or_default()
                    .pending
                    .push_back(false);
            }
            ClientMessage::Broadcast { payload, .. } => {
                if let (Some(n), Some(client)) = (number(&payload), client) {
                    e.sent.insert(n, (k, conn, client));
                }
            }
            _ => {}
        }
    }

    /// Node `k` wrote `frame` to `conn`: checks it, and records what it says.
    pub fn observe_down(&mut self, k: usize, conn: ConnId, frame: &str) {
        let interesting = [
            r#"{"type":"subscribed""#,
            r#"{"type":"unsubscribed""#,
            r#"{"type":"broadcast""#,
            r#"{"type":"presence_sync""#,
        ];
        if !interesting.iter().any(|p| frame.starts_with(p)) {
            return;
        }
        let Ok(msg) = codec::decode_server(frame.as_bytes()) else {
            return;
        };
        let e = &mut self.ephemeral;
        let violation = match msg {
            ServerMessage::Subscribed { channel, .. } => {
                let t = e.subs.entry((k, conn, channel)).or_default();
                t.answered = true;
                if t.pending.front() == Some(&true) {
                    t.pending.pop_front();
                }
                None
            }
            ServerMessage::Unsubscribed { channel } => {
                let t = e.subs.entry((k, conn, channel)).or_default();
                t.answered = false;
                // Answers the oldest `unsubscribe` read; the `subscribe`s before it are over.
                while let Some(sub) = t.pending.pop_front() {
                    if !sub {
                        break;
                    }
                }
                None
            }
            ServerMessage::Broadcast {
                channel,
                payload,
                from,
            } => {
                let n = number(&payload);
                let subscribed = e
                    .subs
                    .get(&(k, conn, channel.clone()))
                    .is_some_and(SubTrack::may_be_subscribed);
                let sender = n.and_then(|n| e.sent.get(&n));
                e.deliveries += 1;
                if !subscribed {
                    Some(format!(
                        "node {k}: broadcast {n:?} on {channel} to {conn}, not subscribed"
                    ))
                } else if n.is_some_and(|n| !e.delivered.insert((k, conn, n))) {
                    Some(format!("node {k}: broadcast {n:?} twice to {conn}"))
                } else if sender.is_some_and(|(sk, sc, _)| (*sk, *sc) == (k, conn)) {
                    Some(format!(
                        "node {k}: broadcast {n:?} back to its sender {conn}"
                    ))
                } else if sender.is_some_and(|(_, _, id)| *id != from) {
                    Some(format!(
                        "node {k}: broadcast {n:?} from {sender:?} says it is from {from}"
                    ))
                } else {
                    None
                }
            }
            ServerMessage::PresenceSync { channel, members } => {
                let mut seen = HashSet::new();
                members
                    .iter()
                    .find(|m| !seen.insert(m.client_id.as_str()))
                    .map(|m| {
                        format!(
                            "node {k}: presence_sync of {channel} to {conn} lists {} twice",
                            m.client_id
                        )
                    })
            }
            _ => None,
        };
        if let Some(v) = violation {
            self.violation.get_or_insert(v);
        }
    }

    /// Node `k` no longer has `conn` (closed, or the node went down).
    pub fn forget_conn(&mut self, k: usize, conn: ConnId) {
        self.ephemeral
            .subs
            .retain(|(node, c, _), _| (*node, *c) != (k, conn));
    }

    /// Node `k` went down: its connections are gone (their ids may be used again).
    pub fn forget_node(&mut self, k: usize) {
        self.ephemeral.subs.retain(|(node, _, _), _| *node != k);
        self.ephemeral.sent.retain(|_, (node, _, _)| *node != k);
        self.ephemeral.delivered.retain(|(node, _, _)| *node != k);
    }

    /// How long after settling the presence check waits at least: in a cluster schedule a
    /// heartbeat and a delay (relay messages lost before healing repaired) and the expiry of
    /// a node that died at healing; with one node nothing.
    pub fn presence_settle_ms(&self) -> u64 {
        if self.is_cluster() {
            tether_server::DEFAULT_EXPIRY_MS
                + tether_server::DEFAULT_HEARTBEAT_MS
                + super::relay::MAX_DELAY_MS
        } else {
            0
        }
    }
}

/// Presence has converged: every client subscribed to a channel sees as members exactly the
/// other clients whose app's presence state on it is set, with that state.
pub fn presence_converged(w: &World) -> Result<(), String> {
    for (i, c) in w.clients.iter().enumerate() {
        let Some(_) = &c.engine else { continue };
        for ch in w.spec_channels(i) {
            let expected: BTreeMap<&str, &Json> = w
                .clients
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i && w.spec_channels(*j).contains(ch))
                .filter_map(|(_, o)| o.presence_of(ch).map(|s| (o.id.as_str(), s)))
                .collect();
            let seen = c.members_seen(ch);
            let mut ids = HashSet::new();
            if let Some(dup) = seen.iter().find(|(id, _)| !ids.insert(id.as_str())) {
                return Err(format!(
                    "client {i} channel {ch}: member {} reported twice",
                    dup.0
                ));
            }
            let seen: BTreeMap<&str, &Json> = seen.iter().map(|(id, s)| (id.as_str(), s)).collect();
            if seen != expected {
                return Err(format!(
                    "client {i} channel {ch}: presence did not converge\n  sees     {seen:?}\n  expected {expected:?}"
                ));
            }
        }
    }
    Ok(())
}
