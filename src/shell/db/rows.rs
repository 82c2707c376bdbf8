//! The stored rows: how each record of the schema (see the parent module) is encoded, and
//! reading a partition and placing a flush's requests.

use tether_core::SortedMap;

use js_sys::{Array, Object, Reflect};
use tether_core::stored::{document_from_json_text, document_to_json_text};
use tether_core::{CachedChannel, PendingMutation, Persist, PersistedState};
use tether_protocol::{Document, Since};
use wasm_bindgen::JsValue;
use web_sys::IdbDatabase;

use super::{DbError, STORES};
use crate::shell::idb::{fire, key, key_range, place, prefix_range, Tx};

/// The text of a stored row: JSON text, or (stored by an earlier build) an object.
fn row_text(value: &JsValue) -> String {
    match value.as_string() {
        Some(text) => text,
        None => js_sys::JSON::stringify(value)
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
    }
}

/// An outbox row: the mutation's stored text (`tether_core::stored`).
fn encode_mutation(mutation: &PendingMutation) -> JsValue {
    JsValue::from_str(&mutation.to_json_text())
}

/// A stored outbox row.
fn decode_mutation(value: &JsValue) -> Result<PendingMutation, DbError> {
    PendingMutation::from_json_text(&row_text(value))
        .map_err(|_| DbError::Failed("a stored mutation does not decode".into()))
}

/// A document row: the document's stored text (`tether_core::stored`).
fn encode_doc(doc: &Document) -> JsValue {
    JsValue::from_str(&document_to_json_text(doc))
}

/// A stored document row.
fn decode_doc(value: &JsValue) -> Result<Document, DbError> {
    document_from_json_text(&row_text(value))
        .map_err(|_| DbError::Failed("a stored document does not decode".into()))
}

pub fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

fn n(number: u64) -> JsValue {
    JsValue::from_f64(number as f64)
}

pub fn get(object: &JsValue, field: &str) -> JsValue {
    Reflect::get(object, &s(field)).unwrap_or(JsValue::UNDEFINED)
}

fn set(object: &Object, field: &str, value: &JsValue) {
    let _ = Reflect::set(object, &s(field), value);
}

/// The `clients` row.
fn client_row(client_id: &str, last_mutation_id: u64, updated_at: f64) -> JsValue {
    let row = Object::new();
    set(&row, "clientId", &s(client_id));
    set(&row, "lastMutationId", &n(last_mutation_id));
    set(&row, "updatedAt", &JsValue::from_f64(updated_at));
    row.into()
}

/// The `channels` row.
fn channel_row(cursor: Option<&Since>, filter_key: &str) -> JsValue {
    let row = Object::new();
    let cursor = match cursor {
        Some(since) => {
            let c = Object::new();
            set(&c, "epoch", &s(&since.epoch));
            set(&c, "offset", &n(since.offset));
            c.into()
        }
        None => JsValue::NULL,
    };
    set(&row, "cursor", &cursor);
    set(&row, "filterKey", &s(filter_key));
    row.into()
}

fn read_channel_row(row: &JsValue) -> Result<(Option<Since>, String), DbError> {
    let cursor = get(row, "cursor");
    let cursor = if cursor.is_object() {
        let epoch = get(&cursor, "epoch").as_string();
        let offset = get(&cursor, "offset").as_f64();
        match (epoch, offset) {
            (Some(epoch), Some(offset)) if offset >= 0.0 => Some(Since {
                epoch,
                offset: offset as u64,
            }),
            _ => return Err(DbError::Failed("a stored cursor does not decode".into())),
        }
    } else {
        None
    };
    Ok((
        cursor,
        get(row, "filterKey").as_string().unwrap_or_default(),
    ))
}

/// Everything stored for `client_id` (None when it has no partition).
pub async fn load(db: &IdbDatabase, client_id: &str) -> Result<Option<PersistedState>, DbError> {
    let tx = Tx::start(db, &STORES, false)?;
    let prefix = [s(client_id)];
    let range = prefix_range(&prefix)?;
    // Every request placed at once (they run in order in one transaction); keys and values
    // in bulk requests of the same range, where a cursor would cost a round trip per record.
    let row = place(tx.store("clients")?.get(&s(client_id)))?;
    let outbox = place(tx.store("outbox")?.get_all_with_key(&range))?;
    let channels = tx.store("channels")?;
    let channel_keys = place(channels.get_all_keys_with_key(&range))?;
    let channel_rows = place(channels.get_all_with_key(&range))?;
    let docs = tx.store("docs")?;
    let doc_keys = place(docs.get_all_keys_with_key(&range))?;
    let doc_rows = place(docs.get_all_with_key(&range))?;

    let row = row.result().await?;
    let outbox = outbox.result().await?;
    let (channel_keys, channel_rows) = (channel_keys.result().await?, channel_rows.result().await?);
    let (doc_keys, doc_rows) = (doc_keys.result().await?, doc_rows.result().await?);
    if row.is_undefined() || row.is_null() {
        return Ok(None);
    }
    let mut state = PersistedState {
        client_id: get(&row, "clientId")
            .as_string()
            .unwrap_or_else(|| client_id.to_owned()),
        last_mutation_id: get(&row, "lastMutationId").as_f64().unwrap_or(0.0) as u64,
        outbox: SortedMap::new(),
        channels: SortedMap::new(),
    };
    for value in Array::from(&outbox).iter() {
        let mutation = decode_mutation(&value)?;
        state.outbox.insert(mutation.mutation_id, mutation);
    }
    let channel_of = |k: &JsValue| Array::from(k).get(1).as_string().unwrap_or_default();
    for (k, value) in Array::from(&channel_keys)
        .iter()
        .zip(Array::from(&channel_rows).iter())
    {
        let (cursor, filter_key) = read_channel_row(&value)?;
        state.channels.insert(
            channel_of(&k),
            CachedChannel {
                documents: SortedMap::new(),
                cursor,
                filter_key,
            },
        );
    }
    for (k, value) in Array::from(&doc_keys)
        .iter()
        .zip(Array::from(&doc_rows).iter())
    {
        let doc = decode_doc(&value)?;
        state
            .channels
            .entry(channel_of(&k))
            .or_default()
            .documents
            .insert(doc.id.clone(), doc);
    }
    Ok(Some(state))
}

/// Places every request of a flush (IndexedDB runs them in order; a failed one aborts the
/// transaction, which `Tx::done` reports). Runs of consecutive outbox ids are deleted as one
/// key range.
pub fn apply(
    tx: &Tx,
    client_id: &str,
    last_mutation_id: u64,
    writes: &[Persist],
) -> Result<(), DbError> {
    let outbox = tx.store("outbox")?;
    let docs = tx.store("docs")?;
    let channels = tx.store("channels")?;
    let cid = s(client_id);
    let mut i = 0;
    while i < writes.len() {
        match &writes[i] {
            Persist::ClientId { .. } => {
                i += 1;
            }
            Persist::OutboxPut { mutation } => {
                i += 1;
                let k = key(&[cid.clone(), n(mutation.mutation_id)]);
                fire(outbox.put_with_key(&encode_mutation(mutation), &k))?;
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
                        fire(outbox.delete(&lower))?;
                    } else {
                        let upper = key(&[cid.clone(), n(last)]);
                        fire(outbox.delete(&key_range(&lower, &upper)?))?;
                    }
                }
            }
            Persist::Channel(delta) => {
                i += 1;
                let channel = s(&delta.channel);
                if delta.replace {
                    let range = prefix_range(&[cid.clone(), channel.clone()])?;
                    fire(docs.delete(&range))?;
                }
                for id in &delta.removes {
                    fire(docs.delete(&key(&[cid.clone(), channel.clone(), s(id)])))?;
                }
                for doc in &delta.upserts {
                    let k = key(&[cid.clone(), channel.clone(), s(&doc.id)]);
                    fire(docs.put_with_key(&encode_doc(doc), &k))?;
                }
                let row = channel_row(delta.cursor.as_ref(), &delta.filter_key);
                fire(channels.put_with_key(&row, &key(&[cid.clone(), channel])))?;
            }
        }
    }
    // The client row is written with every flush: it records when the partition was written.
    let row = client_row(client_id, last_mutation_id, js_sys::Date::now());
    fire(tx.store("clients")?.put_with_key(&row, &cid))?;
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
