//! Redis killed while writes continue: the nodes keep delivering (from PostgreSQL, by
//! polling), `/healthz` says `degraded` (200); Redis back: `ok` again, and every subscriber
//! ends with every event once, in order.

use serde_json::json;
use tether_protocol::ServerMessage;

use crate::support::{chain, events_through, offsets, Database, Node, Redis};

async fn write(writer: &mut crate::common::Client, mids: std::ops::RangeInclusive<u64>) {
    for mid in mids {
        writer
            .put(mid, "tasks", &format!("t{mid}"), json!({"n": mid}))
            .await;
        while !matches!(writer.recv().await, ServerMessage::Ack { .. }) {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_away_costs_latency_only_and_health_says_degraded() {
    let db = Database::new();
    let mut redis = Redis::start();
    let n1 = Node::start(&db.url(), Some(&redis.url()));
    let n2 = Node::start(&db.url(), Some(&redis.url()));
    n1.wait_health(200, "ok").await;
    n2.wait_health(200, "ok").await;
    let mut sub = n2.client("sub").await;
    sub.subscribe(json!({"channel": "tasks"})).await;
    let mut writer = n1.client("writer").await;
    write(&mut writer, 1..=3).await;
    let mut seen = events_through(&mut sub, 3).await;

    redis.kill();
    n1.wait_health(200, "degraded").await;
    n2.wait_health(200, "degraded").await;
    write(&mut writer, 4..=8).await;
    seen.extend(events_through(&mut sub, 8).await);

    redis.restart();
    n1.wait_health(200, "ok").await;
    n2.wait_health(200, "ok").await;
    write(&mut writer, 9..=10).await;
    seen.extend(events_through(&mut sub, 10).await);
    assert_eq!(offsets(&seen), chain(1, 10), "every event once, in order");
    sub.silent_for(300).await;
}
