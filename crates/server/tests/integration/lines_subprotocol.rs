//! Under the `tether-lines` subprotocol a client may join messages into one frame (`\n`
//! between them) and the server joins what is queued for a client the same way; without it,
//! every frame is one message (the other tests).

use crate::common::TestServer;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tether_protocol::{codec, ServerMessage, LINES_SUBPROTOCOL};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joined_frames_in_both_directions() {
    let server = TestServer::start(|o| {
        o.rate_per_sec = 0;
        o.sqlite_sync = tether_server::edge::SyncMode::Normal;
    })
    .await;
    let mut request = server.url().into_client_request().expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        LINES_SUBPROTOCOL.parse().expect("header value"),
    );
    let (mut ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket connects");
    assert_eq!(
        response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.to_str().unwrap()),
        Some(LINES_SUBPROTOCOL)
    );

    // hello, subscribe and n mutations in one frame.
    let n = 300u64;
    let mut frame = vec![
        json!({"type": "hello", "protocol": 1, "client_id": "joined"}).to_string(),
        json!({"type": "subscribe", "channel": "tasks"}).to_string(),
    ];
    for mid in 1..=n {
        frame.push(
            json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put",
                   "id": format!("t{mid}"), "doc": {"n": mid}})
            .to_string(),
        );
    }
    ws.send(Message::text(frame.join("\n")))
        .await
        .expect("frame sent");

    let (mut frames, mut messages) = (0usize, Vec::new());
    let mut acks = Vec::new();
    let mut events = 0u64;
    while (acks.len() as u64) < n {
        let msg = tokio::time::timeout(crate::common::WAIT, ws.next())
            .await
            .expect("a frame within the wait")
            .expect("connection open")
            .expect("frame readable");
        let Message::Text(text) = msg else { continue };
        frames += 1;
        for line in tether_protocol::split_frame(text.as_bytes()) {
            let m = codec::decode_server(line)
                .unwrap_or_else(|e| panic!("undecodable message {line:?}: {e}"));
            match &m {
                ServerMessage::Ack { mutation_id, .. } => acks.push(*mutation_id),
                ServerMessage::Event { .. } => events += 1,
                ServerMessage::Reject { .. } | ServerMessage::Error { .. } => {
                    panic!("unexpected {m:?}")
                }
                _ => {}
            }
            messages.push(m);
        }
    }
    assert!(matches!(messages[0], ServerMessage::Welcome { .. }));
    assert_eq!(
        acks,
        (1..=n).collect::<Vec<_>>(),
        "every mutation acked once, in order"
    );
    assert_eq!(events, n, "each mutation's event reached its subscriber");
    assert!(
        frames < messages.len(),
        "queued messages were joined: {} messages in {frames} frames",
        messages.len()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_subprotocol_none_is_selected() {
    let server = TestServer::start(|_| {}).await;
    let (_ws, response) = tokio_tungstenite::connect_async(server.url())
        .await
        .expect("websocket connects");
    assert!(response.headers().get("Sec-WebSocket-Protocol").is_none());
    server.stop().await;
}
