//! In headless Chromium: a record written through IndexedDB (the shell's web-sys wrapper) in a
//! readwrite transaction reads back identical, also from a second connection to the same
//! database.
use serde_json::json;
use tether::protocol::Json;
use tether::storage::Storage;
use wasm_bindgen_test::wasm_bindgen_test;

const DB: &str = "tether-test-indexeddb-roundtrip";

#[wasm_bindgen_test]
async fn record_written_in_readwrite_transaction_reads_back() {
    Storage::delete(DB).await.expect("delete old test database");
    let storage = Storage::open(DB).await.expect("open IndexedDB");

    assert_eq!(storage.get("task-1").await.expect("get"), None);
    assert_eq!(storage.count().await.expect("count"), 0);

    let task = Json::from(json!({
        "title": "Move card to In Progress ✓",
        "column": "doing",
        "order": 3,
        "tags": ["ui", "sync"],
        "assignee": null,
    }));
    storage.put("task-1", &task).await.expect("put");
    assert_eq!(
        storage.get("task-1").await.expect("get"),
        Some(task.clone())
    );
    assert_eq!(storage.count().await.expect("count"), 1);

    // Overwrite under the same key: still one record, new body.
    let moved = Json::from(json!({ "title": "Move card to In Progress ✓", "column": "done" }));
    storage.put("task-1", &moved).await.expect("put again");
    assert_eq!(storage.count().await.expect("count"), 1);

    // A second, independent connection sees the committed record.
    storage.close();
    let reopened = Storage::open(DB).await.expect("reopen IndexedDB");
    assert_eq!(reopened.get("task-1").await.expect("get"), Some(moved));
    assert_eq!(reopened.get("task-2").await.expect("get"), None);
    reopened.close();

    Storage::delete(DB).await.expect("delete test database");
}
