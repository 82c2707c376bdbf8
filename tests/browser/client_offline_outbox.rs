//! A mutation made while the server is down stays in IndexedDB, survives dropping and
//! re-creating the client (a simulated reload), and is applied exactly once when the server is
//! back.
use crate::support::{client, control, sleep, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn queued_write_survives_a_reload_and_applies_once() {
    let channel = unique("tasks");
    let db = unique("db");
    let fast = json!({ "dbName": db, "backoff": {"initialMs": 50, "maxMs": 200} });

    let first = client(fast.clone()).await;
    let client_id = first.client.client_id();
    first.subscribe(&channel);
    first.client.connect();
    wait_for("connection", 5000, || first.ready()).await;

    control("stop").await;
    wait_for("disconnect noticed", 5000, || !first.ready()).await;
    let pending = first.mutate(&channel, json!({"op": "put", "id": "t1", "doc": {"n": 1}}));
    wait_for("write queued", 2000, || first.status()["pendingCount"] == 1).await;
    sleep(100).await; // let the IndexedDB transaction commit
    first.client.close();
    // The promise of a closed client rejects with CLOSED; the write stays queued.
    let closed = pending.await.expect_err("closed client rejects");
    assert_eq!(crate::support::error_json(&closed)["code"], "CLOSED");
    drop(first);

    // "Reload": a new client on the same database takes over this tab's id and outbox.
    let second = client(fast).await;
    assert_eq!(
        second.client.client_id(),
        client_id,
        "same tab, same client id"
    );
    assert_eq!(
        second.status()["pendingCount"],
        1,
        "outbox restored from IndexedDB"
    );
    let view = second.subscribe(&channel);
    wait_for("restored optimistic row", 2000, || {
        second.row(view, "t1").is_some()
    })
    .await;

    control("start").await;
    second.client.connect();
    wait_for("outbox drained", 10_000, || {
        second.ready() && second.status()["pendingCount"] == 0
    })
    .await;

    // A third, independent client reads the server's state: version 1 = applied exactly once.
    let reader = client(json!({ "dbName": unique("db"), "storage": "memory" })).await;
    let rv = reader.subscribe(&channel);
    reader.client.connect();
    wait_for("reader sees the write", 5000, || {
        reader.row(rv, "t1").is_some()
    })
    .await;
    let row = reader.row(rv, "t1").unwrap();
    assert_eq!(row["version"], 1, "applied exactly once: {row}");
    assert_eq!(row["doc"], json!({"n": 1}));
    second.client.close();
    reader.client.close();
}
