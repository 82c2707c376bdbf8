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
}

impl DecodeError {
    /// The error code to answer with.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::BadMessage
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

/// Decodes a frame sent by a client.
pub fn decode_client(bytes: &[u8]) -> Result<ClientMessage, DecodeError> {
    decode(bytes)
}

/// Decodes a frame sent by the server.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMessage, DecodeError> {
    decode(bytes)
}

/// Encodes a client frame.
pub fn encode_client(msg: &ClientMessage) -> String {
    encode(msg)
}

/// Encodes a server frame.
pub fn encode_server(msg: &ServerMessage) -> String {
    encode(msg)
}
