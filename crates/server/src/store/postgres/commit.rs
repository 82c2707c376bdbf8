//! One [`Commit`] in PostgreSQL: document, log entry, channel head, retention, dedupe record
//! and client activity, inside the caller's transaction (or savepoint).
//!
//! Gap-free offsets with several writers: the channel's head row is read `FOR UPDATE`, so
//! writers of one channel take turns, and each sees the head the previous one committed (read
//! committed: every statement sees what was committed before it). A commit whose offset is
//! not that head + 1 fails with [`StoreError::OffsetMismatch`] and changes nothing; no
//! sequence is involved, so an offset is never skipped. A channel without a row yet gets one
//! first (`ON CONFLICT DO NOTHING` waits for a concurrent writer's insert to commit).

use tether_protocol::Json;

use super::session::Session;
use super::{clients, from_i64, mid_to_sql, to_i64};
use crate::store::{ChannelHead, Commit, StoreError};

const HEAD_FOR_UPDATE: &str =
    "SELECT head, pruned_through FROM channels WHERE channel = $1 FOR UPDATE";

/// The channel's head, its row locked until the transaction ends.
pub(super) fn lock_head(s: &mut Session, channel: &str) -> Result<ChannelHead, StoreError> {
    let mut row = s.row(HEAD_FOR_UPDATE, &[&channel])?;
    if row.is_none() {
        s.exec(
            "INSERT INTO channels (channel, head, pruned_through) VALUES ($1, 0, 0)
             ON CONFLICT (channel) DO NOTHING",
            &[&channel],
        )?;
        row = s.row(HEAD_FOR_UPDATE, &[&channel])?;
    }
    let row = row.ok_or_else(|| StoreError::Corrupt {
        message: format!("channel {channel}: no head row after inserting it"),
    })?;
    Ok(ChannelHead {
        head: from_i64(row.get(0)),
        pruned_through: from_i64(row.get(1)),
    })
}

/// Writes the commit; the changed channel's new head.
pub(super) fn write(s: &mut Session, commit: &Commit) -> Result<Option<ChannelHead>, StoreError> {
    let retention = commit.retention;
    let mut new_head = None;
    if let Some(change) = &commit.change {
        let channel = change.channel.as_str();
        let entry = &change.entry;
        let mut head = lock_head(s, channel)?;
        if entry.offset != head.head + 1 {
            return Err(StoreError::OffsetMismatch {
                channel: channel.to_owned(),
                expected: head.head + 1,
                got: entry.offset,
            });
        }
        let body = entry.body.as_ref().map(Json::to_text);
        let prev = entry.prev_body.as_ref().map(Json::to_text);
        let version = to_i64(entry.version)?;
        let offset = to_i64(entry.offset)?;
        let origin_client = entry.origin.as_ref().map(|o| o.client_id.as_str());
        let origin_mutation = entry.origin.as_ref().map(|o| mid_to_sql(o.mutation_id));
        // The document and the log entry in one statement (one round trip).
        s.exec(
            "WITH doc AS (
                 INSERT INTO documents (channel, id, version, body) VALUES ($1, $3, $4, $5)
                 ON CONFLICT (channel, id) DO UPDATE SET version = excluded.version,
                     body = excluded.body)
             INSERT INTO events (channel, log_offset, id, version, body, prev_body,
                 origin_client, origin_mutation, unix_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &channel,
                &offset,
                &entry.id,
                &version,
                &body,
                &prev,
                &origin_client,
                &origin_mutation,
                &to_i64(entry.unix_ms)?,
            ],
        )?;
        head.head = entry.offset;
        // Retention by count, then by age: the oldest entries up to the first one young
        // enough (as SQLite's walk from the pruning point does).
        let mut prune_to = head
            .pruned_through
            .max(head.head.saturating_sub(retention.max_events));
        let oldest_allowed = to_i64(commit.unix_ms.saturating_sub(retention.max_age_ms))?;
        let aged: Option<i64> = s
            .row(
                "SELECT max(log_offset) FROM events
                 WHERE channel = $1 AND log_offset > $2 AND unix_ms < $3 AND log_offset < COALESCE(
                     (SELECT min(log_offset) FROM events
                      WHERE channel = $1 AND log_offset > $2 AND unix_ms >= $3),
                     9223372036854775807)",
                &[&channel, &to_i64(prune_to)?, &oldest_allowed],
            )?
            .and_then(|r| r.get(0));
        if let Some(aged) = aged {
            prune_to = prune_to.max(from_i64(aged));
        }
        if prune_to > head.pruned_through {
            s.exec(
                "DELETE FROM events WHERE channel = $1 AND log_offset <= $2",
                &[&channel, &to_i64(prune_to)?],
            )?;
            head.pruned_through = prune_to;
        }
        s.exec(
            "UPDATE channels SET head = $2, pruned_through = $3 WHERE channel = $1",
            &[&channel, &to_i64(head.head)?, &to_i64(head.pruned_through)?],
        )?;
        new_head = Some(head);
    }
    let mid = mid_to_sql(commit.mutation_id);
    // The dedupe record and the client's highest id in one statement; the trim after it sees
    // both. A record is never replaced: if another server recorded the key first (its insert
    // is waited for), nothing is inserted and the savepoint or transaction is rolled back.
    let recorded: i64 = s
        .row(
            "WITH record AS (
                 INSERT INTO dedupe (client_id, mutation_id, reply) VALUES ($1, $2, $3)
                 ON CONFLICT (client_id, mutation_id) DO NOTHING
                 RETURNING client_id),
             highest AS (
                 INSERT INTO clients (client_id, highest) SELECT client_id, $2 FROM record
                 ON CONFLICT (client_id) DO UPDATE SET
                     highest = GREATEST(clients.highest, excluded.highest))
             SELECT count(*) FROM record",
            &[&commit.client_id, &mid, &commit.reply],
        )?
        .map_or(0, |r| r.get(0));
    if recorded == 0 {
        return Err(StoreError::AlreadyRecorded {
            client_id: commit.client_id.clone(),
            mutation_id: commit.mutation_id,
        });
    }
    let keep = i64::try_from(retention.dedupe_per_client).unwrap_or(i64::MAX);
    if keep == 0 {
        s.exec(
            "DELETE FROM dedupe WHERE client_id = $1",
            &[&commit.client_id],
        )?;
    } else {
        s.exec(
            "DELETE FROM dedupe WHERE client_id = $1 AND mutation_id < (
                 SELECT mutation_id FROM dedupe WHERE client_id = $1
                 ORDER BY mutation_id DESC LIMIT 1 OFFSET $2)",
            &[&commit.client_id, &(keep - 1)],
        )?;
    }
    clients::after_commit(s, commit)?;
    Ok(new_head)
}
