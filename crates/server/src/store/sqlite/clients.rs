//! The clients of a [`super::SqliteStore`] beyond `clients(client_id, highest)`: the subject a
//! client id is bound to, its last activity, and the bounded housekeeping (records of clients
//! inactive for longer than the dedupe age dropped, clients beyond the bound evicted).
//!
//! * `client_info(client_id, subject, last_unix_ms, has_records)`: `subject` NULL = unbound;
//!   `has_records` 1 while `dedupe` may hold records of the client.
//!   `last_unix_ms` is kept to the minute (a commit rewrites it once it is a minute old).
//! * `meta.client_count`: the number of `client_info` rows (kept with every insert and
//!   eviction, so that the bound costs no count per write).
//!
//! A database written before these tables existed gets them on open: every client of
//! `clients` becomes unbound, active at the newest event's time.

use rusqlite::{params, Connection, OptionalExtension};

use super::{backend, to_i64};
use crate::store::{Commit, Retention, StoreError, EXPIRE_PER_WRITE};

/// How stale a client's recorded activity may get before a commit rewrites it.
const ACTIVITY_GRAIN_MS: i64 = 60_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS client_info (
    client_id TEXT PRIMARY KEY,
    subject TEXT,
    last_unix_ms INTEGER NOT NULL,
    has_records INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS client_info_records ON client_info (has_records, last_unix_ms);
CREATE INDEX IF NOT EXISTS client_info_age ON client_info (last_unix_ms);
";

/// Creates the tables (and fills them for a database written before they existed).
pub(super) fn init(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(SCHEMA).map_err(backend)?;
    let counted: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'client_count'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    if counted.is_none() {
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             INSERT OR IGNORE INTO client_info (client_id, subject, last_unix_ms, has_records)
                 SELECT client_id, NULL, (SELECT COALESCE(max(unix_ms), 0) FROM events), 1
                 FROM clients;
             INSERT INTO meta (key, value)
                 SELECT 'client_count', CAST(count(*) AS TEXT) FROM client_info;
             COMMIT;",
        )
        .map_err(backend)?;
    }
    Ok(())
}

/// The subject `client_id` is bound to.
pub(super) fn subject(conn: &Connection, client_id: &str) -> Result<Option<String>, StoreError> {
    conn.prepare_cached("SELECT subject FROM client_info WHERE client_id = ?1")
        .and_then(|mut s| {
            s.query_row([client_id], |r| r.get::<_, Option<String>>(0))
                .optional()
        })
        .map(Option::flatten)
        .map_err(backend)
}

/// The commit's activity (it has a record now), then the housekeeping. Part of the commit's
/// transaction.
pub(super) fn after_commit(tx: &Connection, commit: &Commit) -> Result<(), StoreError> {
    let unix_ms = to_i64(commit.unix_ms)?;
    let row: Option<(i64, i64)> = tx
        .prepare_cached("SELECT last_unix_ms, has_records FROM client_info WHERE client_id = ?1")
        .and_then(|mut s| {
            s.query_row([&commit.client_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(backend)?;
    match row {
        None => {
            tx.prepare_cached(
                "INSERT INTO client_info (client_id, subject, last_unix_ms, has_records)
                 VALUES (?1, NULL, ?2, 1)",
            )
            .and_then(|mut s| s.execute(params![commit.client_id, unix_ms]))
            .map_err(backend)?;
            add_count(tx, 1)?;
        }
        // Activity is kept to the minute: most commits of an active client leave the row
        // (and its two index entries) alone.
        Some((last, has_records))
            if has_records == 0 || last < unix_ms.saturating_sub(ACTIVITY_GRAIN_MS) =>
        {
            tx.prepare_cached(
                "UPDATE client_info SET last_unix_ms = max(last_unix_ms, ?2), has_records = 1
                 WHERE client_id = ?1",
            )
            .and_then(|mut s| s.execute(params![commit.client_id, unix_ms]))
            .map_err(backend)?;
        }
        Some(_) => {}
    }
    housekeeping(tx, &commit.retention, commit.unix_ms, &commit.client_id)
}

/// Binds an unbound client id (creating it if new); returns the subject it is bound to.
pub(super) fn bind(
    tx: &Connection,
    client_id: &str,
    subject: &str,
    retention: &Retention,
    unix_ms: u64,
) -> Result<String, StoreError> {
    if !exists(tx, client_id)? {
        add_count(tx, 1)?;
    }
    let at = to_i64(unix_ms)?;
    tx.prepare_cached(
        "INSERT INTO client_info (client_id, subject, last_unix_ms, has_records)
         VALUES (?1, ?2, ?3, 0)
         ON CONFLICT (client_id) DO UPDATE SET subject = COALESCE(subject, excluded.subject)",
    )
    .and_then(|mut s| s.execute(params![client_id, subject, at]))
    .map_err(backend)?;
    housekeeping(tx, retention, unix_ms, client_id)?;
    Ok(self::subject(tx, client_id)?.unwrap_or_else(|| subject.to_owned()))
}

fn exists(tx: &Connection, client_id: &str) -> Result<bool, StoreError> {
    tx.prepare_cached("SELECT 1 FROM client_info WHERE client_id = ?1")
        .and_then(|mut s| s.exists([client_id]))
        .map_err(backend)
}

fn add_count(tx: &Connection, delta: i64) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ?1 AS TEXT)
         WHERE key = 'client_count'",
    )
    .and_then(|mut s| s.execute([delta]))
    .map(drop)
    .map_err(backend)
}

fn count(tx: &Connection) -> Result<u64, StoreError> {
    let n: i64 = tx
        .prepare_cached("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'client_count'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(backend)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Ids selected by `sql` (one bound parameter list), at most [`EXPIRE_PER_WRITE`].
fn ids(
    tx: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = tx.prepare_cached(sql).map_err(backend)?;
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(backend)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend)
}

/// Drops the records of up to [`EXPIRE_PER_WRITE`] clients inactive for longer than the dedupe
/// age (keeping their highest id), and evicts up to as many of the longest-inactive clients
/// beyond the bound (never `keep`).
fn housekeeping(
    tx: &Connection,
    retention: &Retention,
    unix_ms: u64,
    keep: &str,
) -> Result<(), StoreError> {
    let per = i64::try_from(EXPIRE_PER_WRITE).unwrap_or(8);
    let cutoff = to_i64(unix_ms.saturating_sub(retention.dedupe_max_age_ms))?;
    let expired = ids(
        tx,
        "SELECT client_id FROM client_info WHERE has_records = 1 AND last_unix_ms < ?1
         ORDER BY last_unix_ms LIMIT ?2",
        params![cutoff, per],
    )?;
    for id in expired {
        tx.prepare_cached("DELETE FROM dedupe WHERE client_id = ?1")
            .and_then(|mut s| s.execute([&id]))
            .map_err(backend)?;
        tx.prepare_cached("UPDATE client_info SET has_records = 0 WHERE client_id = ?1")
            .and_then(|mut s| s.execute([&id]))
            .map_err(backend)?;
    }
    let total = count(tx)?;
    let over = total.saturating_sub(retention.max_clients.max(1));
    if over == 0 {
        return Ok(());
    }
    let n = i64::try_from(over).unwrap_or(per).min(per);
    let evicted = ids(
        tx,
        "SELECT client_id FROM client_info WHERE client_id <> ?1
         ORDER BY last_unix_ms LIMIT ?2",
        params![keep, n],
    )?;
    for id in &evicted {
        for sql in [
            "DELETE FROM dedupe WHERE client_id = ?1",
            "DELETE FROM clients WHERE client_id = ?1",
            "DELETE FROM client_info WHERE client_id = ?1",
        ] {
            tx.prepare_cached(sql)
                .and_then(|mut s| s.execute([id]))
                .map_err(backend)?;
        }
    }
    add_count(tx, -i64::try_from(evicted.len()).unwrap_or(0))
}
