//! Frames from the server.

use crate::sorted::SortedMap;
use crate::store::rebase_into;

use tether_protocol::codec::EventRef;
use tether_protocol::Json;
use tether_protocol::{
    Continuity, Document, ErrorCode, EventKind, EventOp, PresenceEvent, PresenceMember,
    RejectReason, ServerMessage, Since,
};

use super::Engine;
use crate::config::Auth;
use crate::connection::ConnectionState;
use crate::continuity::{classify, SubState, Verdict};
use crate::error::{ConnectionError, Rejection, RequestError};
use crate::output::{Conflict, MutationOutcome, Output, PresenceChange};
use crate::persist::Persist;
use crate::timer::Timer;

/// The fields of a `snapshot` page.
struct Page {
    at: Since,
    docs: Vec<Document>,
    removed: Vec<String>,
    more: bool,
}

impl Engine {
    pub(super) fn dispatch(&mut self, now: u64, msg: ServerMessage) {
        match msg {
            ServerMessage::Welcome {
                heartbeat_timeout_ms,
                limits,
                ..
            } => {
                if self.state == ConnectionState::Handshaking {
                    self.on_ready(now, heartbeat_timeout_ms, &limits);
                }
            }
            ServerMessage::Subscribed {
                channel,
                epoch,
                offset,
                continuity,
                snapshot,
                more,
            } => {
                let at = Since { epoch, offset };
                self.on_subscribed(now, &channel, at, continuity, snapshot, more)
            }
            ServerMessage::Snapshot {
                channel,
                epoch,
                offset,
                docs,
                removed,
                more,
            } => {
                let page = Page {
                    at: Since { epoch, offset },
                    docs,
                    removed,
                    more,
                };
                self.on_snapshot_page(now, &channel, page)
            }
            ServerMessage::Unsubscribed { .. } => {}
            ServerMessage::Event {
                channel,
                epoch,
                offset,
                prev,
                op,
                kind,
                id,
                version,
                doc,
                origin,
            } => self.on_event(
                now,
                EventRef {
                    channel: &channel,
                    epoch: &epoch,
                    offset,
                    prev,
                    op,
                    kind,
                    id: &id,
                    version,
                    doc,
                    origin: origin
                        .as_ref()
                        .map(|o| (o.client_id.as_str(), o.mutation_id)),
                },
            ),
            ServerMessage::Ack {
                mutation_id,
                version,
                offset,
            } => {
                self.on_ack(mutation_id, version, offset);
                self.arm_ack_deadline(now);
            }
            ServerMessage::Reject {
                mutation_id,
                reason,
                current,
                message,
            } => {
                self.on_reject(mutation_id, reason, current, message);
                self.arm_ack_deadline(now);
            }
            ServerMessage::Broadcast {
                channel,
                payload,
                from,
            } => self.outputs.push_back(Output::Broadcast {
                channel,
                from,
                payload,
            }),
            ServerMessage::Notification { payload, from } => self
                .outputs
                .push_back(Output::Notification { from, payload }),
            ServerMessage::Response { id, body, error } => {
                let result = match error {
                    Some(e) => Err(RequestError::Server {
                        code: e.code,
                        message: e.message,
                    }),
                    None => Ok(body.unwrap_or(Json::Null)),
                };
                self.respond(id, result);
            }
            ServerMessage::Presence {
                channel,
                event,
                client_id,
                state,
            } => self.on_presence(channel, event, client_id, state),
            ServerMessage::PresenceSync { channel, members } => {
                self.on_presence_sync(channel, members);
            }
            ServerMessage::Pong { nonce } => self.heartbeat.pong(nonce, now),
            // Sent only when `hello` offered `refresh` (a token provider): ask it for a fresh
            // token, which `set_token` sends with `auth` on this connection.
            ServerMessage::TokenExpiring { .. } => {
                if self.config.auth == Auth::Provider {
                    self.outputs.push_back(Output::NeedToken);
                }
            }
            // The session runs on the token of the last `auth` now.
            ServerMessage::AuthOk { .. } => {}
            ServerMessage::Error {
                code,
                message,
                channel,
                mutation_id,
                request_id,
                retry_after_ms,
            } => self.on_error(
                now,
                code,
                message,
                channel,
                mutation_id,
                request_id,
                retry_after_ms,
            ),
        }
    }

    fn on_subscribed(
        &mut self,
        now: u64,
        name: &str,
        at: Since,
        continuity: Continuity,
        snapshot: Option<Vec<Document>>,
        more: bool,
    ) {
        let Some(ch) = self.channels.get_mut(name) else {
            return;
        };
        // The server answered: the view is no longer (only) the local cache.
        ch.cached = false;
        if ch.sub.stale_answers > 0 {
            // Answers a subscribe that an unsubscribe made obsolete (its pages, if any, find
            // no buffer and are dropped too).
            ch.sub.stale_answers -= 1;
            return;
        }
        match ch.sub.state {
            SubState::Pending { .. } => {}
            SubState::Live if ch.sub.resent && continuity == Continuity::Reset => {
                // The answer to an identical subscribe sent twice: a snapshot at a head at or
                // after everything received so far on this connection. Take it.
            }
            _ => return,
        }
        self.note_progress(now);
        let Some(ch) = self.channels.get_mut(name) else {
            return;
        };
        match continuity {
            Continuity::Reset if more => {
                // The first page of several: buffer until the last one; the shown view and
                // the cursor stay as they are meanwhile.
                let mut pages = SortedMap::new();
                for d in snapshot.unwrap_or_default() {
                    pages.insert(d.id.clone(), d);
                }
                ch.sub.pages = Some(pages);
                return;
            }
            Continuity::Reset => {
                ch.sub.pages = None;
                self.apply_reset(name, at, snapshot.unwrap_or_default());
            }
            Continuity::Recovered => {
                if ch.sub.since().as_ref() != Some(&at) {
                    // Not the resume point we asked for: start afresh.
                    ch.sub.cursor = None;
                    ch.sub.state = SubState::NotSent;
                    self.ingest.touch_cursor(name);
                    self.resubscribe(now, name);
                    return;
                }
                ch.sub.state = SubState::Live;
                self.ingest.counters.recovered += 1;
            }
        }
        self.after_answer(now, name, continuity);
    }

    /// A further page of a paged snapshot; the last one completes the `reset`.
    fn on_snapshot_page(&mut self, now: u64, name: &str, page: Page) {
        let Some(buffer) = self
            .channels
            .get_mut(name)
            .and_then(|ch| ch.sub.pages.as_mut())
        else {
            return; // not awaited (a stale answer's pages)
        };
        for doc in page.docs {
            buffer.insert(doc.id.clone(), doc);
        }
        for id in &page.removed {
            buffer.remove(id);
        }
        self.note_progress(now);
        if page.more {
            return;
        }
        let Some(buffer) = self
            .channels
            .get_mut(name)
            .and_then(|ch| ch.sub.pages.take())
        else {
            return;
        };
        let mut snapshot = Vec::with_capacity(buffer.len());
        for (_, doc) in buffer {
            snapshot.push(doc);
        }
        self.apply_reset(name, page.at, snapshot);
        self.after_answer(now, name, Continuity::Reset);
    }

    /// Replaces the channel's confirmed copy with a complete snapshot at `at`.
    fn apply_reset(&mut self, name: &str, at: Since, docs: Vec<Document>) {
        let Some(ch) = self.channels.get_mut(name) else {
            return;
        };
        let touched = ch.store.replace(docs);
        ch.sub.cursor = Some(at);
        ch.sub.cursor_key = ch.sub.sent_key.clone().unwrap_or_default();
        ch.sub.state = SubState::Live;
        self.ingest.replace_cache(name);
        self.ingest.counters.resets += 1;
        for id in touched {
            self.rebase(name, &id);
        }
    }

    /// Reports the continuity of a completed answer and sends a subscribe deferred behind it.
    fn after_answer(&mut self, now: u64, name: &str, continuity: Continuity) {
        for view in self.views.values_mut().filter(|v| v.channel == name) {
            view.note_continuity(continuity);
        }
        let Some(ch) = self.channels.get_mut(name) else {
            return;
        };
        if std::mem::take(&mut ch.sub.deferred)
            && ch.sub.sent_key.as_ref() != Some(&ch.sub.filter_key)
        {
            self.resubscribe(now, name);
        }
    }

    /// The server is delivering answers on this connection (a page, a replayed event): the
    /// subscribes still waiting behind them are not overdue, so their deadline restarts now.
    fn note_progress(&mut self, now: u64) {
        for ch in self.channels.values_mut() {
            if let SubState::Pending { sent_at } = &mut ch.sub.state {
                *sent_at = now.max(*sent_at);
            }
        }
    }

    /// An `event` (from the fast path or the full decoder).
    pub(super) fn on_event(&mut self, now: u64, ev: EventRef<'_>) {
        self.ingest.counters.events_received += 1;
        self.note_progress(now);
        let Some(ch) = self.channels.get_mut(ev.channel) else {
            self.ingest.counters.events_superseded += 1;
            return;
        };
        if ch.sub.state != SubState::Live {
            self.ingest.counters.events_superseded += 1;
            return;
        }
        let Some(cursor) = ch.sub.cursor.as_mut() else {
            self.resubscribe(now, ev.channel);
            return;
        };
        match classify(cursor, ev.epoch, ev.offset, ev.prev) {
            Verdict::Duplicate => self.ingest.counters.events_deduped += 1,
            Verdict::Gap => {
                self.ingest.counters.gaps += 1;
                if let Some(ch) = self.channels.get_mut(ev.channel) {
                    ch.sub.state = SubState::NotSent;
                }
                self.resubscribe(now, ev.channel);
            }
            Verdict::Apply => {
                cursor.offset = ev.offset;
                if let Some((client_id, mutation_id)) = ev.origin {
                    if client_id == self.client_id {
                        self.outbox.mark_seen(mutation_id);
                    }
                }
                // The confirmed document changes, and the visible one is rebased on it at
                // once (the rebase of `Engine::rebase`, without looking the document up again).
                let own = ev
                    .origin
                    .is_some_and(|(client_id, _)| client_id == self.client_id);
                // One search of the confirmed map for the read here and the write below.
                let place = ch.store.confirmed.place(ev.id);
                let before = ch.store.confirmed.at(place).map(|d| &d.doc);
                // A server that sends no kind (`Unknown`): the confirmed bodies decide.
                let server_kind = ev.kind.unwrap_or(EventKind::Unknown);
                // An upsert without a body is an empty object, made only then (an object's
                // shared entries cost an allocation).
                let empty;
                let after = match (ev.op, ev.doc.as_ref()) {
                    (EventOp::Upsert, Some(doc)) => Some(doc),
                    (EventOp::Upsert, None) => {
                        empty = Json::Object(Default::default());
                        Some(&empty)
                    }
                    (EventOp::Remove, _) => None,
                };
                for view in self.views.values_mut() {
                    if view.channel == ev.channel {
                        let event = (ev.id, ev.version, ev.offset, own);
                        view.note_event(before, after, server_kind, event);
                    }
                }
                let pending = self.outbox.pending_for(ev.channel, ev.id);
                let store = &mut ch.store;
                let changed = match ev.op {
                    EventOp::Upsert => {
                        let body = ev.doc.unwrap_or_else(|| Json::Object(Default::default()));
                        // Updated in place when present (the id is not allocated again).
                        let d = store.confirmed.slot_at(place, ev.id, || Document {
                            id: ev.id.to_owned(),
                            version: 0,
                            doc: Json::Null,
                        });
                        d.version = ev.version;
                        d.doc = body;
                        let confirmed = Some(&*d);
                        rebase_into(&mut store.visible, ev.id, confirmed, pending)
                    }
                    EventOp::Remove => {
                        store.confirmed.remove(ev.id);
                        rebase_into(&mut store.visible, ev.id, None, pending)
                    }
                };
                self.ingest.touch_cache(ev.channel, ev.id);
                if changed {
                    self.ingest.touch(ev.channel, ev.id);
                }
            }
        }
    }

    fn on_ack(&mut self, mutation_id: u64, version: u64, offset: u64) {
        let Some(entry) = self.outbox.remove(mutation_id) else {
            self.ingest.counters.unmatched_results += 1;
            return;
        };
        self.persist(Persist::OutboxRemove { mutation_id });
        let m = entry.mutation;
        if !entry.seen {
            self.rebase(&m.channel, &m.id);
        }
        self.outputs
            .push_back(Output::Mutation(MutationOutcome::Acked {
                mutation: m,
                version,
                offset,
            }));
    }

    fn on_reject(
        &mut self,
        mutation_id: u64,
        reason: RejectReason,
        current: Option<Document>,
        message: String,
    ) {
        let Some(entry) = self.outbox.remove(mutation_id) else {
            self.ingest.counters.unmatched_results += 1;
            return;
        };
        self.persist(Persist::OutboxRemove { mutation_id });
        let m = entry.mutation;
        let shown = self
            .channels
            .get(&m.channel)
            .and_then(|c| c.store.visible.get(m.id.as_str()))
            .map(|v| v.doc.clone());
        self.rebase(&m.channel, &m.id);
        let outcome = match reason {
            RejectReason::Conflict => {
                // The local intent exactly: the edited body (also when the document was deleted
                // meanwhile, so that nothing of the edit is lost), or None for a delete.
                let local = m.intended(shown.as_ref());
                if local.as_ref() == current.as_ref().map(|d| &d.doc) {
                    // Both sides agree (delete vs delete, identical bodies): not a conflict.
                    MutationOutcome::Converged {
                        mutation: m,
                        server_current: current,
                    }
                } else {
                    let base = m.base.clone();
                    MutationOutcome::Conflict(Conflict {
                        mutation: m,
                        local,
                        base,
                        server_current: current,
                    })
                }
            }
            other => MutationOutcome::Rejected {
                mutation: m,
                reason: Rejection::from_wire(other, message),
            },
        };
        self.outputs.push_back(Output::Mutation(outcome));
        // The rollback is shown together with the rejection, not after the batch interval.
        self.urgent_flush = true;
    }

    #[allow(clippy::too_many_arguments)]
    fn on_error(
        &mut self,
        now: u64,
        code: ErrorCode,
        message: String,
        channel: Option<String>,
        mutation_id: Option<u64>,
        request_id: Option<u64>,
        retry_after_ms: Option<u64>,
    ) {
        if let Some(id) = request_id {
            self.respond(
                id,
                Err(RequestError::Server {
                    code: code.as_str().into(),
                    message: message.clone(),
                }),
            );
        }
        let error = ConnectionError::Server {
            code,
            message: message.clone(),
        };
        let pending_sub = channel.as_deref().and_then(|name| {
            let ch = self.channels.get_mut(name)?;
            ch.sub.awaits_answer().then_some(ch)
        });
        match code {
            ErrorCode::RateLimited => {
                self.retry_hint = retry_after_ms;
                let wait = now + retry_after_ms.unwrap_or(1_000).max(1);
                match (pending_sub, channel.is_some()) {
                    (Some(ch), _) => {
                        // The error names the channel, not the frame: the dropped one may be
                        // this subscribe, or an unsubscribe, broadcast or presence of the same
                        // channel sent before it, whose subscribe is then still answered. So
                        // the subscribe stays awaited and is sent again identically (two
                        // answers of one subscribe are told apart, `resent`); never a newer
                        // subscribe that an answer to this one could be taken for.
                        ch.sub.resend_due = true;
                        if ch.presence.is_some() {
                            ch.presence_resend = true;
                            self.timers.set(Timer::Drain, wait);
                        }
                        self.timers.set(Timer::Resubscribe, wait);
                    }
                    (None, false) => {
                        // Some frame was dropped; if it was a subscribe, no answer will come.
                        let mut any = false;
                        for ch in self.channels.values_mut() {
                            if ch.sub.awaits_answer() {
                                ch.sub.resend_due = true;
                                any = true;
                            }
                        }
                        if any {
                            self.timers.set(Timer::Resubscribe, wait);
                        }
                    }
                    (None, true) => {
                        // A broadcast, presence or unsubscribe of that channel was dropped.
                        // Presence is state: send the current one again after the hint
                        // (broadcasts are paced by the send budget and not resent).
                        if let Some(ch) = channel.as_deref().and_then(|n| self.channels.get_mut(n))
                        {
                            if ch.presence.is_some() || ch.sub.state != SubState::Inactive {
                                ch.presence_resend = true;
                                self.timers.set(Timer::Drain, wait);
                            }
                        }
                    }
                }
            }
            ErrorCode::InvalidFilter
            | ErrorCode::InvalidIds
            | ErrorCode::Forbidden
            | ErrorCode::TooManySubscriptions => {
                if let Some(ch) = pending_sub {
                    // Not retried: the same subscribe would fail the same way.
                    ch.sub.state = SubState::Inactive;
                }
            }
            ErrorCode::Internal if mutation_id.is_some() => {
                // Reconnect so the outbox is resent in order.
                self.close_locally(now, error, "server failed a mutation");
                return;
            }
            _ => {}
        }
        self.last_error = Some(error);
    }
}

impl Engine {
    /// A `presence` event: fold it into the channel's members (this client's own entry is
    /// never listed) and report the new list.
    fn on_presence(
        &mut self,
        channel: String,
        event: PresenceEvent,
        client_id: String,
        state: Option<Json>,
    ) {
        if client_id == self.client_id {
            return;
        }
        let Some(ch) = self.channels.get_mut(&channel) else {
            return;
        };
        let changed = match (event, state) {
            (PresenceEvent::Leave, _) | (_, None) => ch.members.remove(&client_id).is_some(),
            (_, Some(state)) => ch.members.insert(client_id, state.clone()) != Some(state),
        };
        if changed {
            self.report_presence(&channel);
        }
    }

    /// A `presence_sync`: the channel's members are exactly these (less this client).
    fn on_presence_sync(&mut self, channel: String, members: Vec<PresenceMember>) {
        let me = self.client_id.clone();
        let Some(ch) = self.channels.get_mut(&channel) else {
            return;
        };
        ch.members = SortedMap::new();
        for m in members.into_iter().filter(|m| m.client_id != me) {
            ch.members.insert(m.client_id, m.state);
        }
        self.report_presence(&channel);
    }

    fn report_presence(&mut self, channel: &str) {
        let Some(ch) = self.channels.get(channel) else {
            return;
        };
        let mut members = Vec::new();
        for (client_id, state) in ch.members.iter() {
            members.push(PresenceMember {
                client_id: client_id.clone(),
                state: state.clone(),
            });
        }
        self.outputs.push_back(Output::Presence(PresenceChange {
            channel: channel.to_owned(),
            members,
        }));
    }
}
