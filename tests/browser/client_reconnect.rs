//! After the server restarts the client reconnects by itself (short backoff), asking its
//! token provider again before the new connection, and resumes its subscription.
use crate::support::{client, control, unique, wait_for};
use js_sys::Reflect;
use serde_json::json;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn token_calls() -> f64 {
    Reflect::get(&js_sys::global(), &JsValue::from_str("__tetherTokenCalls"))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

#[wasm_bindgen_test]
async fn reconnects_after_restart_and_asks_for_a_new_token() {
    let channel = unique("tasks");
    let a = client(json!({
        "dbName": unique("db"),
        "backoff": {"initialMs": 50, "maxMs": 300},
        "getTokenFrom": "(() => { globalThis.__tetherTokenCalls = (globalThis.__tetherTokenCalls || 0) + 1; return Promise.resolve('test-token'); })",
    }))
    .await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    let calls_before = token_calls();
    assert!(
        calls_before >= 1.0,
        "getToken called before the first connection"
    );

    control("restart").await;
    wait_for("reconnected", 10_000, || {
        a.statuses.borrow().iter().any(|s| s["state"] != "ready") && a.ready()
    })
    .await;
    assert!(
        token_calls() > calls_before,
        "getToken called again for the reconnect"
    );

    // The resumed subscription is live: a write round-trips.
    a.mutate(
        &channel,
        json!({"op": "put", "id": "after", "doc": {"ok": true}}),
    )
    .await
    .expect("write after restart");
    wait_for("confirmed", 3000, || {
        a.row(view, "after").is_some_and(|r| r["pending"] == false)
    })
    .await;
    a.client.close();
}
