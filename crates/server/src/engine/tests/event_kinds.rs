//! `event.kind` (PROTOCOL.md §4): created / updated / deleted on an unfiltered view, entered /
//! left under a filter, and the same kinds when the events are replayed on a `since` resume.

use serde_json::{json, Value};
use tether_protocol::{EventKind, EventOp, ServerMessage};

use super::H;
use crate::engine::ConnId;

/// (offset, op, kind, id) of the events in a batch.
fn kinds(msgs: &[ServerMessage]) -> Vec<(u64, EventOp, EventKind, String)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMessage::Event {
                offset,
                op,
                kind,
                id,
                ..
            } => Some((
                *offset,
                *op,
                kind.expect("the server names every kind"),
                id.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn write(h: &mut H, w: ConnId, mid: u64, op: &str, id: &str, doc: Option<Value>) {
    let mut m =
        json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": op, "id": id});
    if let Some(doc) = doc {
        m["doc"] = doc;
    }
    h.send(w, m);
}

/// The writes both tests use: creations inside and outside the filter, moves in and out, an
/// update inside, deletions inside and outside, and a re-creation after a delete.
fn script(h: &mut H, w: ConnId) {
    let steps: [(&str, &str, Option<Value>); 9] = [
        ("put", "t1", Some(json!({"status": "todo"}))),
        ("put", "t2", Some(json!({"status": "done"}))),
        ("patch", "t2", Some(json!({"status": "todo"}))),
        ("patch", "t1", Some(json!({"title": "x"}))),
        ("patch", "t1", Some(json!({"status": "doing"}))),
        ("delete", "t2", None),
        ("delete", "t1", None),
        ("put", "t1", Some(json!({"status": "todo"}))),
        ("put", "t1", Some(json!({"status": "todo", "n": 2}))),
    ];
    for (i, (op, id, doc)) in steps.into_iter().enumerate() {
        write(h, w, i as u64 + 1, op, id, doc);
    }
}

use EventKind::{Created, Deleted, Entered, Left, Updated};
use EventOp::{Remove, Upsert};

fn unfiltered_kinds() -> Vec<(u64, EventOp, EventKind, String)> {
    [
        (1, Upsert, Created, "t1"),
        (2, Upsert, Created, "t2"),
        (3, Upsert, Updated, "t2"),
        (4, Upsert, Updated, "t1"),
        (5, Upsert, Updated, "t1"),
        (6, Remove, Deleted, "t2"),
        (7, Remove, Deleted, "t1"),
        (8, Upsert, Created, "t1"),
        (9, Upsert, Updated, "t1"),
    ]
    .into_iter()
    .map(|(o, op, k, id)| (o, op, k, id.to_owned()))
    .collect()
}

fn todo_kinds() -> Vec<(u64, EventOp, EventKind, String)> {
    [
        (1, Upsert, Created, "t1"),
        // 2: t2 created outside the view: nothing.
        (3, Upsert, Entered, "t2"),
        (4, Upsert, Updated, "t1"),
        (5, Remove, Left, "t1"),
        (6, Remove, Deleted, "t2"),
        // 7: t1 deleted while outside the view: nothing.
        (8, Upsert, Created, "t1"),
        (9, Upsert, Updated, "t1"),
    ]
    .into_iter()
    .map(|(o, op, k, id)| (o, op, k, id.to_owned()))
    .collect()
}

fn subscribe_todo(h: &mut H, c: ConnId, since: Option<u64>) -> Vec<ServerMessage> {
    let mut m = json!({"type": "subscribe", "channel": "tasks",
                       "filter": {"field": "status", "op": "eq", "value": "todo"}});
    if let Some(offset) = since {
        m["since"] = json!({"epoch": "ep1", "offset": offset});
    }
    h.call(c, m)
}

#[test]
fn live_events_name_created_updated_deleted_and_entered_left_under_a_filter() {
    let mut h = H::new();
    let all = h.conn("all");
    let todo = h.conn("todo");
    let w = h.conn("w");
    h.subscribe(all, "tasks");
    subscribe_todo(&mut h, todo, None);
    script(&mut h, w);
    let got = h.drain();
    assert_eq!(kinds(&H::to(&got, all)), unfiltered_kinds());
    assert_eq!(kinds(&H::to(&got, todo)), todo_kinds());
}

#[test]
fn replayed_events_carry_the_kind_they_had_live() {
    let mut h = H::new();
    let w = h.conn("w");
    script(&mut h, w);
    h.drain();
    let all = h.conn("all");
    let got = h.call(
        all,
        json!({"type": "subscribe", "channel": "tasks", "since": {"epoch": "ep1", "offset": 0}}),
    );
    assert!(
        matches!(&got[0], ServerMessage::Subscribed { continuity, .. }
            if *continuity == tether_protocol::Continuity::Recovered),
        "{got:?}"
    );
    assert_eq!(kinds(&got), unfiltered_kinds());
    let todo = h.conn("todo");
    let got = subscribe_todo(&mut h, todo, Some(0));
    assert_eq!(kinds(&got), todo_kinds());
    // From the middle of the log: the kinds of the later events only.
    let late = h.conn("late");
    let got = subscribe_todo(&mut h, late, Some(4));
    assert_eq!(kinds(&got), todo_kinds()[3..].to_vec());
}
