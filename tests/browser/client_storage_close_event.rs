//! The browser closes the client's IndexedDB connection and says so (`close` event: storage
//! pressure, Safari): the client drops that connection at once and opens a new one for its next
//! write, without first trying a transaction on the closed one; the write is stored and sent.
use crate::support::{client, read_store, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

/// Records every connection opened on `db`, and counts transactions tried on closed ones.
fn watch(db: &str) -> String {
    format!(
        "globalThis.__tetherWatch = {{ name: {db}, conns: [], onClosed: 0 }}; \
         globalThis.__tetherOpen2 ??= IDBFactory.prototype.open; \
         globalThis.__tetherTx2 ??= IDBDatabase.prototype.transaction; \
         IDBFactory.prototype.open = function (...args) {{ \
           const r = globalThis.__tetherOpen2.apply(this, args); \
           if (args[0] === globalThis.__tetherWatch.name) \
             r.addEventListener('success', () => globalThis.__tetherWatch.conns.push(r.result)); \
           return r; }}; \
         IDBDatabase.prototype.transaction = function (...args) {{ \
           if (this.__tetherClosed) globalThis.__tetherWatch.onClosed += 1; \
           return globalThis.__tetherTx2.apply(this, args); }}",
        db = crate::support::js_str(db)
    )
}
const UNWATCH: &str = "IDBFactory.prototype.open = globalThis.__tetherOpen2; \
    IDBDatabase.prototype.transaction = globalThis.__tetherTx2";
/// Closes every watched connection as the browser would, with the `close` event.
const BROWSER_CLOSES: &str = "for (const c of globalThis.__tetherWatch.conns) { \
      c.close(); c.__tetherClosed = true; c.dispatchEvent(new Event('close')); } \
    globalThis.__tetherWatch.conns.length";

#[wasm_bindgen_test]
async fn a_connection_the_browser_closed_is_replaced_before_the_next_write() {
    let channel = unique("tasks");
    let db = unique("db");
    js_sys::eval(&watch(&db)).expect("watch connections");
    let a = client(json!({ "dbName": db })).await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    a.mutate(&channel, json!({"op": "put", "id": "c1", "doc": {"n": 1}}))
        .await
        .expect("first write");

    let closed = js_sys::eval(BROWSER_CLOSES).expect("close the connections");
    assert!(
        closed.as_f64().unwrap_or(0.0) >= 1.0,
        "the client had a connection"
    );
    let result = a
        .mutate(&channel, json!({"op": "put", "id": "c2", "doc": {"n": 2}}))
        .await;
    let tried_on_closed = js_sys::eval("globalThis.__tetherWatch.onClosed").expect("read");
    js_sys::eval(UNWATCH).expect("unwatch");
    result.expect("the write after the close is stored and acknowledged");
    assert_eq!(
        tried_on_closed.as_f64(),
        Some(0.0),
        "no transaction was tried on the closed connection"
    );
    wait_for("confirmed", 3000, || {
        a.row(view, "c2").is_some_and(|r| r["pending"] == false)
    })
    .await;
    let status = a.status();
    assert_eq!(status["writesAtRisk"], false, "{status}");
    assert_eq!(read_store(&db, "clients").await["count"], 1);
    a.client.close();
}
