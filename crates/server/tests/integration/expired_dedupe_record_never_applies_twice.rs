//! With `--dedupe-days 0` a client's exactly-once records expire at the next write after its
//! last commit: its resend is then rejected `invalid` (the server kept its highest id), never
//! applied a second time, also after a restart; its next ids apply.

use std::time::Duration;

use crate::common::{ack, TestServer};
use serde_json::json;
use tether_protocol::{RejectReason, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_record_leaves_the_highest_id_so_the_resend_is_rejected_not_reapplied() {
    let server = TestServer::start(|o| o.dedupe_days = 0).await;
    let mut c = server.client("c").await;
    let mut d = server.client("d").await;
    c.put(1, "tasks", "t1", json!({"n": 1})).await;
    assert_eq!(ack(&c.recv().await), (1, 1, 1));
    tokio::time::sleep(Duration::from_millis(20)).await;
    d.put(1, "tasks", "d1", json!({})).await; // this write expires c's records
    assert_eq!(ack(&d.recv().await).0, 1);
    let dir = server.stop().await;

    let server = TestServer::start_in(dir, |o| o.dedupe_days = 0).await;
    let mut c = server.client("c").await;
    c.put(1, "tasks", "t1", json!({"n": 1})).await;
    match c.recv().await {
        ServerMessage::Reject {
            mutation_id: 1,
            reason: RejectReason::Invalid,
            message,
            ..
        } => assert!(message.contains("highest"), "{message}"),
        other => panic!("{other:?}"),
    }
    let got = c.subscribe(json!({"channel": "tasks"})).await;
    match &got[0] {
        ServerMessage::Subscribed {
            snapshot: Some(docs),
            ..
        } => {
            let t1 = docs.iter().find(|d| d.id == "t1").expect("t1");
            assert_eq!(t1.version, 1, "applied once");
        }
        other => panic!("{other:?}"),
    }
    c.put(2, "tasks", "t2", json!({})).await;
    let reply = c.recv().await; // the event (c is subscribed) comes first
    assert!(matches!(reply, ServerMessage::Event { .. }), "{reply:?}");
    assert_eq!(ack(&c.recv().await).0, 2);
    server.stop().await;
}
