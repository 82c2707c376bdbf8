//! A write on node 1 reaches the subscribers of nodes 1, 2 and 3, every event once, in offset
//! order; a filtered view on another node gets its own events only.

use serde_json::json;

use crate::common::ack;
use crate::support::{chain, events_through, offsets, suite_redis, Database, Node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_node_reaches_subscribers_on_every_node_in_order() {
    const N: u64 = 20;
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
    let mut done = nodes[2].client("done-filter").await;
    done.subscribe(
        json!({"channel": "tasks", "filter": {"field": "done", "op": "eq", "value": true}}),
    )
    .await;
    let mut writer = nodes[0].client("writer").await;
    for mid in 1..=N {
        writer
            .put(
                mid,
                "tasks",
                &format!("t{mid}"),
                json!({"done": mid % 5 == 0}),
            )
            .await;
        loop {
            let msg = writer.recv().await;
            if matches!(msg, tether_protocol::ServerMessage::Ack { .. }) {
                assert_eq!(ack(&msg).2, mid);
                break;
            }
        }
    }
    for sub in &mut subs {
        let got = events_through(sub, N).await;
        assert_eq!(offsets(&got), chain(1, N), "every event once, in order");
    }
    // The filtered view on node 3: only the documents with done = true, prev chained.
    let got = events_through(&mut done, N).await;
    let expected: Vec<(u64, u64)> = (1..=N / 5).map(|k| (5 * k, 5 * (k - 1))).collect();
    assert_eq!(offsets(&got), expected);

    // Through the Redis hint, not the 2 s safety poll: ten writes in a row each reach node 2
    // within 1 s of their ack (by polling alone each would have an even chance: 1 in 1,024
    // for all ten).
    for mid in N + 1..=N + 10 {
        writer
            .put(mid, "tasks", &format!("t{mid}"), json!({}))
            .await;
        while !matches!(
            writer.recv().await,
            tether_protocol::ServerMessage::Ack { .. }
        ) {}
        let acked = std::time::Instant::now();
        events_through(&mut subs[1], mid).await;
        let took = acked.elapsed();
        assert!(
            took < std::time::Duration::from_millis(1_000),
            "hint took {took:?}"
        );
    }
}
