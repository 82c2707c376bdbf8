//! Writes made in one task (an app's loop of `mutate()` calls) are gathered: the client reports
//! them in one change batch and one status, right after the task, and stores them in one
//! IndexedDB transaction; every one of them is in the outbox afterwards.
use crate::support::{client, eval_promise, outbox_mutations, sleep, unique};
use serde_json::json;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

/// Counts the readwrite transactions the page opens from now on (it only counts: each call
/// goes on to IndexedDB unchanged).
const COUNT_WRITES: &str = "new Promise((resolve) => { \
    if (!window.__rwCount) { \
      window.__rwCount = 0; \
      const open = IDBDatabase.prototype.transaction; \
      IDBDatabase.prototype.transaction = function (stores, mode, ...rest) { \
        if (mode === 'readwrite') window.__rwCount += 1; \
        return open.call(this, stores, mode, ...rest); \
      }; \
    } \
    resolve(window.__rwCount); })";

async fn readwrite_transactions() -> f64 {
    eval_promise(COUNT_WRITES)
        .await
        .ok()
        .and_then(|v: JsValue| v.as_f64())
        .expect("the count")
}

#[wasm_bindgen_test]
async fn a_loop_of_writes_is_one_change_batch_one_status_and_one_transaction() {
    let channel = unique("tasks");
    let db = unique("db");
    // Never connected: the writes wait in the outbox, so nothing but them is written.
    let a = client(json!({ "dbName": db })).await;
    let sub = a.subscribe(&channel);
    sleep(100).await; // whatever the start and the subscribe report is out of the way
    let batches = a.batches.borrow().len();
    let statuses = a.statuses.borrow().len();
    let before = readwrite_transactions().await;
    let n = 50;
    let mut pending = Vec::new();
    for i in 0..n {
        pending.push(a.mutate(
            &channel,
            json!({"op": "put", "id": format!("t{i}"), "doc": {"i": i}}),
        ));
    }
    assert_eq!(
        a.batches.borrow().len(),
        batches,
        "nothing is reported inside the app's task"
    );
    sleep(0).await;
    let new_batches = a.batches.borrow()[batches..].to_vec();
    assert_eq!(new_batches.len(), 1, "one change batch: {new_batches:?}");
    for i in 0..n {
        assert_eq!(
            a.row(sub, &format!("t{i}"))
                .map(|row| row["doc"]["i"].clone()),
            Some(json!(i)),
            "write {i} shows optimistically"
        );
    }
    let new_statuses = a.statuses.borrow()[statuses..].to_vec();
    assert_eq!(new_statuses.len(), 1, "one status: {new_statuses:?}");
    assert_eq!(new_statuses[0]["pendingCount"], n);

    let mut stored = 0;
    for _ in 0..50 {
        stored = outbox_mutations(&db).await;
        if stored == n {
            break;
        }
        sleep(20).await;
    }
    assert_eq!(stored, n, "every write is stored");
    assert_eq!(
        readwrite_transactions().await - before,
        1.0,
        "the writes of one task are stored in one transaction"
    );
    a.client.close();
    drop(pending);
}
