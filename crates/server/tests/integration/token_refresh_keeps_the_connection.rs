//! A client that offers `refresh` gets `token_expiring` before its token expires, hands a
//! fresh token over the open connection with `auth`, and keeps its connection and its
//! subscription past the old token's expiry (no 4001, no reconnect).

use std::time::Duration;

use serde_json::json;
use tether_protocol::ServerMessage;
use tether_server::Claims;

use crate::common::{auth_server, token, unix_secs, Client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_token_over_the_open_connection_keeps_it_open() {
    let server = auth_server(|o| o.token_refresh_secs = 2).await;
    let url = server.url();
    let exp = unix_secs() + 3;
    let old = token(&Claims::new("sarah").write(&["tasks"]).expires(exp));
    let mut c = Client::connect(&url).await;
    c.send(
        json!({"type": "hello", "protocol": 1, "client_id": "tab-1", "token": old,
                  "refresh": true}),
    )
    .await;
    assert!(matches!(c.recv().await, ServerMessage::Welcome { .. }));
    c.subscribe(json!({"channel": "tasks"})).await;

    // Within 2 s of the expiry the server says so.
    match c.recv().await {
        ServerMessage::TokenExpiring { expires_in_ms } => {
            assert!(expires_in_ms <= 2_000, "{expires_in_ms}")
        }
        other => panic!("expected token_expiring, got {other:?}"),
    }
    let fresh = token(
        &Claims::new("sarah")
            .write(&["tasks"])
            .expires(unix_secs() + 600),
    );
    c.send(json!({"type": "auth", "token": fresh})).await;
    match c.recv().await {
        ServerMessage::AuthOk {
            expires_in_ms: Some(ms),
        } => assert!(ms > 590_000, "{ms}"),
        other => panic!("expected auth_ok, got {other:?}"),
    }

    // Past the old expiry: the connection is open and the subscription live.
    tokio::time::sleep(Duration::from_millis(
        (exp * 1_000 + 500).saturating_sub(unix_secs() * 1_000),
    ))
    .await;
    c.send(json!({"type": "ping", "nonce": 7})).await;
    assert_eq!(c.recv().await, ServerMessage::Pong { nonce: 7 });
    c.put(1, "tasks", "t1", json!({"title": "still here"}))
        .await;
    let got = c.recv_n(2).await;
    assert!(
        got.iter().any(|m| matches!(m, ServerMessage::Event { .. })),
        "{got:?}"
    );
}
