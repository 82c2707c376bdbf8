//! Adoption: the outbox of a tab that closed while offline is sent by the next tab that
//! opens, under its original client id and mutation ids, so the server's exactly-once
//! record still holds. The partition's Web Lock makes sure only one tab adopts it; the
//! adopting engine runs until its outbox is empty, then the partition is deleted.

use std::rc::Rc;

use js_sys::Function;
use tether_core::{Config, Engine};
use wasm_bindgen_futures::spawn_local;

use super::db::Db;
use super::driver::{now_ms, with, Driver, DriverSetup};
use super::identity;

/// Looks for partitions no open tab holds and adopts each (in the background).
pub fn adopt_orphans(
    db: Rc<Db>,
    db_name: String,
    me: String,
    url: String,
    config: Config,
    get_token: Option<Function>,
) {
    spawn_local(async move {
        let Ok(ids) = db.client_ids().await else {
            return;
        };
        for id in ids.into_iter().filter(|id| *id != me) {
            let Some(mut lock) = identity::try_lock(&db_name, &id).await else {
                continue;
            };
            let state = match db.load(&id).await {
                Ok(Some(state)) => state,
                _ => {
                    lock.release();
                    continue;
                }
            };
            if state.outbox.is_empty() {
                let _ = db.delete_client(&id).await;
                lock.release();
                continue;
            }
            let last = state.last_mutation_id;
            let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
            let engine = Engine::restore(config.clone(), state, seed);
            let driver = Driver::start(
                engine,
                DriverSetup {
                    url: url.clone(),
                    db: Some(db.clone()),
                    storage_failed: false,
                    lock: Some(lock),
                    get_token: get_token.clone(),
                    last_mutation_id: last,
                    cached_channels: Default::default(),
                },
            );
            let weak = Rc::downgrade(&driver);
            driver.borrow_mut().adopt(driver.clone());
            with(&weak, |d| d.engine.connect(now_ms()));
        }
    });
}
