//! A token whose `channels` grant only `read` on a channel subscribes to it and receives its
//! events, but its `mutate` is answered `reject {reason: "forbidden"}` (nothing written) and its
//! `broadcast` `error {code: FORBIDDEN, channel}`; a `write` grant writes.

use crate::common::{ack, auth_server, hello_with, token, unix_secs};
use serde_json::json;
use tether_protocol::{ErrorCode, RejectReason, ServerMessage};
use tether_server::Claims;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_reads_but_cannot_write() {
    let server = auth_server(|_| {}).await;
    let url = server.url();
    let exp = unix_secs() + 600;
    let reader = token(&Claims::new("viewer").read(&["tasks"]).expires(exp));
    let writer = token(&Claims::new("sarah").write(&["tasks"]).expires(exp));
    let (mut r, _) = hello_with(&url, "r", Some(&reader)).await;
    let (mut w, _) = hello_with(&url, "w", Some(&writer)).await;
    assert!(matches!(
        r.subscribe(json!({"channel": "tasks"})).await[0],
        ServerMessage::Subscribed { .. }
    ));

    r.put(1, "tasks", "t1", json!({"title": "mine"})).await;
    match r.recv().await {
        ServerMessage::Reject {
            mutation_id,
            reason,
            ..
        } => assert_eq!((mutation_id, reason), (1, RejectReason::Forbidden)),
        other => panic!("expected reject forbidden, got {other:?}"),
    }
    r.send(json!({"type": "broadcast", "channel": "tasks", "payload": {"x": 1}}))
        .await;
    match r.recv().await {
        ServerMessage::Error { code, channel, .. } => {
            assert_eq!(
                (code, channel.as_deref()),
                (ErrorCode::Forbidden, Some("tasks"))
            );
        }
        other => panic!("expected FORBIDDEN, got {other:?}"),
    }

    // The writer writes; the reader sees it, and sees that its own put never landed.
    w.put(1, "tasks", "t2", json!({"title": "sarah's"})).await;
    ack(&w.recv().await);
    match r.recv().await {
        ServerMessage::Event { id, offset, .. } => assert_eq!((id.as_str(), offset), ("t2", 1)),
        other => panic!("expected the writer's event, got {other:?}"),
    }
    server.stop().await;
}
