//! `/healthz` answers ok; `/metrics` is Prometheus text with the documented series.

use crate::common::{http_get, TestServer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics() {
    let server = TestServer::start(|_| {}).await;
    assert_eq!(
        http_get(server.addr(), "/healthz").await,
        (200, "ok\n".into())
    );
    let mut c = server.client("c").await;
    c.subscribe(json!({"channel": "tasks"})).await;
    c.put(1, "tasks", "t1", json!({})).await;
    c.recv().await;
    c.recv().await;
    c.put(2, "tasks", "t1", json!({})).await;
    c.recv().await;
    c.recv().await;
    c.send(
        json!({"type": "mutate", "mutation_id": 3, "channel": "tasks", "op": "put",
                  "id": "t1", "base_version": 0, "doc": {}}),
    )
    .await;
    c.recv().await;
    let (status, text) = http_get(server.addr(), "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "tether_connections 1",
        "tether_subscriptions 1",
        "tether_mutations_applied_total 2",
        "tether_mutations_conflicted_total 1",
        "tether_mutations_deduped_total 0",
        "tether_queue_closes_total 0",
        "tether_event_delivery_seconds_count 2",
        "# TYPE tether_event_delivery_seconds histogram",
        "tether_event_delivery_seconds_bucket{le=\"+Inf\"} 2",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let messages_in = text
        .lines()
        .find_map(|l| l.strip_prefix("tether_messages_in_total "))
        .and_then(|v| v.parse::<u64>().ok());
    assert_eq!(messages_in, Some(5), "hello, subscribe, three mutates");
    assert_eq!(http_get(server.addr(), "/nope").await.0, 404);
    server.stop().await;
}
