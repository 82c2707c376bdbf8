//! A client connects to the real server, subscribes, mutates and sees the confirmed result;
//! two clients in one page see each other's changes.
use crate::support::{client, unique, wait_for};
use serde_json::{json, Value};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn subscribe_mutate_and_see_it_confirmed() {
    let channel = unique("tasks");
    let a = client(json!({ "dbName": unique("db") })).await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;

    let put = a.mutate(
        &channel,
        json!({"op": "put", "id": "t1", "doc": {"title": "Fix login"}}),
    );
    // Optimistic: visible and pending before the server answers.
    wait_for("optimistic row", 2000, || a.row(view, "t1").is_some()).await;
    let result = put.await.expect("acknowledged");
    let result: Value = crate::support::to_value(&result);
    assert_eq!(result["version"], 1);
    wait_for("confirmed row", 2000, || {
        a.row(view, "t1")
            .is_some_and(|r| r["pending"] == false && r["version"] == 1)
    })
    .await;
    assert_eq!(
        a.row(view, "t1").unwrap()["doc"],
        json!({"title": "Fix login"})
    );
    wait_for("outbox drained", 2000, || a.status()["pendingCount"] == 0).await;
    assert_eq!(a.status()["storage"], "indexeddb");
    assert_eq!(a.status()["writesAtRisk"], false);
    a.client.close();
}

#[wasm_bindgen_test]
async fn two_clients_in_one_page_see_each_others_changes() {
    let channel = unique("tasks");
    let a = client(json!({ "dbName": unique("db") })).await;
    let b = client(json!({ "dbName": unique("db") })).await;
    assert_ne!(a.client.client_id(), b.client.client_id());
    let va = a.subscribe(&channel);
    let vb = b.subscribe(&channel);
    a.client.connect();
    b.client.connect();
    wait_for("both connected", 5000, || a.ready() && b.ready()).await;

    a.mutate(
        &channel,
        json!({"op": "put", "id": "t1", "doc": {"status": "todo"}}),
    )
    .await
    .expect("a's put");
    wait_for("b sees a's task", 3000, || b.row(vb, "t1").is_some()).await;
    b.mutate(
        &channel,
        json!({"op": "patch", "id": "t1", "doc": {"status": "doing"}}),
    )
    .await
    .expect("b's patch");
    wait_for("a sees b's move", 3000, || {
        a.row(va, "t1")
            .is_some_and(|r| r["doc"]["status"] == "doing" && r["version"] == 2)
    })
    .await;
    a.mutate(&channel, json!({"op": "delete", "id": "t1"}))
        .await
        .expect("a's delete");
    wait_for("b sees the delete", 3000, || b.row(vb, "t1").is_none()).await;
    a.client.close();
    b.client.close();
}
