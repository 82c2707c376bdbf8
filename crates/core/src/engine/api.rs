//! App calls: views, mutations, broadcasts, requests, presence.

use tether_protocol::{
    apply_op, validate_channel, validate_doc_id, ClientMessage, Filter, IdSet, Op, Selector,
};
use tether_protocol::{Json, Object};

use super::{Channel, Engine, PendingRequest, Queued};
use crate::barrier::WriteBatch;
use crate::connection::ConnectionState;
use crate::continuity::{SubState, Subscription};
use crate::error::{EngineError, Rejection};
use crate::outbox::PendingMutation;
use crate::output::{MutationOutcome, Output};
use crate::persist::Persist;
use crate::store::ChannelStore;
use crate::view::{View, ViewId};

/// The `base_version` a mutation is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precondition {
    /// Based on what this client shows: the confirmed version plus this client's own pending
    /// mutations of the document (so queued edits do not conflict with each other); "must not
    /// exist" for a document an unfiltered, live channel does not hold; unconditional when
    /// the version cannot be known (e.g. after a pending delete or create).
    #[default]
    Auto,
    /// Apply regardless of the current version (last writer wins).
    Unconditional,
    /// Only if the document does not exist (`base_version` 0).
    MustNotExist,
    /// Only if the current version is exactly this.
    Version(u64),
}

impl Engine {
    /// Opens a view of a channel, optionally filtered. Its content arrives in the next
    /// change-set (`replace: true`, cached documents first, then live data).
    pub fn subscribe(
        &mut self,
        now: u64,
        channel: &str,
        filter: Option<Filter>,
    ) -> Result<ViewId, EngineError> {
        self.subscribe_selector(now, channel, Selector { filter, ids: None })
    }

    /// Opens a view of a channel holding what `selector` selects: with `ids`, a by-id view of
    /// those documents only (each that exists and matches the filter, if any). Otherwise as
    /// [`Engine::subscribe`].
    pub fn subscribe_selector(
        &mut self,
        now: u64,
        channel: &str,
        selector: Selector,
    ) -> Result<ViewId, EngineError> {
        validate_channel(channel).map_err(|_| EngineError::InvalidChannel {
            channel: channel.to_owned(),
        })?;
        let id = ViewId(self.next_view);
        self.next_view += 1;
        self.views
            .insert(id, View::new(channel.to_owned(), selector));
        if !self.channels.contains_key(channel) {
            self.channels.insert(
                channel.to_owned(),
                Channel {
                    store: ChannelStore::default(),
                    sub: Subscription::new(None, String::new()),
                    presence: None,
                    presence_resend: false,
                    members: crate::sorted::SortedMap::new(),
                    cached: false,
                },
            );
            // Mutations queued before the channel had a store show in it at once.
            let ids = self.outbox.pending_ids(channel);
            for id in ids {
                self.rebase(channel, &id);
            }
        }
        self.update_subscription(now, channel);
        self.finish(now);
        Ok(id)
    }

    /// Closes a view; the channel is unsubscribed when no view is left (its cache is kept
    /// for a later resume).
    pub fn unsubscribe(&mut self, now: u64, view: ViewId) -> Result<(), EngineError> {
        let v = self
            .views
            .remove(&view)
            .ok_or(EngineError::UnknownView { view: view.0 })?;
        self.update_subscription(now, &v.channel);
        self.finish(now);
        Ok(())
    }

    /// Queues a mutation: persisted (`Persist::OutboxPut`), shown optimistically, sent when
    /// connected, and reported once as `Output::Mutation`. Returns its mutation id.
    pub fn mutate(
        &mut self,
        now: u64,
        channel: &str,
        op: Op,
        id: &str,
        doc: Option<Json>,
        precondition: Precondition,
    ) -> Result<u64, EngineError> {
        validate_channel(channel).map_err(|_| EngineError::InvalidChannel {
            channel: channel.to_owned(),
        })?;
        validate_doc_id(id).map_err(|_| EngineError::InvalidDocId { id: id.to_owned() })?;
        let doc = match op {
            Op::Delete => None,
            Op::Put | Op::Patch => {
                let empty = Json::Object(Object::new());
                apply_op(Some(&empty), op, doc.as_ref())
                    .map_err(|reason| EngineError::InvalidBody { reason })?;
                doc
            }
        };
        let base = self
            .channels
            .get(channel)
            .and_then(|c| c.store.visible.get(id))
            .map(|v| v.doc.clone());
        let mutation = PendingMutation {
            mutation_id: self.outbox.next_id(),
            channel: channel.to_owned(),
            op,
            id: id.to_owned(),
            base_version: self.base_version(channel, id, precondition),
            doc,
            base,
        };
        let mutation_id = mutation.mutation_id;
        self.persist(Persist::OutboxPut {
            mutation: mutation.clone(),
        });
        self.outbox.push(mutation);
        self.rebase(channel, id);
        // The app's own write shows at once, not after the batch interval.
        self.urgent_flush = true;
        if self.state == ConnectionState::Ready {
            self.send_unsent(now);
        }
        self.finish(now);
        Ok(mutation_id)
    }

    /// The next batch of durable writes, after `Output::WriteReady`: make it durable in one
    /// atomic transaction, then report [`Engine::write_done`]. `None` while a batch is in
    /// flight or nothing is gathered. Writes made until this is called join the batch, so a
    /// shell that calls it at the end of the current task stores a loop of `mutate` calls in
    /// one transaction.
    pub fn take_writes(&mut self) -> Option<WriteBatch> {
        let last = self.outbox.next_id().saturating_sub(1);
        self.barrier.take(last)
    }

    /// Batch `batch_id` is durable (`Ok`) or was not stored at all (`Err` with the storage's
    /// message). On `Ok` the frames waiting for it leave (`Output::Send`); on `Err` each
    /// mutation it was to store is withdrawn — rolled back and reported once as
    /// `MutationOutcome::Rejected` with [`Rejection::Storage`] — and its frame is never sent.
    /// An unknown or repeated id is ignored.
    pub fn write_done(&mut self, now: u64, batch_id: u64, result: Result<(), String>) {
        let message = result.as_ref().err().cloned().unwrap_or_default();
        let Some(done) = self.barrier.done(batch_id, result.is_ok()) else {
            return;
        };
        self.storage_ok = result.is_ok();
        for mutation_id in done.failed {
            self.withdraw(mutation_id, &message);
        }
        for channel in &done.failed_channels {
            self.ingest.replace_cache(channel);
        }
        for write in done.retry {
            self.persist(write);
        }
        for frame in done.release {
            self.outputs.push_back(Output::Send(frame));
        }
        if done.signal {
            self.outputs.push_back(Output::WriteReady);
        }
        self.finish(now);
    }

    /// Whether writes are gathered or in flight (not yet durable).
    pub fn writes_pending(&self) -> bool {
        self.barrier.busy()
    }

    /// Whether the last write batch was stored (false after a failed one, until one succeeds).
    pub fn storage_ok(&self) -> bool {
        self.storage_ok
    }

    /// The shell could not make this mutation's `Persist::OutboxPut` durable outside a write
    /// batch. The mutation is withdrawn: removed from the outbox, rolled back, and reported
    /// once as `MutationOutcome::Rejected` with [`Rejection::Storage`]; a frame of it still
    /// held back is never sent. Returns false when the mutation is no longer pending.
    pub fn storage_failed(&mut self, now: u64, mutation_id: u64, message: &str) -> bool {
        let withdrawn = self.withdraw(mutation_id, message);
        self.finish(now);
        withdrawn
    }

    fn withdraw(&mut self, mutation_id: u64, message: &str) -> bool {
        self.barrier.forget_mutation(mutation_id);
        let Some(entry) = self.outbox.remove(mutation_id) else {
            return false;
        };
        self.persist(Persist::OutboxRemove { mutation_id });
        let m = entry.mutation;
        self.rebase(&m.channel, &m.id);
        self.outputs
            .push_back(Output::Mutation(MutationOutcome::Rejected {
                mutation: m,
                reason: Rejection::Storage {
                    message: message.to_owned(),
                },
            }));
        self.urgent_flush = true;
        true
    }

    /// Sends an ephemeral message to the channel's other subscribers (queued while
    /// disconnected, up to `offline_queue_limit`).
    pub fn broadcast(&mut self, now: u64, channel: &str, payload: Json) -> Result<(), EngineError> {
        self.require_view(channel)?;
        if self.state == ConnectionState::Ready && self.queue.is_empty() && self.budget_allows(now)
        {
            self.send(&ClientMessage::Broadcast {
                channel: channel.to_owned(),
                payload,
            });
        } else {
            self.enqueue(Queued::Broadcast {
                channel: channel.to_owned(),
                payload,
            })?;
            self.drain_queue(now);
        }
        self.finish(now);
        Ok(())
    }

    /// Calls a server method; the answer (or `RequestError::Timeout` after
    /// `request_timeout_ms`) arrives as `Output::Response` with the returned id.
    pub fn request(&mut self, now: u64, method: &str, body: Json) -> Result<u64, EngineError> {
        let id = self.next_request;
        let ready = self.state == ConnectionState::Ready
            && self.queue.is_empty()
            && self.budget_allows(now);
        if ready {
            self.send(&ClientMessage::Request {
                id,
                method: method.to_owned(),
                body,
            });
        } else {
            self.enqueue(Queued::Request {
                id,
                method: method.to_owned(),
                body,
            })?;
        }
        self.next_request += 1;
        self.requests.insert(
            id,
            PendingRequest {
                deadline: now + self.config.request_timeout_ms,
                sent: ready,
            },
        );
        if !ready {
            self.drain_queue(now);
        }
        self.finish(now);
        Ok(id)
    }

    /// Sets (or with None clears) this client's presence on a subscribed channel; it is sent
    /// again after every reconnect.
    pub fn set_presence(
        &mut self,
        now: u64,
        channel: &str,
        state: Option<Json>,
    ) -> Result<(), EngineError> {
        self.require_view(channel)?;
        let ready = self.state == ConnectionState::Ready;
        if let Some(ch) = self.channels.get_mut(channel) {
            ch.presence.clone_from(&state);
            let sent = matches!(ch.sub.state, SubState::Pending { .. } | SubState::Live);
            // (Pending: the server handles our frames in order, after the subscribe.)
            if ready && sent {
                self.send(&ClientMessage::Presence {
                    channel: channel.to_owned(),
                    state,
                });
            }
        }
        self.finish(now);
        Ok(())
    }

    fn require_view(&self, channel: &str) -> Result<(), EngineError> {
        if self.views.values().any(|v| v.channel == channel) {
            Ok(())
        } else {
            Err(EngineError::NotSubscribed {
                channel: channel.to_owned(),
            })
        }
    }

    fn enqueue(&mut self, item: Queued) -> Result<(), EngineError> {
        if self.queue.len() >= self.config.offline_queue_limit {
            return Err(EngineError::OfflineQueueFull {
                limit: self.config.offline_queue_limit,
            });
        }
        self.queue.push_back(item);
        Ok(())
    }

    fn base_version(&self, channel: &str, id: &str, pre: Precondition) -> Option<u64> {
        match pre {
            Precondition::Unconditional => None,
            Precondition::MustNotExist => Some(0),
            Precondition::Version(v) => Some(v),
            Precondition::Auto => {
                // Counted in one pass (no vector of the pending entries).
                let (mut pending, mut deletes) = (0u64, false);
                for m in self.outbox.pending_for(channel, id) {
                    pending += 1;
                    deletes |= m.op == Op::Delete;
                }
                let ch = self.channels.get(channel);
                match ch.and_then(|c| c.store.confirmed.get(id)) {
                    Some(doc) if !deletes => Some(doc.version + pending),
                    Some(_) => None,
                    None => {
                        let authoritative = ch.is_some_and(|c| {
                            c.sub.filter_key.is_empty()
                                && c.sub.cursor_key.is_empty()
                                && c.sub.cursor.is_some()
                        });
                        (pending == 0 && authoritative).then_some(0)
                    }
                }
            }
        }
    }

    /// Re-derives the channel's subscription selector and (re)subscribes or unsubscribes as
    /// needed. The selector holds every view's documents: its filter is the `or` of the views'
    /// filters (none when one view has none), its ids the union of the views' ids when every
    /// view is a by-id view (and the union stays within [`tether_protocol::MAX_VIEW_IDS`];
    /// otherwise no ids). Each view then picks its own documents out of the channel's.
    fn update_subscription(&mut self, now: u64, name: &str) {
        let mut filters: Vec<Option<Filter>> = Vec::new();
        let mut ids: Option<Option<IdSet>> = None;
        for v in self.views.values() {
            if v.channel == name {
                filters.push(v.selector.filter.clone());
                ids = Some(match (ids, &v.selector.ids) {
                    (None, mine) => mine.clone(),
                    (Some(Some(all)), Some(mine)) => all.union(mine),
                    (Some(_), _) => None,
                });
            }
        }
        let ready = self.state == ConnectionState::Ready;
        let Some(ch) = self.channels.get_mut(name) else {
            return;
        };
        if filters.is_empty() {
            let was_active = ch.sub.state != SubState::Inactive;
            if ch.sub.awaits_answer() {
                ch.sub.stale_answers += 1;
            }
            // The pages of a snapshot already announced find no buffer and are dropped.
            ch.sub.pages = None;
            ch.sub.state = SubState::Inactive;
            ch.presence = None;
            if ready && was_active {
                self.send(&ClientMessage::Unsubscribe {
                    channel: name.to_owned(),
                });
            }
            return;
        }
        let union = if filters.iter().any(Option::is_none) {
            None
        } else {
            let mut distinct: Vec<Filter> = Vec::new();
            for f in filters.into_iter().flatten() {
                if !distinct
                    .iter()
                    .any(|d| d.canonical_key() == f.canonical_key())
                {
                    distinct.push(f);
                }
            }
            if distinct.len() == 1 {
                distinct.pop()
            } else {
                Some(Filter::Or(distinct))
            }
        };
        let selector = Selector {
            filter: union,
            ids: ids.flatten(),
        };
        let key = selector.canonical_key();
        if ch.sub.state == SubState::Inactive || key != ch.sub.filter_key {
            ch.sub.selector = selector;
            ch.sub.filter_key = key;
            self.resubscribe(now, name);
        }
    }
}
