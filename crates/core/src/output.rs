//! What the engine asks of its shell: [`Output`], drained with `Engine::poll_output`.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};
use tether_protocol::Json;
use tether_protocol::{Document, PresenceMember};

use crate::connection::ConnectionState;
use crate::error::{ConnectionError, Rejection, RequestError};
use crate::ingest::Counters;
use crate::outbox::PendingMutation;
use crate::view::ChangeSet;

/// One thing for the shell to do or tell the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a WebSocket to the server (to endpoint [`crate::Engine::current_endpoint`], when
    /// `Config::endpoints` is more than 1); report `socket_opened` or `socket_closed`.
    OpenSocket,
    /// Close the current socket (do not report `socket_closed` for it).
    CloseSocket {
        /// Close code to send (1000 or 4000-4999, as browsers allow).
        code: u16,
        /// Reason text.
        reason: String,
    },
    /// Send this text frame on the current socket.
    Send(String),
    /// Writes are gathered for the shell: call [`crate::Engine::take_writes`] when ready to
    /// run a transaction (e.g. at the end of the current task, so that more writes join it),
    /// make the batch durable, then call [`crate::Engine::write_done`]. Output once per batch.
    WriteReady,
    /// Call the token provider, then `set_token` (or `token_failed`): before a connection
    /// attempt, or (with `Auth::Provider`) when the server said the open session's token
    /// expires soon (`set_token` then hands the fresh one over on the open connection).
    NeedToken,
    /// Batched view changes, at most one per flush interval.
    Changes(Vec<ChangeSet>),
    /// A mutation was acknowledged, rejected or conflicted (emitted before bulk changes).
    Mutation(MutationOutcome),
    /// An ephemeral message from another subscriber.
    Broadcast {
        /// Channel.
        channel: String,
        /// Sender.
        from: String,
        /// Payload.
        payload: Json,
    },
    /// A notification from the app's backend to this session's subject (the server's
    /// `notification`, PROTOCOL.md §4).
    Notification {
        /// Sender (`api:<key name>`).
        from: String,
        /// Payload.
        payload: Json,
    },
    /// Presence on a channel changed.
    Presence(PresenceChange),
    /// A request finished.
    Response {
        /// The id `Engine::request` returned.
        id: u64,
        /// The response body or why it failed.
        result: Result<Json, RequestError>,
    },
    /// The connection status changed.
    Status(Status),
}

/// The final result of a mutation.
#[derive(Debug, Clone, PartialEq)]
pub enum MutationOutcome {
    /// Committed by the server.
    Acked {
        /// The mutation.
        mutation: PendingMutation,
        /// Document version after it.
        version: u64,
        /// Channel offset of its event.
        offset: u64,
    },
    /// Refused because the document changed (its `base_version` was stale); rolled back.
    Conflict(Conflict),
    /// Refused as a conflict, but the server already holds what this mutation wanted (delete vs
    /// delete, or an identical body): nothing to resolve, the server's state is shown.
    Converged {
        /// The mutation.
        mutation: PendingMutation,
        /// The server's current document (None: it does not exist).
        server_current: Option<Document>,
    },
    /// Refused for another reason; rolled back.
    Rejected {
        /// The mutation.
        mutation: PendingMutation,
        /// Why.
        reason: Rejection,
    },
}

impl MutationOutcome {
    /// The mutation this outcome is about.
    pub fn mutation(&self) -> &PendingMutation {
        match self {
            MutationOutcome::Acked { mutation, .. }
            | MutationOutcome::Converged { mutation, .. }
            | MutationOutcome::Rejected { mutation, .. } => mutation,
            MutationOutcome::Conflict(c) => &c.mutation,
        }
    }
}

/// A conflicting mutation, with both sides for the app to resolve.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Conflict {
    /// The rolled-back mutation: the local intent (its `op` says edit, create or delete).
    pub mutation: PendingMutation,
    /// What this client wanted the document to be (None: it deleted it). An edit of a document
    /// that was deleted meanwhile is the edited body, so re-applying it re-creates the document.
    pub local: Option<Json>,
    /// The document the edit was made against, as this client showed it (None: absent, or not
    /// known for an entry stored by an older build), for a three-way merge.
    pub base: Option<Json>,
    /// The server's current document (None: it does not exist).
    pub server_current: Option<Document>,
}

/// Who else is present on a channel, after a change: everyone but this client (the engine
/// folds the server's `presence` events and `presence_sync` lists into it).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct PresenceChange {
    /// Channel.
    pub channel: String,
    /// Everyone else present, by client id, with their states.
    pub members: Vec<PresenceMember>,
}

/// Connection status for the app.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Connection state.
    pub state: ConnectionState,
    /// Consecutive failed connection attempts.
    pub attempt: u32,
    /// When the next attempt is due (engine time, ms), while in backoff.
    pub next_retry_at: Option<u64>,
    /// Smoothed round-trip time of heartbeats.
    pub rtt_ms: Option<u64>,
    /// Mutations not yet acknowledged.
    pub pending_mutations: usize,
    /// Broadcasts / requests waiting for a connection.
    pub queued_messages: usize,
    /// Whether the device is online, as last reported.
    pub online: bool,
    /// The endpoint in use or next tried (an index below `Config::endpoints`).
    pub endpoint: usize,
    /// The last connection error.
    pub last_error: Option<ConnectionError>,
    /// Pipeline counters (not a reason for a `Status` output by themselves).
    pub counters: Counters,
}

impl Status {
    /// Whether two statuses differ in anything but counters and latency.
    pub(crate) fn differs(&self, other: &Status) -> bool {
        self.state != other.state
            || self.attempt != other.attempt
            || self.next_retry_at != other.next_retry_at
            || self.pending_mutations != other.pending_mutations
            || self.queued_messages != other.queued_messages
            || self.online != other.online
            || self.endpoint != other.endpoint
            || self.last_error != other.last_error
    }
}
