//! Events handled before the flush timer fires become one change-set, several updates of one document
//! one change, duplicates are dropped, and the own event replaces the pending entry without a
//! double show.

use crate::common::{changes, doc, reset, upsert, Driver};
use tether_core::{Config, Output, Precondition};
use tether_protocol::json;
use tether_protocol::{Op, ServerMessage};

#[test]
fn updates_in_one_batch_are_coalesced_and_duplicates_dropped() {
    let mut d = Driver::new(Config {
        flush_interval_ms: 16,
        ..Config::default()
    });
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 0, vec![]));
    d.advance(100);
    d.drain();
    for v in 1..=5u64 {
        d.server(upsert("tasks", v, v - 1, "t1", v, json!({"n": v}), None));
    }
    d.server(upsert("tasks", 6, 5, "t2", 1, json!({"n": 0}), None));
    // Duplicates (offset at or below the cursor) are dropped.
    d.server(upsert("tasks", 3, 2, "t1", 3, json!({"n": 3}), None));
    d.server(upsert("tasks", 6, 5, "t2", 1, json!({"n": 0}), None));
    let before = d.drain();
    assert!(changes(&before).is_empty(), "flush waits for its timer");
    let out = d.advance(116);
    let sets = changes(&out);
    assert_eq!(sets.len(), 1);
    let ids: Vec<(&str, &tether_protocol::Json)> = sets[0]
        .upserts
        .iter()
        .map(|u| (u.id.as_str(), &u.doc))
        .collect();
    assert_eq!(
        ids,
        vec![("t1", &json!({"n": 5})), ("t2", &json!({"n": 0}))]
    );
    let c = d.engine.status().counters;
    assert_eq!(c.events_received, 8);
    assert_eq!(c.events_deduped, 2);
    assert_eq!(c.coalesced, 4);
    assert_eq!(d.engine.cursor("tasks").unwrap().offset, 6);
    // The cache write waits until input has been quiet for the cache interval (250 ms)...
    let cached_offset = d
        .persisted
        .channels
        .get("tasks")
        .and_then(|c| c.cursor.as_ref())
        .map(|c| c.offset);
    assert_ne!(cached_offset, Some(6));
    assert!(d.engine.cache_pending());
    // ...then carries the documents and the cursor together, each document once.
    let before = d.writes.len();
    d.advance(400);
    let writes: Vec<_> = d.writes[before..]
        .iter()
        .filter(|w| matches!(w, tether_core::Persist::Channel(_)))
        .collect();
    assert_eq!(writes.len(), 1);
    assert!(!d.engine.cache_pending());
    let cached = &d.persisted.channels["tasks"];
    assert_eq!(cached.cursor.as_ref().unwrap().offset, 6);
    assert_eq!(cached.documents["t1"].version, 5);
}

#[test]
fn hiding_the_page_writes_the_cache_at_once() {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 0, vec![]));
    d.advance(100);
    d.server(upsert("tasks", 1, 0, "t1", 1, json!({"n": 1}), None));
    d.advance(120);
    assert!(d.engine.cache_pending(), "within the cache interval");
    d.engine.set_visible(d.now, false);
    d.drain();
    assert!(!d.engine.cache_pending());
    assert_eq!(d.persisted.channels["tasks"].documents["t1"].version, 1);
}

#[test]
fn own_event_replaces_the_pending_entry() {
    let mut d = Driver::new(Config {
        flush_interval_ms: 0,
        ..Config::default()
    });
    let view = d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 1, vec![doc("t1", 1, json!({"n": 1}))]));
    let m = d
        .engine
        .mutate(
            d.now,
            "tasks",
            Op::Patch,
            "t1",
            Some(json!({"n": 2})),
            Precondition::Auto,
        )
        .unwrap();
    d.drain();
    assert!(d.engine.view(view).unwrap()[0].pending);
    d.server(upsert(
        "tasks",
        2,
        1,
        "t1",
        2,
        json!({"n": 2}),
        Some(("me", m)),
    ));
    let shown = d.engine.view(view).unwrap()[0].clone();
    assert!(!shown.pending);
    assert_eq!((shown.version, &shown.doc), (2, &json!({"n": 2})));
    assert_eq!(d.engine.pending().count(), 0);
    assert_eq!(
        d.engine.outbox().count(),
        1,
        "leaves the outbox only on ack"
    );
    d.drain();
    d.server(ServerMessage::Ack {
        mutation_id: m,
        version: 2,
        offset: 2,
    });
    let out = d.drain();
    assert!(out.iter().any(|o| matches!(o, Output::Mutation(_))));
    assert!(changes(&out).is_empty(), "nothing flickers on the ack");
    assert_eq!(d.engine.outbox().count(), 0);
}
