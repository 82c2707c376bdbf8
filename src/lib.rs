//! Tether's browser SDK: the WASM shell around the sans-IO engine.
//!
//! This crate is compiled to `wasm32-unknown-unknown` and packaged with `wasm-pack`. For now it
//! holds the smallest real pieces the browser runtime will grow from:
//!
//! * [`protocol_version`]: the wire protocol version, exported to JavaScript;
//! * `storage` (wasm32 only): an IndexedDB key/value store opened through rexie.
//!
//! On native targets only the re-exports exist, so `cargo test --workspace` and clippy build
//! the crate everywhere.

pub use tether_core as core;
pub use tether_protocol as protocol;

#[cfg(target_arch = "wasm32")]
pub mod storage;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::wasm_bindgen;

/// The Tether wire protocol version this build speaks (sent in `hello`).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen(js_name = protocolVersion))]
pub fn protocol_version() -> u32 {
    tether_protocol::PROTOCOL_VERSION
}
