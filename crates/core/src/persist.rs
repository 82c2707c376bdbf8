//! What the shell must store durably (IndexedDB), as a stream of [`Persist`] writes, and the
//! [`PersistedState`] they add up to, from which [`crate::Engine::restore`] resumes.
//!
//! Contract for the shell: apply `Persist` outputs in the order they are emitted, and make each
//! one durable before transmitting any `Output::Send` that follows it. (A mutation is in the
//! store before its `mutate` frame leaves, so an id the server has seen is never reused.)
//! Each `Persist` value is one atomic write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tether_protocol::{Document, Since};

use crate::outbox::PendingMutation;

/// One durable write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Canonical key of the subscription filter the cache belongs to ("" = unfiltered).
    pub filter_key: String,
}

/// One channel's cache as stored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CachedChannel {
    /// Confirmed documents by id.
    pub documents: BTreeMap<String, Document>,
    /// Resume point.
    pub cursor: Option<Since>,
    /// Canonical filter key of the subscription ("" = unfiltered).
    pub filter_key: String,
}

/// Everything the engine persisted: the input of [`crate::Engine::restore`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PersistedState {
    /// This client's stable id.
    pub client_id: String,
    /// The highest mutation id ever issued (ids continue above it).
    pub last_mutation_id: u64,
    /// Unacknowledged mutations by id.
    pub outbox: BTreeMap<u64, PendingMutation>,
    /// Cached channels by name.
    pub channels: BTreeMap<String, CachedChannel>,
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
                let cached = self.channels.entry(delta.channel.clone()).or_default();
                if delta.replace {
                    cached.documents.clear();
                }
                for id in &delta.removes {
                    cached.documents.remove(id);
                }
                for doc in &delta.upserts {
                    cached.documents.insert(doc.id.clone(), doc.clone());
                }
                cached.cursor.clone_from(&delta.cursor);
                cached.filter_key.clone_from(&delta.filter_key);
            }
        }
    }
}
