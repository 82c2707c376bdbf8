//! The write barrier: durable before sent, inside the engine.
//!
//! Every [`Persist`] write the engine makes joins the next *write batch*; the shell runs one
//! batch at a time as one atomic transaction ([`crate::Engine::take_writes`], then
//! [`crate::Engine::write_done`]). A `mutate` frame leaves only once the batch holding its
//! `OutboxPut` is durable, and every frame behind a held one waits too, so frames leave in the
//! order they were made. Frames that follow only cache writes or removals need nothing durable
//! and leave at once (unless something ahead of them is held).
//!
//! A batch that fails withdraws each mutation it was to store (rolled back, reported once as
//! `Rejection::Storage`), and the held frames of those mutations are dropped: the server never
//! sees an id the client could forget. The shell never decodes its own frames.

use std::collections::VecDeque;

use crate::persist::Persist;
use crate::sorted::SortedMap;

/// A batch of writes for the shell to make durable in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteBatch {
    /// Its number, for [`crate::Engine::write_done`].
    pub id: u64,
    /// The writes, in order; channel deltas of one channel are folded into one.
    pub writes: Vec<Persist>,
    /// The highest mutation id this client has used (to store beside the outbox).
    pub last_mutation_id: u64,
}

/// A frame waiting for the batch it needs (or for a held frame ahead of it).
#[derive(Debug, Clone)]
struct HeldFrame {
    /// The batch that must be durable first (0: none).
    needs: u64,
    frame: String,
    /// The mutation this frame carries, if it is a `mutate`.
    mutation: Option<u64>,
}

/// Writes gathered, the batch in flight, and the frames held back for them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Barrier {
    gathering: Vec<Persist>,
    /// The number of the batch in flight, if any.
    in_flight: Option<u64>,
    /// Batches handed out so far (the next one gets `taken + 1`).
    taken: u64,
    /// Mutation id → the batch number that stores its `OutboxPut` (until durable).
    waiting: SortedMap<u64, u64>,
    /// Mutations whose `OutboxPut` sits in the gathering batch.
    gathered_mutations: Vec<u64>,
    /// Mutations of the batch in flight.
    in_flight_mutations: Vec<u64>,
    /// Channels whose cache the gathering batch writes.
    gathered_channels: Vec<String>,
    /// Channels whose cache the batch in flight writes.
    in_flight_channels: Vec<String>,
    /// Writes of the batch in flight to retry if it fails (outbox removals, the client id).
    in_flight_retry: Vec<Persist>,
    held: VecDeque<HeldFrame>,
    /// `WriteReady` was output and not yet answered by `take_writes`.
    signalled: bool,
}

impl Barrier {
    /// Adds a write to the gathering batch; returns true when the shell should be told that a
    /// batch is ready (`Output::WriteReady`).
    pub(crate) fn push(&mut self, write: Persist) -> bool {
        if let Persist::OutboxPut { mutation } = &write {
            self.gathered_mutations.push(mutation.mutation_id);
            self.waiting.insert(mutation.mutation_id, self.taken + 1);
        }
        match write {
            Persist::Channel(delta) => {
                if !self.gathered_channels.contains(&delta.channel) {
                    self.gathered_channels.push(delta.channel.clone());
                }
                let earlier = self.gathering.iter_mut().rev().find_map(|w| match w {
                    Persist::Channel(d) if d.channel == delta.channel => Some(d),
                    _ => None,
                });
                match earlier {
                    Some(earlier) => earlier.absorb(delta),
                    None => self.gathering.push(Persist::Channel(delta)),
                }
            }
            other => self.gathering.push(other),
        }
        self.should_signal()
    }

    fn should_signal(&mut self) -> bool {
        if self.signalled || self.in_flight.is_some() || self.gathering.is_empty() {
            return false;
        }
        self.signalled = true;
        true
    }

    /// The gathering batch, now in flight (None while one is in flight or nothing gathered).
    pub(crate) fn take(&mut self, last_mutation_id: u64) -> Option<WriteBatch> {
        self.signalled = false;
        if self.in_flight.is_some() || self.gathering.is_empty() {
            return None;
        }
        self.taken += 1;
        self.in_flight = Some(self.taken);
        self.in_flight_mutations = std::mem::take(&mut self.gathered_mutations);
        self.in_flight_channels = std::mem::take(&mut self.gathered_channels);
        let writes = std::mem::take(&mut self.gathering);
        self.in_flight_retry.clear();
        for w in &writes {
            if matches!(w, Persist::OutboxRemove { .. } | Persist::ClientId { .. }) {
                self.in_flight_retry.push(w.clone());
            }
        }
        Some(WriteBatch {
            id: self.taken,
            writes,
            last_mutation_id,
        })
    }

    /// Whether a write is gathering or in flight.
    pub(crate) fn busy(&self) -> bool {
        self.in_flight.is_some() || !self.gathering.is_empty()
    }

    /// A frame to send: `Some(frame)` when it may leave now, else it is held.
    pub(crate) fn send(&mut self, frame: String, mutation: Option<u64>) -> Option<String> {
        let needs = mutation
            .and_then(|id| self.waiting.get(&id).copied())
            .unwrap_or(0);
        if needs == 0 && self.held.is_empty() {
            return Some(frame);
        }
        self.held.push_back(HeldFrame {
            needs,
            frame,
            mutation,
        });
        None
    }

    /// Batch `id` finished. Returns the mutations it failed to store (on `Err`), and the
    /// frames that may leave now, in order; `signal` tells whether another batch is ready.
    pub(crate) fn done(&mut self, id: u64, ok: bool) -> Option<Done> {
        if self.in_flight != Some(id) {
            return None;
        }
        self.in_flight = None;
        let mutations = std::mem::take(&mut self.in_flight_mutations);
        let channels = std::mem::take(&mut self.in_flight_channels);
        let retry = std::mem::take(&mut self.in_flight_retry);
        for m in &mutations {
            self.waiting.remove(m);
        }
        let (failed, failed_channels, retry) = if ok {
            (Vec::new(), Vec::new(), Vec::new())
        } else {
            (mutations, channels, retry)
        };
        if !failed.is_empty() {
            self.held
                .retain(|h| h.mutation.is_none_or(|m| !failed.contains(&m)));
        }
        let mut release = Vec::new();
        while let Some(front) = self.held.front() {
            let still_waiting = front.needs != 0 && front.needs > id;
            if still_waiting {
                break;
            }
            if let Some(h) = self.held.pop_front() {
                release.push(h.frame);
            }
        }
        let signal = self.should_signal();
        Some(Done {
            failed,
            failed_channels,
            retry,
            release,
            signal,
        })
    }

    /// The socket closed: held frames will never be sent on it (the outbox is resent after the
    /// next connect), but their batches stay.
    pub(crate) fn drop_frames(&mut self) {
        self.held.clear();
    }

    /// A failed mutation whose frame was never sent.
    pub(crate) fn forget_mutation(&mut self, mutation_id: u64) {
        self.waiting.remove(&mutation_id);
        self.gathered_mutations.retain(|m| *m != mutation_id);
    }
}

/// What finishing a batch released.
#[derive(Debug)]
pub(crate) struct Done {
    /// Mutations whose `OutboxPut` was not stored.
    pub(crate) failed: Vec<u64>,
    /// Channels whose cache write was lost: the whole cache is written again, so a later delta
    /// never lands on a cache with holes under an advanced cursor.
    pub(crate) failed_channels: Vec<String>,
    /// Writes of the failed batch that are tried again in the next one.
    pub(crate) retry: Vec<Persist>,
    /// Frames that may leave now, in order.
    pub(crate) release: Vec<String>,
    /// Another batch is ready.
    pub(crate) signal: bool,
}
