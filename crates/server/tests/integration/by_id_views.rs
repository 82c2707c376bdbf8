//! By-id views (`subscribe.ids`): the snapshot holds only the named documents, events come for
//! them only, with their kinds (`created`, `updated`, `deleted`; `entered` / `left` when a
//! filter is given too), a `recovered` resume replays only their events, a view of other ids
//! is a view of its own, and invalid ids are refused with `INVALID_IDS`.

use crate::common::{event, Client, TestServer};
use serde_json::json;
use tether_protocol::{Continuity, ErrorCode, EventKind, EventOp, ServerMessage};

/// (offset, prev, id, op, kind) of an event.
fn kind_of(msg: &ServerMessage) -> (u64, u64, String, EventOp, Option<EventKind>) {
    match msg {
        ServerMessage::Event {
            offset,
            prev,
            id,
            op,
            kind,
            ..
        } => (*offset, *prev, id.clone(), *op, *kind),
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Puts and waits for the writer's ack (the writer is not subscribed).
async fn put(writer: &mut Client, mid: u64, id: &str, doc: serde_json::Value) {
    writer.put(mid, "tasks", id, doc).await;
    writer.recv().await;
}

async fn delete(writer: &mut Client, mid: u64, id: &str) {
    writer
        .send(
            json!({"type": "mutate", "mutation_id": mid, "channel": "tasks",
                     "op": "delete", "id": id}),
        )
        .await;
    writer.recv().await;
}

fn snapshot_ids(msg: &ServerMessage) -> Vec<String> {
    match msg {
        ServerMessage::Subscribed {
            snapshot: Some(docs),
            continuity: Continuity::Reset,
            ..
        } => docs.iter().map(|d| d.id.clone()).collect(),
        other => panic!("expected a reset, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_by_id_view_sees_only_its_documents_live_and_on_resume() {
    let server = TestServer::start(|_| {}).await;
    let mut writer = server.client("w").await;
    put(&mut writer, 1, "t1", json!({"n": 1})).await;
    put(&mut writer, 2, "t2", json!({"n": 2})).await;
    put(&mut writer, 3, "t3", json!({"n": 3})).await;

    // t4 does not exist yet: the view holds t1 and t3.
    let mut reader = server.client("r").await;
    let got = reader
        .subscribe(json!({"channel": "tasks", "ids": ["t3", "t1", "t4"]}))
        .await;
    assert_eq!(snapshot_ids(&got[0]), vec!["t1", "t3"]);
    let epoch = match &got[0] {
        ServerMessage::Subscribed { epoch, offset, .. } => {
            assert_eq!(*offset, 3);
            epoch.clone()
        }
        _ => unreachable!(),
    };

    put(&mut writer, 4, "t2", json!({"n": 20})).await; // not in the view
    reader.silent_for(50).await;
    put(&mut writer, 5, "t1", json!({"n": 10})).await;
    assert_eq!(
        kind_of(&reader.recv().await),
        ("t1".into(), EventOp::Upsert, Some(EventKind::Updated)).into_event(5, 3)
    );
    put(&mut writer, 6, "t4", json!({"n": 4})).await;
    assert_eq!(
        kind_of(&reader.recv().await),
        ("t4".into(), EventOp::Upsert, Some(EventKind::Created)).into_event(6, 5)
    );

    // The reader drops off at offset 6; changes of its ids and of others happen meanwhile.
    reader.close().await;
    put(&mut writer, 7, "t2", json!({"n": 21})).await;
    delete(&mut writer, 8, "t3").await;
    put(&mut writer, 9, "t5", json!({})).await;
    put(&mut writer, 10, "t4", json!({"n": 40})).await;

    let mut reader = server.client("r").await;
    let got = reader
        .subscribe(json!({"channel": "tasks", "ids": ["t1", "t3", "t4"],
                          "since": {"epoch": epoch, "offset": 6}}))
        .await;
    assert!(
        matches!(
            &got[0],
            ServerMessage::Subscribed {
                continuity: Continuity::Recovered,
                offset: 6,
                snapshot: None,
                ..
            }
        ),
        "{got:?}"
    );
    let replayed: Vec<_> = got[1..got.len() - 1].iter().map(kind_of).collect();
    assert_eq!(
        replayed,
        vec![
            ("t3".into(), EventOp::Remove, Some(EventKind::Deleted)).into_event(8, 6),
            ("t4".into(), EventOp::Upsert, Some(EventKind::Updated)).into_event(10, 8),
        ]
    );
    assert!(matches!(
        got.last(),
        Some(ServerMessage::PresenceSync { .. })
    ));
    // Live events continue the chain.
    put(&mut writer, 11, "t1", json!({"n": 11})).await;
    assert_eq!(event(&reader.recv().await), (11, 10, "t1".into()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_with_a_filter_enter_and_leave_and_other_ids_are_another_view() {
    let server = TestServer::start(|_| {}).await;
    let mut writer = server.client("w").await;
    put(&mut writer, 1, "a", json!({"s": "todo"})).await;
    put(&mut writer, 2, "b", json!({"s": "done"})).await;
    let mut todo_a = server.client("ra").await;
    let got = todo_a
        .subscribe(json!({"channel": "tasks", "ids": ["a", "b"],
                          "filter": {"field": "s", "op": "eq", "value": "todo"}}))
        .await;
    assert_eq!(snapshot_ids(&got[0]), vec!["a"]);
    let mut only_b = server.client("rb").await;
    let got = only_b
        .subscribe(json!({"channel": "tasks", "ids": ["b"]}))
        .await;
    assert_eq!(snapshot_ids(&got[0]), vec!["b"]);

    put(&mut writer, 3, "a", json!({"s": "done"})).await;
    assert_eq!(
        kind_of(&todo_a.recv().await),
        ("a".into(), EventOp::Remove, Some(EventKind::Left)).into_event(3, 1)
    );
    only_b.silent_for(50).await;
    put(&mut writer, 4, "b", json!({"s": "todo"})).await;
    assert_eq!(
        kind_of(&todo_a.recv().await),
        ("b".into(), EventOp::Upsert, Some(EventKind::Entered)).into_event(4, 3)
    );
    assert_eq!(
        kind_of(&only_b.recv().await),
        ("b".into(), EventOp::Upsert, Some(EventKind::Updated)).into_event(4, 2)
    );
    delete(&mut writer, 5, "b").await;
    assert_eq!(
        kind_of(&only_b.recv().await),
        ("b".into(), EventOp::Remove, Some(EventKind::Deleted)).into_event(5, 4)
    );
    assert_eq!(
        kind_of(&todo_a.recv().await),
        ("b".into(), EventOp::Remove, Some(EventKind::Deleted)).into_event(5, 4)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_ids_are_refused_with_invalid_ids_and_the_old_subscription_stays() {
    let server = TestServer::start(|_| {}).await;
    let mut reader = server.client("r").await;
    let got = reader
        .subscribe(json!({"channel": "tasks", "ids": ["t1"]}))
        .await;
    assert_eq!(snapshot_ids(&got[0]), Vec::<String>::new());
    let too_many: Vec<String> = (0..=tether_protocol::MAX_VIEW_IDS)
        .map(|i| format!("d{i}"))
        .collect();
    let bad = [
        json!("t1"),
        json!([]),
        json!(["t1", 2]),
        json!(["t1", ""]),
        json!(["t1", "t2", "t1"]),
        json!(too_many),
        json!(["x".repeat(tether_protocol::MAX_DOC_ID_LEN + 1)]),
    ];
    for ids in bad {
        let got = reader
            .subscribe(json!({"channel": "tasks", "ids": ids.clone()}))
            .await;
        match &got[..] {
            [ServerMessage::Error {
                code: ErrorCode::InvalidIds,
                channel: Some(channel),
                ..
            }] => assert_eq!(channel, "tasks"),
            other => panic!("{ids}: {other:?}"),
        }
    }
    // The subscription of t1 is still in force.
    let mut writer = server.client("w").await;
    put(&mut writer, 1, "t2", json!({})).await;
    reader.silent_for(50).await;
    put(&mut writer, 2, "t1", json!({})).await;
    assert_eq!(
        kind_of(&reader.recv().await),
        ("t1".into(), EventOp::Upsert, Some(EventKind::Created)).into_event(2, 0)
    );
    server.stop().await;
}

/// Builds the expected (offset, prev, id, op, kind) tuple.
trait IntoEvent {
    fn into_event(self, offset: u64, prev: u64) -> (u64, u64, String, EventOp, Option<EventKind>);
}

impl IntoEvent for (String, EventOp, Option<EventKind>) {
    fn into_event(self, offset: u64, prev: u64) -> (u64, u64, String, EventOp, Option<EventKind>) {
        (offset, prev, self.0, self.1, self.2)
    }
}
