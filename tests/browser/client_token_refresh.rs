//! With a token provider, the client takes a fresh token on its open connection before the
//! first one expires (PROTOCOL.md §3 `hello.refresh`, `auth`; §4 `token_expiring`): against
//! the real server with auth (the supervisor's auth server: no leeway, `token_expiring` 3 s
//! before expiry, tokens of 4 s), it stays connected — no reconnect — and keeps receiving the
//! events of its subscription past the first token's expiry.
use crate::support::{client, control_text, control_url, js_str, sleep, unique, wait_for};
use js_sys::Reflect;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn provider_calls() -> f64 {
    Reflect::get(
        &js_sys::global(),
        &JsValue::from_str("__tetherRefreshCalls"),
    )
    .ok()
    .and_then(|v| v.as_f64())
    .unwrap_or(0.0)
}

#[wasm_bindgen_test]
async fn a_fresh_token_on_the_open_connection_keeps_it_and_its_subscription() {
    let auth: Value = serde_json::from_str(&control_text("auth/start").await).expect("json");
    let url = auth["url"].as_str().expect("auth server url").to_owned();
    let token_url = format!("{}/auth/token?ttl=4", control_url());
    let provider = format!(
        "(() => {{ globalThis.__tetherRefreshCalls = (globalThis.__tetherRefreshCalls || 0) + 1; \
           return fetch({}, {{method: 'POST'}}).then((r) => r.text()); }})",
        js_str(&token_url)
    );
    let channel = unique("refresh");
    let reader =
        client(json!({"url": url, "dbName": unique("db"), "getTokenFrom": provider})).await;
    let view = reader.subscribe(&channel);
    reader.client.connect();
    wait_for("the reader's connection", 5000, || reader.ready()).await;
    let ready_at = js_sys::Date::now();
    let calls_at_ready = provider_calls();
    assert!(calls_at_ready >= 1.0, "the provider gave the first token");
    let statuses_at_ready = reader.statuses.borrow().len();

    // A writer on a long-lived fixed token (it never refreshes).
    let long = control_text("auth/token?ttl=600").await;
    let writer = client(json!({"url": url, "dbName": unique("db"), "token": long})).await;
    writer.client.connect();
    wait_for("the writer's connection", 5000, || writer.ready()).await;
    writer
        .mutate(
            &channel,
            json!({"op": "put", "id": "before", "doc": {"n": 1}}),
        )
        .await
        .expect("write before expiry");
    wait_for("the first event", 3000, || {
        reader.row(view, "before").is_some()
    })
    .await;

    // `token_expiring` comes about a second after the hello: the provider is asked again.
    wait_for("a refresh", 2500, || provider_calls() > calls_at_ready).await;
    assert!(
        reader.statuses.borrow()[statuses_at_ready..]
            .iter()
            .all(|s| s["state"] == "ready"),
        "the provider was asked on the open connection, not for a reconnect"
    );

    // Past the first token's expiry (at most 4 s after it was minted, before `ready`).
    let left = 6_000.0 - (js_sys::Date::now() - ready_at);
    if left > 0.0 {
        sleep(left as i32).await;
    }
    writer
        .mutate(
            &channel,
            json!({"op": "put", "id": "after", "doc": {"n": 2}}),
        )
        .await
        .expect("write after the first token's expiry");
    wait_for("the event after expiry", 3000, || {
        reader.row(view, "after").is_some()
    })
    .await;

    // No reconnect: every status since `ready` is `ready`, no failed attempt, no error.
    let later: Vec<Value> = reader.statuses.borrow()[statuses_at_ready..].to_vec();
    assert!(
        later.iter().all(|s| s["state"] == "ready"),
        "the reader left `ready`: {later:?}"
    );
    let status = reader.status();
    assert_eq!(status["state"], "ready", "{status}");
    assert_eq!(status["attempt"], 0, "{status}");
    assert_eq!(status["lastError"], Value::Null, "{status}");
    assert!(
        provider_calls() > calls_at_ready,
        "refreshed on the open connection"
    );
    reader.client.close();
    writer.client.close();
}
