//! The durable side of the client: an IndexedDB database holding, per client id, the outbox,
//! the cached confirmed documents and each channel's resume point.
//!
//! Schema (the object stores below; [`idb::open`] adds missing ones with a version upgrade,
//! and opens a database that a newer build upgraded at its version):
//!
//! | store | key | value |
//! |---|---|---|
//! | `clients` | client id | `{ clientId, lastMutationId, updatedAt }` |
//! | `outbox` | `[clientId, mutationId]` | a pending mutation, as JSON text |
//! | `docs` | `[clientId, channel, docId]` | a confirmed document, as JSON text |
//! | `channels` | `[clientId, channel]` | `{ cursor: {epoch, offset} \| null, filterKey }` |
//!
//! Each browser tab is one client id, so two tabs never write the same keys. Every flush of
//! the engine's `Persist` outputs is one readwrite transaction.
//!
//! Outbox entries and documents are stored as JSON text: one string crosses from WASM to
//! JavaScript and IndexedDB clones a string, where an object would cost a call per field and a
//! structured clone of the tree. Rows stored as objects (by earlier builds) read as well. Their
//! encoding is `rows::encode_row` / `rows::decode_row`, and nothing else.
//!
//! The connection: when another connection wants to upgrade the database (`versionchange`)
//! this one closes at once so the upgrade can proceed; when the browser closes it (`close`:
//! storage pressure, Safari dropping idle connections) it is dropped. Either way the next use
//! opens a new one, and a transaction that fails is tried once more on a fresh connection.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use tether_core::SortedMap;

use js_sys::Array;
use tether_core::{CachedChannel, Persist, PersistedState};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::IdbDatabase;

use super::idb::{self, fire, place, prefix_range, IdbError, Tx};

mod rows;
use rows::{apply, get, load, s};

const STORES: [&str; 4] = ["clients", "outbox", "docs", "channels"];

/// Why a database call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum DbError {
    /// IndexedDB failed: the `DOMException`'s name and message.
    Failed(String),
    /// The client's partition, written before, is gone (the database was deleted under the
    /// client): nothing was written; store everything the client holds again.
    PartitionLost,
}

impl DbError {
    /// The failure as text.
    pub fn message(self) -> String {
        match self {
            DbError::Failed(message) => message,
            DbError::PartitionLost => "the stored partition was deleted".to_owned(),
        }
    }
}

impl From<IdbError> for DbError {
    fn from(e: IdbError) -> DbError {
        DbError::Failed(e.0)
    }
}

/// One connection and its event handlers.
struct Conn {
    db: IdbDatabase,
    /// Which connection of this `Db` it is (0 for the first).
    generation: u64,
    /// Set when the connection closed (by us on `versionchange`, or by the browser).
    closed: Rc<Cell<bool>>,
    _on_versionchange: Closure<dyn FnMut()>,
    _on_close: Closure<dyn FnMut()>,
}

impl Conn {
    fn new(db: IdbDatabase, generation: u64) -> Conn {
        let closed = Rc::new(Cell::new(false));
        let (flag, closing) = (closed.clone(), db.clone());
        let on_versionchange = Closure::<dyn FnMut()>::new(move || {
            closing.close();
            flag.set(true);
        });
        let flag = closed.clone();
        let on_close = Closure::<dyn FnMut()>::new(move || flag.set(true));
        db.set_onversionchange(Some(on_versionchange.as_ref().unchecked_ref()));
        db.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Conn {
            db,
            generation,
            closed,
            _on_versionchange: on_versionchange,
            _on_close: on_close,
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.set_onclose(None);
        self.db.close();
    }
}

/// The database, reopened when its connection closed or a transaction on it failed.
pub struct Db {
    name: String,
    conn: RefCell<Option<Rc<Conn>>>,
    /// Connections opened so far.
    opened: Cell<u64>,
    /// Per client id: the connection its last write committed on. The first write of a
    /// partition on a newer connection checks that the partition is still there.
    /// (A list: a few client ids, this tab's and those it adopts.)
    written: RefCell<Vec<(String, u64)>>,
}

/// Opens (creating or upgrading) the database.
pub async fn open(name: &str) -> Result<Db, DbError> {
    let db = idb::open(name, &STORES).await?;
    Ok(Db {
        name: name.to_owned(),
        conn: RefCell::new(Some(Rc::new(Conn::new(db, 0)))),
        opened: Cell::new(1),
        written: RefCell::new(Vec::new()),
    })
}

impl Db {
    /// The current connection, opening a new one when it closed.
    async fn connection(&self) -> Result<Rc<Conn>, DbError> {
        let current = self.conn.borrow().clone();
        if let Some(conn) = current.filter(|c| !c.closed.get()) {
            return Ok(conn);
        }
        self.conn.borrow_mut().take();
        let generation = self.opened.get();
        let conn = Rc::new(Conn::new(idb::open(&self.name, &STORES).await?, generation));
        self.opened.set(generation + 1);
        *self.conn.borrow_mut() = Some(conn.clone());
        Ok(conn)
    }

    /// Runs `op` on the connection; if it fails, drops that connection (it may have been closed
    /// by the browser) and runs `op` once more on a new one. Safe for writes: a failed
    /// transaction was aborted, so nothing of it is stored.
    async fn with_retry<T>(
        &self,
        op: impl AsyncFn(&Conn) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let first = self.connection().await?;
        match op(&first).await {
            Ok(value) => Ok(value),
            Err(DbError::PartitionLost) => Err(DbError::PartitionLost),
            Err(_) => {
                {
                    let mut slot = self.conn.borrow_mut();
                    if slot.as_ref().is_some_and(|c| Rc::ptr_eq(c, &first)) {
                        *slot = None;
                    }
                }
                drop(first);
                let second = self.connection().await?;
                op(&second).await
            }
        }
    }

    /// Client ids that have a partition.
    pub async fn client_ids(&self) -> Result<Vec<String>, DbError> {
        self.with_retry(async |conn: &Conn| {
            let tx = Tx::start(&conn.db, &["clients"], false)?;
            let keys = place(tx.store("clients")?.get_all_keys())?.result().await?;
            Ok(Array::from(&keys)
                .iter()
                .filter_map(|k| k.as_string())
                .collect())
        })
        .await
    }

    /// The cached channels of the most recently written partition other than `except`'s (for
    /// a new tab, whose own partition is empty: it shows what the device holds at once).
    pub async fn freshest_channels(
        &self,
        except: &str,
    ) -> Result<SortedMap<String, CachedChannel>, DbError> {
        let rows = self
            .with_retry(async |conn: &Conn| {
                let tx = Tx::start(&conn.db, &["clients"], false)?;
                Ok(place(tx.store("clients")?.get_all())?.result().await?)
            })
            .await?;
        let freshest = Array::from(&rows)
            .iter()
            .filter_map(|row| {
                let id = get(&row, "clientId").as_string()?;
                let at = get(&row, "updatedAt").as_f64().unwrap_or(0.0);
                (id != except).then_some((id, at))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let Some((client_id, _)) = freshest else {
            return Ok(SortedMap::new());
        };
        Ok(self
            .load(&client_id)
            .await?
            .map(|state| state.channels)
            .unwrap_or_default())
    }

    /// Everything stored for `client_id` (None when it has no partition).
    pub async fn load(&self, client_id: &str) -> Result<Option<PersistedState>, DbError> {
        self.with_retry(async |conn: &Conn| load(&conn.db, client_id).await)
            .await
    }

    /// Applies a flush of engine writes for `client_id` in one readwrite transaction, which
    /// has committed when this returns `Ok`; on any failure it is aborted, so nothing of the
    /// flush is stored. [`DbError::PartitionLost`] when the partition this `Db` wrote before is
    /// gone (checked once per new connection).
    pub async fn write(
        &self,
        client_id: &str,
        last_mutation_id: u64,
        writes: &[Persist],
    ) -> Result<(), DbError> {
        self.with_retry(async |conn: &Conn| {
            let tx = Tx::start(&conn.db, &STORES, true)?;
            let check = self
                .written
                .borrow()
                .iter()
                .any(|(id, g)| id == client_id && *g != conn.generation);
            if check {
                let row = place(tx.store("clients")?.get(&s(client_id)))?;
                if row.result().await?.is_undefined() {
                    tx.abort();
                    return Err(DbError::PartitionLost);
                }
            }
            match apply(&tx, client_id, last_mutation_id, writes) {
                Ok(()) => {
                    tx.done().await?;
                    self.wrote(client_id, conn.generation);
                    Ok(())
                }
                Err(error) => {
                    tx.abort();
                    Err(error)
                }
            }
        })
        .await
    }

    /// Forgets that `client_id`'s partition was written (its next write does not check that
    /// the partition is still there: it stores everything again).
    pub fn forget(&self, client_id: &str) {
        self.written.borrow_mut().retain(|(id, _)| id != client_id);
    }

    /// Records that `client_id`'s partition was written on connection `generation`.
    fn wrote(&self, client_id: &str, generation: u64) {
        let mut written = self.written.borrow_mut();
        match written.iter_mut().find(|(id, _)| id == client_id) {
            Some(entry) => entry.1 = generation,
            None => written.push((client_id.to_owned(), generation)),
        }
    }

    /// Deletes everything stored for `client_id`.
    pub async fn delete_client(&self, client_id: &str) -> Result<(), DbError> {
        self.forget(client_id);
        self.with_retry(async |conn: &Conn| {
            let tx = Tx::start(&conn.db, &STORES, true)?;
            let placed = (|| {
                let range = prefix_range(&[s(client_id)])?;
                for store in ["outbox", "docs", "channels"] {
                    fire(tx.store(store)?.delete(&range))?;
                }
                fire(tx.store("clients")?.delete(&s(client_id)))?;
                Ok::<(), IdbError>(())
            })();
            match placed {
                Ok(()) => Ok(tx.done().await?),
                Err(error) => {
                    tx.abort();
                    Err(error.into())
                }
            }
        })
        .await
    }
}
