//! A malformed `mutate` that carries a readable `mutation_id` (an op this server does not
//! know, a mistyped field) is answered `reject invalid` naming it, recorded (a resend, also
//! after a restart, gets the identical answer) and counted in the client's order; without a
//! readable `mutation_id` it is `BAD_MESSAGE`.

use crate::common::{ack, TestServer};
use serde_json::json;
use tether_protocol::{ErrorCode, RejectReason, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_mutates_are_correlated_recorded_and_ordered() {
    let server = TestServer::start(|_| {}).await;
    let mut c = server.client("c").await;
    let frames = [
        json!({"type": "mutate", "mutation_id": 1, "channel": "tasks", "op": "upsert_v9",
               "id": "t1", "doc": {}}),
        json!({"type": "mutate", "mutation_id": 2, "channel": "tasks", "id": "t1", "doc": {}}),
        json!({"type": "mutate", "mutation_id": 3, "channel": "tasks", "op": "put", "id": 7,
               "doc": {}}),
        json!({"type": "mutate", "mutation_id": 4, "channel": "tasks", "op": "put", "id": "t1",
               "base_version": "1", "doc": {}}),
        json!({"type": "mutate", "mutation_id": 5, "channel": "tasks", "op": "put", "id": "t1",
               "doc": [1]}),
    ];
    let mut answers = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        c.send(frame.clone()).await;
        let answer = c.recv().await;
        match &answer {
            ServerMessage::Reject {
                mutation_id,
                reason: RejectReason::Invalid,
                ..
            } => assert_eq!(*mutation_id, i as u64 + 1),
            other => panic!("{frame}: {other:?}"),
        }
        answers.push(answer);
    }
    c.send(json!({"type": "mutate", "mutation_id": "6", "op": "nope"}))
        .await;
    match c.recv().await {
        ServerMessage::Error {
            code: ErrorCode::BadMessage,
            mutation_id: None,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    let dir = server.stop().await;

    let server = TestServer::start_in(dir, |_| {}).await;
    let mut c = server.client("c").await;
    for (frame, answer) in frames.iter().zip(&answers) {
        c.send(frame.clone()).await;
        assert_eq!(&c.recv().await, answer, "resend of {frame}");
    }
    // They took their turn: an id below the highest is refused, the next one applies.
    c.put(0, "tasks", "t0", json!({})).await;
    match c.recv().await {
        ServerMessage::Reject {
            mutation_id: 0,
            reason: RejectReason::Invalid,
            message,
            ..
        } => assert!(message.contains("highest"), "{message}"),
        other => panic!("{other:?}"),
    }
    c.put(6, "tasks", "t6", json!({})).await;
    assert_eq!(ack(&c.recv().await).0, 6);
    server.stop().await;
}
