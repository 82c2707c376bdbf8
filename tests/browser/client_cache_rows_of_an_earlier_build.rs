//! A cache written by an earlier build (one record per document, keyed by its id, as text or as
//! an object) is read beside the chunks of this one: a reload shows those documents too.
use crate::support::{client, eval_promise, js_str, read_store, sleep, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

/// Puts rows as an earlier build stored them into `db`'s cache of `channel` for `client_id`.
async fn put_old_rows(db: &str, client_id: &str, channel: &str) {
    let source = format!(
        "new Promise((resolve, reject) => {{ \
           const r = indexedDB.open({db}); \
           r.onerror = () => reject(r.error); \
           r.onsuccess = () => {{ \
             const d = r.result; \
             const tx = d.transaction('docs', 'readwrite'); \
             const docs = tx.objectStore('docs'); \
             docs.put('{{\"id\":\"old1\",\"version\":3,\"doc\":{{\"from\":\"text\"}}}}', [{cid}, {ch}, 'old1']); \
             docs.put({{id: 'old2', version: 4, doc: {{from: 'object'}}}}, [{cid}, {ch}, 'old2']); \
             tx.oncomplete = () => {{ d.close(); resolve(true); }}; \
             tx.onerror = () => {{ d.close(); reject(tx.error); }}; \
           }}; }})",
        db = js_str(db),
        cid = js_str(client_id),
        ch = js_str(channel),
    );
    eval_promise(&source).await.expect("old rows stored");
}

#[wasm_bindgen_test]
async fn rows_of_an_earlier_build_are_read() {
    let channel = unique("tasks");
    let db = unique("db");

    let a = client(json!({ "dbName": db })).await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    a.mutate(
        &channel,
        json!({"op": "put", "id": "new1", "doc": {"n": 1}}),
    )
    .await
    .expect("acknowledged");
    wait_for("confirmed", 5000, || {
        a.row(view, "new1").is_some_and(|r| r["pending"] == false)
    })
    .await;
    // The cache is written every 250 ms: wait until the channel's row is stored.
    for _ in 0..100 {
        if read_store(&db, "channels").await["count"] == 1 {
            break;
        }
        sleep(20).await;
    }
    assert_eq!(
        read_store(&db, "channels").await["count"],
        1,
        "the cache is stored"
    );
    let client_id = a.client.client_id();
    a.client.close();
    drop(a);
    put_old_rows(&db, &client_id, &channel).await;

    // Offline: the view comes from the cache, both kinds of rows.
    let b = client(json!({ "dbName": db })).await;
    assert_eq!(b.client.client_id(), client_id, "the same partition");
    let restored = b.subscribe(&channel);
    wait_for("cached view restored", 5000, || {
        ["new1", "old1", "old2"]
            .iter()
            .all(|id| b.row(restored, id).is_some())
    })
    .await;
    assert_eq!(b.row(restored, "old1").unwrap()["doc"]["from"], "text");
    assert_eq!(b.row(restored, "old2").unwrap()["version"], 4);
    b.client.close();
}
