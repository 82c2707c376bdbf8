//! The edges PROTOCOL.md states for `subscribe`, `unsubscribe`, `ping` and `presence_sync`:
//! `since` at the newest dropped offset is still `recovered`, one below or above the head is
//! `reset`; `unsubscribe` without a subscription is answered `unsubscribed`; a ping over the
//! rate is answered `RATE_LIMITED`; `presence_sync` lists the client's own entry.

use crate::common::TestServer;
use serde_json::json;
use tether_protocol::{Continuity, ErrorCode, ServerMessage};

fn continuity(msg: &ServerMessage) -> (Continuity, u64) {
    match msg {
        ServerMessage::Subscribed {
            continuity, offset, ..
        } => (*continuity, *offset),
        other => panic!("expected subscribed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_edge_and_since_above_the_head() {
    let server = TestServer::start(|o| o.retain_events = 3).await;
    let mut w = server.client("w").await;
    let got = w.subscribe(json!({"channel": "tasks"})).await;
    let ServerMessage::Subscribed { epoch, .. } = &got[0] else {
        panic!("{got:?}");
    };
    let epoch = epoch.clone();
    for mid in 1..=5 {
        w.put(mid, "tasks", &format!("t{mid}"), json!({})).await;
        w.recv().await; // event
        w.recv().await; // ack
    }
    // Head 5, three events kept: offsets 1 and 2 are dropped.
    let mut r = server.client("r").await;
    let since =
        |offset: u64| json!({"channel": "tasks", "since": {"epoch": epoch, "offset": offset}});
    let got = r.subscribe(since(2)).await;
    assert_eq!(continuity(&got[0]), (Continuity::Recovered, 2));
    let offsets: Vec<u64> = got
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Event { offset, .. } => Some(*offset),
            _ => None,
        })
        .collect();
    assert_eq!(offsets, vec![3, 4, 5]);
    assert_eq!(
        continuity(&r.subscribe(since(1)).await[0]),
        (Continuity::Reset, 5)
    );
    assert_eq!(
        continuity(&r.subscribe(since(6)).await[0]),
        (Continuity::Reset, 5)
    );
    let got = r.subscribe(since(5)).await;
    assert_eq!(continuity(&got[0]), (Continuity::Recovered, 5));
    assert_eq!(got.len(), 2, "subscribed and presence_sync only: {got:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_without_subscription_ping_over_the_rate_and_own_presence() {
    let server = TestServer::start(|o| {
        o.rate_per_sec = 1;
        o.rate_burst = 4;
    })
    .await;
    let mut c = server.client("c").await;
    c.send(json!({"type": "unsubscribe", "channel": "never"}))
        .await;
    assert_eq!(
        c.recv().await,
        ServerMessage::Unsubscribed {
            channel: "never".into()
        }
    );
    c.subscribe(json!({"channel": "room"})).await;
    c.send(json!({"type": "presence", "channel": "room", "state": {"me": 1}}))
        .await;
    // Re-subscribing keeps the presence: the sync lists the client's own entry.
    let got = c.subscribe(json!({"channel": "room"})).await;
    match got.last() {
        Some(ServerMessage::PresenceSync { members, .. }) => {
            assert_eq!(members.len(), 1, "{members:?}");
            assert_eq!(members[0].client_id, "c");
        }
        other => panic!("expected presence_sync, got {other:?}"),
    }
    // Four tokens taken (unsubscribe, subscribe, presence, subscribe): the ping is dropped.
    c.send(json!({"type": "ping", "nonce": 1})).await;
    match c.recv().await {
        ServerMessage::Error {
            code: ErrorCode::RateLimited,
            retry_after_ms: Some(ms),
            ..
        } => assert!(ms > 0),
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
    server.stop().await;
}
