//! Conversions between the engine's Rust values and the JavaScript objects of the public API
//! (`js/src/types.ts` names their shapes). Objects that carry documents are written as JSON
//! text and parsed once ([`Writer`]); the status, which carries fractional numbers, is built
//! with `Reflect`.

use std::cell::RefCell;

use tether_core::{ChangeSet, Conflict, ConnectionState, PendingMutation, PresenceChange, Status};
use tether_protocol::{Continuity, Document, Op};
use wasm_bindgen::JsValue;

use super::json::{decimal, Writer};

/// A server document as `{version, doc}`.
pub fn write_document(w: &mut Writer, document: &Document) {
    w.begin_object();
    w.key("version").u64(document.version);
    w.key("doc").value(&document.doc);
    w.end_object();
}

fn continuity_name(continuity: Continuity) -> &'static str {
    match continuity {
        Continuity::Recovered => "recovered",
        Continuity::Reset => "reset",
    }
}

/// A `ViewChange` for one engine change-set, written into the batch's `views` array.
pub fn write_view_change(w: &mut Writer, set: &ChangeSet) {
    w.begin_object();
    w.key("sub").u64(set.view.0);
    w.key("channel").str(&set.channel);
    w.key("replace").bool(set.replace);
    w.key("upserts").begin_array();
    for d in &set.upserts {
        w.begin_object();
        w.key("id").str(&d.id);
        w.key("version").u64(d.version);
        w.key("doc").value(&d.doc);
        w.key("pending").bool(d.pending);
        w.end_object();
    }
    w.end_array();
    w.key("removes").strs(&set.removes);
    if !set.events.is_empty() {
        w.key("events").begin_array();
        for e in &set.events {
            w.begin_object();
            w.key("kind").str(e.kind.as_str());
            w.key("id").str(&e.id);
            w.key("version").u64(e.version);
            w.key("offset").u64(e.offset);
            w.key("own").bool(e.own);
            w.end_object();
        }
        w.end_array();
    }
    let continuity = match set.continuity {
        Some(c) => Some(continuity_name(c)),
        None if set.from_cache => Some("cached"),
        None => None,
    };
    if let Some(continuity) = continuity {
        w.key("continuity").str(continuity);
    }
    w.end_object();
}

/// A `PresenceChange` for the app: `{channel, members: [{clientId, state}]}`.
pub fn write_presence(w: &mut Writer, change: &PresenceChange) {
    w.begin_object();
    w.key("channel").str(&change.channel);
    w.key("members").begin_array();
    for m in &change.members {
        w.begin_object();
        w.key("clientId").str(&m.client_id);
        w.key("state").value(&m.state);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

/// A `Notification` for the app: `{from, payload}`.
pub fn write_notification(w: &mut Writer, from: &str, payload: &tether_protocol::Json) {
    w.begin_object();
    w.key("from").str(from);
    w.key("payload").value(payload);
    w.end_object();
}

/// A `Broadcast` for the app: `{channel, from, payload}`.
pub fn write_broadcast(w: &mut Writer, channel: &str, from: &str, payload: &tether_protocol::Json) {
    w.begin_object();
    w.key("channel").str(channel);
    w.key("from").str(from);
    w.key("payload").value(payload);
    w.end_object();
}

/// A write's `MutationResult` (`{mutationId, version}`).
pub fn mutation_result(mutation_id: u64, version: u64) -> JsValue {
    let mut w = Writer::new();
    w.begin_object();
    w.key("mutationId").u64(mutation_id);
    w.key("version").u64(version);
    w.end_object();
    w.finish()
}

/// A `Conflict` for the app, keyed `clientId:mutationId`.
pub fn write_conflict(w: &mut Writer, client_id: &str, conflict: &Conflict) {
    let m = &conflict.mutation;
    let op = match m.op {
        Op::Put if m.base_version == Some(0) => "create",
        Op::Put | Op::Patch => "edit",
        Op::Delete => "delete",
    };
    w.begin_object();
    w.key("key").str(&conflict_key(client_id, m.mutation_id));
    w.key("channel").str(&m.channel);
    w.key("id").str(&m.id);
    w.key("mutationId").u64(m.mutation_id);
    w.key("op").str(op);
    w.key("local").opt_value(conflict.local.as_ref());
    w.key("base").opt_value(conflict.base.as_ref());
    w.key("server");
    match &conflict.server_current {
        Some(d) => write_document(w, d),
        None => {
            w.null();
        }
    }
    w.end_object();
}

/// `clientId:mutationId`.
fn conflict_key(client_id: &str, mutation_id: u64) -> String {
    let mut key = String::with_capacity(client_id.len() + 21);
    key.push_str(client_id);
    key.push(':');
    let mut digits = [0u8; 20];
    for &d in decimal(mutation_id, &mut digits) {
        key.push(char::from(d));
    }
    key
}

/// A `Rejection` for the app.
pub fn write_rejection(w: &mut Writer, mutation: &PendingMutation, code: &str, message: &str) {
    w.begin_object();
    w.key("channel").str(&mutation.channel);
    w.key("id").str(&mutation.id);
    w.key("mutationId").u64(mutation.mutation_id);
    w.key("code").str(code);
    w.key("message").str(message);
    w.end_object();
}

/// Extra facts only the shell knows, added to the engine's status.
pub struct ShellFacts<'a> {
    /// The URL of the endpoint in use or tried next (None: not known yet).
    pub endpoint: Option<&'a str>,
    /// `"indexeddb"` or `"memory"`.
    pub storage: &'static str,
    /// Queued writes would not survive a reload.
    pub writes_at_risk: bool,
    /// Whether the browser agreed to keep storage under pressure (None: not known).
    pub persisted: Option<bool>,
    /// Unsent writes of closed tabs that this client is sending (counted as pending).
    pub pending_elsewhere: usize,
    /// When the outbox was last seen empty while connected (ms since the Unix epoch).
    pub last_synced_at: Option<f64>,
    /// Converts an engine deadline (performance.now() ms) to ms since the Unix epoch.
    pub to_wall: fn(u64) -> f64,
}

/// A JSON object being written, shared by `put` (the status is one JSON text, parsed once:
/// a field set by `Reflect` cost a boundary call and a string each, on every status).
type Out = RefCell<Writer>;

/// A field's value.
enum Field<'a> {
    Str(&'a str),
    Num(u64),
    Bool(bool),
    Null,
    Object(Out),
}

fn put(out: &Out, key: &str, value: Field) {
    let mut w = out.borrow_mut();
    w.key(key);
    match value {
        Field::Str(text) => w.str(text),
        Field::Num(n) => w.u64(n),
        Field::Bool(b) => w.bool(b),
        Field::Null => w.null(),
        Field::Object(fields) => w.object_of(&fields.into_inner()),
    };
}

/// A whole number of ms, or null.
fn number_or_null(value: Option<f64>) -> Field<'static> {
    value.map_or(Field::Null, |ms| Field::Num(ms.max(0.0) as u64))
}

/// The `Status` object of the public API.
pub fn status(status: &Status, facts: &ShellFacts) -> JsValue {
    let state = match status.state {
        ConnectionState::Idle => "idle",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Handshaking => "handshaking",
        ConnectionState::Ready => "ready",
        ConnectionState::Backoff => "backoff",
        ConnectionState::Offline => "offline",
        ConnectionState::AwaitingToken => "awaiting-token",
        _ => "closed",
    };
    let out = Out::default();
    put(&out, "state", Field::Str(state));
    put(&out, "attempt", Field::Num(u64::from(status.attempt)));
    put(
        &out,
        "nextRetryAt",
        number_or_null(status.next_retry_at.map(facts.to_wall)),
    );
    put(
        &out,
        "latencyMs",
        number_or_null(status.rtt_ms.map(|ms| ms as f64)),
    );
    put(
        &out,
        "pendingCount",
        Field::Num((status.pending_mutations + facts.pending_elsewhere) as u64),
    );
    put(
        &out,
        "endpoint",
        facts.endpoint.map_or(Field::Null, Field::Str),
    );
    put(&out, "storage", Field::Str(facts.storage));
    put(&out, "writesAtRisk", Field::Bool(facts.writes_at_risk));
    put(
        &out,
        "persisted",
        facts.persisted.map_or(Field::Null, Field::Bool),
    );
    put(&out, "lastSyncedAt", number_or_null(facts.last_synced_at));
    let message;
    let last_error = match &status.last_error {
        Some(e) => {
            let error = Out::default();
            message = e.to_string();
            put(&error, "code", Field::Str(e.code()));
            put(&error, "message", Field::Str(&message));
            Field::Object(error)
        }
        None => Field::Null,
    };
    put(&out, "lastError", last_error);
    put(&out, "counters", counters(status));
    let mut w = Writer::new();
    w.object_of(&out.into_inner());
    w.finish()
}

/// The `StatusCounters` object.
fn counters(status: &Status) -> Field<'static> {
    let c = &status.counters;
    let out = Out::default();
    let count = |key: &str, n: u64| put(&out, key, Field::Num(n));
    count("framesReceived", c.frames_received);
    count("eventsReceived", c.events_received);
    count("eventsDeduped", c.events_deduped);
    count("coalesced", c.coalesced);
    count("flushes", c.flushes);
    count("gaps", c.gaps);
    Field::Object(out)
}
