//! `POST /api/v1/subjects/{sub}/notifications` on node 2 reaches the subject's connection on
//! node 1 (relayed over Redis) as `notification` from `api:<key name>`, once, and no
//! connection of another subject.

use serde_json::json;
use tether_protocol::{Json, ServerMessage};
use tether_server::Claims;

use crate::common::api_client::{Req, API_KEY_ARG};
use crate::common::{hello_with, token, SECRET};
use crate::support::{linked_nodes, Database};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_notification_on_one_node_reaches_the_subject_on_another() {
    let db = Database::new();
    let nodes = linked_nodes(&db, 2, &["--auth-secret", SECRET, "--api-key", API_KEY_ARG]).await;
    let sarah = token(&Claims::new("sarah").write(&["tasks"]));
    let tom = token(&Claims::new("tom").write(&["tasks"]));
    let (mut tab, welcome) = hello_with(&nodes[0].url(), "s1", Some(&sarah)).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    let (mut other, welcome) = hello_with(&nodes[0].url(), "t1", Some(&tom)).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );

    for n in [1, 2] {
        let (status, body) = Req::new("POST", "/api/v1/subjects/sarah/notifications")
            .json(json!({"payload": {"n": n}}))
            .send(nodes[1].addr)
            .await;
        assert_eq!(status, 200, "{body}");
        // Counted on the node that took the call: the subject has no connection there.
        assert_eq!(body["delivered"], 0, "{body}");
    }
    // Both, in order, once each (the next frame after the second is not a third copy).
    for n in [1, 2] {
        match tab.recv().await {
            ServerMessage::Notification { payload, from } => {
                assert_eq!(from, "api:jobs");
                assert_eq!(payload, Json::from(json!({"n": n})));
            }
            other => panic!("expected notification {n}, got {other:?}"),
        }
    }
    tab.send(json!({"type": "ping", "nonce": 7})).await;
    assert!(
        matches!(tab.recv().await, ServerMessage::Pong { nonce: 7 }),
        "nothing else arrived before the pong"
    );
    other.send(json!({"type": "ping", "nonce": 8})).await;
    assert!(
        matches!(other.recv().await, ServerMessage::Pong { nonce: 8 }),
        "another subject got nothing"
    );
}
