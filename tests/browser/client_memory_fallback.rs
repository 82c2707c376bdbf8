//! Without IndexedDB the client still works, from memory, and says its writes are at risk.
use crate::support::{client, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn falls_back_to_memory_when_indexeddb_is_unavailable() {
    // Make `indexedDB` throw for this page, as in a browser that blocks storage.
    js_sys::eval(
        "globalThis.__tetherIdb = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB'); \
         Object.defineProperty(globalThis, 'indexedDB', { configurable: true, get() { \
           throw new DOMException('blocked', 'SecurityError'); } })",
    )
    .expect("hide indexedDB");
    let channel = unique("tasks");
    let a = client(json!({ "dbName": unique("db") })).await;
    js_sys::eval("Object.defineProperty(globalThis, 'indexedDB', globalThis.__tetherIdb)")
        .expect("restore indexedDB");
    let status = a.status();
    assert_eq!(status["storage"], "memory", "{status}");
    assert_eq!(status["writesAtRisk"], true);

    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    a.mutate(&channel, json!({"op": "put", "id": "m1", "doc": {"x": 1}}))
        .await
        .expect("write acknowledged from memory");
    wait_for("confirmed", 3000, || {
        a.row(view, "m1").is_some_and(|r| r["pending"] == false)
    })
    .await;
    a.client.close();
}
