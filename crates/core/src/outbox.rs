//! The outbox: this client's unacknowledged mutations, in `mutation_id` order.
//!
//! Entries enter on `mutate` (after being handed to the shell for persistence) and leave only
//! on the server's `ack` or `reject`. After every (re)connect all entries are sent again, in
//! order, with their original ids, so the server's dedupe answers repeats.

use crate::sorted::SortedMap;
use std::collections::VecDeque;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};
use tether_protocol::Json;
use tether_protocol::{apply_op, ClientMessage, Op};

/// A mutation as queued, persisted and sent.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct PendingMutation {
    /// Per-client, strictly increasing id.
    pub mutation_id: u64,
    /// Channel (collection).
    pub channel: String,
    /// Operation.
    pub op: Op,
    /// Document id.
    pub id: String,
    /// Required current version (None = unconditional, 0 = must not exist).
    pub base_version: Option<u64>,
    /// Body for put / patch.
    pub doc: Option<Json>,
    /// The document as this client showed it when the mutation was made (None: absent), so a
    /// conflict can offer a three-way merge. Absent in entries stored by older builds.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub base: Option<Json>,
}

impl PendingMutation {
    /// What this mutation makes of the document: the new body (put; patch applied to `base`,
    /// or to `fallback` when `base` is unknown), or `None` for a delete.
    pub fn intended(&self, fallback: Option<&Json>) -> Option<Json> {
        match self.op {
            Op::Delete => None,
            Op::Put => self.doc.clone(),
            Op::Patch => {
                let on = self.base.as_ref().or(fallback);
                apply_op(on, Op::Patch, self.doc.as_ref())
                    .ok()
                    .flatten()
                    .or_else(|| self.doc.clone())
            }
        }
    }

    /// The `mutate` frame for this entry.
    pub fn to_message(&self) -> ClientMessage {
        ClientMessage::Mutate {
            mutation_id: self.mutation_id,
            channel: self.channel.clone(),
            op: self.op,
            id: self.id.clone(),
            base_version: self.base_version,
            doc: self.doc.clone(),
            client_id: None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) mutation: PendingMutation,
    /// Our own event for it arrived: its effect is in the confirmed layer, so it no longer
    /// belongs to the pending layer (it stays in the outbox until ack/reject).
    pub(crate) seen: bool,
    /// Sent on the current connection.
    pub(crate) sent: bool,
}

/// Ordered unacknowledged mutations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outbox {
    entries: VecDeque<Entry>,
    last_id: u64,
}

impl Outbox {
    /// Restores entries (sorted by id) and the highest id ever issued.
    pub(crate) fn restore(mut mutations: Vec<PendingMutation>, last_id: u64) -> Outbox {
        let in_order = mutations
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.mutation_id < b.mutation_id));
        if !in_order {
            // Ordered through the map type the persisted outbox already is (no sort
            // instantiation in the WASM build); the first entry of a repeated id is kept.
            let mut by_id = SortedMap::new();
            for m in mutations {
                if !by_id.contains_key(&m.mutation_id) {
                    by_id.insert(m.mutation_id, m);
                }
            }
            mutations = by_id.into_values().collect();
        }
        let last_id = mutations
            .last()
            .map_or(last_id, |m| m.mutation_id.max(last_id));
        let mut entries = VecDeque::with_capacity(mutations.len());
        for mutation in mutations {
            entries.push_back(Entry {
                mutation,
                seen: false,
                sent: false,
            });
        }
        Outbox { entries, last_id }
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.last_id + 1
    }

    pub(crate) fn push(&mut self, mutation: PendingMutation) {
        self.last_id = self.last_id.max(mutation.mutation_id);
        self.entries.push_back(Entry {
            mutation,
            seen: false,
            sent: false,
        });
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn remove(&mut self, mutation_id: u64) -> Option<Entry> {
        let index = self
            .entries
            .iter()
            .position(|e| e.mutation.mutation_id == mutation_id)?;
        self.entries.remove(index)
    }

    /// Marks our own event for `mutation_id` as seen; returns the entry if it was pending.
    pub(crate) fn mark_seen(&mut self, mutation_id: u64) -> Option<&PendingMutation> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.mutation.mutation_id == mutation_id && !e.seen)?;
        entry.seen = true;
        Some(&entry.mutation)
    }

    /// Forgets what was sent (the connection is gone) and which own events were seen (a
    /// reset snapshot replaces the confirmed layer they were folded into).
    pub(crate) fn connection_lost(&mut self) {
        for e in &mut self.entries {
            e.sent = false;
        }
    }

    /// Entries not yet sent on this connection, in order; marks them sent.
    pub(crate) fn take_unsent(&mut self) -> Vec<PendingMutation> {
        let mut unsent = Vec::new();
        for e in self.entries.iter_mut().filter(|e| !e.sent) {
            e.sent = true;
            unsent.push(e.mutation.clone());
        }
        unsent
    }

    /// The pending layer (entries whose own event has not arrived), in order.
    pub(crate) fn pending(&self) -> impl Iterator<Item = &PendingMutation> {
        self.entries.iter().filter(|e| !e.seen).map(|e| &e.mutation)
    }

    /// The pending layer of one document.
    pub(crate) fn pending_for<'a>(
        &'a self,
        channel: &'a str,
        id: &'a str,
    ) -> impl Iterator<Item = &'a PendingMutation> + 'a {
        self.pending()
            .filter(move |m| m.channel == channel && m.id == id)
    }

    /// The document ids of the pending layer of one channel, in order (repeats included).
    pub(crate) fn pending_ids(&self, channel: &str) -> Vec<String> {
        let mut ids = Vec::new();
        for m in self.pending() {
            if m.channel == channel {
                ids.push(m.id.clone());
            }
        }
        ids
    }

    /// Every entry (seen or not), in order.
    pub(crate) fn all(&self) -> impl Iterator<Item = &PendingMutation> {
        self.entries.iter().map(|e| &e.mutation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: u64, doc: &str) -> PendingMutation {
        PendingMutation {
            mutation_id: id,
            channel: "tasks".into(),
            op: Op::Delete,
            id: doc.into(),
            base_version: None,
            doc: None,
            base: None,
        }
    }

    #[test]
    fn ordered_resend_and_removal_only_by_id() {
        let mut o = Outbox::restore(vec![m(3, "b"), m(2, "a")], 1);
        assert_eq!(o.next_id(), 4);
        o.push(m(4, "a"));
        let sent: Vec<u64> = o.take_unsent().iter().map(|m| m.mutation_id).collect();
        assert_eq!(sent, vec![2, 3, 4]);
        assert!(o.take_unsent().is_empty());
        assert!(o.remove(3).is_some());
        assert!(o.remove(3).is_none());
        o.connection_lost();
        let sent: Vec<u64> = o.take_unsent().iter().map(|m| m.mutation_id).collect();
        assert_eq!(sent, vec![2, 4]);
        assert_eq!(o.pending_for("tasks", "a").count(), 2);
        assert!(o.mark_seen(2).is_some());
        assert!(o.mark_seen(2).is_none());
        assert_eq!(o.pending_for("tasks", "a").count(), 1);
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn restore_orders_by_id_and_keeps_the_first_of_a_repeated_id() {
        let o = Outbox::restore(vec![m(2, "a"), m(1, "x"), m(2, "b")], 0);
        let kept: Vec<(u64, &str)> = o.all().map(|m| (m.mutation_id, m.id.as_str())).collect();
        assert_eq!(kept, vec![(1, "x"), (2, "a")]);
        assert_eq!(o.next_id(), 3);
    }

    #[test]
    fn ids_never_go_back_after_restore_of_an_empty_outbox() {
        let o = Outbox::restore(vec![], 17);
        assert_eq!(o.next_id(), 18);
    }
}
