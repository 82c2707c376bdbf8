//! A client that stops reading is closed with 4009 once its bounded outbound queue overflows,
//! while the other subscribers keep receiving everything.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{event, http_get, Closed, TestServer};
use serde_json::json;
use tether_protocol::ServerMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_closed_and_others_keep_receiving() {
    let server = TestServer::start(|o| {
        o.outbound_queue = 16;
        o.rate_per_sec = 0;
        o.sqlite_sync = tether_server::edge::SyncMode::Normal;
        o.retain_events = 10;
    })
    .await;
    let addr = server.addr();
    let mut slow = server.client("slow").await;
    let mut fast = server.client("fast").await;
    let mut writer = server.client("w").await;
    slow.subscribe(json!({"channel": "tasks"})).await;
    fast.subscribe(json!({"channel": "tasks"})).await;
    // 64 KB events until the slow client is dropped (at most ~32 MB: far more than the
    // socket buffers plus 16 queued frames), then 20 more.
    let stop = Arc::new(AtomicBool::new(false));
    let stop_writing = Arc::clone(&stop);
    let writing = tokio::spawn(async move {
        let body = "z".repeat(64 * 1024);
        let mut extra = 0;
        let mut written = 0u64;
        for mid in 1..=500u64 {
            writer
                .put(
                    mid,
                    "tasks",
                    &format!("t{}", mid % 10),
                    json!({"body": body}),
                )
                .await;
            assert!(matches!(writer.recv().await, ServerMessage::Ack { .. }));
            written = mid;
            if stop_writing.load(Ordering::Relaxed) {
                extra += 1;
                if extra == 20 {
                    break;
                }
            }
        }
        (writer, written)
    });
    let fast_reader = tokio::spawn(async move {
        let mut offsets = Vec::new();
        while let Ok(Some(Ok(msg))) =
            tokio::time::timeout(Duration::from_millis(500), fast.ws.next()).await
        {
            if let Message::Text(t) = msg {
                let msg = tether_protocol::codec::decode_server(t.as_bytes()).unwrap();
                offsets.push(event(&msg).0);
            }
        }
        (fast, offsets)
    });
    // Wait (bounded) until the server gave up on the slow client.
    let mut closed = false;
    for _ in 0..200 {
        let (_, metrics) = http_get(addr, "/metrics").await;
        if metrics.contains("tether_queue_closes_total 1") {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "the slow consumer was closed");
    stop.store(true, Ordering::Relaxed);
    // Reading at last, the slow client finds the frames queued before and then the 4009 close.
    assert_eq!(slow.closed().await, Closed::Code(4009));
    let (_writer, written) = writing.await.expect("every mutation acked");
    let (_fast, offsets) = fast_reader.await.expect("fast reader");
    assert_eq!(
        offsets,
        (1..=written).collect::<Vec<_>>(),
        "the fast client got every event"
    );
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("tether_queue_closes_total 1"),
        "only the slow one: {metrics}"
    );
    assert!(metrics.contains("tether_connections 2"), "{metrics}");
    server.stop().await;
}
