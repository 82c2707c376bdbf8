//! A frame over `--max-message-bytes` is answered `TOO_LARGE` and closed with 1009; the
//! other connections are unaffected.

use crate::common::{Closed, TestServer};
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_gets_too_large_and_close_1009() {
    let server = TestServer::start(|o| o.max_message_bytes = 1024).await;
    let mut other = server.client("other").await;
    let mut c = server.client("c").await;
    // Just under the limit is fine.
    let pad = "x".repeat(900);
    c.send(json!({"type": "request", "id": 1, "method": "echo", "body": pad}))
        .await;
    assert!(matches!(
        c.recv().await,
        ServerMessage::Response { id: 1, .. }
    ));
    // 1 MB: refused from the frame header, before the payload is read.
    let big = "y".repeat(1 << 20);
    c.send(json!({"type": "request", "id": 2, "method": "echo", "body": big}))
        .await;
    match c.recv().await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::TooLarge),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.closed().await, Closed::Code(1009));
    other.send(json!({"type": "ping", "nonce": 7})).await;
    assert_eq!(other.recv().await, ServerMessage::Pong { nonce: 7 });
    let (_, metrics) = crate::common::http_get(server.addr(), "/metrics").await;
    assert!(metrics.contains("tether_too_large_total 1"), "{metrics}");
    server.stop().await;
}
