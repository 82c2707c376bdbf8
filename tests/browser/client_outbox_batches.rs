//! Many writes queued at once are stored in one IndexedDB flush (all of them survive a reload),
//! and the acknowledgements of a drain remove them all (nothing is pending after another
//! reload), whatever way the flush groups its requests.
use crate::support::{client, control, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn a_burst_of_queued_writes_is_stored_and_then_removed_whole() {
    let channel = unique("tasks");
    let db = unique("db");
    let fast = json!({ "dbName": db, "backoff": {"initialMs": 50, "maxMs": 200} });
    let n = 60;

    let first = client(fast.clone()).await;
    first.client.connect();
    wait_for("connection", 5000, || first.ready()).await;
    control("stop").await;
    wait_for("disconnect noticed", 5000, || !first.ready()).await;
    let mut pending = Vec::new();
    for i in 0..n {
        pending.push(first.mutate(
            &channel,
            json!({"op": "put", "id": format!("t{}", i % 7), "doc": {"i": i}}),
        ));
    }
    wait_for("writes queued", 2000, || {
        first.status()["pendingCount"] == n
    })
    .await;
    crate::support::sleep(200).await; // let the last IndexedDB transaction commit
    first.client.close();
    drop(pending);
    drop(first);

    let second = client(fast.clone()).await;
    assert_eq!(
        second.status()["pendingCount"],
        n,
        "every queued write restored from IndexedDB"
    );
    control("start").await;
    second.client.connect();
    wait_for("outbox drained", 10_000, || {
        second.ready() && second.status()["pendingCount"] == 0
    })
    .await;
    crate::support::sleep(200).await; // let the removals commit
    second.client.close();
    drop(second);

    let third = client(fast).await;
    assert_eq!(
        third.status()["pendingCount"],
        0,
        "the drain's acknowledgements removed every stored write"
    );
    third.client.close();
}
