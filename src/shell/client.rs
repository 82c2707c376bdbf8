//! `TetherClient`: the class JavaScript uses (through `js/src/loader.ts`).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use tether_core::{Config, Engine, EngineError, Precondition, ViewId};
use tether_protocol::{Filter, IdSet, Json, Op, Selector};
use wasm_bindgen::prelude::*;

use super::adopt;
use super::args;
use super::db::{self, Db};
use super::driver::{deferred, now_ms, with, with_later, Driver, DriverSetup, Store};
use super::error::ShellError;
use super::identity::Held;
use super::options::{read_mutation, Endpoints, Options};
use wasm_bindgen_futures::spawn_local;

/// What adopting closed tabs' outboxes needs besides the database.
struct AdoptionPlan {
    db_name: String,
    urls: Endpoints,
    config: Config,
    get_token: Option<Function>,
}

impl AdoptionPlan {
    /// Adopts the outboxes of closed tabs now, and looks for more every few seconds until the
    /// client closes.
    fn start(self, driver: &Rc<RefCell<Driver>>, db: Rc<Db>) {
        let adoption = adopt::Adoption {
            db,
            db_name: self.db_name,
            me: driver.borrow().engine.client_id().to_owned(),
            urls: self.urls,
            config: self.config,
            get_token: self.get_token,
            parent: Rc::downgrade(driver),
        };
        adopt::adopt_orphans(adoption.clone());
        // Tabs that close later are adopted by this one, within a few seconds.
        driver
            .borrow_mut()
            .scan_every(adopt::SCAN_EVERY_MS, move || {
                adopt::adopt_orphans(adoption.clone());
            });
    }
}

fn invalid(reason: impl Into<String>) -> JsValue {
    ShellError::InvalidArgument {
        reason: reason.into(),
    }
    .to_js()
}

/// The view argument of `subscribe`: a filter, or `{ids, filter?}` for a by-id view (no
/// filter has an `ids` key).
fn read_selector(value: &Json) -> Result<Selector, JsValue> {
    let ids = match value.get("ids") {
        Some(ids) => Some(IdSet::parse(ids).map_err(|e| invalid(e.to_string()))?),
        None => None,
    };
    let filter = match &ids {
        Some(_) => value.get("filter").filter(|f| !f.is_null()),
        None => Some(value),
    };
    let filter = match filter {
        Some(f) => Some(Filter::parse(f).map_err(|e| invalid(e.to_string()))?),
        None => None,
    };
    Ok(Selector { filter, ids })
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
import type { ClientOptions } from "../types.js";
"#;

/// A Tether client: one connection, one outbox, live views of channels.
///
/// JavaScript reaches it through three exports: `create`, `clientId` and `call`, one entry
/// for every other method (each export costs its own argument shims and its own copy of the
/// drain in the bundle). The Rust methods below are what `call` does, for Rust callers.
#[wasm_bindgen]
pub struct TetherClient {
    driver: Rc<RefCell<Driver>>,
}

/// A call of the client, its arguments read (see [`TetherClient::call`]).
enum Call {
    Connect,
    Close,
    SetToken(String),
    Reconnect,
    Subscribe(String, Selector),
    Unsubscribe(u64),
    Mutate(String, Op, String, Option<Json>, Precondition),
    Broadcast(String, Json),
    Request(String, Json),
    SetPresence(String, Option<Json>),
    SetListeners(Option<Function>, Option<Function>),
    Status,
}

/// A string argument of `call` (anything else reads as empty, which the engine refuses as a
/// channel name).
fn text(value: &JsValue) -> String {
    value.as_string().unwrap_or_default()
}

/// An optional JSON argument: `undefined` and `null` are "not given".
fn optional_json(value: &JsValue, path: &str) -> Result<Option<Json>, JsValue> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else {
        args::json_value(value, path).map(Some)
    }
}

#[wasm_bindgen]
impl TetherClient {
    /// Creates a client: opens IndexedDB (or falls back to memory), claims this tab's client
    /// id and restores its outbox and cached channels; resolves with the client, or rejects with
    /// `INVALID_ARGUMENT` for a bad option. Call `connect()` to go online.
    #[wasm_bindgen(unchecked_return_type = "Promise<TetherClient>")]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> Promise {
        // One promise and a task (the pattern every async path of the shell uses), not an
        // exported `async fn` with its own future-to-promise glue.
        let (promise, (resolve, reject)) = deferred();
        spawn_local(async move {
            match TetherClient::start(options).await {
                Ok(client) => resolve.call1(&JsValue::NULL, &client.into()),
                Err(error) => reject.call1(&JsValue::NULL, &error),
            }
            .ok();
        });
        promise
    }

    /// This client's id (its outbox partition and the server's exactly-once key).
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.driver.borrow().engine.client_id().to_owned()
    }

    /// Every other method, by number (`js/src/loader.ts` names them): 0 `connect()`,
    /// 1 `close()`, 2 `setToken(token)`, 3 `reconnect()`, 4 `subscribe(channel, filter?)`
    /// (or `{ids, filter?}` for a by-id view) → view id, 5 `unsubscribe(view)`, 6 `mutate(channel, mutation)` → promise,
    /// 7 `broadcast(channel, payload)`, 8 `request(method, body)` → promise,
    /// 9 `setPresence(channel, state | null)`, 10 `setListeners(onChange?, onStatus?)`,
    /// 11 `status()`. Throws `INVALID_ARGUMENT` or the engine's error.
    pub fn call(&self, op: u32, a: JsValue, b: JsValue) -> Result<JsValue, JsValue> {
        let call = match op {
            0 => Call::Connect,
            1 => Call::Close,
            2 => Call::SetToken(text(&a)),
            3 => Call::Reconnect,
            4 => {
                let selector = match optional_json(&b, "filter")? {
                    Some(value) => read_selector(&value)?,
                    None => Selector::default(),
                };
                Call::Subscribe(text(&a), selector)
            }
            5 => Call::Unsubscribe(a.as_f64().map_or(u64::MAX, |v| v as u64)),
            6 => {
                let (op, id, doc, precondition) = read_mutation(&b)?;
                Call::Mutate(text(&a), op, id, doc, precondition)
            }
            7 => Call::Broadcast(text(&a), args::json_value(&b, "payload")?),
            8 => Call::Request(text(&a), args::json_value(&b, "body")?),
            9 => Call::SetPresence(text(&a), optional_json(&b, "state")?),
            10 => Call::SetListeners(a.dyn_into().ok(), b.dyn_into().ok()),
            _ => Call::Status,
        };
        self.perform(call)
    }
}

impl TetherClient {
    /// Creates a client (what `create` resolves with), for Rust callers: opens IndexedDB (or
    /// falls back to memory), claims this tab's client id and restores its outbox and cached
    /// channels.
    pub async fn start(options: JsValue) -> Result<TetherClient, JsValue> {
        let parsed = Options::read(&options)?;
        let get_token = parsed.get_token.clone();
        let db_name = parsed
            .db_name
            .clone()
            .unwrap_or_else(|| "tether".to_owned());
        let want_db = parsed.storage.as_deref() != Some("memory");
        let booted = db::start(&db_name, want_db).await;
        let db = booted.db.map(Rc::new);
        let (client_id, lock, restored) =
            (booted.client_id, Held::new(booted.release), booted.restored);
        let config = parsed.config;
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
        let plan = AdoptionPlan {
            db_name: db_name.clone(),
            urls: parsed.urls.clone(),
            config: config.clone(),
            get_token: get_token.clone(),
        };
        let engine = match restored {
            Some(state) => Engine::restore(config, state, seed),
            None => Engine::new(config, client_id, seed),
        };
        let store = match (&db, want_db) {
            (Some(db), _) => Store::Durable(db.clone()),
            (None, true) => Store::Opening(None),
            (None, false) => Store::Memory,
        };
        let driver = Driver::start(
            engine,
            DriverSetup {
                urls: parsed.urls,
                store,
                lock: Some(lock),
                get_token,
            },
        );
        let weak = Rc::downgrade(&driver);
        match db {
            Some(db) => {
                plan.start(&driver, db);
                with(&weak, |d| d.ask_persistent_storage());
            }
            None if want_db => {
                let late = weak.clone();
                driver.borrow_mut().retry_storage(
                    db_name,
                    parsed.storage_wait_ms as f64,
                    Box::new(move |db| {
                        if let Some(driver) = late.upgrade() {
                            plan.start(&driver, db);
                        }
                    }),
                );
            }
            None => {}
        }
        Ok(TetherClient { driver })
    }

    /// Carries out a call (the one body of every method, for `call` and for Rust callers).
    fn perform(&self, call: Call) -> Result<JsValue, JsValue> {
        match call {
            Call::Close => {
                let effects = match self.driver.try_borrow_mut() {
                    Ok(mut d) => d.shut_down(),
                    Err(_) => return Ok(JsValue::UNDEFINED),
                };
                effects.run();
                return Ok(JsValue::UNDEFINED);
            }
            Call::Status => return Ok(self.driver.borrow().status_js()),
            _ => {}
        }
        let mut result = Ok(JsValue::UNDEFINED);
        with_later(&Rc::downgrade(&self.driver), |d| {
            let now = now_ms();
            let done = |r: Result<(), EngineError>| match r {
                Ok(()) => Ok(JsValue::UNDEFINED),
                Err(e) => Err(ShellError::Engine(e).to_js()),
            };
            result = match call {
                Call::Connect => {
                    d.engine.connect(now);
                    done(Ok(()))
                }
                Call::SetToken(token) => {
                    d.engine.set_token(now, Some(token));
                    done(Ok(()))
                }
                Call::Reconnect => {
                    d.engine.went_online(now);
                    done(Ok(()))
                }
                Call::Subscribe(channel, selector) => {
                    match d.engine.subscribe_selector(now, &channel, selector) {
                        Ok(view) => Ok(JsValue::from_f64(view.0 as f64)),
                        Err(e) => done(Err(e)),
                    }
                }
                Call::Unsubscribe(view) => {
                    let _ = d.engine.unsubscribe(now, ViewId(view));
                    done(Ok(()))
                }
                Call::Mutate(channel, op, id, doc, precondition) => {
                    match d.engine.mutate(now, &channel, op, &id, doc, precondition) {
                        Ok(mutation_id) => {
                            let (promise, resolvers) = deferred();
                            d.track_mutation(mutation_id, resolvers);
                            Ok(promise.into())
                        }
                        Err(e) => done(Err(e)),
                    }
                }
                Call::Broadcast(channel, payload) => {
                    done(d.engine.broadcast(now, &channel, payload))
                }
                Call::Request(method, body) => match d.engine.request(now, &method, body) {
                    Ok(id) => {
                        let (promise, resolvers) = deferred();
                        d.track_request(id, resolvers);
                        Ok(promise.into())
                    }
                    Err(e) => done(Err(e)),
                },
                Call::SetPresence(channel, state) => {
                    done(d.engine.set_presence(now, &channel, state))
                }
                Call::SetListeners(on_change, on_status) => {
                    d.set_listeners(on_change, on_status);
                    done(Ok(()))
                }
                Call::Close | Call::Status => done(Ok(())),
            };
        });
        result
    }

    /// Opens the connection and keeps it open (reconnecting with backoff).
    pub fn connect(&self) {
        let _ = self.perform(Call::Connect);
    }

    /// Closes the connection and stops; unsettled promises reject with `CLOSED` (queued
    /// writes stay in IndexedDB).
    pub fn close(&self) {
        let _ = self.perform(Call::Close);
    }

    /// Replaces the auth token (see `setToken` in the package README).
    pub fn set_token(&self, token: String) {
        let _ = self.perform(Call::SetToken(token));
    }

    /// Reconnects now, skipping any backoff wait.
    pub fn reconnect(&self) {
        let _ = self.perform(Call::Reconnect);
    }

    /// Opens a view of `channel` (optionally filtered: a `Filter` object or `undefined`; or
    /// `{ids, filter?}` for a by-id view); returns its id (`ViewChange.sub`).
    pub fn subscribe(&self, channel: &str, filter: JsValue) -> Result<f64, JsValue> {
        self.call(4, JsValue::from_str(channel), filter)
            .map(|view| view.as_f64().unwrap_or(0.0))
    }

    /// Closes a view.
    pub fn unsubscribe(&self, sub: f64) {
        let _ = self.perform(Call::Unsubscribe(sub as u64));
    }

    /// Writes optimistically (a `Mutation` object): shown at once, stored in IndexedDB, sent,
    /// and settled on the server's answer (`{mutationId, version}`, or an error with `code`).
    pub fn mutate(&self, channel: &str, mutation: JsValue) -> Result<Promise, JsValue> {
        self.call(6, JsValue::from_str(channel), mutation)
            .map(JsCast::unchecked_into)
    }

    /// Sends an ephemeral message to the channel's other subscribers.
    pub fn broadcast(&self, channel: &str, payload: JsValue) -> Result<(), JsValue> {
        self.call(7, JsValue::from_str(channel), payload).map(drop)
    }

    /// Calls a server method; settles with its response or an error (`TIMEOUT`, ...).
    pub fn request(&self, method: &str, body: JsValue) -> Result<Promise, JsValue> {
        self.call(8, JsValue::from_str(method), body)
            .map(JsCast::unchecked_into)
    }

    /// Sets (or with `null`, clears) this client's presence on a channel.
    pub fn set_presence(&self, channel: &str, state: JsValue) -> Result<(), JsValue> {
        self.call(9, JsValue::from_str(channel), state).map(drop)
    }

    /// Sets the callbacks for change batches and status changes.
    pub fn set_listeners(&self, on_change: Option<Function>, on_status: Option<Function>) {
        let _ = self.perform(Call::SetListeners(on_change, on_status));
    }

    /// The current status (a `Status` object).
    pub fn status(&self) -> JsValue {
        self.driver.borrow().status_js()
    }
}
