//! Tether's browser SDK: the WASM shell around the sans-IO engine.

pub use tether_core as core;
