//! Which client id (and so which outbox partition) this tab is, and which partitions belong to
//! no open tab.
//!
//! A tab keeps its id across reloads in `sessionStorage`. While a tab runs it holds the Web
//! Lock `tether:<db>:<clientId>` ([MDN: Web Locks API](https://developer.mozilla.org/en-US/docs/Web/API/Web_Locks_API)),
//! so a duplicated tab (which copies `sessionStorage`) sees the lock taken and starts a new id,
//! and a partition whose lock is free belongs to a tab that closed: another tab may adopt it.
//!
//! The browser calls are in `page.js`.

use js_sys::{Array, Function};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::page;

/// A held lock: the lock is released when `release` is called (or the page goes away).
pub struct Held {
    release: Option<Function>,
}

impl Held {
    /// Releases the lock.
    pub fn release(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&wasm_bindgen::JsValue::NULL);
        }
    }
}

/// Whether the browser has the Web Locks API.
pub fn has_web_locks() -> bool {
    page::has_web_locks()
}

/// Tries to take the lock of `client_id`'s partition without waiting: `Some` when taken,
/// `None` when another tab holds it. Where the browser has no Web Locks, every lock is granted.
pub async fn try_lock(db: &str, client_id: &str) -> Option<Held> {
    let release = JsFuture::from(page::try_lock(db, client_id)).await.ok()?;
    let release = release.dyn_into::<Function>().ok()?;
    Some(Held {
        release: Some(release),
    })
}

/// This tab's client id and its lock: the id saved for this tab if its lock is free (and
/// `fresh` is false), else a new id (saved for the tab's reloads).
pub async fn claim(db: &str, fresh: bool) -> (String, Held) {
    let pair = JsFuture::from(page::claim(db, fresh))
        .await
        .map(|pair| Array::from(&pair))
        .unwrap_or_default();
    let id = pair.get(0).as_string().unwrap_or_default();
    let release = pair.get(1).dyn_into::<Function>().ok();
    (id, Held { release })
}
