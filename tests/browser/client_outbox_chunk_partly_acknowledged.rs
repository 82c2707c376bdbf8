//! Writes queued in one task are stored as one outbox chunk; when only some of them are
//! acknowledged, the chunk is stored again without those: a reload in the middle of the drain
//! restores exactly the rest, and every write ends applied once.
use crate::support::{client, control, outbox_mutations, read_store, sleep, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn a_reload_in_the_middle_of_a_drain_restores_the_unacknowledged_rest() {
    let channel = unique("tasks");
    let db = unique("db");
    let fast = json!({ "dbName": db, "backoff": {"initialMs": 50, "maxMs": 200} });
    let n = 20;

    let first = client(fast.clone()).await;
    first.client.connect();
    wait_for("connection", 5000, || first.ready()).await;
    control("stop").await;
    wait_for("disconnect noticed", 5000, || !first.ready()).await;
    let mut pending = Vec::new();
    for i in 0..n {
        pending.push(first.mutate(
            &channel,
            json!({"op": "put", "id": format!("t{i}"), "doc": {"i": i}}),
        ));
    }
    let mut stored = 0;
    for _ in 0..100 {
        stored = outbox_mutations(&db).await;
        if stored == n {
            break;
        }
        sleep(20).await;
    }
    assert_eq!(stored, n, "every write is stored");
    assert_eq!(
        read_store(&db, "outbox").await["count"],
        1,
        "the writes of one task are one record"
    );

    // Acknowledgements now arrive one or two at a time (10 mutations/s, burst 2).
    control("start-slow").await;
    first.client.connect();
    let mut stored = n;
    for _ in 0..200 {
        stored = outbox_mutations(&db).await;
        if stored <= n - 5 {
            break;
        }
        sleep(20).await;
    }
    assert!(
        stored <= n - 5,
        "acknowledged writes leave the store: {stored} of {n} left"
    );
    first.client.close();
    drop(pending);
    drop(first);
    sleep(100).await; // a removal flush under way commits

    let left = outbox_mutations(&db).await;
    assert!(
        left > 0 && left < n,
        "the chunk was stored again without the acknowledged writes: {left} of {n} left"
    );
    let second = client(fast.clone()).await;
    assert_eq!(
        second.status()["pendingCount"],
        left,
        "the stored rest is restored"
    );
    control("restart").await;
    second.client.connect();
    wait_for("outbox drained", 10_000, || {
        second.ready() && second.status()["pendingCount"] == 0
    })
    .await;
    sleep(200).await; // let the removals commit
    assert_eq!(outbox_mutations(&db).await, 0, "nothing stays stored");
    second.client.close();
    drop(second);

    let reader = client(json!({ "dbName": unique("db"), "storage": "memory" })).await;
    let view = reader.subscribe(&channel);
    reader.client.connect();
    wait_for("reader sees every write", 10_000, || {
        (0..n).all(|i| reader.row(view, &format!("t{i}")).is_some())
    })
    .await;
    for i in 0..n {
        let row = reader.row(view, &format!("t{i}")).unwrap();
        assert_eq!(row["version"], 1, "t{i} applied once: {row}");
        assert_eq!(row["doc"]["i"], i, "t{i}: {row}");
    }
    reader.client.close();
}
