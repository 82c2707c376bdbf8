//! A small wrapper of IndexedDB through web-sys, for the key/value [`crate::storage`] (the
//! client's own database is `db/store.js`)
//! ([MDN: IndexedDB API](https://developer.mozilla.org/en-US/docs/Web/API/IndexedDB_API)):
//! requests and transactions as futures, and opening a database with the object stores it
//! needs.
//!
//! One pattern serves every request: the promise's own `resolve` function is set as the
//! request's `onsuccess` and `onerror` handlers (a transaction's `oncomplete` and `onabort`),
//! and the event's type says which happened. The handlers are attached when the request is
//! placed, so no event is missed, no Rust closure is created per request, and a promise nobody
//! waits for (a transaction given up) never becomes an unhandled rejection.

use js_sys::{Array, Promise, Reflect};

use super::driver::deferred;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbDatabase, IdbFactory, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction,
    IdbTransactionMode,
};

/// An IndexedDB failure: the `DOMException`'s name and message (`"VersionError: ..."`).
#[derive(Debug, Clone, PartialEq)]
pub struct IdbError(pub String);

impl IdbError {
    /// The error a browser call threw or a request reported.
    pub fn from_js(error: &JsValue) -> IdbError {
        let text = |key: &str| {
            Reflect::get(error, &JsValue::from_str(key))
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        let (name, message) = (text("name"), text("message"));
        match (name.is_empty(), message.is_empty()) {
            (true, true) => IdbError(
                error
                    .as_string()
                    .unwrap_or_else(|| "IndexedDB failed".into()),
            ),
            (false, true) => IdbError(name),
            (true, false) => IdbError(message),
            (false, false) => IdbError([name.as_str(), ": ", message.as_str()].concat()),
        }
    }

    fn text(text: &str) -> IdbError {
        IdbError(text.to_owned())
    }
}

/// A placed request, with its handlers attached.
pub struct Req {
    request: IdbRequest,
    done: Promise,
}

impl Req {
    /// Attaches the handlers to a request just placed.
    pub fn new(request: IdbRequest) -> Req {
        let (done, (resolve, _)) = deferred();
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&resolve));
        Req { request, done }
    }

    /// The request's result, once it succeeded.
    pub async fn result(self) -> Result<JsValue, IdbError> {
        if event_was(JsFuture::from(self.done).await, "success") {
            self.request.result().map_err(|e| IdbError::from_js(&e))
        } else {
            Err(request_error(&self.request))
        }
    }
}

/// Whether the event a handler promise resolved with is of type `kind`.
fn event_was(event: Result<JsValue, JsValue>, kind: &str) -> bool {
    event
        .ok()
        .and_then(|e| Reflect::get(&e, &JsValue::from_str("type")).ok())
        .and_then(|t| t.as_string())
        .is_some_and(|t| t == kind)
}

fn request_error(request: &IdbRequest) -> IdbError {
    match request.error() {
        Ok(Some(error)) => IdbError::from_js(error.as_ref()),
        _ => IdbError::text("IndexedDB request failed"),
    }
}

/// Places a request (a call that returns an `IdbRequest` or throws).
pub fn place(request: Result<IdbRequest, JsValue>) -> Result<Req, IdbError> {
    request.map(Req::new).map_err(|e| IdbError::from_js(&e))
}

/// Places a request whose outcome only the transaction reports (a failed one aborts it).
pub fn fire(request: Result<IdbRequest, JsValue>) -> Result<(), IdbError> {
    request.map(|_| ()).map_err(|e| IdbError::from_js(&e))
}

/// A transaction and the promise of its end.
pub struct Tx {
    /// The transaction.
    pub tx: IdbTransaction,
    done: Promise,
}

impl Tx {
    /// Starts a transaction over `stores`.
    pub fn start(db: &IdbDatabase, stores: &[&str], write: bool) -> Result<Tx, IdbError> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let mode = if write {
            IdbTransactionMode::Readwrite
        } else {
            IdbTransactionMode::Readonly
        };
        let tx = db
            .transaction_with_str_sequence_and_mode(&names, mode)
            .map_err(|e| IdbError::from_js(&e))?;
        let (done, (resolve, _)) = deferred();
        tx.set_oncomplete(Some(&resolve));
        tx.set_onabort(Some(&resolve));
        Ok(Tx { tx, done })
    }

    /// One of its object stores.
    pub fn store(&self, name: &str) -> Result<IdbObjectStore, IdbError> {
        self.tx
            .object_store(name)
            .map_err(|e| IdbError::from_js(&e))
    }

    /// Waits until the transaction committed (`complete`); an aborted one is an error.
    pub async fn done(self) -> Result<(), IdbError> {
        if event_was(JsFuture::from(self.done).await, "complete") {
            return Ok(());
        }
        Err(match self.tx.error() {
            Some(error) => IdbError::from_js(error.as_ref()),
            None => IdbError::text("AbortError: the transaction was aborted"),
        })
    }
}

/// The browser's IndexedDB factory.
pub fn factory() -> Result<IdbFactory, IdbError> {
    let window = web_sys::window().ok_or_else(|| IdbError::text("no window"))?;
    match window.indexed_db() {
        Ok(Some(factory)) => Ok(factory),
        Ok(None) => Err(IdbError::text("IndexedDB is not available")),
        Err(e) => Err(IdbError::from_js(&e)),
    }
}

/// Opens database `name` with (at least) the object stores `stores`: at its current version
/// when it has them all (so a database a newer build upgraded still opens), else one version
/// up, creating the missing ones.
pub async fn open(name: &str, stores: &[&str]) -> Result<IdbDatabase, IdbError> {
    let factory = factory()?;
    let db = open_at(&factory, name, None, stores).await?;
    let names = db.object_store_names();
    if stores.iter().all(|s| names.contains(s)) {
        return Ok(db);
    }
    let next = db.version() as u32 + 1;
    db.close();
    open_at(&factory, name, Some(next), stores).await
}

async fn open_at(
    factory: &IdbFactory,
    name: &str,
    version: Option<u32>,
    stores: &[&str],
) -> Result<IdbDatabase, IdbError> {
    let request: IdbOpenDbRequest = match version {
        None => factory.open(name),
        Some(v) => factory.open_with_u32(name, v),
    }
    .map_err(|e| IdbError::from_js(&e))?;
    let upgrading = request.clone();
    let wanted: Vec<String> = stores.iter().map(|s| (*s).to_owned()).collect();
    let on_upgrade = Closure::<dyn FnMut()>::new(move || {
        let Ok(db) = upgrading.result() else { return };
        let db: IdbDatabase = db.unchecked_into();
        let names = db.object_store_names();
        for store in &wanted {
            if !names.contains(store) {
                let _ = db.create_object_store(store);
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let (done, (resolve, reject)) = deferred();
    request.set_onsuccess(Some(&resolve));
    request.set_onerror(Some(&reject));
    // Another connection does not close for the upgrade: fail now, retry later.
    request.set_onblocked(Some(&reject));
    let outcome = JsFuture::from(done).await;
    request.set_onupgradeneeded(None);
    drop(on_upgrade);
    match outcome {
        Ok(_) => request
            .result()
            .map(JsCast::unchecked_into)
            .map_err(|e| IdbError::from_js(&e)),
        Err(_) => match request.error() {
            Ok(Some(error)) => Err(IdbError::from_js(error.as_ref())),
            _ => Err(IdbError::text("blocked by another connection")),
        },
    }
}

/// Deletes database `name`.
pub async fn delete(name: &str) -> Result<(), IdbError> {
    let factory = factory()?;
    let request = factory
        .delete_database(name)
        .map_err(|e| IdbError::from_js(&e))?;
    place(Ok(request.into()))?.result().await.map(|_| ())
}
