//! A frame dropped by the rate limiter is named in its RATE_LIMITED error (channel or request
//! id), so the client knows which answer will never come and can retry exactly that.

use crate::common::TestServer;
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_subscribe_and_request_are_named() {
    let server = TestServer::start(|o| {
        o.rate_per_sec = 1;
        o.rate_burst = 1;
    })
    .await;
    let mut c = server.client("c").await;
    // The bucket allows one frame: the subscribe to "a" passes, the rest are dropped.
    c.send(json!({"type": "subscribe", "channel": "a"})).await;
    c.send(json!({"type": "subscribe", "channel": "b"})).await;
    c.send(json!({"type": "request", "id": 42, "method": "time"}))
        .await;
    let mut named_channels = Vec::new();
    let mut named_requests = Vec::new();
    for _ in 0..8 {
        if let ServerMessage::Error {
            code: ErrorCode::RateLimited,
            channel,
            request_id,
            retry_after_ms,
            ..
        } = c.recv().await
        {
            assert!(retry_after_ms.is_some());
            named_channels.extend(channel);
            named_requests.extend(request_id);
        }
        if named_channels.len() + named_requests.len() == 2 {
            break;
        }
    }
    assert_eq!(named_channels, vec!["b".to_string()]);
    assert_eq!(named_requests, vec![42]);
}
