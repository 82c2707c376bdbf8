//! Every tab sees what the device holds, at once: a new tab opened while the server is
//! unreachable shows the cached views (`cached`) and counts a closed tab's unsent write as
//! pending from the start; a tab already open adopts the outbox of a tab that closes, within a
//! few seconds. "0 pending" is never shown while a write on this device is unsent.
use crate::support::{client, control, sleep, unique, wait_for, Recorded};
use serde_json::{json, Value};
use wasm_bindgen_test::wasm_bindgen_test;

/// A different tab does not share the closed tab's sessionStorage (its client id).
fn forget_tab_id(db: &str) {
    let session = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    session
        .remove_item(&format!("tether:{db}:clientId"))
        .unwrap();
}

fn options(db: &str) -> Value {
    json!({ "dbName": db, "backoff": {"initialMs": 50, "maxMs": 200} })
}

/// A tab on `db` that saw document "seen" confirmed, then queued `write_id` while the server
/// was down, and closed. The server is left stopped.
async fn tab_that_closed_with_a_queued_write(db: &str, channel: &str, write_id: &str) {
    let tab = client(options(db)).await;
    tab.subscribe(channel);
    tab.client.connect();
    wait_for("connection", 5000, || tab.ready()).await;
    tab.mutate(channel, json!({"op": "put", "id": "seen", "doc": {"n": 1}}))
        .await
        .expect("confirmed write");
    sleep(600).await; // the cache is written after a quiet interval (250 ms)
    control("stop").await;
    wait_for("offline", 5000, || !tab.ready()).await;
    let _queued = tab.mutate(
        channel,
        json!({"op": "put", "id": write_id, "doc": {"n": 2}}),
    );
    wait_for("queued", 2000, || tab.status()["pendingCount"] == 1).await;
    sleep(150).await; // let the IndexedDB transaction commit
    tab.client.close();
    forget_tab_id(db);
}

async fn reader_sees_once(channel: &str, id: &str) {
    let reader = client(json!({ "dbName": unique("db"), "storage": "memory" })).await;
    let rv = reader.subscribe(channel);
    reader.client.connect();
    wait_for("the write reaches the server", 10_000, || {
        reader.row(rv, id).is_some()
    })
    .await;
    assert_eq!(reader.row(rv, id).unwrap()["version"], 1, "applied once");
    reader.client.close();
}

fn pending(tab: &Recorded) -> u64 {
    tab.status()["pendingCount"].as_u64().unwrap_or(0)
}

#[wasm_bindgen_test]
async fn a_new_tab_while_the_server_is_down_shows_the_cache_and_the_unsent_write() {
    let channel = unique("tasks");
    let db = unique("db");
    tab_that_closed_with_a_queued_write(&db, &channel, "queued").await;

    // A new tab, server still down.
    let tab = client(options(&db)).await;
    let view = tab.subscribe(&channel);
    tab.client.connect();
    wait_for("cached view shown", 2000, || {
        tab.row(view, "seen").is_some()
    })
    .await;
    let continuity: Vec<Value> = tab
        .batches
        .borrow()
        .iter()
        .flat_map(|b| b["views"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.get("continuity").cloned())
        .collect();
    assert_eq!(continuity.first(), Some(&json!("cached")), "{continuity:?}");
    wait_for("the closed tab's write counts as pending", 3000, || {
        pending(&tab) == 1
    })
    .await;
    // It stays pending (never "0 pending") until the server has it.
    for _ in 0..10 {
        sleep(50).await;
        assert_eq!(pending(&tab), 1, "{}", tab.status());
    }
    control("start").await;
    reader_sees_once(&channel, "queued").await;
    wait_for("then 0 pending", 5000, || pending(&tab) == 0).await;
    tab.client.close();
}

#[wasm_bindgen_test]
async fn an_open_tab_adopts_the_outbox_of_a_tab_that_closes() {
    let channel = unique("tasks");
    let db = unique("db");
    // The tab that stays open.
    let open_tab = client(options(&db)).await;
    let ov = open_tab.subscribe(&channel);
    open_tab.client.connect();
    wait_for("open tab connected", 5000, || open_tab.ready()).await;
    forget_tab_id(&db);

    tab_that_closed_with_a_queued_write(&db, &channel, "from-closed").await;
    wait_for("the open tab adopts it", 8000, || pending(&open_tab) == 1).await;
    control("start").await;
    wait_for("sent once and shown", 10_000, || {
        open_tab.row(ov, "from-closed").is_some() && pending(&open_tab) == 0
    })
    .await;
    reader_sees_once(&channel, "from-closed").await;
    open_tab.client.close();
}
