//! Presence across nodes: a join on node 1 is seen by node 2's subscribers, a later subscriber
//! on node 2 finds the member in its `presence_sync`, and the leave (the member's socket
//! closed) is seen there too.

use std::time::Duration;

use serde_json::json;
use tether_protocol::{PresenceEvent, ServerMessage};

use crate::support::{linked_nodes, next_presence, Database};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_joins_and_leaves_are_seen_on_every_node() {
    // A relayed message normally arrives in milliseconds; a lost one is repaired by the next
    // heartbeat (1 s). Generous margin.
    const WITHIN: Duration = Duration::from_secs(10);
    let db = Database::new();
    let nodes = linked_nodes(&db, 2, &[]).await;
    let mut watcher = nodes[1].client("watcher").await;
    watcher.subscribe(json!({"channel": "tasks"})).await;
    let mut sarah = nodes[0].client("sarah").await;
    sarah.subscribe(json!({"channel": "tasks"})).await;
    sarah
        .send(json!({"type": "presence", "channel": "tasks", "state": {"editing": "t1"}}))
        .await;
    assert_eq!(
        next_presence(&mut watcher, "sarah", WITHIN).await,
        (PresenceEvent::Join, Some(json!({"editing": "t1"})))
    );
    let mut late = nodes[1].client("late").await;
    let frames = late.subscribe(json!({"channel": "tasks"})).await;
    let members = frames.iter().find_map(|m| match m {
        ServerMessage::PresenceSync { members, .. } => Some(members.clone()),
        _ => None,
    });
    assert_eq!(
        members.map(|m| m.into_iter().map(|m| m.client_id).collect::<Vec<_>>()),
        Some(vec!["sarah".to_owned()])
    );
    sarah.close().await;
    for c in [&mut watcher, &mut late] {
        assert_eq!(
            next_presence(c, "sarah", WITHIN).await,
            (PresenceEvent::Leave, None)
        );
    }
}
