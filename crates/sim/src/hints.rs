//! The fan-out link between server nodes of a cluster schedule (Redis pub/sub in a real
//! deployment): the hints `(channel, head)` a node publishes after its durable commits, carried
//! to every other node with a delay, and sometimes lost, duplicated or overtaken by a later
//! hint. CLUSTER.md promises that none of this costs more than latency: a node delivers the
//! log in offset order whatever the hints do, and its periodic poll of the store catches what
//! every lost hint would have told it.

use tether_core::Rng;

/// Virtual ms between two polls of the store by one node (the edge's interval while the
/// fan-out link is up).
pub const POLL_MS: u64 = 2_000;

/// One hint on its way: due at `at`, to node `to`.
#[derive(Debug, Clone)]
pub struct Hint {
    pub at: u64,
    pub to: usize,
    pub channel: String,
    pub head: u64,
}

/// The hints in flight between nodes, with their own randomness (so the hint link's draws do
/// not change the rest of the schedule).
#[derive(Debug)]
pub struct HintLink {
    rng: Rng,
    /// Hints in flight, in the order they are due.
    queue: Vec<Hint>,
    /// Probability (per mille) that a hint to one node is lost.
    pub loss_permille: u64,
    /// Probability (per mille) that a hint to one node arrives twice.
    pub dup_permille: u64,
    /// Largest delay of a hint (virtual ms); hints with different delays overtake each other.
    pub max_delay: u64,
    /// Hints lost so far (for the tally).
    pub lost: u64,
}

impl HintLink {
    /// A link drawing from `seed`.
    pub fn new(seed: u64) -> HintLink {
        let mut rng = Rng::new(seed);
        let loss_permille = [0, 100, 500, 1000][rng.below(4) as usize];
        let dup_permille = rng.below(200);
        let max_delay = 1 + rng.below(300);
        HintLink {
            rng,
            queue: Vec::new(),
            loss_permille,
            dup_permille,
            max_delay,
            lost: 0,
        }
    }

    /// Node `from` published `(channel, head)` at `now`: on its way to every other node of
    /// `nodes`.
    pub fn publish(&mut self, now: u64, from: usize, nodes: usize, channel: &str, head: u64) {
        for to in (0..nodes).filter(|&to| to != from) {
            if self.rng.below(1000) < self.loss_permille {
                self.lost += 1;
                continue;
            }
            let copies = if self.rng.below(1000) < self.dup_permille {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let at = now + self.rng.below(self.max_delay + 1);
                let pos = self.queue.partition_point(|h| h.at <= at);
                self.queue.insert(
                    pos,
                    Hint {
                        at,
                        to,
                        channel: channel.to_owned(),
                        head,
                    },
                );
            }
        }
    }

    /// When the next hint is due.
    pub fn next_time(&self) -> Option<u64> {
        self.queue.first().map(|h| h.at)
    }

    /// The next hint due at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<Hint> {
        if self.queue.first().is_some_and(|h| h.at <= now) {
            Some(self.queue.remove(0))
        } else {
            None
        }
    }
}
