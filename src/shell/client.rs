//! `TetherClient`: the class JavaScript uses (through `js/src/loader.ts`).

use std::cell::RefCell;
use std::rc::Rc;
use tether_core::SortedMap;

use js_sys::{Function, Promise};
use tether_core::{ChannelDelta, Config, Engine, Persist, PersistedState, ViewId};
use tether_protocol::Filter;
use wasm_bindgen::prelude::*;

use super::adopt;
use super::args;
use super::db::{self, Db};
use super::driver::{deferred, now_ms, with, Driver, DriverSetup, Store};
use super::error::ShellError;
use super::identity;
use super::options::{read_mutation, Options};
use wasm_bindgen_futures::spawn_local;

/// What adopting closed tabs' outboxes needs besides the database.
struct AdoptionPlan {
    db_name: String,
    url: String,
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
            url: self.url,
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

/// A new tab (no partition of its own yet) starts from the freshest cache of this device, so
/// that it shows what the device holds at once, also while the server is unreachable; the
/// copy is written to its own partition first (closed tabs' partitions are deleted once
/// adopted).
async fn seed_new_tab(db: &db::Db, client_id: &str) -> Option<PersistedState> {
    let channels = db.freshest_channels(client_id).await.ok()?;
    if channels.is_empty() {
        return None;
    }
    let writes: Vec<Persist> = channels
        .iter()
        .map(|(name, cached)| {
            Persist::Channel(ChannelDelta {
                channel: name.clone(),
                replace: true,
                upserts: cached.documents.values().cloned().collect(),
                removes: Vec::new(),
                cursor: cached.cursor.clone(),
                filter_key: cached.filter_key.clone(),
            })
        })
        .collect();
    db.write(client_id, 0, &writes).await.ok()?;
    Some(PersistedState {
        client_id: client_id.to_owned(),
        last_mutation_id: 0,
        outbox: SortedMap::new(),
        channels,
    })
}

fn invalid(reason: impl Into<String>) -> JsValue {
    ShellError::InvalidArgument {
        reason: reason.into(),
    }
    .to_js()
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
import type { ChangeBatch, ClientOptions, Filter, Json, Mutation, MutationResult, Status } from "../types.js";
"#;

/// A Tether client: one connection, one outbox, live views of channels.
#[wasm_bindgen]
pub struct TetherClient {
    driver: Rc<RefCell<Driver>>,
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

    /// Opens the connection and keeps it open (reconnecting with backoff).
    pub fn connect(&self) {
        self.run(|d| d.engine.connect(now_ms()));
    }

    /// Closes the connection and stops; unsettled promises reject with `CLOSED` (queued
    /// writes stay in IndexedDB).
    pub fn close(&self) {
        let effects = match self.driver.try_borrow_mut() {
            Ok(mut d) => d.shut_down(),
            Err(_) => return,
        };
        effects.run();
    }

    /// Replaces the auth token: used from the next connection on, and at once when the
    /// client waits for one (`state: "awaiting-token"` after the server refused a fixed token
    /// with close 4001 and `lastError.code` `AUTH_INVALID`).
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: String) {
        self.run(|d| d.engine.set_token(now_ms(), Some(token)));
    }

    /// Reconnects now, skipping any backoff wait.
    pub fn reconnect(&self) {
        self.run(|d| d.engine.went_online(now_ms()));
    }

    /// Opens a view of `channel` (optionally filtered); returns its id (`ViewChange.sub`).
    pub fn subscribe(
        &self,
        channel: &str,
        #[wasm_bindgen(unchecked_param_type = "Filter | undefined")] filter: JsValue,
    ) -> Result<f64, JsValue> {
        let filter = if filter.is_undefined() || filter.is_null() {
            None
        } else {
            let value = args::json_value(&filter, "filter")?;
            Some(Filter::parse(&value).map_err(|e| invalid(e.to_string()))?)
        };
        let mut result = Ok(0.0);
        self.run(|d| {
            result = d
                .engine
                .subscribe(now_ms(), channel, filter)
                .map(|v| v.0 as f64)
                .map_err(|e| ShellError::Engine(e).to_js());
        });
        result
    }

    /// Closes a view.
    pub fn unsubscribe(&self, sub: f64) {
        self.run(|d| {
            let _ = d.engine.unsubscribe(now_ms(), ViewId(sub as u64));
        });
    }

    /// Writes optimistically: shown at once, stored in IndexedDB, sent, and settled on the
    /// server's answer (`{mutationId, version}`, or an error with `code` CONFLICT, FORBIDDEN,
    /// NOT_FOUND, INVALID, ...).
    #[wasm_bindgen(unchecked_return_type = "Promise<MutationResult>")]
    pub fn mutate(
        &self,
        channel: &str,
        #[wasm_bindgen(unchecked_param_type = "Mutation")] mutation: JsValue,
    ) -> Result<Promise, JsValue> {
        let (op, id, doc, precondition) = read_mutation(&mutation)?;
        let (promise, resolvers) = deferred();
        let mut result = Ok(());
        self.run(|d| {
            match d
                .engine
                .mutate(now_ms(), channel, op, &id, doc, precondition)
            {
                Ok(mutation_id) => d.track_mutation(mutation_id, resolvers),
                Err(e) => result = Err(ShellError::Engine(e).to_js()),
            }
        });
        result.map(|()| promise)
    }

    /// Sends an ephemeral message to the channel's other subscribers.
    pub fn broadcast(
        &self,
        channel: &str,
        #[wasm_bindgen(unchecked_param_type = "Json")] payload: JsValue,
    ) -> Result<(), JsValue> {
        let payload = args::json_value(&payload, "payload")?;
        let mut result = Ok(());
        self.run(|d| {
            result = d
                .engine
                .broadcast(now_ms(), channel, payload)
                .map_err(|e| ShellError::Engine(e).to_js());
        });
        result
    }

    /// Calls a server method; settles with its response or an error (`TIMEOUT`, ...).
    #[wasm_bindgen(unchecked_return_type = "Promise<Json>")]
    pub fn request(
        &self,
        method: &str,
        #[wasm_bindgen(unchecked_param_type = "Json")] body: JsValue,
    ) -> Result<Promise, JsValue> {
        let body = args::json_value(&body, "body")?;
        let (promise, resolvers) = deferred();
        let mut result = Ok(());
        self.run(|d| match d.engine.request(now_ms(), method, body) {
            Ok(id) => d.track_request(id, resolvers),
            Err(e) => result = Err(ShellError::Engine(e).to_js()),
        });
        result.map(|()| promise)
    }

    /// Sets (or with `null`, clears) this client's presence on a channel.
    #[wasm_bindgen(js_name = setPresence)]
    pub fn set_presence(
        &self,
        channel: &str,
        #[wasm_bindgen(unchecked_param_type = "Json | null")] state: JsValue,
    ) -> Result<(), JsValue> {
        let state = if state.is_null() || state.is_undefined() {
            None
        } else {
            Some(args::json_value(&state, "state")?)
        };
        let mut result = Ok(());
        self.run(|d| {
            result = d
                .engine
                .set_presence(now_ms(), channel, state)
                .map_err(|e| ShellError::Engine(e).to_js());
        });
        result
    }

    /// Sets the callbacks for change batches and status changes.
    #[wasm_bindgen(js_name = setListeners)]
    pub fn set_listeners(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((batch: ChangeBatch) => void) | undefined")]
        on_change: Option<Function>,
        #[wasm_bindgen(unchecked_param_type = "((status: Status) => void) | undefined")]
        on_status: Option<Function>,
    ) {
        self.run(|d| d.set_listeners(on_change, on_status));
    }

    /// The current status.
    #[wasm_bindgen(unchecked_return_type = "Status")]
    pub fn status(&self) -> JsValue {
        self.driver.borrow().status_js()
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
        let db = if want_db {
            db::open(&db_name).await.ok().map(Rc::new)
        } else {
            None
        };
        // Without the database this tab's stored partition (if any) cannot be read, so the
        // client takes a new id: its mutation ids can never collide with stored ones, and the
        // old partition is adopted once the database opens.
        let fresh_id = want_db && db.is_none();
        let (client_id, lock) = identity::claim(&db_name, fresh_id).await;
        let restored = match &db {
            Some(db) => match db.load(&client_id).await.ok().flatten() {
                Some(state) => Some(state),
                None => seed_new_tab(db, &client_id).await,
            },
            None => None,
        };
        let config = parsed.config;
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
        let plan = AdoptionPlan {
            db_name: db_name.clone(),
            url: parsed.url.clone(),
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
                url: parsed.url,
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

    fn run(&self, f: impl FnOnce(&mut Driver)) {
        with(&Rc::downgrade(&self.driver), f);
    }
}
