//! The schema of a [`super::PgStore`]: the same tables as the SQLite store's, in PostgreSQL
//! types, created on open.
//!
//! * `meta(key, value)`: `schema_version`, `epoch` (random, created once with the schema),
//!   `client_count`.
//! * `channels(channel, head, pruned_through)`.
//! * `documents(channel, id, version, body)`: `body` NULL = tombstone.
//! * `events(channel, log_offset, id, version, body, prev_body, origin_client,
//!   origin_mutation, unix_ms)`: the retained log (`offset` is a reserved word in SQL).
//! * `clients(client_id, highest)` and `dedupe(client_id, mutation_id, reply)`.
//! * `client_info(client_id, subject, last_unix_ms, has_records)`: bindings, activity and
//!   housekeeping of clients (see `clients.rs`).
//!
//! Integers are `BIGINT`; mutation ids (u64 on the wire) are stored order-preserving in it
//! (`id ^ 1 << 63`), as in SQLite. Bodies are `TEXT`, the JSON exactly as encoded (`JSONB`
//! would reorder keys and round numbers). Document ids are `COLLATE "C"`, so that snapshot
//! pages come in byte order whatever the database's collation.

use super::session::Session;
use crate::store::StoreError;

/// The schema version this build reads and writes (the same number as SQLite's).
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
    channel TEXT PRIMARY KEY,
    head BIGINT NOT NULL,
    pruned_through BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    channel TEXT NOT NULL,
    id TEXT COLLATE \"C\" NOT NULL,
    version BIGINT NOT NULL,
    body TEXT,
    PRIMARY KEY (channel, id)
);
CREATE TABLE IF NOT EXISTS events (
    channel TEXT NOT NULL,
    log_offset BIGINT NOT NULL,
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT,
    prev_body TEXT,
    origin_client TEXT,
    origin_mutation BIGINT,
    unix_ms BIGINT NOT NULL,
    PRIMARY KEY (channel, log_offset)
);
CREATE TABLE IF NOT EXISTS clients (client_id TEXT PRIMARY KEY, highest BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS dedupe (
    client_id TEXT NOT NULL,
    mutation_id BIGINT NOT NULL,
    reply TEXT NOT NULL,
    PRIMARY KEY (client_id, mutation_id)
);
CREATE TABLE IF NOT EXISTS client_info (
    client_id TEXT PRIMARY KEY,
    subject TEXT,
    last_unix_ms BIGINT NOT NULL,
    has_records BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS client_info_records ON client_info (has_records, last_unix_ms);
CREATE INDEX IF NOT EXISTS client_info_age ON client_info (last_unix_ms);
";

/// Creates the schema if missing and returns the database's epoch. Serialised by a
/// transaction-scoped advisory lock, so that several servers opening one fresh database at
/// once create it once (and agree on one epoch).
pub(super) fn init(session: &mut Session, epoch_if_new: String) -> Result<String, StoreError> {
    session.simple("BEGIN; SELECT pg_advisory_xact_lock(7460124680235193345);")?;
    let out = init_locked(session, epoch_if_new);
    let out = out.and_then(|epoch| session.simple("COMMIT").map(|()| epoch));
    if out.is_err() {
        let _ = session.simple("ROLLBACK");
    }
    out
}

fn init_locked(session: &mut Session, epoch_if_new: String) -> Result<String, StoreError> {
    session.simple(SCHEMA)?;
    let get = |session: &mut Session, key: &str| -> Result<Option<String>, StoreError> {
        Ok(session
            .row("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|r| r.get::<_, String>(0)))
    };
    match get(session, "schema_version")? {
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
            session.exec(
                "INSERT INTO meta (key, value) VALUES ('schema_version', $1)",
                &[&SCHEMA_VERSION.to_string()],
            )?;
        }
    }
    if get(session, "client_count")?.is_none() {
        session.exec(
            "INSERT INTO meta (key, value)
             SELECT 'client_count', CAST(count(*) AS TEXT) FROM client_info",
            &[],
        )?;
    }
    match get(session, "epoch")? {
        Some(epoch) => Ok(epoch),
        None => {
            session.exec(
                "INSERT INTO meta (key, value) VALUES ('epoch', $1)",
                &[&epoch_if_new],
            )?;
            Ok(epoch_if_new)
        }
    }
}
