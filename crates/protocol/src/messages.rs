//! Every frame of the protocol as a serde type, tagged by `type` in `snake_case`.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::json::Json;

use crate::codes::ErrorCode;
use crate::document::{Document, Op};

/// Where a client's copy of a channel stands: resume point sent in `subscribe.since`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Since {
    /// The channel epoch the client's copy belongs to.
    pub epoch: String,
    /// The last offset the client has fully applied.
    pub offset: u64,
}

/// Which mutation caused an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Origin {
    /// Client that sent the mutation.
    pub client_id: String,
    /// The client's id for that mutation.
    pub mutation_id: u64,
}

/// How a (re)subscription relates to the client's previous copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Continuity {
    /// The server replays every event after `since`, in order, as ordinary `event` frames.
    Recovered,
    /// The client must replace its copy with the attached snapshot.
    Reset,
}

/// What an event does to the subscriber's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum EventOp {
    /// The document is in the view with this body and version (inserted or changed).
    Upsert,
    /// The document left the view (deleted, or no longer matches the filter).
    Remove,
}

/// What a change did to the document, as the subscriber's view sees it (`event.kind`,
/// PROTOCOL.md §4). `created`, `updated` and `entered` come with `op: upsert`; `deleted` and
/// `left` with `op: remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum EventKind {
    /// The document did not exist before (never, or deleted) and is in the view now.
    Created,
    /// The document was in the view and still is, changed.
    Updated,
    /// The document was in the view and was deleted.
    Deleted,
    /// The document existed outside the view and now matches its filter.
    Entered,
    /// The document was in the view and, changed, no longer matches its filter.
    Left,
    /// A kind this version of the protocol crate does not know.
    #[cfg_attr(feature = "serde", serde(other))]
    Unknown,
}

impl EventKind {
    /// The wire name (`created`, ...; `unknown` for [`EventKind::Unknown`]).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Updated => "updated",
            EventKind::Deleted => "deleted",
            EventKind::Entered => "entered",
            EventKind::Left => "left",
            EventKind::Unknown => "unknown",
        }
    }

    /// The kind of a wire name; any other string is [`EventKind::Unknown`].
    pub fn parse(name: &str) -> EventKind {
        match name {
            "created" => EventKind::Created,
            "updated" => EventKind::Updated,
            "deleted" => EventKind::Deleted,
            "entered" => EventKind::Entered,
            "left" => EventKind::Left,
            _ => EventKind::Unknown,
        }
    }
}

/// Why a mutation was rejected. A rejection is final for that mutation id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum RejectReason {
    /// `base_version` did not match; `current` carries the server's document.
    Conflict,
    /// The token's claims do not allow writing this channel.
    Forbidden,
    /// The mutation is malformed (bad id, body not an object, missing body, ...).
    Invalid,
    /// `patch` or `delete` of a document that does not exist.
    NotFound,
    /// A reason this version of the protocol crate does not know.
    #[cfg_attr(feature = "serde", serde(other))]
    Unknown,
}

/// A presence change on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PresenceEvent {
    /// A client set presence for the first time on this channel.
    Join,
    /// A present client changed its state.
    Update,
    /// A client left (cleared its state, unsubscribed, disconnected or timed out).
    Leave,
}

/// One present client, as listed in `presence_sync`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct PresenceMember {
    /// The present client.
    pub client_id: String,
    /// Its application-defined state, e.g. `{"user":"Sarah","editing":"t1"}`.
    pub state: Json,
}

/// The error half of a `response`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ResponseError {
    /// Stable machine-readable code (`UNKNOWN_METHOD`, `INVALID`, or handler-defined).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// Limits the server enforces on this connection, announced in `welcome`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Limits {
    /// Largest accepted frame, in bytes (larger: close 1009).
    pub max_message_bytes: u64,
    /// Most channels one connection may subscribe to at once.
    pub max_subscriptions: u32,
    /// Sustained messages per second accepted from one connection.
    pub rate_per_sec: u32,
    /// Burst of messages accepted above the sustained rate.
    pub rate_burst: u32,
}

/// A frame sent by a client.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
pub enum ClientMessage {
    /// First frame of every connection.
    Hello {
        /// Protocol version the client speaks ([`crate::PROTOCOL_VERSION`]).
        protocol: u32,
        /// Stable id of this client (one per tab / outbox partition).
        client_id: String,
        /// Auth token, when the server requires one.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        token: Option<String>,
        /// The client can hand a fresh token to this connection (`auth`) when the server says
        /// its token is expiring (`token_expiring`). Absent = `false`.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "std::ops::Not::not")
        )]
        refresh: bool,
    },
    /// Subscribe to a channel (replaces this connection's previous subscription to it).
    Subscribe {
        /// Channel (collection) name.
        channel: String,
        /// Optional filter (see [`crate::Filter`]); invalid → `INVALID_FILTER`.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        filter: Option<Json>,
        /// Optional ids of a by-id view (see [`crate::IdSet`]): only these documents are in the
        /// view; invalid → `INVALID_IDS`.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        ids: Option<Json>,
        /// Resume point of the client's cached copy.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        since: Option<Since>,
    },
    /// Stop receiving events (and presence) of a channel.
    Unsubscribe {
        /// Channel name.
        channel: String,
    },
    /// Change one document.
    Mutate {
        /// Per-client, strictly increasing id; the exactly-once key with `client_id`.
        mutation_id: u64,
        /// Channel (collection) of the document.
        channel: String,
        /// What to do.
        op: Op,
        /// Document id.
        id: String,
        /// Version the change is based on: absent = unconditional, 0 = must not exist.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        base_version: Option<u64>,
        /// Body for `put` (whole document) and `patch` (top-level fields; `null` removes).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        doc: Option<Json>,
        /// Send on behalf of another client id of the same app (outbox adoption).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        client_id: Option<String>,
    },
    /// Ephemeral message to the channel's other subscribers; never stored.
    Broadcast {
        /// Channel name (the sender must be subscribed).
        channel: String,
        /// Any JSON value.
        payload: Json,
    },
    /// Call a server method; answered by a `response` with the same id.
    Request {
        /// Correlation id chosen by the client.
        id: u64,
        /// Method name, e.g. `time`.
        method: String,
        /// Method argument.
        #[cfg_attr(feature = "serde", serde(default))]
        body: Json,
    },
    /// Set (or with `null`, clear) this client's presence state on a channel.
    Presence {
        /// Channel name (the sender must be subscribed).
        channel: String,
        /// New state, or `null` to leave.
        #[cfg_attr(feature = "serde", serde(default))]
        state: Option<Json>,
    },
    /// Heartbeat; answered by `pong` with the same nonce.
    Ping {
        /// Echoed back in `pong`.
        nonce: u64,
    },
    /// A fresh token for this connection's session (answered `auth_ok`, or `error
    /// {code: AUTH_INVALID}` while the old token stays in force).
    Auth {
        /// The new token; its subject must be the session's.
        token: String,
    },
}

/// A frame sent by the server.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
pub enum ServerMessage {
    /// Answer to a valid `hello`.
    Welcome {
        /// Protocol version the server speaks.
        protocol: u32,
        /// The client id the session runs as.
        client_id: String,
        /// The server closes a connection silent for this long; ping well within it.
        heartbeat_timeout_ms: u64,
        /// Limits enforced on this connection.
        limits: Limits,
    },
    /// Answer to `subscribe`.
    Subscribed {
        /// Channel name.
        channel: String,
        /// Current epoch of the channel.
        epoch: String,
        /// `recovered`: the client's `since.offset`; `reset`: the offset the snapshot reflects.
        offset: u64,
        /// Whether events since the client's copy follow, or a snapshot replaces it.
        continuity: Continuity,
        /// With `reset`: every document in the view, in id order; with `more`, only the first
        /// page of them.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        snapshot: Option<Vec<Document>>,
        /// With `reset`: further pages follow as `snapshot` messages; the view is complete only
        /// at the page with `more: false`. Absent (false) when `snapshot` is the whole view.
        #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_false"))]
        more: bool,
    },
    /// A further page of a `reset` snapshot announced by `subscribed {more: true}`.
    Snapshot {
        /// Channel name.
        channel: String,
        /// Channel epoch.
        epoch: String,
        /// With `more: false`: the offset the completed snapshot reflects (the new cursor).
        /// On earlier pages: the channel head when the page was read (informative).
        offset: u64,
        /// Documents of the view (upserts into the page buffer), in id order except for
        /// documents changed while the snapshot streamed.
        docs: Vec<Document>,
        /// Ids to drop from the page buffer (changed while the snapshot streamed and no longer
        /// in the view).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Vec::is_empty")
        )]
        removed: Vec<String>,
        /// Whether more pages follow.
        more: bool,
    },
    /// Answer to `unsubscribe`.
    Unsubscribed {
        /// Channel name.
        channel: String,
    },
    /// A committed change, as it affects the subscriber's view.
    Event {
        /// Channel name.
        channel: String,
        /// Channel epoch.
        epoch: String,
        /// Gap-free per-channel sequence number of the change.
        offset: u64,
        /// Previous offset delivered on this view; no event of the view lies in `(prev, offset)`.
        prev: u64,
        /// Effect on the view.
        op: EventOp,
        /// What happened, as the view sees it (absent from servers before it was added).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        kind: Option<EventKind>,
        /// Document id.
        id: String,
        /// Document version after the change.
        version: u64,
        /// Document body with `upsert`; absent with `remove`.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        doc: Option<Json>,
        /// The mutation that caused the change.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        origin: Option<Origin>,
    },
    /// The mutation is committed.
    Ack {
        /// The client's mutation id.
        mutation_id: u64,
        /// Document version after the mutation.
        version: u64,
        /// Channel offset of the resulting event.
        offset: u64,
    },
    /// The mutation was not applied, and never will be.
    Reject {
        /// The client's mutation id.
        mutation_id: u64,
        /// Why.
        reason: RejectReason,
        /// With `conflict`: the server's current document (absent when it does not exist).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        current: Option<Document>,
        /// Human-readable explanation.
        #[cfg_attr(feature = "serde", serde(default))]
        message: String,
    },
    /// An ephemeral message from another subscriber.
    Broadcast {
        /// Channel name.
        channel: String,
        /// Payload as sent.
        payload: Json,
        /// Sender's client id.
        from: String,
    },
    /// An ephemeral notification to every connection of this session's subject (the token's
    /// `sub`), sent by the app's backend through the HTTP API (API.md §6); never stored.
    Notification {
        /// Payload as sent.
        payload: Json,
        /// Sender (`api:<key name>`).
        from: String,
    },
    /// Answer to `request`.
    Response {
        /// The request's correlation id.
        id: u64,
        /// Result on success.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        body: Option<Json>,
        /// Failure.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        error: Option<ResponseError>,
    },
    /// A presence change on a subscribed channel.
    Presence {
        /// Channel name.
        channel: String,
        /// What happened.
        event: PresenceEvent,
        /// Whose presence changed.
        client_id: String,
        /// New state (absent with `leave`).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        state: Option<Json>,
    },
    /// Everyone present on a channel, sent right after `subscribed`.
    PresenceSync {
        /// Channel name.
        channel: String,
        /// Present clients, in client id order.
        members: Vec<PresenceMember>,
    },
    /// Answer to `ping`.
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
    /// The session's token expires soon: send a fresh one with `auth` (only to clients whose
    /// `hello` said `refresh: true`).
    TokenExpiring {
        /// Milliseconds until the server closes the connection with 4001 unless a fresh token
        /// arrives.
        expires_in_ms: u64,
    },
    /// The token of an `auth` was accepted: the session runs on it from now on.
    AuthOk {
        /// Milliseconds until the new token expires (absent: it does not).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        expires_in_ms: Option<u64>,
    },
    /// Something the client sent could not be served.
    Error {
        /// Stable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// Channel the error concerns, if any.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        channel: Option<String>,
        /// Mutation the error concerns (e.g. dropped by the rate limiter), if any.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        mutation_id: Option<u64>,
        /// Request the error concerns, if any.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        request_id: Option<u64>,
        /// With `RATE_LIMITED`: when to retry.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        retry_after_ms: Option<u64>,
    },
}

#[cfg(feature = "serde")]
fn is_false(b: &bool) -> bool {
    !*b
}
