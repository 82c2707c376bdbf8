//! Subscriptions: `subscribe` (reset + snapshot, or recovered + replay), `unsubscribe`, and the
//! per-channel state (head, views, subscribers, presence).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tether_protocol::Json;
use tether_protocol::{
    validate_channel, Continuity, ErrorCode, Filter, IdSet, Selector, ServerMessage, Since,
};

use super::catchup::{Catchup, SnapshotCursor};
use super::presence::PresenceEntry;
use super::views::View;
use super::{with_channel, ConnId, ServerEngine};
use crate::store::{ChannelHead, Store, StoreError};

/// What the engine keeps per channel it has touched.
#[derive(Debug, Default)]
pub(crate) struct ChannelState {
    pub(crate) head: ChannelHead,
    /// Views by canonical selector key (`""` = unfiltered, [`Selector::canonical_key`]).
    pub(crate) views: HashMap<String, View>,
    pub(crate) subscribers: BTreeSet<ConnId>,
    /// Presence by client id.
    pub(crate) presence: BTreeMap<String, PresenceEntry>,
}

impl<S: Store> ServerEngine<S> {
    /// The channel's cached head, loading it from the store on first use.
    pub(super) fn channel_head(&mut self, channel: &str) -> Result<ChannelHead, StoreError> {
        self.channel_used(channel);
        if let Some(state) = self.channels.get(channel) {
            return Ok(state.head);
        }
        let head = self.store.channel_head(channel)?;
        self.channels.insert(
            channel.to_owned(),
            ChannelState {
                head,
                ..ChannelState::default()
            },
        );
        Ok(head)
    }

    /// Whether the retained log holds every entry after `since`, so it can be replayed.
    fn replayable(
        &mut self,
        channel: &str,
        head: ChannelHead,
        since: &Since,
    ) -> Result<bool, StoreError> {
        if since.epoch != self.store.epoch()
            || since.offset > head.head
            || since.offset < head.pruned_through
        {
            return Ok(false);
        }
        if since.offset == head.head {
            return Ok(true);
        }
        // The log is gap-free between the pruning point and the head: check the first entry
        // (present, and young enough to be replayed).
        let first = self.store.log_after(channel, since.offset, 1)?;
        Ok(first.first().is_some_and(|e| {
            e.offset == since.offset + 1
                && e.unix_ms.saturating_add(self.config.retain_ms) >= self.unix_ms
        }))
    }

    pub(super) fn internal_error(&mut self, conn: ConnId, err: &StoreError) {
        self.stats.store_errors += 1;
        self.send_error(conn, ErrorCode::Internal, err.to_string(), |_| {});
    }

    pub(super) fn handle_subscribe(
        &mut self,
        _now: u64,
        conn: ConnId,
        channel: String,
        (filter, ids): (Option<Json>, Option<Json>),
        since: Option<Since>,
    ) {
        if let Err(err) = validate_channel(&channel) {
            self.stats.bad_messages += 1;
            self.send_error(
                conn,
                ErrorCode::BadMessage,
                err.to_string(),
                with_channel(&channel),
            );
            return;
        }
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if !c.may_read(&channel) {
            let message = format!("the token does not allow reading channel {channel}");
            self.send_error(conn, ErrorCode::Forbidden, message, with_channel(&channel));
            return;
        }
        let old_key = c.subscriptions.get(&channel).cloned();
        if old_key.is_none() && c.subscriptions.len() >= self.config.max_subscriptions as usize {
            let message = format!(
                "at most {} subscriptions per connection",
                self.config.max_subscriptions
            );
            let fill = with_channel(&channel);
            self.send_error(conn, ErrorCode::TooManySubscriptions, message, fill);
            return;
        }
        let filter = match filter {
            None | Some(Json::Null) => None,
            Some(value) => match Filter::parse(&value) {
                Ok(f) => Some(f),
                Err(err) => {
                    let fill = with_channel(&channel);
                    self.send_error(conn, ErrorCode::InvalidFilter, err.to_string(), fill);
                    return;
                }
            },
        };
        let ids = match ids {
            None | Some(Json::Null) => None,
            Some(value) => match IdSet::parse(&value) {
                Ok(ids) => Some(ids),
                Err(err) => {
                    let fill = with_channel(&channel);
                    self.send_error(conn, ErrorCode::InvalidIds, err.to_string(), fill);
                    return;
                }
            },
        };
        let selector = Selector { filter, ids };
        let key = selector.canonical_key();
        if let Err(err) = self.subscribe_inner(conn, &channel, selector, key, old_key, since) {
            self.internal_error(conn, &err);
        }
    }

    fn subscribe_inner(
        &mut self,
        conn: ConnId,
        channel: &str,
        selector: Selector,
        key: String,
        old_key: Option<String>,
        since: Option<Since>,
    ) -> Result<(), StoreError> {
        if self.config.shared_store {
            // Other nodes may have written since this node cached the head: deliver their
            // commits to the existing views first, so the new subscriber starts at the store's.
            self.refresh_channel(channel)?;
        }
        let head = self.channel_head(channel)?;
        let epoch = self.store.epoch().to_owned();
        // Read first: a store failure leaves the old subscription in place.
        let replay = match &since {
            Some(since) => self.replayable(channel, head, since)?,
            None => false,
        };
        let first = if replay {
            None
        } else {
            let mut cursor = SnapshotCursor::new(key.clone());
            let page = self.first_page(channel, &selector, &mut cursor)?;
            Some((page, cursor))
        };
        // Whether the view is still there after the old subscription is left: resubscribing
        // with the same filter as its only subscriber drops it, and the new one needs a fresh
        // start (an old view's start of 0 would claim `prev: 0` on its next live event).
        let view_survives = self
            .channels
            .get(channel)
            .and_then(|s| s.views.get(&key))
            .is_some_and(|v| {
                old_key.as_deref() != Some(key.as_str()) || v.subscribers.iter().any(|c| *c != conn)
            });
        let start = if view_survives {
            0
        } else {
            self.view_start(channel, &selector, head)?
        };

        // Commit to the new subscription.
        if let Some(old) = &old_key {
            self.leave_view(conn, channel, old);
        } else {
            self.stats.subscriptions += 1;
        }
        if let Some(state) = self.channels.get_mut(channel) {
            let view = state.views.entry(key.clone()).or_insert_with(|| View {
                selector,
                last_delivered: start,
                subscribers: BTreeSet::new(),
            });
            view.subscribers.insert(conn);
            state.subscribers.insert(conn);
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.subscriptions.insert(channel.to_owned(), key.clone());
            c.catchups.remove(channel);
        }

        match first {
            None => {
                // The replay streams from the pump as credit allows; presence follows it.
                let since_offset = since.map_or(0, |s| s.offset);
                let subscribed = ServerMessage::Subscribed {
                    channel: channel.to_owned(),
                    epoch,
                    offset: since_offset,
                    continuity: Continuity::Recovered,
                    snapshot: None,
                    more: false,
                };
                self.send_msg(conn, &subscribed);
                let catchup = Catchup::Replay {
                    key,
                    last: since_offset,
                    prev: since_offset,
                };
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.catchups.insert(channel.to_owned(), catchup);
                }
            }
            Some((page, cursor)) => {
                let more = !cursor.range_done;
                let subscribed = ServerMessage::Subscribed {
                    channel: channel.to_owned(),
                    epoch,
                    offset: head.head,
                    continuity: Continuity::Reset,
                    snapshot: Some(page.docs),
                    more,
                };
                self.send_msg(conn, &subscribed);
                if more {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.catchups
                            .insert(channel.to_owned(), Catchup::Snapshot(cursor));
                    }
                } else {
                    self.send_presence_sync(conn, channel);
                }
            }
        }
        Ok(())
    }

    /// Whether `conn` is still streaming a catch-up of `channel`; if so, notes that document
    /// `id` changed in its view (the catch-up delivers it instead of the live event).
    pub(super) fn catching_up(&mut self, conn: ConnId, channel: &str, id: &str) -> bool {
        let Some(catchup) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.catchups.get_mut(channel))
        else {
            return false;
        };
        catchup.note(id);
        true
    }

    pub(super) fn handle_unsubscribe(&mut self, conn: ConnId, channel: String) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let client_id = c.client_id.clone().unwrap_or_default();
        c.catchups.remove(&channel);
        if let Some(key) = c.subscriptions.remove(&channel) {
            self.detach(conn, &client_id, &channel, &key);
        }
        self.send_msg(conn, &ServerMessage::Unsubscribed { channel });
    }

    /// Removes the connection from one view (dropping the view when it empties).
    fn leave_view(&mut self, conn: ConnId, channel: &str, key: &str) {
        if let Some(state) = self.channels.get_mut(channel) {
            if let Some(view) = state.views.get_mut(key) {
                view.subscribers.remove(&conn);
                if view.subscribers.is_empty() {
                    state.views.remove(key);
                }
            }
        }
    }

    /// Ends a subscription: leaves the view and the channel, and the connection's presence.
    pub(super) fn detach(&mut self, conn: ConnId, client_id: &str, channel: &str, key: &str) {
        self.leave_view(conn, channel, key);
        if let Some(state) = self.channels.get_mut(channel) {
            state.subscribers.remove(&conn);
        }
        self.stats.subscriptions = self.stats.subscriptions.saturating_sub(1);
        self.presence_leave(conn, client_id, channel);
    }
}
