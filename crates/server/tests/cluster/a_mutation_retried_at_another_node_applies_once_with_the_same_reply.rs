//! Exactly-once across nodes: the same mutation (client id, mutation id) sent to two nodes at
//! once, and again later to a third, is applied once and every answer is the same `ack`.

use serde_json::json;
use tether_protocol::ServerMessage;

use crate::support::{events_through, offsets, suite_redis, Database, Node};

async fn answer(c: &mut crate::common::Client) -> ServerMessage {
    loop {
        let msg = c.recv().await;
        if matches!(
            msg,
            ServerMessage::Ack { .. } | ServerMessage::Reject { .. }
        ) {
            return msg;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_retried_at_another_node_applies_once_with_the_same_reply() {
    let db = Database::new();
    let redis = suite_redis();
    let nodes: Vec<Node> = (0..3)
        .map(|_| Node::start(&db.url(), Some(&redis)))
        .collect();
    let mut sub = nodes[2].client("sub").await;
    sub.subscribe(json!({"channel": "tasks"})).await;
    let mut a = nodes[0].client("c").await;
    let mut b = nodes[1].client("c").await;
    let put = json!({"type": "mutate", "mutation_id": 1, "channel": "tasks", "op": "put",
        "id": "t1", "base_version": 0, "doc": {"n": 1}});
    tokio::join!(a.send(put.clone()), b.send(put.clone()));
    let (ra, rb) = tokio::join!(answer(&mut a), answer(&mut b));
    assert!(matches!(ra, ServerMessage::Ack { offset: 1, .. }), "{ra:?}");
    assert_eq!(ra, rb, "both nodes answer the one recorded reply");
    let mut c = nodes[2].client("c").await;
    c.send(put).await;
    assert_eq!(answer(&mut c).await, ra);
    // Applied once: the next write gets offset 2, and the subscriber saw 1 then 2.
    let mut w = nodes[2].client("w").await;
    w.put(1, "tasks", "t2", json!({})).await;
    assert!(matches!(
        answer(&mut w).await,
        ServerMessage::Ack { offset: 2, .. }
    ));
    assert_eq!(
        offsets(&events_through(&mut sub, 2).await),
        vec![(1, 0), (2, 1)]
    );
}
