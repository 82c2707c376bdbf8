//! The SQLite [`Store`] (bundled SQLite, WAL, `synchronous=FULL` by default).
//!
//! Schema (version [`SCHEMA_VERSION`], in `meta.schema_version`):
//!
//! * `meta(key, value)`: `schema_version`, `epoch` (random, created with the file).
//! * `channels(channel, head, pruned_through)`.
//! * `documents(channel, id, version, body)`: `body` NULL = tombstone.
//! * `events(channel, offset, id, version, body, prev_body, origin_client, origin_mutation,
//!   unix_ms)`: the retained log.
//! * `clients(client_id, highest)` and `dedupe(client_id, mutation_id, reply)`.
//! * `client_info(...)`: bindings, activity and housekeeping of clients ([`clients`]).
//!
//! Mutation ids are u64 on the wire; they are stored order-preserving in SQLite's i64
//! (`id ^ 1 << 63`).
//!
//! Outside a batch every [`Store::commit`] is its own transaction (one fsync with
//! `synchronous=FULL`). Inside a batch ([`Store::begin_batch`]) the first commit opens one
//! `BEGIN IMMEDIATE` transaction, each commit runs in a `SAVEPOINT` (a failing one is rolled back
//! alone), and [`Store::end_batch`] commits them all at once: one fsync per batch. Should SQLite
//! roll the whole transaction back under a failing statement (it may, on I/O errors or a full
//! disk), the batch is marked aborted: its later commits and `end_batch` fail with
//! [`StoreError::BatchAborted`], so no caller can take the earlier commits of the batch for
//! durable.

mod clients;

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use tether_protocol::Json;
use tether_protocol::{Document, Origin};

use super::{ChannelHead, Commit, Dedupe, LogEntry, Retention, Store, StoreError, StoredDoc};

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
    channel TEXT PRIMARY KEY,
    head INTEGER NOT NULL,
    pruned_through INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    channel TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT,
    PRIMARY KEY (channel, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    channel TEXT NOT NULL,
    offset INTEGER NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT,
    prev_body TEXT,
    origin_client TEXT,
    origin_mutation INTEGER,
    unix_ms INTEGER NOT NULL,
    PRIMARY KEY (channel, offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clients (client_id TEXT PRIMARY KEY, highest INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dedupe (
    client_id TEXT NOT NULL,
    mutation_id INTEGER NOT NULL,
    reply TEXT NOT NULL,
    PRIMARY KEY (client_id, mutation_id)
) WITHOUT ROWID;
";

/// Durability of commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sync {
    /// `synchronous=FULL`: a commit survives power loss (default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: with WAL, a commit survives a process crash but maybe not power
    /// loss. Faster.
    Normal,
}

/// Where the connection stands with respect to a batch (group commit).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Batch {
    /// No batch: each commit is its own transaction.
    Off,
    /// A batch is open but has no commit yet: its transaction begins with the first commit.
    Pending,
    /// The batch's transaction is open.
    Open,
    /// A failure undid the batch's transaction; the message says which.
    Aborted(String),
}

/// The savepoint around each commit inside a batch: opened, released, or undone.
const SAVEPOINT_OPEN: &str = "SAVEPOINT tether_commit";
const SAVEPOINT_RELEASE: &str = "RELEASE tether_commit";
const SAVEPOINT_UNDO: &str = "ROLLBACK TO tether_commit; RELEASE tether_commit";

/// A [`Store`] in an SQLite database file (or `:memory:`).
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    epoch: String,
    batch: Batch,
}

fn backend(err: rusqlite::Error) -> StoreError {
    StoreError::Backend {
        message: err.to_string(),
    }
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt {
        message: format!("{v} does not fit in SQLite's INTEGER"),
    })
}

fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Order-preserving u64 -> i64 (for client-chosen mutation ids).
fn mid_to_sql(v: u64) -> i64 {
    (v ^ (1 << 63)) as i64
}

fn mid_from_sql(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

fn parse_body(text: Option<String>) -> Result<Option<Json>, StoreError> {
    text.map(|t| {
        Json::parse(&t).map_err(|e| StoreError::Corrupt {
            message: format!("stored body is not JSON: {e}"),
        })
    })
    .transpose()
}

fn random_epoch() -> Result<String, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Backend {
        message: format!("no randomness for the epoch: {e}"),
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl SqliteStore {
    /// Opens (or creates) a database file with `synchronous=FULL`; `":memory:"` opens a
    /// private in-memory database.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, Sync::Full)
    }

    /// Opens (or creates) a database with the given durability.
    pub fn open_with(path: impl AsRef<Path>, sync: Sync) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref();
        let conn = if path == Path::new(":memory:") {
            Connection::open_in_memory()
        } else {
            Connection::open(path)
        }
        .map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        let sync = match sync {
            Sync::Full => "FULL",
            Sync::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(backend)?;
        conn.busy_timeout(BUSY_WAIT).map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        // Every statement of a commit stays prepared (rusqlite's default keeps 16).
        conn.set_prepared_statement_cache_capacity(64);
        let epoch = SqliteStore::init_meta(&conn)?;
        clients::init(&conn)?;
        Ok(SqliteStore {
            conn,
            epoch,
            batch: Batch::Off,
        })
    }

    fn init_meta(conn: &Connection) -> Result<String, StoreError> {
        let get = |key: &str| -> Result<Option<String>, StoreError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .map_err(backend)
        };
        match get("schema_version")? {
            Some(v) => {
                let found = v.parse::<i64>().unwrap_or(-1);
                if found != SCHEMA_VERSION {
                    return Err(StoreError::SchemaVersion {
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )
                .map_err(backend)?;
            }
        }
        match get("epoch")? {
            Some(epoch) => Ok(epoch),
            None => {
                let epoch = random_epoch()?;
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('epoch', ?1)",
                    [&epoch],
                )
                .map_err(backend)?;
                Ok(epoch)
            }
        }
    }

    fn entries(
        &mut self,
        sql: &str,
        channel: &str,
        bound: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(backend)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let bound = i64::try_from(bound).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![channel, bound, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (offset, id, version, body, prev, oc, om, unix_ms) = row.map_err(backend)?;
            out.push(LogEntry {
                offset: from_i64(offset),
                id,
                version: from_i64(version),
                body: parse_body(body)?,
                prev_body: parse_body(prev)?,
                origin: match (oc, om) {
                    (Some(client_id), Some(m)) => Some(Origin {
                        client_id,
                        mutation_id: mid_from_sql(m),
                    }),
                    _ => None,
                },
                unix_ms: from_i64(unix_ms),
            });
        }
        Ok(out)
    }
}

const ENTRY_COLUMNS: &str =
    "offset, id, version, body, prev_body, origin_client, origin_mutation, unix_ms";

fn head_in(tx: &Connection, channel: &str) -> Result<ChannelHead, StoreError> {
    tx.query_row(
        "SELECT head, pruned_through FROM channels WHERE channel = ?1",
        [channel],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
    )
    .optional()
    .map_err(backend)
    .map(|row| {
        row.map_or(ChannelHead::default(), |(h, p)| ChannelHead {
            head: from_i64(h),
            pruned_through: from_i64(p),
        })
    })
}

fn write_commit(tx: &Connection, commit: &Commit) -> Result<Option<ChannelHead>, StoreError> {
    let retention = commit.retention;
    let mut new_head = None;
    if let Some(change) = &commit.change {
        let channel = change.channel.as_str();
        let entry = &change.entry;
        let mut head = head_in(tx, channel)?;
        if entry.offset != head.head + 1 {
            return Err(StoreError::OffsetMismatch {
                channel: channel.to_owned(),
                expected: head.head + 1,
                got: entry.offset,
            });
        }
        let body = entry.body.as_ref().map(Json::to_text);
        let prev = entry.prev_body.as_ref().map(Json::to_text);
        tx.prepare_cached(
            "INSERT INTO documents (channel, id, version, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (channel, id) DO UPDATE SET version = excluded.version, body = excluded.body",
        )
        .and_then(|mut s| s.execute(params![channel, entry.id, to_i64(entry.version).unwrap_or(i64::MAX), body]))
        .map_err(backend)?;
        tx.prepare_cached(&format!(
            "INSERT INTO events (channel, {ENTRY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ))
        .and_then(|mut s| {
            s.execute(params![
                channel,
                to_i64(entry.offset).unwrap_or(i64::MAX),
                entry.id,
                to_i64(entry.version).unwrap_or(i64::MAX),
                body,
                prev,
                entry.origin.as_ref().map(|o| o.client_id.as_str()),
                entry.origin.as_ref().map(|o| mid_to_sql(o.mutation_id)),
                to_i64(entry.unix_ms).unwrap_or(i64::MAX),
            ])
        })
        .map_err(backend)?;
        head.head = entry.offset;
        // Retention by count, then by age (oldest first).
        let mut prune_to = head
            .pruned_through
            .max(head.head.saturating_sub(retention.max_events));
        let oldest_allowed = to_i64(commit.unix_ms.saturating_sub(retention.max_age_ms))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT offset, unix_ms FROM events WHERE channel = ?1 AND offset > ?2
                     ORDER BY offset",
                )
                .map_err(backend)?;
            let mut rows = stmt
                .query(params![channel, to_i64(prune_to)?])
                .map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let offset: i64 = row.get(0).map_err(backend)?;
                let unix_ms: i64 = row.get(1).map_err(backend)?;
                if unix_ms >= oldest_allowed {
                    break;
                }
                prune_to = from_i64(offset);
            }
        }
        if prune_to > head.pruned_through {
            tx.prepare_cached("DELETE FROM events WHERE channel = ?1 AND offset <= ?2")
                .and_then(|mut s| s.execute(params![channel, to_i64(prune_to).unwrap_or(0)]))
                .map_err(backend)?;
            head.pruned_through = prune_to;
        }
        tx.prepare_cached(
            "INSERT INTO channels (channel, head, pruned_through) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel) DO UPDATE SET head = excluded.head,
                 pruned_through = excluded.pruned_through",
        )
        .and_then(|mut s| {
            s.execute(params![
                channel,
                to_i64(head.head).unwrap_or(i64::MAX),
                to_i64(head.pruned_through).unwrap_or(i64::MAX)
            ])
        })
        .map_err(backend)?;
        new_head = Some(head);
    }
    let mid = mid_to_sql(commit.mutation_id);
    // A record is never replaced: the first answer to a key stands (the transaction, rolled
    // back on this error, undoes the change above).
    let recorded = tx
        .prepare_cached(
            "INSERT INTO dedupe (client_id, mutation_id, reply) VALUES (?1, ?2, ?3)
             ON CONFLICT (client_id, mutation_id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![commit.client_id, mid, commit.reply]))
        .map_err(backend)?;
    if recorded == 0 {
        return Err(StoreError::AlreadyRecorded {
            client_id: commit.client_id.clone(),
            mutation_id: commit.mutation_id,
        });
    }
    tx.prepare_cached(
        "INSERT INTO clients (client_id, highest) VALUES (?1, ?2)
         ON CONFLICT (client_id) DO UPDATE SET highest = max(highest, excluded.highest)",
    )
    .and_then(|mut s| s.execute(params![commit.client_id, mid]))
    .map_err(backend)?;
    let keep = i64::try_from(retention.dedupe_per_client).unwrap_or(i64::MAX);
    if keep == 0 {
        tx.prepare_cached("DELETE FROM dedupe WHERE client_id = ?1")
            .and_then(|mut s| s.execute(params![commit.client_id]))
            .map_err(backend)?;
    } else {
        tx.prepare_cached(
            "DELETE FROM dedupe WHERE client_id = ?1 AND mutation_id < (
                 SELECT mutation_id FROM dedupe WHERE client_id = ?1
                 ORDER BY mutation_id DESC LIMIT 1 OFFSET ?2)",
        )
        .and_then(|mut s| s.execute(params![commit.client_id, keep - 1]))
        .map_err(backend)?;
    }
    clients::after_commit(tx, commit)?;
    Ok(new_head)
}

impl Store for SqliteStore {
    fn epoch(&self) -> &str {
        &self.epoch
    }

    fn channel_head(&mut self, channel: &str) -> Result<ChannelHead, StoreError> {
        // One statement: atomic on its own, and inside a batch it sees the batch's commits.
        head_in(&self.conn, channel)
    }

    fn document(&mut self, channel: &str, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        let row = self
            .conn
            .prepare_cached("SELECT version, body FROM documents WHERE channel = ?1 AND id = ?2")
            .and_then(|mut s| {
                s.query_row(params![channel, id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .optional()
            })
            .map_err(backend)?;
        row.map(|(version, body)| {
            Ok(StoredDoc {
                version: from_i64(version),
                body: parse_body(body)?,
            })
        })
        .transpose()
    }

    fn snapshot_page(
        &mut self,
        channel: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Document>, StoreError> {
        // A range scan of the (channel, id) primary key; `''` sorts before every id (ids are
        // never empty).
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, version, body FROM documents
                 WHERE channel = ?1 AND id > ?2 AND body IS NOT NULL ORDER BY id LIMIT ?3",
            )
            .map_err(backend)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![channel, after.unwrap_or(""), limit], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(backend)?;
        let mut docs = Vec::new();
        for row in rows {
            let (id, version, body) = row.map_err(backend)?;
            docs.push(Document {
                id,
                version: from_i64(version),
                doc: parse_body(Some(body))?.unwrap_or(Json::Null),
            });
        }
        Ok(docs)
    }

    fn log_after(
        &mut self,
        channel: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM events WHERE channel = ?1 AND offset > ?2
             ORDER BY offset LIMIT ?3"
        );
        self.entries(&sql, channel, after, limit)
    }

    fn log_before(
        &mut self,
        channel: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM events WHERE channel = ?1 AND offset < ?2
             ORDER BY offset DESC LIMIT ?3"
        );
        self.entries(&sql, channel, before, limit)
    }

    fn dedupe(&mut self, client_id: &str, mutation_id: u64) -> Result<Dedupe, StoreError> {
        let highest = self
            .conn
            .prepare_cached("SELECT highest FROM clients WHERE client_id = ?1")
            .and_then(|mut s| s.query_row([client_id], |r| r.get::<_, i64>(0)).optional())
            .map_err(backend)?;
        let record = self
            .conn
            .prepare_cached("SELECT reply FROM dedupe WHERE client_id = ?1 AND mutation_id = ?2")
            .and_then(|mut s| {
                s.query_row(params![client_id, mid_to_sql(mutation_id)], |r| {
                    r.get::<_, String>(0)
                })
                .optional()
            })
            .map_err(backend)?;
        Ok(Dedupe {
            record,
            highest: highest.map(mid_from_sql),
        })
    }

    fn commit(&mut self, commit: &Commit) -> Result<Option<ChannelHead>, StoreError> {
        self.write(|tx| write_commit(tx, commit))
    }

    fn client_subject(&mut self, client_id: &str) -> Result<Option<String>, StoreError> {
        clients::subject(&self.conn, client_id)
    }

    fn bind_client(
        &mut self,
        client_id: &str,
        subject: &str,
        retention: &Retention,
        unix_ms: u64,
    ) -> Result<String, StoreError> {
        self.write(|tx| clients::bind(tx, client_id, subject, retention, unix_ms))
    }

    fn begin_batch(&mut self) -> Result<(), StoreError> {
        if self.batch != Batch::Off {
            return Err(StoreError::BatchAlreadyOpen);
        }
        // The transaction begins lazily with the first commit, so a batch without writes
        // (pings, subscribes) costs nothing.
        self.batch = Batch::Pending;
        Ok(())
    }

    fn end_batch(&mut self) -> Result<(), StoreError> {
        match std::mem::replace(&mut self.batch, Batch::Off) {
            Batch::Off | Batch::Pending => Ok(()),
            Batch::Open if self.conn.is_autocommit() => Err(StoreError::BatchAborted {
                cause: "SQLite rolled the batch's transaction back".into(),
            }),
            Batch::Open => self.conn.execute_batch("COMMIT").map_err(|err| {
                // Whatever SQLite left open must not be committed later by someone else.
                self.rollback_all();
                backend(err)
            }),
            Batch::Aborted(cause) => {
                self.rollback_all();
                Err(StoreError::BatchAborted { cause })
            }
        }
    }

    fn check_writable(&mut self) -> Result<(), StoreError> {
        self.probe_write()
    }
}

impl SqliteStore {
    /// One atomic write: its own transaction outside a batch, a savepoint of the batch's
    /// transaction inside one.
    fn write<T>(
        &mut self,
        write: impl Fn(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.batch {
            Batch::Off => {
                let tx = self.conn.transaction().map_err(backend)?;
                let out = write(&tx)?;
                tx.commit().map_err(backend)?;
                Ok(out)
            }
            Batch::Aborted(cause) => Err(StoreError::BatchAborted {
                cause: cause.clone(),
            }),
            Batch::Pending => {
                self.conn
                    .execute_batch("BEGIN IMMEDIATE")
                    .map_err(backend)?;
                self.batch = Batch::Open;
                self.write_in_batch(write)
            }
            Batch::Open => self.write_in_batch(write),
        }
    }

    /// One write inside the open batch transaction, in a savepoint.
    fn write_in_batch<T>(
        &mut self,
        write: impl Fn(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.conn.is_autocommit() {
            // SQLite rolled the transaction back under an earlier failing statement (a read
            // can do that too, on I/O errors): a savepoint now would start a new transaction
            // and make this commit durable without the batch's earlier ones.
            return Err(self.abort_batch("SQLite rolled the batch's transaction back"));
        }
        let written = self
            .exec_cached(SAVEPOINT_OPEN)
            .and_then(|()| write(&self.conn))
            .and_then(|head| self.exec_cached(SAVEPOINT_RELEASE).map(|()| head));
        let Err(err) = written else {
            return written;
        };
        // Undo this commit only; the batch's earlier commits stay.
        let undone = self.conn.execute_batch(SAVEPOINT_UNDO);
        if undone.is_err() || self.conn.is_autocommit() {
            // The savepoint is gone: SQLite rolled the whole transaction back (or we cannot
            // tell what is left of it). The batch's earlier commits are lost.
            self.abort_batch(&err.to_string());
        }
        Err(err)
    }

    /// Marks the batch aborted (rolling back what is left of it) and returns the error later
    /// commits of the batch get.
    fn abort_batch(&mut self, cause: &str) -> StoreError {
        self.rollback_all();
        self.batch = Batch::Aborted(cause.to_owned());
        StoreError::BatchAborted {
            cause: cause.to_owned(),
        }
    }

    /// Runs a statement without parameters or rows, prepared once per connection.
    fn exec_cached(&self, sql: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(drop)
            .map_err(backend)
    }

    /// Rolls back whatever transaction is open on the connection.
    fn rollback_all(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// How long the health probe waits for another writer's lock.
const PROBE_BUSY_WAIT: std::time::Duration = std::time::Duration::from_millis(200);
/// The busy timeout of every other statement.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl SqliteStore {
    /// The health probe ([`Store::check_writable`]): outside a batch, a real write transaction
    /// (take the write lock within [`PROBE_BUSY_WAIT`], rewrite one row of `meta` unchanged,
    /// commit durably). Inside a batch whose transaction is open the lock is ours and the
    /// batch's own commit will tell; an aborted batch is reported.
    fn probe_write(&mut self) -> Result<(), StoreError> {
        match &self.batch {
            Batch::Open => return Ok(()),
            Batch::Aborted(cause) => {
                return Err(StoreError::BatchAborted {
                    cause: cause.clone(),
                })
            }
            Batch::Off | Batch::Pending => {}
        }
        self.conn.busy_timeout(PROBE_BUSY_WAIT).map_err(backend)?;
        let probed = self
            .conn
            .execute_batch(
                "BEGIN IMMEDIATE; UPDATE meta SET value = value WHERE key = 'epoch'; COMMIT;",
            )
            .map_err(backend);
        self.rollback_all();
        let restored = self.conn.busy_timeout(BUSY_WAIT).map_err(backend);
        probed.and(restored)
    }
}
