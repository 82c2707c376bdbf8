//! Presence join / update / leave, a late subscriber's `presence_sync`, and leave on
//! disconnect.

use crate::common::TestServer;
use serde_json::json;
use tether_protocol::{PresenceEvent, ServerMessage};

fn presence(msg: &ServerMessage) -> (PresenceEvent, String, Option<serde_json::Value>) {
    match msg {
        ServerMessage::Presence {
            event,
            client_id,
            state,
            ..
        } => (
            *event,
            client_id.clone(),
            state.clone().map(serde_json::Value::from),
        ),
        other => panic!("expected presence, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_join_update_leave_and_leave_on_disconnect() {
    let server = TestServer::start(|_| {}).await;
    let mut sarah = server.client("sarah").await;
    let mut me = server.client("me").await;
    sarah.subscribe(json!({"channel": "tasks"})).await;
    me.subscribe(json!({"channel": "tasks"})).await;
    sarah
        .send(json!({"type": "presence", "channel": "tasks", "state": {"editing": "t1"}}))
        .await;
    assert_eq!(
        presence(&me.recv().await),
        (
            PresenceEvent::Join,
            "sarah".into(),
            Some(json!({"editing": "t1"}))
        )
    );
    sarah
        .send(json!({"type": "presence", "channel": "tasks", "state": {"editing": "t2"}}))
        .await;
    assert_eq!(presence(&me.recv().await).0, PresenceEvent::Update);
    sarah.silent_for(50).await; // not echoed to the sender

    let mut late = server.client("late").await;
    let got = late.subscribe(json!({"channel": "tasks"})).await;
    match got.last() {
        Some(ServerMessage::PresenceSync { members, .. }) => {
            assert_eq!(members.len(), 1);
            assert_eq!(members[0].client_id, "sarah");
            assert_eq!(
                members[0].state,
                tether_protocol::Json::from(json!({"editing": "t2"}))
            );
        }
        other => panic!("{other:?}"),
    }

    // Sarah's tab disappears without a word.
    drop(sarah);
    assert_eq!(
        presence(&me.recv().await),
        (PresenceEvent::Leave, "sarah".into(), None)
    );
    assert_eq!(presence(&late.recv().await).0, PresenceEvent::Leave);

    // Explicit leave with a null state.
    me.send(json!({"type": "presence", "channel": "tasks", "state": {"x": 1}}))
        .await;
    assert_eq!(presence(&late.recv().await).0, PresenceEvent::Join);
    me.send(json!({"type": "presence", "channel": "tasks", "state": null}))
        .await;
    assert_eq!(presence(&late.recv().await).0, PresenceEvent::Leave);
    server.stop().await;
}
