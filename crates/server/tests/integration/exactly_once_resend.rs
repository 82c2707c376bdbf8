//! The same mutation sent twice (also over a new connection) is applied once and answered
//! twice with the identical ack.

use crate::common::{ack, TestServer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_mutation_is_applied_once_and_answered_each_time() {
    let server = TestServer::start(|_| {}).await;
    let mut watcher = server.client("watcher").await;
    watcher.subscribe(json!({"channel": "tasks"})).await;
    let mutate = json!({"type": "mutate", "mutation_id": 41, "channel": "tasks", "op": "patch",
                        "id": "t1", "doc": {"n": 1}});
    let mut c = server.client("c").await;
    c.put(40, "tasks", "t1", json!({"n": 0})).await;
    c.recv().await;
    watcher.recv().await;
    c.send(mutate.clone()).await;
    let first = c.recv().await;
    assert_eq!(ack(&first), (41, 2, 2));
    watcher.recv().await;
    // Resent on the same connection, then after a reconnect (ack lost).
    c.send(mutate.clone()).await;
    assert_eq!(c.recv().await, first);
    c.close().await;
    let mut c = server.client("c").await;
    c.send(mutate).await;
    assert_eq!(c.recv().await, first);
    watcher.silent_for(100).await;
    let (_, metrics) = crate::common::http_get(server.addr(), "/metrics").await;
    assert!(
        metrics.contains("tether_mutations_applied_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tether_mutations_deduped_total 2"),
        "{metrics}"
    );
    server.stop().await;
}
