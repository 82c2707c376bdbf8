//! Malformed frames get `BAD_MESSAGE` and nothing else about the connection changes.

use crate::common::{event, TestServer};
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_bad_message_and_keep_the_session() {
    let server = TestServer::start(|_| {}).await;
    let mut c = server.client("c").await;
    c.subscribe(json!({"channel": "tasks"})).await;
    let junk = [
        "{not json",
        "null",
        "[1,2,3]",
        r#"{"type":"teleport"}"#,
        r#"{"type":"mutate","mutation_id":"one"}"#,
        r#"{"type":"subscribe"}"#,
        "\u{0}\u{1}",
    ];
    for text in junk {
        c.send_text(text.to_owned()).await;
        match c.recv().await {
            ServerMessage::Error { code, message, .. } => {
                assert_eq!(code, ErrorCode::BadMessage, "for {text:?}");
                assert!(!message.is_empty());
            }
            other => panic!("for {text:?}: {other:?}"),
        }
    }
    // Binary garbage too.
    use futures_util::SinkExt;
    c.ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![
        0xff, 0xfe, 0x00,
    ]))
    .await
    .unwrap();
    assert!(matches!(
        c.recv().await,
        ServerMessage::Error {
            code: ErrorCode::BadMessage,
            ..
        }
    ));
    // Still subscribed, still able to mutate.
    c.put(1, "tasks", "t1", json!({})).await;
    assert_eq!(event(&c.recv().await).0, 1);
    assert!(matches!(c.recv().await, ServerMessage::Ack { .. }));
    server.stop().await;
}
