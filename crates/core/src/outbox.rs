//! The outbox: this client's unacknowledged mutations, in `mutation_id` order.
//!
//! Entries enter on `mutate` (after being handed to the shell for persistence) and leave only
//! on the server's `ack` or `reject`. After every (re)connect all entries are sent again, in
//! order, with their original ids, so the server's dedupe answers repeats.
//!
//! Beside the entries the outbox keeps an index from (channel, document id) to the ids of that
//! document's pending (not yet seen) entries, ascending, so the pending layer of one document
//! — asked on every `mutate` and every event of it — costs its own writes (usually 0 or 1),
//! not the whole outbox. Entries are held in `mutation_id` order, so one is found by binary
//! search.

use crate::sorted::{ChunkedMap, SortedMap};
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
}

/// The ids of the pending entries of each document: channel, then document id, then the
/// mutation ids in ascending order (no empty lists are kept).
type DocIndex = SortedMap<String, ChunkedMap<String, Vec<u64>>>;

/// Ordered unacknowledged mutations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outbox {
    /// Strictly ascending by `mutation_id`.
    entries: VecDeque<Entry>,
    last_id: u64,
    /// How many entries, from the first, were sent on the current connection (the sent ones
    /// are always a prefix: all go on connect, and later ones are appended).
    sent: usize,
    /// The pending (unseen) entries of each document.
    index: DocIndex,
    /// Entries looked at by `pending_for` (to bound its cost in tests).
    #[cfg(test)]
    visited: std::cell::Cell<u64>,
}

/// Adds `mutation_id` (higher than any listed for the document) to the index.
fn index_add(index: &mut DocIndex, m: &PendingMutation) {
    index
        .or_default(m.channel.as_str())
        .slot(m.id.as_str(), Vec::new)
        .push(m.mutation_id);
}

/// Takes `m` out of the index (when listed).
fn index_remove(index: &mut DocIndex, m: &PendingMutation) {
    let Some(docs) = index.get_mut(m.channel.as_str()) else {
        return;
    };
    let Some(ids) = docs.get_mut(m.id.as_str()) else {
        return;
    };
    if let Some(at) = ids.iter().position(|&x| x == m.mutation_id) {
        ids.remove(at);
    }
    if ids.is_empty() {
        docs.remove(m.id.as_str());
        if docs.is_empty() {
            index.remove(m.channel.as_str());
        }
    }
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
        let mut index = DocIndex::new();
        for mutation in mutations {
            index_add(&mut index, &mutation);
            entries.push_back(Entry {
                mutation,
                seen: false,
            });
        }
        Outbox {
            entries,
            last_id,
            sent: 0,
            index,
            #[cfg(test)]
            visited: std::cell::Cell::new(0),
        }
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.last_id + 1
    }

    /// Appends a mutation; its id must be higher than any held (it is `next_id()`).
    pub(crate) fn push(&mut self, mutation: PendingMutation) {
        debug_assert!(mutation.mutation_id > self.last_id);
        self.last_id = self.last_id.max(mutation.mutation_id);
        index_add(&mut self.index, &mutation);
        self.entries.push_back(Entry {
            mutation,
            seen: false,
        });
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Where the entry of `mutation_id` is held: at its distance from the first entry when no
    /// id between them has left (the usual case, as acks arrive in order), else found by
    /// binary search.
    fn position(&self, mutation_id: u64) -> Option<usize> {
        let first = self.entries.front()?.mutation.mutation_id;
        let guess = usize::try_from(mutation_id.checked_sub(first)?).unwrap_or(usize::MAX);
        if self
            .entries
            .get(guess)
            .is_some_and(|e| e.mutation.mutation_id == mutation_id)
        {
            return Some(guess);
        }
        self.entries
            .binary_search_by_key(&mutation_id, |e| e.mutation.mutation_id)
            .ok()
    }

    pub(crate) fn remove(&mut self, mutation_id: u64) -> Option<Entry> {
        let at = self.position(mutation_id)?;
        let entry = self.entries.remove(at)?;
        if at < self.sent {
            self.sent -= 1;
        }
        if !entry.seen {
            index_remove(&mut self.index, &entry.mutation);
        }
        Some(entry)
    }

    /// Marks our own event for `mutation_id` as seen; returns the entry if it was pending.
    pub(crate) fn mark_seen(&mut self, mutation_id: u64) -> Option<&PendingMutation> {
        let at = self.position(mutation_id)?;
        let entry = self.entries.get_mut(at).filter(|e| !e.seen)?;
        entry.seen = true;
        index_remove(&mut self.index, &entry.mutation);
        Some(&entry.mutation)
    }

    /// Forgets what was sent (the connection is gone) and which own events were seen (a
    /// reset snapshot replaces the confirmed layer they were folded into).
    pub(crate) fn connection_lost(&mut self) {
        self.sent = 0;
    }

    /// How many entries sent on this connection await their answer.
    pub(crate) fn unanswered(&self) -> usize {
        self.sent.min(self.entries.len())
    }

    /// Entries not yet sent on this connection, in order; marks them sent.
    pub(crate) fn take_unsent(&mut self) -> Vec<PendingMutation> {
        let unsent = self
            .entries
            .range(self.sent.min(self.entries.len())..)
            .map(|e| e.mutation.clone())
            .collect();
        self.sent = self.entries.len();
        unsent
    }

    /// The pending layer (entries whose own event has not arrived), in order.
    pub(crate) fn pending(&self) -> impl Iterator<Item = &PendingMutation> {
        self.entries.iter().filter(|e| !e.seen).map(|e| &e.mutation)
    }

    /// The pending layer of one document, in order: looked up in the index, so it costs the
    /// document's own pending writes (and a binary search for each), not the whole outbox.
    pub(crate) fn pending_for<'a>(
        &'a self,
        channel: &str,
        id: &str,
    ) -> impl Iterator<Item = &'a PendingMutation> + Clone + 'a {
        let ids = self
            .index
            .get(channel)
            .and_then(|docs| docs.get(id))
            .map_or(&[][..], Vec::as_slice);
        ids.iter().filter_map(move |&mutation_id| {
            #[cfg(test)]
            self.visited.set(self.visited.get() + 1);
            let entry = self.entries.get(self.position(mutation_id)?)?;
            Some(&entry.mutation)
        })
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

    /// The pending layer of one document by a scan of every entry (the reference).
    fn scanned(o: &Outbox, channel: &str, id: &str) -> Vec<u64> {
        o.pending()
            .filter(|m| m.channel == channel && m.id == id)
            .map(|m| m.mutation_id)
            .collect()
    }

    #[test]
    fn the_document_index_agrees_with_a_full_scan_under_random_operations() {
        // A fixed linear congruential sequence: deterministic, no dependency.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |bound: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % bound
        };
        let channels = ["tasks", "notes"];
        let docs = ["a", "b", "c", "d", "e"];
        let restored = vec![m(5, "c"), m(2, "a"), m(9, "a")];
        let mut o = Outbox::restore(restored, 3);
        // The ids handed out by `take_unsent` since the last `connection_lost`.
        let mut sent = std::collections::BTreeSet::new();
        for _ in 0..4_000 {
            let held: Vec<u64> = o.all().map(|m| m.mutation_id).collect();
            let pick = |n: u64| held.get(n as usize % held.len().max(1)).copied();
            match next(10) {
                0..=3 => {
                    let mut mutation = m(o.next_id(), docs[next(5) as usize]);
                    mutation.channel = channels[next(2) as usize].into();
                    o.push(mutation);
                }
                4 | 5 => {
                    if let Some(id) = pick(next(1_000)) {
                        o.mark_seen(id);
                    }
                }
                6..=8 => {
                    // Ack or reject: both leave by `remove`; sometimes an unknown id.
                    let id = pick(next(1_000)).unwrap_or(0) + u64::from(next(7) == 0);
                    o.remove(id);
                }
                _ => {
                    if next(2) == 0 {
                        o.connection_lost();
                        sent.clear();
                    }
                    let expected: Vec<u64> = o
                        .all()
                        .map(|m| m.mutation_id)
                        .filter(|id| !sent.contains(id))
                        .collect();
                    let unsent: Vec<u64> = o.take_unsent().iter().map(|m| m.mutation_id).collect();
                    assert_eq!(unsent, expected);
                    sent.extend(unsent);
                }
            }
            for channel in channels {
                for doc in docs {
                    let indexed: Vec<u64> =
                        o.pending_for(channel, doc).map(|m| m.mutation_id).collect();
                    assert_eq!(indexed, scanned(&o, channel, doc), "{channel}/{doc}");
                }
            }
            // No empty list is kept: every listed document has a pending entry.
            for (channel, ids) in o.index.iter() {
                for (doc, list) in ids.iter() {
                    assert!(!list.is_empty(), "{channel}/{doc}");
                }
            }
            let listed: usize = o
                .index
                .values()
                .flat_map(|d| d.values())
                .map(Vec::len)
                .sum();
            assert_eq!(listed, o.pending().count());
        }
    }

    #[test]
    fn one_documents_pending_layer_visits_only_its_own_entries() {
        // 10,000 queued writes on distinct documents, each asked for its pending layer as
        // `mutate` does: one entry visited per ask, not the whole outbox (quadratic).
        let mut o = Outbox::default();
        for n in 0..10_000u64 {
            let doc = format!("d{n}");
            o.push(m(o.next_id(), &doc));
            assert_eq!(o.pending_for("tasks", &doc).count(), 1);
            assert_eq!(o.pending_for("tasks", "absent").count(), 0);
            assert_eq!(o.pending_for("other", &doc).count(), 0);
        }
        assert_eq!(o.visited.get(), 10_000);
        // Ten documents written in turn: each ask visits that document's writes only.
        let mut o = Outbox::default();
        for n in 0..1_000u64 {
            o.push(m(o.next_id(), &format!("r{}", n % 10)));
        }
        assert_eq!(o.pending_for("tasks", "r3").count(), 100);
        assert_eq!(o.visited.get(), 100);
    }

    #[test]
    fn ids_never_go_back_after_restore_of_an_empty_outbox() {
        let o = Outbox::restore(vec![], 17);
        assert_eq!(o.next_id(), 18);
    }
}
