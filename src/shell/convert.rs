//! Conversions between the engine's Rust values and the JavaScript objects of the public API
//! (`js/src/types.ts` names their shapes).

use serde::Serialize;
use tether_core::{ChangeSet, Conflict, ConnectionState, PendingMutation, PresenceChange, Status};
use tether_protocol::Json as Value;
use tether_protocol::{Continuity, Document, Op};
use wasm_bindgen::JsValue;

/// Any serializable value as a plain JavaScript value (objects, not `Map`s).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).unwrap_or(JsValue::NULL)
}

/// A JavaScript value as JSON (`undefined` reads as `null`).
pub fn from_js(value: JsValue) -> Result<Value, String> {
    if value.is_undefined() {
        return Ok(Value::Null);
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// A server document as `{version, doc}`.
pub fn document_to_js(document: &Document) -> JsValue {
    #[derive(Serialize)]
    struct Server<'a> {
        version: u64,
        doc: &'a Value,
    }
    to_js(&Server {
        version: document.version,
        doc: &document.doc,
    })
}

fn continuity_name(continuity: Continuity) -> &'static str {
    match continuity {
        Continuity::Recovered => "recovered",
        Continuity::Reset => "reset",
    }
}

/// A `ViewChange` for one engine change-set.
pub fn view_change(set: &ChangeSet) -> JsValue {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Row<'a> {
        id: &'a str,
        version: u64,
        doc: &'a Value,
        pending: bool,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ViewChange<'a> {
        sub: u64,
        channel: &'a str,
        replace: bool,
        upserts: Vec<Row<'a>>,
        removes: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        continuity: Option<&'static str>,
    }
    let continuity = match set.continuity {
        Some(c) => Some(continuity_name(c)),
        None if set.from_cache => Some("cached"),
        None => None,
    };
    to_js(&ViewChange {
        sub: set.view.0,
        channel: &set.channel,
        replace: set.replace,
        upserts: set
            .upserts
            .iter()
            .map(|d| Row {
                id: &d.id,
                version: d.version,
                doc: &d.doc,
                pending: d.pending,
            })
            .collect(),
        removes: &set.removes,
        continuity,
    })
}

/// A `PresenceChange` for the app: `{channel, members: [{clientId, state}]}`.
pub fn presence(change: &PresenceChange) -> JsValue {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Member<'a> {
        client_id: &'a str,
        state: &'a Value,
    }
    #[derive(Serialize)]
    struct Out<'a> {
        channel: &'a str,
        members: Vec<Member<'a>>,
    }
    to_js(&Out {
        channel: &change.channel,
        members: change
            .members
            .iter()
            .map(|m| Member {
                client_id: &m.client_id,
                state: &m.state,
            })
            .collect(),
    })
}

/// A write's `MutationResult` (`{mutationId, version}`).
pub fn mutation_result(mutation_id: u64, version: u64) -> JsValue {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Done {
        mutation_id: u64,
        version: u64,
    }
    to_js(&Done {
        mutation_id,
        version,
    })
}

/// A `Conflict` for the app, keyed `clientId:mutationId`.
pub fn conflict(client_id: &str, conflict: &Conflict) -> JsValue {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Server<'a> {
        version: u64,
        doc: &'a Value,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out<'a> {
        key: String,
        channel: &'a str,
        id: &'a str,
        mutation_id: u64,
        op: &'a str,
        local: Option<&'a Value>,
        base: Option<&'a Value>,
        server: Option<Server<'a>>,
    }
    let m = &conflict.mutation;
    let op = match m.op {
        Op::Put if m.base_version == Some(0) => "create",
        Op::Put | Op::Patch => "edit",
        Op::Delete => "delete",
    };
    to_js(&Out {
        key: format!("{client_id}:{}", m.mutation_id),
        channel: &m.channel,
        id: &m.id,
        mutation_id: m.mutation_id,
        op,
        local: conflict.local.as_ref(),
        base: conflict.base.as_ref(),
        server: conflict.server_current.as_ref().map(|d| Server {
            version: d.version,
            doc: &d.doc,
        }),
    })
}

/// A `Rejection` for the app.
pub fn rejection(mutation: &PendingMutation, code: &str, message: &str) -> JsValue {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out<'a> {
        channel: &'a str,
        id: &'a str,
        mutation_id: u64,
        code: &'a str,
        message: &'a str,
    }
    to_js(&Out {
        channel: &mutation.channel,
        id: &mutation.id,
        mutation_id: mutation.mutation_id,
        code,
        message,
    })
}

/// Extra facts only the shell knows, added to the engine's status.
pub struct ShellFacts {
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

/// The `Status` object of the public API.
pub fn status(status: &Status, facts: &ShellFacts) -> JsValue {
    #[derive(Serialize)]
    struct LastError {
        code: String,
        message: String,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out {
        state: &'static str,
        attempt: u32,
        next_retry_at: Option<f64>,
        latency_ms: Option<u64>,
        pending_count: usize,
        storage: &'static str,
        writes_at_risk: bool,
        persisted: Option<bool>,
        last_synced_at: Option<f64>,
        last_error: Option<LastError>,
        counters: CountersOut,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct CountersOut {
        frames_received: u64,
        events_received: u64,
        events_deduped: u64,
        coalesced: u64,
        flushes: u64,
        gaps: u64,
    }
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
    to_js(&Out {
        state,
        attempt: status.attempt,
        next_retry_at: status.next_retry_at.map(facts.to_wall),
        latency_ms: status.rtt_ms,
        pending_count: status.pending_mutations + facts.pending_elsewhere,
        storage: facts.storage,
        writes_at_risk: facts.writes_at_risk,
        persisted: facts.persisted,
        last_synced_at: facts.last_synced_at,
        last_error: status.last_error.as_ref().map(|e| LastError {
            code: e.code().to_owned(),
            message: e.to_string(),
        }),
        counters: CountersOut {
            frames_received: status.counters.frames_received,
            events_received: status.counters.events_received,
            events_deduped: status.counters.events_deduped,
            coalesced: status.counters.coalesced,
            flushes: status.counters.flushes,
            gaps: status.counters.gaps,
        },
    })
}
