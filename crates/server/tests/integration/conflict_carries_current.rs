//! A stale `base_version` is rejected as a conflict carrying the server's current document.

use crate::common::{ack, TestServer};
use serde_json::json;
use tether_protocol::{Document, RejectReason, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_base_version_is_a_conflict_with_the_current_document() {
    let server = TestServer::start(|_| {}).await;
    let mut sarah = server.client("sarah").await;
    let mut me = server.client("me").await;
    sarah
        .send(
            json!({"type": "mutate", "mutation_id": 1, "channel": "tasks", "op": "put",
                     "id": "t1", "base_version": 0, "doc": {"status": "todo"}}),
        )
        .await;
    assert_eq!(ack(&sarah.recv().await), (1, 1, 1));
    sarah
        .send(
            json!({"type": "mutate", "mutation_id": 2, "channel": "tasks", "op": "patch",
                     "id": "t1", "base_version": 1, "doc": {"status": "doing"}}),
        )
        .await;
    assert_eq!(ack(&sarah.recv().await), (2, 2, 2));
    // I edit from version 1: stale.
    me.send(
        json!({"type": "mutate", "mutation_id": 1, "channel": "tasks", "op": "patch",
                   "id": "t1", "base_version": 1, "doc": {"status": "done"}}),
    )
    .await;
    match me.recv().await {
        ServerMessage::Reject {
            mutation_id,
            reason,
            current,
            message,
        } => {
            assert_eq!(mutation_id, 1);
            assert_eq!(reason, RejectReason::Conflict);
            assert_eq!(
                current,
                Some(Document {
                    id: "t1".into(),
                    version: 2,
                    doc: tether_protocol::Json::from(json!({"status": "doing"}))
                })
            );
            assert!(!message.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // Rebased on the current version it applies.
    me.send(
        json!({"type": "mutate", "mutation_id": 2, "channel": "tasks", "op": "patch",
                   "id": "t1", "base_version": 2, "doc": {"status": "done"}}),
    )
    .await;
    assert_eq!(ack(&me.recv().await), (2, 3, 3));
    server.stop().await;
}
