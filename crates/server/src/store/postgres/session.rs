//! The connection of a [`super::PgStore`] on its worker thread: prepared statements, the
//! batch (group commit) state, transactions and savepoints, reconnecting after a lost
//! connection, and the health probe.

use std::collections::{BTreeSet, HashMap};

use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Row, Statement};

use crate::store::StoreError;

/// Parameters of one statement.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Where the connection stands with respect to a batch (group commit).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Batch {
    /// No batch: each write is its own transaction.
    Off,
    /// A batch is open but has no write yet: its transaction begins with the first one.
    Pending,
    /// The batch's transaction is open.
    Open,
    /// A failure undid the batch's transaction; the message says which.
    Aborted(String),
}

/// Begins a transaction. Read committed explicitly: each statement sees what other writers
/// committed before it, which the channel head's `FOR UPDATE` relies on (see `commit.rs`).
const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";
const SAVEPOINT_OPEN: &str = "SAVEPOINT tether_commit";
const SAVEPOINT_RELEASE: &str = "RELEASE SAVEPOINT tether_commit";
const SAVEPOINT_UNDO: &str = "ROLLBACK TO SAVEPOINT tether_commit; RELEASE SAVEPOINT tether_commit";

/// The health probe: a real write that waits at most 200 ms for another writer's lock.
const PROBE: &str = "BEGIN ISOLATION LEVEL READ COMMITTED;
    SET LOCAL lock_timeout = '200ms';
    SET LOCAL statement_timeout = '2s';
    UPDATE meta SET value = value WHERE key = 'epoch';
    COMMIT";

/// A client error as a store error, with what the server said (or why the connection
/// failed): the client's own `Display` says only "db error".
pub(super) fn backend(err: postgres::Error) -> StoreError {
    use std::error::Error as _;
    let message = match (err.as_db_error(), err.source()) {
        (Some(db), _) => format!("{db} (SQLSTATE {})", db.code().code()),
        (None, Some(source)) => format!("{err}: {source}"),
        (None, None) => err.to_string(),
    };
    StoreError::Backend { message }
}

/// The connection and what belongs to it.
pub(super) struct Session {
    config: Config,
    client: Client,
    /// The epoch read at open; a reconnect that finds another one refuses to go on.
    epoch: String,
    statements: HashMap<&'static str, Statement>,
    batch: Batch,
    /// The channel heads the open batch transaction has locked (see [`Session::write_locking`]).
    heads: BTreeSet<String>,
    /// The open batch transaction has written a row that commits of other clients and
    /// channels write too (see [`Session::wrote_shared_row`]).
    shared: bool,
    /// PostgreSQL said the connection is going away (an administrator's or a shutdown's
    /// termination) before the client noticed the socket closing: reconnect on next use.
    lost: bool,
}

/// Whether PostgreSQL's answer means the connection is gone: class 57P (operator
/// intervention: terminated, shutting down) or class 08 (connection exception). The error can
/// arrive before the client sees the socket close, so `is_closed()` alone would miss it.
fn connection_lost(err: &postgres::Error) -> bool {
    err.code()
        .is_some_and(|c| c.code().starts_with("57P") || c.code().starts_with("08"))
}

impl Session {
    /// Connects (no TLS: the server is meant to reach PostgreSQL on a private network or
    /// loopback).
    pub(super) fn connect(config: Config) -> Result<Session, StoreError> {
        let client = config.connect(NoTls).map_err(backend)?;
        Ok(Session {
            config,
            client,
            epoch: String::new(),
            statements: HashMap::new(),
            batch: Batch::Off,
            heads: BTreeSet::new(),
            shared: false,
            lost: false,
        })
    }

    /// Records the database's epoch, checked again after each reconnect.
    pub(super) fn set_epoch(&mut self, epoch: String) {
        self.epoch = epoch;
    }

    /// The client, reconnected first if the connection was lost (never inside an open
    /// batch transaction: that is lost with the connection, and the batch is aborted).
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if (self.client.is_closed() || self.lost) && self.batch != Batch::Open {
            let client = self.config.connect(NoTls).map_err(backend)?;
            self.client = client;
            self.lost = false;
            self.statements.clear();
            let epoch = self
                .client
                .query_opt("SELECT value FROM meta WHERE key = 'epoch'", &[])
                .map_err(backend)?
                .map(|row| row.get::<_, String>(0));
            if epoch.as_deref() != Some(self.epoch.as_str()) {
                return Err(StoreError::Corrupt {
                    message: format!(
                        "the database's epoch changed while disconnected ({:?}, was {:?})",
                        epoch, self.epoch
                    ),
                });
            }
        }
        Ok(&mut self.client)
    }

    fn prepared(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(stmt) = self.statements.get(sql) {
            if !self.client.is_closed() {
                return Ok(stmt.clone());
            }
        }
        let stmt = self.client()?.prepare(sql).map_err(backend)?;
        self.statements.insert(sql, stmt.clone());
        Ok(stmt)
    }

    /// Runs a statement (prepared once per connection); the rows it changed.
    pub(super) fn exec(&mut self, sql: &'static str, params: Params) -> Result<u64, StoreError> {
        let stmt = self.prepared(sql)?;
        self.client()?.execute(&stmt, params).map_err(backend)
    }

    /// Runs a query (prepared once per connection); its rows.
    pub(super) fn rows(
        &mut self,
        sql: &'static str,
        params: Params,
    ) -> Result<Vec<Row>, StoreError> {
        let stmt = self.prepared(sql)?;
        self.client()?.query(&stmt, params).map_err(backend)
    }

    /// Runs a query of at most one row.
    pub(super) fn row(
        &mut self,
        sql: &'static str,
        params: Params,
    ) -> Result<Option<Row>, StoreError> {
        let stmt = self.prepared(sql)?;
        self.client()?.query_opt(&stmt, params).map_err(backend)
    }

    /// Runs statements without parameters or rows (simple query protocol).
    pub(super) fn simple(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client()?.batch_execute(sql).map_err(backend)
    }

    /// A read. Inside an open batch a failing statement aborts PostgreSQL's transaction (it
    /// refuses every later statement, and its `COMMIT` silently rolls back), so the batch is
    /// marked aborted.
    pub(super) fn read<T>(
        &mut self,
        read: impl FnOnce(&mut Session) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let out = read(self);
        if let Err(err @ StoreError::Backend { .. }) = &out {
            if self.batch == Batch::Open {
                self.abort_batch(&err.to_string());
            }
        }
        out
    }

    /// One atomic write: its own transaction outside a batch, a savepoint of the batch's
    /// transaction inside one.
    pub(super) fn write<T>(
        &mut self,
        write: impl FnOnce(&mut Session) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.batch {
            Batch::Off => {
                self.simple(BEGIN)?;
                let out = write(self).and_then(|v| self.simple("COMMIT").map(|()| v));
                if out.is_err() {
                    self.rollback_all();
                }
                out
            }
            Batch::Aborted(cause) => Err(StoreError::BatchAborted {
                cause: cause.clone(),
            }),
            Batch::Pending => {
                self.simple(BEGIN)?;
                self.batch = Batch::Open;
                self.write_in_batch(write)
            }
            Batch::Open => self.write_in_batch(write),
        }
    }

    /// [`Session::write`] of a write that locks the head of `channel` (a commit of a change,
    /// or [`crate::store::Store::lock_head`]). Inside a batch, one transaction takes the heads
    /// it locks in ascending channel order, and none after a row shared between clients
    /// ([`Session::wrote_shared_row`]), so two nodes' batches never wait for each other's heads
    /// in a cycle: a head below one the transaction already holds, or after a shared row, is
    /// locked in a new transaction, after a `COMMIT` of the batch's writes so far (durable, and
    /// still unanswered: the engine sends nothing of the batch before [`Session::end_batch`]).
    /// That `COMMIT` releases every lock the batch held.
    pub(super) fn write_locking<T>(
        &mut self,
        channel: &str,
        write: impl FnOnce(&mut Session) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.batch == Batch::Open
            && !self.heads.contains(channel)
            && (self.shared || self.heads.last().is_some_and(|top| top.as_str() > channel))
        {
            if let Err(err) = self.simple("COMMIT").and_then(|()| self.simple(BEGIN)) {
                // The batch's writes so far may or may not be durable: it fails as a failed
                // COMMIT at its end does.
                return Err(self.abort_batch(&err.to_string()));
            }
            self.heads.clear();
            self.shared = false;
        }
        let out = self.write(write);
        if out.is_ok() && self.batch == Batch::Open {
            self.heads.insert(channel.to_owned());
        }
        out
    }

    /// Notes that the current write changed a row that is not its client's or its channel's
    /// own (the client count in `meta`, other clients' records in housekeeping): a later head
    /// lock of the batch then starts a new transaction ([`Session::write_locking`]).
    pub(super) fn wrote_shared_row(&mut self) {
        self.shared = true;
    }

    /// One write inside the open batch transaction, in a savepoint.
    fn write_in_batch<T>(
        &mut self,
        write: impl FnOnce(&mut Session) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let written = self
            .simple(SAVEPOINT_OPEN)
            .and_then(|()| write(self))
            .and_then(|v| self.simple(SAVEPOINT_RELEASE).map(|()| v));
        let Err(err) = written else {
            return written;
        };
        // Undo this write only; the batch's earlier writes stay.
        if self.client.is_closed() || self.simple(SAVEPOINT_UNDO).is_err() {
            // The savepoint is gone with the transaction (a lost connection, or we cannot
            // tell what is left of it): the batch's earlier writes are lost.
            self.abort_batch(&err.to_string());
        }
        Err(err)
    }

    /// Starts a batch (its transaction begins lazily with the first write, so a batch without
    /// writes costs nothing).
    pub(super) fn begin_batch(&mut self) -> Result<(), StoreError> {
        if self.batch != Batch::Off {
            return Err(StoreError::BatchAlreadyOpen);
        }
        self.batch = Batch::Pending;
        self.heads.clear();
        self.shared = false;
        Ok(())
    }

    /// Ends the batch: one `COMMIT` for all of its writes.
    pub(super) fn end_batch(&mut self) -> Result<(), StoreError> {
        self.heads.clear();
        self.shared = false;
        match std::mem::replace(&mut self.batch, Batch::Off) {
            Batch::Off | Batch::Pending => Ok(()),
            Batch::Open => self.simple("COMMIT").inspect_err(|_| {
                // Whatever is left open must not be committed later by someone else.
                self.rollback_all();
            }),
            Batch::Aborted(cause) => {
                self.rollback_all();
                Err(StoreError::BatchAborted { cause })
            }
        }
    }

    /// Marks the batch aborted (rolling back what is left of it) and returns the error later
    /// writes of the batch get.
    fn abort_batch(&mut self, cause: &str) -> StoreError {
        self.rollback_all();
        self.heads.clear();
        self.shared = false;
        self.batch = Batch::Aborted(cause.to_owned());
        StoreError::BatchAborted {
            cause: cause.to_owned(),
        }
    }

    /// Rolls back whatever transaction is open (nothing to do on a lost connection: the
    /// server rolled it back).
    fn rollback_all(&mut self) {
        if !self.client.is_closed() {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }

    /// The health probe ([`crate::store::Store::check_writable`]): outside a batch, a real
    /// write transaction (rewrite one row of `meta` unchanged, waiting at most 200 ms for
    /// its lock, committed); reconnects first when the connection was lost, so it reports
    /// PostgreSQL being down and back. Inside a batch whose transaction is open the batch's
    /// own commit will tell; an aborted batch is reported.
    pub(super) fn probe_write(&mut self) -> Result<(), StoreError> {
        match &self.batch {
            Batch::Open => return Ok(()),
            Batch::Aborted(cause) => {
                return Err(StoreError::BatchAborted {
                    cause: cause.clone(),
                })
            }
            Batch::Off | Batch::Pending => {}
        }
        let probed = match self.client()?.batch_execute(PROBE) {
            Ok(()) => Ok(()),
            Err(err) if self.client.is_closed() || connection_lost(&err) => {
                // The connection had gone (a PostgreSQL restart, a terminated backend): the
                // answer is whether a new one can write.
                self.lost = true;
                self.simple(PROBE)
            }
            Err(err) => Err(backend(err)),
        };
        if probed.is_err() {
            self.rollback_all();
        }
        probed
    }
}
