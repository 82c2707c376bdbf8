//! A WebSocket `broadcast` on node 1 reaches the channel's subscribers on nodes 1, 2 and 3,
//! each exactly once and in order (relayed over Redis; the sender's node delivers locally and
//! ignores its own relayed copy), and never the sender itself.

use serde_json::json;

use crate::support::{linked_nodes, next_broadcast, Database};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_on_one_node_reaches_every_node_exactly_once() {
    const N: u64 = 5;
    let db = Database::new();
    let nodes = linked_nodes(&db, 3, &[]).await;
    let mut sender = nodes[0].client("sender").await;
    sender.subscribe(json!({"channel": "chat"})).await;
    let mut subs = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut sub = node.client(&format!("sub{i}")).await;
        sub.subscribe(json!({"channel": "chat"})).await;
        subs.push(sub);
    }
    for n in 1..=N {
        sender
            .send(json!({"type": "broadcast", "channel": "chat", "payload": {"n": n}}))
            .await;
    }
    sender
        .send(json!({"type": "broadcast", "channel": "chat", "payload": {"n": "end"}}))
        .await;
    for (i, sub) in subs.iter_mut().enumerate() {
        let mut got = Vec::new();
        loop {
            let payload = next_broadcast(sub).await;
            if payload["n"] == "end" {
                break;
            }
            got.push(payload["n"].as_u64().expect("a number"));
        }
        assert_eq!(
            got,
            (1..=N).collect::<Vec<_>>(),
            "node {}: once each",
            i + 1
        );
    }
    // Nothing came back to the sender: the next frame it gets is the pong of its ping.
    sender.send(json!({"type": "ping", "nonce": 9})).await;
    assert!(matches!(
        sender.recv().await,
        tether_protocol::ServerMessage::Pong { .. }
    ));
    // A duplicate would arrive before a later broadcast: one more, and it is the next frame.
    sender
        .send(json!({"type": "broadcast", "channel": "chat", "payload": {"n": "last"}}))
        .await;
    for sub in &mut subs {
        assert_eq!(next_broadcast(sub).await["n"], "last");
    }
}
