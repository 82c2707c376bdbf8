//! A client that pipelines a whole outbox gets every ack, in order, from group commits; the
//! server killed (SIGKILL) right after the last ack and restarted still has every mutation.

use crate::common::{ack, BinaryServer, Client};
use futures_util::SinkExt;
use serde_json::json;
use tether_protocol::{Continuity, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pipelined_mutation_is_acked_in_order_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tether.sqlite3");
    let db = db.to_str().unwrap();
    let args = ["--dev", "--db", db, "--rate-per-sec", "0"];
    let server = BinaryServer::start(&args);
    let mut c = Client::hello(&server.url(), "c").await;
    let n = 1_000u64;
    // The whole outbox at once: every frame is written before the first ack is read.
    for mid in 1..=n {
        let frame = json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put",
                           "id": format!("t{}", mid % 300), "doc": {"n": mid}});
        c.ws.feed(Message::text(frame.to_string())).await.unwrap();
    }
    c.ws.flush().await.unwrap();
    let mut acks = Vec::new();
    for mid in 1..=n {
        let got = c.recv().await;
        let (m, version, offset) = ack(&got);
        assert_eq!((m, offset), (mid, mid));
        assert_eq!(version, (mid - 1) / 300 + 1, "mutation {mid}");
        acks.push(got);
    }
    server.kill9();

    let server = BinaryServer::start(&args);
    let mut c = Client::hello(&server.url(), "c").await;
    let got = c.subscribe(json!({"channel": "tasks"})).await;
    match &got[0] {
        ServerMessage::Subscribed {
            offset,
            snapshot: Some(docs),
            continuity: Continuity::Reset,
            ..
        } => {
            assert_eq!(*offset, n);
            assert_eq!(docs.len(), 300);
            // Each document holds the last mutation written to it.
            for d in docs {
                let k: u64 = d.id[1..].parse().unwrap();
                let last = (1..=n).rev().find(|m| m % 300 == k).unwrap();
                assert_eq!(
                    d.doc,
                    tether_protocol::Json::from(json!({"n": last})),
                    "{}",
                    d.id
                );
                assert_eq!(d.version, (last - 1) / 300 + 1, "{}", d.id);
            }
        }
        other => panic!("{other:?}"),
    }
    // The dedupe records were committed with the changes: resends are answered, not applied.
    for mid in [1, 500, n] {
        c.put(mid, "tasks", "x", json!({})).await;
        assert_eq!(c.recv().await, acks[(mid - 1) as usize]);
    }
    c.silent_for(100).await;
    server.kill9();
}
