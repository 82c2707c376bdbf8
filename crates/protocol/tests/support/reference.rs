//! The serde codec as it was before the hand-written one (the reference of
//! `codec_differential`): serde_json over the serde derives of the message types.

use serde_json::Value;
use tether_protocol::{ClientMessage, DecodeError, MutateClientId, ServerMessage};

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

pub fn decode_client(bytes: &[u8]) -> Result<ClientMessage, DecodeError> {
    decode(bytes).map_err(|err| match err {
        DecodeError::Shape { message } => invalid_mutate(bytes, message),
        other => other,
    })
}

fn invalid_mutate(bytes: &[u8], message: String) -> DecodeError {
    let Ok(Value::Object(fields)) = serde_json::from_slice(bytes) else {
        return DecodeError::Shape { message };
    };
    let is_mutate = fields.get("type").and_then(Value::as_str) == Some("mutate");
    let mutation_id = fields.get("mutation_id").and_then(Value::as_u64);
    match (is_mutate, mutation_id) {
        (true, Some(mutation_id)) => DecodeError::InvalidMutate {
            mutation_id,
            client_id: match fields.get("client_id") {
                None | Some(Value::Null) => MutateClientId::Absent,
                Some(Value::String(s)) => MutateClientId::Given(s.clone()),
                Some(_) => MutateClientId::Unreadable,
            },
            message,
        },
        _ => DecodeError::Shape { message },
    }
}

pub fn decode_server(bytes: &[u8]) -> Result<ServerMessage, DecodeError> {
    decode(bytes)
}
