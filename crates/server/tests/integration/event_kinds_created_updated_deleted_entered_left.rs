//! `event.kind` over the real server: created / updated / deleted on an unfiltered view,
//! entered / left (and created / deleted) on a filtered one, the same kinds replayed to a
//! client resuming with `since`, and the HTTP change feed carrying the unfiltered kinds.

use crate::common::api_client::{Req, API_KEY_ARG};
use crate::common::TestServer;
use serde_json::{json, Value};
use tether_protocol::{Continuity, EventKind, ServerMessage};

use EventKind::{Created, Deleted, Entered, Left, Updated};

/// (offset, kind, id) of an event.
fn kind(msg: &ServerMessage) -> (u64, EventKind, String) {
    match msg {
        ServerMessage::Event {
            offset,
            kind: Some(kind),
            id,
            ..
        } => (*offset, *kind, id.clone()),
        other => panic!("expected an event with a kind, got {other:?}"),
    }
}

fn todo() -> Value {
    json!({"field": "status", "op": "eq", "value": "todo"})
}

fn listed(items: &[(u64, EventKind, &str)]) -> Vec<(u64, EventKind, String)> {
    items
        .iter()
        .map(|(o, k, id)| (*o, *k, (*id).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_name_what_happened_live_replayed_and_in_the_change_feed() {
    let server = TestServer::start(|o| o.api_keys = vec![API_KEY_ARG.into()]).await;
    let mut all = server.client("all").await;
    all.subscribe(json!({"channel": "tasks"})).await;
    let mut filtered = server.client("todo").await;
    filtered
        .subscribe(json!({"channel": "tasks", "filter": todo()}))
        .await;
    let mut writer = server.client("w").await;
    let writes = [
        json!({"op": "put", "id": "t1", "doc": {"status": "todo"}}),
        json!({"op": "put", "id": "t2", "doc": {"status": "done"}}),
        json!({"op": "patch", "id": "t2", "doc": {"status": "todo"}}),
        json!({"op": "patch", "id": "t1", "doc": {"status": "doing"}}),
        json!({"op": "delete", "id": "t2"}),
        json!({"op": "delete", "id": "t1"}),
        json!({"op": "put", "id": "t1", "doc": {"status": "todo"}}),
    ];
    for (i, w) in writes.iter().enumerate() {
        let mut m = w.clone();
        m["type"] = json!("mutate");
        m["mutation_id"] = json!(i + 1);
        m["channel"] = json!("tasks");
        writer.send(m).await;
        assert!(matches!(writer.recv().await, ServerMessage::Ack { .. }));
    }
    let unfiltered = listed(&[
        (1, Created, "t1"),
        (2, Created, "t2"),
        (3, Updated, "t2"),
        (4, Updated, "t1"),
        (5, Deleted, "t2"),
        (6, Deleted, "t1"),
        (7, Created, "t1"),
    ]);
    let in_todo = listed(&[
        (1, Created, "t1"),
        (3, Entered, "t2"),
        (4, Left, "t1"),
        (5, Deleted, "t2"),
        (7, Created, "t1"),
    ]);
    let got: Vec<_> = all.recv_n(7).await.iter().map(kind).collect();
    assert_eq!(got, unfiltered);
    let got: Vec<_> = filtered.recv_n(5).await.iter().map(kind).collect();
    assert_eq!(got, in_todo);

    // A client resuming from offset 0 gets the same kinds replayed.
    let epoch = match &all.subscribe(json!({"channel": "tasks"})).await[0] {
        ServerMessage::Subscribed { epoch, .. } => epoch.clone(),
        other => panic!("{other:?}"),
    };
    let mut late = server.client("late").await;
    let got = late
        .subscribe(json!({"channel": "tasks", "filter": todo(),
                          "since": {"epoch": epoch, "offset": 0}}))
        .await;
    assert!(
        matches!(
            &got[0],
            ServerMessage::Subscribed {
                continuity: Continuity::Recovered,
                ..
            }
        ),
        "{got:?}"
    );
    let replayed: Vec<_> = got
        .iter()
        .filter(|m| matches!(m, ServerMessage::Event { .. }))
        .map(kind)
        .collect();
    assert_eq!(replayed, in_todo);

    // The change feed is unfiltered: created / updated / deleted.
    let (status, body) = Req::new("GET", "/api/v1/channels/tasks/events?since=0")
        .send(server.addr())
        .await;
    assert_eq!(status, 200, "{body}");
    let feed: Vec<(u64, String)> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["offset"].as_u64().expect("offset"),
                e["kind"].as_str().expect("kind").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = unfiltered
        .iter()
        .map(|(o, k, _)| (*o, k.as_str().to_owned()))
        .collect();
    assert_eq!(feed, expected);
    server.stop().await;
}
