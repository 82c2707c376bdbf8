//! The stored rows: what a flush writes (the operations `store.js` places) and what a read
//! partition means.

use js_sys::Array;
use tether_core::stored::{document_from_json_text, document_to_json_text};
use tether_core::{CachedChannel, PendingMutation, Persist, PersistedState};
use tether_protocol::Since;
use wasm_bindgen::JsValue;

use super::DbError;
use crate::shell::json::Writer;

fn failed(what: &str) -> DbError {
    DbError::Failed(what.to_owned())
}

/// The lines of `text` (none for an empty text).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|_| !text.is_empty())
}

/// Everything stored for `client_id` (None when it has no partition), from what
/// `Db.load` of `store.js` read: `[lastMutationId, clientId, outbox texts by line, channels
/// as [name, epoch | null, offset, filterKey]..., documents as channel and text lines]`.
pub fn decode_partition(client_id: &str, raw: &JsValue) -> Result<Option<PersistedState>, DbError> {
    if raw.is_null() || raw.is_undefined() {
        return Ok(None);
    }
    let raw = Array::from(raw);
    let mut state = PersistedState {
        client_id: raw
            .get(1)
            .as_string()
            .unwrap_or_else(|| client_id.to_owned()),
        last_mutation_id: raw.get(0).as_f64().unwrap_or(0.0) as u64,
        // The maps by `Default`: whichever map type the engine's state uses.
        ..PersistedState::default()
    };
    for text in lines(&raw.get(2).as_string().unwrap_or_default()) {
        let mutation = PendingMutation::from_json_text(text)
            .map_err(|_| failed("a stored mutation does not decode"))?;
        state.outbox.insert(mutation.mutation_id, mutation);
    }
    let channels = Array::from(&raw.get(3));
    let mut i = 0;
    while i + 3 < channels.length() {
        let name = channels.get(i).as_string().unwrap_or_default();
        let cursor = channels.get(i + 1).as_string().map(|epoch| Since {
            epoch,
            offset: channels.get(i + 2).as_f64().unwrap_or(0.0) as u64,
        });
        let filter_key = channels.get(i + 3).as_string().unwrap_or_default();
        state.channels.insert(
            name,
            CachedChannel {
                cursor,
                filter_key,
                ..CachedChannel::default()
            },
        );
        i += 4;
    }
    let docs = raw.get(4).as_string().unwrap_or_default();
    let mut docs = lines(&docs);
    while let (Some(channel), Some(text)) = (docs.next(), docs.next()) {
        let doc = document_from_json_text(text)
            .map_err(|_| failed("a stored document does not decode"))?;
        state
            .channels
            .entry(channel.to_owned())
            .or_default()
            .documents
            .insert(doc.id.clone(), doc);
    }
    Ok(Some(state))
}

/// A flush as the operations `Db.write` of `store.js` places, as JSON text: one array per
/// request (see `place` there). Runs of consecutive outbox ids are deleted as one key range.
pub fn flush_ops(writes: &[Persist]) -> String {
    let mut w = Writer::new();
    w.begin_array();
    let mut i = 0;
    while i < writes.len() {
        match &writes[i] {
            Persist::ClientId { .. } => {
                i += 1;
            }
            Persist::OutboxPut { mutation } => {
                i += 1;
                w.begin_array()
                    .str("o")
                    .u64(mutation.mutation_id)
                    .str(&mutation.to_json_text())
                    .end_array();
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
                    w.begin_array().str("x").u64(first).u64(last).end_array();
                }
            }
            Persist::Channel(delta) => {
                i += 1;
                let channel = delta.channel.as_str();
                if delta.replace {
                    w.begin_array().str("r").str(channel).end_array();
                }
                for id in &delta.removes {
                    w.begin_array().str("d").str(channel).str(id).end_array();
                }
                for doc in &delta.upserts {
                    w.begin_array()
                        .str("D")
                        .str(channel)
                        .str(&doc.id)
                        .str(&document_to_json_text(doc))
                        .end_array();
                }
                w.begin_array().str("c").str(channel);
                match &delta.cursor {
                    Some(since) => w.str(&since.epoch).u64(since.offset),
                    None => w.null().u64(0),
                };
                w.str(&delta.filter_key).end_array();
            }
        }
    }
    w.end_array();
    w.into_text()
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
