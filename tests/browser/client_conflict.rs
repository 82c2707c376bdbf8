//! A write based on a stale version is rejected as a typed conflict, rolled back, and reported
//! with both sides.
use crate::support::{client, error_json, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn stale_write_rejects_with_conflict_and_rolls_back() {
    let channel = unique("tasks");
    let a = client(json!({ "dbName": unique("db") })).await;
    let b = client(json!({ "dbName": unique("db") })).await;
    let va = a.subscribe(&channel);
    let vb = b.subscribe(&channel);
    a.client.connect();
    b.client.connect();
    wait_for("connected", 5000, || a.ready() && b.ready()).await;

    a.mutate(
        &channel,
        json!({"op": "put", "id": "t1", "doc": {"title": "v1"}}),
    )
    .await
    .expect("create");
    wait_for("b has v1", 3000, || b.row(vb, "t1").is_some()).await;
    b.mutate(
        &channel,
        json!({"op": "put", "id": "t1", "doc": {"title": "theirs"}}),
    )
    .await
    .expect("b's edit");

    // A writes against version 1 explicitly: the server is at 2.
    let error = a
        .mutate(
            &channel,
            json!({"op": "put", "id": "t1", "doc": {"title": "mine"}, "baseVersion": 1}),
        )
        .await
        .expect_err("conflict");
    let error = error_json(&error);
    assert_eq!(error["code"], "CONFLICT", "{error}");
    assert_eq!(error["local"]["title"], "mine");
    assert_eq!(error["server"]["version"], 2);
    assert_eq!(error["server"]["doc"]["title"], "theirs");

    wait_for("rolled back to the server's version", 3000, || {
        a.row(va, "t1")
            .is_some_and(|r| r["doc"]["title"] == "theirs" && r["pending"] == false)
    })
    .await;
    let conflicts: Vec<_> = a
        .batches
        .borrow()
        .iter()
        .flat_map(|b| b["conflicts"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["id"], "t1");
    assert_eq!(conflicts[0]["server"]["doc"]["title"], "theirs");
    a.client.close();
    b.client.close();
}
