//! Helpers shared by the browser tests of `TetherClient` (wasm32 only): the live reference
//! server's URL and control endpoint (both passed in at compile time by `make test`), a client
//! recorder, and bounded waiting.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use serde_json::{json, Value};
use tether::TetherClient;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// WebSocket URL of the reference server.
pub fn server_url() -> &'static str {
    match option_env!("TETHER_TEST_SERVER_URL") {
        Some(url) => url,
        None => panic!("TETHER_TEST_SERVER_URL is set by `make test` (scripts/test.sh)"),
    }
}

/// URL of the server supervisor (`tests/browser/support/server-supervisor.mjs`).
pub fn control_url() -> &'static str {
    match option_env!("TETHER_TEST_CONTROL_URL") {
        Some(url) => url,
        None => panic!("TETHER_TEST_CONTROL_URL is set by `make test` (scripts/test.sh)"),
    }
}

/// Stops, starts, restarts or wipes the reference server.
pub async fn control(action: &str) {
    control_text(action).await;
}

/// POSTs `action` (a path with an optional query) to the supervisor; returns its answer.
pub async fn control_text(action: &str) -> String {
    let window = web_sys::window().expect("window");
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let url = format!("{}/{action}", control_url());
    let response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .expect("control request");
    let response: web_sys::Response = response.dyn_into().expect("response");
    assert!(response.ok(), "control {action} failed");
    let text = JsFuture::from(response.text().expect("response text"))
        .await
        .expect("response body");
    text.as_string().expect("text")
}

/// GETs `path` (with an optional query) of the supervisor; returns its answer as JSON.
pub async fn control_get(path: &str) -> Value {
    let window = web_sys::window().expect("window");
    let url = format!("{}/{path}", control_url());
    let response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .expect("control request");
    let response: web_sys::Response = response.dyn_into().expect("response");
    let text = JsFuture::from(response.text().expect("response text"))
        .await
        .expect("response body");
    let text = text.as_string().expect("text");
    assert!(response.ok(), "control GET {path} failed: {text}");
    serde_json::from_str(&text).expect("json")
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:x}", (js_sys::Math::random() * 1e15) as u64)
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .expect("setTimeout");
    });
    JsFuture::from(promise).await.expect("sleep");
}

/// Polls `cond` every 20 ms for up to `timeout_ms`; panics with `what` when it never holds.
pub async fn wait_for(what: &str, timeout_ms: u32, mut cond: impl FnMut() -> bool) {
    let mut waited = 0;
    while !cond() {
        assert!(
            waited < timeout_ms,
            "timed out after {timeout_ms} ms waiting for {what}"
        );
        sleep(20).await;
        waited += 20;
    }
}

type Listener = Closure<dyn FnMut(JsValue)>;

/// A client and everything it reported.
pub struct Recorded {
    /// The client.
    pub client: TetherClient,
    /// Visible documents per view id, built from the change batches.
    pub views: Rc<RefCell<BTreeMap<u64, BTreeMap<String, Value>>>>,
    /// Every batch, as JSON.
    pub batches: Rc<RefCell<Vec<Value>>>,
    /// Every status, as JSON.
    pub statuses: Rc<RefCell<Vec<Value>>>,
    _listeners: (Listener, Listener),
}

/// A JS value as JSON (via `JSON.stringify`; `undefined` reads as `null`).
pub fn to_value(value: &JsValue) -> Value {
    if value.is_undefined() || value.is_null() {
        return Value::Null;
    }
    let json = js_sys::JSON::stringify(value).expect("stringify");
    serde_json::from_str(&String::from(json)).expect("json")
}

/// Creates a client with `options` (the server URL is filled in unless `options` has a
/// `url`; `urlFrom` and `getTokenFrom` are JavaScript sources of a `url` function and a
/// `getToken` provider) and records its output.
pub async fn client(options: Value) -> Recorded {
    let mut options = options;
    if options.get("url").is_none() {
        options["url"] = json!(server_url());
    }
    let js_options = js_sys::JSON::parse(&options.to_string()).expect("options");
    if let Some(url) = options.get("urlFrom").and_then(Value::as_str) {
        let function: JsValue = js_sys::eval(url).expect("url source");
        Reflect::set(&js_options, &"url".into(), &function).expect("set url");
    }
    if let Some(get_token) = options.get("getTokenFrom").and_then(Value::as_str) {
        let function: JsValue = js_sys::eval(get_token).expect("getToken source");
        Reflect::set(&js_options, &"getToken".into(), &function).expect("set getToken");
    }
    let client = TetherClient::start(js_options)
        .await
        .expect("create client");
    let views: Rc<RefCell<BTreeMap<u64, BTreeMap<String, Value>>>> = Rc::default();
    let batches: Rc<RefCell<Vec<Value>>> = Rc::default();
    let statuses: Rc<RefCell<Vec<Value>>> = Rc::default();
    let (v, b) = (views.clone(), batches.clone());
    let on_change = Closure::<dyn FnMut(JsValue)>::new(move |batch: JsValue| {
        let batch = to_value(&batch);
        for change in batch["views"].as_array().into_iter().flatten() {
            let sub = change["sub"].as_u64().expect("sub");
            let mut views = v.borrow_mut();
            let view = views.entry(sub).or_default();
            if change["replace"].as_bool() == Some(true) {
                view.clear();
            }
            for id in change["removes"].as_array().into_iter().flatten() {
                view.remove(id.as_str().expect("id"));
            }
            for row in change["upserts"].as_array().into_iter().flatten() {
                view.insert(row["id"].as_str().expect("id").to_owned(), row.clone());
            }
        }
        b.borrow_mut().push(batch);
    });
    let s = statuses.clone();
    let on_status = Closure::<dyn FnMut(JsValue)>::new(move |status: JsValue| {
        s.borrow_mut().push(to_value(&status));
    });
    client.set_listeners(
        Some(on_change.as_ref().unchecked_ref::<Function>().clone()),
        Some(on_status.as_ref().unchecked_ref::<Function>().clone()),
    );
    Recorded {
        client,
        views,
        batches,
        statuses,
        _listeners: (on_change, on_status),
    }
}

impl Recorded {
    /// The current status as JSON.
    pub fn status(&self) -> Value {
        to_value(&self.client.status())
    }

    /// Whether the client is connected.
    pub fn ready(&self) -> bool {
        self.status()["state"] == "ready"
    }

    /// The visible row of `id` in view `sub`.
    pub fn row(&self, sub: f64, id: &str) -> Option<Value> {
        self.views
            .borrow()
            .get(&(sub as u64))
            .and_then(|v| v.get(id).cloned())
    }

    /// Subscribes to a channel without filter.
    pub fn subscribe(&self, channel: &str) -> f64 {
        self.client
            .subscribe(channel, JsValue::UNDEFINED)
            .expect("subscribe")
    }

    /// Starts a mutation; returns its promise as a future of `Result<Value, Value>`.
    pub fn mutate(&self, channel: &str, mutation: Value) -> JsFuture {
        let js = js_sys::JSON::parse(&mutation.to_string()).expect("mutation");
        JsFuture::from(self.client.mutate(channel, js).expect("mutate accepted"))
    }

    /// `(kind, id, own)` of every event reported for view `sub` so far.
    pub fn events(&self, sub: f64) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        for batch in self.batches.borrow().iter() {
            for change in batch["views"].as_array().into_iter().flatten() {
                if change["sub"].as_f64() != Some(sub) {
                    continue;
                }
                for e in change["events"].as_array().into_iter().flatten() {
                    let text = |v: &Value| v.as_str().expect("string").to_owned();
                    out.push((text(&e["kind"]), text(&e["id"]), e["own"] == true));
                }
            }
        }
        out
    }
}

/// A JS value (e.g. a rejection) as JSON, including an Error's `code` and `message`.
pub fn error_json(error: &JsValue) -> Value {
    let get = |key: &str| Reflect::get(error, &key.into()).unwrap_or(JsValue::UNDEFINED);
    json!({
        "code": get("code").as_string(),
        "message": get("message").as_string(),
        "local": to_value(&get("local")),
        "server": to_value(&get("server")),
    })
}

/// Evaluates JavaScript source whose value is a promise and waits for it.
pub async fn eval_promise(source: &str) -> Result<JsValue, JsValue> {
    let promise: Promise = js_sys::eval(source)?.dyn_into()?;
    JsFuture::from(promise).await
}

/// Quotes `text` as a JavaScript string literal.
pub fn js_str(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// Reads a store of database `db` straight through IndexedDB (not through the client):
/// `{ count, keys }` of store `store`. Opens at the current version and closes again.
pub async fn read_store(db: &str, store: &str) -> Value {
    let source = format!(
        "new Promise((resolve, reject) => {{ \
           const r = indexedDB.open({db}); \
           r.onerror = () => reject(r.error); \
           r.onsuccess = () => {{ \
             const d = r.result; \
             if (!d.objectStoreNames.contains({store})) {{ d.close(); resolve({{count: 0, keys: []}}); return; }} \
             const k = d.transaction({store}).objectStore({store}).getAllKeys(); \
             k.onerror = () => {{ d.close(); reject(k.error); }}; \
             k.onsuccess = () => {{ d.close(); resolve({{count: k.result.length, keys: k.result}}); }}; \
           }}; }})",
        db = js_str(db),
        store = js_str(store),
    );
    to_value(&eval_promise(&source).await.expect("read the store"))
}

/// How many mutations database `db`'s outbox holds: its records are chunks `{ ids, text }`
/// (src/shell/db.rs), a row of an earlier build one mutation.
pub async fn outbox_mutations(db: &str) -> u64 {
    let source = format!(
        "new Promise((resolve, reject) => {{ \
           const r = indexedDB.open({db}); \
           r.onerror = () => reject(r.error); \
           r.onsuccess = () => {{ \
             const d = r.result; \
             if (!d.objectStoreNames.contains('outbox')) {{ d.close(); resolve(0); return; }} \
             const k = d.transaction('outbox').objectStore('outbox').getAll(); \
             k.onerror = () => {{ d.close(); reject(k.error); }}; \
             k.onsuccess = () => {{ d.close(); \
               resolve(k.result.reduce((n, row) => n + (row && Array.isArray(row.ids) ? row.ids.length : 1), 0)); }}; \
           }}; }})",
        db = js_str(db),
    );
    eval_promise(&source)
        .await
        .expect("read the outbox")
        .as_f64()
        .expect("a count") as u64
}
