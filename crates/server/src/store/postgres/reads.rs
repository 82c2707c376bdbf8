//! The reads of a [`super::PgStore`]: heads, documents, snapshot pages, log entries, dedupe.

use postgres::Row;
use tether_protocol::Json;
use tether_protocol::{Document, Origin};

use super::session::Session;
use super::{from_i64, mid_from_sql, mid_to_sql};
use crate::store::{ChannelHead, Dedupe, LogEntry, StoreError, StoredDoc};

fn parse_body(text: Option<String>) -> Result<Option<Json>, StoreError> {
    text.map(|t| {
        Json::parse(&t).map_err(|e| StoreError::Corrupt {
            message: format!("stored body is not JSON: {e}"),
        })
    })
    .transpose()
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn bound(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn channel_head(s: &mut Session, channel: &str) -> Result<ChannelHead, StoreError> {
    let row = s.row(
        "SELECT head, pruned_through FROM channels WHERE channel = $1",
        &[&channel],
    )?;
    Ok(row.map_or(ChannelHead::default(), |r| ChannelHead {
        head: from_i64(r.get(0)),
        pruned_through: from_i64(r.get(1)),
    }))
}

pub(super) fn document(
    s: &mut Session,
    channel: &str,
    id: &str,
) -> Result<Option<StoredDoc>, StoreError> {
    let row = s.row(
        "SELECT version, body FROM documents WHERE channel = $1 AND id = $2",
        &[&channel, &id],
    )?;
    row.map(|r| {
        Ok(StoredDoc {
            version: from_i64(r.get(0)),
            body: parse_body(r.get(1))?,
        })
    })
    .transpose()
}

pub(super) fn snapshot_page(
    s: &mut Session,
    channel: &str,
    after: Option<&str>,
    n: usize,
) -> Result<Vec<Document>, StoreError> {
    // A range scan of the (channel, id) primary key (ids in byte order, `COLLATE "C"`); `''`
    // sorts before every id (ids are never empty).
    let rows = s.rows(
        "SELECT id, version, body FROM documents
         WHERE channel = $1 AND id > $2 AND body IS NOT NULL ORDER BY id LIMIT $3",
        &[&channel, &after.unwrap_or(""), &limit(n)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Document {
                id: r.get(0),
                version: from_i64(r.get(1)),
                doc: parse_body(r.get(2))?.unwrap_or(Json::Null),
            })
        })
        .collect()
}

fn entry(r: &Row) -> Result<LogEntry, StoreError> {
    let origin = match (r.get::<_, Option<String>>(5), r.get::<_, Option<i64>>(6)) {
        (Some(client_id), Some(m)) => Some(Origin {
            client_id,
            mutation_id: mid_from_sql(m),
        }),
        _ => None,
    };
    Ok(LogEntry {
        offset: from_i64(r.get(0)),
        id: r.get(1),
        version: from_i64(r.get(2)),
        body: parse_body(r.get(3))?,
        prev_body: parse_body(r.get(4))?,
        origin,
        unix_ms: from_i64(r.get(7)),
    })
}

pub(super) fn log_after(
    s: &mut Session,
    channel: &str,
    after: u64,
    n: usize,
) -> Result<Vec<LogEntry>, StoreError> {
    s.rows(
        "SELECT log_offset, id, version, body, prev_body, origin_client, origin_mutation, unix_ms
         FROM events WHERE channel = $1 AND log_offset > $2 ORDER BY log_offset LIMIT $3",
        &[&channel, &bound(after), &limit(n)],
    )?
    .iter()
    .map(entry)
    .collect()
}

pub(super) fn log_before(
    s: &mut Session,
    channel: &str,
    before: u64,
    n: usize,
) -> Result<Vec<LogEntry>, StoreError> {
    s.rows(
        "SELECT log_offset, id, version, body, prev_body, origin_client, origin_mutation, unix_ms
         FROM events WHERE channel = $1 AND log_offset < $2 ORDER BY log_offset DESC LIMIT $3",
        &[&channel, &bound(before), &limit(n)],
    )?
    .iter()
    .map(entry)
    .collect()
}

pub(super) fn dedupe(
    s: &mut Session,
    client_id: &str,
    mutation_id: u64,
) -> Result<Dedupe, StoreError> {
    let highest = s
        .row(
            "SELECT highest FROM clients WHERE client_id = $1",
            &[&client_id],
        )?
        .map(|r| mid_from_sql(r.get(0)));
    let record = s
        .row(
            "SELECT reply FROM dedupe WHERE client_id = $1 AND mutation_id = $2",
            &[&client_id, &mid_to_sql(mutation_id)],
        )?
        .map(|r| r.get(0));
    Ok(Dedupe { record, highest })
}
