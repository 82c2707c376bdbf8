//! Bounds on the channel registry (`ServerEngine::channels`), which holds an entry for every
//! channel loaded since the last sweep.
//!
//! - **Eviction.** An entry is idle when the channel has no subscriber, no view and no presence;
//!   its head is then only a cache of the store's and is read again on next use. A load into a
//!   registry of `sweep_at` entries or more sweeps first: every idle entry not used (subscribed
//!   to or written) since the previous sweep is dropped, and `sweep_at` becomes
//!   [`SWEEP_FLOOR`] plus twice the channels in use. So the registry holds at most
//!   `SWEEP_FLOOR + 3 × in use` entries (what a sweep keeps, in use or used since the previous
//!   one, is below that; one more load sweeps again), and since the loads between two sweeps
//!   average about half of `sweep_at`, a sweep's O(entries) work is O(1) per load.
//! - **Creation rate.** A `subscribe` to a channel that is not loaded costs a store read and an
//!   entry; each connection may do that `new_channels_per_sec` times a second (burst: that
//!   plus `max_subscriptions`, so a client can always fill its subscriptions at once). Past it the subscribe is dropped with
//!   `RATE_LIMITED` naming the channel, with `retry_after_ms` (PROTOCOL.md §9).

use std::collections::{HashMap, HashSet};

use tether_protocol::{ErrorCode, ServerMessage};

use super::limits::TokenBucket;
use super::subscriptions::ChannelState;
use super::{ConnId, ServerEngine};
use crate::store::Store;

/// Below this many loaded channels no sweep runs.
pub(crate) const SWEEP_FLOOR: usize = 256;

/// Bookkeeping for the registry's bounds.
#[derive(Debug)]
pub(crate) struct Registry {
    /// The next load sweeps when this many channels (or more) are loaded.
    sweep_at: usize,
    /// Channels used (subscribed to or written) since the last sweep: the next sweep keeps them.
    recent: HashSet<String>,
    /// Per connection: its budget of subscribes to channels that are not loaded.
    new_channel_buckets: HashMap<ConnId, TokenBucket>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            sweep_at: SWEEP_FLOOR,
            recent: HashSet::new(),
            new_channel_buckets: HashMap::new(),
        }
    }
}

/// No subscriber, no view, no presence: nothing but a cached head.
fn is_idle(state: &ChannelState) -> bool {
    state.subscribers.is_empty() && state.views.is_empty() && state.presence.is_empty()
}

impl<S: Store> ServerEngine<S> {
    /// Number of channels the engine holds state for.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Hook at the start of `channel_head`, which every subscribe and every mutation of
    /// `channel` goes through: marks the channel used since the last sweep and, when it is
    /// about to be loaded into a registry of `sweep_at` entries or more, sweeps first.
    pub(super) fn channel_used(&mut self, channel: &str) {
        if !self.registry.recent.contains(channel) {
            self.registry.recent.insert(channel.to_owned());
        }
        let loaded = self.channels.contains_key(channel);
        if !loaded && self.channels.len() >= self.registry.sweep_at {
            self.sweep_channels();
        }
        // Counting the entry `channel_head` is about to load.
        self.stats.channels = (self.channels.len() + usize::from(!loaded)) as u64;
    }

    /// Drops idle entries not used since the previous sweep.
    fn sweep_channels(&mut self) {
        let recent = std::mem::take(&mut self.registry.recent);
        let mut in_use = 0usize;
        self.channels.retain(|name, state| {
            let idle = is_idle(state);
            in_use += usize::from(!idle);
            !idle || recent.contains(name)
        });
        let conns = &self.conns;
        self.registry
            .new_channel_buckets
            .retain(|conn, _| conns.contains_key(conn));
        self.registry.sweep_at = SWEEP_FLOOR.saturating_add(in_use.saturating_mul(2));
    }

    /// Hook before `subscribe`: whether `conn` may subscribe to `channel` now. A channel that
    /// is not loaded takes a token of the connection's new-channel bucket; without one the
    /// subscribe is answered `RATE_LIMITED` (with the channel and `retry_after_ms`).
    pub(super) fn admit_channel(&mut self, now: u64, conn: ConnId, channel: &str) -> bool {
        let per_sec = self.config.new_channels_per_sec;
        if per_sec == 0 || self.channels.contains_key(channel) {
            return true;
        }
        let burst = per_sec.saturating_add(self.config.max_subscriptions);
        let bucket = self
            .registry
            .new_channel_buckets
            .entry(conn)
            .or_insert_with(|| TokenBucket::new(per_sec, burst, now));
        if bucket.try_take(now) {
            return true;
        }
        let retry = bucket.wait_ms(now).max(1);
        self.stats.rate_limited += 1;
        let message = format!(
            "more than {per_sec} subscribes per second to channels not in use; \
             this subscribe was dropped"
        );
        self.send_error(conn, ErrorCode::RateLimited, message, |e| {
            if let ServerMessage::Error {
                retry_after_ms,
                channel: c,
                ..
            } = e
            {
                *retry_after_ms = Some(retry);
                *c = Some(channel.to_owned());
            }
        });
        false
    }
}
