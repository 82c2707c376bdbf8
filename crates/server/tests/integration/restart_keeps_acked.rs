//! The server killed (SIGKILL) and restarted on the same file keeps every acknowledged
//! mutation, keeps its epoch and offsets, and answers a resend from the dedupe record.

use crate::common::{ack, BinaryServer, Client};
use serde_json::json;
use tether_protocol::{Continuity, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_mutations_survive_kill_9_and_resends_are_answered_from_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tether.sqlite3");
    let db = db.to_str().unwrap();
    let server = BinaryServer::start(&["--dev", "--db", db]);
    let mut c = Client::hello(&server.url(), "c").await;
    let got = c.subscribe(json!({"channel": "tasks"})).await;
    let epoch = match &got[0] {
        ServerMessage::Subscribed { epoch, .. } => epoch.clone(),
        other => panic!("{other:?}"),
    };
    let mut acks = Vec::new();
    for mid in 1..=20u64 {
        c.put(mid, "tasks", &format!("t{mid}"), json!({"n": mid}))
            .await;
        c.recv().await; // event
        acks.push(c.recv().await);
    }
    server.kill9();

    let server = BinaryServer::start(&["--dev", "--db", db]);
    let mut c = Client::hello(&server.url(), "c").await;
    // Every acked mutation is there, at the same epoch and head.
    let got = c.subscribe(json!({"channel": "tasks"})).await;
    match &got[0] {
        ServerMessage::Subscribed {
            epoch: e,
            offset,
            snapshot: Some(docs),
            continuity,
            ..
        } => {
            assert_eq!(e, &epoch);
            assert_eq!(*offset, 20);
            assert_eq!(*continuity, Continuity::Reset);
            assert_eq!(docs.len(), 20);
            assert!(docs
                .iter()
                .any(|d| d.id == "t20" && d.doc == tether_protocol::Json::from(json!({"n": 20}))));
        }
        other => panic!("{other:?}"),
    }
    // The last ack was "lost": the resend gets the identical ack and no new event.
    c.put(20, "tasks", "t20", json!({"n": 20})).await;
    assert_eq!(c.recv().await, acks[19]);
    c.silent_for(100).await;
    // Resuming from an offset before the crash recovers from the persisted log.
    let got = c
        .subscribe(json!({"channel": "tasks", "since": {"epoch": epoch, "offset": 18}}))
        .await;
    assert!(matches!(
        got[0],
        ServerMessage::Subscribed {
            continuity: Continuity::Recovered,
            ..
        }
    ));
    assert_eq!(got.len(), 4);
    // New mutations continue the offsets.
    c.put(21, "tasks", "t21", json!({})).await;
    c.recv().await;
    assert_eq!(ack(&c.recv().await), (21, 1, 21));
    server.kill9();
}
