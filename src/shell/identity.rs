//! Which client id (and so which outbox partition) this tab is, and which partitions belong to
//! no open tab.
//!
//! A tab keeps its id across reloads in `sessionStorage`. While a tab runs it holds the Web
//! Lock `tether:<db>:<clientId>` ([MDN: Web Locks API](https://developer.mozilla.org/en-US/docs/Web/API/Web_Locks_API)),
//! so a duplicated tab (which copies `sessionStorage`) sees the lock taken and starts a new id,
//! and a partition whose lock is free belongs to a tab that closed: another tab may adopt it.
//!
//! The browser calls are in `page.js`.

use js_sys::Function;

/// A held lock: the lock is released when `release` is called (or the page goes away).
pub struct Held {
    release: Option<Function>,
}

impl Held {
    /// A lock held until `release` is called.
    pub fn new(release: Option<Function>) -> Held {
        Held { release }
    }

    /// Releases the lock.
    pub fn release(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&wasm_bindgen::JsValue::NULL);
        }
    }
}
