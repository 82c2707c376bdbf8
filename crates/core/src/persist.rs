//! What the shell must store durably (IndexedDB), as a stream of [`Persist`] writes, and the
//! [`PersistedState`] they add up to, from which [`crate::Engine::restore`] resumes.
//!
//! Contract for the shell: on `Output::WriteReady`, take the next batch
//! ([`crate::Engine::take_writes`]), apply its writes in order in one atomic transaction, and
//! report the result ([`crate::Engine::write_done`]). The engine holds back every frame that
//! needs a write of the batch (a `mutate` needs its `OutboxPut`), so a mutation is in the store
//! before its frame leaves and an id the server has seen is never reused (the write barrier,
//! `barrier.rs`).

use crate::sorted::{SortedMap, SortedSet};

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};
use tether_protocol::{Document, Since};

use crate::outbox::PendingMutation;

/// One durable write.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
pub enum Persist {
    /// Store this client's id (emitted once by `Engine::new`).
    ClientId {
        /// The id.
        client_id: String,
    },
    /// Add a mutation to the outbox and raise the stored highest mutation id to its id.
    OutboxPut {
        /// The mutation.
        mutation: PendingMutation,
    },
    /// Remove a mutation from the outbox (acknowledged or rejected).
    OutboxRemove {
        /// Its id.
        mutation_id: u64,
    },
    /// Update a channel's cached confirmed documents and resume point.
    Channel(ChannelDelta),
}

/// A change to one channel's cache: apply `replace` (clear), then `removes`, then `upserts`,
/// then store `cursor` and `filter_key`, all in one transaction.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ChannelDelta {
    /// Channel name.
    pub channel: String,
    /// Clear the cached documents first (a `reset` snapshot arrived).
    pub replace: bool,
    /// Documents to write.
    pub upserts: Vec<Document>,
    /// Document ids to delete.
    pub removes: Vec<String>,
    /// Resume point the cached documents reflect (None: unknown, subscribe afresh).
    pub cursor: Option<Since>,
    /// Canonical key of the subscription selector the cache belongs to (filter and ids,
    /// [`tether_protocol::Selector::canonical_key`]; "" = unfiltered).
    pub filter_key: String,
}

/// One channel's cache as stored.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct CachedChannel {
    /// Confirmed documents by id.
    pub documents: SortedMap<String, Document>,
    /// Resume point.
    pub cursor: Option<Since>,
    /// Canonical selector key of the subscription (filter and ids; "" = unfiltered).
    pub filter_key: String,
}

/// Everything the engine persisted: the input of [`crate::Engine::restore`].
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct PersistedState {
    /// This client's stable id.
    pub client_id: String,
    /// The highest mutation id ever issued (ids continue above it).
    pub last_mutation_id: u64,
    /// Unacknowledged mutations by id.
    pub outbox: SortedMap<u64, PendingMutation>,
    /// Cached channels by name.
    pub channels: SortedMap<String, CachedChannel>,
}

impl PersistedState {
    /// Applies one write (the reference semantics for a shell's storage).
    pub fn apply(&mut self, write: &Persist) {
        match write {
            Persist::ClientId { client_id } => self.client_id.clone_from(client_id),
            Persist::OutboxPut { mutation } => {
                self.last_mutation_id = self.last_mutation_id.max(mutation.mutation_id);
                self.outbox.insert(mutation.mutation_id, mutation.clone());
            }
            Persist::OutboxRemove { mutation_id } => {
                self.outbox.remove(mutation_id);
            }
            Persist::Channel(delta) => {
                let cached = self.channels.or_default(delta.channel.as_str());
                if delta.replace {
                    cached.documents.clear();
                }
                for id in &delta.removes {
                    cached.documents.remove(id);
                }
                for doc in &delta.upserts {
                    cached.documents.set(doc.id.as_str(), doc.clone());
                }
                cached.cursor.clone_from(&delta.cursor);
                cached.filter_key.clone_from(&delta.filter_key);
            }
        }
    }
}

impl ChannelDelta {
    /// Folds `later`, a delta of the same channel written after this one, into this one:
    /// writing the result has the same effect as writing both in order. A shell that gathers
    /// writes while a transaction is in flight uses it so that a burst of flushes writes each
    /// document once.
    pub fn absorb(&mut self, later: ChannelDelta) {
        if later.replace {
            *self = later;
            return;
        }
        // Sets of owned ids filled one at a time: the same set type the engine uses elsewhere,
        // and no sort (one less pair of instantiations in the WASM build).
        let upserted = id_set(later.upserts.iter().map(|d| &d.id));
        let removed = id_set(&later.removes);
        self.upserts
            .retain(|d| !upserted.contains(d.id.as_str()) && !removed.contains(d.id.as_str()));
        self.removes.retain(|id| !upserted.contains(id.as_str()));
        let known = id_set(&self.removes);
        self.removes.extend(
            later
                .removes
                .into_iter()
                .filter(|id| !known.contains(id) && !upserted.contains(id.as_str())),
        );
        self.upserts.extend(later.upserts);
        self.cursor = later.cursor;
        self.filter_key = later.filter_key;
    }
}

/// The ids, as a set.
fn id_set<'a>(ids: impl IntoIterator<Item = &'a String>) -> SortedSet<String> {
    let mut set = SortedSet::new();
    for id in ids {
        set.insert(id.clone());
    }
    set
}

#[cfg(test)]
mod absorb_tests {
    use super::*;
    macro_rules! json {
        ($($t:tt)+) => {
            tether_protocol::Json::from(serde_json::json!($($t)+))
        };
    }

    fn doc(id: &str, v: u64) -> Document {
        Document {
            id: id.into(),
            version: v,
            doc: json!({"v": v}),
        }
    }

    fn delta(replace: bool, upserts: &[(&str, u64)], removes: &[&str], at: u64) -> ChannelDelta {
        ChannelDelta {
            channel: "tasks".into(),
            replace,
            upserts: upserts.iter().map(|(id, v)| doc(id, *v)).collect(),
            removes: removes.iter().map(|id| (*id).to_owned()).collect(),
            cursor: Some(Since {
                epoch: "e".into(),
                offset: at,
            }),
            filter_key: String::new(),
        }
    }

    #[test]
    fn absorbing_equals_writing_both_in_order() {
        let start = [
            delta(true, &[("a", 1), ("b", 1), ("c", 1)], &[], 1),
            delta(false, &[("x", 1)], &["a"], 1),
        ];
        let cases = [
            (
                delta(false, &[("a", 2), ("d", 1)], &["b"], 2),
                delta(false, &[("a", 3), ("b", 2)], &["d", "c"], 3),
            ),
            (
                delta(false, &[("a", 2)], &[], 2),
                delta(true, &[("z", 1)], &[], 3),
            ),
            (
                delta(true, &[("q", 1)], &["a"], 2),
                delta(false, &[], &["q", "x"], 3),
            ),
            (
                delta(false, &[], &["a", "b"], 2),
                delta(false, &[("a", 5)], &["a"], 3),
            ),
        ];
        for base in &start {
            for (first, second) in &cases {
                let mut both = PersistedState::default();
                both.apply(&Persist::Channel(base.clone()));
                let mut merged = both.clone();
                both.apply(&Persist::Channel(first.clone()));
                both.apply(&Persist::Channel(second.clone()));
                let mut folded = first.clone();
                folded.absorb(second.clone());
                merged.apply(&Persist::Channel(folded.clone()));
                assert_eq!(merged, both, "{first:?} then {second:?} as {folded:?}");
                let ids: SortedSet<&str> = folded.upserts.iter().map(|d| d.id.as_str()).collect();
                assert_eq!(
                    ids.len(),
                    folded.upserts.len(),
                    "each document written once"
                );
            }
        }
    }
}
