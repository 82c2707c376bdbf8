//! The loop between the engine and the browser: feeds socket events, timers and signals into
//! the engine, and carries out its outputs (socket, IndexedDB, the app's callbacks).
//!
//! Ordering rule: a `Persist` output is written before any `Send` emitted after it leaves the
//! socket, so a mutation is durable before the server can see it. Writes are group-committed:
//! one IndexedDB transaction at a time, carrying everything emitted while the previous one was
//! in flight. JavaScript callbacks run after the engine's borrow is released, so they may call
//! back into the client.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise};
use tether_core::{Engine, Output};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::convert::{self, ShellFacts};
use super::db::{Db, DbError};
use super::error::ShellError;
use super::identity::Held;
use super::json;
use super::options::Endpoints;

mod effects;
mod recover;
use super::signals::{self, Signal, Signals};
use super::socket::{Socket, SocketEvent};
use super::timer::Timer;
use effects::Pending;
pub use effects::{deferred, Effects};
pub use recover::Store;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `performance.now()`: one call (through `window()` it was four, on every input).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// Engine time: `performance.now()` in whole milliseconds.
pub fn now_ms() -> u64 {
    performance_now().max(0.0) as u64
}

/// An engine deadline as ms since the Unix epoch.
fn to_wall(at: u64) -> f64 {
    js_sys::Date::now() + (at as f64 - now_ms() as f64)
}

/// The engine and everything around it.
pub struct Driver {
    /// The engine.
    pub engine: Engine,
    /// The server endpoints; the engine says which one of a list a socket is for.
    urls: Endpoints,
    /// The URL the `url` function returned for the current attempt.
    picked: Option<String>,
    store: Store,
    /// Called once when the database opened late (`Store::Opening` became `Durable`).
    on_durable: Option<Box<dyn FnOnce(Rc<Db>)>>,
    socket: Option<Socket>,
    generation: u64,
    timer: Option<Timer>,
    signals: Option<Signals>,
    lock: Option<Held>,
    /// A write batch is being taken at the end of the current task (`Output::WriteReady`).
    write_scheduled: bool,
    /// Unsettled promises by mutation id, in id order (a list: answers come mostly in order,
    /// and a map would cost its own code in the bundle).
    mutations: Pending,
    /// Unsettled promises by request id.
    requests: Pending,
    on_change: Option<Function>,
    on_status: Option<Function>,
    get_token: Option<Function>,
    last_synced_at: Option<f64>,
    /// A fact only the shell knows changed (storage): report status on the next drain.
    force_status: bool,
    /// The answer of `navigator.storage.persist()` (None: not asked or not answered yet).
    persisted: Option<bool>,
    /// Set for a driver adopting another tab's outbox: it keeps itself alive until the outbox
    /// is empty, then deletes the partition and stops.
    adopting: Option<Rc<RefCell<Driver>>>,
    /// Drivers adopting closed tabs' outboxes for this client: their unsent writes count as
    /// this client's pending ones ("0 pending" is never shown while a write is unsent).
    adopters: Vec<Weak<RefCell<Driver>>>,
    /// For an adopting driver: the client it works for (told when its pending count changes).
    parent: Option<Weak<RefCell<Driver>>>,
    /// The periodic look for closed tabs' outboxes (an interval id and its callback).
    scan: Option<(i32, Closure<dyn FnMut()>)>,
    closed: bool,
    /// A drain is queued for the end of this task (see [`with_later`]).
    drain_queued: bool,
    me: Weak<RefCell<Driver>>,
}

/// Settings of a driver that are not the engine's.
pub struct DriverSetup {
    /// Server endpoints.
    pub urls: Endpoints,
    /// Where the writes go.
    pub store: Store,
    /// The lock on this client id's partition.
    pub lock: Option<Held>,
    /// The token provider.
    pub get_token: Option<Function>,
}

impl Driver {
    /// Wraps an engine; starts listening for browser signals.
    pub fn start(engine: Engine, setup: DriverSetup) -> Rc<RefCell<Driver>> {
        let driver = Rc::new(RefCell::new(Driver {
            engine,
            urls: setup.urls,
            picked: None,
            store: setup.store,
            on_durable: None,
            socket: None,
            generation: 0,
            timer: None,
            signals: None,
            lock: setup.lock,
            write_scheduled: false,
            mutations: Pending::default(),
            requests: Pending::default(),
            on_change: None,
            on_status: None,
            get_token: setup.get_token,
            last_synced_at: None,
            force_status: false,
            persisted: None,
            adopting: None,
            adopters: Vec::new(),
            parent: None,
            scan: None,
            closed: false,
            drain_queued: false,
            me: Weak::new(),
        }));
        let weak = Rc::downgrade(&driver);
        {
            let mut d = driver.borrow_mut();
            d.me = weak.clone();
            let timer_weak = weak.clone();
            d.timer = Some(Timer::new(move || {
                with(&timer_weak, |d| {
                    if let Some(timer) = d.timer.as_mut() {
                        timer.fired();
                    }
                    d.engine.handle_timeout(now_ms());
                })
            }));
            let signal_weak = weak;
            d.signals = Some(Signals::listen(move |signal| {
                with(&signal_weak, |d| {
                    let now = now_ms();
                    match signal {
                        Signal::Online => d.engine.went_online(now),
                        Signal::Offline => d.engine.went_offline(now),
                        Signal::Visible(visible) => d.engine.set_visible(now, visible),
                        // Leaving: close the socket cleanly now (others see this client's
                        // presence end at once, and the page may enter the back/forward cache).
                        Signal::PageHide => d.engine.went_offline(now),
                        Signal::PageShow if signals::is_online() => d.engine.went_online(now),
                        Signal::PageShow => {}
                    }
                })
            }));
        }
        driver
    }

    /// Sets the app's callbacks.
    pub fn set_listeners(&mut self, on_change: Option<Function>, on_status: Option<Function>) {
        self.on_change = on_change;
        self.on_status = on_status;
    }

    /// Makes this driver an adopter of an orphaned outbox (it holds itself until done).
    pub fn adopt(&mut self, this: Rc<RefCell<Driver>>, parent: Weak<RefCell<Driver>>) {
        self.adopting = Some(this);
        self.parent = Some(parent);
    }

    /// Counts `adopter`'s unsent writes as this client's.
    pub fn add_adopter(&mut self, adopter: Weak<RefCell<Driver>>) {
        self.adopters.retain(|a| a.strong_count() > 0);
        self.adopters.push(adopter);
        self.force_status = true;
    }

    /// Writes of closed tabs that adopters of this client have not had acknowledged yet.
    fn pending_elsewhere(&self) -> usize {
        self.adopters
            .iter()
            .filter_map(Weak::upgrade)
            .filter_map(|a| {
                a.try_borrow()
                    .ok()
                    .map(|a| a.engine.status().pending_mutations)
            })
            .sum()
    }

    /// Looks for closed tabs' outboxes every `every_ms` (and adopts them): `scan` is called
    /// until the client closes.
    pub fn scan_every(&mut self, every_ms: i32, scan: impl FnMut() + 'static) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let callback = Closure::<dyn FnMut()>::new(scan);
        if let Ok(id) = window.set_interval_with_callback_and_timeout_and_arguments_0(
            callback.as_ref().unchecked_ref(),
            every_ms,
        ) {
            self.scan = Some((id, callback));
        }
    }

    /// Asks the browser to keep this origin's storage under pressure
    /// ([MDN: `StorageManager.persist()`](https://developer.mozilla.org/en-US/docs/Web/API/StorageManager/persist));
    /// the answer shows as `status.persisted`.
    pub fn ask_persistent_storage(&mut self) {
        let answer = super::page::persist();
        let weak = self.me.clone();
        spawn_local(async move {
            // null: the browser cannot be asked (nothing is reported).
            if let Some(granted) = JsFuture::from(answer).await.ok().and_then(|v| v.as_bool()) {
                with(&weak, |d| {
                    d.persisted = Some(granted);
                    d.force_status = true;
                });
            }
        });
    }

    /// The open database, if any.
    pub fn db(&self) -> Option<Rc<Db>> {
        match &self.store {
            Store::Durable(db) => Some(db.clone()),
            _ => None,
        }
    }

    /// Whether writes would not survive a reload.
    pub fn writes_at_risk(&self) -> bool {
        !matches!(self.store, Store::Durable(_)) || !self.engine.storage_ok()
    }

    /// The public status object.
    pub fn status_js(&self) -> JsValue {
        convert::status(
            &self.engine.status(),
            &ShellFacts {
                endpoint: self.endpoint_url(),
                storage: if matches!(self.store, Store::Durable(_)) {
                    "indexeddb"
                } else {
                    "memory"
                },
                writes_at_risk: self.writes_at_risk(),
                persisted: self.persisted,
                pending_elsewhere: self.pending_elsewhere(),
                last_synced_at: self.last_synced_at,
                to_wall,
            },
        )
    }

    /// Stops everything: socket, timer, signals, lock; unsettled promises reject with CLOSED
    /// (their mutations stay queued in IndexedDB for the next client).
    pub fn shut_down(&mut self) -> Effects {
        self.engine.close(now_ms());
        let mut effects = self.drain();
        self.closed = true;
        if let Some(socket) = self.socket.take() {
            socket.close(1000, "client closed");
        }
        self.timer = None;
        self.signals = None;
        if let Some((id, _)) = self.scan.take() {
            if let Some(window) = web_sys::window() {
                window.clear_interval_with_handle(id);
            }
        }
        if let Some(lock) = self.lock.as_mut() {
            lock.release();
        }
        let closed = ShellError::Engine(tether_core::EngineError::Closed).to_js();
        let mutations = std::mem::take(&mut self.mutations.0);
        let requests = std::mem::take(&mut self.requests.0);
        for (_, (_, reject)) in mutations.into_iter().chain(requests) {
            effects.settle.push((reject, closed.clone()));
        }
        effects
    }

    /// Carries out every pending engine output.
    pub fn drain(&mut self) -> Effects {
        let mut fx = Effects::default();
        let mut status_changed = std::mem::take(&mut self.force_status);
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::OpenSocket => self.open_socket(),
                Output::CloseSocket { code, reason } => {
                    self.generation += 1;
                    if let Some(socket) = self.socket.take() {
                        socket.close(code, &reason);
                    }
                }
                // The engine holds back every frame until the writes it needs are durable.
                Output::Send(frame) => {
                    if let Some(socket) = self.socket.as_mut() {
                        socket.send(&frame);
                    }
                }
                Output::WriteReady => self.schedule_write(),
                Output::NeedToken => self.fetch_token(),
                Output::Changes(sets) => {
                    for set in sets {
                        convert::write_view_change(&mut fx.views, &set);
                    }
                }
                Output::Mutation(outcome) => self.settle_mutation(outcome, &mut fx),
                Output::Broadcast {
                    channel,
                    from,
                    payload,
                } => convert::write_broadcast(&mut fx.broadcasts, &channel, &from, &payload),
                Output::Presence(change) => convert::write_presence(&mut fx.presence, &change),
                Output::Notification { from, payload } => {
                    convert::write_notification(&mut fx.notifications, &from, &payload);
                }
                Output::Response { id, result } => {
                    if let Some((resolve, reject)) = self.requests.remove(&id) {
                        match result {
                            Ok(body) => fx.settle.push((resolve, json::to_js(&body))),
                            Err(e) => fx.settle.push((reject, ShellError::Request(e).to_js())),
                        }
                    }
                }
                Output::Status(_) => status_changed = true,
            }
        }
        if let Some(socket) = self.socket.as_mut() {
            socket.flush();
        }
        let status = self.engine.status();
        let synced = status.pending_mutations == 0
            && self.pending_elsewhere() == 0
            && status.state == tether_core::ConnectionState::Ready
            && !self.engine.writes_pending();
        if synced && (self.last_synced_at.is_none() || status_changed) {
            self.last_synced_at = Some(js_sys::Date::now());
            status_changed = true;
        }
        if synced && self.adopting.is_some() {
            self.finish_adoption();
        }
        if status_changed {
            fx.status = Some(self.status_js());
            if let Some(parent) = self.parent.clone() {
                // This adopter's pending count changed: the client it works for says so too
                // (later: it may be the one calling into this driver now).
                spawn_local(async move {
                    with(&parent, |d| d.force_status = true);
                });
            }
        }
        let now = now_ms();
        let deadline = self.engine.poll_timeout();
        if let Some(timer) = self.timer.as_mut() {
            timer.arm(now, deadline);
        }
        fx.listeners = Some((self.on_change.clone(), self.on_status.clone()));
        fx
    }

    fn finish_adoption(&mut self) {
        let Some(this) = self.adopting.take() else {
            return;
        };
        let db = self.db();
        let client_id = self.engine.client_id().to_owned();
        spawn_local(async move {
            if let Some(db) = db {
                let _ = db.delete_client(&client_id).await;
            }
            let (effects, parent) = {
                let mut d = this.borrow_mut();
                (d.shut_down(), d.parent.clone())
            };
            effects.run();
            drop(this);
            if let Some(parent) = parent {
                with(&parent, |d| d.force_status = true);
            }
        });
    }

    /// The URL of the endpoint the engine uses or tries next.
    fn endpoint_url(&self) -> Option<&str> {
        match &self.urls {
            Endpoints::List(urls) => urls.get(self.engine.current_endpoint()),
            Endpoints::Pick(_) => self.picked.as_ref(),
        }
        .map(String::as_str)
    }

    /// `OpenSocket`: to the engine's endpoint of the list, or to the URL the `url` function
    /// returns (called later, outside the engine's borrow, so it may call into the client).
    fn open_socket(&mut self) {
        self.generation += 1;
        let Endpoints::Pick(pick) = &self.urls else {
            let url = self.endpoint_url().map(str::to_owned);
            return self.connect_to(url);
        };
        let (pick, generation, weak) = (pick.clone(), self.generation, self.me.clone());
        let attempt = JsValue::from(self.engine.status().attempt);
        spawn_local(async move {
            let url = pick.call1(&JsValue::NULL, &attempt).ok();
            with(&weak, |d| {
                if d.generation == generation {
                    d.picked = url.and_then(|u| u.as_string());
                    d.force_status = true;
                    d.connect_to(d.picked.clone());
                }
            });
        });
    }

    /// Opens the socket to `url` (None: the attempt fails as a socket that could not open).
    fn connect_to(&mut self, url: Option<String>) {
        let generation = self.generation;
        let weak = self.me.clone();
        let Some(url) = url else {
            return self.engine.socket_closed(now_ms(), 1006);
        };
        let opened = Socket::open(&url, move |event| {
            with(&weak, |d| {
                if d.generation != generation {
                    return;
                }
                let now = now_ms();
                match event {
                    SocketEvent::Opened => d.engine.socket_opened(now),
                    SocketEvent::Message(text) => d.engine.handle_message(now, text.as_bytes()),
                    SocketEvent::Closed(code) => {
                        d.socket = None;
                        d.generation += 1;
                        d.engine.socket_closed(now, code);
                    }
                }
            })
        });
        match opened {
            Ok(socket) => self.socket = Some(socket),
            Err(_) => self.engine.socket_closed(now_ms(), 1006),
        }
    }

    /// `WriteReady`: takes the batch at the end of the current task (a microtask), so writes
    /// made until then join it — a loop of `mutate` calls is one transaction — and runs it as
    /// one IndexedDB transaction; without IndexedDB (memory storage) it is durable at once.
    fn schedule_write(&mut self) {
        if self.write_scheduled {
            return;
        }
        let db = match &mut self.store {
            Store::Durable(db) => db.clone(),
            // The writes wait for the database (the engine holds their frames).
            Store::Opening(None) => return,
            Store::Opening(Some(mirror)) => {
                while let Some(batch) = self.engine.take_writes() {
                    mirror.absorb(&batch);
                    self.engine.write_done(now_ms(), batch.id, Ok(()));
                }
                return;
            }
            Store::Memory => {
                while let Some(batch) = self.engine.take_writes() {
                    self.engine.write_done(now_ms(), batch.id, Ok(()));
                }
                return;
            }
        };
        self.write_scheduled = true;
        let weak = self.me.clone();
        // `spawn_local` first polls in a microtask, after the current task's other writes.
        spawn_local(async move {
            let mut taken = None;
            with(&weak, |d| {
                d.write_scheduled = false;
                taken = d
                    .engine
                    .take_writes()
                    .map(|batch| (batch, d.engine.client_id().to_owned()));
            });
            let Some((batch, client_id)) = taken else {
                return;
            };
            let result = match db
                .write(&client_id, batch.last_mutation_id, &batch.writes)
                .await
            {
                // The database was deleted under the client: store everything it holds again,
                // with the batch, in one transaction.
                Err(DbError::PartitionLost) => {
                    let mut writes = Vec::new();
                    with(&weak, |d| writes = d.refill(batch.last_mutation_id));
                    writes.extend(batch.writes.iter().cloned());
                    db.forget(&client_id);
                    db.write(&client_id, batch.last_mutation_id, &writes).await
                }
                other => other,
            }
            .map_err(DbError::message);
            with(&weak, |d| {
                let was_ok = d.engine.storage_ok();
                d.engine.write_done(now_ms(), batch.id, result);
                // `writesAtRisk` follows the last batch.
                d.force_status |= was_ok != d.engine.storage_ok();
            });
        });
    }

    /// Calls the app's `getToken` for the engine: before a connection attempt, or (on an open
    /// connection, after `token_expiring`) for a refresh, which `set_token` sends with `auth`.
    /// A provider that throws, rejects or gives no string is `token_failed`: on an open
    /// connection the old token stays until the server closes it at expiry (4001).
    fn fetch_token(&mut self) {
        let Some(get_token) = self.get_token.clone() else {
            // No provider: a fixed token was refused (close 4001). The engine waits, with
            // AUTH_INVALID as its last error, for the app's `setToken`.
            return;
        };
        let weak = self.me.clone();
        spawn_local(async move {
            let token = match get_token.call0(&JsValue::NULL) {
                Ok(value) => match value.dyn_into::<Promise>() {
                    Ok(promise) => JsFuture::from(promise).await.ok(),
                    Err(value) => Some(value),
                },
                Err(_) => None,
            };
            with(&weak, |d| match token.and_then(|t| t.as_string()) {
                Some(token) => d.engine.set_token(now_ms(), Some(token)),
                None => d.engine.token_failed(now_ms()),
            });
        });
    }
}

/// Runs `f` on the driver (if it is still alive and open), then drains it and runs the
/// resulting callbacks outside the borrow.
pub fn with(weak: &Weak<RefCell<Driver>>, f: impl FnOnce(&mut Driver)) {
    let Some(driver) = weak.upgrade() else { return };
    let effects = {
        let Ok(mut d) = driver.try_borrow_mut() else {
            return;
        };
        if d.closed {
            return;
        }
        f(&mut d);
        d.drain_queued = false;
        d.drain()
    };
    effects.run();
}

/// Runs `f` on the driver (if it is still alive and open) and drains it in a microtask, once
/// for every call made in the same task: an app calling `mutate()` 1,000 times in a loop gets
/// one drain (one status, one change batch, one IndexedDB transaction for all its writes)
/// instead of 1,000. The app sees the results before the next task, so before the next frame.
pub fn with_later(weak: &Weak<RefCell<Driver>>, f: impl FnOnce(&mut Driver)) {
    let Some(driver) = weak.upgrade() else { return };
    let Ok(mut d) = driver.try_borrow_mut() else {
        return;
    };
    if d.closed {
        return;
    }
    f(&mut d);
    if !d.drain_queued {
        d.drain_queued = true;
        let weak = weak.clone();
        spawn_local(async move {
            with(&weak, |_| {});
        });
    }
}
