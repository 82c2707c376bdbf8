//! Local views: one per app subscription. Several views may share a channel with different
//! filters or ids (by-id views); each sees the channel's visible documents through its own
//! selector ([`Selector::matches`]: its ids, then [`tether_protocol::Filter::matches`]), so an
//! optimistic insert shows in exactly the views the server will put it in.

use crate::sorted::{ChunkedSet, Finger};

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};
use tether_protocol::{Continuity, EventKind, Json, Selector};

use crate::store::{ChannelStore, VisibleDoc};

/// Identifies a view (returned by `Engine::subscribe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ViewId(pub u64);

/// One confirmed server event as a view sees it: what happened to which document. Only events
/// the server sent (live or replayed on a `recovered` resume) make one, each once (a duplicate
/// offset or a superseded event makes none); a snapshot (`reset`) and this client's own
/// optimistic writes make none, the server's event of an own write does once (`own`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ViewEvent {
    /// What happened, as this view's filter sees it (`entered` / `left` in a filtered view).
    pub kind: EventKind,
    /// Document id.
    pub id: String,
    /// Document version after the change.
    pub version: u64,
    /// Channel offset of the change.
    pub offset: u64,
    /// The change was this client's own mutation (its `origin` names this client id).
    pub own: bool,
}

/// What changed in one view since the last change-set.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ChangeSet {
    /// The view.
    pub view: ViewId,
    /// Its channel.
    pub channel: String,
    /// The view's content is replaced: drop everything before applying `upserts`.
    pub replace: bool,
    /// Documents now in the view (new or changed), in id order.
    pub upserts: Vec<VisibleDoc>,
    /// Ids that left the view.
    pub removes: Vec<String>,
    /// Set when the channel was (re)subscribed since the last change-set.
    pub continuity: Option<Continuity>,
    /// The view's whole content comes from the local cache (restored, no server answer yet):
    /// the app shows it as `cached`.
    pub from_cache: bool,
    /// The server events of this view since the last change-set, in offset order.
    pub events: Vec<ViewEvent>,
}

#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) channel: String,
    /// Which documents of the channel are in the view (filter, ids).
    pub(crate) selector: Selector,
    /// Ids the app was last told are in the view.
    present: ChunkedSet<String>,
    /// Next change-set replaces the whole view.
    full: bool,
    continuity: Option<Continuity>,
    /// Events since the last change-set.
    events: Vec<ViewEvent>,
}

impl View {
    pub(crate) fn new(channel: String, selector: Selector) -> View {
        View {
            channel,
            selector,
            present: ChunkedSet::new(),
            full: true,
            continuity: None,
            events: Vec::new(),
        }
    }

    pub(crate) fn matches(&self, doc: &VisibleDoc) -> bool {
        self.selector.matches(&doc.id, &doc.doc)
    }

    pub(crate) fn note_continuity(&mut self, continuity: Continuity) {
        self.continuity = Some(continuity);
    }

    pub(crate) fn wants_flush(&self) -> bool {
        self.full || self.continuity.is_some() || !self.events.is_empty()
    }

    /// Notes a server event of the view's channel: `before` / `after` are the confirmed
    /// bodies, `server` the kind the server gave (for its subscription, whose selector holds
    /// every view's documents). Whether the document was and is in this view decides;
    /// the server's kind tells a creation from an entry and a deletion from a departure
    /// (`Unknown`, from a server that sends none: whether the document was and is confirmed).
    pub(crate) fn note_event(
        &mut self,
        before: Option<&Json>,
        after: Option<&Json>,
        server: EventKind,
        event: (&str, u64, u64, bool),
    ) {
        let id = event.0;
        let holds = |body| self.selector.holds(id, body);
        let kind = match (holds(before), holds(after)) {
            (true, true) => EventKind::Updated,
            (false, true) if server == EventKind::Created => EventKind::Created,
            (false, true) if server == EventKind::Unknown && before.is_none() => EventKind::Created,
            (false, true) => EventKind::Entered,
            (true, false) if server == EventKind::Deleted => EventKind::Deleted,
            (true, false) if server == EventKind::Unknown && after.is_none() => EventKind::Deleted,
            (true, false) => EventKind::Left,
            (false, false) => return,
        };
        let (id, version, offset, own) = event;
        self.events.push(ViewEvent {
            kind,
            id: id.to_owned(),
            version,
            offset,
            own,
        });
    }

    /// Builds the change-set for the dirty ids (or everything, the first time).
    pub(crate) fn changes(
        &mut self,
        id: ViewId,
        store: &ChannelStore,
        dirty: Option<&ChunkedSet<String>>,
    ) -> Option<ChangeSet> {
        let mut set = ChangeSet {
            view: id,
            channel: self.channel.clone(),
            replace: self.full,
            upserts: Vec::new(),
            removes: Vec::new(),
            continuity: self.continuity.take(),
            from_cache: false,
            events: std::mem::take(&mut self.events),
        };
        // The ids come in order: each search starts where the last one ended.
        let mut in_present = Finger::default();
        if self.full {
            self.full = false;
            self.present.clear();
            for doc in store.visible.values() {
                if self.matches(doc) {
                    self.present
                        .insert_ref_from(doc.id.as_str(), &mut in_present);
                    set.upserts.push(doc.clone());
                }
            }
            return Some(set);
        }
        for doc_id in dirty.into_iter().flatten() {
            match store
                .visible
                .get(doc_id.as_str())
                .filter(|d| self.matches(d))
            {
                Some(doc) => {
                    self.present
                        .insert_ref_from(doc_id.as_str(), &mut in_present);
                    set.upserts.push(doc.clone());
                }
                None => {
                    if self.present.remove(doc_id.as_str()) {
                        set.removes.push(doc_id.clone());
                    }
                }
            }
        }
        let empty = set.upserts.is_empty() && set.removes.is_empty() && set.events.is_empty();
        (!empty || set.continuity.is_some()).then_some(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    macro_rules! json {
        ($($t:tt)+) => {
            tether_protocol::Json::from(serde_json::json!($($t)+))
        };
    }
    use tether_protocol::{Document, Filter};

    #[test]
    fn filtered_view_reports_enter_and_leave() {
        let filter = Filter::parse(&json!({"field": "s", "op": "eq", "value": "todo"})).unwrap();
        let selector = Selector {
            filter: Some(filter),
            ids: None,
        };
        let mut view = View::new("tasks".into(), selector);
        let mut store = ChannelStore::from_confirmed(
            [(
                "a".to_string(),
                Document {
                    id: "a".into(),
                    version: 1,
                    doc: json!({"s": "todo"}),
                },
            )]
            .into(),
        );
        let first = view.changes(ViewId(1), &store, None).unwrap();
        assert!(first.replace);
        assert_eq!(first.upserts.len(), 1);
        store.confirmed.get_mut("a").unwrap().doc = json!({"s": "done"});
        store.rebase("a", []);
        let dirty: ChunkedSet<String> = ChunkedSet::from_strs(&["a", "zz"]);
        let next = view.changes(ViewId(1), &store, Some(&dirty)).unwrap();
        assert_eq!(next.removes, vec!["a".to_string()]);
        assert!(next.upserts.is_empty());
        // Nothing to say about ids never shown.
        assert_eq!(view.changes(ViewId(1), &store, Some(&dirty)), None);
    }
}
