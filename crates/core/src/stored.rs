//! The stored (IndexedDB) text of what the engine persists, through [`Json`] (no serde):
//! [`PendingMutation`], [`Document`], [`Since`] and the whole [`PersistedState`].
//!
//! The texts are the JSON that serde_json wrote for these types in earlier builds, so rows
//! stored by them still read:
//!
//! * `PendingMutation`: `{"mutation_id":1,"channel":"t","op":"put","id":"a",
//!   "base_version":null,"doc":{..},"base":{..}}` (`base` left out when absent);
//! * `Document`: `{"id":"a","version":1,"doc":{..}}`; `Since`: `{"epoch":"e","offset":3}`;
//! * `PersistedState`: `{"client_id":"c","last_mutation_id":4,"outbox":{"4":<mutation>},
//!   "channels":{"t":{"documents":{"a":<document>},"cursor":<since>|null,"filter_key":""}}}`.
//!
//! Reading ignores unknown fields and takes a missing or `null` optional field as absent.

use crate::sorted::SortedMap;

use tether_protocol::{Document, Json, Object, Op, Since};

use crate::outbox::PendingMutation;
use crate::persist::{CachedChannel, PersistedState};

/// Why stored text could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoredError {
    /// The text is not JSON.
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// A field is missing or has the wrong type.
    Field {
        /// The field.
        field: &'static str,
    },
}

impl std::fmt::Display for StoredError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredError::Syntax { line, column } => {
                write!(f, "stored text is not JSON (line {line}, column {column})")
            }
            StoredError::Field { field } => write!(f, "stored field `{field}` is unreadable"),
        }
    }
}

impl std::error::Error for StoredError {}

fn parse(text: &str) -> Result<Json, StoredError> {
    Json::parse(text).map_err(|e| StoredError::Syntax {
        line: e.line,
        column: e.column,
    })
}

fn object<'a>(v: &'a Json, field: &'static str) -> Result<&'a Object, StoredError> {
    v.as_object().ok_or(StoredError::Field { field })
}

fn get<'a>(o: &'a Object, field: &'static str) -> Result<&'a Json, StoredError> {
    o.get(field).ok_or(StoredError::Field { field })
}

fn string(o: &Object, field: &'static str) -> Result<String, StoredError> {
    get(o, field)?
        .as_str()
        .map(str::to_owned)
        .ok_or(StoredError::Field { field })
}

fn u64_field(o: &Object, field: &'static str) -> Result<u64, StoredError> {
    get(o, field)?.as_u64().ok_or(StoredError::Field { field })
}

/// A present, non-null value.
fn optional<'a>(o: &'a Object, field: &str) -> Option<&'a Json> {
    o.get(field).filter(|v| !v.is_null())
}

fn op_str(op: Op) -> &'static str {
    match op {
        Op::Put => "put",
        Op::Patch => "patch",
        Op::Delete => "delete",
    }
}

/// `Since` as stored.
pub fn since_to_json(since: &Since) -> Json {
    let mut o = Object::new();
    o.insert("epoch", Json::from(since.epoch.as_str()));
    o.insert("offset", Json::from(since.offset));
    Json::Object(o)
}

/// `Since` from its stored form.
pub fn since_from_json(v: &Json) -> Result<Since, StoredError> {
    let o = object(v, "cursor")?;
    Ok(Since {
        epoch: string(o, "epoch")?,
        offset: u64_field(o, "offset")?,
    })
}

/// A document as stored.
pub fn document_to_json(doc: &Document) -> Json {
    let mut o = Object::new();
    o.insert("id", Json::from(doc.id.as_str()));
    o.insert("version", Json::from(doc.version));
    o.insert("doc", doc.doc.clone());
    Json::Object(o)
}

/// A document from its stored form.
pub fn document_from_json(v: &Json) -> Result<Document, StoredError> {
    let o = object(v, "document")?;
    Ok(Document {
        id: string(o, "id")?,
        version: u64_field(o, "version")?,
        doc: get(o, "doc")?.clone(),
    })
}

/// A document's stored text.
pub fn document_to_json_text(doc: &Document) -> String {
    document_to_json(doc).to_text()
}

/// A document from its stored text.
pub fn document_from_json_text(text: &str) -> Result<Document, StoredError> {
    document_from_json(&parse(text)?)
}

impl PendingMutation {
    /// The stored form.
    pub fn to_json(&self) -> Json {
        let mut o = Object::new();
        o.insert("mutation_id", Json::from(self.mutation_id));
        o.insert("channel", Json::from(self.channel.as_str()));
        o.insert("op", Json::from(op_str(self.op)));
        o.insert("id", Json::from(self.id.as_str()));
        o.insert("base_version", Json::from(self.base_version));
        o.insert("doc", self.doc.clone().unwrap_or(Json::Null));
        if let Some(base) = &self.base {
            o.insert("base", base.clone());
        }
        Json::Object(o)
    }

    /// From the stored form.
    pub fn from_json(v: &Json) -> Result<PendingMutation, StoredError> {
        let o = object(v, "mutation")?;
        let op = match get(o, "op")?.as_str() {
            Some("put") => Op::Put,
            Some("patch") => Op::Patch,
            Some("delete") => Op::Delete,
            _ => return Err(StoredError::Field { field: "op" }),
        };
        Ok(PendingMutation {
            mutation_id: u64_field(o, "mutation_id")?,
            channel: string(o, "channel")?,
            op,
            id: string(o, "id")?,
            base_version: match optional(o, "base_version") {
                Some(v) => Some(v.as_u64().ok_or(StoredError::Field {
                    field: "base_version",
                })?),
                None => None,
            },
            doc: optional(o, "doc").cloned(),
            base: optional(o, "base").cloned(),
        })
    }

    /// The stored text.
    pub fn to_json_text(&self) -> String {
        self.to_json().to_text()
    }

    /// From the stored text.
    pub fn from_json_text(text: &str) -> Result<PendingMutation, StoredError> {
        PendingMutation::from_json(&parse(text)?)
    }
}

fn map_of<T>(
    v: Option<&Json>,
    field: &'static str,
    item: impl Fn(&str, &Json) -> Result<T, StoredError>,
) -> Result<Vec<T>, StoredError> {
    match v {
        None => Ok(Vec::new()),
        Some(v) => object(v, field)?.iter().map(|(k, v)| item(k, v)).collect(),
    }
}

impl PersistedState {
    /// The stored form of the whole state.
    pub fn to_json(&self) -> Json {
        let outbox: Object = self
            .outbox
            .iter()
            .map(|(id, m)| (id.to_string(), m.to_json()))
            .collect();
        let channels: Object = self
            .channels
            .iter()
            .map(|(name, c)| {
                let documents: Object = c
                    .documents
                    .iter()
                    .map(|(id, d)| (id.clone(), document_to_json(d)))
                    .collect();
                let mut o = Object::new();
                o.insert("documents", Json::Object(documents));
                o.insert(
                    "cursor",
                    c.cursor.as_ref().map_or(Json::Null, since_to_json),
                );
                o.insert("filter_key", Json::from(c.filter_key.as_str()));
                (name.clone(), Json::Object(o))
            })
            .collect();
        let mut o = Object::new();
        o.insert("client_id", Json::from(self.client_id.as_str()));
        o.insert("last_mutation_id", Json::from(self.last_mutation_id));
        o.insert("outbox", Json::Object(outbox));
        o.insert("channels", Json::Object(channels));
        Json::Object(o)
    }

    /// From the stored form of the whole state.
    pub fn from_json(v: &Json) -> Result<PersistedState, StoredError> {
        let o = object(v, "state")?;
        let outbox = map_of(o.get("outbox"), "outbox", |_, m| {
            let m = PendingMutation::from_json(m)?;
            Ok((m.mutation_id, m))
        })?;
        let channels = map_of(o.get("channels"), "channels", |name, c| {
            let c = object(c, "channels")?;
            let documents = map_of(c.get("documents"), "documents", |_, d| {
                let d = document_from_json(d)?;
                Ok((d.id.clone(), d))
            })?;
            let mut by_id = SortedMap::new();
            for (id, d) in documents {
                by_id.insert(id, d);
            }
            let cached = CachedChannel {
                documents: by_id,
                cursor: optional(c, "cursor").map(since_from_json).transpose()?,
                filter_key: string(c, "filter_key")?,
            };
            Ok((name.to_owned(), cached))
        })?;
        // Maps filled one entry at a time (collecting into one sorts: a sort per type in WASM).
        let mut state = PersistedState {
            client_id: string(o, "client_id")?,
            last_mutation_id: u64_field(o, "last_mutation_id")?,
            outbox: SortedMap::new(),
            channels: SortedMap::new(),
        };
        for (id, m) in outbox {
            state.outbox.insert(id, m);
        }
        for (name, c) in channels {
            state.channels.insert(name, c);
        }
        Ok(state)
    }

    /// The stored text of the whole state.
    pub fn to_json_text(&self) -> String {
        self.to_json().to_text()
    }

    /// From the stored text of the whole state.
    pub fn from_json_text(text: &str) -> Result<PersistedState, StoredError> {
        PersistedState::from_json(&parse(text)?)
    }
}
