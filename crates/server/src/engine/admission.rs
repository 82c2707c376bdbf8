//! Admission of mutations: rate limit (delay, never drop), the mutation's client id
//! (adoption, length, subject binding), and the hold after a mutation failed in the store, so
//! that a failed mutation is never overtaken by the same client's later ones.

use tether_protocol::{
    ClientMessage, CloseCode, DecodeError, ErrorCode, MutateClientId, RejectReason, ServerMessage,
};

use super::bindings::{valid_client_id, MAX_CLIENT_ID_LEN};
use super::mutations::{reject, Key, Mutation};
use super::{ConnId, ServerEngine};
use crate::store::{Retention, Store, StoreError};

/// A mutation waiting for (or getting) its turn: a decoded `mutate`, or a malformed one that
/// carries a readable `mutation_id` (answered `reject invalid` in its turn, so that it keeps
/// its place in the client's order).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Queued {
    /// A decoded `mutate` frame.
    Valid(ClientMessage),
    /// A malformed `mutate` ([`DecodeError::InvalidMutate`]).
    Invalid {
        mutation_id: u64,
        client_id: MutateClientId,
        message: String,
    },
}

impl From<ClientMessage> for Queued {
    fn from(msg: ClientMessage) -> Queued {
        Queued::Valid(msg)
    }
}

impl<S: Store> ServerEngine<S> {
    pub(super) fn retention(&self) -> Retention {
        Retention {
            max_events: self.config.retain_events,
            max_age_ms: self.config.retain_ms,
            dedupe_per_client: self.config.dedupe_per_client,
            dedupe_max_age_ms: self.config.dedupe_max_age_ms,
            max_clients: self.config.max_clients,
        }
    }

    /// A `mutate` arrived: process it now, or queue it behind earlier delayed mutations /
    /// until the rate limiter has a token (closing with 4008 when the queue is full).
    pub(super) fn admit_mutation(&mut self, now: u64, conn: ConnId, msg: impl Into<Queued>) {
        let msg = msg.into();
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

    /// A frame that failed to decode: if it is a `mutate` with a readable `mutation_id`, it is
    /// admitted like any mutation (and answered `reject invalid` in its turn); returns whether
    /// it was taken. Before the handshake it is answered `HANDSHAKE_REQUIRED` like a `mutate`.
    pub(super) fn admit_invalid_mutate(
        &mut self,
        now: u64,
        conn: ConnId,
        err: &DecodeError,
    ) -> bool {
        let DecodeError::InvalidMutate {
            mutation_id,
            client_id,
            message,
        } = err
        else {
            return false;
        };
        let handshaken = self.conns.get(&conn).is_some_and(|c| c.client_id.is_some());
        if !handshaken {
            self.send_error(
                conn,
                ErrorCode::HandshakeRequired,
                "the first frame must be hello".into(),
                |_| {},
            );
            return true;
        }
        let queued = Queued::Invalid {
            mutation_id: *mutation_id,
            client_id: client_id.clone(),
            message: message.clone(),
        };
        self.admit_mutation(now, conn, queued);
        true
    }

    fn process_mutation(&mut self, now: u64, conn: ConnId, msg: Queued) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let Some(session_client) = c.client_id.clone() else {
            return;
        };
        let (mutation_id, adopted) = match &msg {
            Queued::Valid(ClientMessage::Mutate {
                mutation_id,
                client_id,
                ..
            }) => (*mutation_id, client_id.clone().map(MutateClientId::Given)),
            Queued::Valid(_) => return,
            Queued::Invalid {
                mutation_id,
                client_id,
                ..
            } => (*mutation_id, Some(client_id.clone())),
        };
        let client_id = match adopted {
            None | Some(MutateClientId::Absent) => session_client,
            Some(MutateClientId::Given(id)) => id,
            Some(MutateClientId::Unreadable) => {
                // No client to record it under: answered, not recorded.
                self.stats.mutations_rejected += 1;
                let text = "client_id must be a string";
                self.send_msg(
                    conn,
                    &reject(mutation_id, RejectReason::Invalid, None, text),
                );
                return;
            }
        };
        if !valid_client_id(&client_id) {
            let text =
                format!("client_id must be 1-{MAX_CLIENT_ID_LEN} bytes, not starting with api:");
            let reject = reject(mutation_id, RejectReason::Invalid, None, &text);
            self.stats.mutations_rejected += 1;
            self.send_msg(conn, &reject);
            return;
        }
        match self.owns_client(conn, &client_id) {
            Ok(true) => {}
            Ok(false) => {
                // Not recorded: that would write into the other subject's dedupe stream.
                let text = format!("client id {client_id} is bound to another subject");
                self.stats.mutations_rejected += 1;
                self.send_msg(
                    conn,
                    &reject(mutation_id, RejectReason::Forbidden, None, &text),
                );
                return;
            }
            Err(err) => {
                self.mutation_failed(now, conn, client_id, mutation_id, &err);
                return;
            }
        }
        if self
            .held_clients
            .get(&client_id)
            .is_some_and(|failed| mutation_id > *failed)
        {
            // An earlier mutation of this client failed in the store and has not been resent
            // yet: applying this one would raise the client's highest id above it and make it
            // unappliable. Not answered (never applied); the client resends both, in order,
            // after reconnecting.
            self.stats.mutations_held_back += 1;
            self.close_at(now, conn, CloseCode::Internal);
            return;
        }
        let key = Key {
            client_id: client_id.clone(),
            mutation_id,
        };
        let result = match msg {
            Queued::Valid(ClientMessage::Mutate {
                channel,
                op,
                id,
                base_version,
                doc,
                ..
            }) => self.apply_mutation(
                super::api::ReplyTo::Conn(conn),
                Mutation {
                    mutation_id,
                    channel,
                    op,
                    id,
                    base_version,
                    doc,
                    client_id: key.client_id,
                },
            ),
            Queued::Valid(_) => Ok(()),
            Queued::Invalid { message, .. } => self.apply_invalid(conn, &key, &message),
        };
        match result {
            Ok(()) => {
                if self.held_clients.get(&client_id) == Some(&mutation_id) {
                    self.held_clients.remove(&client_id);
                }
            }
            Err(err) => self.mutation_failed(now, conn, client_id, mutation_id, &err),
        }
    }

    /// A mutation failed in the store (nothing of it was committed): answer `error INTERNAL`
    /// naming it, then close the connection with 1011 so that none of the client's later
    /// mutations on it is applied first; until the failed one is processed, a later mutation of
    /// the client on any connection closes that connection unanswered. The client resends
    /// everything unanswered, in order, after reconnecting.
    fn mutation_failed(
        &mut self,
        now: u64,
        conn: ConnId,
        client_id: String,
        mutation_id: u64,
        err: &StoreError,
    ) {
        self.stats.store_errors += 1;
        let failed = self.held_clients.entry(client_id).or_insert(mutation_id);
        *failed = (*failed).min(mutation_id);
        self.send_error(conn, ErrorCode::Internal, err.to_string(), |e| {
            if let ServerMessage::Error { mutation_id: m, .. } = e {
                *m = Some(mutation_id);
            }
        });
        self.close_at(now, conn, CloseCode::Internal);
    }
}
