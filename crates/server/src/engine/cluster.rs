//! Several engines over one store (cluster mode, CLUSTER.md): learning the commits of other
//! nodes from the store's log, and the hints this node publishes about its own.
//!
//! Each engine caches the head of every channel it has loaded. Another node's commit moves the
//! store's head past it; this engine learns of it in one of three ways, all ending in
//! [`ServerEngine::learn_log`]:
//!
//! * its own commit fails with [`StoreError::OffsetMismatch`] (the mutation is then decided
//!   again, see `mutations.rs`);
//! * a hint `(channel, offset)` arrives from the fan-out link ([`ServerEngine::handle_log_hint`]);
//! * the edge polls ([`ServerEngine::sync_channels`]), or a `subscribe` refreshes the head first
//!   ([`crate::ServerConfig::shared_store`]).
//!
//! `learn_log` reads the log after the cached head, in offset order, and delivers each entry
//! once to the node's views exactly as a local commit is delivered: an entry at or below the
//! cached head is never delivered again, and a hint never skips an entry. So a hint that is
//! lost, duplicated, delayed or reordered costs only latency (until the next hint or poll).
//!
//! Hints the engine publishes ([`ServerEngine::take_hints`]) name each channel this node
//! committed to and its new head; inside a batch they are held until the batch is durable and
//! dropped if it fails, like every other output.

use std::collections::BTreeMap;

use tether_protocol::CloseCode;

use super::ServerEngine;
use crate::store::{Store, StoreError};

/// Log entries read per step while learning other nodes' commits.
const LEARN_PAGE: usize = 256;

/// Hints of this node's commits not yet taken by the edge.
#[derive(Debug, Default)]
pub(crate) struct Hints {
    /// Channel -> its newest head committed by this node.
    pending: BTreeMap<String, u64>,
    /// Channel -> head, committed inside the open batch (not yet durable).
    in_batch: BTreeMap<String, u64>,
    /// Whether a batch is open.
    batching: bool,
}

impl Hints {
    /// Notes a commit of this node.
    pub(crate) fn committed(&mut self, channel: &str, head: u64) {
        let map = if self.batching {
            &mut self.in_batch
        } else {
            &mut self.pending
        };
        let slot = map.entry(channel.to_owned()).or_insert(head);
        *slot = (*slot).max(head);
    }

    /// A batch opened.
    pub(crate) fn begin_batch(&mut self) {
        self.batching = true;
    }

    /// The batch ended: its hints become publishable, or are dropped if it failed.
    pub(crate) fn end_batch(&mut self, failed: bool) {
        self.batching = false;
        let batch = std::mem::take(&mut self.in_batch);
        if failed {
            return;
        }
        for (channel, head) in batch {
            self.committed(&channel, head);
        }
    }
}

impl<S: Store> ServerEngine<S> {
    /// The hints to publish on the fan-out link: each channel this node committed to since the
    /// last call, with its new head, in channel order. Only durable commits are named (nothing
    /// of an open batch).
    pub fn take_hints(&mut self) -> Vec<(String, u64)> {
        std::mem::take(&mut self.hints.pending)
            .into_iter()
            .collect()
    }

    /// A hint from the fan-out link: some node committed `channel` up to `offset`. If this
    /// node holds the channel and its cached head is below `offset`, the log up to there is
    /// read and delivered in order. A hint at or below the cached head (a duplicate, or late)
    /// does nothing; a channel this node does not hold is read fresh on its next use. A store
    /// failure is counted and otherwise ignored: the next hint or poll tries again.
    pub fn handle_log_hint(&mut self, _now: u64, channel: &str, offset: u64) {
        let behind = self
            .channels
            .get(channel)
            .is_some_and(|state| state.head.head < offset);
        if behind && self.learn_log(channel, offset).is_err() {
            self.stats.store_errors += 1;
        }
    }

    /// Polls the store for other nodes' commits (the fallback when the fan-out link is down,
    /// and a periodic safety net): for each held channel with a view or a waiting change feed,
    /// reads the store's head and delivers what is new. One head read per such channel.
    pub fn sync_channels(&mut self, _now: u64) {
        let mut names: Vec<String> = self
            .channels
            .iter()
            .filter(|(name, state)| {
                !state.views.is_empty() || self.api.waiters.contains_key(name.as_str())
            })
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        for channel in names {
            if self.refresh_channel(&channel).is_err() {
                self.stats.store_errors += 1;
            }
        }
    }

    /// Reads the channel's head from the store and, if this node holds the channel behind it,
    /// delivers the log up to it.
    pub(super) fn refresh_channel(&mut self, channel: &str) -> Result<(), StoreError> {
        let Some(cached) = self.channels.get(channel).map(|s| s.head.head) else {
            return Ok(());
        };
        let head = self.store.channel_head(channel)?;
        if head.head > cached {
            self.learn_log(channel, head.head)?;
        }
        if let Some(state) = self.channels.get_mut(channel) {
            state.head.pruned_through = state.head.pruned_through.max(head.pruned_through);
        }
        Ok(())
    }

    /// Reads the log of a held channel after its cached head up to at least `through` (or
    /// the log's end) and delivers every entry to this node's views in offset order, moving the
    /// cached head with each. Entries already gone from the log (this node fell behind by more
    /// than the retention) cannot be delivered: the channel's subscribers are closed with 1011
    /// and resubscribe (a `reset`, or a replay if the log still covers them), and the head
    /// jumps to the store's.
    pub(super) fn learn_log(&mut self, channel: &str, through: u64) -> Result<(), StoreError> {
        loop {
            let Some(head) = self.channels.get(channel).map(|s| s.head.head) else {
                return Ok(());
            };
            if head >= through {
                break;
            }
            let page = self.store.log_after(channel, head, LEARN_PAGE)?;
            let Some(first) = page.first() else {
                break;
            };
            if first.offset != head + 1 {
                self.lost_continuity(channel)?;
                break;
            }
            let full = page.len() == LEARN_PAGE;
            for entry in &page {
                let Some(state) = self.channels.get_mut(channel) else {
                    return Ok(());
                };
                if entry.offset != state.head.head + 1 {
                    break;
                }
                state.head.head = entry.offset;
                self.stats.events_learned += 1;
                self.fan_out(channel, entry);
            }
            if !full {
                break;
            }
        }
        self.wake_feeds(channel);
        Ok(())
    }

    /// The log no longer holds what this node's views of `channel` need next: closes their
    /// subscribers (1011) and reloads the channel from the store.
    fn lost_continuity(&mut self, channel: &str) -> Result<(), StoreError> {
        let head = self.store.channel_head(channel)?;
        let subscribers: Vec<_> = self
            .channels
            .get(channel)
            .map(|s| s.subscribers.iter().copied().collect())
            .unwrap_or_default();
        for conn in subscribers {
            self.close(conn, CloseCode::Internal);
        }
        if let Some(state) = self.channels.get_mut(channel) {
            state.head = head;
            for view in state.views.values_mut() {
                view.last_delivered = head.head;
            }
        }
        Ok(())
    }
}
