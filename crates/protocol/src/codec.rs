//! JSON text frames: encode and decode every message; decoding never panics.

use crate::codes::ErrorCode;
use crate::messages::{ClientMessage, ServerMessage};

/// Why a frame could not be decoded. Answered on the wire as `BAD_MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame is not UTF-8; `valid_up_to` bytes were.
    NotUtf8 {
        /// Length of the valid UTF-8 prefix.
        valid_up_to: usize,
    },
    /// The frame is not well-formed JSON.
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The JSON is well-formed but not a message this protocol knows (unknown `type`,
    /// missing or mistyped field).
    Shape {
        /// What serde reported.
        message: String,
    },
    /// A `mutate` whose `mutation_id` is readable (a non-negative integer) but whose other
    /// fields are not a valid mutation (unknown or missing `op`, mistyped `id`, `channel`,
    /// `base_version` or `client_id`, ...). A server answers it with
    /// `reject {mutation_id, reason: "invalid"}` so the client can correlate the answer.
    InvalidMutate {
        /// The frame's `mutation_id`.
        mutation_id: u64,
        /// The frame's `client_id` field (outbox adoption), as far as it is readable.
        client_id: MutateClientId,
        /// What serde reported.
        message: String,
    },
}

/// The `client_id` field of a malformed `mutate` ([`DecodeError::InvalidMutate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MutateClientId {
    /// Absent or `null`: the mutation is the session's own.
    Absent,
    /// A string: the client id the mutation was sent for.
    Given(String),
    /// Present but not a string: the mutation's client cannot be known.
    Unreadable,
}

impl DecodeError {
    /// The error code to answer with.
    ///
    /// [`DecodeError::InvalidMutate`] also has this code, but a server answers it with a
    /// `reject` naming its [`DecodeError::mutation_id`] instead of an `error`.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::BadMessage
    }

    /// The `mutation_id` of a malformed `mutate` that still carries a readable one.
    pub fn mutation_id(&self) -> Option<u64> {
        match self {
            DecodeError::InvalidMutate { mutation_id, .. } => Some(*mutation_id),
            _ => None,
        }
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::NotUtf8 { valid_up_to } => {
                write!(f, "frame is not UTF-8 (valid up to byte {valid_up_to})")
            }
            DecodeError::Syntax { line, column } => {
                write!(f, "invalid JSON at line {line} column {column}")
            }
            DecodeError::Shape { message } => write!(f, "not a valid message: {message}"),
            DecodeError::InvalidMutate {
                mutation_id,
                message,
                ..
            } => write!(f, "mutation {mutation_id} is not a valid mutate: {message}"),
        }
    }
}

impl std::error::Error for DecodeError {}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            DecodeError::Shape {
                message: e.to_string(),
            }
        } else {
            DecodeError::Syntax {
                line: e.line(),
                column: e.column(),
            }
        }
    })
}

fn encode<T: serde::Serialize>(msg: &T) -> String {
    // Serializing these types cannot fail: every map key is a string and `Value` holds no
    // non-finite floats. Should it ever fail, send a well-formed INTERNAL error instead.
    serde_json::to_string(msg).unwrap_or_else(|_| {
        String::from(r#"{"type":"error","code":"INTERNAL","message":"encoding failed"}"#)
    })
}

/// Decodes a frame sent by a client. A malformed `mutate` with a readable `mutation_id` gives
/// [`DecodeError::InvalidMutate`] (see there); a `mutate` whose `mutation_id` is missing or not
/// a non-negative integer gives [`DecodeError::Shape`].
pub fn decode_client(bytes: &[u8]) -> Result<ClientMessage, DecodeError> {
    decode(bytes).map_err(|err| match err {
        DecodeError::Shape { message } => invalid_mutate(bytes, message),
        other => other,
    })
}

/// A shape error of a frame that is a `mutate` with a readable `mutation_id` becomes
/// [`DecodeError::InvalidMutate`] (only on this error path is the frame parsed again).
fn invalid_mutate(bytes: &[u8], message: String) -> DecodeError {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(bytes) else {
        return DecodeError::Shape { message };
    };
    let is_mutate = fields.get("type").and_then(serde_json::Value::as_str) == Some("mutate");
    let mutation_id = fields
        .get("mutation_id")
        .and_then(serde_json::Value::as_u64);
    match (is_mutate, mutation_id) {
        (true, Some(mutation_id)) => DecodeError::InvalidMutate {
            mutation_id,
            client_id: match fields.get("client_id") {
                None | Some(serde_json::Value::Null) => MutateClientId::Absent,
                Some(serde_json::Value::String(s)) => MutateClientId::Given(s.clone()),
                Some(_) => MutateClientId::Unreadable,
            },
            message,
        },
        _ => DecodeError::Shape { message },
    }
}

/// Decodes a frame sent by the server.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMessage, DecodeError> {
    // Events are most of what a client decodes. Encoded with `type` first (as this crate and
    // the reference server do), they decode straight into their fields, without the buffering
    // an internally tagged enum needs; anything else, or an event this path refuses, takes
    // the general path (which also gives the error).
    if bytes.starts_with(br#"{"type":"event","#) {
        if let Ok(event) = serde_json::from_slice::<EventFields>(bytes) {
            return Ok(event.into());
        }
    }
    decode(bytes)
}

/// The fields of an `event` message (its `type` is ignored as an unknown field).
#[derive(serde::Deserialize)]
struct EventFields {
    channel: String,
    epoch: String,
    offset: u64,
    prev: u64,
    op: crate::messages::EventOp,
    id: String,
    version: u64,
    #[serde(default)]
    doc: Option<crate::json::Json>,
    #[serde(default)]
    origin: Option<crate::messages::Origin>,
}

impl From<EventFields> for ServerMessage {
    fn from(e: EventFields) -> ServerMessage {
        ServerMessage::Event {
            channel: e.channel,
            epoch: e.epoch,
            offset: e.offset,
            prev: e.prev,
            op: e.op,
            id: e.id,
            version: e.version,
            doc: e.doc,
            origin: e.origin,
        }
    }
}

/// Encodes a client frame.
pub fn encode_client(msg: &ClientMessage) -> String {
    encode(msg)
}

/// Encodes a server frame.
pub fn encode_server(msg: &ServerMessage) -> String {
    encode(msg)
}

/// The WebSocket subprotocol under which a text frame may carry several messages, each
/// compact JSON, separated by `\n` (a peer joins messages that are ready together, so a burst
/// crosses the socket in a few frames instead of one per message). A connection that did not
/// negotiate it carries exactly one message per frame.
pub const LINES_SUBPROTOCOL: &str = "tether-lines";

/// Most bytes a sender joins into one frame under [`LINES_SUBPROTOCOL`] (a single larger
/// message still goes alone).
pub const MAX_JOINED_FRAME_BYTES: usize = 64 * 1024;

/// The messages of one frame: split at `\n`, empty pieces skipped. A message encoded by
/// this crate never contains a raw newline (JSON escapes it inside strings), so a frame of
/// one message yields exactly that message.
pub fn split_frame(frame: &[u8]) -> impl Iterator<Item = &[u8]> {
    frame
        .split(|b| *b == b'\n')
        .filter(|piece| !piece.iter().all(u8::is_ascii_whitespace))
}

#[cfg(test)]
mod framing_tests {
    use super::*;

    #[test]
    fn the_event_fast_path_agrees_with_the_general_decoder() {
        let frames = [
            r#"{"type":"event","channel":"t","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"a","version":3,"doc":{"x":[1,2.5,"s"]},"origin":{"client_id":"c","mutation_id":9}}"#,
            r#"{"type":"event","channel":"t","epoch":"e","offset":2,"prev":1,"op":"remove","id":"a","version":4}"#,
            r#"{"type":"event","channel":"t","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"a","version":3,"doc":null,"extra":true}"#,
            r#"{"type":"event","channel":"t","epoch":"e","offset":2,"prev":1,"op":"nope","id":"a","version":3}"#,
            r#"{"type":"event","channel":"t","offset":2}"#,
            r#"{"type":"event","channel":"t","epoch":"e","offset":-1,"prev":1,"op":"remove","id":"a","version":4}"#,
        ];
        for frame in frames {
            let general: Result<ServerMessage, DecodeError> = decode(frame.as_bytes());
            assert_eq!(decode_server(frame.as_bytes()), general, "{frame}");
        }
    }

    #[test]
    fn split_frame_yields_each_message_once() {
        let one = br#"{"type":"pong","nonce":1}"#;
        assert_eq!(split_frame(one).collect::<Vec<_>>(), vec![&one[..]]);
        let two = b"{\"a\":1}\n{\"b\":\"x\\ny\"}\n";
        assert_eq!(
            split_frame(two).collect::<Vec<_>>(),
            vec![&b"{\"a\":1}"[..], &b"{\"b\":\"x\\ny\"}"[..]]
        );
        assert_eq!(split_frame(b"").count(), 0);
        assert_eq!(split_frame(b"\n\r\n").count(), 0);
    }
}
