//! The ingest pipeline's bookkeeping: which documents changed since the last flush (so
//! several updates of one document within a batch become one change), what the cache must
//! write, and the counters shown in status.

use crate::sorted::ChunkedSet;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::sorted::SortedMap;

/// Counters of the ingest pipeline and the connection, reported in `Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Counters {
    /// Frames received from the server.
    pub frames_received: u64,
    /// Frames sent to the server.
    pub frames_sent: u64,
    /// `event` frames received.
    pub events_received: u64,
    /// Events dropped as duplicates (offset at or below the cursor).
    pub events_deduped: u64,
    /// Events dropped while a (re)subscription was in flight (its answer covers them).
    pub events_superseded: u64,
    /// Document updates folded into an already pending change of the same batch.
    pub coalesced: u64,
    /// Change-set flushes emitted.
    pub flushes: u64,
    /// Gaps detected (each caused a resubscribe).
    pub gaps: u64,
    /// Subscriptions answered `recovered`.
    pub recovered: u64,
    /// Subscriptions answered `reset`.
    pub resets: u64,
    /// Frames that could not be decoded.
    pub decode_errors: u64,
    /// Acks or rejects for ids not in the outbox (answered twice).
    pub unmatched_results: u64,
    /// Connections that reached `ready`.
    pub connections: u64,
}

/// Per-channel cache writes accumulated until the next flush.
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheDirty {
    pub(crate) replace: bool,
    pub(crate) ids: ChunkedSet<String>,
    /// The cursor or filter key changed.
    pub(crate) cursor: bool,
}

/// Dirty sets since the last flush.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ingest {
    /// Visible documents changed, per channel.
    pub(crate) visible: SortedMap<String, ChunkedSet<String>>,
    /// Cache writes, per channel.
    pub(crate) cache: SortedMap<String, CacheDirty>,
    pub(crate) counters: Counters,
}

impl Ingest {
    /// A visible document changed.
    pub(crate) fn touch(&mut self, channel: &str, id: &str) {
        let set = self.visible.or_default(channel);
        if !set.insert_ref(id) {
            self.counters.coalesced += 1;
        }
    }

    /// A confirmed document changed (to be written to the cache).
    pub(crate) fn touch_cache(&mut self, channel: &str, id: &str) {
        let dirty = self.cache.or_default(channel);
        dirty.ids.insert_ref(id);
        dirty.cursor = true;
    }

    /// The whole cached channel must be rewritten.
    pub(crate) fn replace_cache(&mut self, channel: &str) {
        let dirty = self.cache.or_default(channel);
        dirty.replace = true;
        dirty.ids.clear();
        dirty.cursor = true;
    }

    /// The resume point changed without document changes.
    pub(crate) fn touch_cursor(&mut self, channel: &str) {
        self.cache.or_default(channel).cursor = true;
    }

    pub(crate) fn is_dirty(&self) -> bool {
        !self.visible.is_empty() || !self.cache.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_updates_in_a_batch_coalesce() {
        let mut i = Ingest::default();
        i.touch("tasks", "a");
        i.touch("tasks", "a");
        i.touch("tasks", "b");
        i.touch("chat", "a");
        assert_eq!(i.counters.coalesced, 1);
        assert_eq!(i.visible.get("tasks").map(ChunkedSet::len), Some(2));
        assert!(i.is_dirty());
    }
}
