//! A write IndexedDB refuses (here: a quota error on the outbox) is withdrawn: the promise
//! rejects with `STORAGE`, the view rolls back, the server never sees it, and the status says
//! storage is at risk until a later write succeeds.
use crate::support::{client, error_json, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

const BREAK_OUTBOX: &str = "globalThis.__tetherPut = IDBObjectStore.prototype.put; \
    IDBObjectStore.prototype.put = function (...args) { \
      if (this.name === 'outbox') throw new DOMException('quota exceeded', 'QuotaExceededError'); \
      return globalThis.__tetherPut.apply(this, args); }";
const FIX_OUTBOX: &str = "IDBObjectStore.prototype.put = globalThis.__tetherPut";

#[wasm_bindgen_test]
async fn refused_write_rolls_back_and_never_reaches_the_server() {
    let channel = unique("tasks");
    let a = client(json!({ "dbName": unique("db") })).await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    a.mutate(
        &channel,
        json!({"op": "put", "id": "t1", "doc": {"title": "kept"}}),
    )
    .await
    .expect("first write");

    js_sys::eval(BREAK_OUTBOX).expect("break IndexedDB puts");
    let refused = a
        .mutate(
            &channel,
            json!({"op": "patch", "id": "t1", "doc": {"title": "lost"}}),
        )
        .await;
    js_sys::eval(FIX_OUTBOX).expect("restore IndexedDB puts");
    let error = error_json(&refused.expect_err("storage failure rejects"));
    assert_eq!(error["code"], "STORAGE", "{error}");
    wait_for("rolled back", 2000, || {
        a.row(view, "t1")
            .is_some_and(|r| r["doc"]["title"] == "kept" && r["pending"] == false)
    })
    .await;
    assert_eq!(a.status()["writesAtRisk"], true);
    assert_eq!(a.status()["pendingCount"], 0);

    // Storage works again: the next write goes through and the warning clears.
    a.mutate(
        &channel,
        json!({"op": "patch", "id": "t1", "doc": {"title": "next"}}),
    )
    .await
    .expect("later write");
    wait_for("storage healthy", 2000, || {
        a.status()["writesAtRisk"] == false
    })
    .await;

    // The server saw the first and the last write only: version 2.
    let reader = client(json!({ "dbName": unique("db"), "storage": "memory" })).await;
    let rv = reader.subscribe(&channel);
    reader.client.connect();
    wait_for("reader", 5000, || {
        reader.row(rv, "t1").is_some_and(|r| r["version"] == 2)
    })
    .await;
    assert_eq!(reader.row(rv, "t1").unwrap()["doc"]["title"], "next");
    a.client.close();
    reader.client.close();
}
