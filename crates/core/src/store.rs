//! The optimistic store of one channel: confirmed documents (the server's, as far as the
//! event stream has told us) and the visible layer, `confirmed ⊕ pending`.
//!
//! The pending layer is this client's unacknowledged mutations whose own event has not
//! arrived yet. The visible document of an id is the confirmed one with those mutations
//! re-applied in order (a rebase, each time the confirmed one changes), using the protocol's
//! [`apply_op`], so the client computes exactly what the server will.

use crate::sorted::{ChunkedMap, SortedMap, SortedSet};

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};
use tether_protocol::Json;
use tether_protocol::{apply_op, Document, Op};

use crate::outbox::PendingMutation;

/// A document as the app sees it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct VisibleDoc {
    /// Document id.
    pub id: String,
    /// Version of the confirmed document underneath (0 when it exists only optimistically).
    pub version: u64,
    /// Body including this client's pending changes.
    pub doc: Json,
    /// Whether pending changes are folded in.
    pub pending: bool,
}

/// Folds the pending mutations of one document over its confirmed state. A mutation that
/// cannot apply locally (e.g. `patch` of a document this view does not hold) is skipped: the
/// server decides.
///
/// A `put` that applies or a `delete` decides the body whatever came before it, so the fold
/// starts at the last of them: a document written many times while offline costs its latest
/// writes, not all of them.
pub fn overlay<'a, I>(confirmed: Option<&Document>, pending: I) -> Option<VisibleDoc>
where
    I: IntoIterator<Item = &'a PendingMutation>,
    I::IntoIter: Clone,
{
    let pending = pending.into_iter();
    let (id, version) = match confirmed {
        Some(d) => (Some(d.id.clone()), d.version),
        None => (None, 0),
    };
    let mut id = id;
    let mut touched = false;
    let mut body = None;
    let mut skip = 0;
    let last_reset = pending
        .clone()
        .enumerate()
        .filter(|(_, m)| m.op != Op::Patch)
        .last();
    match last_reset {
        // Absent after it (deleted, or skipped as there was nothing to delete), and every
        // later patch is skipped on an absent document.
        Some((_, m)) if m.op == Op::Delete => return None,
        Some((at, m)) => {
            if let Ok(Some(put)) = apply_op(None, m.op, m.doc.as_ref()) {
                body = Some(put);
                touched = true;
                id.get_or_insert_with(|| m.id.clone());
                skip = at + 1;
            }
        }
        None => {}
    }
    if skip == 0 {
        // No put that applies: fold everything over the confirmed body.
        body = confirmed.map(|d| d.doc.clone());
    }
    for m in pending.skip(skip) {
        if let Ok(next) = apply_op(body.as_ref(), m.op, m.doc.as_ref()) {
            body = next;
            touched = true;
            id.get_or_insert_with(|| m.id.clone());
        }
    }
    Some(VisibleDoc {
        id: id?,
        version,
        doc: body?,
        pending: touched,
    })
}

/// Confirmed and visible documents of one channel.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChannelStore {
    pub(crate) confirmed: ChunkedMap<String, Document>,
    pub(crate) visible: ChunkedMap<String, VisibleDoc>,
}

impl ChannelStore {
    pub(crate) fn from_confirmed(confirmed: SortedMap<String, Document>) -> ChannelStore {
        // Pushed in key order: no shifting, no sort.
        let mut visible = Vec::with_capacity(confirmed.len());
        for (id, d) in &confirmed {
            if let Some(doc) = overlay(Some(d), []) {
                visible.push((id.clone(), doc));
            }
        }
        let visible = SortedMap::from_unsorted(visible).into();
        ChannelStore {
            confirmed: confirmed.into(),
            visible,
        }
    }

    /// Recomputes the visible document of `id`; whether it changed.
    pub(crate) fn rebase<'a, I>(&mut self, id: &str, pending: I) -> bool
    where
        I: IntoIterator<Item = &'a PendingMutation>,
        I::IntoIter: Clone,
    {
        rebase_into(&mut self.visible, id, self.confirmed.get(id), pending)
    }

    /// Replaces the confirmed documents with a snapshot; returns every id whose confirmed
    /// document may have changed (old ∪ new).
    pub(crate) fn replace(&mut self, snapshot: Vec<Document>) -> SortedSet<String> {
        let mut entries = Vec::with_capacity(snapshot.len());
        for d in snapshot {
            entries.push((d.id.clone(), d));
        }
        let confirmed = ChunkedMap::from_unsorted(entries);
        // Both key lists are sorted: merge them.
        let old = std::mem::replace(&mut self.confirmed, confirmed);
        let mut ids = Vec::with_capacity(old.len().max(self.confirmed.len()));
        let (mut a, mut b) = (old.keys().peekable(), self.confirmed.keys().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x < y => a.next(),
                (Some(x), Some(y)) if x > y => b.next(),
                (Some(_), Some(_)) => {
                    a.next();
                    b.next()
                }
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            if let Some(id) = next {
                ids.push((id.clone(), ()));
            }
        }
        SortedSet::from_sorted_unique(ids)
    }
}

/// Recomputes the visible document of `id` from its confirmed one (`confirmed`, looked up by
/// the caller) and the pending mutations; whether it changed.
pub(crate) fn rebase_into<'a, I>(
    visible: &mut ChunkedMap<String, VisibleDoc>,
    id: &str,
    confirmed: Option<&Document>,
    pending: I,
) -> bool
where
    I: IntoIterator<Item = &'a PendingMutation>,
    I::IntoIter: Clone,
{
    let mut pending = pending.into_iter().peekable();
    if pending.peek().is_none() {
        // Nothing pending (the usual case): the visible document is the confirmed one,
        // updated in place.
        let Some(d) = confirmed else {
            return visible.remove(id).is_some();
        };
        if let Some(v) = visible.get_mut(id) {
            let changed = v.pending || v.version != d.version || v.doc != d.doc;
            v.version = d.version;
            v.doc.clone_from(&d.doc);
            v.pending = false;
            return changed;
        }
        let doc = VisibleDoc {
            id: d.id.clone(),
            version: d.version,
            doc: d.doc.clone(),
            pending: false,
        };
        visible.set(id, doc);
        return true;
    }
    let before = match overlay(confirmed, pending) {
        Some(doc) => visible.set(id, doc),
        None => visible.remove(id),
    };
    before.as_ref() != visible.get(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    macro_rules! json {
        ($($t:tt)+) => {
            tether_protocol::Json::from(serde_json::json!($($t)+))
        };
    }
    use tether_protocol::Op;

    fn pm(id: u64, op: Op, doc: Option<Json>) -> PendingMutation {
        PendingMutation {
            mutation_id: id,
            channel: "tasks".into(),
            op,
            id: "t1".into(),
            base_version: None,
            doc,
            base: None,
        }
    }

    #[test]
    fn overlay_folds_pending_in_order() {
        let confirmed = Document {
            id: "t1".into(),
            version: 3,
            doc: json!({"title": "a", "status": "todo"}),
        };
        let p1 = pm(1, Op::Patch, Some(json!({"status": "doing"})));
        let p2 = pm(2, Op::Patch, Some(json!({"title": "b"})));
        let v = overlay(Some(&confirmed), [&p1, &p2]).unwrap();
        assert_eq!(v.doc, json!({"title": "b", "status": "doing"}));
        assert_eq!(v.version, 3);
        assert!(v.pending);
        let del = pm(3, Op::Delete, None);
        assert_eq!(overlay(Some(&confirmed), [&p1, &del]), None);
        // Optimistic create, then a patch on top of it.
        let put = pm(4, Op::Put, Some(json!({"title": "new"})));
        let v = overlay(None, [&put, &p1]).unwrap();
        assert_eq!(v.doc, json!({"title": "new", "status": "doing"}));
        assert_eq!(v.version, 0);
        // A patch of a document we do not hold is skipped locally.
        assert_eq!(overlay(None, [&p1]), None);
    }

    /// The fold of every pending mutation from the confirmed body (the reference).
    fn full_fold(confirmed: Option<&Document>, pending: &[PendingMutation]) -> Option<VisibleDoc> {
        let mut id = confirmed.map(|d| d.id.clone());
        let mut body = confirmed.map(|d| d.doc.clone());
        let mut touched = false;
        for m in pending {
            if let Ok(next) = apply_op(body.as_ref(), m.op, m.doc.as_ref()) {
                body = next;
                touched = true;
                id.get_or_insert_with(|| m.id.clone());
            }
        }
        Some(VisibleDoc {
            id: id?,
            version: confirmed.map_or(0, |d| d.version),
            doc: body?,
            pending: touched,
        })
    }

    #[test]
    fn overlay_from_the_last_put_or_delete_equals_the_full_fold() {
        // Every sequence of up to four writes from a set that includes puts that cannot apply
        // (no body, not an object), over a confirmed document and over none.
        let writes = [
            pm(0, Op::Put, Some(json!({"a": 1}))),
            pm(0, Op::Put, None),
            pm(0, Op::Put, Some(json!([1]))),
            pm(0, Op::Patch, Some(json!({"b": 2, "a": null}))),
            pm(0, Op::Patch, Some(json!(3))),
            pm(0, Op::Delete, None),
        ];
        let confirmed = Document {
            id: "t1".into(),
            version: 4,
            doc: json!({"a": 0, "c": 1}),
        };
        let mut cases = 0;
        for len in 0..=4u32 {
            for code in 0..writes.len().pow(len) {
                let mut seq = Vec::new();
                let mut c = code;
                for i in 0..len {
                    let mut m = writes[c % writes.len()].clone();
                    m.mutation_id = u64::from(i) + 1;
                    seq.push(m);
                    c /= writes.len();
                }
                for base in [Some(&confirmed), None] {
                    assert_eq!(overlay(base, &seq), full_fold(base, &seq), "{seq:?}");
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 2 * (1 + 6 + 36 + 216 + 1296));
    }

    #[test]
    fn replace_reports_old_and_new_ids() {
        let mut s = ChannelStore::default();
        s.confirmed.insert(
            "a".into(),
            Document {
                id: "a".into(),
                version: 1,
                doc: json!({}),
            },
        );
        let touched = s.replace(vec![Document {
            id: "b".into(),
            version: 1,
            doc: json!({}),
        }]);
        assert_eq!(touched.into_iter().collect::<Vec<_>>(), vec!["a", "b"]);
    }

    /// A channel's two document maps stay chunked as they fill in random order, so a new
    /// document shifts one chunk (under 512 entries), not every document after it.
    #[test]
    fn document_maps_stay_chunked_as_they_grow() {
        let mut s = ChannelStore::default();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..5_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let id = format!("{seed:016x}");
            s.confirmed.insert(
                id.clone(),
                Document {
                    id: id.clone(),
                    version: 1,
                    doc: json!({}),
                },
            );
            assert!(s.rebase(&id, []));
        }
        for map in [s.confirmed.chunk_lens(), s.visible.chunk_lens()] {
            assert!(map.len() >= 5_000 / 512, "{} chunks", map.len());
            assert!(map.iter().all(|&l| l < 512), "{map:?}");
            assert_eq!(map.iter().sum::<usize>(), 5_000);
        }
        assert!(s.confirmed.keys().eq(s.visible.keys()));
        assert!(s
            .visible
            .keys()
            .zip(s.visible.keys().skip(1))
            .all(|(a, b)| a < b));
    }
}
