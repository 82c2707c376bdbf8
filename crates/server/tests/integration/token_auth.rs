//! With auth on: a missing token is AUTH_REQUIRED (4001), an invalid or expired one
//! AUTH_INVALID (4001) in `hello` or 401 before the upgrade with `?token=`; claims limit
//! channels; a tokens file of opaque tokens works too.

use crate::common::{auth_server, token, unix_secs, Client, Closed, TestServer};
use serde_json::json;
use tether_protocol::{ErrorCode, RejectReason, ServerMessage};
use tether_server::Claims;

fn claims(channels: &[&str], exp: Option<u64>) -> Claims {
    let mut claims = Claims::new("sarah").write(channels);
    claims.exp = exp;
    claims
}

async fn server() -> TestServer {
    auth_server(|_| {}).await
}

async fn hello_error(url: &str, token: Option<String>) -> (ErrorCode, Closed) {
    let mut c = Client::connect(url).await;
    let mut hello = json!({"type": "hello", "protocol": 1, "client_id": "c"});
    if let Some(t) = token {
        hello["token"] = json!(t);
    }
    c.send(hello).await;
    let code = match c.recv().await {
        ServerMessage::Error { code, .. } => code,
        other => panic!("{other:?}"),
    };
    (code, c.closed().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_invalid_and_expired_tokens_are_refused() {
    let server = server().await;
    let url = server.url();
    assert_eq!(
        hello_error(&url, None).await,
        (ErrorCode::AuthRequired, Closed::Code(4001))
    );
    assert_eq!(
        hello_error(&url, Some("not-a-token".into())).await,
        (ErrorCode::AuthInvalid, Closed::Code(4001))
    );
    assert_eq!(
        hello_error(&url, Some(token(&claims(&["*"], Some(1_000))))).await,
        (ErrorCode::AuthInvalid, Closed::Code(4001))
    );
    // Before the upgrade: 401.
    let refused = tokio_tungstenite::connect_async(format!("{url}?token=forged.token")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_grants_exactly_its_channels() {
    let server = server().await;
    // Token in the query string: hello needs none.
    let t = token(&claims(&["tasks", "chat:*"], Some(unix_secs() + 3_600)));
    let mut c = Client::hello(&format!("{}?token={t}", server.url()), "c").await;
    assert!(matches!(
        c.subscribe(json!({"channel": "chat:room1"})).await[0],
        ServerMessage::Subscribed { .. }
    ));
    let got = c.subscribe(json!({"channel": "admin"})).await;
    assert!(matches!(
        got[0],
        ServerMessage::Error {
            code: ErrorCode::Forbidden,
            ..
        }
    ));
    c.put(1, "admin", "x", json!({})).await;
    assert!(matches!(
        c.recv().await,
        ServerMessage::Reject {
            reason: RejectReason::Forbidden,
            ..
        }
    ));
    c.put(2, "tasks", "x", json!({})).await;
    assert!(matches!(c.recv().await, ServerMessage::Ack { .. }));
    // Token in hello.
    let mut d = Client::connect(&server.url()).await;
    d.send(
        json!({"type": "hello", "protocol": 1, "client_id": "d", "token": token(&claims(&["tasks"], None))}),
    )
    .await;
    assert!(matches!(d.recv().await, ServerMessage::Welcome { .. }));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokens_file_maps_opaque_tokens_to_claims() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");
    std::fs::write(
        &file,
        r#"{"opaque-123": {"sub": "u1", "channels": {"read": ["tasks"]}}}"#,
    )
    .unwrap();
    let server = TestServer::start(|o| {
        o.dev = false;
        o.tokens_file = Some(file.clone());
    })
    .await;
    let mut c = Client::hello(&format!("{}?token=opaque-123", server.url()), "c").await;
    assert!(matches!(
        c.subscribe(json!({"channel": "tasks"})).await[0],
        ServerMessage::Subscribed { .. }
    ));
    assert_eq!(
        hello_error(&server.url(), Some("opaque-999".into())).await,
        (ErrorCode::AuthInvalid, Closed::Code(4001))
    );
    server.stop().await;
}
