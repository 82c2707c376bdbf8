//! `since` older than the retained log, or from another epoch (a new database), answers
//! `reset` with a fresh snapshot.

use crate::common::TestServer;
use serde_json::json;
use tether_protocol::{Continuity, ServerMessage};

fn reset_snapshot(msg: &ServerMessage) -> (String, u64, Vec<String>) {
    match msg {
        ServerMessage::Subscribed {
            epoch,
            offset,
            continuity: Continuity::Reset,
            snapshot: Some(docs),
            ..
        } => (
            epoch.clone(),
            *offset,
            docs.iter().map(|d| d.id.clone()).collect(),
        ),
        other => panic!("expected a reset with snapshot, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_older_than_retention_is_a_reset_with_snapshot() {
    let server = TestServer::start(|o| o.retain_events = 3).await;
    let mut w = server.client("w").await;
    let got = w.subscribe(json!({"channel": "tasks"})).await;
    let (epoch, _, _) = reset_snapshot(&got[0]);
    for mid in 1..=6 {
        w.put(mid, "tasks", &format!("t{mid}"), json!({})).await;
        w.recv().await; // event
        w.recv().await; // ack
    }
    let mut r = server.client("r").await;
    let got = r
        .subscribe(json!({"channel": "tasks", "since": {"epoch": epoch, "offset": 1}}))
        .await;
    let (e, offset, ids) = reset_snapshot(&got[0]);
    assert_eq!((e, offset), (epoch.clone(), 6));
    assert_eq!(ids, ["t1", "t2", "t3", "t4", "t5", "t6"]);
    // Within the window it recovers.
    let got = r
        .subscribe(json!({"channel": "tasks", "since": {"epoch": epoch, "offset": 4}}))
        .await;
    assert!(matches!(
        got[0],
        ServerMessage::Subscribed {
            continuity: Continuity::Recovered,
            ..
        }
    ));
    assert_eq!(got.len(), 4);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_database_has_a_new_epoch_and_resets_every_resume() {
    let server = TestServer::start(|_| {}).await;
    let mut w = server.client("w").await;
    let got = w.subscribe(json!({"channel": "tasks"})).await;
    let (old_epoch, _, _) = reset_snapshot(&got[0]);
    w.put(1, "tasks", "t1", json!({})).await;
    server.stop().await;
    // A fresh database file (a reset of the server's data).
    let server = TestServer::start(|_| {}).await;
    let mut r = server.client("r").await;
    let got = r
        .subscribe(json!({"channel": "tasks", "since": {"epoch": old_epoch, "offset": 1}}))
        .await;
    let (epoch, offset, ids) = reset_snapshot(&got[0]);
    assert_ne!(epoch, old_epoch);
    assert_eq!(offset, 0);
    assert!(ids.is_empty());
    server.stop().await;
}
