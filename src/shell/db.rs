//! The durable side of the client: an IndexedDB database (through rexie) holding, per client
//! id, the outbox, the cached confirmed documents and each channel's resume point.
//!
//! Schema (version 1; a later version adds stores or indexes in [`open`]):
//!
//! | store | key | value |
//! |---|---|---|
//! | `clients` | client id | `{ clientId, lastMutationId }` |
//! | `outbox` | `[clientId, mutationId]` | a pending mutation, as JSON text |
//! | `docs` | `[clientId, channel, docId]` | a confirmed document, as JSON text |
//! | `channels` | `[clientId, channel]` | `{ cursor, filterKey }` |
//!
//! Each browser tab is one client id, so two tabs never write the same keys. Every flush of
//! the engine's `Persist` outputs is one readwrite transaction.
//!
//! Outbox entries and documents are stored as JSON text: one string crosses from WASM to
//! JavaScript and IndexedDB clones a string, where an object would cost a call per field and a
//! structured clone of the tree. Rows stored as objects (by earlier builds) read as well.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::Array;
use rexie::{KeyRange, ObjectStore, Rexie, Transaction, TransactionMode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tether_core::{CachedChannel, PendingMutation, Persist, PersistedState};
use tether_protocol::{Document, Since};
use wasm_bindgen::JsValue;

use super::convert::to_js;

const VERSION: u32 = 1;
const STORES: [&str; 4] = ["clients", "outbox", "docs", "channels"];

/// An IndexedDB failure, as text (rexie's errors carry no more than that).
#[derive(Debug, Clone, PartialEq)]
pub struct DbError(pub String);

impl From<rexie::Error> for DbError {
    fn from(e: rexie::Error) -> DbError {
        DbError(format!("{e:?}"))
    }
}

impl From<serde_wasm_bindgen::Error> for DbError {
    fn from(e: serde_wasm_bindgen::Error) -> DbError {
        DbError(e.to_string())
    }
}

/// A row as JSON text.
fn text_row<T: Serialize>(value: &T) -> Result<JsValue, DbError> {
    serde_json::to_string(value)
        .map(|text| JsValue::from_str(&text))
        .map_err(|e| DbError(e.to_string()))
}

/// A row stored as JSON text, or as an object by an earlier build.
fn read_row<T: DeserializeOwned>(value: JsValue) -> Result<T, DbError> {
    match value.as_string() {
        Some(text) => serde_json::from_str(&text).map_err(|e| DbError(e.to_string())),
        None => Ok(serde_wasm_bindgen::from_value(value)?),
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientRow {
    client_id: String,
    last_mutation_id: u64,
    /// When the partition was last written (ms since the Unix epoch; 0 in rows of earlier
    /// builds): a new tab seeds its views from the freshest cache.
    #[serde(default)]
    updated_at: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelRow {
    cursor: Option<Since>,
    filter_key: String,
}

/// The database, reopened when the browser closed its connection (storage pressure, a
/// `versionchange`, Safari dropping idle connections): a transaction that cannot start or
/// fails is tried once more on a fresh connection before the error is reported.
pub struct Db {
    name: String,
    rexie: RefCell<Option<Rc<Rexie>>>,
}

fn key(parts: &[JsValue]) -> JsValue {
    parts.iter().collect::<Array>().into()
}

fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

fn n(number: u64) -> JsValue {
    JsValue::from_f64(number as f64)
}

/// Every key from `lower` to `upper`, both included.
fn key_range(lower: &JsValue, upper: &JsValue) -> Result<KeyRange, DbError> {
    KeyRange::bound(lower, upper, Some(false), Some(false)).map_err(|e| DbError(format!("{e:?}")))
}

/// Every key that starts with `prefix` (arrays sort above strings and numbers in IndexedDB).
fn prefix_range(prefix: &[JsValue]) -> Result<KeyRange, DbError> {
    let mut upper: Vec<JsValue> = prefix.to_vec();
    upper.push(Array::new().into());
    key_range(&key(prefix), &key(&upper))
}

/// Opens (creating or upgrading) the database.
pub async fn open(name: &str) -> Result<Db, DbError> {
    let rexie = connect(name).await?;
    Ok(Db {
        name: name.to_owned(),
        rexie: RefCell::new(Some(Rc::new(rexie))),
    })
}

async fn connect(name: &str) -> Result<Rexie, DbError> {
    let mut builder = Rexie::builder(name).version(VERSION);
    for store in STORES {
        builder = builder.add_object_store(ObjectStore::new(store));
    }
    Ok(builder.build().await?)
}

impl Db {
    /// The current connection, opening a new one after a failure.
    async fn connection(&self) -> Result<Rc<Rexie>, DbError> {
        let current = self.rexie.borrow().clone();
        if let Some(rexie) = current {
            return Ok(rexie);
        }
        let rexie = Rc::new(connect(&self.name).await?);
        *self.rexie.borrow_mut() = Some(rexie.clone());
        Ok(rexie)
    }

    /// Runs `op` on the connection; if it fails, drops that connection (it may have been closed
    /// by the browser) and runs `op` once more on a new one. Safe for writes: a failed
    /// transaction was aborted, so nothing of it is stored.
    async fn with_retry<T>(
        &self,
        op: impl AsyncFn(&Rexie) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let first = self.connection().await?;
        match op(&first).await {
            Ok(value) => Ok(value),
            Err(_) => {
                {
                    let mut slot = self.rexie.borrow_mut();
                    if slot.as_ref().is_some_and(|r| Rc::ptr_eq(r, &first)) {
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
        self.with_retry(async |rexie: &Rexie| {
            let tx = rexie.transaction(&["clients"], TransactionMode::ReadOnly)?;
            let keys = tx.store("clients")?.get_all_keys(None, None).await?;
            Ok(keys.into_iter().filter_map(|k| k.as_string()).collect())
        })
        .await
    }

    /// The cached channels of the most recently written partition other than `except`'s (for
    /// a new tab, whose own partition is empty: it shows what the device holds at once).
    pub async fn freshest_channels(
        &self,
        except: &str,
    ) -> Result<BTreeMap<String, CachedChannel>, DbError> {
        let rows = self
            .with_retry(async |rexie: &Rexie| {
                let tx = rexie.transaction(&["clients"], TransactionMode::ReadOnly)?;
                let values = tx.store("clients")?.get_all(None, None).await?;
                values
                    .into_iter()
                    .map(|v| Ok(serde_wasm_bindgen::from_value::<ClientRow>(v)?))
                    .collect::<Result<Vec<_>, DbError>>()
            })
            .await?;
        let freshest = rows
            .into_iter()
            .filter(|r| r.client_id != except)
            .max_by(|a, b| a.updated_at.total_cmp(&b.updated_at));
        let Some(row) = freshest else {
            return Ok(BTreeMap::new());
        };
        Ok(self
            .load(&row.client_id)
            .await?
            .map(|state| state.channels)
            .unwrap_or_default())
    }

    /// Everything stored for `client_id` (None when it has no partition).
    pub async fn load(&self, client_id: &str) -> Result<Option<PersistedState>, DbError> {
        self.with_retry(async |rexie: &Rexie| load(rexie, client_id).await)
            .await
    }

    /// Applies a flush of engine writes for `client_id` in one readwrite transaction, which
    /// has committed when this returns `Ok`; on any failure it is aborted, so nothing of the
    /// flush is stored.
    pub async fn write(
        &self,
        client_id: &str,
        last_mutation_id: u64,
        writes: &[Persist],
    ) -> Result<(), DbError> {
        self.with_retry(async |rexie: &Rexie| {
            let tx = rexie.transaction(&STORES, TransactionMode::ReadWrite)?;
            match apply(&tx, client_id, last_mutation_id, writes).await {
                Ok(()) => {
                    tx.done().await?;
                    Ok(())
                }
                Err(error) => {
                    let _ = tx.abort().await;
                    Err(error)
                }
            }
        })
        .await
    }

    /// Deletes everything stored for `client_id`.
    pub async fn delete_client(&self, client_id: &str) -> Result<(), DbError> {
        self.with_retry(async |rexie: &Rexie| {
            let tx = rexie.transaction(&STORES, TransactionMode::ReadWrite)?;
            let range = || prefix_range(&[s(client_id)]);
            tx.store("outbox")?.delete(range()?.into()).await?;
            tx.store("docs")?.delete(range()?.into()).await?;
            tx.store("channels")?.delete(range()?.into()).await?;
            tx.store("clients")?.delete(s(client_id)).await?;
            tx.done().await?;
            Ok(())
        })
        .await
    }
}

/// Everything stored for `client_id` (None when it has no partition).
async fn load(rexie: &Rexie, client_id: &str) -> Result<Option<PersistedState>, DbError> {
    let tx = rexie.transaction(&STORES, TransactionMode::ReadOnly)?;
    let Some(row) = tx.store("clients")?.get(s(client_id)).await? else {
        return Ok(None);
    };
    let row: ClientRow = serde_wasm_bindgen::from_value(row)?;
    let mut state = PersistedState {
        client_id: row.client_id,
        last_mutation_id: row.last_mutation_id,
        outbox: BTreeMap::new(),
        channels: BTreeMap::new(),
    };
    let prefix = [s(client_id)];
    for value in tx
        .store("outbox")?
        .get_all(Some(prefix_range(&prefix)?), None)
        .await?
    {
        let mutation: PendingMutation = read_row(value)?;
        state.outbox.insert(mutation.mutation_id, mutation);
    }
    // Keys and values in two bulk requests (same range, same order, one transaction): a
    // cursor would cost one round trip per record.
    for (k, value) in scan_all(&tx.store("channels")?, &prefix).await? {
        let channel = Array::from(&k).get(1).as_string().unwrap_or_default();
        let row: ChannelRow = serde_wasm_bindgen::from_value(value)?;
        state.channels.insert(
            channel,
            CachedChannel {
                documents: BTreeMap::new(),
                cursor: row.cursor,
                filter_key: row.filter_key,
            },
        );
    }
    for (k, value) in scan_all(&tx.store("docs")?, &prefix).await? {
        let channel = Array::from(&k).get(1).as_string().unwrap_or_default();
        let doc: Document = read_row(value)?;
        state
            .channels
            .entry(channel)
            .or_default()
            .documents
            .insert(doc.id.clone(), doc);
    }
    Ok(Some(state))
}

async fn apply(
    tx: &Transaction,
    client_id: &str,
    last_mutation_id: u64,
    writes: &[Persist],
) -> Result<(), DbError> {
    // IndexedDB runs a transaction's requests in the order they were placed, and a failed one
    // aborts the transaction (reported by `done`). So runs of puts are placed together and only
    // the last is awaited (`put_all`), and runs of consecutive outbox ids are deleted as one
    // key range: a flush of 1,000 writes costs a few round trips instead of 1,000.
    let clients = tx.store("clients")?;
    let outbox = tx.store("outbox")?;
    let docs = tx.store("docs")?;
    let channels = tx.store("channels")?;
    let cid = s(client_id);
    // The client row is written with every flush: it records when the partition was written.
    let mut i = 0;
    while i < writes.len() {
        match &writes[i] {
            Persist::ClientId { .. } => {
                i += 1;
            }
            Persist::OutboxPut { .. } => {
                let run = writes[i..]
                    .iter()
                    .map_while(|w| match w {
                        Persist::OutboxPut { mutation } => Some(mutation),
                        _ => None,
                    })
                    .collect::<Vec<_>>();
                i += run.len();
                let rows = run
                    .into_iter()
                    .map(|mutation| {
                        let k = key(&[cid.clone(), n(mutation.mutation_id)]);
                        Ok((text_row(mutation)?, Some(k)))
                    })
                    .collect::<Result<Vec<_>, DbError>>()?;
                outbox.put_all(rows.into_iter()).await?;
            }
            Persist::OutboxRemove { .. } => {
                let ids = writes[i..]
                    .iter()
                    .map_while(|w| match w {
                        Persist::OutboxRemove { mutation_id } => Some(*mutation_id),
                        _ => None,
                    })
                    .collect::<Vec<_>>();
                i += ids.len();
                for (first, last) in consecutive_runs(&ids) {
                    let lower = key(&[cid.clone(), n(first)]);
                    if first == last {
                        outbox.delete(lower).await?;
                    } else {
                        let upper = key(&[cid.clone(), n(last)]);
                        outbox.delete(key_range(&lower, &upper)?.into()).await?;
                    }
                }
            }
            Persist::Channel(delta) => {
                i += 1;
                let channel = s(&delta.channel);
                if delta.replace {
                    let range = prefix_range(&[cid.clone(), channel.clone()])?;
                    docs.delete(range.into()).await?;
                }
                for id in &delta.removes {
                    docs.delete(key(&[cid.clone(), channel.clone(), s(id)]))
                        .await?;
                }
                let rows = delta
                    .upserts
                    .iter()
                    .map(|doc| {
                        let k = key(&[cid.clone(), channel.clone(), s(&doc.id)]);
                        Ok((text_row(doc)?, Some(k)))
                    })
                    .collect::<Result<Vec<_>, DbError>>()?;
                docs.put_all(rows.into_iter()).await?;
                let row = ChannelRow {
                    cursor: delta.cursor.clone(),
                    filter_key: delta.filter_key.clone(),
                };
                channels
                    .put(&to_js(&row), Some(&key(&[cid.clone(), channel])))
                    .await?;
            }
        }
    }
    {
        let row = ClientRow {
            client_id: client_id.to_owned(),
            last_mutation_id,
            updated_at: js_sys::Date::now(),
        };
        clients.put(&to_js(&row), Some(&cid)).await?;
    }
    Ok(())
}

/// `ids` as maximal runs of consecutive integers `(first, last)`, in the given order.
fn consecutive_runs(ids: &[u64]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &id in ids {
        match runs.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(id) => *last = id,
            _ => runs.push((id, id)),
        }
    }
    runs
}

/// Every `(key, value)` of `store` under `prefix`, in key order.
async fn scan_all(
    store: &rexie::Store,
    prefix: &[JsValue],
) -> Result<Vec<(JsValue, JsValue)>, DbError> {
    let keys = store
        .get_all_keys(Some(prefix_range(prefix)?), None)
        .await?;
    let values = store.get_all(Some(prefix_range(prefix)?), None).await?;
    Ok(keys.into_iter().zip(values).collect())
}
