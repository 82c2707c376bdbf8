//! IndexedDB key/value storage through rexie (see MDN: IndexedDB API).
//!
//! One database with one object store; values are JSON documents. Every write runs in its
//! own readwrite transaction and resolves only after the transaction completed, so a value
//! reported written is durable in the browser's storage.

use rexie::{ObjectStore, Rexie, TransactionMode};
use serde_json::Value;
use wasm_bindgen::JsValue;

/// Name of the single object store.
pub const STORE: &str = "kv";

/// Schema version of the database.
pub const SCHEMA_VERSION: u32 = 1;

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StorageError {
    /// IndexedDB refused to open the database (unavailable, blocked, or denied).
    Open {
        /// What rexie reported.
        message: String,
    },
    /// A transaction or request failed or was aborted.
    Transaction {
        /// What rexie reported.
        message: String,
    },
    /// A value could not be converted between JSON and a JavaScript value.
    Codec {
        /// What the converter reported.
        message: String,
    },
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageError::Open { message } => write!(f, "cannot open IndexedDB: {message}"),
            StorageError::Transaction { message } => {
                write!(f, "IndexedDB transaction failed: {message}")
            }
            StorageError::Codec { message } => write!(f, "cannot convert value: {message}"),
        }
    }
}

impl std::error::Error for StorageError {}

fn tx_error(err: rexie::Error) -> StorageError {
    StorageError::Transaction {
        message: format!("{err:?}"),
    }
}

/// A key/value store of JSON documents in one IndexedDB database.
#[derive(Debug)]
pub struct Storage {
    db: Rexie,
}

impl Storage {
    /// Open (creating on first use) the database `name`.
    pub async fn open(name: &str) -> Result<Storage, StorageError> {
        let db = Rexie::builder(name)
            .version(SCHEMA_VERSION)
            .add_object_store(ObjectStore::new(STORE))
            .build()
            .await
            .map_err(|err| StorageError::Open {
                message: format!("{err:?}"),
            })?;
        Ok(Storage { db })
    }

    /// Write `value` under `key` and wait until the transaction has completed.
    pub async fn put(&self, key: &str, value: &Value) -> Result<(), StorageError> {
        let js = to_js(value)?;
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadWrite)
            .map_err(tx_error)?;
        let store = tx.store(STORE).map_err(tx_error)?;
        store
            .put(&js, Some(&JsValue::from_str(key)))
            .await
            .map_err(tx_error)?;
        tx.done().await.map_err(tx_error)?;
        Ok(())
    }

    /// Read the value under `key`, `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Value>, StorageError> {
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadOnly)
            .map_err(tx_error)?;
        let store = tx.store(STORE).map_err(tx_error)?;
        let found = store.get(JsValue::from_str(key)).await.map_err(tx_error)?;
        tx.done().await.map_err(tx_error)?;
        match found {
            None => Ok(None),
            Some(js) if js.is_undefined() => Ok(None),
            Some(js) => from_js(js).map(Some),
        }
    }

    /// Number of records in the store.
    pub async fn count(&self) -> Result<u32, StorageError> {
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadOnly)
            .map_err(tx_error)?;
        let store = tx.store(STORE).map_err(tx_error)?;
        let n = store.count(None).await.map_err(tx_error)?;
        tx.done().await.map_err(tx_error)?;
        Ok(n)
    }

    /// Close the connection to the database.
    pub fn close(self) {
        self.db.close();
    }

    /// Delete the database `name` (all its stores).
    pub async fn delete(name: &str) -> Result<(), StorageError> {
        Rexie::delete(name).await.map_err(tx_error)
    }
}

fn to_js(value: &Value) -> Result<JsValue, StorageError> {
    // Plain objects (not `Map`s), so what is stored is readable from JavaScript as-is.
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    serde::Serialize::serialize(value, &serializer).map_err(|err| StorageError::Codec {
        message: err.to_string(),
    })
}

fn from_js(js: JsValue) -> Result<Value, StorageError> {
    serde_wasm_bindgen::from_value(js).map_err(|err| StorageError::Codec {
        message: err.to_string(),
    })
}
