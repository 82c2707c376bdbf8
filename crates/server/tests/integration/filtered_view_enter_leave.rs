//! A filtered subscription sees documents enter, change within and leave its view (as a
//! remove), with `prev` skipping the offsets that are not in the view.

use crate::common::{event, TestServer};
use serde_json::json;
use tether_protocol::{EventOp, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_enter_change_and_leave_a_filtered_view() {
    let server = TestServer::start(|_| {}).await;
    let mut writer = server.client("w").await;
    writer
        .put(1, "tasks", "t0", json!({"status": "todo"}))
        .await;
    writer.recv().await;
    let mut todo = server.client("todo").await;
    let got = todo
        .subscribe(
            json!({"channel": "tasks", "filter": {"field": "status", "op": "eq", "value": "todo"}}),
        )
        .await;
    match &got[0] {
        ServerMessage::Subscribed {
            snapshot: Some(docs),
            ..
        } => assert_eq!(docs.len(), 1),
        other => panic!("{other:?}"),
    }
    let steps = [
        ("t1", "todo", Some(EventOp::Upsert)),  // enters
        ("t2", "done", None),                   // never in the view
        ("t1", "todo", Some(EventOp::Upsert)),  // changes within
        ("t1", "doing", Some(EventOp::Remove)), // leaves
        ("t1", "done", None),                   // stays out
        ("t2", "todo", Some(EventOp::Upsert)),  // enters
    ];
    let mut expected_prev = 1; // the view's last event before subscribing: t0 at offset 1
    for (i, (id, status, effect)) in steps.iter().enumerate() {
        let mid = i as u64 + 2;
        writer
            .put(mid, "tasks", id, json!({"status": status}))
            .await;
        writer.recv().await; // ack (the writer is not subscribed)
        match effect {
            None => todo.silent_for(50).await,
            Some(op) => {
                let msg = todo.recv().await;
                assert_eq!(event(&msg), (mid, expected_prev, id.to_string()));
                match msg {
                    ServerMessage::Event { op: got, doc, .. } => {
                        assert_eq!(got, *op);
                        assert_eq!(doc.is_some(), *op == EventOp::Upsert);
                    }
                    _ => unreachable!(),
                }
                expected_prev = mid;
            }
        }
    }
    server.stop().await;
}
