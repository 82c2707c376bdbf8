//! A reload resumes exactly: cached documents show at once, subscriptions resume with
//! `since`, the outbox is resent in order under the same ids, and new ids continue above them.

use crate::common::{changes, doc, reset, upsert, Driver};
use tether_core::{Config, Engine, Precondition};
use tether_protocol::json;
use tether_protocol::{ClientMessage, Op, ServerMessage, Since};

#[test]
fn restore_resumes_cache_cursor_and_outbox() {
    let mut d = Driver::new(Config {
        flush_interval_ms: 0,
        cache_interval_ms: 0,
        ..Config::default()
    });
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 3, vec![doc("t1", 2, json!({"n": 1}))]));
    d.server(upsert("tasks", 4, 3, "t2", 1, json!({"n": 5}), None));
    let m1 = d
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
    let m2 = d
        .engine
        .mutate(
            d.now,
            "tasks",
            Op::Put,
            "t3",
            Some(json!({"n": 3})),
            Precondition::Auto,
        )
        .unwrap();
    let m3 = d
        .engine
        .mutate(d.now, "tasks", Op::Delete, "t2", None, Precondition::Auto)
        .unwrap();
    d.drain();
    d.server(ServerMessage::Ack {
        mutation_id: m2,
        version: 1,
        offset: 5,
    });
    d.drain();
    let visible_before = d.engine.visible("tasks").unwrap().clone();

    // The tab is closed; a new one restores from what was persisted.
    let state = d.persisted.clone();
    assert_eq!(
        state.outbox.keys().copied().collect::<Vec<_>>(),
        vec![m1, m3]
    );
    let mut r = Driver::from_engine(Engine::restore(
        Config {
            flush_interval_ms: 0,
            ..Config::default()
        },
        state,
        8,
    ));
    let view = r.engine.subscribe(0, "tasks", None).unwrap();
    let out = r.drain();
    let sets = changes(&out);
    assert!(sets[0].replace);
    let ids: Vec<&str> = sets[0].upserts.iter().map(|u| u.id.as_str()).collect();
    // t1 patched, t2 deleted (pending), t3 acked but its event was not seen: not shown.
    assert_eq!(ids, vec!["t1"]);
    assert_eq!(r.engine.view(view).unwrap()[0].doc, json!({"n": 2}));
    assert_eq!(
        visible_before.get("t1"),
        r.engine.visible("tasks").unwrap().get("t1")
    );

    let sent = r.connect_ready();
    assert_eq!(
        sent[0],
        ClientMessage::Subscribe {
            channel: "tasks".into(),
            filter: None,
            ids: None,
            since: Some(Since {
                epoch: "e1".into(),
                offset: 4
            }),
        }
    );
    let resent: Vec<(u64, Option<u64>)> = sent[1..]
        .iter()
        .map(|m| match m {
            ClientMessage::Mutate {
                mutation_id,
                base_version,
                ..
            } => (*mutation_id, *base_version),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(resent, vec![(m1, Some(2)), (m3, Some(1))]);
    let next = r
        .engine
        .mutate(
            r.now,
            "tasks",
            Op::Put,
            "t4",
            Some(json!({})),
            Precondition::Auto,
        )
        .unwrap();
    assert_eq!(next, m3 + 1);
}

#[test]
fn ids_continue_after_an_emptied_outbox() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    let m = d
        .engine
        .mutate(
            d.now,
            "tasks",
            Op::Put,
            "a",
            Some(json!({})),
            Precondition::Unconditional,
        )
        .unwrap();
    d.drain();
    d.server(ServerMessage::Ack {
        mutation_id: m,
        version: 1,
        offset: 1,
    });
    d.drain();
    assert!(d.persisted.outbox.is_empty());
    let mut r = Driver::from_engine(Engine::restore(Config::default(), d.persisted.clone(), 1));
    assert_eq!(r.engine.client_id(), "me");
    let next = r
        .engine
        .mutate(
            0,
            "tasks",
            Op::Put,
            "b",
            Some(json!({})),
            Precondition::Unconditional,
        )
        .unwrap();
    assert_eq!(next, m + 1);
}

/// The engine, not the shell, says a view shows the local cache: every view of a restored
/// channel starts `from_cache` until the server answers, and a channel without a resume point
/// is not `cached`.
#[test]
fn views_of_a_restored_channel_are_from_the_cache_until_the_server_answers() {
    let mut d = Driver::new(Config {
        flush_interval_ms: 0,
        cache_interval_ms: 0,
        ..Config::default()
    });
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 3, vec![doc("t1", 2, json!({"n": 1}))]));
    d.drain();
    let state = d.persisted.clone();
    assert!(state.channels["tasks"].cursor.is_some());

    let mut r = Driver::from_engine(Engine::restore(Config::default(), state, 9));
    r.engine.subscribe(r.now, "tasks", None).unwrap();
    let f = tether_protocol::Filter::parse(&json!({"field": "n", "op": "eq", "value": 1})).unwrap();
    r.engine.subscribe(r.now, "tasks", Some(f)).unwrap();
    let mut out = r.drain();
    out.extend(r.advance(100));
    let sets = changes(&out);
    assert_eq!(sets.len(), 2, "{sets:?}");
    assert!(sets.iter().all(|s| s.from_cache && s.replace), "{sets:?}");
    r.connect_ready();
    r.server(reset("tasks", 4, vec![doc("t1", 3, json!({"n": 1}))]));
    let mut out = r.drain();
    out.extend(r.advance(r.now + 100));
    let after = changes(&out);
    assert!(!after.is_empty());
    assert!(after.iter().all(|s| !s.from_cache), "{after:?}");
}
