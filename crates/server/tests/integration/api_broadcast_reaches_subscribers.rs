//! `POST …/broadcast` from the backend API reaches every current WebSocket subscriber of the
//! channel as an ephemeral `broadcast` from `api:<key name>`, answered with how many it was
//! output to; nothing is stored (the head does not move).

use crate::common::api_client::{error_code, Req, API_KEY_ARG};
use crate::common::TestServer;
use serde_json::json;
use tether_protocol::ServerMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_reaches_every_subscriber() {
    let server = TestServer::start(|o| o.api_keys = vec![API_KEY_ARG.into()]).await;
    let addr = server.addr();
    let mut a = server.client("a").await;
    a.subscribe(json!({"channel": "cursors"})).await;
    let mut b = server.client("b").await;
    b.subscribe(json!({"channel": "cursors"})).await;
    let (status, body) = Req::new("POST", "/api/v1/channels/cursors/broadcast")
        .json(json!({"payload": {"x": 1}}))
        .send(addr)
        .await;
    assert_eq!(
        (status, body["delivered"].clone()),
        (200, json!(2)),
        "{body}"
    );
    for c in [&mut a, &mut b] {
        match c.recv().await {
            ServerMessage::Broadcast { from, payload, .. } => {
                assert_eq!(from, "api:jobs");
                assert_eq!(payload, tether_protocol::Json::from(json!({"x": 1})));
            }
            other => panic!("{other:?}"),
        }
    }
    let (_, head) = Req::new("GET", "/api/v1/channels/cursors").send(addr).await;
    assert_eq!(head["offset"], 0);
    let (status, body) = Req::new("POST", "/api/v1/channels/cursors/broadcast")
        .json(json!({"x": 1}))
        .send(addr)
        .await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"));
    server.stop().await;
}
