//! Persistence behind the engine: documents (with tombstones), per-channel offsets and event
//! log, and exactly-once dedupe records.
//!
//! The engine is the only writer. Every applied mutation (and every recorded rejection) is one
//! [`Commit`] that a store must make durable atomically — document change, log entry, channel
//! head and dedupe record together — before [`Store::commit`] returns (or, inside a batch,
//! before [`Store::end_batch`] returns); only then may the `ack` reach the client.
//!
//! # Group commit
//!
//! A store may let several commits share one durable write: between [`Store::begin_batch`] and
//! [`Store::end_batch`] each [`Store::commit`] is still atomic (a failing commit changes
//! nothing, the others keep their changes) and visible to every read, but becomes durable only
//! when `end_batch` returns `Ok`. The caller must therefore hold back everything it derived from
//! a batch — acks, rejects, events, snapshots — until `end_batch` succeeded. If `end_batch`
//! fails, the batch's commits may or may not be on disk, and the caller's in-memory state may
//! disagree with the store: the caller must send nothing of the batch and drop what it cached
//! from it (the engine does, and goes on: see [`crate::ServerEngine::end_batch`]).

#[cfg(test)]
mod clients_tests;
mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(all(test, feature = "postgres"))]
mod postgres_tests;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(test)]
mod tests;

pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStore, Sync as SqliteSync, SCHEMA_VERSION};

use tether_protocol::Json;
use tether_protocol::{Document, Origin};

/// A document as stored: live (`body` is `Some`) or a tombstone (`body` is `None`), which keeps
/// the version so a re-created document continues from it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDoc {
    /// Version after the last applied mutation (a delete counts).
    pub version: u64,
    /// The body, or `None` when deleted.
    pub body: Option<Json>,
}

/// One committed change in a channel's event log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Gap-free per-channel offset (the first event of a channel has offset 1).
    pub offset: u64,
    /// Document id.
    pub id: String,
    /// Document version after the change.
    pub version: u64,
    /// Body after the change (`None` = deleted).
    pub body: Option<Json>,
    /// Body before the change (`None` = did not exist), so a filtered replay can tell that a
    /// document left a view.
    pub prev_body: Option<Json>,
    /// The mutation that caused the change.
    pub origin: Option<Origin>,
    /// Wall-clock unix time of the commit, in milliseconds (for age-based retention).
    pub unix_ms: u64,
}

/// Where a channel's log stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelHead {
    /// Offset of the last committed event (0 = none yet).
    pub head: u64,
    /// Every event with an offset `<= pruned_through` has been dropped from the log.
    pub pruned_through: u64,
}

/// How much history to keep; applied by the store when it commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Most log entries kept per channel.
    pub max_events: u64,
    /// Log entries older than this (by `unix_ms`) may be dropped.
    pub max_age_ms: u64,
    /// Most dedupe records kept per client (the newest mutation ids).
    pub dedupe_per_client: u64,
    /// A client that has committed nothing for this long loses its dedupe records (its
    /// highest processed id is kept). See [`Store::bind_client`] for the bounded work.
    pub dedupe_max_age_ms: u64,
    /// Most clients remembered (highest id, records, binding); beyond it the one inactive
    /// longest is forgotten entirely.
    pub max_clients: u64,
}

/// Most clients whose records expire, and most clients evicted, per store write: the
/// housekeeping work of one commit or binding is bounded.
pub const EXPIRE_PER_WRITE: usize = 8;

/// The change part of a [`Commit`].
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Channel of the document.
    pub channel: String,
    /// The log entry; its `offset` is the channel's head + 1, its `version` and `body` become
    /// the stored document.
    pub entry: LogEntry,
}

/// One atomic write: an optional document change plus the dedupe record of the mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    /// Client the mutation belongs to.
    pub client_id: String,
    /// The client's mutation id; becomes the client's highest processed id.
    pub mutation_id: u64,
    /// The encoded `ack` or `reject` frame, answered verbatim to a repeat.
    pub reply: String,
    /// The document change, absent for a recorded rejection.
    pub change: Option<Change>,
    /// Retention to apply.
    pub retention: Retention,
    /// Wall-clock unix time of the commit, in milliseconds.
    pub unix_ms: u64,
}

/// What the store knows about a mutation key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dedupe {
    /// The reply recorded for exactly this `(client_id, mutation_id)`.
    pub record: Option<String>,
    /// The client's highest processed mutation id.
    pub highest: Option<u64>,
}

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The storage backend reported an error.
    Backend {
        /// What the backend said.
        message: String,
    },
    /// Stored data could not be read back (e.g. a body that is not JSON).
    Corrupt {
        /// What is wrong.
        message: String,
    },
    /// The database was written by an incompatible schema version.
    SchemaVersion {
        /// Version found in the file.
        found: i64,
        /// Version this build understands.
        expected: i64,
    },
    /// The commit does not continue the channel's log (offset is not head + 1).
    OffsetMismatch {
        /// Channel concerned.
        channel: String,
        /// The head + 1 the store expected.
        expected: u64,
        /// The offset given.
        got: u64,
    },
    /// The commit's mutation key already has a dedupe record (another server sharing the
    /// store answered it first); the commit changed nothing, and that record stands.
    AlreadyRecorded {
        /// Client id of the key.
        client_id: String,
        /// Mutation id of the key.
        mutation_id: u64,
    },
    /// [`Store::begin_batch`] was called while a batch was open.
    BatchAlreadyOpen,
    /// An earlier failure inside the open batch undid the whole batch: every further commit of
    /// it fails, and so does [`Store::end_batch`].
    BatchAborted {
        /// The failure that undid the batch.
        cause: String,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Backend { message } => write!(f, "storage error: {message}"),
            StoreError::Corrupt { message } => write!(f, "corrupt stored data: {message}"),
            StoreError::SchemaVersion { found, expected } => {
                write!(f, "database schema version {found}, expected {expected}")
            }
            StoreError::OffsetMismatch {
                channel,
                expected,
                got,
            } => write!(
                f,
                "channel {channel}: commit offset {got}, expected {expected}"
            ),
            StoreError::AlreadyRecorded {
                client_id,
                mutation_id,
            } => write!(
                f,
                "mutation {mutation_id} of client {client_id} is already recorded"
            ),
            StoreError::BatchAlreadyOpen => write!(f, "a batch is already open"),
            StoreError::BatchAborted { cause } => {
                write!(
                    f,
                    "the batch was rolled back by an earlier failure: {cause}"
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}

/// Persistence used by the engine. Implementations must make each [`Store::commit`] atomic,
/// and durable before returning unless it runs inside a batch (see the
/// [module docs](self#group-commit)).
pub trait Store {
    /// The database epoch: a fresh database gets a new one; it never changes afterwards.
    fn epoch(&self) -> &str;

    /// Head and pruning point of a channel (zeros for a channel never written).
    fn channel_head(&mut self, channel: &str) -> Result<ChannelHead, StoreError>;

    /// A document, live or tombstone; `None` if it never existed.
    fn document(&mut self, channel: &str, id: &str) -> Result<Option<StoredDoc>, StoreError>;

    /// Up to `limit` live documents of a channel with an id after `after` (from the first
    /// when `None`), in id order (byte order of the id): one page of a streamed snapshot, read
    /// from an ordered index.
    fn snapshot_page(
        &mut self,
        channel: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Document>, StoreError>;

    /// Every live document of a channel, in id order (page by page; for tools and tests — the
    /// engine streams snapshots with [`Store::snapshot_page`]).
    fn snapshot(&mut self, channel: &str) -> Result<Vec<Document>, StoreError> {
        const PAGE: usize = 1024;
        let mut docs: Vec<Document> = Vec::new();
        loop {
            let after = docs.last().map(|d| d.id.clone());
            let page = self.snapshot_page(channel, after.as_deref(), PAGE)?;
            let done = page.len() < PAGE;
            docs.extend(page);
            if done {
                return Ok(docs);
            }
        }
    }

    /// Up to `limit` retained log entries with `offset > after`, ascending.
    fn log_after(
        &mut self,
        channel: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError>;

    /// Up to `limit` retained log entries with `offset < before`, descending.
    fn log_before(
        &mut self,
        channel: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError>;

    /// The dedupe record of a mutation key and the client's highest processed id.
    fn dedupe(&mut self, client_id: &str, mutation_id: u64) -> Result<Dedupe, StoreError>;

    /// Atomically and durably applies a commit (document, log entry, head, dedupe record,
    /// retention). Returns the changed channel's new head, or `None` without a change. A
    /// change whose offset is not the channel's head + 1 fails with
    /// [`StoreError::OffsetMismatch`], and a key that already has a dedupe record with
    /// [`StoreError::AlreadyRecorded`]; either changes nothing (several servers may share one
    /// store: the engine then learns what the others wrote and decides again). The
    /// commit is its client's activity at `unix_ms`; the bounded client housekeeping of
    /// [`Store::bind_client`] runs with it.
    fn commit(&mut self, commit: &Commit) -> Result<Option<ChannelHead>, StoreError>;

    /// The subject (token `sub`) a client id is bound to, if it is bound. Required (no
    /// default): a wrapper that forgot to delegate it would silently stop binding client ids
    /// to subjects, which is what keeps one user out of another's exactly-once stream.
    fn client_subject(&mut self, client_id: &str) -> Result<Option<String>, StoreError>;

    /// Binds `client_id` to `subject` unless it is bound already, and returns the subject it
    /// is bound to afterwards (`subject`, or the one it had). Atomic, and durable like a commit
    /// (inside a batch: at [`Store::end_batch`]). Like [`Store::commit`] it also does bounded
    /// housekeeping ([`Retention::dedupe_max_age_ms`], [`Retention::max_clients`], at most
    /// [`EXPIRE_PER_WRITE`] clients each), counting `unix_ms` as the client's activity when
    /// it is new.
    fn bind_client(
        &mut self,
        client_id: &str,
        subject: &str,
        retention: &Retention,
        unix_ms: u64,
    ) -> Result<String, StoreError>;

    /// Starts a batch: the commits until [`Store::end_batch`] become durable together, at its
    /// `Ok` (a store shared by several servers may make a batch's earlier commits durable
    /// sooner, to take locks in an order that cannot deadlock: the PostgreSQL store). Each stays
    /// atomic on its own, and reads see them at once. On `Err` no batch is
    /// open and commits are durable one by one as outside a batch. A store may refuse a second
    /// `begin_batch` while a batch is open ([`StoreError::BatchAlreadyOpen`]).
    ///
    /// The default does nothing: right for a store whose every commit is durable when
    /// [`Store::commit`] returns (such as [`MemoryStore`]).
    fn begin_batch(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Ends the batch and makes its commits durable (one durable write for all of them).
    /// Without an open batch it does nothing. On `Err` the batch is over and its commits may
    /// or may not be durable: nothing derived from them may be sent, and the caller must drop
    /// what it cached from them (clients resend what was not acknowledged, and the dedupe
    /// records, committed or lost with their changes, keep that exactly-once). The store stays
    /// usable: the next call (or batch) starts afresh, reconnecting if it must.
    fn end_batch(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The channel's head, read as a writer: with several servers on one store, the head is
    /// locked against their commits until the open batch ends, or its store commits the
    /// batch's writes so far to lock heads in order (outside a batch this is just
    /// [`Store::channel_head`]). The engine calls it after [`StoreError::OffsetMismatch`], so
    /// that its next commit of the channel in the batch cannot be refused again. The default
    /// (a store only one engine writes) reads the head.
    fn lock_head(&mut self, channel: &str) -> Result<ChannelHead, StoreError> {
        self.channel_head(channel)
    }

    // ---- health ----

    /// Whether the store can take writes now (`/healthz`): a store that may fail to write
    /// probes with a real write. The default (for a store that cannot fail, such as
    /// [`MemoryStore`]) says yes.
    fn check_writable(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}
