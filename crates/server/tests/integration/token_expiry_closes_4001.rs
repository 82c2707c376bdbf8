//! A connection whose token expires while it is open is closed by the server with
//! `error {code: AUTH_INVALID}` and 4001 once `exp` (plus the leeway, here 0) passes — not
//! before — whether the token came in `hello` or as `?token=`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{auth_server, hello_with, token, unix_secs, Client, Closed};
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};
use tether_server::Claims;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Reads until the close: the `AUTH_INVALID` error, then 4001, at or after `exp`.
async fn expect_expiry_close(c: &mut Client, exp: u64) {
    match c.recv().await {
        ServerMessage::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::AuthInvalid, "{message}");
            assert!(message.contains("expired"), "{message}");
        }
        other => panic!("expected AUTH_INVALID, got {other:?}"),
    }
    assert!(unix_ms() >= exp * 1_000, "closed before exp");
    assert_eq!(c.closed().await, Closed::Code(4001));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_connection_is_closed_when_its_token_expires() {
    let server = auth_server(|_| {}).await;
    let url = server.url();
    // 1-2 s left (exp is whole seconds).
    let exp = unix_secs() + 2;
    let t = token(&Claims::new("sarah").write(&["tasks"]).expires(exp));
    let (mut a, answer) = hello_with(&url, "a", Some(&t)).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    let mut b = Client::hello(&format!("{url}?token={t}"), "b").await;
    // Working until then.
    assert!(matches!(
        a.subscribe(json!({"channel": "tasks"})).await[0],
        ServerMessage::Subscribed { .. }
    ));
    b.send(json!({"type": "ping", "nonce": 1})).await;
    assert!(matches!(b.recv().await, ServerMessage::Pong { nonce: 1 }));
    expect_expiry_close(&mut a, exp).await;
    expect_expiry_close(&mut b, exp).await;
    server.stop().await;
}
