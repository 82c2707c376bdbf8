//! Mutations in their turn: exactly-once dedupe, `base_version` conflicts, applying the op,
//! commit-then-fan-out-then-ack, recorded rejections. Admission (rate limit, client id,
//! binding, failure hold) is in `admission.rs`.

use std::sync::Arc;

use tether_protocol::Json;
use tether_protocol::{
    apply_op, codec, validate_channel, validate_doc_id, Document, DocumentError, Op, Origin,
    RejectReason, ServerMessage,
};

use super::api::ReplyTo;
use super::{ConnId, ServerEngine};
use crate::store::{Change, Commit, LogEntry, Store, StoreError};

/// How many times one mutation is decided at most while other nodes keep writing its channel
/// first (each refused attempt learns their commits); then it fails like a store error.
pub(super) const MAX_DECISIONS: u32 = 16;

/// A `mutate` frame's fields.
pub(super) struct Mutation {
    pub(super) mutation_id: u64,
    pub(super) channel: String,
    pub(super) op: Op,
    pub(super) id: String,
    pub(super) base_version: Option<u64>,
    pub(super) doc: Option<Json>,
    pub(super) client_id: String,
}

/// The exactly-once key of a mutation.
pub(super) struct Key {
    pub(super) client_id: String,
    pub(super) mutation_id: u64,
}

impl<S: Store> ServerEngine<S> {
    /// Answers a repeat from its dedupe record, or an id not above the client's highest whose
    /// record is gone with `reject invalid`; returns whether the mutation was answered so.
    fn answered_before(&mut self, to: ReplyTo, key: &Key) -> Result<bool, StoreError> {
        let dedupe = self.store.dedupe(&key.client_id, key.mutation_id)?;
        if let Some(record) = dedupe.record {
            self.stats.mutations_deduped += 1;
            self.reply(to, Arc::from(record));
            return Ok(true);
        }
        if let Some(highest) = dedupe.highest.filter(|h| key.mutation_id <= *h) {
            let text = format!(
                "mutation_id {} is not above {highest}, the highest id processed for client {}, \
                 and no record of it is retained",
                key.mutation_id, key.client_id
            );
            self.stats.mutations_rejected += 1;
            let frame =
                codec::encode_server(&reject(key.mutation_id, RejectReason::Invalid, None, &text));
            self.reply(to, Arc::from(frame));
            return Ok(true);
        }
        Ok(false)
    }

    /// A malformed `mutate` in its turn: recorded and answered as `reject invalid`.
    pub(super) fn apply_invalid(
        &mut self,
        conn: ConnId,
        key: &Key,
        message: &str,
    ) -> Result<(), StoreError> {
        let to = ReplyTo::Conn(conn);
        self.decide_again(|engine| {
            if engine.answered_before(to, key)? {
                return Ok(());
            }
            let text = format!("not a valid mutate: {message}");
            engine.record_reject(to, key, RejectReason::Invalid, None, &text)
        })
    }

    /// Runs `decide` (read, decide, commit, answer) until it is not refused because another
    /// node wrote first, at most [`MAX_DECISIONS`] times. After
    /// [`StoreError::OffsetMismatch`] the channel's head is locked for the rest of the batch
    /// ([`Store::lock_head`]) and the commits of other nodes up to it are learned from the log (and delivered to this node's views) before deciding again; after
    /// [`StoreError::AlreadyRecorded`] the next decision answers from the other node's record.
    /// Nothing is sent by a refused attempt (a reply follows only a successful commit).
    fn decide_again(
        &mut self,
        mut decide: impl FnMut(&mut Self) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut attempt = 1;
        loop {
            match decide(self) {
                Err(StoreError::OffsetMismatch {
                    channel, expected, ..
                }) if attempt < MAX_DECISIONS => {
                    // Inside a batch the head stays locked from here on, so the next
                    // decision's commit cannot be overtaken again (no starvation).
                    let head = self.store.lock_head(&channel)?;
                    self.learn_log(&channel, head.head.max(expected.saturating_sub(1)))?;
                }
                Err(StoreError::AlreadyRecorded { .. }) if attempt < MAX_DECISIONS => {}
                other => return other,
            }
            self.stats.commit_retries += 1;
            attempt += 1;
        }
    }

    /// Applies a mutation in its turn and answers `to` (a connection, or an API request,
    /// which may write every channel); decided again while other nodes write first.
    pub(super) fn apply_mutation(&mut self, to: ReplyTo, m: Mutation) -> Result<(), StoreError> {
        self.decide_again(|engine| engine.apply_once(to, &m))
    }

    /// One decision on a mutation: dedupe, permission, conflict, commit, answer.
    fn apply_once(&mut self, to: ReplyTo, m: &Mutation) -> Result<(), StoreError> {
        let key = Key {
            client_id: m.client_id.clone(),
            mutation_id: m.mutation_id,
        };
        if self.answered_before(to, &key)? {
            return Ok(());
        }
        let allowed = match to {
            ReplyTo::Conn(conn) => match self.conns.get(&conn) {
                Some(c) => c.may_write(&m.channel),
                // The connection closed while this mutation was being decided (learning other
                // nodes' commits found the log trimmed past its view, which closes the view's
                // subscribers): nothing is decided or recorded, so the client's resend after
                // reconnecting is decided afresh — never answered from a record of a refusal
                // nobody was told.
                None => return Ok(()),
            },
            ReplyTo::Api(_) => true,
        };
        if !allowed {
            let text = format!("the token does not allow writing channel {}", m.channel);
            return self.record_reject(to, &key, RejectReason::Forbidden, None, &text);
        }
        if let Err(err) = validate_channel(&m.channel).and_then(|()| validate_doc_id(&m.id)) {
            return self.record_reject(to, &key, RejectReason::Invalid, None, &err.to_string());
        }
        let head = self.channel_head(&m.channel)?;
        let current = self.store.document(&m.channel, &m.id)?;
        let live = current.as_ref().and_then(|d| d.body.as_ref());
        let current_version = current.as_ref().map_or(0, |d| d.version);
        let conflict = match m.base_version {
            None => false,
            Some(0) => live.is_some(),
            Some(v) => live.is_none() || current_version != v,
        };
        if conflict {
            let current_doc = live.map(|body| Document {
                id: m.id.clone(),
                version: current_version,
                doc: body.clone(),
            });
            let text = match &current_doc {
                Some(d) => format!(
                    "base_version {} does not match the current version {}",
                    m.base_version.unwrap_or(0),
                    d.version
                ),
                None => format!(
                    "base_version {} but the document does not exist",
                    m.base_version.unwrap_or(0)
                ),
            };
            return self.record_reject(to, &key, RejectReason::Conflict, current_doc, &text);
        }
        let body = match apply_op(live, m.op, m.doc.as_ref()) {
            Ok(body) => body,
            Err(err) => {
                let reason = match err {
                    DocumentError::NotFound => RejectReason::NotFound,
                    _ => RejectReason::Invalid,
                };
                return self.record_reject(to, &key, reason, None, &err.to_string());
            }
        };
        let entry = LogEntry {
            offset: head.head + 1,
            id: m.id.clone(),
            version: current_version + 1,
            body,
            prev_body: live.cloned(),
            origin: Some(Origin {
                client_id: m.client_id.clone(),
                mutation_id: m.mutation_id,
            }),
            unix_ms: self.unix_ms,
        };
        let ack = ServerMessage::Ack {
            mutation_id: m.mutation_id,
            version: entry.version,
            offset: entry.offset,
        };
        let reply = codec::encode_server(&ack);
        let commit = Commit {
            client_id: m.client_id.clone(),
            mutation_id: m.mutation_id,
            reply: reply.clone(),
            change: Some(Change {
                channel: m.channel.clone(),
                entry,
            }),
            retention: self.retention(),
            unix_ms: self.unix_ms,
        };
        let new_head = self.store.commit(&commit)?;
        self.note_batch_commit(Some(&m.channel), &m.client_id, m.mutation_id);
        if let (Some(new_head), Some(state)) = (new_head, self.channels.get_mut(&m.channel)) {
            state.head = new_head;
        }
        if let Some(new_head) = new_head {
            self.hints.committed(&m.channel, new_head.head);
        }
        self.stats.mutations_applied += 1;
        if let Some(change) = &commit.change {
            self.fan_out(&m.channel, &change.entry);
        }
        self.wake_feeds(&m.channel);
        self.reply(to, Arc::from(reply));
        Ok(())
    }

    /// Commits a rejection as the mutation's dedupe record, then sends it.
    fn record_reject(
        &mut self,
        to: ReplyTo,
        m: &Key,
        reason: RejectReason,
        current: Option<Document>,
        text: &str,
    ) -> Result<(), StoreError> {
        let reply = codec::encode_server(&reject(m.mutation_id, reason, current, text));
        let commit = Commit {
            client_id: m.client_id.clone(),
            mutation_id: m.mutation_id,
            reply: reply.clone(),
            change: None,
            retention: self.retention(),
            unix_ms: self.unix_ms,
        };
        self.store.commit(&commit)?;
        self.note_batch_commit(None, &m.client_id, m.mutation_id);
        if reason == RejectReason::Conflict {
            self.stats.mutations_conflicted += 1;
        } else {
            self.stats.mutations_rejected += 1;
        }
        self.reply(to, Arc::from(reply));
        Ok(())
    }
}

pub(super) fn reject(
    mutation_id: u64,
    reason: RejectReason,
    current: Option<Document>,
    message: &str,
) -> ServerMessage {
    ServerMessage::Reject {
        mutation_id,
        reason,
        current,
        message: message.to_owned(),
    }
}
