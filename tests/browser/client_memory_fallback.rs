//! Without IndexedDB the client still works, from memory, and says its writes are at risk:
//! writes wait `storageWaitMs` for the database, then go ahead in memory. When IndexedDB comes
//! back the client stores what it kept in memory (the unsent writes first) and is durable again.
use crate::support::{client, control, outbox_mutations, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

const HIDE: &str =
    "globalThis.__tetherIdb = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB'); \
     Object.defineProperty(globalThis, 'indexedDB', { configurable: true, get() { \
       throw new DOMException('blocked', 'SecurityError'); } })";
const RESTORE: &str = "Object.defineProperty(globalThis, 'indexedDB', globalThis.__tetherIdb)";

#[wasm_bindgen_test]
async fn falls_back_to_memory_when_indexeddb_is_unavailable() {
    // Make `indexedDB` throw for this page, as in a browser that blocks storage.
    js_sys::eval(HIDE).expect("hide indexedDB");
    let channel = unique("tasks");
    let db = unique("db");
    let a = client(json!({ "dbName": db, "storageWaitMs": 200 })).await;
    let status = a.status();
    assert_eq!(status["storage"], "memory", "{status}");
    assert_eq!(status["writesAtRisk"], true);

    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    let acked = a
        .mutate(&channel, json!({"op": "put", "id": "m1", "doc": {"x": 1}}))
        .await;
    let status = a.status();
    js_sys::eval(RESTORE).expect("restore indexedDB");
    acked.expect("write acknowledged from memory");
    assert_eq!(status["storage"], "memory", "{status}");
    wait_for("confirmed", 3000, || {
        a.row(view, "m1").is_some_and(|r| r["pending"] == false)
    })
    .await;
    a.client.close();
}

#[wasm_bindgen_test]
async fn writes_kept_in_memory_are_stored_when_indexeddb_comes_back() {
    js_sys::eval(HIDE).expect("hide indexedDB");
    let channel = unique("tasks");
    let db = unique("db");
    let a = client(json!({ "dbName": db, "storageWaitMs": 200 })).await;
    let view = a.subscribe(&channel);
    control("stop").await;
    let pending = a.mutate(&channel, json!({"op": "put", "id": "m2", "doc": {"x": 2}}));
    // Past the wait for the database the write is kept in memory: the outbox holds it.
    wait_for("queued in memory", 8000, || {
        a.status()["pendingCount"] == 1 && a.row(view, "m2").is_some()
    })
    .await;
    crate::support::sleep(400).await;
    assert_eq!(a.status()["writesAtRisk"], true);
    js_sys::eval(RESTORE).expect("restore indexedDB");
    wait_for("storage durable", 5000, || {
        let s = a.status();
        s["storage"] == "indexeddb" && s["writesAtRisk"] == false
    })
    .await;
    assert_eq!(
        outbox_mutations(&db).await,
        1,
        "the unsent write kept in memory was stored"
    );
    control("start").await;
    a.client.connect();
    pending.await.expect("the write is acknowledged");
    let reader = client(json!({ "dbName": unique("db"), "storage": "memory" })).await;
    let rv = reader.subscribe(&channel);
    reader.client.connect();
    wait_for("reader sees the write", 5000, || {
        reader.row(rv, "m2").is_some()
    })
    .await;
    assert_eq!(reader.row(rv, "m2").unwrap()["version"], 1, "applied once");
    a.client.close();
    reader.client.close();
}
