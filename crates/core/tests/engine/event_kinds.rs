//! Server events reach the app as `ChangeSet::events`: each confirmed event once, with the kind
//! each view sees (a filtered view on an unfiltered subscription gets `entered` / `left`), and
//! an optimistic write is reported once, when the server's event for it arrives.

use crate::common::{changes, reset, Driver};
use tether_core::{Config, Precondition, ViewEvent, ViewId};
use tether_protocol::{json, EventKind, EventOp, Filter, Json, Op, Origin, ServerMessage};

fn event(
    offset: u64,
    op: EventOp,
    kind: Option<EventKind>,
    id: &str,
    body: Option<Json>,
) -> ServerMessage {
    ServerMessage::Event {
        channel: "tasks".into(),
        epoch: "e1".into(),
        offset,
        prev: offset - 1,
        op,
        kind,
        id: id.into(),
        version: offset,
        doc: body,
        origin: None,
    }
}

/// (kind, id) of the events reported for `view` in `out`.
fn reported(out: &[tether_core::Output], view: ViewId) -> Vec<(EventKind, String)> {
    changes(out)
        .into_iter()
        .filter(|s| s.view == view)
        .flat_map(|s| s.events)
        .map(|e: ViewEvent| (e.kind, e.id))
        .collect()
}

fn ready() -> (Driver, ViewId, ViewId) {
    let mut d = Driver::new(Config::default());
    let all = d.engine.subscribe(0, "tasks", None).unwrap();
    let f = Filter::parse(&json!({"field": "status", "op": "eq", "value": "todo"})).unwrap();
    let todo = d.engine.subscribe(0, "tasks", Some(f)).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 0, vec![]));
    d.now = 100;
    d.drain();
    (d, all, todo)
}

#[test]
fn each_view_gets_the_kind_its_filter_sees() {
    let (mut d, all, todo) = ready();
    use EventKind::{Created, Deleted, Entered, Left, Updated};
    let steps = [
        event(
            1,
            EventOp::Upsert,
            Some(Created),
            "t1",
            Some(json!({"status": "todo"})),
        ),
        event(
            2,
            EventOp::Upsert,
            Some(Created),
            "t2",
            Some(json!({"status": "done"})),
        ),
        event(
            3,
            EventOp::Upsert,
            Some(Updated),
            "t2",
            Some(json!({"status": "todo"})),
        ),
        event(
            4,
            EventOp::Upsert,
            Some(Updated),
            "t1",
            Some(json!({"status": "doing"})),
        ),
        event(5, EventOp::Remove, Some(Deleted), "t2", None),
        event(6, EventOp::Remove, Some(Deleted), "t1", None),
    ];
    let mut out = Vec::new();
    for step in steps {
        d.server(step);
        out.extend(d.advance(d.now + 50));
    }
    let s = |k: EventKind, id: &str| (k, id.to_owned());
    assert_eq!(
        reported(&out, all),
        vec![
            s(Created, "t1"),
            s(Created, "t2"),
            s(Updated, "t2"),
            s(Updated, "t1"),
            s(Deleted, "t2"),
            s(Deleted, "t1")
        ]
    );
    assert_eq!(
        reported(&out, todo),
        vec![
            s(Created, "t1"),
            s(Entered, "t2"),
            s(Left, "t1"),
            s(Deleted, "t2")
        ]
    );
}

#[test]
fn a_duplicate_event_is_reported_never_and_a_server_without_kinds_gets_them_derived() {
    let (mut d, all, _) = ready();
    d.server(event(1, EventOp::Upsert, None, "t1", Some(json!({}))));
    d.server(event(1, EventOp::Upsert, None, "t1", Some(json!({}))));
    d.server(event(2, EventOp::Upsert, None, "t1", Some(json!({"n": 1}))));
    d.server(event(3, EventOp::Remove, None, "t1", None));
    let out = d.advance(d.now + 50);
    let got = reported(&out, all);
    assert_eq!(
        got,
        vec![
            (EventKind::Created, "t1".to_owned()),
            (EventKind::Updated, "t1".to_owned()),
            (EventKind::Deleted, "t1".to_owned())
        ]
    );
}

#[test]
fn an_optimistic_write_is_reported_once_when_its_event_arrives() {
    let (mut d, all, _) = ready();
    d.engine
        .mutate(
            d.now,
            "tasks",
            Op::Put,
            "t9",
            Some(json!({"status": "todo"})),
            Precondition::Auto,
        )
        .unwrap();
    let out = d.drain();
    let sets = changes(&out);
    assert!(!sets.is_empty(), "the optimistic write is shown at once");
    assert!(
        sets.iter().all(|s| s.events.is_empty()),
        "but is no event: {sets:?}"
    );
    let mut echo = event(
        1,
        EventOp::Upsert,
        Some(EventKind::Created),
        "t9",
        Some(json!({"status": "todo"})),
    );
    if let ServerMessage::Event { origin, .. } = &mut echo {
        *origin = Some(Origin {
            client_id: "me".into(),
            mutation_id: 1,
        });
    }
    d.server(echo.clone());
    d.server(ServerMessage::Ack {
        mutation_id: 1,
        version: 1,
        offset: 1,
    });
    d.server(echo);
    let out = d.advance(d.now + 50);
    let events: Vec<ViewEvent> = changes(&out)
        .into_iter()
        .filter(|s| s.view == all)
        .flat_map(|s| s.events)
        .collect();
    assert_eq!(
        events,
        vec![ViewEvent {
            kind: EventKind::Created,
            id: "t9".into(),
            version: 1,
            offset: 1,
            own: true
        }]
    );
}

#[test]
fn a_filtered_subscription_passes_entered_and_left_through() {
    let mut d = Driver::new(Config::default());
    let f = Filter::parse(&json!({"field": "status", "op": "eq", "value": "todo"})).unwrap();
    let todo = d.engine.subscribe(0, "tasks", Some(f)).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 0, vec![]));
    d.now = 100;
    d.drain();
    let todo_body = Some(json!({"status": "todo"}));
    d.server(event(
        1,
        EventOp::Upsert,
        Some(EventKind::Entered),
        "t1",
        todo_body,
    ));
    d.server(event(2, EventOp::Remove, Some(EventKind::Left), "t1", None));
    let out = d.advance(d.now + 50);
    assert_eq!(
        reported(&out, todo),
        vec![
            (EventKind::Entered, "t1".to_owned()),
            (EventKind::Left, "t1".to_owned())
        ]
    );
}
