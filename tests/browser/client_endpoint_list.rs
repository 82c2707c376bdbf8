//! `url` as a list of endpoints: a client whose first URL is a closed loopback port moves on
//! to the second (the real server), works there and says which endpoint it uses; a `url`
//! function is asked before each attempt (a throw or a dead URL is a failed attempt); a `url`
//! that is none of these is refused with `INVALID_ARGUMENT`.
use crate::support::{client, error_json, js_str, server_url, to_value, unique, wait_for};
use serde_json::{json, Value};
use tether::TetherClient;
use wasm_bindgen_test::wasm_bindgen_test;

/// Nothing listens on port 3 of the loopback (and browsers do not block it as unsafe).
const CLOSED: &str = "ws://127.0.0.1:3/ws";

#[wasm_bindgen_test]
async fn a_dead_first_endpoint_is_skipped_for_the_next() {
    let channel = unique("tasks");
    let a = client(json!({
        "dbName": unique("db"),
        "url": [CLOSED, server_url()],
        "backoff": {"initialMs": 50, "maxMs": 200},
    }))
    .await;
    assert_eq!(a.status()["endpoint"], CLOSED, "{}", a.status());
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection to the second endpoint", 5000, || a.ready()).await;
    let status = a.status();
    assert_eq!(status["endpoint"], server_url(), "{status}");
    let tried: Vec<Value> = a
        .statuses
        .borrow()
        .iter()
        .map(|s| json!([s["state"], s["endpoint"]]))
        .collect();
    assert!(
        tried.contains(&json!(["connecting", CLOSED])),
        "the first endpoint was tried: {tried:?}"
    );
    let put = a.mutate(
        &channel,
        json!({"op": "put", "id": "t1", "doc": {"title": "via the second"}}),
    );
    let result = to_value(&put.await.expect("acknowledged"));
    assert_eq!(result["version"], 1);
    wait_for("confirmed row", 2000, || {
        a.row(view, "t1")
            .is_some_and(|r| r["pending"] == false && r["version"] == 1)
    })
    .await;
    assert_eq!(a.status()["endpoint"], server_url());
    a.client.close();
}

#[wasm_bindgen_test]
async fn a_url_function_is_asked_before_each_attempt() {
    // Attempt 0: the function throws; attempt 1: a dead URL; then the server.
    let source = format!(
        "((failed) => {{ (globalThis.__tetherUrlCalls ||= []).push(failed); \
         if (failed === 0) throw new Error('no endpoint yet'); \
         return failed === 1 ? {} : {}; }})",
        js_str(CLOSED),
        js_str(server_url())
    );
    let a = client(json!({
        "dbName": unique("db"),
        "urlFrom": source,
        "backoff": {"initialMs": 50, "maxMs": 200},
    }))
    .await;
    assert_eq!(a.status()["endpoint"], Value::Null, "not asked yet");
    a.client.connect();
    wait_for("connection to the URL the function gave", 5000, || {
        a.ready()
    })
    .await;
    assert_eq!(a.status()["endpoint"], server_url());
    let calls = to_value(&js_sys::eval("globalThis.__tetherUrlCalls").expect("calls"));
    assert_eq!(calls, json!([0, 1, 2]));
    let tried: Vec<Value> = a
        .statuses
        .borrow()
        .iter()
        .map(|s| s["endpoint"].clone())
        .collect();
    assert!(tried.contains(&json!(CLOSED)), "{tried:?}");
    a.client.close();
}

#[wasm_bindgen_test]
async fn a_single_url_is_its_endpoint() {
    let a = client(json!({ "dbName": unique("db") })).await;
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    assert_eq!(a.status()["endpoint"], server_url());
    a.client.close();
}

#[wasm_bindgen_test]
async fn a_url_that_is_not_a_string_or_a_list_of_strings_is_refused() {
    for url in [
        json!([]),
        json!([server_url(), 5]),
        json!([null]),
        json!(5),
        json!({"href": server_url()}),
    ] {
        let options = json!({"dbName": unique("db"), "url": url});
        let js = js_sys::JSON::parse(&options.to_string()).expect("json");
        let error = match TetherClient::start(js).await {
            Ok(_) => panic!("url {url} was accepted"),
            Err(error) => error_json(&error),
        };
        assert_eq!(error["code"], "INVALID_ARGUMENT", "{url}: {error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains("url"), "{message} names url");
    }
}
