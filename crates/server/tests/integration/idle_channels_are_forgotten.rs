//! A client cycling through thousands of channel names leaves the server's channel registry
//! (the `tether_channels` gauge) bounded, while a channel in use keeps working; and a client
//! subscribing to new channels too fast is answered `RATE_LIMITED` naming the channel.

use crate::common::{http_get, TestServer};
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

fn gauge(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycling_through_channel_names_leaves_the_registry_bounded() {
    let server = TestServer::start(|o| {
        o.rate_per_sec = 0;
        o.new_channels_per_sec = 0;
    })
    .await;
    let mut keeper = server.client("keeper").await;
    keeper.subscribe(json!({"channel": "kept"})).await;
    let mut cycler = server.client("cycler").await;
    let names = 3_000;
    for i in 0..names {
        let channel = format!("c{i}");
        cycler.subscribe(json!({"channel": channel})).await;
        cycler
            .send(json!({"type": "unsubscribe", "channel": channel}))
            .await;
        assert!(matches!(
            cycler.recv().await,
            ServerMessage::Unsubscribed { .. }
        ));
    }
    let (_, metrics) = http_get(server.addr(), "/metrics").await;
    let channels = gauge(&metrics, "tether_channels");
    // 256 + 2 × one channel in use + 1 (crates/server/src/engine/registry.rs).
    assert!(
        channels <= 259,
        "{channels} channels held after {names} names"
    );
    assert_eq!(gauge(&metrics, "tether_subscriptions"), 1);

    cycler.put(1, "kept", "d", json!({})).await;
    assert!(matches!(
        keeper.recv().await,
        ServerMessage::Event { offset: 1, .. }
    ));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_to_new_channels_too_fast_is_rate_limited() {
    let server = TestServer::start(|o| {
        o.rate_per_sec = 0;
        o.new_channels_per_sec = 1;
        o.max_subscriptions = 2;
    })
    .await;
    let mut c = server.client("c").await;
    // Burst: 1 + 2 new channels.
    for i in 0..3 {
        let got = c.subscribe(json!({"channel": format!("n{i}")})).await;
        assert!(
            matches!(got[0], ServerMessage::Subscribed { .. }),
            "{got:?}"
        );
        c.send(json!({"type": "unsubscribe", "channel": format!("n{i}")}))
            .await;
        c.recv().await;
    }
    let got = c.subscribe(json!({"channel": "n3"})).await;
    match &got[..] {
        [ServerMessage::Error {
            code: ErrorCode::RateLimited,
            channel: Some(channel),
            retry_after_ms: Some(ms),
            ..
        }] => {
            assert_eq!(channel, "n3");
            assert!(*ms > 0 && *ms <= 1_000, "{ms}");
        }
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
    server.stop().await;
}
