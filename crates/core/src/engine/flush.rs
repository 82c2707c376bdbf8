//! Flushing the ingest batch: one `Changes` output for all views and one cache write per
//! changed channel.

use crate::sorted::ChunkedSet;

use super::Engine;
use crate::output::Output;
use crate::persist::{ChannelDelta, Persist};
use crate::timer::Timer;

impl Engine {
    pub(super) fn flush(&mut self, now: u64) {
        self.timers.stop(Timer::Flush);
        self.unflushed_since = None;
        self.last_flush = Some(now);
        let visible = std::mem::take(&mut self.ingest.visible);
        let mut sets = Vec::new();
        for (id, view) in self.views.iter_mut() {
            let Some(ch) = self.channels.get(&view.channel) else {
                continue;
            };
            let dirty: Option<&ChunkedSet<String>> = visible.get(&view.channel);
            if dirty.is_some() || view.wants_flush() {
                if let Some(mut set) = view.changes(*id, &ch.store, dirty) {
                    set.from_cache = ch.cached && set.replace && set.continuity.is_none();
                    sets.push(set);
                }
            }
        }
        if !sets.is_empty() {
            self.ingest.counters.flushes += 1;
            self.outputs.push_back(Output::Changes(sets));
        }
        if self.config.cache_interval_ms == 0 {
            self.flush_cache();
        }
    }

    /// Emits one cache write per channel changed since the last one.
    pub(super) fn flush_cache(&mut self) {
        self.timers.stop(Timer::CacheFlush);
        if self.ingest.cache.is_empty() {
            return;
        }
        self.cache_dirty_since = None;
        let cache = std::mem::take(&mut self.ingest.cache);
        for (name, dirty) in cache {
            let Some(ch) = self.channels.get(&name) else {
                continue;
            };
            let confirmed = &ch.store.confirmed;
            // Plain loops rather than collects: one less iterator instantiation each in WASM.
            let mut upserts = Vec::new();
            let mut removes = Vec::new();
            if dirty.replace {
                for d in confirmed.values() {
                    upserts.push(d.clone());
                }
            } else {
                for id in &dirty.ids {
                    match confirmed.get(id.as_str()) {
                        Some(d) => upserts.push(d.clone()),
                        None => removes.push(id.clone()),
                    }
                }
            }
            self.persist(Persist::Channel(ChannelDelta {
                channel: name,
                replace: dirty.replace,
                upserts,
                removes,
                cursor: ch.sub.cursor.clone(),
                filter_key: ch.sub.cursor_key.clone(),
            }));
        }
    }
}
