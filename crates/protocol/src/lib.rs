//! The Tether wire protocol, shared by the client engine and the reference server.
//!
//! Everything here is pure data and pure functions: no IO, no clock, no randomness.
//!
//! * [`ClientMessage`] / [`ServerMessage`]: every frame of the protocol, tagged by `type`.
//! * [`Json`] ([`json`](mod@json)): the protocol's JSON value, with its own parser and writer; numbers
//!   keep the text they were written as.
//! * [`codec`]: JSON text frames in and out, hand-written over [`Json`] (no serde); decoding
//!   any byte sequence returns a typed [`DecodeError`], never a panic.
//!
//! Feature `serde` (off by default) adds serde derives to the message types (the reference
//! the codec is tested against), `Serialize`/`Deserialize` for [`Json`] and conversions from
//! and to `serde_json::Value`.
//! * [`Filter`]: field predicates evaluated identically on both sides, so an optimistic insert
//!   shows in exactly the views the server will put it in.
//! * [`Selector`]: what a view holds (a filter, and for a by-id view a set of ids), decided
//!   by the same code on both sides.
//! * [`ErrorCode`] and [`CloseCode`]: the stable codes a peer answers with.
//!
//! `PROTOCOL.md` at the project root is the normative description of the protocol.
//!
//! ```
//! use tether_protocol::{codec, ClientMessage, PROTOCOL_VERSION};
//!
//! let hello = ClientMessage::Hello {
//!     protocol: PROTOCOL_VERSION,
//!     client_id: "c-1".into(),
//!     token: None,
//!     refresh: false,
//! };
//! let frame = codec::encode_client(&hello);
//! assert_eq!(codec::decode_client(frame.as_bytes()).unwrap(), hello);
//! ```

pub mod codec;
mod codes;
mod document;
mod filter;
pub mod json;
mod messages;
mod order;
mod selector;

pub use codec::{
    split_frame, DecodeError, MutateClientId, LINES_SUBPROTOCOL, MAX_JOINED_FRAME_BYTES,
};
pub use codes::{CloseCode, ErrorCode};
pub use document::{
    apply_op, validate_channel, validate_doc_id, validate_numbers, Document, DocumentError, Op,
    MAX_CHANNEL_LEN, MAX_DOC_ID_LEN, MAX_SAFE_INTEGER,
};
pub use filter::{Filter, FilterError, MAX_FILTER_DEPTH, MAX_FILTER_NODES};
pub use json::{Json, Number, Object};
pub use messages::{
    ClientMessage, Continuity, EventKind, EventOp, Limits, Origin, PresenceEvent, PresenceMember,
    RejectReason, ResponseError, ServerMessage, Since,
};
pub use order::stable_order;
pub use selector::{IdSet, IdsError, Selector, MAX_VIEW_IDS};

/// The protocol version this crate speaks, sent in `hello` and `welcome`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Test convenience (feature `serde`): `serde_json::json!` converted to a [`Json`].
#[cfg(feature = "serde")]
#[doc(hidden)]
#[macro_export]
macro_rules! json {
    ($($t:tt)+) => {
        $crate::Json::from($crate::__serde_json::json!($($t)+))
    };
}

#[cfg(feature = "serde")]
#[doc(hidden)]
pub use serde_json as __serde_json;
