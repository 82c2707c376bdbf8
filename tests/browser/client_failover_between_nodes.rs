//! Failover between two cluster nodes (CLUSTER.md) in the browser: a client given both nodes
//! as `url: [node 1, node 2]` is subscribed and writing on node 1 when node 1 is SIGKILLed
//! (with writes in flight); it writes more while it is disconnected, lands on node 2, resumes
//! its view `recovered`, and every write is acknowledged once. On the server (node 2's change
//! feed and a second client on node 2) every write is applied exactly once: one event each,
//! gap-free offsets, every document at version 1, nothing missing.
use std::collections::BTreeSet;

use crate::support::{client, control_get, control_text, to_value, unique, wait_for};
use serde_json::{json, Value};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

/// Writes acknowledged on node 1 before it dies.
const BEFORE: usize = 5;
/// Writes started in the same task as the kill request: some reach node 1 (committed or not,
/// acknowledged or not) before it dies.
const IN_FLIGHT: usize = 20;
/// Writes made after the client saw its connection to node 1 drop.
const DURING: usize = 10;

fn put(id: &str) -> Value {
    json!({"op": "put", "id": id, "doc": {"title": id}})
}

#[wasm_bindgen_test]
async fn writes_made_while_the_first_node_dies_are_applied_once_on_the_second() {
    let started: Value = serde_json::from_str(&control_text("cluster/start").await).expect("json");
    let urls: Vec<String> = started["urls"]
        .as_array()
        .expect("urls")
        .iter()
        .map(|u| u.as_str().expect("url").to_owned())
        .collect();
    let (node1, node2) = (urls[0].clone(), urls[1].clone());
    let channel = unique("tasks");
    let a = client(json!({
        "dbName": unique("db"),
        "url": [node1, node2],
        "backoff": {"initialMs": 100, "maxMs": 400},
    }))
    .await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection to node 1", 5000, || a.ready()).await;
    assert_eq!(a.status()["endpoint"], node1.as_str());

    let mut ids = Vec::new();
    for i in 0..BEFORE {
        let id = format!("before-{i}");
        let result = to_value(&a.mutate(&channel, put(&id)).await.expect("acknowledged"));
        assert_eq!(result["version"], 1, "{id}: {result}");
        ids.push(id);
    }

    // A burst, then node 1 is SIGKILLed while it takes the burst.
    let statuses_before_kill = a.statuses.borrow().len();
    let mut writes: Vec<(String, JsFuture)> = Vec::new();
    for i in 0..IN_FLIGHT {
        let id = format!("in-flight-{i}");
        writes.push((id.clone(), a.mutate(&channel, put(&id))));
    }
    let killed: Value =
        serde_json::from_str(&control_text("cluster/kill?node=0").await).expect("json");
    assert_eq!(killed["killed"], true, "{killed}");

    // The client sees its connection drop; the next writes are made while it is not ready
    // (checked in the same task, so no connection can open in between).
    wait_for("the client to see node 1 gone", 10_000, || {
        a.statuses.borrow()[statuses_before_kill..]
            .iter()
            .any(|s| s["state"] != "ready")
            && !a.ready()
    })
    .await;
    let status = a.status();
    assert_ne!(status["state"], "ready", "{status}");
    for i in 0..DURING {
        let id = format!("during-{i}");
        writes.push((id.clone(), a.mutate(&channel, put(&id))));
    }

    // Every write is acknowledged, as the first application of its document.
    for (id, write) in writes {
        let result = to_value(&write.await.unwrap_or_else(|e| {
            panic!(
                "{id} was not acknowledged: {}",
                crate::support::error_json(&e)
            )
        }));
        assert_eq!(result["version"], 1, "{id}: {result}");
        ids.push(id);
    }
    wait_for("connected to node 2", 10_000, || a.ready()).await;
    assert_eq!(a.status()["endpoint"], node2.as_str());
    wait_for("nothing pending", 10_000, || {
        a.status()["pendingCount"].as_u64() == Some(0)
    })
    .await;

    wait_for("every write confirmed in the view", 10_000, || {
        ids.iter().all(|id| {
            a.row(view, id)
                .is_some_and(|r| r["pending"] == false && r["version"] == 1)
        })
    })
    .await;

    // The view resumed from its cursor on node 2: after the first load (`reset`, a new
    // channel) only `recovered`, never `reset` again.
    let continuity = || -> Vec<Value> {
        a.batches
            .borrow()
            .iter()
            .flat_map(|b| b["views"].as_array().cloned().unwrap_or_default())
            .filter(|v| v["sub"].as_f64() == Some(view))
            .filter_map(|v| v.get("continuity").cloned())
            .collect()
    };
    wait_for("the view resumed on node 2", 10_000, || {
        continuity().contains(&json!("recovered"))
    })
    .await;
    let continuity = continuity();
    assert_eq!(continuity[0], "reset", "{continuity:?}");
    assert!(
        continuity[1..].iter().all(|c| c == "recovered"),
        "resumed recovered, never reset: {continuity:?}"
    );

    // The server's log: one event per write, gap-free offsets, no document written twice.
    let feed = control_get(&format!("cluster/events?node=1&channel={channel}")).await;
    let events = feed["events"].as_array().expect("events");
    let total = BEFORE + IN_FLIGHT + DURING;
    let offsets: Vec<u64> = events.iter().filter_map(|e| e["offset"].as_u64()).collect();
    assert_eq!(offsets, (1..=total as u64).collect::<Vec<_>>(), "{feed}");
    assert_eq!(feed["head"], total, "{feed}");
    let logged: BTreeSet<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    let written: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(logged, written, "every write logged, nothing else");
    for event in events {
        assert_eq!(event["version"], 1, "{event}");
        assert_eq!(event["kind"], "created", "{event}");
    }
    let mutation_ids: BTreeSet<u64> = events
        .iter()
        .filter_map(|e| e["origin"]["mutation_id"].as_u64())
        .collect();
    assert_eq!(mutation_ids.len(), total, "one event per mutation: {feed}");

    // A second client on node 2 sees every document once, at version 1.
    let b = client(json!({"dbName": unique("db"), "url": node2})).await;
    let b_view = b.subscribe(&channel);
    b.client.connect();
    wait_for("the reader sees every write", 10_000, || {
        b.views
            .borrow()
            .get(&(b_view as u64))
            .is_some_and(|rows| rows.len() == total)
    })
    .await;
    for id in &ids {
        let row = b.row(b_view, id).expect("row");
        assert_eq!(row["version"], 1, "{row}");
    }
    a.client.close();
    b.client.close();
}
