//! The deterministic simulation of Tether: real client engines (`tether-core`) against the
//! real server engine (`tether-server`, in-memory store) over seeded faulty links, in virtual
//! time; in a quarter of the schedules two or three server engines share the store (cluster
//! mode, CLUSTER.md), learn each other's commits from lossy hints and polls and relay
//! broadcasts and presence over a faulty link (`relay.rs`, checked by `ephemeral.rs`); in another
//! quarter each node handles the frames it reads in batches (group commit) and some batches
//! fail at their end with their commits durable or lost, from which the engine recovers
//! without a restart. It drives both engines, so it is a crate of its own. [`run_schedule`] runs one
//! schedule; `tests/simulation.rs` runs thousands (`TETHER_SIM_SCHEDULES`, `TETHER_SIM_SEED`).

mod check;
mod client;
mod ephemeral;
mod hints;
mod link;
mod ops;
mod pair;
mod plan;
mod recording;
mod relay;
mod world;

pub use pair::{Pair, PairClient, Server};
use tether_core::MutationOutcome;
pub use world::Tally;

/// How long after the fault phase the world must settle (virtual ms).
const SETTLE_LIMIT_MS: u64 = 600_000;

/// How long after its earliest time presence may take to converge (virtual ms).
const PRESENCE_LIMIT_MS: u64 = 60_000;

/// A failed schedule: what broke, and the trace when tracing was on.
pub struct Failure {
    /// The invariant that broke.
    pub message: String,
    /// The schedule's trace (empty unless tracing was on).
    pub trace: Vec<String>,
}

/// Runs one schedule to quiescence and checks every invariant.
pub fn run_schedule(seed: u64, trace: bool) -> Result<Tally, Failure> {
    let mut w = plan::build(seed, trace);
    let result = drive(&mut w);
    let trace = w.trace.take().unwrap_or_default();
    match result {
        Ok(()) => Ok(tally(&w)),
        Err(message) => Err(Failure { message, trace }),
    }
}

fn drive(w: &mut world::World) -> Result<(), String> {
    for i in 0..w.clients.len() {
        w.boot_client(i);
    }
    let mut heal_at = None;
    let mut same_time = 0u32;
    loop {
        let Some(t) = w.next_time() else {
            return Err("nothing left to do before quiescence".into());
        };
        if t == w.now {
            same_time += 1;
            if same_time > 100_000 {
                return Err(format!("livelock at {t}: {}", check::diagnose(w)));
            }
        } else {
            same_time = 0;
        }
        if w.healed && heal_at.is_none() {
            heal_at = Some(w.now);
        }
        if heal_at.is_some_and(|h| t > h + SETTLE_LIMIT_MS) {
            return Err(format!(
                "no quiescence {SETTLE_LIMIT_MS} ms after healing:{}",
                check::diagnose(w)
            ));
        }
        w.now = t;
        w.step();
        check::check_step(w)?;
        if w.healed && check::quiescent(w) {
            break;
        }
    }
    // Let flush timers fire so change-sets and cache writes are out.
    let settle = w.now + 200;
    while let Some(t) = w.next_time() {
        if t > settle {
            break;
        }
        w.now = t;
        w.step();
        check::check_step(w)?;
    }
    w.now = settle;
    check::final_checks(w)?;
    // Presence converges: at the latest once every relayed message lost before healing is
    // repaired by a heartbeat and every dead node expired (cluster schedules), and every
    // presence the server dropped (`RATE_LIMITED`) was sent again as the client's send budget
    // allows, which can take a few seconds of a tight rate after many resends.
    let earliest = w.now + w.presence_settle_ms();
    let limit = earliest + PRESENCE_LIMIT_MS;
    while let Some(t) = w.next_time() {
        if t > limit || (w.now >= earliest && ephemeral::presence_converged(w).is_ok()) {
            break;
        }
        w.now = t;
        w.step();
        check::check_step(w)?;
    }
    ephemeral::presence_converged(w)
}

fn tally(w: &world::World) -> Tally {
    let mut t = w.tally;
    t.schedules = 1;
    t.virtual_ms = w.now;
    t.lost_hints = w.hint_link.lost;
    t.lost_relays = w.relay_link.lost;
    t.delivered_relays = w.relay_link.delivered;
    t.broadcast_deliveries = w.ephemeral.deliveries;
    for c in &w.clients {
        for outcomes in c.outcomes.values() {
            for o in outcomes {
                match o {
                    MutationOutcome::Acked { .. } => t.acked += 1,
                    MutationOutcome::Conflict(_) | MutationOutcome::Converged { .. } => {
                        t.conflicts += 1
                    }
                    _ => t.rejected += 1,
                }
            }
        }
        if let Some(e) = &c.engine {
            let k = e.status().counters;
            t.gaps += k.gaps;
            t.resets += k.resets;
            t.recovered += k.recovered;
            t.deduped_events += k.events_deduped;
        }
    }
    t
}
