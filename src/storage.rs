//! IndexedDB key/value storage (see MDN: IndexedDB API), on the shell's own IndexedDB wrapper.
//!
//! One database with one object store; values are JSON documents, stored as JSON text. Every
//! write runs in its own readwrite transaction and resolves only after the transaction
//! completed, so a value reported written is durable in the browser's storage.

use tether_protocol::Json as Value;
use wasm_bindgen::JsValue;
use web_sys::IdbDatabase;

use crate::shell::idb::{self, place, IdbError, Tx};
use crate::shell::json;

/// Name of the single object store.
pub const STORE: &str = "kv";

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StorageError {
    /// IndexedDB refused to open the database (unavailable, blocked, or denied).
    Open {
        /// What IndexedDB reported.
        message: String,
    },
    /// A transaction or request failed or was aborted.
    Transaction {
        /// What IndexedDB reported.
        message: String,
    },
    /// A stored value is not JSON.
    Codec,
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageError::Open { message } => write!(f, "cannot open IndexedDB: {message}"),
            StorageError::Transaction { message } => {
                write!(f, "IndexedDB transaction failed: {message}")
            }
            StorageError::Codec => write!(f, "a stored value is not JSON"),
        }
    }
}

impl std::error::Error for StorageError {}

fn tx_error(err: IdbError) -> StorageError {
    StorageError::Transaction { message: err.0 }
}

/// A key/value store of JSON documents in one IndexedDB database.
#[derive(Debug)]
pub struct Storage {
    db: IdbDatabase,
}

impl Storage {
    /// Open (creating on first use) the database `name`.
    pub async fn open(name: &str) -> Result<Storage, StorageError> {
        let db = idb::open(name, &[STORE])
            .await
            .map_err(|err| StorageError::Open { message: err.0 })?;
        Ok(Storage { db })
    }

    /// Write `value` under `key` and wait until the transaction has completed.
    pub async fn put(&self, key: &str, value: &Value) -> Result<(), StorageError> {
        let mut text = Vec::new();
        json::write_value(&mut text, value);
        let text = String::from_utf8(text).map_err(|_| StorageError::Codec)?;
        let tx = Tx::start(&self.db, &[STORE], true).map_err(tx_error)?;
        let store = tx.store(STORE).map_err(tx_error)?;
        idb::fire(store.put_with_key(&JsValue::from_str(&text), &JsValue::from_str(key)))
            .map_err(tx_error)?;
        tx.done().await.map_err(tx_error)
    }

    /// Read the value under `key`, `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Value>, StorageError> {
        let tx = Tx::start(&self.db, &[STORE], false).map_err(tx_error)?;
        let store = tx.store(STORE).map_err(tx_error)?;
        let found = place(store.get(&JsValue::from_str(key)))
            .map_err(tx_error)?
            .result()
            .await
            .map_err(tx_error)?;
        tx.done().await.map_err(tx_error)?;
        if found.is_undefined() {
            return Ok(None);
        }
        let text = found.as_string().ok_or(StorageError::Codec)?;
        json::parse_value(&text)
            .map(Some)
            .ok_or(StorageError::Codec)
    }

    /// Number of records in the store.
    pub async fn count(&self) -> Result<u32, StorageError> {
        let tx = Tx::start(&self.db, &[STORE], false).map_err(tx_error)?;
        let store = tx.store(STORE).map_err(tx_error)?;
        let n = place(store.count())
            .map_err(tx_error)?
            .result()
            .await
            .map_err(tx_error)?;
        tx.done().await.map_err(tx_error)?;
        Ok(n.as_f64().unwrap_or(0.0) as u32)
    }

    /// Close the connection to the database.
    pub fn close(self) {
        self.db.close();
    }

    /// Delete the database `name` (all its stores).
    pub async fn delete(name: &str) -> Result<(), StorageError> {
        idb::delete(name).await.map_err(tx_error)
    }
}
