//! Recovery from a batch that could not be made durable ([`ServerEngine::end_batch`] failed),
//! without a restart.
//!
//! When a batch fails, each of its commits may or may not be on disk (a store shared by
//! several servers may have made some of them durable early, see [`Store::begin_batch`]),
//! while the engine's memory already holds all of them: cached channel heads, views'
//! `last_delivered`, the outputs and API replies held back, the lifted failure holds of
//! clients. The engine undoes what it cannot know, and keeps the rest:
//!
//! * **Outputs.** Every output of the batch is dropped (as before: none may reach a client
//!   before its commit is durable). Every connection that lost an output is closed with 1011:
//!   its stream has a hole (an event, an `ack`, a `subscribed`, a pong…). Its client
//!   reconnects, resubscribes with its cursor and resends what was not acknowledged; a
//!   mutation whose commit was durable is answered from its dedupe record, one that was lost is
//!   applied afresh, so each applies exactly once.
//! * **Channels.** The cached state of every channel the batch committed to is dropped, after
//!   closing each of its subscribers with 1011 (their views continued from the batch's
//!   commits). The head is read from the store again on the channel's next use: the node is
//!   then where any node of a cluster is whose cache is stale, and a commit that finds the
//!   head moved is decided again (`StoreError::OffsetMismatch`, `cluster.rs`).
//! * **Clients.** For every client with a commit in the batch, a failure hold is set at its
//!   lowest mutation id of the batch (`admission.rs`): until that mutation is processed again,
//!   a later one of the client is not applied, so a lost commit is never made unappliable by
//!   a later id of the same client on another connection.
//! * **API.** Each API request answered inside the batch is answered
//!   [`ApiAnswer::Unavailable`] instead (its answer was dropped); a write retried with
//!   the same idempotency key is then answered once, either way.
//!
//! Every other connection stays open and unaffected, and the engine goes on: store calls
//! outside a batch are tried again by the store (the PostgreSQL store reconnects), and the
//! next batch starts afresh.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use tether_protocol::CloseCode;

use super::api::{ApiAnswer, ApiRequestId};
use super::{ConnId, Output, ServerEngine};
use crate::store::Store;

/// What the open batch changed in the engine's memory that a failed batch must undo.
#[derive(Debug, Default)]
pub(crate) struct BatchLog {
    /// Channels the batch committed a change to.
    channels: BTreeSet<String>,
    /// Client id -> its lowest mutation id the batch committed (a change or a rejection).
    clients: BTreeMap<String, u64>,
}

impl<S: Store> ServerEngine<S> {
    /// Notes a commit of the open batch (nothing outside a batch: that commit is durable).
    pub(super) fn note_batch_commit(
        &mut self,
        channel: Option<&str>,
        client_id: &str,
        mutation_id: u64,
    ) {
        if self.held.is_none() {
            return;
        }
        let log = &mut self.batch_log;
        if let Some(channel) = channel {
            if !log.channels.contains(channel) {
                log.channels.insert(channel.to_owned());
            }
        }
        let lowest = log
            .clients
            .entry(client_id.to_owned())
            .or_insert(mutation_id);
        *lowest = (*lowest).min(mutation_id);
    }

    /// Undoes a failed batch (see the module docs): `dropped` are its outputs, `api` the
    /// requests whose replies it dropped.
    pub(super) fn recover_failed_batch(
        &mut self,
        dropped: VecDeque<Output>,
        api: Vec<ApiRequestId>,
    ) {
        let log = std::mem::take(&mut self.batch_log);
        let mut affected: BTreeSet<ConnId> = dropped
            .iter()
            .map(|out| match out {
                Output::Send { conn, .. } | Output::Close { conn, .. } => *conn,
            })
            .collect();
        for channel in &log.channels {
            if let Some(state) = self.channels.get(channel) {
                affected.extend(state.subscribers.iter().copied());
            }
        }
        for (client_id, mutation_id) in log.clients {
            let hold = self.held_clients.entry(client_id).or_insert(mutation_id);
            *hold = (*hold).min(mutation_id);
        }
        for conn in affected {
            if self.conns.contains_key(&conn) {
                self.stats.batch_closes += 1;
                self.close(conn, CloseCode::Internal);
            } else {
                // Closed inside the batch: its close was dropped with the batch's outputs.
                self.outputs.push_back(Output::Close {
                    conn,
                    code: CloseCode::Internal,
                });
            }
        }
        let mut unanswered = api;
        for channel in &log.channels {
            self.channels.remove(channel);
            // Change-feed requests still waiting on it would wait on a channel no longer
            // held (no hint or poll reaches them): they are answered and ask again.
            if let Some(waiters) = self.api.waiters.remove(channel) {
                self.api.waiting -= waiters.len();
                unanswered.extend(waiters.into_iter().map(|w| w.request));
            }
        }
        self.stats.channels = self.channels.len() as u64;
        for request in unanswered {
            let text = "the batch that answered this request could not be made durable, so its \
                        answer was dropped; a write in it may or may not have been applied (a \
                        retry with the same Idempotency-Key is answered once either way)";
            self.api_answer(request, ApiAnswer::Unavailable(text.into()));
        }
    }
}
