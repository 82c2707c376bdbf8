//! The clients of a [`super::PgStore`] beyond `clients(client_id, highest)`, as in the SQLite
//! store: the subject a client id is bound to, its last activity (kept to the minute), and the
//! bounded housekeeping (records of clients inactive for longer than the dedupe age dropped,
//! clients beyond the bound evicted, at most [`EXPIRE_PER_WRITE`] each per write).
//! `meta.client_count` counts the `client_info` rows.

use super::session::Session;
use super::to_i64;
use crate::store::{Commit, Retention, StoreError, EXPIRE_PER_WRITE};

/// How stale a client's recorded activity may get before a commit rewrites it.
const ACTIVITY_GRAIN_MS: i64 = 60_000;

/// The subject `client_id` is bound to.
pub(super) fn subject(s: &mut Session, client_id: &str) -> Result<Option<String>, StoreError> {
    Ok(s.row(
        "SELECT subject FROM client_info WHERE client_id = $1",
        &[&client_id],
    )?
    .and_then(|r| r.get::<_, Option<String>>(0)))
}

/// The commit's activity (it has a record now), then the housekeeping. Part of the commit's
/// transaction.
pub(super) fn after_commit(s: &mut Session, commit: &Commit) -> Result<(), StoreError> {
    let unix_ms = to_i64(commit.unix_ms)?;
    let row = s.row(
        "SELECT last_unix_ms, has_records FROM client_info WHERE client_id = $1",
        &[&commit.client_id],
    )?;
    match row.map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1))) {
        None => {
            s.exec(
                "INSERT INTO client_info (client_id, subject, last_unix_ms, has_records)
                 VALUES ($1, NULL, $2, 1)",
                &[&commit.client_id, &unix_ms],
            )?;
            add_count(s, 1)?;
        }
        // Activity is kept to the minute: most commits of an active client leave the row
        // (and its index entries) alone.
        Some((last, has_records))
            if has_records == 0 || last < unix_ms.saturating_sub(ACTIVITY_GRAIN_MS) =>
        {
            s.exec(
                "UPDATE client_info SET last_unix_ms = GREATEST(last_unix_ms, $2),
                     has_records = 1
                 WHERE client_id = $1",
                &[&commit.client_id, &unix_ms],
            )?;
        }
        Some(_) => {}
    }
    housekeeping(s, &commit.retention, commit.unix_ms, &commit.client_id)
}

/// Binds an unbound client id (creating it if new); returns the subject it is bound to.
pub(super) fn bind(
    s: &mut Session,
    client_id: &str,
    subject: &str,
    retention: &Retention,
    unix_ms: u64,
) -> Result<String, StoreError> {
    let inserted = s.exec(
        "INSERT INTO client_info (client_id, subject, last_unix_ms, has_records)
         VALUES ($1, $2, $3, 0) ON CONFLICT (client_id) DO NOTHING",
        &[&client_id, &subject, &to_i64(unix_ms)?],
    )?;
    if inserted == 1 {
        add_count(s, 1)?;
    } else {
        s.exec(
            "UPDATE client_info SET subject = $2 WHERE client_id = $1 AND subject IS NULL",
            &[&client_id, &subject],
        )?;
    }
    housekeeping(s, retention, unix_ms, client_id)?;
    Ok(self::subject(s, client_id)?.unwrap_or_else(|| subject.to_owned()))
}

fn add_count(s: &mut Session, delta: i64) -> Result<(), StoreError> {
    s.wrote_shared_row();
    s.exec(
        "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + $1 AS TEXT)
         WHERE key = 'client_count'",
        &[&delta],
    )
    .map(drop)
}

/// Drops the records of up to [`EXPIRE_PER_WRITE`] clients inactive for longer than the dedupe
/// age (keeping their highest id), and evicts up to as many of the longest-inactive clients
/// beyond the bound (never `keep`).
fn housekeeping(
    s: &mut Session,
    retention: &Retention,
    unix_ms: u64,
    keep: &str,
) -> Result<(), StoreError> {
    let per = i64::try_from(EXPIRE_PER_WRITE).unwrap_or(8);
    let cutoff = to_i64(unix_ms.saturating_sub(retention.dedupe_max_age_ms))?;
    // The clients whose records expire, and the client count (which only `add_count`
    // changes), in one round trip.
    let row = s.row(
        "SELECT CAST((SELECT value FROM meta WHERE key = 'client_count') AS BIGINT),
             ARRAY(SELECT client_id FROM client_info WHERE has_records = 1 AND last_unix_ms < $1
                   ORDER BY last_unix_ms, client_id LIMIT $2)",
        &[&cutoff, &per],
    )?;
    let (total, expired): (Option<i64>, Vec<String>) =
        row.map_or((None, Vec::new()), |r| (r.get(0), r.get(1)));
    if !expired.is_empty() {
        s.wrote_shared_row();
        s.exec("DELETE FROM dedupe WHERE client_id = ANY($1)", &[&expired])?;
        s.exec(
            "UPDATE client_info SET has_records = 0 WHERE client_id = ANY($1)",
            &[&expired],
        )?;
    }
    let total = u64::try_from(total.unwrap_or(0)).unwrap_or(0);
    let over = total.saturating_sub(retention.max_clients.max(1));
    if over == 0 {
        return Ok(());
    }
    let n = i64::try_from(over).unwrap_or(per).min(per);
    let evicted: Vec<String> = s
        .rows(
            "SELECT client_id FROM client_info WHERE client_id <> $1
             ORDER BY last_unix_ms, client_id LIMIT $2",
            &[&keep, &n],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for id in &evicted {
        s.exec("DELETE FROM dedupe WHERE client_id = $1", &[id])?;
        s.exec("DELETE FROM clients WHERE client_id = $1", &[id])?;
        s.exec("DELETE FROM client_info WHERE client_id = $1", &[id])?;
    }
    add_count(s, -i64::try_from(evicted.len()).unwrap_or(0))
}
