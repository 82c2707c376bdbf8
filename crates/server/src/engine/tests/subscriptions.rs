use std::sync::Arc;

use serde_json::{json, Value};
use tether_protocol::{Continuity, ErrorCode, EventOp, ServerMessage};

use super::{error_code, H};
use crate::engine::{ConnId, Output, ServerConfig};
use crate::store::MemoryStore;

fn todo() -> Value {
    json!({"field": "status", "op": "eq", "value": "todo"})
}

/// (offset, prev, op, id) of the events in a batch.
fn events(msgs: &[ServerMessage]) -> Vec<(u64, u64, EventOp, String)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMessage::Event {
                offset,
                prev,
                op,
                id,
                ..
            } => Some((*offset, *prev, *op, id.clone())),
            _ => None,
        })
        .collect()
}

fn subscribed(msg: &ServerMessage) -> (u64, Continuity, Option<Vec<String>>) {
    match msg {
        ServerMessage::Subscribed {
            offset,
            continuity,
            snapshot,
            ..
        } => (
            *offset,
            *continuity,
            snapshot
                .as_ref()
                .map(|s| s.iter().map(|d| d.id.clone()).collect()),
        ),
        other => panic!("expected subscribed, got {other:?}"),
    }
}

#[test]
fn subscribe_without_since_is_reset_with_snapshot_in_id_order_then_presence_sync() {
    let mut h = H::new();
    let w = h.conn("w");
    for (i, id) in ["t3", "t1", "t2"].iter().enumerate() {
        h.put(w, i as u64 + 1, id, json!({"n": i}));
    }
    let c = h.conn("c");
    let got = h.subscribe(c, "tasks");
    assert_eq!(
        subscribed(&got[0]),
        (
            3,
            Continuity::Reset,
            Some(vec!["t1".into(), "t2".into(), "t3".into()])
        )
    );
    assert!(matches!(&got[1], ServerMessage::PresenceSync { members, .. } if members.is_empty()));
    assert_eq!(got.len(), 2);
}

#[test]
fn every_subscriber_gets_the_same_shared_event_before_the_ack() {
    let mut h = H::new();
    let a = h.conn("a");
    let b = h.conn("b");
    let w = h.conn("w");
    for c in [a, b, w] {
        h.subscribe(c, "tasks");
    }
    h.send(
        w,
        json!({"type": "mutate", "mutation_id": 1, "channel": "tasks", "op": "put", "id": "t1", "doc": {"x": 1}}),
    );
    let mut frames: Vec<(ConnId, Arc<str>)> = Vec::new();
    while let Some(out) = h.e.poll_output() {
        if let Output::Send { conn, frame } = out {
            frames.push((conn, frame));
        }
    }
    assert_eq!(frames.len(), 4, "three events and one ack");
    let first = &frames[0].1;
    for (_, f) in &frames[..3] {
        assert!(Arc::ptr_eq(first, f), "event encoded once and shared");
    }
    assert!(first.contains("\"type\":\"event\""));
    assert_eq!(frames[3].0, w);
    assert!(frames[3].1.contains("\"type\":\"ack\""));
    // Unfiltered view: prev = offset - 1.
    let got = h.put(w, 2, "t2", json!({}));
    assert_eq!(
        events(&H::to(&got, a)),
        vec![(2, 1, EventOp::Upsert, "t2".into())]
    );
}

#[test]
fn filtered_view_sees_enter_change_and_leave_with_prev_skipping_other_offsets() {
    let mut h = H::new();
    let c = h.conn("c");
    let w = h.conn("w");
    let got = h.call(
        c,
        json!({"type": "subscribe", "channel": "tasks", "filter": todo()}),
    );
    assert_eq!(subscribed(&got[0]), (0, Continuity::Reset, Some(vec![])));
    let ev = |h: &mut H, mid: u64, id: &str, status: &str| {
        let got = h.put(w, mid, id, json!({"status": status}));
        events(&H::to(&got, c))
    };
    assert_eq!(
        ev(&mut h, 1, "t1", "todo"),
        vec![(1, 0, EventOp::Upsert, "t1".into())]
    );
    assert_eq!(ev(&mut h, 2, "t2", "done"), vec![]);
    assert_eq!(
        ev(&mut h, 3, "t1", "todo"),
        vec![(3, 1, EventOp::Upsert, "t1".into())]
    );
    assert_eq!(
        ev(&mut h, 4, "t1", "doing"),
        vec![(4, 3, EventOp::Remove, "t1".into())]
    );
    assert_eq!(ev(&mut h, 5, "t1", "doing"), vec![]);
    assert_eq!(
        ev(&mut h, 6, "t2", "todo"),
        vec![(6, 4, EventOp::Upsert, "t2".into())]
    );
    // Delete of a doc in the view is a remove; of a doc outside it, nothing.
    h.send(
        w,
        json!({"type": "mutate", "mutation_id": 7, "channel": "tasks", "op": "delete", "id": "t2"}),
    );
    let got = h.drain();
    assert_eq!(
        events(&H::to(&got, c)),
        vec![(7, 6, EventOp::Remove, "t2".into())]
    );
    match &H::to(&got, c)[0] {
        ServerMessage::Event { doc, version, .. } => {
            assert_eq!(*doc, None);
            assert_eq!(*version, 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn since_within_the_log_recovers_exactly_the_missed_events_in_order() {
    let mut h = H::new();
    let w = h.conn("w");
    for i in 1..=5 {
        h.put(w, i, &format!("t{i}"), json!({"i": i}));
    }
    let c = h.conn("c");
    let got = h.call(
        c,
        json!({"type": "subscribe", "channel": "tasks", "since": {"epoch": "ep1", "offset": 2}}),
    );
    assert_eq!(subscribed(&got[0]), (2, Continuity::Recovered, None));
    assert_eq!(
        events(&got),
        vec![
            (3, 2, EventOp::Upsert, "t3".into()),
            (4, 3, EventOp::Upsert, "t4".into()),
            (5, 4, EventOp::Upsert, "t5".into()),
        ]
    );
    assert!(matches!(
        got.last(),
        Some(ServerMessage::PresenceSync { .. })
    ));
    // Caught up: since = head replays nothing.
    let got = h.call(
        c,
        json!({"type": "subscribe", "channel": "tasks", "since": {"epoch": "ep1", "offset": 5}}),
    );
    assert_eq!(subscribed(&got[0]), (5, Continuity::Recovered, None));
    assert!(events(&got).is_empty());
}

#[test]
fn filtered_replay_emits_removes_for_documents_that_left_the_view() {
    let mut h = H::new();
    let w = h.conn("w");
    h.put(w, 1, "t1", json!({"status": "todo"}));
    h.put(w, 2, "t2", json!({"status": "todo"}));
    h.put(w, 3, "t1", json!({"status": "done"}));
    h.put(w, 4, "t3", json!({"status": "done"}));
    let c = h.conn("c");
    let got = h.call(
        c,
        json!({"type": "subscribe", "channel": "tasks", "filter": todo(),
               "since": {"epoch": "ep1", "offset": 1}}),
    );
    assert_eq!(subscribed(&got[0]), (1, Continuity::Recovered, None));
    assert_eq!(
        events(&got),
        vec![
            (2, 1, EventOp::Upsert, "t2".into()),
            (3, 2, EventOp::Remove, "t1".into())
        ]
    );
}

#[test]
fn recovered_subscriber_joining_a_shared_view_sees_no_false_gap() {
    // A view created at head 4 whose last event was at offset 2: a subscriber that recovers
    // from offset 3 (nothing of the view missed) must accept the next live event.
    let mut h = H::new();
    let w = h.conn("w");
    h.put(w, 1, "t1", json!({"status": "done"}));
    h.put(w, 2, "t2", json!({"status": "todo"}));
    h.put(w, 3, "t3", json!({"status": "done"}));
    h.put(w, 4, "t4", json!({"status": "done"}));
    let a = h.conn("a");
    h.call(
        a,
        json!({"type": "subscribe", "channel": "tasks", "filter": todo()}),
    );
    let b = h.conn("b");
    let got = h.call(
        b,
        json!({"type": "subscribe", "channel": "tasks", "filter": todo(),
               "since": {"epoch": "ep1", "offset": 3}}),
    );
    assert_eq!(subscribed(&got[0]), (3, Continuity::Recovered, None));
    assert!(events(&got).is_empty());
    let got = h.put(w, 5, "t5", json!({"status": "todo"}));
    let ev = events(&H::to(&got, b));
    assert_eq!(ev, vec![(5, 2, EventOp::Upsert, "t5".into())]);
    // Client rule: prev (2) <= cursor (3) -> apply, no gap.
    assert!(ev[0].1 <= 3);
    assert_eq!(events(&H::to(&got, a)), ev);
}

#[test]
fn since_from_another_epoch_or_beyond_head_or_pruned_is_a_reset() {
    let mut h = H::with(ServerConfig {
        retain_events: 3,
        ..ServerConfig::default()
    });
    let w = h.conn("w");
    for i in 1..=6 {
        h.put(w, i, &format!("t{i}"), json!({}));
    }
    assert_eq!(h.e.store().log_len("tasks"), 3);
    let c = h.conn("c");
    for since in [
        json!({"epoch": "other", "offset": 5}),
        json!({"epoch": "ep1", "offset": 7}),
        json!({"epoch": "ep1", "offset": 2}),
    ] {
        let got = h.call(
            c,
            json!({"type": "subscribe", "channel": "tasks", "since": since}),
        );
        let (offset, continuity, snap) = subscribed(&got[0]);
        assert_eq!(
            (offset, continuity),
            (6, Continuity::Reset),
            "since {since}"
        );
        assert_eq!(snap.map(|s| s.len()), Some(6));
    }
    // Offset 3 is exactly the pruning point: 4, 5, 6 are retained.
    let got = h.call(
        c,
        json!({"type": "subscribe", "channel": "tasks", "since": {"epoch": "ep1", "offset": 3}}),
    );
    assert_eq!(subscribed(&got[0]).1, Continuity::Recovered);
    assert_eq!(events(&got).len(), 3);
}

#[test]
fn since_older_than_the_retention_age_is_a_reset() {
    let mut h = H::with(ServerConfig {
        retain_ms: 60_000,
        ..ServerConfig::default()
    });
    let w = h.conn("w");
    h.put(w, 1, "t1", json!({}));
    h.put(w, 2, "t2", json!({}));
    h.e.set_unix_time_ms(1_700_000_000_000 + 60_001);
    let c = h.conn("c");
    let got = h.call(
        c,
        json!({"type": "subscribe", "channel": "tasks", "since": {"epoch": "ep1", "offset": 1}}),
    );
    assert_eq!(subscribed(&got[0]).1, Continuity::Reset);
}

#[test]
fn a_new_epoch_store_resets_every_resume() {
    let mut h = H::new();
    let w = h.conn("w");
    h.put(w, 1, "t1", json!({}));
    let mut h = H::on(ServerConfig::default(), MemoryStore::new("ep2".into()));
    let c = h.conn("c");
    let got = h.call(
        c,
        json!({"type": "subscribe", "channel": "tasks", "since": {"epoch": "ep1", "offset": 1}}),
    );
    assert_eq!(subscribed(&got[0]), (0, Continuity::Reset, Some(vec![])));
    match &got[0] {
        ServerMessage::Subscribed { epoch, .. } => assert_eq!(epoch, "ep2"),
        _ => unreachable!(),
    }
}

#[test]
fn resubscribe_replaces_the_filter() {
    let mut h = H::new();
    let c = h.conn("c");
    let w = h.conn("w");
    h.call(
        c,
        json!({"type": "subscribe", "channel": "tasks", "filter": todo()}),
    );
    h.subscribe(c, "tasks");
    assert_eq!(h.e.stats().subscriptions, 1);
    let got = h.put(w, 1, "t1", json!({"status": "done"}));
    assert_eq!(
        events(&H::to(&got, c)).len(),
        1,
        "exactly one event, from the new view"
    );
}

#[test]
fn unsubscribe_stops_events() {
    let mut h = H::new();
    let c = h.conn("c");
    let w = h.conn("w");
    h.subscribe(c, "tasks");
    let got = h.call(c, json!({"type": "unsubscribe", "channel": "tasks"}));
    assert_eq!(
        got,
        vec![ServerMessage::Unsubscribed {
            channel: "tasks".into()
        }]
    );
    let got = h.put(w, 1, "t1", json!({}));
    assert!(H::to(&got, c).is_empty());
    assert_eq!(h.e.stats().subscriptions, 0);
}

#[test]
fn invalid_filter_bad_channel_and_subscription_limit() {
    let mut h = H::with(ServerConfig {
        max_subscriptions: 2,
        ..ServerConfig::default()
    });
    let c = h.conn("c");
    let got = h.call(
        c,
        json!({"type": "subscribe", "channel": "tasks", "filter": {"field": "a", "op": "like", "value": 1}}),
    );
    assert_eq!(error_code(&got[0]), Some(ErrorCode::InvalidFilter));
    let got = h.call(c, json!({"type": "subscribe", "channel": "bad channel"}));
    assert_eq!(error_code(&got[0]), Some(ErrorCode::BadMessage));
    h.subscribe(c, "a");
    h.subscribe(c, "b");
    let got = h.subscribe(c, "c");
    assert_eq!(error_code(&got[0]), Some(ErrorCode::TooManySubscriptions));
    // Re-subscribing to a channel already held is not a new subscription.
    let got = h.subscribe(c, "b");
    assert!(matches!(got[0], ServerMessage::Subscribed { .. }));
    assert_eq!(h.e.stats().subscriptions, 2);
}
