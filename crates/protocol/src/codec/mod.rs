//! JSON text frames: encode and decode every message; decoding never panics.

mod client;
mod event;
mod read;
mod server;
mod server_write;

pub use event::{decode_event, EventRef};

use crate::codes::ErrorCode;
use crate::json::Json;
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
        /// What is wrong (short).
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
        /// What is wrong with it (short).
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

/// Parses a frame: UTF-8, then JSON (a frame that is not well-formed JSON is a
/// [`DecodeError::Syntax`], whatever it holds).
fn parse(bytes: &[u8]) -> Result<Json, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    Json::parse(text).map_err(|e| DecodeError::Syntax {
        line: e.line,
        column: e.column,
    })
}

/// Decodes a frame sent by a client. A malformed `mutate` with a readable `mutation_id` gives
/// [`DecodeError::InvalidMutate`] (see there); a `mutate` whose `mutation_id` is missing or not
/// a non-negative integer gives [`DecodeError::Shape`].
pub fn decode_client(bytes: &[u8]) -> Result<ClientMessage, DecodeError> {
    client::read(&parse(bytes)?)
}

/// Decodes a frame sent by the server.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMessage, DecodeError> {
    server::read(&parse(bytes)?).map_err(|message| DecodeError::Shape { message })
}

/// Encodes a client frame (compact JSON, `type` first, then the fields in the order
/// PROTOCOL.md lists them; absent optional fields are left out).
pub fn encode_client(msg: &ClientMessage) -> String {
    client::write(msg)
}

/// Encodes a server frame (compact JSON, `type` first; absent optional fields are left out).
pub fn encode_server(msg: &ServerMessage) -> String {
    server_write::write(msg)
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
    Lines { rest: Some(frame) }.filter(|piece| !piece.iter().all(u8::is_ascii_whitespace))
}

/// The pieces of a frame between `\n`s (as `frame.split(|b| *b == b'\n')`), the newlines
/// found eight bytes at a time.
struct Lines<'a> {
    /// What follows the last newline found; `None` once the last piece was given.
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match find_newline(rest) {
            Some(at) => {
                self.rest = rest.get(at + 1..);
                rest.get(..at)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Where the first `\n` of `bytes` is. Whole words without one are skipped with the
/// exact has-a-zero-byte test on the word xor'ed with newlines.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(*word) ^ (ONES * u64::from(b'\n'));
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            break;
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter().position(|&b| b == b'\n').map(|i| at + i)
}

#[cfg(test)]
mod framing_tests {
    use super::*;

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

    #[test]
    fn split_frame_cuts_where_slice_split_does() {
        // Newlines at every place within and across eight-byte words, and none.
        let mut frames: Vec<Vec<u8>> = vec![b"0123456789abcdefghij".to_vec()];
        for at in 0..20 {
            for second in [None, Some(7), Some(8), Some(15), Some(19)] {
                let mut f = b"0123456789abcdefghij".to_vec();
                f[at] = b'\n';
                if let Some(s) = second {
                    f[s] = b'\n';
                }
                frames.push(f);
            }
        }
        frames.push(b"\n\n\n\n\n\n\n\n\n".to_vec());
        frames.push(vec![0x8a, 0x0a, 0xff, 0x0b, 0x09, 0x8a, 0x8a, 0x8a, 0x0a]);
        for f in &frames {
            let expected: Vec<&[u8]> = f.split(|b| *b == b'\n').collect();
            let got: Vec<&[u8]> = Lines { rest: Some(f) }.collect();
            assert_eq!(got, expected, "{f:?}");
        }
    }
}
