//! A write based on a stale version is rejected as a typed conflict, rolled back, and reported
//! with both sides.
use crate::support::{client, control, error_json, sleep, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn stale_write_rejects_with_conflict_and_rolls_back() {
    let channel = unique("tasks");
    let a = client(json!({ "dbName": unique("db") })).await;
    let b = client(json!({ "dbName": unique("db") })).await;
    let va = a.subscribe(&channel);
    let vb = b.subscribe(&channel);
    a.client.connect();
    b.client.connect();
    wait_for("connected", 5000, || a.ready() && b.ready()).await;

    a.mutate(
        &channel,
        json!({"op": "put", "id": "t1", "doc": {"title": "v1"}}),
    )
    .await
    .expect("create");
    wait_for("b has v1", 3000, || b.row(vb, "t1").is_some()).await;
    b.mutate(
        &channel,
        json!({"op": "put", "id": "t1", "doc": {"title": "theirs"}}),
    )
    .await
    .expect("b's edit");

    // A writes against version 1 explicitly: the server is at 2.
    let error = a
        .mutate(
            &channel,
            json!({"op": "put", "id": "t1", "doc": {"title": "mine"}, "baseVersion": 1}),
        )
        .await
        .expect_err("conflict");
    let error = error_json(&error);
    assert_eq!(error["code"], "CONFLICT", "{error}");
    assert_eq!(error["local"]["title"], "mine");
    assert_eq!(error["server"]["version"], 2);
    assert_eq!(error["server"]["doc"]["title"], "theirs");

    wait_for("rolled back to the server's version", 3000, || {
        a.row(va, "t1")
            .is_some_and(|r| r["doc"]["title"] == "theirs" && r["pending"] == false)
    })
    .await;
    let conflicts: Vec<_> = a
        .batches
        .borrow()
        .iter()
        .flat_map(|b| b["conflicts"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["id"], "t1");
    assert_eq!(conflicts[0]["server"]["doc"]["title"], "theirs");
    a.client.close();
    b.client.close();
}

/// A edits a document while the server is down and reloads; B deletes the document; A comes
/// back: the conflict carries A's whole edited body and the base it was made against (kept in
/// the IndexedDB outbox across the reload), not "deleted", and keeping A's side re-creates the
/// document with the edit.
#[wasm_bindgen_test]
async fn offline_edit_against_a_remote_delete_keeps_the_edit() {
    let channel = unique("tasks");
    let (db_a, db_b) = (unique("db"), unique("db"));
    let fast = |db: &str| json!({ "dbName": db, "backoff": {"initialMs": 50, "maxMs": 200} });
    let a = client(fast(&db_a)).await;
    let b = client(fast(&db_b)).await;
    a.subscribe(&channel);
    let vb = b.subscribe(&channel);
    a.client.connect();
    b.client.connect();
    wait_for("connected", 5000, || a.ready() && b.ready()).await;
    a.mutate(
        &channel,
        json!({"op": "put", "id": "w", "doc": {"title": "draft", "n": 1}}),
    )
    .await
    .expect("create");
    wait_for("b has w", 3000, || b.row(vb, "w").is_some()).await;
    b.client.close();
    drop(b);

    // A edits while the server is down, then its tab reloads.
    control("stop").await;
    wait_for("a offline", 5000, || !a.ready()).await;
    let _edit = a.mutate(
        &channel,
        json!({"op": "patch", "id": "w", "doc": {"title": "edited offline"}}),
    );
    wait_for("edit queued", 2000, || a.status()["pendingCount"] == 1).await;
    sleep(100).await; // let the IndexedDB transaction commit
    a.client.close();
    drop(a);
    control("start").await;

    // B deletes the document.
    let b = client(fast(&db_b)).await;
    let vb = b.subscribe(&channel);
    b.client.connect();
    wait_for("b back with w", 5000, || {
        b.ready() && b.row(vb, "w").is_some()
    })
    .await;
    b.mutate(&channel, json!({"op": "delete", "id": "w"}))
        .await
        .expect("b's delete");

    // A comes back: its restored edit conflicts with the delete.
    let a = client(fast(&db_a)).await;
    let va = a.subscribe(&channel);
    a.client.connect();
    let conflict = || {
        a.batches
            .borrow()
            .iter()
            .flat_map(|b| b["conflicts"].as_array().cloned().unwrap_or_default())
            .next()
    };
    wait_for("a's conflict", 5000, || conflict().is_some()).await;
    let conflict = conflict().unwrap();
    assert_eq!(conflict["op"], "edit", "{conflict}");
    assert_eq!(
        conflict["local"],
        json!({"title": "edited offline", "n": 1}),
        "the edit is kept whole: {conflict}"
    );
    assert_eq!(
        conflict["base"],
        json!({"title": "draft", "n": 1}),
        "{conflict}"
    );
    assert!(conflict["server"].is_null(), "{conflict}");
    wait_for("outbox settled", 3000, || a.status()["pendingCount"] == 0).await;

    // "mine" (what resolveConflict does): put the local body, creating it again.
    a.mutate(
        &channel,
        json!({"op": "put", "id": "w", "doc": conflict["local"], "baseVersion": 0}),
    )
    .await
    .expect("re-created");
    wait_for("b sees the edit again", 3000, || {
        b.row(vb, "w")
            .is_some_and(|r| r["doc"]["title"] == "edited offline")
    })
    .await;
    assert_eq!(a.row(va, "w").unwrap()["doc"]["n"], 1);
    a.client.close();
    b.client.close();
}
