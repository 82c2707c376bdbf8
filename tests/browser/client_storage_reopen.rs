//! The browser closes the IndexedDB connection under a running client (storage pressure, a
//! `versionchange`, Safari dropping it): the next write reopens the database instead of failing,
//! the write is kept and sent, and storage stays reported as safe. The client also asks for
//! persistent storage and reports the answer.
use crate::support::{client, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

/// The next transaction on database `name` finds its connection closed (the real
/// `IDBDatabase.close()`, as the browser would do it).
fn close_connection_once(name: &str) -> String {
    format!(
        "globalThis.__tetherTx ??= IDBDatabase.prototype.transaction; \
         globalThis.__tetherCloseOnce = {name:?}; \
         IDBDatabase.prototype.transaction = function (...args) {{ \
           if (this.name === globalThis.__tetherCloseOnce) {{ \
             globalThis.__tetherCloseOnce = null; this.close(); }} \
           return globalThis.__tetherTx.apply(this, args); }}"
    )
}
const RESTORE: &str = "IDBDatabase.prototype.transaction = globalThis.__tetherTx";

#[wasm_bindgen_test]
async fn a_closed_connection_is_reopened_and_the_write_kept() {
    let channel = unique("tasks");
    let db = unique("db");
    let a = client(json!({ "dbName": db })).await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    a.mutate(&channel, json!({"op": "put", "id": "t1", "doc": {"n": 1}}))
        .await
        .expect("first write");

    js_sys::eval(&close_connection_once(&db)).expect("arm the close");
    let result = a
        .mutate(&channel, json!({"op": "put", "id": "t2", "doc": {"n": 2}}))
        .await;
    let armed = js_sys::eval("globalThis.__tetherCloseOnce")
        .expect("read")
        .is_null();
    js_sys::eval(RESTORE).expect("restore");
    assert!(armed, "the connection was closed under the client");
    result.expect("the write after the close is stored and acknowledged");
    wait_for("confirmed", 3000, || {
        a.row(view, "t2").is_some_and(|r| r["pending"] == false)
    })
    .await;
    let status = a.status();
    assert_eq!(status["storage"], "indexeddb", "{status}");
    assert_eq!(status["writesAtRisk"], false, "{status}");
    a.client.close();
}

#[wasm_bindgen_test]
async fn persistent_storage_is_asked_and_reported() {
    let a = client(json!({ "dbName": unique("db") })).await;
    assert!(a.status().get("persisted").is_some(), "{}", a.status());
    wait_for("persist() answered", 3000, || {
        a.status()["persisted"].is_boolean()
    })
    .await;
    a.client.close();
}
