//! Options and mutations of the wrong shape are refused with a typed `INVALID_ARGUMENT` error
//! naming the field, never a panic; absent and `undefined` fields mean "not given", and
//! `baseVersion: null` means unconditional.
use crate::support::{client, error_json, server_url, unique, wait_for};
use js_sys::{Object, Reflect};
use serde_json::{json, Value};
use tether::TetherClient;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).expect("json")
}

async fn refused_option(options: Value, field: &str) {
    let mut options = options;
    options["url"] = json!(server_url());
    let error = match TetherClient::start(js(&options)).await {
        Ok(_) => panic!("options {options} were accepted"),
        Err(error) => error_json(&error),
    };
    assert_eq!(error["code"], "INVALID_ARGUMENT", "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(field), "{message} names {field}");
}

#[wasm_bindgen_test]
async fn bad_options_are_refused_with_the_field_named() {
    let db = unique("db");
    refused_option(
        json!({"dbName": db, "backoff": {"initialMs": "soon"}}),
        "backoff.initialMs",
    )
    .await;
    refused_option(
        json!({"dbName": db, "backoff": {"factor": 1.5}}),
        "backoff.factor",
    )
    .await;
    refused_option(
        json!({"dbName": db, "requestTimeoutMs": -1}),
        "requestTimeoutMs",
    )
    .await;
    refused_option(json!({"dbName": db, "heartbeat": 5}), "heartbeat").await;
    refused_option(json!({"dbName": 7}), "dbName").await;
    let missing_url: JsValue = Object::new().into();
    let error = error_json(
        &TetherClient::start(missing_url)
            .await
            .err()
            .expect("no url"),
    );
    assert_eq!(error["code"], "INVALID_ARGUMENT", "{error}");
}

#[wasm_bindgen_test]
async fn bad_mutations_are_refused_and_base_version_null_is_unconditional() {
    let channel = unique("tasks");
    let a = client(json!({ "dbName": unique("db") })).await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    for (mutation, field) in [
        (json!({"op": "upsert", "id": "x", "doc": {}}), "op"),
        (json!({"op": "put", "doc": {}}), "id"),
        (json!({"op": "put", "id": "x"}), "doc"),
        (
            json!({"op": "patch", "id": "x", "doc": {}, "baseVersion": -1}),
            "baseVersion",
        ),
        (
            json!({"op": "delete", "id": "x", "baseVersion": "1"}),
            "baseVersion",
        ),
    ] {
        let error = error_json(
            &a.client
                .mutate(&channel, js(&mutation))
                .expect_err("refused"),
        );
        assert_eq!(error["code"], "INVALID_ARGUMENT", "{mutation}: {error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{message} names {field}");
    }
    // `undefined` is absent (automatic), `null` is unconditional.
    let put: JsValue = js(&json!({"op": "put", "id": "u", "doc": {"n": 1}}));
    Reflect::set(&put, &"baseVersion".into(), &JsValue::UNDEFINED).expect("set");
    wasm_bindgen_futures::JsFuture::from(a.client.mutate(&channel, put).expect("accepted"))
        .await
        .expect("written");
    a.mutate(
        &channel,
        json!({"op": "put", "id": "u", "doc": {"n": 2}, "baseVersion": null}),
    )
    .await
    .expect("an unconditional write of an existing document");
    wait_for("confirmed", 3000, || {
        a.row(view, "u")
            .is_some_and(|r| r["version"] == 2 && r["pending"] == false)
    })
    .await;
    a.client.close();
}
