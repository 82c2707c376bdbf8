//! PostgreSQL unreachable from one node: that node answers a `mutate` with `error INTERNAL`
//! naming it and closes that connection 1011, keeps its other connections, and `/healthz` says
//! 503; the other node keeps writing. Once the database is reachable again the node recovers by
//! itself: the resent mutation is applied once, and its subscriber gets every event in order.

use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

use crate::common::Closed;
use crate::support::{chain, events_through, offsets, suite_redis, Database, Forwarder, Node};

async fn answer(c: &mut crate::common::Client) -> ServerMessage {
    loop {
        let msg = c.recv().await;
        if matches!(
            msg,
            ServerMessage::Ack { .. } | ServerMessage::Reject { .. } | ServerMessage::Error { .. }
        ) {
            return msg;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_away_from_one_node_refuses_its_mutations_until_it_is_back() {
    let db = Database::new();
    let redis = suite_redis();
    let mut link = Forwarder::to_postgres();
    let n1 = Node::start(&link.url_of(&db.url()), Some(&redis));
    let n2 = Node::start(&db.url(), Some(&redis));
    let mut sub = n1.client("sub").await;
    sub.subscribe(json!({"channel": "tasks"})).await;
    let mut w1 = n1.client("w1").await;
    w1.put(1, "tasks", "a", json!({})).await;
    assert!(matches!(
        answer(&mut w1).await,
        ServerMessage::Ack { offset: 1, .. }
    ));

    link.down();
    n1.wait_health(503, "").await;
    n2.wait_health(200, "ok").await;
    w1.put(2, "tasks", "b", json!({})).await;
    match answer(&mut w1).await {
        ServerMessage::Error {
            code: ErrorCode::Internal,
            mutation_id: Some(2),
            ..
        } => {}
        other => panic!("expected error INTERNAL for mutation 2, got {other:?}"),
    }
    assert_eq!(w1.closed().await, Closed::Code(1011));
    // The other node writes on; the subscriber of the cut-off node stays connected.
    let mut w2 = n2.client("w2").await;
    w2.put(1, "tasks", "c", json!({})).await;
    assert!(matches!(
        answer(&mut w2).await,
        ServerMessage::Ack { offset: 2, .. }
    ));
    sub.send(json!({"type": "ping", "nonce": 7})).await;
    loop {
        match sub.recv().await {
            ServerMessage::Pong { .. } => break,
            ServerMessage::Event { offset: 1, .. } => {}
            other => panic!("subscriber got {other:?}"),
        }
    }

    link.up();
    n1.wait_health(200, "ok").await;
    let mut w1 = n1.client("w1").await;
    w1.put(2, "tasks", "b", json!({})).await;
    assert!(matches!(
        answer(&mut w1).await,
        ServerMessage::Ack { offset: 3, .. }
    ));
    w1.put(2, "tasks", "b", json!({})).await;
    assert!(matches!(
        answer(&mut w1).await,
        ServerMessage::Ack { offset: 3, .. }
    ));
    let got = events_through(&mut sub, 3).await;
    let from = got.first().map_or(1, |e| e.0);
    assert_eq!(offsets(&got), chain(from, 3), "in order, none twice");
    assert!(
        from <= 2,
        "offset 2 (the other node's) reached the subscriber"
    );
}
