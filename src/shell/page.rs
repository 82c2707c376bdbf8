//! The page's side of the shell that is written in JavaScript (`page.js`, loaded by
//! wasm-bindgen beside the module): signals, persistent storage, errors, and whether the
//! browser has Web Locks (the client-id locks themselves are taken by `db/store.js`).

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen(module = "/src/shell/page.js")]
extern "C" {
    /// Whether the browser has the Web Locks API.
    #[wasm_bindgen(js_name = hasWebLocks)]
    pub fn has_web_locks() -> bool;
    /// Listens for the page's signals (see `signals`); returns the function that stops.
    pub fn listen(report: &Function) -> Function;
    /// Resolves with the answer of `navigator.storage.persist()`, or null.
    pub fn persist() -> Promise;
    /// An `Error` from JSON text: `message` and the other fields set on it.
    pub fn error(text: &str) -> JsValue;
}
