//! `POST /api/v1/subjects/{sub}/notifications` reaches every open connection whose token's
//! `sub` is that subject (two tabs of one user), as `notification` from `api:<key name>`, and
//! no connection of another subject; an unknown subject is answered `delivered: 0`, a body
//! without `payload` 400 `BAD_REQUEST`, a subject over 256 bytes 400 `INVALID`.

use crate::common::api_client::{error_code, Req, API_KEY_ARG};
use crate::common::{auth_server, hello_with, token};
use serde_json::json;
use tether_protocol::{Json, ServerMessage};
use tether_server::Claims;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_reaches_every_tab_of_the_user_and_nobody_else() {
    let server = auth_server(|o| o.api_keys = vec![API_KEY_ARG.into()]).await;
    let sarah = token(&Claims::new("sarah").write(&["tasks"]));
    let tom = token(&Claims::new("tom").write(&["tasks"]));
    let mut tabs = Vec::new();
    for id in ["s1", "s2"] {
        let (c, welcome) = hello_with(&server.url(), id, Some(&sarah)).await;
        assert!(
            matches!(welcome, ServerMessage::Welcome { .. }),
            "{welcome:?}"
        );
        tabs.push(c);
    }
    let (mut other, welcome) = hello_with(&server.url(), "t1", Some(&tom)).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );

    let (status, body) = Req::new("POST", "/api/v1/subjects/sarah/notifications")
        .json(json!({"payload": {"text": "your export is ready"}}))
        .send(server.addr())
        .await;
    assert_eq!(
        (status, body["delivered"].clone()),
        (200, json!(2)),
        "{body}"
    );
    for tab in &mut tabs {
        match tab.recv().await {
            ServerMessage::Notification { payload, from } => {
                assert_eq!(from, "api:jobs");
                assert_eq!(payload, Json::from(json!({"text": "your export is ready"})));
            }
            other => panic!("{other:?}"),
        }
    }
    // Tom's connection: the answer to a ping sent after the notification comes first, so
    // nothing was queued before it.
    other.send(json!({"type": "ping", "nonce": 7})).await;
    assert_eq!(other.recv().await, ServerMessage::Pong { nonce: 7 });

    let (status, body) = Req::new("POST", "/api/v1/subjects/nobody/notifications")
        .json(json!({"payload": 1}))
        .send(server.addr())
        .await;
    assert_eq!(
        (status, body["delivered"].clone()),
        (200, json!(0)),
        "{body}"
    );
    let (status, body) = Req::new("POST", "/api/v1/subjects/sarah/notifications")
        .json(json!({"text": "no payload"}))
        .send(server.addr())
        .await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"), "{body}");
    let long = format!("/api/v1/subjects/{}/notifications", "s".repeat(257));
    let (status, body) = Req::new("POST", &long)
        .json(json!({"payload": 1}))
        .send(server.addr())
        .await;
    assert_eq!((status, error_code(&body)), (400, "INVALID"), "{body}");
    server.stop().await;
}
