//! Another connection upgrades the client's database (a newer build in another tab): the
//! client closes its connection at once (`versionchange`), so the upgrade is not blocked, and
//! its later writes are stored in the upgraded database and reach the server once.
use crate::support::{client, control, eval_promise, js_str, outbox_mutations, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

/// Opens `db` one version up from another connection (creating a store, as a newer build
/// would) and closes it; rejects with "blocked" when a connection does not close for it.
fn upgrade(db: &str) -> String {
    format!(
        "new Promise((resolve, reject) => {{ \
           const first = indexedDB.open({db}); \
           first.onerror = () => reject(first.error); \
           first.onsuccess = () => {{ \
             const version = first.result.version; first.result.close(); \
             const r = indexedDB.open({db}, version + 1); \
             const timer = setTimeout(() => reject(new Error('upgrade timed out')), 3000); \
             r.onblocked = () => {{ clearTimeout(timer); reject(new Error('blocked')); }}; \
             r.onupgradeneeded = () => r.result.createObjectStore('newer-build'); \
             r.onerror = () => {{ clearTimeout(timer); reject(r.error); }}; \
             r.onsuccess = () => {{ clearTimeout(timer); const v = r.result.version; \
               r.result.close(); resolve(v); }}; \
           }}; }})",
        db = js_str(db)
    )
}

#[wasm_bindgen_test]
async fn an_upgrade_elsewhere_proceeds_and_later_writes_persist_once() {
    let channel = unique("tasks");
    let db = unique("db");
    let a = client(json!({ "dbName": db, "backoff": {"initialMs": 50, "maxMs": 200} })).await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    a.mutate(&channel, json!({"op": "put", "id": "t1", "doc": {"n": 1}}))
        .await
        .expect("first write");

    let version = eval_promise(&upgrade(&db))
        .await
        .expect("the upgrade is not blocked by the client's connection");
    assert_eq!(version.as_f64(), Some(2.0));

    // A write while the server is down stays in the outbox of the upgraded database.
    control("stop").await;
    wait_for("disconnect noticed", 5000, || !a.ready()).await;
    let pending = a.mutate(&channel, json!({"op": "put", "id": "t2", "doc": {"n": 2}}));
    let mut stored = false;
    for _ in 0..100 {
        if outbox_mutations(&db).await == 1 {
            stored = true;
            break;
        }
        crate::support::sleep(20).await;
    }
    assert!(stored, "the write after the upgrade is in IndexedDB");
    let status = a.status();
    assert_eq!(status["storage"], "indexeddb", "{status}");
    assert_eq!(status["writesAtRisk"], false, "{status}");

    control("start").await;
    pending.await.expect("the write is acknowledged");
    wait_for("confirmed", 5000, || {
        a.row(view, "t2").is_some_and(|r| r["pending"] == false)
    })
    .await;
    let reader = client(json!({ "dbName": unique("db"), "storage": "memory" })).await;
    let rv = reader.subscribe(&channel);
    reader.client.connect();
    wait_for("reader sees both writes", 5000, || {
        reader.row(rv, "t1").is_some() && reader.row(rv, "t2").is_some()
    })
    .await;
    assert_eq!(reader.row(rv, "t2").unwrap()["version"], 1, "applied once");
    assert_eq!(outbox_mutations(&db).await, 0, "outbox drained");
    a.client.close();
    reader.client.close();
}
