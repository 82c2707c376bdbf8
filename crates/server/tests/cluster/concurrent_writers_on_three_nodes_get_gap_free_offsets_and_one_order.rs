//! Writers on three nodes write one channel at once: the acknowledged offsets are 1..N with
//! no gap and no repeat, and the subscribers of every node see the same order.

use serde_json::json;
use tether_protocol::ServerMessage;

use crate::support::{chain, events_through, offsets, suite_redis, Database, Node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_three_nodes_get_gap_free_offsets_and_one_order() {
    const PER_NODE: u64 = 30;
    const N: u64 = 3 * PER_NODE;
    let db = Database::new();
    let redis = suite_redis();
    let nodes: Vec<Node> = (0..3)
        .map(|_| Node::start(&db.url(), Some(&redis)))
        .collect();
    let mut subs = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut sub = node.client(&format!("sub{i}")).await;
        sub.subscribe(json!({"channel": "tasks"})).await;
        subs.push(sub);
    }
    let mut writers = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut w = node.client(&format!("w{i}")).await;
        writers.push(tokio::spawn(async move {
            let mut offsets = Vec::new();
            for mid in 1..=PER_NODE {
                w.put(mid, "tasks", &format!("n{i}-{mid}"), json!({"n": mid}))
                    .await;
                loop {
                    match w.recv().await {
                        ServerMessage::Ack { offset, .. } => {
                            offsets.push(offset);
                            break;
                        }
                        ServerMessage::Event { .. } => {}
                        other => panic!("writer {i} got {other:?}"),
                    }
                }
            }
            offsets
        }));
    }
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.expect("writer"));
    }
    acked.sort_unstable();
    assert_eq!(
        acked,
        (1..=N).collect::<Vec<_>>(),
        "gap-free, each offset once"
    );
    let mut orders = Vec::new();
    for sub in &mut subs {
        let got = events_through(sub, N).await;
        assert_eq!(offsets(&got), chain(1, N));
        orders.push(got);
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "one order everywhere"
    );
}
