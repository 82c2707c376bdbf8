//! A node killed with SIGKILL says no goodbye: its members leave on the other nodes once its
//! heartbeats stop, within the documented bound (5 s after its last heartbeat, CLUSTER.md).

use std::time::Duration;

use serde_json::json;
use tether_protocol::PresenceEvent;

use crate::support::{linked_nodes, next_presence, Database};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_members_of_a_killed_node_leave_on_the_others() {
    // The bound is 5 s after the last heartbeat (at most 1 s before the kill): 6 s; the wait
    // allows for a slow machine.
    const BOUND_WITH_MARGIN: Duration = Duration::from_secs(15);
    let db = Database::new();
    let mut nodes = linked_nodes(&db, 3, &[]).await;
    let mut watchers = Vec::new();
    for (i, node) in nodes.iter().enumerate().skip(1) {
        let mut w = node.client(&format!("watcher{i}")).await;
        w.subscribe(json!({"channel": "tasks"})).await;
        watchers.push(w);
    }
    let mut sarah = nodes[0].client("sarah").await;
    sarah.subscribe(json!({"channel": "tasks"})).await;
    sarah
        .send(json!({"type": "presence", "channel": "tasks", "state": {"editing": "t1"}}))
        .await;
    for w in &mut watchers {
        assert_eq!(
            next_presence(w, "sarah", BOUND_WITH_MARGIN).await.0,
            PresenceEvent::Join
        );
    }
    nodes[0].kill9();
    for w in &mut watchers {
        assert_eq!(
            next_presence(w, "sarah", BOUND_WITH_MARGIN).await,
            (PresenceEvent::Leave, None)
        );
    }
}
