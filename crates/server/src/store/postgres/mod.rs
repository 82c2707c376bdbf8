//! The PostgreSQL [`Store`] (feature `postgres`): the same schema and semantics as the SQLite
//! store, meant as the source of truth of the coming cluster mode, where several servers
//! write one database.
//!
//! # A worker thread per store
//!
//! The sync `postgres` client blocks on a tokio runtime of its own, which panics when called
//! from inside another runtime, and the server's engine thread runs inside a tokio
//! current-thread runtime. So a [`PgStore`] owns a dedicated worker thread that holds the
//! connection (`worker.rs`): each [`Store`] call is sent to it as a job over a std channel and
//! waited for. Calls stay in order and one at a time, as on SQLite.
//!
//! # Transactions
//!
//! Outside a batch every [`Store::commit`] is its own transaction. Inside a batch
//! ([`Store::begin_batch`]) the first write opens one transaction, each commit runs in a
//! `SAVEPOINT` (a failing one is rolled back alone), and [`Store::end_batch`] commits them all
//! at once: nothing of the batch is visible to other connections, or durable, before — except
//! that one transaction locks channel heads in ascending channel order only, and none after a
//! row shared between clients (no deadlock between two batches over heads): a commit of a
//! channel below a head the transaction holds, or after such a row, first commits the batch's
//! writes so far and continues in a new transaction
//! (`Session::write_locking`); the engine still sends nothing of the batch before `end_batch`.
//! Should
//! the transaction itself be lost (the connection drops, or a statement fails outside a
//! savepoint), the batch is marked aborted: its later commits and `end_batch` fail with
//! [`StoreError::BatchAborted`]. A lost connection is reopened by the next call outside a
//! batch (after checking that the database still has the same epoch).
//!
//! # Several writers
//!
//! Offsets stay gap-free and unique with several stores writing one channel: a commit locks
//! the channel's head row (`FOR UPDATE`) and fails with [`StoreError::OffsetMismatch`] unless
//! its offset is that head + 1 (see `commit.rs`). The schema is created once under an advisory
//! lock (`schema.rs`).

mod clients;
mod commit;
mod reads;
mod schema;
mod session;
mod worker;

use std::str::FromStr;
use std::time::Duration;

use tether_protocol::Document;

pub use schema::SCHEMA_VERSION;

use super::{ChannelHead, Commit, Dedupe, LogEntry, Retention, Store, StoreError, StoredDoc};
use session::Session;
use worker::Worker;

/// How long opening a connection may take unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`] in a PostgreSQL database.
pub struct PgStore {
    worker: Worker,
    epoch: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt {
        message: format!("{v} does not fit in PostgreSQL's BIGINT"),
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

fn random_epoch() -> Result<String, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Backend {
        message: format!("no randomness for the epoch: {e}"),
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Parses a connection URL (`postgres://user@127.0.0.1:5432/db`, or the key=value form).
pub fn parse_url(url: &str) -> Result<postgres::Config, StoreError> {
    postgres::Config::from_str(url).map_err(|e| StoreError::Backend {
        message: format!("invalid PostgreSQL URL: {e}"),
    })
}

impl PgStore {
    /// Connects to the database at `url` (see [`parse_url`]) and creates the schema (and the
    /// epoch) if missing.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::connect(parse_url(url)?)
    }

    /// Connects with a parsed configuration and creates the schema (and the epoch) if missing.
    pub fn connect(mut config: postgres::Config) -> Result<PgStore, StoreError> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let epoch_if_new = random_epoch()?;
        let (worker, epoch) = Worker::start(move || {
            let mut session = Session::connect(config)?;
            let epoch = schema::init(&mut session, epoch_if_new)?;
            session.set_epoch(epoch.clone());
            Ok((session, epoch))
        })?;
        Ok(PgStore { worker, epoch })
    }
}

impl Store for PgStore {
    fn epoch(&self) -> &str {
        &self.epoch
    }

    fn channel_head(&mut self, channel: &str) -> Result<ChannelHead, StoreError> {
        let channel = channel.to_owned();
        self.worker
            .call(move |s| s.read(|s| reads::channel_head(s, &channel)))
    }

    fn document(&mut self, channel: &str, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        let (channel, id) = (channel.to_owned(), id.to_owned());
        self.worker
            .call(move |s| s.read(|s| reads::document(s, &channel, &id)))
    }

    fn snapshot_page(
        &mut self,
        channel: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Document>, StoreError> {
        let (channel, after) = (channel.to_owned(), after.map(str::to_owned));
        self.worker
            .call(move |s| s.read(|s| reads::snapshot_page(s, &channel, after.as_deref(), limit)))
    }

    fn log_after(
        &mut self,
        channel: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let channel = channel.to_owned();
        self.worker
            .call(move |s| s.read(|s| reads::log_after(s, &channel, after, limit)))
    }

    fn log_before(
        &mut self,
        channel: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let channel = channel.to_owned();
        self.worker
            .call(move |s| s.read(|s| reads::log_before(s, &channel, before, limit)))
    }

    fn dedupe(&mut self, client_id: &str, mutation_id: u64) -> Result<Dedupe, StoreError> {
        let client_id = client_id.to_owned();
        self.worker
            .call(move |s| s.read(|s| reads::dedupe(s, &client_id, mutation_id)))
    }

    fn commit(&mut self, commit: &Commit) -> Result<Option<ChannelHead>, StoreError> {
        let commit = commit.clone();
        self.worker.call(move |s| match &commit.change {
            Some(change) => {
                let channel = change.channel.clone();
                s.write_locking(&channel, |s| commit::write(s, &commit))
            }
            None => s.write(|s| commit::write(s, &commit)),
        })
    }

    fn client_subject(&mut self, client_id: &str) -> Result<Option<String>, StoreError> {
        let client_id = client_id.to_owned();
        self.worker
            .call(move |s| s.read(|s| clients::subject(s, &client_id)))
    }

    fn bind_client(
        &mut self,
        client_id: &str,
        subject: &str,
        retention: &Retention,
        unix_ms: u64,
    ) -> Result<String, StoreError> {
        let (client_id, subject, retention) =
            (client_id.to_owned(), subject.to_owned(), *retention);
        self.worker
            .call(move |s| s.write(|s| clients::bind(s, &client_id, &subject, &retention, unix_ms)))
    }

    fn lock_head(&mut self, channel: &str) -> Result<ChannelHead, StoreError> {
        // A write: in a batch, a savepoint whose row lock outlives its release (until the
        // batch's COMMIT, or the COMMIT before a lower head, see `Session::write_locking`);
        // outside one, a transaction of its own (locked only while it runs).
        let channel = channel.to_owned();
        self.worker
            .call(move |s| s.write_locking(&channel, |s| commit::lock_head(s, &channel)))
    }

    fn begin_batch(&mut self) -> Result<(), StoreError> {
        self.worker.call(Session::begin_batch)
    }

    fn end_batch(&mut self) -> Result<(), StoreError> {
        self.worker.call(Session::end_batch)
    }

    fn check_writable(&mut self) -> Result<(), StoreError> {
        self.worker.call(Session::probe_write)
    }
}
