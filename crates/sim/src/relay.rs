//! The relay link between server nodes of a cluster schedule (Redis pub/sub on
//! `tether:relay:<epoch>` in a real deployment): the broadcasts and presence messages each
//! node's engine relays ([`tether_server::NodeMessage`], polled with `poll_node_message`),
//! carried with the sending node's id and sequence number to every other node
//! (`handle_node_message`), with a delay, and during the fault phase sometimes lost,
//! duplicated or overtaken by a later one. A node that is down when a message arrives misses
//! it (pub/sub keeps nothing); a message of another epoch (a database reset) goes to another
//! topic and reaches no node of this one. Each node incarnation has its own id, as each
//! process draws a random one. After healing nothing is lost any more (Redis is back), so
//! presence must converge: what a lost message missed, the next heartbeat repairs.

use tether_core::Rng;
use tether_server::NodeMessage;

use super::world::World;

/// Largest delay of a relayed message (virtual ms): under the 1 s CLUSTER.md's 6 s bound for
/// a dead node's members leaves for delivery (5 s expiry after its last heartbeat arrived).
pub const MAX_DELAY_MS: u64 = 500;

/// One relayed message on its way: due at `at`, to node `to`.
#[derive(Debug, Clone)]
struct InFlight {
    at: u64,
    to: usize,
    epoch: String,
    from: String,
    seq: u64,
    msg: NodeMessage,
}

/// The relayed messages in flight between nodes, with their own randomness.
#[derive(Debug)]
pub struct RelayLink {
    rng: Rng,
    queue: Vec<InFlight>,
    /// Probability (per mille) that a message to one node is lost (fault phase only).
    loss_permille: u64,
    /// Probability (per mille) that a message to one node arrives twice.
    dup_permille: u64,
    /// Largest delay (virtual ms); messages with different delays overtake each other.
    max_delay: u64,
    /// Messages lost so far (for the tally).
    pub lost: u64,
    /// Messages delivered so far (for the tally).
    pub delivered: u64,
}

impl RelayLink {
    /// A link drawing from `seed`.
    pub fn new(seed: u64) -> RelayLink {
        let mut rng = Rng::new(seed);
        let loss_permille = [0, 100, 500, 1000][rng.below(4) as usize];
        let dup_permille = rng.below(200);
        let max_delay = 1 + rng.below(MAX_DELAY_MS);
        RelayLink {
            rng,
            queue: Vec::new(),
            loss_permille,
            dup_permille,
            max_delay,
            lost: 0,
            delivered: 0,
        }
    }

    /// Node `from` (index `k`, relay id `id`, database `epoch`) published `(seq, msg)` at
    /// `now`: on its way to every other node of `nodes`; lossy unless `healed`.
    #[allow(clippy::too_many_arguments)]
    fn publish(
        &mut self,
        now: u64,
        k: usize,
        nodes: usize,
        id: &str,
        epoch: &str,
        (seq, msg): (u64, NodeMessage),
        healed: bool,
    ) {
        for to in (0..nodes).filter(|&to| to != k) {
            if !healed && self.rng.below(1000) < self.loss_permille {
                self.lost += 1;
                continue;
            }
            let copies = 1 + u64::from(self.rng.below(1000) < self.dup_permille);
            for _ in 0..copies {
                let at = now + self.rng.below(self.max_delay + 1);
                let pos = self.queue.partition_point(|m| m.at <= at);
                self.queue.insert(
                    pos,
                    InFlight {
                        at,
                        to,
                        epoch: epoch.to_owned(),
                        from: id.to_owned(),
                        seq,
                        msg: msg.clone(),
                    },
                );
            }
        }
    }

    /// When the next message is due.
    pub fn next_time(&self) -> Option<u64> {
        self.queue.first().map(|m| m.at)
    }

    fn pop_due(&mut self, now: u64) -> Option<InFlight> {
        if self.queue.first().is_some_and(|m| m.at <= now) {
            Some(self.queue.remove(0))
        } else {
            None
        }
    }
}

impl World {
    /// Node `k`'s relay id for its current incarnation (cluster schedules only).
    pub fn relay_id(&self, k: usize) -> String {
        format!("node{k}.{}", self.nodes[k].incarnation)
    }

    /// Puts what node `k`'s engine relays on the relay link (and folds it into the
    /// observer's record of the node's own members).
    pub fn publish_relay(&mut self, k: usize) {
        let id = self.relay_id(k);
        let nodes = self.nodes.len();
        let Some(server) = self.nodes[k].engine.as_mut() else {
            return;
        };
        let epoch = tether_server::Store::epoch(server.store()).to_owned();
        while let Some((seq, msg)) = server.poll_node_message() {
            self.relay_link
                .publish(self.now, k, nodes, &id, &epoch, (seq, msg), self.healed);
        }
    }

    /// Relayed messages due now reach their nodes (those up, on the same database).
    pub fn relay_step(&mut self) {
        let now = self.now;
        while let Some(m) = self.relay_link.pop_due(now) {
            let k = m.to;
            let Some(server) = self.nodes[k].engine.as_mut() else {
                continue;
            };
            if tether_server::Store::epoch(server.store()) != m.epoch {
                continue;
            }
            self.relay_link.delivered += 1;
            let (from, seq) = (m.from, m.seq);
            self.log(|| format!("node {k} <- relay {from} #{seq}"));
            let server = self.nodes[k].engine.as_mut().expect("up");
            server.set_unix_time_ms(now);
            server.handle_node_message(now, &from, seq, m.msg);
            self.drain_server(k);
        }
    }
}
