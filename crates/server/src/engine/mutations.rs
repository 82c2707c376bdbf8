//! Mutations: rate-limit admission (delay, never drop), exactly-once dedupe, authorisation,
//! `base_version` conflicts, applying the op, commit-then-fan-out-then-ack.

use std::sync::Arc;

use serde_json::Value;
use tether_protocol::{
    apply_op, codec, validate_channel, validate_doc_id, ClientMessage, CloseCode, Document,
    DocumentError, ErrorCode, Op, Origin, RejectReason, ServerMessage,
};

use super::{ConnId, ServerEngine};
use crate::store::{Change, Commit, LogEntry, Retention, Store, StoreError};

/// A `mutate` frame's fields.
struct Mutation {
    mutation_id: u64,
    channel: String,
    op: Op,
    id: String,
    base_version: Option<u64>,
    doc: Option<Value>,
    client_id: String,
}

impl<S: Store> ServerEngine<S> {
    fn retention(&self) -> Retention {
        Retention {
            max_events: self.config.retain_events,
            max_age_ms: self.config.retain_ms,
            dedupe_per_client: self.config.dedupe_per_client,
        }
    }

    /// A `mutate` arrived: process it now, or queue it behind earlier delayed mutations /
    /// until the rate limiter has a token (closing with 4008 when the queue is full).
    pub(super) fn admit_mutation(&mut self, now: u64, conn: ConnId, msg: ClientMessage) {
        let max = self.config.max_delayed_mutations;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.delayed.is_empty() && c.bucket.try_take(now) {
            self.process_mutation(now, conn, msg);
            return;
        }
        if c.delayed.len() >= max {
            self.close_at(now, conn, CloseCode::RateLimited);
            return;
        }
        c.delayed.push_back(msg);
        let wait = c.bucket.wait_ms(now).max(1);
        self.stats.rate_limited += 1;
        self.schedule(conn, now.saturating_add(wait));
    }

    /// Processes delayed mutations for which tokens are available now.
    pub(super) fn drain_delayed(&mut self, now: u64, conn: ConnId) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.delayed.is_empty() || !c.bucket.try_take(now) {
                return;
            }
            let Some(msg) = c.delayed.pop_front() else {
                return;
            };
            self.process_mutation(now, conn, msg);
        }
    }

    fn process_mutation(&mut self, _now: u64, conn: ConnId, msg: ClientMessage) {
        let ClientMessage::Mutate {
            mutation_id,
            channel,
            op,
            id,
            base_version,
            doc,
            client_id,
        } = msg
        else {
            return;
        };
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let Some(session_client) = c.client_id.clone() else {
            return;
        };
        let client_id = client_id.unwrap_or(session_client);
        if validate_doc_id(&client_id).is_err() {
            let reject = reject(
                mutation_id,
                RejectReason::Invalid,
                None,
                "client_id must be 1-256 bytes",
            );
            self.stats.mutations_rejected += 1;
            self.send_msg(conn, &reject);
            return;
        }
        let m = Mutation {
            mutation_id,
            channel,
            op,
            id,
            base_version,
            doc,
            client_id,
        };
        if let Err(err) = self.apply_mutation(conn, m) {
            self.stats.store_errors += 1;
            self.send_error(conn, ErrorCode::Internal, err.to_string(), |e| {
                if let ServerMessage::Error { mutation_id: m, .. } = e {
                    *m = Some(mutation_id);
                }
            });
        }
    }

    fn apply_mutation(&mut self, conn: ConnId, m: Mutation) -> Result<(), StoreError> {
        let dedupe = self.store.dedupe(&m.client_id, m.mutation_id)?;
        if let Some(record) = dedupe.record {
            self.stats.mutations_deduped += 1;
            self.send_frame(conn, Arc::from(record));
            return Ok(());
        }
        if let Some(highest) = dedupe.highest.filter(|h| m.mutation_id <= *h) {
            let text = format!(
                "mutation_id {} is not above {highest}, the highest id processed for client {}, \
                 and no record of it is retained",
                m.mutation_id, m.client_id
            );
            self.stats.mutations_rejected += 1;
            self.send_msg(
                conn,
                &reject(m.mutation_id, RejectReason::Invalid, None, &text),
            );
            return Ok(());
        }
        let allowed = self.conns.get(&conn).is_some_and(|c| c.allows(&m.channel));
        if !allowed {
            let text = format!("the token does not allow channel {}", m.channel);
            return self.record_reject(conn, &m, RejectReason::Forbidden, None, &text);
        }
        if let Err(err) = validate_channel(&m.channel).and_then(|()| validate_doc_id(&m.id)) {
            return self.record_reject(conn, &m, RejectReason::Invalid, None, &err.to_string());
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
            return self.record_reject(conn, &m, RejectReason::Conflict, current_doc, &text);
        }
        let body = match apply_op(live, m.op, m.doc.as_ref()) {
            Ok(body) => body,
            Err(err) => {
                let reason = match err {
                    DocumentError::NotFound => RejectReason::NotFound,
                    _ => RejectReason::Invalid,
                };
                return self.record_reject(conn, &m, reason, None, &err.to_string());
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
        if let (Some(new_head), Some(state)) = (new_head, self.channels.get_mut(&m.channel)) {
            state.head = new_head;
        }
        self.stats.mutations_applied += 1;
        if let Some(change) = &commit.change {
            self.fan_out(&m.channel, &change.entry);
        }
        self.send_frame(conn, Arc::from(reply));
        Ok(())
    }

    /// Commits a rejection as the mutation's dedupe record, then sends it.
    fn record_reject(
        &mut self,
        conn: ConnId,
        m: &Mutation,
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
        if reason == RejectReason::Conflict {
            self.stats.mutations_conflicted += 1;
        } else {
            self.stats.mutations_rejected += 1;
        }
        self.send_frame(conn, Arc::from(reply));
        Ok(())
    }
}

fn reject(
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
