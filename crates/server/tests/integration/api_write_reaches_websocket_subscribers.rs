//! A write through the backend API (put, patch, delete, batch) is committed and fanned out to
//! every WebSocket view it affects, as events whose origin names the API key, before the HTTP
//! answer; a filtered view sees the document enter and leave.

use crate::common::api_client::{Req, API_KEY_ARG};
use crate::common::TestServer;
use serde_json::json;
use tether_protocol::{EventOp, ServerMessage};

fn op_of(msg: &ServerMessage) -> (EventOp, String, String) {
    match msg {
        ServerMessage::Event { op, id, origin, .. } => (
            *op,
            id.clone(),
            origin
                .as_ref()
                .map(|o| o.client_id.clone())
                .unwrap_or_default(),
        ),
        other => panic!("expected event, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_writes_are_events_on_every_affected_view() {
    let server = TestServer::start(|o| o.api_keys = vec![API_KEY_ARG.into()]).await;
    let addr = server.addr();
    let mut all = server.client("all").await;
    all.subscribe(json!({"channel": "tasks"})).await;
    let mut todo = server.client("todo").await;
    todo.subscribe(
        json!({"channel": "tasks", "filter": {"field": "status", "op": "eq", "value": "todo"}}),
    )
    .await;

    let (status, body) = Req::new("PUT", "/api/v1/channels/tasks/documents/t1")
        .idempotent("create-t1")
        .json(json!({"title": "Fix login", "status": "todo"}))
        .send(addr)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(body["offset"], 1);
    assert_eq!(body["origin"]["client_id"], "api:jobs:create-t1");
    for c in [&mut all, &mut todo] {
        assert_eq!(
            op_of(&c.recv().await),
            (EventOp::Upsert, "t1".into(), "api:jobs:create-t1".into())
        );
    }

    let (status, body) = Req::new(
        "PATCH",
        "/api/v1/channels/tasks/documents/t1?base_version=1",
    )
    .json(json!({"status": "done"}))
    .send(addr)
    .await;
    assert_eq!((status, body["version"].clone()), (200, json!(2)), "{body}");
    assert_eq!(op_of(&all.recv().await).0, EventOp::Upsert);
    // It left the filtered view.
    assert_eq!(
        op_of(&todo.recv().await),
        (EventOp::Remove, "t1".into(), "api:jobs".into())
    );

    let (status, body) = Req::new("POST", "/api/v1/channels/tasks/batch")
        .json(json!({"mutations": [
            {"op": "put", "id": "t2", "doc": {"status": "todo"}},
            {"op": "delete", "id": "t1"},
        ]}))
        .send(addr)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["status"], 200);
    assert_eq!(body["results"][1]["status"], 200);
    assert_eq!(op_of(&all.recv().await).1, "t2");
    assert_eq!(
        op_of(&all.recv().await),
        (EventOp::Remove, "t1".into(), "api:jobs".into())
    );
    assert_eq!(op_of(&todo.recv().await).1, "t2");
    todo.silent_for(200).await;
    server.stop().await;
}
