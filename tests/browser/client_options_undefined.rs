//! Options given as `undefined` (as JSX passes `backoff={undefined}`) mean "not given": the
//! client starts and connects. Client ids are 128 random bits from the Web Crypto API.
use crate::support::{server_url, unique, wait_for};
use js_sys::{Object, Reflect};
use tether::TetherClient;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn set(target: &JsValue, key: &str, value: &JsValue) {
    Reflect::set(target, &key.into(), value).expect("set option");
}

#[wasm_bindgen_test]
async fn undefined_options_are_absent_and_the_client_connects() {
    let options: JsValue = Object::new().into();
    set(&options, "url", &server_url().into());
    set(&options, "dbName", &unique("db").into());
    for key in [
        "backoff",
        "heartbeat",
        "flush",
        "token",
        "storage",
        "requestTimeoutMs",
        "handshakeTimeoutMs",
        "getToken",
    ] {
        set(&options, key, &JsValue::UNDEFINED);
    }
    let nested: JsValue = Object::new().into();
    set(&nested, "initialMs", &JsValue::UNDEFINED);
    set(&nested, "maxMs", &JsValue::from_f64(2000.0));
    set(&options, "backoff", &nested);
    let client = TetherClient::start(options)
        .await
        .expect("a client with undefined options starts");
    client.connect();
    wait_for("connection", 5000, || {
        let status = client.status();
        Reflect::get(&status, &"state".into())
            .ok()
            .and_then(|s| s.as_string())
            .is_some_and(|s| s == "ready")
    })
    .await;
    client.close();
}

#[wasm_bindgen_test]
async fn client_ids_are_128_random_bits() {
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let options: JsValue = Object::new().into();
        set(&options, "url", &server_url().into());
        set(&options, "dbName", &unique("db").into());
        let client = TetherClient::start(options).await.expect("client");
        let id = client.client_id();
        assert_eq!(id.len(), 2 + 32, "c- and 32 hex digits: {id}");
        assert!(id.starts_with("c-"));
        assert!(id[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        ids.insert(id);
        client.close();
    }
    assert_eq!(ids.len(), 4);
}
