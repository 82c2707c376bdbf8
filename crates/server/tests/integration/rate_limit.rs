//! Over the rate: frames are dropped with RATE_LIMITED + retry_after_ms, mutations are delayed
//! (all applied, in order), and other clients are unaffected.

use crate::common::{ack, TestServer};
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_are_rate_limited_and_mutations_delayed_not_dropped() {
    let server = TestServer::start(|o| {
        o.rate_per_sec = 50;
        o.rate_burst = 5;
    })
    .await;
    let mut flooder = server.client("f").await;
    let mut calm = server.client("calm").await;
    for n in 0..20 {
        flooder.send(json!({"type": "ping", "nonce": n})).await;
    }
    let got = flooder.recv_n(20).await;
    let pongs = got
        .iter()
        .filter(|m| matches!(m, ServerMessage::Pong { .. }))
        .count();
    let limited: Vec<_> = got
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Error {
                code: ErrorCode::RateLimited,
                retry_after_ms,
                ..
            } => Some(*retry_after_ms),
            _ => None,
        })
        .collect();
    assert!(
        (5..=7).contains(&pongs),
        "burst of 5 (plus refill): {pongs}"
    );
    assert_eq!(pongs + limited.len(), 20);
    assert!(limited
        .iter()
        .all(|r| r.is_some_and(|ms| ms > 0 && ms <= 20)));
    calm.send(json!({"type": "ping", "nonce": 1})).await;
    assert_eq!(calm.recv().await, ServerMessage::Pong { nonce: 1 });

    // 15 mutations at once: all applied, in order, the later ones paced at 50/s.
    tokio::time::sleep(std::time::Duration::from_millis(150)).await; // refill the burst
    let start = std::time::Instant::now();
    for mid in 1..=15 {
        flooder.put(mid, "tasks", "t1", json!({"n": mid})).await;
    }
    for mid in 1..=15 {
        assert_eq!(ack(&flooder.recv().await), (mid, mid, mid));
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed.as_millis() >= 150,
        "10 delayed at 50/s take >= 180 ms: {elapsed:?}"
    );
    server.stop().await;
}
