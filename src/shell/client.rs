//! `TetherClient`: the class JavaScript uses (through `js/src/loader.ts`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use serde::Deserialize;
use tether_core::{
    Auth, BackoffConfig, ChannelDelta, Config, Engine, Persist, PersistedState, Precondition,
    ViewId,
};
use tether_protocol::{Filter, Op};
use wasm_bindgen::prelude::*;

use super::adopt;
use super::convert::from_js;
use super::db;
use super::driver::{deferred, now_ms, with, Driver, DriverSetup};
use super::error::ShellError;
use super::identity;
use super::signals;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BackoffOptions {
    initial_ms: Option<u64>,
    max_ms: Option<u64>,
    factor: Option<u32>,
    max_attempts: Option<u32>,
    reset_after_ms: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct HeartbeatOptions {
    ping_interval_ms: Option<u64>,
    dead_link_timeout_ms: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct FlushOptions {
    interval_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    url: String,
    token: Option<String>,
    storage: Option<String>,
    db_name: Option<String>,
    // `Option` rather than `#[serde(default)]`: serde-wasm-bindgen reads a key that is present
    // with the value `undefined` (`backoff={undefined}` in JSX) as `None`, but refuses it for a
    // struct, which would stop the client from starting.
    backoff: Option<BackoffOptions>,
    heartbeat: Option<HeartbeatOptions>,
    flush: Option<FlushOptions>,
    request_timeout_ms: Option<u64>,
    handshake_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all_fields = "camelCase")]
enum MutationArg {
    #[serde(rename = "put")]
    Put {
        id: String,
        doc: tether_protocol::Json,
        #[serde(default, deserialize_with = "base_version")]
        base_version: Option<Option<u64>>,
    },
    #[serde(rename = "patch")]
    Patch {
        id: String,
        doc: tether_protocol::Json,
        #[serde(default, deserialize_with = "base_version")]
        base_version: Option<Option<u64>>,
    },
    #[serde(rename = "delete")]
    Delete {
        id: String,
        #[serde(default, deserialize_with = "base_version")]
        base_version: Option<Option<u64>>,
    },
}

/// `baseVersion`: absent → automatic, `null` → unconditional, a number → that version.
fn base_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

fn precondition(base: Option<Option<u64>>) -> Precondition {
    match base {
        None => Precondition::Auto,
        Some(None) => Precondition::Unconditional,
        Some(Some(0)) => Precondition::MustNotExist,
        Some(Some(v)) => Precondition::Version(v),
    }
}

fn client_id_of(driver: &Rc<RefCell<Driver>>) -> String {
    driver.borrow().engine.client_id().to_owned()
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
        outbox: BTreeMap::new(),
        channels,
    })
}

fn invalid(reason: impl Into<String>) -> JsValue {
    ShellError::InvalidArgument {
        reason: reason.into(),
    }
    .to_js()
}

fn config(options: &Options, has_provider: bool) -> Config {
    let backoff = BackoffConfig::default();
    let defaults = Config::default();
    let given_backoff = options.backoff.as_ref();
    let heartbeat = options.heartbeat.as_ref();
    Config {
        backoff: BackoffConfig {
            initial_ms: given_backoff
                .and_then(|b| b.initial_ms)
                .unwrap_or(backoff.initial_ms),
            max_ms: given_backoff
                .and_then(|b| b.max_ms)
                .unwrap_or(backoff.max_ms),
            factor: given_backoff
                .and_then(|b| b.factor)
                .unwrap_or(backoff.factor),
            max_attempts: given_backoff.and_then(|b| b.max_attempts),
            reset_after_ms: given_backoff
                .and_then(|b| b.reset_after_ms)
                .unwrap_or(backoff.reset_after_ms),
        },
        auth: match (&options.token, has_provider) {
            (_, true) => Auth::Provider,
            (Some(token), false) => Auth::Static(token.clone()),
            (None, false) => Auth::None,
        },
        ping_interval_ms: heartbeat.and_then(|h| h.ping_interval_ms),
        dead_link_timeout_ms: heartbeat.and_then(|h| h.dead_link_timeout_ms),
        flush_interval_ms: options
            .flush
            .as_ref()
            .and_then(|f| f.interval_ms)
            .unwrap_or(defaults.flush_interval_ms),
        request_timeout_ms: options
            .request_timeout_ms
            .unwrap_or(defaults.request_timeout_ms),
        handshake_timeout_ms: options
            .handshake_timeout_ms
            .unwrap_or(defaults.handshake_timeout_ms),
        start_online: signals::is_online(),
        ..defaults
    }
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
    /// id and restores its outbox and cached channels. Call `connect()` to go online.
    pub async fn create(
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> Result<TetherClient, JsValue> {
        let get_token = Reflect::get(&options, &"getToken".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        let parsed: Options =
            serde_wasm_bindgen::from_value(options).map_err(|e| invalid(e.to_string()))?;
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
        let (client_id, lock) = identity::claim(&db_name).await;
        let restored = match &db {
            Some(db) => match db.load(&client_id).await.ok().flatten() {
                Some(state) => Some(state),
                None => seed_new_tab(db, &client_id).await,
            },
            None => None,
        };
        let config = config(&parsed, get_token.is_some());
        let adoption_config = config.clone();
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
        let engine = match restored {
            Some(state) => Engine::restore(config, state, seed),
            None => Engine::new(config, client_id, seed),
        };
        let url = parsed.url.clone();
        let driver = Driver::start(
            engine,
            DriverSetup {
                url: parsed.url,
                db: db.clone(),
                lock: Some(lock),
                get_token: get_token.clone(),
            },
        );
        let weak = Rc::downgrade(&driver);
        let has_db = db.is_some();
        if let Some(db) = &db {
            let adoption = adopt::Adoption {
                db: db.clone(),
                db_name: db_name.clone(),
                me: client_id_of(&driver),
                url,
                config: adoption_config,
                get_token: get_token.clone(),
                parent: weak.clone(),
            };
            adopt::adopt_orphans(adoption.clone());
            // Tabs that close later are adopted by this one, within a few seconds.
            driver
                .borrow_mut()
                .scan_every(adopt::SCAN_EVERY_MS, move || {
                    adopt::adopt_orphans(adoption.clone());
                });
        }
        with(&weak, |d| {
            if has_db {
                d.ask_persistent_storage();
            }
        });
        Ok(TetherClient { driver })
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
            let value = from_js(filter).map_err(invalid)?;
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
        let arg: MutationArg =
            serde_wasm_bindgen::from_value(mutation).map_err(|e| invalid(e.to_string()))?;
        let (op, id, doc, base) = match arg {
            MutationArg::Put {
                id,
                doc,
                base_version,
            } => (Op::Put, id, Some(doc), base_version),
            MutationArg::Patch {
                id,
                doc,
                base_version,
            } => (Op::Patch, id, Some(doc), base_version),
            MutationArg::Delete { id, base_version } => (Op::Delete, id, None, base_version),
        };
        let (promise, resolvers) = deferred();
        let mut result = Ok(());
        self.run(|d| {
            match d
                .engine
                .mutate(now_ms(), channel, op, &id, doc, precondition(base))
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
        let payload = from_js(payload).map_err(invalid)?;
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
        let body = from_js(body).map_err(invalid)?;
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
            Some(from_js(state).map_err(invalid)?)
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
    fn run(&self, f: impl FnOnce(&mut Driver)) {
        with(&Rc::downgrade(&self.driver), f);
    }
}
