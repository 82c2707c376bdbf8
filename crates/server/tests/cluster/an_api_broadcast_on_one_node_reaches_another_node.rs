//! `POST /api/v1/channels/{channel}/broadcast` on node 2 reaches node 1's subscriber as a
//! `broadcast` from `api:<key name>` (relayed over Redis), once.

use serde_json::json;

use crate::common::api_client::{Req, API_KEY_ARG};
use crate::support::{linked_nodes, next_broadcast, Database};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_broadcast_on_one_node_reaches_another_node() {
    let db = Database::new();
    let nodes = linked_nodes(&db, 2, &["--api-key", API_KEY_ARG]).await;
    let mut sub = nodes[0].client("sub").await;
    sub.subscribe(json!({"channel": "cursors"})).await;
    for x in [1, 2] {
        let (status, body) = Req::new("POST", "/api/v1/channels/cursors/broadcast")
            .json(json!({"payload": {"x": x}}))
            .send(nodes[1].addr)
            .await;
        assert_eq!(status, 200, "{body}");
        // Counted on the node that took the call: it has no subscriber of its own.
        assert_eq!(body["delivered"], 0, "{body}");
    }
    for x in [1, 2] {
        loop {
            if let tether_protocol::ServerMessage::Broadcast { from, payload, .. } =
                sub.recv().await
            {
                assert_eq!(from, "api:jobs");
                assert_eq!(payload, tether_protocol::Json::from(json!({"x": x})));
                break;
            }
        }
    }
    // Once: the next broadcast is a new one.
    let (status, _) = Req::new("POST", "/api/v1/channels/cursors/broadcast")
        .json(json!({"payload": {"x": 3}}))
        .send(nodes[1].addr)
        .await;
    assert_eq!(status, 200);
    assert_eq!(next_broadcast(&mut sub).await, json!({"x": 3}));
}
