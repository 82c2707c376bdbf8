//! The browser shell: everything that touches the browser (WebSocket, IndexedDB, timers,
//! online/visibility signals, Web Locks) around the sans-IO engine, and the `TetherClient`
//! class JavaScript uses.

mod adopt;
mod args;
mod client;
mod convert;
mod db;
mod driver;
mod error;
pub(crate) mod idb;
mod identity;
pub(crate) mod json;
mod options;
mod page;
mod signals;
mod socket;
mod timer;

pub use client::TetherClient;
pub use error::ShellError;
