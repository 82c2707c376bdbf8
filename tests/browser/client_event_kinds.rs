//! Server events reach the app through the WASM shell: each change batch lists the view's
//! events with their kind, the writer's own write once (`own: true`, never for the optimistic
//! change), and the other client's as `own: false`.
use crate::support::{client, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn events_name_what_happened_and_an_own_write_is_reported_once() {
    let channel = unique("tasks");
    let a = client(json!({ "dbName": unique("db") })).await;
    let b = client(json!({ "dbName": unique("db") })).await;
    let va = a.subscribe(&channel);
    let vb = b.subscribe(&channel);
    a.client.connect();
    b.client.connect();
    wait_for("both connected", 5000, || a.ready() && b.ready()).await;
    wait_for("both views loaded", 5000, || {
        !a.batches.borrow().is_empty() && !b.batches.borrow().is_empty()
    })
    .await;

    let put = json!({"op": "put", "id": "t1", "doc": {"status": "todo"}});
    a.mutate(&channel, put).await.expect("a's put");
    let patch = json!({"op": "patch", "id": "t1", "doc": {"status": "doing"}});
    a.mutate(&channel, patch).await.expect("a's patch");
    a.mutate(&channel, json!({"op": "delete", "id": "t1"}))
        .await
        .expect("a's delete");
    let expected = |own: bool| {
        ["created", "updated", "deleted"]
            .iter()
            .map(|k| ((*k).to_owned(), "t1".to_owned(), own))
            .collect::<Vec<_>>()
    };
    wait_for("b's events", 5000, || b.events(vb).len() >= 3).await;
    assert_eq!(b.events(vb), expected(false));
    wait_for("a's events", 5000, || a.events(va).len() >= 3).await;
    assert_eq!(a.events(va), expected(true));
    a.client.close();
    b.client.close();
}
