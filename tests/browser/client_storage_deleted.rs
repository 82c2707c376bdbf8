//! The database is deleted under a running client (another tab, or the app, calls
//! `indexedDB.deleteDatabase`): the client closes its connection so the deletion proceeds, and
//! at its next write stores again everything it holds — its unsent writes too, not only the new
//! one — so a reload still sends them, once.
use crate::support::{client, control, eval_promise, js_str, outbox_mutations, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

fn delete(db: &str) -> String {
    format!(
        "new Promise((resolve, reject) => {{ \
           const r = indexedDB.deleteDatabase({db}); \
           const timer = setTimeout(() => reject(new Error('delete timed out')), 3000); \
           r.onblocked = () => {{ clearTimeout(timer); reject(new Error('blocked')); }}; \
           r.onerror = () => {{ clearTimeout(timer); reject(r.error); }}; \
           r.onsuccess = () => {{ clearTimeout(timer); resolve(true); }}; }})",
        db = js_str(db)
    )
}

#[wasm_bindgen_test]
async fn a_deleted_database_is_filled_again_with_the_unsent_writes() {
    let channel = unique("tasks");
    let db = unique("db");
    let fast = json!({ "dbName": db, "backoff": {"initialMs": 50, "maxMs": 200} });
    let a = client(fast.clone()).await;
    let client_id = a.client.client_id();
    a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    control("stop").await;
    wait_for("disconnect noticed", 5000, || !a.ready()).await;
    let _first = a.mutate(&channel, json!({"op": "put", "id": "d1", "doc": {"n": 1}}));
    wait_for("first write stored", 2000, || {
        a.status()["pendingCount"] == 1
    })
    .await;
    crate::support::sleep(100).await;

    eval_promise(&delete(&db))
        .await
        .expect("the deletion is not blocked by the client's connection");
    assert_eq!(outbox_mutations(&db).await, 0, "deleted");

    let _second = a.mutate(&channel, json!({"op": "put", "id": "d2", "doc": {"n": 2}}));
    let mut both = false;
    for _ in 0..100 {
        if outbox_mutations(&db).await == 2 {
            both = true;
            break;
        }
        crate::support::sleep(20).await;
    }
    assert!(both, "both unsent writes are stored again");
    assert_eq!(a.status()["writesAtRisk"], false);
    a.client.close();
    drop(a);

    // "Reload": the same tab's new client restores both and sends them once.
    let again = client(fast).await;
    assert_eq!(again.client.client_id(), client_id);
    assert_eq!(again.status()["pendingCount"], 2, "{}", again.status());
    control("start").await;
    again.client.connect();
    wait_for("outbox drained", 10_000, || {
        again.ready() && again.status()["pendingCount"] == 0
    })
    .await;
    let reader = client(json!({ "dbName": unique("db"), "storage": "memory" })).await;
    let rv = reader.subscribe(&channel);
    reader.client.connect();
    wait_for("reader sees both", 5000, || {
        reader.row(rv, "d1").is_some() && reader.row(rv, "d2").is_some()
    })
    .await;
    assert_eq!(reader.row(rv, "d1").unwrap()["version"], 1, "applied once");
    assert_eq!(reader.row(rv, "d2").unwrap()["version"], 1, "applied once");
    again.client.close();
    reader.client.close();
}
