//! Ephemeral broadcast to the channel's other subscribers, and request/response with the
//! built-in `time` and `echo` methods.

use crate::common::TestServer;
use serde_json::json;
use tether_protocol::ServerMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_and_request_response() {
    let server = TestServer::start(|_| {}).await;
    let mut a = server.client("a").await;
    let mut b = server.client("b").await;
    a.subscribe(json!({"channel": "chat:1"})).await;
    b.subscribe(json!({"channel": "chat:1"})).await;
    a.send(json!({"type": "broadcast", "channel": "chat:1", "payload": {"typing": true}}))
        .await;
    assert_eq!(
        b.recv().await,
        ServerMessage::Broadcast {
            channel: "chat:1".into(),
            payload: tether_protocol::Json::from(json!({"typing": true})),
            from: "a".into()
        }
    );
    a.send(json!({"type": "request", "id": 9, "method": "time"}))
        .await;
    match a.recv().await {
        ServerMessage::Response {
            id: 9,
            body: Some(body),
            error: None,
        } => {
            let unix_ms = body["unix_ms"].as_u64().unwrap();
            assert!(unix_ms > 1_700_000_000_000);
        }
        other => panic!("{other:?}"),
    }
    a.send(json!({"type": "request", "id": 10, "method": "echo", "body": {"x": [1]}}))
        .await;
    assert_eq!(
        a.recv().await,
        ServerMessage::Response {
            id: 10,
            body: Some(tether_protocol::Json::from(json!({"x": [1]}))),
            error: None
        }
    );
    server.stop().await;
}
