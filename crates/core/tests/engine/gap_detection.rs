//! A lost event is detected from `prev` and repaired by resubscribing since the cursor;
//! offsets a filtered view skipped are not gaps.

use crate::common::{changes, reset, sent_of, upsert, Driver};
use tether_core::Config;
use tether_protocol::json;
use tether_protocol::{ClientMessage, Continuity, Filter, ServerMessage, Since};

#[test]
fn gap_triggers_resubscribe_since_cursor_and_recovers() {
    let mut d = Driver::new(Config {
        flush_interval_ms: 0,
        ..Config::default()
    });
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 4, vec![]));
    d.server(upsert("tasks", 5, 4, "a", 1, json!({}), None));
    d.drain();
    // Offset 6 is lost.
    d.server(upsert("tasks", 7, 6, "b", 1, json!({}), None));
    let sent = d.sent();
    assert_eq!(
        sent,
        vec![ClientMessage::Subscribe {
            channel: "tasks".into(),
            filter: None,
            ids: None,
            since: Some(Since {
                epoch: "e1".into(),
                offset: 5
            }),
        }]
    );
    assert_eq!(d.engine.status().counters.gaps, 1);
    // Events still in flight from before the resubscribe are superseded by its answer.
    d.server(upsert("tasks", 8, 7, "c", 1, json!({}), None));
    assert_eq!(d.engine.cursor("tasks").unwrap().offset, 5);
    d.server(ServerMessage::Subscribed {
        channel: "tasks".into(),
        epoch: "e1".into(),
        offset: 5,
        continuity: Continuity::Recovered,
        snapshot: None,
        more: false,
    });
    for (o, id) in [(6, "x"), (7, "b"), (8, "c")] {
        d.server(upsert("tasks", o, o - 1, id, 1, json!({}), None));
    }
    let out = d.drain();
    let sets = changes(&out);
    assert_eq!(sets[0].continuity, Some(Continuity::Recovered));
    let ids: Vec<String> = d
        .engine
        .confirmed("tasks")
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(ids, vec!["a", "b", "c", "x"]);
    assert_eq!(d.engine.cursor("tasks").unwrap().offset, 8);
}

#[test]
fn skipped_offsets_of_a_filtered_view_are_not_gaps() {
    let mut d = Driver::new(Config::default());
    let f = Filter::parse(&json!({"field": "s", "op": "eq", "value": 1})).unwrap();
    d.engine.subscribe(0, "tasks", Some(f)).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 10, vec![]));
    d.server(upsert("tasks", 14, 10, "a", 1, json!({"s": 1}), None));
    d.server(upsert("tasks", 20, 14, "b", 1, json!({"s": 1}), None));
    assert!(sent_of(&d.drain()).is_empty());
    assert_eq!(d.engine.status().counters.gaps, 0);
    assert_eq!(d.engine.cursor("tasks").unwrap().offset, 20);
}

#[test]
fn a_new_epoch_is_a_gap_answered_by_reset() {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 3, vec![]));
    d.drain();
    d.server(ServerMessage::Event {
        channel: "tasks".into(),
        epoch: "e2".into(),
        offset: 1,
        prev: 0,
        op: tether_protocol::EventOp::Upsert,
        kind: None,
        id: "a".into(),
        version: 1,
        doc: Some(json!({})),
        origin: None,
    });
    let sent = d.sent();
    assert!(
        matches!(&sent[..], [ClientMessage::Subscribe { since: Some(s), .. }] if s.offset == 3)
    );
}
