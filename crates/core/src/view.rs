//! Local views: one per app subscription. Several views may share a channel with different
//! filters; each sees the channel's visible documents through its own filter
//! ([`Filter::matches`]), so an optimistic insert shows in exactly the views the server will
//! put it in.

use crate::sorted::ChunkedSet;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};
use tether_protocol::{Continuity, Filter};

use crate::store::{ChannelStore, VisibleDoc};

/// Identifies a view (returned by `Engine::subscribe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ViewId(pub u64);

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
}

#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) channel: String,
    pub(crate) filter: Option<Filter>,
    /// Ids the app was last told are in the view.
    present: ChunkedSet<String>,
    /// Next change-set replaces the whole view.
    full: bool,
    continuity: Option<Continuity>,
}

impl View {
    pub(crate) fn new(channel: String, filter: Option<Filter>) -> View {
        View {
            channel,
            filter,
            present: ChunkedSet::new(),
            full: true,
            continuity: None,
        }
    }

    pub(crate) fn matches(&self, doc: &VisibleDoc) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(&doc.doc))
    }

    pub(crate) fn note_continuity(&mut self, continuity: Continuity) {
        self.continuity = Some(continuity);
    }

    pub(crate) fn wants_flush(&self) -> bool {
        self.full || self.continuity.is_some()
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
        };
        if self.full {
            self.full = false;
            self.present.clear();
            for doc in store.visible.values() {
                if self.matches(doc) {
                    self.present.insert_ref(doc.id.as_str());
                    set.upserts.push(doc.clone());
                }
            }
            return Some(set);
        }
        for doc_id in dirty.into_iter().flatten() {
            match store.visible.get(doc_id).filter(|d| self.matches(d)) {
                Some(doc) => {
                    self.present.insert_ref(doc_id.as_str());
                    set.upserts.push(doc.clone());
                }
                None => {
                    if self.present.remove(doc_id) {
                        set.removes.push(doc_id.clone());
                    }
                }
            }
        }
        let empty = set.upserts.is_empty() && set.removes.is_empty();
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
    use tether_protocol::Document;

    #[test]
    fn filtered_view_reports_enter_and_leave() {
        let filter = Filter::parse(&json!({"field": "s", "op": "eq", "value": "todo"})).unwrap();
        let mut view = View::new("tasks".into(), Some(filter));
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
