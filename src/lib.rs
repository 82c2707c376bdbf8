//! Tether's browser SDK: the WASM shell around the sans-IO engine.
//!
//! This crate is compiled to `wasm32-unknown-unknown` and packaged with `wasm-pack` into the npm
//! package `tether-sync`. It is the only part of Tether that touches the browser:
//!
//! * `TetherClient` (wasm32 only): the class JavaScript uses. It runs the sans-IO engine of
//!   `tether-core` against a real WebSocket, one `setTimeout` timer, the `online` / `offline` /
//!   `visibilitychange` signals, and IndexedDB (through a small script, `shell/db/store.js`; a
//!   connection that closes or is asked to close for an upgrade is reopened, a database that
//!   fails to open is retried) for the durable outbox and the cache of confirmed documents, with
//!   Web Locks deciding which tab owns which outbox;
//! * [`protocol_version`]: the wire protocol version, exported to JavaScript;
//! * `storage` (wasm32 only): a minimal IndexedDB key/value store (browser smoke tests).
//!
//! On native targets only the re-exports exist, so `cargo test --workspace` and clippy build
//! the crate everywhere.

pub use tether_core as core;
pub use tether_protocol as protocol;

#[cfg(target_arch = "wasm32")]
mod shell;
#[cfg(target_arch = "wasm32")]
pub mod storage;

#[cfg(target_arch = "wasm32")]
pub use shell::{ShellError, TetherClient};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::wasm_bindgen;

/// The Tether wire protocol version this build speaks (sent in `hello`).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen(js_name = protocolVersion))]
pub fn protocol_version() -> u32 {
    tether_protocol::PROTOCOL_VERSION
}
