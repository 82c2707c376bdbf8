//! Catch-ups: a subscription's replay (`recovered`) or snapshot (`reset`) streamed in pages
//! as the connection's credit allows (see [`super::flow`]).
//!
//! * A replay keeps the last log offset read; each step reads the next entries of the log up
//!   to the room left on the connection, sends the view's events among them, and ends when it
//!   reaches the channel's head, at which point the subscription is live. Live events of the
//!   view are not sent to the connection meanwhile: the replay reads them from the log.
//! * A snapshot keeps the last document id read; each step reads live documents after it in
//!   id order and sends those in the view as a `snapshot` page of at most
//!   `snapshot_page_bytes` (a larger document goes alone). A commit of the view to an id at or below the last one
//!   read marks it dirty (a higher id is read by a later page anyway). Once the id range is
//!   exhausted the dirty ids are sent with their current state (or in `removed`), and the
//!   page that empties them is the last one (`more: false`), carrying the channel head of
//!   that instant as its `offset`: the client's view is then exactly the view at that offset.
//!   The view's events to the connection are suppressed until then.

use std::collections::BTreeSet;

use tether_protocol::{CloseCode, Document, Selector, ServerMessage};

use super::views::{effect, event_message};
use super::{ConnId, ServerEngine};
use crate::store::{Store, StoreError};

/// Log entries read per replay step (fewer when the connection has less room).
const REPLAY_PAGE: usize = 256;
/// Documents read from the store per snapshot read.
const SCAN_ROWS: usize = 64;
/// Rows a `subscribe` reads for its first snapshot page before answering.
const FIRST_PAGE_ROWS: usize = 4_096;

/// Where a streaming subscription stands.
#[derive(Debug)]
pub(crate) enum Catchup {
    /// Replaying the log.
    Replay {
        /// View key.
        key: String,
        /// Last log offset read.
        last: u64,
        /// Last offset sent on the view (the next event's `prev`).
        prev: u64,
    },
    /// Streaming a snapshot.
    Snapshot(SnapshotCursor),
}

/// A snapshot's position.
#[derive(Debug)]
pub(crate) struct SnapshotCursor {
    /// View key.
    pub(crate) key: String,
    /// Last document id read (sent or filtered out).
    pub(crate) after: Option<String>,
    /// Every id has been read once.
    pub(crate) range_done: bool,
    /// Ids read before and changed in the view since.
    pub(crate) dirty: BTreeSet<String>,
}

impl SnapshotCursor {
    pub(crate) fn new(key: String) -> SnapshotCursor {
        SnapshotCursor {
            key,
            after: None,
            range_done: false,
            dirty: BTreeSet::new(),
        }
    }
}

impl Catchup {
    /// A committed change of document `id` affects the view while this catch-up streams.
    pub(crate) fn note(&mut self, id: &str) {
        if let Catchup::Snapshot(s) = self {
            if s.range_done || s.after.as_deref().is_some_and(|a| id <= a) {
                s.dirty.insert(id.to_owned());
            }
        }
    }
}

/// One page being built.
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub(crate) docs: Vec<Document>,
    pub(crate) removed: Vec<String>,
    bytes: usize,
}

impl Page {
    fn push(&mut self, doc: Document) {
        self.bytes += doc_bytes(&doc);
        self.docs.push(doc);
    }

    fn is_empty(&self) -> bool {
        self.docs.is_empty() && self.removed.is_empty()
    }
}

/// About the encoded size of a document in a page.
fn doc_bytes(doc: &Document) -> usize {
    doc.doc.to_text().len() + doc.id.len() + 40
}

impl<S: Store> ServerEngine<S> {
    /// Page byte budget for this configuration.
    fn page_bytes(&self) -> usize {
        let quarter = usize::try_from(self.config.max_message_bytes / 4).unwrap_or(usize::MAX);
        self.config.snapshot_page_bytes.min(quarter).max(1)
    }

    /// Reads the first snapshot page of a view (before the subscription is committed).
    pub(super) fn first_page(
        &mut self,
        channel: &str,
        selector: &Selector,
        cursor: &mut SnapshotCursor,
    ) -> Result<Page, StoreError> {
        let mut page = Page::default();
        let mut rows = FIRST_PAGE_ROWS;
        self.scan(channel, selector, cursor, &mut page, &mut rows)?;
        Ok(page)
    }

    /// Reads documents after the cursor into `page` until it is full, `rows` are used up, or
    /// the id range is exhausted.
    fn scan(
        &mut self,
        channel: &str,
        selector: &Selector,
        cursor: &mut SnapshotCursor,
        page: &mut Page,
        rows: &mut usize,
    ) -> Result<(), StoreError> {
        if selector.ids.is_some() {
            return self.scan_ids(channel, selector, cursor, page, rows);
        }
        let limit = self.page_bytes();
        while !cursor.range_done && page.bytes < limit && *rows > 0 {
            let want = SCAN_ROWS.min(*rows);
            let docs = self
                .store
                .snapshot_page(channel, cursor.after.as_deref(), want)?;
            *rows = rows.saturating_sub(docs.len().max(1));
            let read_all = docs.len() < want;
            let mut consumed_all = true;
            for doc in docs {
                if page.bytes >= limit {
                    consumed_all = false;
                    break;
                }
                cursor.after = Some(doc.id.clone());
                if selector.matches(&doc.id, &doc.doc) {
                    page.push(doc);
                }
            }
            if read_all && consumed_all {
                cursor.range_done = true;
            }
        }
        Ok(())
    }

    /// [`Self::scan`] of a by-id view: reads its ids after the cursor one by one (at most
    /// [`tether_protocol::MAX_VIEW_IDS`] reads, however large the channel).
    fn scan_ids(
        &mut self,
        channel: &str,
        selector: &Selector,
        cursor: &mut SnapshotCursor,
        page: &mut Page,
        rows: &mut usize,
    ) -> Result<(), StoreError> {
        let limit = self.page_bytes();
        let after = cursor.after.clone();
        let mut rest = (selector.ids.iter().flat_map(|ids| ids.iter()))
            .filter(|id| after.as_deref().is_none_or(|a| *id > a));
        while !cursor.range_done && page.bytes < limit && *rows > 0 {
            let Some(id) = rest.next() else {
                cursor.range_done = true;
                break;
            };
            *rows = rows.saturating_sub(1);
            cursor.after = Some(id.to_owned());
            let Some(stored) = self.store.document(channel, id)? else {
                continue;
            };
            if let Some(body) = stored.body.filter(|b| selector.matches(id, b)) {
                page.push(Document {
                    id: id.to_owned(),
                    version: stored.version,
                    doc: body,
                });
            }
        }
        if rest.next().is_none() {
            cursor.range_done = true;
        }
        Ok(())
    }

    /// One step of the connection's catch-up on `channel`, outputting at most `room` frames.
    pub(super) fn catchup_step(
        &mut self,
        now: u64,
        conn: ConnId,
        channel: &str,
        room: usize,
        rows: &mut usize,
    ) {
        let Some(catchup) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.catchups.remove(channel))
        else {
            return;
        };
        let result = match catchup {
            Catchup::Replay { key, last, prev } => {
                self.replay_step(now, conn, channel, (key, last, prev), room, rows)
            }
            Catchup::Snapshot(cursor) => self.snapshot_step(conn, channel, cursor, rows),
        };
        match result {
            Ok(None) => self.finish_catchup(conn, channel),
            Ok(Some(next)) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.catchups.insert(channel.to_owned(), next);
                }
            }
            Err(_) => {
                // The client resumes from what it has after reconnecting.
                self.stats.store_errors += 1;
                self.close_at(now, conn, CloseCode::Internal);
            }
        }
    }

    /// The subscription is live: presence follows.
    fn finish_catchup(&mut self, conn: ConnId, channel: &str) {
        if self.conns.contains_key(&conn) {
            self.send_presence_sync(conn, channel);
        }
    }

    fn view_selector(&self, channel: &str, key: &str) -> Selector {
        self.channels
            .get(channel)
            .and_then(|s| s.views.get(key))
            .map(|v| v.selector.clone())
            .unwrap_or_default()
    }

    /// Replays the next log entries; `None` once caught up with the head.
    fn replay_step(
        &mut self,
        now: u64,
        conn: ConnId,
        channel: &str,
        (key, mut last, mut prev): (String, u64, u64),
        room: usize,
        rows: &mut usize,
    ) -> Result<Option<Catchup>, StoreError> {
        let head = self.channel_head(channel)?;
        if last >= head.head {
            return Ok(None);
        }
        let missed = usize::try_from(head.head - last).unwrap_or(usize::MAX);
        let limit = REPLAY_PAGE.min(room).min((*rows).max(1)).min(missed).max(1);
        let entries = self.store.log_after(channel, last, limit)?;
        *rows = rows.saturating_sub(entries.len().max(1));
        if entries.first().map(|e| e.offset) != Some(last + 1) {
            // Retention pruned the log past this replay (the reader was slower than the log
            // moves): the client resumes from its advanced cursor after reconnecting.
            self.stats.slow_consumers += 1;
            self.close_at(now, conn, CloseCode::SlowConsumer);
            return Ok(Some(Catchup::Replay { key, last, prev }));
        }
        let epoch = self.store.epoch().to_owned();
        let selector = self.view_selector(channel, &key);
        for entry in &entries {
            if entry.offset != last + 1 {
                break;
            }
            last = entry.offset;
            if let Some(op) = effect(&selector, entry) {
                let msg = event_message(channel, &epoch, entry, op, prev);
                self.send_msg(conn, &msg);
                prev = entry.offset;
            }
        }
        if last >= head.head {
            return Ok(None);
        }
        Ok(Some(Catchup::Replay { key, last, prev }))
    }

    /// Sends the next snapshot page; `None` after the last one.
    fn snapshot_step(
        &mut self,
        conn: ConnId,
        channel: &str,
        mut cursor: SnapshotCursor,
        rows: &mut usize,
    ) -> Result<Option<Catchup>, StoreError> {
        let selector = self.view_selector(channel, &cursor.key);
        let mut page = Page::default();
        self.scan(channel, &selector, &mut cursor, &mut page, rows)?;
        if cursor.range_done {
            let limit = self.page_bytes();
            while page.bytes < limit {
                let Some(id) = cursor.dirty.pop_first() else {
                    break;
                };
                *rows = rows.saturating_sub(1);
                let body = self.store.document(channel, &id)?.and_then(|d| {
                    d.body
                        .filter(|b| selector.matches(&id, b))
                        .map(|b| (d.version, b))
                });
                match body {
                    Some((version, doc)) => page.push(Document { id, version, doc }),
                    None => {
                        page.bytes += id.len() + 3;
                        page.removed.push(id);
                    }
                }
            }
        }
        let last = cursor.range_done && cursor.dirty.is_empty();
        if last || !page.is_empty() {
            let head = self.channel_head(channel)?;
            let msg = ServerMessage::Snapshot {
                channel: channel.to_owned(),
                epoch: self.store.epoch().to_owned(),
                offset: head.head,
                docs: page.docs,
                removed: page.removed,
                more: !last,
            };
            self.send_msg(conn, &msg);
        }
        if last {
            return Ok(None);
        }
        Ok(Some(Catchup::Snapshot(cursor)))
    }
}
