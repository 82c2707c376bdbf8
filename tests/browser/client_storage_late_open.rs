//! IndexedDB fails to open when the client starts: the client retries while it runs. Writes
//! made meanwhile wait (reported not durable, never sent unstored); once the database opens
//! they are stored first and then reach the server, once.
use crate::support::{client, read_store, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

const FAIL_OPEN: &str = "globalThis.__tetherOpen ??= IDBFactory.prototype.open; \
    globalThis.__tetherFailOpen = true; \
    IDBFactory.prototype.open = function (...args) { \
      if (globalThis.__tetherFailOpen) throw new DOMException('not now', 'UnknownError'); \
      return globalThis.__tetherOpen.apply(this, args); }";
const LET_OPEN: &str = "globalThis.__tetherFailOpen = false; \
    IDBFactory.prototype.open = globalThis.__tetherOpen";

#[wasm_bindgen_test]
async fn a_failed_open_is_retried_and_waiting_writes_are_stored_then_sent_once() {
    let channel = unique("tasks");
    let db = unique("db");
    js_sys::eval(FAIL_OPEN).expect("make IndexedDB fail to open");
    // Writes wait for the database as long as the test needs (no memory fallback).
    let a = client(json!({ "dbName": db, "storageWaitMs": 60_000 })).await;
    let status = a.status();
    assert_eq!(status["storage"], "memory", "{status}");
    assert_eq!(status["writesAtRisk"], true, "{status}");
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    let write = a.mutate(&channel, json!({"op": "put", "id": "w1", "doc": {"n": 1}}));
    wait_for("optimistic row", 2000, || a.row(view, "w1").is_some()).await;

    // The write waits: the server does not have it while it is not stored.
    let reader = client(json!({ "dbName": unique("db"), "storage": "memory" })).await;
    let rv = reader.subscribe(&channel);
    reader.client.connect();
    wait_for("reader's snapshot", 5000, || {
        reader.batches.borrow().iter().any(|b| {
            b["views"]
                .as_array()
                .is_some_and(|v| v.iter().any(|c| c["continuity"].is_string()))
        })
    })
    .await;
    crate::support::sleep(300).await;
    assert!(reader.row(rv, "w1").is_none(), "sent before it was stored");
    assert_eq!(a.status()["pendingCount"], 1);

    js_sys::eval(LET_OPEN).expect("let IndexedDB open");
    wait_for("storage durable", 5000, || {
        let s = a.status();
        s["storage"] == "indexeddb" && s["writesAtRisk"] == false
    })
    .await;
    write.await.expect("the waiting write is acknowledged");
    let clients = read_store(&db, "clients").await;
    assert!(
        clients["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .any(|k| *k == a.client.client_id()),
        "the client's partition was stored: {clients}"
    );
    wait_for("reader sees the write", 5000, || {
        reader.row(rv, "w1").is_some()
    })
    .await;
    assert_eq!(reader.row(rv, "w1").unwrap()["version"], 1, "applied once");
    a.client.close();
    reader.client.close();
}
