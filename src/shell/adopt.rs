//! Adoption: the outbox of a tab that closed while offline is sent by another tab of the same
//! database — one that opens later, or one already open, which looks every few seconds —
//! under its original client id and mutation ids, so the server's exactly-once record still
//! holds. The partition's Web Lock makes sure only one tab adopts it; the adopting engine runs
//! until its outbox is empty, then the partition is deleted. Its unsent writes count as
//! pending in the adopting tab's status.
//!
//! Where the browser has no Web Locks, no tab adopts another's outbox: it could not tell a
//! closed tab from an open one, whose partition must not be deleted. A closed tab's writes are
//! then sent when a tab with its id opens again (a reload or a restored tab keeps its id).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::Function;
use tether_core::{Config, Engine};
use wasm_bindgen_futures::spawn_local;

use super::db::Db;
use super::driver::{now_ms, with, Driver, DriverSetup, Store};
use super::identity::Held;
use super::page;

/// How often an open tab looks for outboxes of tabs that closed (ms).
pub const SCAN_EVERY_MS: i32 = 3_000;

/// What adopting needs to know about the client it works for.
#[derive(Clone)]
pub struct Adoption {
    /// The database.
    pub db: Rc<Db>,
    /// Its name (lock names).
    pub db_name: String,
    /// The adopting client's own id (never adopted).
    pub me: String,
    /// Server endpoints.
    pub urls: super::options::Endpoints,
    /// Engine settings for the adopting engines.
    pub config: Config,
    /// Token provider.
    pub get_token: Option<Function>,
    /// The client whose status counts the adopted writes.
    pub parent: Weak<RefCell<Driver>>,
}

/// Looks for partitions no open tab holds and adopts each (in the background).
pub fn adopt_orphans(adoption: Adoption) {
    if !page::has_web_locks() {
        return;
    }
    let Adoption {
        db,
        db_name,
        me,
        urls,
        config,
        get_token,
        parent,
    } = adoption;
    spawn_local(async move {
        let Ok(orphans) = db.orphans(&db_name, &me).await else {
            return;
        };
        for (_, release, state) in orphans {
            let mut lock = Held::new(release);
            let Ok(Some(state)) = state else {
                lock.release();
                continue;
            };
            let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
            let engine = Engine::restore(config.clone(), state, seed);
            let driver = Driver::start(
                engine,
                DriverSetup {
                    urls: urls.clone(),
                    store: Store::Durable(db.clone()),
                    lock: Some(lock),
                    get_token: get_token.clone(),
                },
            );
            let weak = Rc::downgrade(&driver);
            driver.borrow_mut().adopt(driver.clone(), parent.clone());
            with(&parent, |p| p.add_adopter(weak.clone()));
            with(&weak, |d| d.engine.connect(now_ms()));
        }
    });
}
