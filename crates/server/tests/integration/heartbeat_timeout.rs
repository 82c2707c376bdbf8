//! A silent connection is closed with 4010 after the heartbeat timeout (leaving presence);
//! one that pings stays open.

use std::time::Duration;

use crate::common::{Closed, TestServer};
use serde_json::json;
use tether_protocol::{PresenceEvent, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_time_out_and_pinging_ones_stay() {
    let server = TestServer::start(|o| o.heartbeat_timeout_ms = 300).await;
    let mut silent = server.client("silent").await;
    let mut alive = server.client("alive").await;
    silent.subscribe(json!({"channel": "tasks"})).await;
    alive.subscribe(json!({"channel": "tasks"})).await;
    silent
        .send(json!({"type": "presence", "channel": "tasks", "state": {}}))
        .await;
    assert!(matches!(
        alive.recv().await,
        ServerMessage::Presence {
            event: PresenceEvent::Join,
            ..
        }
    ));
    let pinger = tokio::spawn(async move {
        let mut leave = None;
        for n in 0..8 {
            alive.send(json!({"type": "ping", "nonce": n})).await;
            loop {
                match alive.recv().await {
                    ServerMessage::Pong { .. } => break,
                    ServerMessage::Presence {
                        event, client_id, ..
                    } => leave = Some((event, client_id)),
                    other => panic!("{other:?}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (alive, leave)
    });
    assert_eq!(silent.closed().await, Closed::Code(4010));
    let (_alive, leave) = pinger.await.unwrap();
    assert_eq!(leave, Some((PresenceEvent::Leave, "silent".into())));
    server.stop().await;
}
