//! The durable side of the client: an IndexedDB database holding, per client id, the outbox,
//! the cached confirmed documents and each channel's resume point.
//!
//! Schema (the object stores below; opening adds missing ones with a version upgrade, and opens
//! a database that a newer build upgraded at its version):
//!
//! | store | key | value |
//! |---|---|---|
//! | `clients` | client id | `{ clientId, lastMutationId, updatedAt }` |
//! | `outbox` | `[clientId, first mutationId]` | a chunk of pending mutations: `{ ids, text }`, their ids ascending and their JSON texts joined by `"\n"` (an earlier build's row: one mutation, keyed by its id, as text or object) |
//! | `docs` | `[clientId, channel, seq]` | a chunk of a channel's confirmed documents: `{ seq, ids, text, removed }`, the documents' JSON texts joined by `"\n"` and the ids removed since the chunks before it, applied in `seq` order (an earlier build's row: one document, keyed `[clientId, channel, docId]`, as text or object, older than every chunk) |
//! | `channels` | `[clientId, channel]` | `{ cursor: {epoch, offset} \| null, filterKey }` |
//!
//! Each browser tab is one client id, so two tabs never write the same keys. Every flush of
//! the engine's `Persist` outputs is one readwrite transaction. The new mutations of a flush
//! are stored as one outbox chunk (one record: IndexedDB's cost is mostly per record, so a
//! thousand writes queued in one task commit several times faster than as a thousand records);
//! a chunk that lost some of its mutations (acknowledged, rejected) is stored again without
//! them in the same transaction.
//! Likewise a flush's changes of a channel's cache are one chunk; when a channel has more
//! chunks than 16 (or the square root of its documents) or more stale copies and removals than
//! documents, it is stored again as one chunk. Reading a cache of 1,000 documents is then a
//! few records, not 1,000 (about 10 ms less at start in Chromium here).
//!
//! Outbox entries and documents are stored as JSON text: one string crosses from WASM to
//! JavaScript and IndexedDB clones a string, where an object would cost a call per field and a
//! structured clone of the tree. Rows stored as objects (by earlier builds) read as well. What
//! a flush writes and what a read row means is decided here and in `rows`.
//!
//! The IndexedDB calls themselves are in `db/store.js` and `db/start.js` (loaded by wasm-bindgen beside the
//! module: each of them is a browser call, which costs an import shim and a future state in
//! WASM and nothing in a script), which keeps the rules of the connection: when another
//! connection wants to upgrade the database (`versionchange`) this one closes at once so the
//! upgrade can proceed; when the browser closes it (`close`: storage pressure, Safari dropping
//! idle connections) it is dropped. Either way the next use opens a new one, and a transaction
//! that fails is tried once more on a fresh connection. A partition this `Db` wrote before is
//! checked once per new connection to still be there ([`DbError::PartitionLost`]).

use js_sys::{Array, Function, Promise};
use tether_core::{Persist, PersistedState};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

mod rows;
use rows::{decode_partition, flush_ops};

#[wasm_bindgen(module = "/src/shell/db/store.js")]
extern "C" {
    /// The database as `db/store.js` holds it (its class `Db`).
    type Store;
    #[wasm_bindgen(js_name = openDb)]
    fn open_db(name: &str) -> Promise;
    #[wasm_bindgen(method)]
    fn write(this: &Store, client_id: &str, last_mutation_id: f64, ops: &str) -> Promise;
    #[wasm_bindgen(method, js_name = deleteClient)]
    fn delete_client(this: &Store, client_id: &str) -> Promise;
    #[wasm_bindgen(method)]
    fn forget(this: &Store, client_id: &str);
    #[wasm_bindgen(method)]
    fn close(this: &Store);
}

#[wasm_bindgen(module = "/src/shell/db/start.js")]
extern "C" {
    fn boot(name: &str, want_db: bool) -> Promise;
    fn orphans(db: &Store, db_name: &str, me: &str) -> Promise;
}

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

/// Waits for a promise of `db/store.js`: its rejection is text, or 0 for a lost partition.
async fn settled(promise: Promise) -> Result<JsValue, DbError> {
    JsFuture::from(promise).await.map_err(|e| {
        if e.as_f64() == Some(0.0) {
            DbError::PartitionLost
        } else {
            DbError::Failed(
                e.as_string()
                    .unwrap_or_else(|| "IndexedDB failed".to_owned()),
            )
        }
    })
}

/// The database, reopened when its connection closed or a transaction on it failed; its
/// connection is closed when the last user lets go of it.
pub struct Db {
    store: Store,
}

impl Drop for Db {
    fn drop(&mut self) {
        self.store.close();
    }
}

/// A partition to adopt: its client id, the release of its lock, and what it holds.
pub type Orphan = (
    String,
    Option<Function>,
    Result<Option<PersistedState>, DbError>,
);

/// What a client starts from ([`start`]).
pub struct Booted {
    /// The database (None when it did not open, or memory storage was asked for).
    pub db: Option<Db>,
    /// This tab's client id.
    pub client_id: String,
    /// The release of the client id's lock.
    pub release: Option<Function>,
    /// What the partition holds (a new tab's is seeded from the device's freshest).
    pub restored: Option<PersistedState>,
}

/// A client's start: opens database `name` (when `want_db`), claims this tab's client id (a
/// new one when the database does not open: the stored partition cannot be read, so the new
/// id's mutation ids never collide with stored ones, and the old partition is adopted once the
/// database opens) and reads its partition; a new tab (no partition of its own yet) starts
/// from the freshest cache of this device, copied to its own partition first, so that it shows
/// what the device holds at once, also while the server is unreachable.
pub async fn start(name: &str, want_db: bool) -> Booted {
    let booted = JsFuture::from(boot(name, want_db))
        .await
        .map(|b| Array::from(&b))
        .unwrap_or_default();
    let db = booted.get(0);
    let client_id = booted.get(1).as_string().unwrap_or_default();
    let db = (!db.is_null() && !db.is_undefined()).then(|| Db {
        store: db.unchecked_into(),
    });
    let restored = match &db {
        Some(_) => decode_partition(&client_id, &booted.get(3)).ok().flatten(),
        None => None,
    };
    Booted {
        db,
        release: booted.get(2).dyn_into().ok(),
        client_id,
        restored,
    }
}

/// Opens (creating or upgrading) the database.
pub async fn open(name: &str) -> Result<Db, DbError> {
    let store = settled(open_db(name)).await?;
    Ok(Db {
        store: store.unchecked_into(),
    })
}

impl Db {
    /// Partitions other than `me`'s that no open tab holds and that have writes to send
    /// (partitions without writes are deleted on the way), each locked for this tab: its id,
    /// the release of its lock, and what it holds. Only with Web Locks.
    pub async fn orphans(&self, db_name: &str, me: &str) -> Result<Vec<Orphan>, DbError> {
        let found = settled(orphans(&self.store, db_name, me)).await?;
        Ok(Array::from(&found)
            .iter()
            .map(|entry| {
                let entry = Array::from(&entry);
                let id = entry.get(0).as_string().unwrap_or_default();
                let state = decode_partition(&id, &entry.get(2));
                (id, entry.get(1).dyn_into().ok(), state)
            })
            .collect())
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
        let ops = flush_ops(writes);
        settled(self.store.write(client_id, last_mutation_id as f64, &ops))
            .await
            .map(drop)
    }

    /// Forgets that `client_id`'s partition was written (its next write does not check that
    /// the partition is still there: it stores everything again).
    pub fn forget(&self, client_id: &str) {
        self.store.forget(client_id);
    }

    /// Deletes everything stored for `client_id`.
    pub async fn delete_client(&self, client_id: &str) -> Result<(), DbError> {
        settled(self.store.delete_client(client_id)).await.map(drop)
    }
}
