//! Storage that recovers: while IndexedDB has not opened (it failed at start), the driver
//! retries it with backoff; writes wait for it, then go ahead in memory (mirrored), and once it
//! opens what is waiting or mirrored is stored before anything of it is sent.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use tether_core::{ChannelDelta, Persist, PersistedState, WriteBatch};
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::{with, Driver};
use crate::shell::db::{self, Db};

/// Where the driver keeps the engine's writes.
pub enum Store {
    /// IndexedDB is open.
    Durable(Rc<Db>),
    /// IndexedDB did not open; it is being retried in the background. `None`: writes wait
    /// (nothing is reported queued or sent); `Some`: after the app's `storageWaitMs` they are
    /// kept in memory (at risk, and said so), mirrored here, and the mirror is stored first once
    /// the database opens. (The mirror holds what the database would: the outbox and a copy of
    /// the cached documents.)
    Opening(Option<Box<Mirror>>),
    /// Memory storage, as the app asked: writes are done at once.
    Memory,
}

/// What the writes made in memory would have stored.
pub struct Mirror {
    state: PersistedState,
    last_mutation_id: u64,
}

impl Mirror {
    /// Takes in a batch of writes done in memory.
    pub fn absorb(&mut self, batch: &WriteBatch) {
        for write in &batch.writes {
            self.state.apply(write);
        }
        self.last_mutation_id = self.last_mutation_id.max(batch.last_mutation_id);
    }
}

/// The longest pause between two attempts to open the database.
const RETRY_MAX_MS: f64 = 2_000.0;

impl Driver {
    /// Retries opening database `name` with backoff until it opens or the client closes;
    /// writes wait `wait_ms` for it, then go ahead in memory; `on_durable` runs once it opened.
    pub fn retry_storage(
        &mut self,
        name: String,
        wait_ms: f64,
        on_durable: Box<dyn FnOnce(Rc<Db>)>,
    ) {
        self.on_durable = Some(on_durable);
        let weak = self.me.clone();
        spawn_local(async move {
            let started = js_sys::Date::now();
            let mut delay: f64 = 100.0;
            loop {
                // Never past the end of the wait, so the writes go ahead on time.
                let left = wait_ms - (js_sys::Date::now() - started);
                sleep_ms(if left > 0.0 { delay.min(left) } else { delay }).await;
                delay = (delay * 2.0).min(RETRY_MAX_MS);
                let alive = weak
                    .upgrade()
                    .is_some_and(|d| d.try_borrow().map_or(true, |d| !d.closed));
                if !alive {
                    return;
                }
                match db::open(&name).await {
                    Ok(db) => {
                        if store_mirror(&weak, Rc::new(db)).await {
                            return;
                        }
                    }
                    Err(_) if js_sys::Date::now() - started >= wait_ms => {
                        with(&weak, Driver::release_to_memory);
                    }
                    Err(_) => {}
                }
            }
        });
    }

    /// What the client's partition holds, rebuilt from the engine, for a partition deleted
    /// under the client: the outbox up to `last_mutation_id` (later mutations belong to a batch
    /// not taken yet, which may still fail) and each channel's confirmed documents, without a
    /// resume point (the batch that follows stores the point its documents reflect).
    pub fn refill(&mut self, last_mutation_id: u64) -> Vec<Persist> {
        let mut writes: Vec<Persist> = self
            .engine
            .outbox()
            .filter(|m| m.mutation_id <= last_mutation_id)
            .map(|m| Persist::OutboxPut {
                mutation: m.clone(),
            })
            .collect();
        let channels: Vec<String> = self.engine.channels().map(str::to_owned).collect();
        for channel in channels {
            let upserts = self
                .engine
                .confirmed(&channel)
                .map(|docs| docs.values().cloned().collect())
                .unwrap_or_default();
            writes.push(Persist::Channel(ChannelDelta {
                channel,
                replace: true,
                upserts,
                removes: Vec::new(),
                cursor: None,
                filter_key: String::new(),
            }));
        }
        writes
    }

    /// The database still does not open: writes go ahead in memory (mirrored).
    fn release_to_memory(&mut self) {
        if let Store::Opening(None) = self.store {
            self.store = Store::Opening(Some(Box::new(Mirror {
                state: PersistedState {
                    client_id: self.engine.client_id().to_owned(),
                    ..PersistedState::default()
                },
                last_mutation_id: 0,
            })));
            self.schedule_write();
        }
    }
}

/// The database opened late: stores what was kept in memory meanwhile (writes made now wait),
/// then makes it the store and lets the waiting writes go to it. Returns false when storing
/// failed (the client stays in memory and keeps retrying).
async fn store_mirror(weak: &Weak<RefCell<Driver>>, db: Rc<Db>) -> bool {
    let mut mirror = None;
    let mut client_id = String::new();
    with(weak, |d| {
        client_id = d.engine.client_id().to_owned();
        if let Store::Opening(m) = &mut d.store {
            mirror = m.take();
        }
    });
    if let Some(m) = &mirror {
        let mut writes: Vec<Persist> = m
            .state
            .outbox
            .values()
            .map(|mutation| Persist::OutboxPut {
                mutation: mutation.clone(),
            })
            .collect();
        for (channel, cached) in &m.state.channels {
            writes.push(Persist::Channel(ChannelDelta {
                channel: channel.clone(),
                replace: true,
                upserts: cached.documents.values().cloned().collect(),
                removes: Vec::new(),
                cursor: cached.cursor.clone(),
                filter_key: cached.filter_key.clone(),
            }));
        }
        if db
            .write(&client_id, m.last_mutation_id, &writes)
            .await
            .is_err()
        {
            with(weak, |d| {
                if let Store::Opening(slot) = &mut d.store {
                    *slot = mirror;
                }
                d.schedule_write();
            });
            return false;
        }
    }
    let mut on_durable = None;
    with(weak, |d| {
        d.store = Store::Durable(db.clone());
        d.force_status = true;
        on_durable = d.on_durable.take();
        d.ask_persistent_storage();
        d.schedule_write();
    });
    if let Some(on_durable) = on_durable {
        on_durable(db);
    }
    true
}

/// Waits `ms` milliseconds (`setTimeout` resolving a promise).
pub async fn sleep_ms(ms: f64) {
    let (promise, (resolve, _)) = super::deferred();
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
    }
    let _ = JsFuture::from(promise).await;
}
