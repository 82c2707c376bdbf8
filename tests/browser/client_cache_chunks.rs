//! A channel's cached documents are stored as chunks, one per flush, and stored again as one
//! when the chunks grow too many: after updates in many flushes, a delete and a reload, the
//! view restored from IndexedDB (offline) holds exactly the current documents — the deleted
//! one does not come back — in a handful of records.
use crate::support::{client, read_store, sleep, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn the_cache_restored_after_many_flushes_and_a_delete_is_current() {
    let channel = unique("tasks");
    let db = unique("db");
    let n = 30;

    let a = client(json!({ "dbName": db })).await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    let mut writes = Vec::new();
    for i in 0..n {
        writes.push(a.mutate(
            &channel,
            json!({"op": "put", "id": format!("t{i}"), "doc": {"i": i, "round": 0}}),
        ));
    }
    for write in writes {
        write.await.expect("acknowledged");
    }
    // Updates of one document in 40 flushes of their own (more chunks than the limit of 16),
    // and of another in the same flushes: one delete among them.
    for round in 1..=40 {
        a.mutate(
            &channel,
            json!({"op": "put", "id": "t5", "doc": {"i": 5, "round": round}}),
        )
        .await
        .expect("update acknowledged");
        if round == 20 {
            a.mutate(&channel, json!({"op": "delete", "id": "t3"}))
                .await
                .expect("delete acknowledged");
        }
        if round == 30 {
            a.mutate(&channel, json!({"op": "delete", "id": "t7"}))
                .await
                .expect("delete acknowledged");
        }
    }
    wait_for("confirmed", 5000, || {
        a.row(view, "t5")
            .is_some_and(|r| r["pending"] == false && r["doc"]["round"] == 40)
            && a.row(view, "t3").is_none()
    })
    .await;
    sleep(600).await; // the cache is written every 250 ms: its last flush commits
    a.client.close();
    drop(a);

    let records = read_store(&db, "docs").await["count"].as_u64().unwrap_or(0);
    assert!(
        (1..=16).contains(&records),
        "the cache of {n} documents after 42 flushes is a few records: {records}"
    );

    // Offline: the view comes from the cache alone.
    let b = client(json!({ "dbName": db })).await;
    let restored = b.subscribe(&channel);
    wait_for("cached view restored", 5000, || {
        b.row(restored, "t0").is_some() && b.row(restored, "t29").is_some()
    })
    .await;
    for i in 0..n {
        let row = b.row(restored, &format!("t{i}"));
        if i == 3 || i == 7 {
            assert!(row.is_none(), "t{i} was deleted: {row:?}");
            continue;
        }
        let row = row.unwrap_or_else(|| panic!("t{i} restored"));
        let round = if i == 5 { 40 } else { 0 };
        assert_eq!(row["doc"]["round"], round, "t{i}: {row}");
        assert_eq!(row["doc"]["i"], i, "t{i}: {row}");
    }
    b.client.close();
}
