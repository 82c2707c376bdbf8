//! Which client id (and so which outbox partition) this tab is, and which partitions belong to
//! no open tab.
//!
//! A tab keeps its id across reloads in `sessionStorage`. While a tab runs it holds the Web
//! Lock `tether:<db>:<clientId>` ([MDN: Web Locks API](https://developer.mozilla.org/en-US/docs/Web/API/Web_Locks_API)),
//! so a duplicated tab (which copies `sessionStorage`) sees the lock taken and starts a new id,
//! and a partition whose lock is free belongs to a tab that closed: another tab may adopt it.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::driver::deferred;

fn lock_name(db: &str, client_id: &str) -> String {
    ["tether:", db, ":", client_id].concat()
}

/// A random client id: `c-` and 128 random bits in hex, from the Web Crypto API
/// ([MDN: `crypto.getRandomValues`](https://developer.mozilla.org/en-US/docs/Web/API/Crypto/getRandomValues),
/// available in insecure contexts too). The id is the exactly-once key of every write of this
/// tab, so two tabs must never draw the same one; `Math.random` is used only where a browser
/// has no Web Crypto at all.
pub fn new_client_id() -> String {
    let bytes = crypto_random_bytes().unwrap_or_else(|| {
        (0..16)
            .map(|_| (js_sys::Math::random() * 256.0) as u8)
            .collect()
    });
    let mut id = String::with_capacity(2 + 2 * bytes.len());
    id.push_str("c-");
    for byte in bytes {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// 16 bytes from `globalThis.crypto.getRandomValues`, or `None` without Web Crypto.
fn crypto_random_bytes() -> Option<Vec<u8>> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok()?;
    if crypto.is_undefined() || crypto.is_null() {
        return None;
    }
    let fill: Function = Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
        .ok()?
        .dyn_into()
        .ok()?;
    let array = js_sys::Uint8Array::new_with_length(16);
    fill.call1(&crypto, &array).ok()?;
    Some(array.to_vec())
}

fn session_key(db: &str) -> String {
    ["tether:", db, ":clientId"].concat()
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// A held lock: the lock is released when `release` is called (or the page goes away).
pub struct Held {
    release: Option<Function>,
}

impl Held {
    /// Releases the lock.
    pub fn release(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::NULL);
        }
    }
}

/// Whether the browser has the Web Locks API.
pub fn has_web_locks() -> bool {
    web_sys::window()
        .map(|w| w.navigator())
        .and_then(|n| Reflect::get(&n, &JsValue::from_str("locks")).ok())
        .is_some_and(|l| !l.is_undefined() && !l.is_null())
}

/// Tries to take the lock `name` without waiting: `Some` when taken, `None` when another tab
/// holds it. Where the browser has no Web Locks, every lock is granted.
pub async fn try_lock(db: &str, client_id: &str) -> Option<Held> {
    let locks = web_sys::window()
        .map(|w| w.navigator())
        .and_then(|n| Reflect::get(&n, &JsValue::from_str("locks")).ok())
        .filter(|l| !l.is_undefined() && !l.is_null());
    let Some(locks) = locks else {
        return Some(Held { release: None });
    };
    let request: Function = Reflect::get(&locks, &JsValue::from_str("request"))
        .ok()?
        .dyn_into()
        .ok()?;
    // The callback resolves `granted` with a release function, and keeps the lock until that
    // function resolves the promise it returns.
    let (granted_tx, granted) = futures_oneshot();
    let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
        if lock.is_null() {
            granted_tx(JsValue::NULL);
            return JsValue::UNDEFINED;
        }
        let (held, (release, _)) = deferred();
        granted_tx(release.into());
        held.into()
    });
    let options = Object::new();
    let _ = Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE);
    let _ = request.call3(
        &locks,
        &lock_name(db, client_id).into(),
        &options,
        &callback,
    );
    let release = JsFuture::from(granted).await.ok()?;
    if release.is_null() {
        None
    } else {
        Some(Held {
            release: release.dyn_into().ok(),
        })
    }
}

/// A promise and the function that resolves it.
fn futures_oneshot() -> (impl FnOnce(JsValue), Promise) {
    let (promise, (resolve, _)) = deferred();
    let resolve = move |value: JsValue| {
        let _ = resolve.call1(&JsValue::NULL, &value);
    };
    (resolve, promise)
}

/// This tab's client id and its lock: the id saved for this tab if its lock is free (and
/// `fresh` is false), else a new id (saved for the tab's reloads).
pub async fn claim(db: &str, fresh: bool) -> (String, Held) {
    let storage = session_storage();
    let saved = storage
        .as_ref()
        .filter(|_| !fresh)
        .and_then(|s| s.get_item(&session_key(db)).ok().flatten());
    if let Some(id) = saved {
        if let Some(held) = try_lock(db, &id).await {
            return (id, held);
        }
    }
    loop {
        let id = new_client_id();
        if let Some(held) = try_lock(db, &id).await {
            if let Some(storage) = &storage {
                let _ = storage.set_item(&session_key(db), &id);
            }
            return (id, held);
        }
    }
}
