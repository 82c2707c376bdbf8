//! Writes queued by an earlier build (one outbox record per mutation, keyed by its id, as JSON
//! text or as an object) are restored beside this build's chunks, sent once, and removed when
//! acknowledged.
use crate::support::{
    client, control, eval_promise, js_str, outbox_mutations, sleep, unique, wait_for,
};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

/// Rewrites every outbox chunk of `db` as an earlier build stored its rows: the first
/// mutation found as text, the others as objects, each keyed by its id.
async fn as_old_rows(db: &str) -> f64 {
    let source = format!(
        "new Promise((resolve, reject) => {{ \
           const r = indexedDB.open({db}); \
           r.onerror = () => reject(r.error); \
           r.onsuccess = () => {{ \
             const d = r.result; \
             const tx = d.transaction('outbox', 'readwrite'); \
             const store = tx.objectStore('outbox'); \
             const keys = store.getAllKeys(); \
             const rows = store.getAll(); \
             let n = 0; \
             rows.onsuccess = () => {{ \
               rows.result.forEach((row, i) => {{ \
                 const cid = keys.result[i][0]; \
                 store.delete(keys.result[i]); \
                 row.text.split('\\n').forEach((t, j) => {{ \
                   store.put(n === 0 ? t : JSON.parse(t), [cid, row.ids[j]]); n += 1; \
                 }}); \
               }}); \
             }}; \
             tx.oncomplete = () => {{ d.close(); resolve(n); }}; \
             tx.onerror = () => {{ d.close(); reject(tx.error); }}; \
           }}; }})",
        db = js_str(db),
    );
    eval_promise(&source)
        .await
        .expect("rows rewritten")
        .as_f64()
        .unwrap_or(0.0)
}

#[wasm_bindgen_test]
async fn writes_queued_by_an_earlier_build_are_sent_once() {
    let channel = unique("tasks");
    let db = unique("db");
    let fast = json!({ "dbName": db, "backoff": {"initialMs": 50, "maxMs": 200} });

    let a = client(fast.clone()).await;
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    control("stop").await;
    wait_for("disconnect noticed", 5000, || !a.ready()).await;
    let mut pending = Vec::new();
    for i in 0..3 {
        pending.push(a.mutate(
            &channel,
            json!({"op": "put", "id": format!("t{i}"), "doc": {"i": i}}),
        ));
        sleep(50).await; // a flush (a chunk) of its own
    }
    let mut stored = 0;
    for _ in 0..100 {
        stored = outbox_mutations(&db).await;
        if stored == 3 {
            break;
        }
        sleep(20).await;
    }
    assert_eq!(stored, 3, "every write is stored");
    a.client.close();
    drop(pending);
    drop(a);
    assert_eq!(
        as_old_rows(&db).await,
        3.0,
        "three rows as an earlier build wrote them"
    );

    let b = client(fast).await;
    assert_eq!(b.status()["pendingCount"], 3, "the old rows are restored");
    control("start").await;
    b.client.connect();
    wait_for("outbox drained", 10_000, || {
        b.ready() && b.status()["pendingCount"] == 0
    })
    .await;
    sleep(200).await; // the removals commit
    assert_eq!(outbox_mutations(&db).await, 0, "the old rows are removed");
    b.client.close();

    let reader = client(json!({ "dbName": unique("db"), "storage": "memory" })).await;
    let view = reader.subscribe(&channel);
    reader.client.connect();
    wait_for("reader sees every write", 10_000, || {
        (0..3).all(|i| reader.row(view, &format!("t{i}")).is_some())
    })
    .await;
    for i in 0..3 {
        let row = reader.row(view, &format!("t{i}")).unwrap();
        assert_eq!(row["version"], 1, "t{i} applied once: {row}");
    }
    reader.client.close();
}
