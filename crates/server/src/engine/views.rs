//! Views: the events one (channel, canonical selector) pair sees (a selector is the filter and,
//! for a by-id view, the ids), with the `prev` chain, encoded
//! once and shared by every subscriber of the view.

use std::collections::BTreeSet;
use std::sync::Arc;

use tether_protocol::{codec, EventKind, EventOp, Selector, ServerMessage};

use super::{ConnId, ServerEngine};
use crate::store::{ChannelHead, LogEntry, Store, StoreError};

/// Log entries fetched per page when scanning backwards for a new view's start.
const SCAN_PAGE: usize = 256;

/// One shared view of a channel.
#[derive(Debug)]
pub(crate) struct View {
    /// Which documents are in the view.
    pub(crate) selector: Selector,
    /// Offset of the last event of this view (or a point after which the view had none).
    pub(crate) last_delivered: u64,
    pub(crate) subscribers: BTreeSet<ConnId>,
}

/// What a log entry does to a view, or nothing: the op (upsert: in it afterwards; remove: was
/// in it and is not any more) and the kind (PROTOCOL.md §4 `event`). Both follow from the
/// entry's bodies before and after the change, so a replay gives every event the kind it had
/// live.
pub(crate) fn effect(selector: &Selector, entry: &LogEntry) -> Option<(EventOp, EventKind)> {
    let before = selector.holds(&entry.id, entry.prev_body.as_ref());
    let after = selector.holds(&entry.id, entry.body.as_ref());
    match (before, after) {
        (true, true) => Some((EventOp::Upsert, EventKind::Updated)),
        (false, true) if entry.prev_body.is_none() => Some((EventOp::Upsert, EventKind::Created)),
        (false, true) => Some((EventOp::Upsert, EventKind::Entered)),
        (true, false) if entry.body.is_none() => Some((EventOp::Remove, EventKind::Deleted)),
        (true, false) => Some((EventOp::Remove, EventKind::Left)),
        (false, false) => None,
    }
}

/// The `event` frame of an entry on a view.
pub(crate) fn event_message(
    channel: &str,
    epoch: &str,
    entry: &LogEntry,
    (op, kind): (EventOp, EventKind),
    prev: u64,
) -> ServerMessage {
    ServerMessage::Event {
        channel: channel.to_owned(),
        epoch: epoch.to_owned(),
        offset: entry.offset,
        prev,
        op,
        kind: Some(kind),
        id: entry.id.clone(),
        version: entry.version,
        doc: match op {
            EventOp::Upsert => entry.body.clone(),
            EventOp::Remove => None,
        },
        origin: entry.origin.clone(),
    }
}

impl<S: Store> ServerEngine<S> {
    /// Where a new view's `prev` chain starts: the offset of the last retained event of the
    /// view, or the pruning point when the retained log has none. Any subscriber (a reset one
    /// at the head, or a recovered one after its replay) is then caught up to at least it.
    pub(super) fn view_start(
        &mut self,
        channel: &str,
        selector: &Selector,
        head: ChannelHead,
    ) -> Result<u64, StoreError> {
        if selector.is_all() {
            // Every change of a channel is an event of its unfiltered view.
            return Ok(head.head);
        }
        let mut before = head.head.saturating_add(1);
        loop {
            let page = self.store.log_before(channel, before, SCAN_PAGE)?;
            for entry in &page {
                if effect(selector, entry).is_some() {
                    return Ok(entry.offset);
                }
            }
            match page.last() {
                Some(last) if page.len() == SCAN_PAGE => before = last.offset,
                _ => return Ok(head.pruned_through),
            }
        }
    }

    /// Sends a committed entry to every view of its channel it affects.
    pub(super) fn fan_out(&mut self, channel: &str, entry: &LogEntry) {
        let epoch = self.store.epoch().to_owned();
        let mut sends: Vec<(Arc<str>, Vec<ConnId>)> = Vec::new();
        if let Some(state) = self.channels.get_mut(channel) {
            for view in state.views.values_mut() {
                let Some(effect) = effect(&view.selector, entry) else {
                    continue;
                };
                let msg = event_message(channel, &epoch, entry, effect, view.last_delivered);
                view.last_delivered = entry.offset;
                let frame: Arc<str> = Arc::from(codec::encode_server(&msg));
                sends.push((frame, view.subscribers.iter().copied().collect()));
            }
        }
        for (frame, conns) in sends {
            for conn in conns {
                if self.catching_up(conn, channel, &entry.id) {
                    continue;
                }
                self.send_frame(conn, Arc::clone(&frame));
            }
        }
    }
}
