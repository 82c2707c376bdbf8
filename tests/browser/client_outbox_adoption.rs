//! The outbox of a tab that closed while offline is sent by the next tab that opens, under its
//! original client id and mutation ids (so the server's exactly-once record holds), and the
//! orphaned partition is then deleted.
use crate::support::{client, control, sleep, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn next_tab_sends_a_closed_tabs_outbox_once() {
    let channel = unique("tasks");
    let db = unique("db");
    let options = json!({ "dbName": &db, "backoff": {"initialMs": 50, "maxMs": 200} });

    control("stop").await;
    let closed_tab = client(options.clone()).await;
    let orphan_id = closed_tab.client.client_id();
    closed_tab.subscribe(&channel);
    let write = closed_tab.mutate(
        &channel,
        json!({"op": "put", "id": "o1", "doc": {"from": "closed tab"}}),
    );
    wait_for("write queued", 2000, || {
        closed_tab.status()["pendingCount"] == 1
    })
    .await;
    sleep(100).await; // let the IndexedDB transaction commit
    closed_tab.client.close();
    let _ = write.await;
    drop(closed_tab);
    // A different tab: it does not share the closed tab's sessionStorage.
    let session = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    session
        .remove_item(&format!("tether:{db}:clientId"))
        .unwrap();

    control("start").await;
    let next_tab = client(options).await;
    assert_ne!(
        next_tab.client.client_id(),
        orphan_id,
        "a new tab has its own id"
    );
    next_tab.client.connect();

    let reader = client(json!({ "dbName": unique("db"), "storage": "memory" })).await;
    let rv = reader.subscribe(&channel);
    reader.client.connect();
    wait_for("adopted write reaches the server", 10_000, || {
        reader.row(rv, "o1").is_some()
    })
    .await;
    let row = reader.row(rv, "o1").unwrap();
    assert_eq!(row["version"], 1, "applied once: {row}");
    assert_eq!(row["doc"], json!({"from": "closed tab"}));

    // The orphaned partition is deleted once its outbox drained.
    let mut gone = false;
    for _ in 0..100 {
        if !has_partition(&db, &orphan_id).await {
            gone = true;
            break;
        }
        sleep(50).await;
    }
    assert!(gone, "the adopted partition {orphan_id} was not deleted");
    next_tab.client.close();
    reader.client.close();
}

async fn has_partition(db: &str, client_id: &str) -> bool {
    let keys = crate::support::read_store(db, "clients").await;
    keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .any(|k| k == client_id)
}
