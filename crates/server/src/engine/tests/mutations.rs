use serde_json::{json, Value};
use tether_protocol::{Document, RejectReason, ServerMessage};

use super::H;
use crate::engine::{ServerConfig, ServerEngine};
use crate::store::{MemoryStore, Store};

fn mutate(mid: u64, op: &str, id: &str, base: Option<u64>, doc: Option<Value>) -> Value {
    let mut v =
        json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": op, "id": id});
    if let Some(b) = base {
        v["base_version"] = json!(b);
    }
    if let Some(d) = doc {
        v["doc"] = d;
    }
    v
}

fn ack(msg: &ServerMessage) -> (u64, u64, u64) {
    match msg {
        ServerMessage::Ack {
            mutation_id,
            version,
            offset,
        } => (*mutation_id, *version, *offset),
        other => panic!("expected ack, got {other:?}"),
    }
}

fn rejected(msg: &ServerMessage) -> (RejectReason, Option<Document>) {
    match msg {
        ServerMessage::Reject {
            reason, current, ..
        } => (*reason, current.clone()),
        other => panic!("expected reject, got {other:?}"),
    }
}

#[test]
fn versions_start_at_one_and_grow_by_one_through_delete_and_recreate() {
    let mut h = H::new();
    let c = h.conn("c");
    let r = h.call(c, mutate(1, "put", "t1", Some(0), Some(json!({"a": 1}))));
    assert_eq!(ack(&r[0]), (1, 1, 1));
    let r = h.call(c, mutate(2, "patch", "t1", Some(1), Some(json!({"b": 2}))));
    assert_eq!(ack(&r[0]), (2, 2, 2));
    let r = h.call(c, mutate(3, "delete", "t1", Some(2), None));
    assert_eq!(ack(&r[0]), (3, 3, 3));
    // Re-created: must-not-exist holds for a tombstone, version continues.
    let r = h.call(c, mutate(4, "put", "t1", Some(0), Some(json!({"c": 3}))));
    assert_eq!(ack(&r[0]), (4, 4, 4));
    let doc = h.e.store_mut().document("tasks", "t1").unwrap().unwrap();
    assert_eq!(doc.body, Some(tether_protocol::Json::from(json!({"c": 3}))));
}

#[test]
fn patch_merges_and_null_removes_fields() {
    let mut h = H::new();
    let c = h.conn("c");
    h.call(
        c,
        mutate(1, "put", "t1", None, Some(json!({"a": 1, "b": 2}))),
    );
    h.call(
        c,
        mutate(2, "patch", "t1", None, Some(json!({"b": null, "c": 3}))),
    );
    let doc = h.e.store_mut().document("tasks", "t1").unwrap().unwrap();
    assert_eq!(
        doc.body,
        Some(tether_protocol::Json::from(json!({"a": 1, "c": 3})))
    );
}

#[test]
fn stale_base_version_is_a_conflict_carrying_the_current_document() {
    let mut h = H::new();
    let c = h.conn("c");
    h.call(c, mutate(1, "put", "t1", None, Some(json!({"a": 1}))));
    h.call(c, mutate(2, "patch", "t1", None, Some(json!({"a": 2}))));
    let r = h.call(c, mutate(3, "patch", "t1", Some(1), Some(json!({"a": 9}))));
    let (reason, current) = rejected(&r[0]);
    assert_eq!(reason, RejectReason::Conflict);
    assert_eq!(
        current,
        Some(Document {
            id: "t1".into(),
            version: 2,
            doc: tether_protocol::Json::from(json!({"a": 2}))
        })
    );
    // Must-not-exist on an existing doc; version on a missing doc (current absent).
    let r = h.call(c, mutate(4, "put", "t1", Some(0), Some(json!({}))));
    assert_eq!(rejected(&r[0]).0, RejectReason::Conflict);
    let r = h.call(c, mutate(5, "put", "nope", Some(3), Some(json!({}))));
    assert_eq!(rejected(&r[0]), (RejectReason::Conflict, None));
    assert_eq!(h.e.stats().mutations_conflicted, 3);
    // Nothing changed.
    let doc = h.e.store_mut().document("tasks", "t1").unwrap().unwrap();
    assert_eq!(doc.version, 2);
}

#[test]
fn not_found_and_invalid_bodies_are_rejected() {
    let mut h = H::new();
    let c = h.conn("c");
    let r = h.call(c, mutate(1, "patch", "t1", None, Some(json!({}))));
    assert_eq!(rejected(&r[0]).0, RejectReason::NotFound);
    let r = h.call(c, mutate(2, "delete", "t1", None, None));
    assert_eq!(rejected(&r[0]).0, RejectReason::NotFound);
    let r = h.call(c, mutate(3, "put", "t1", None, Some(json!([1]))));
    assert_eq!(rejected(&r[0]).0, RejectReason::Invalid);
    let r = h.call(c, mutate(4, "put", "t1", None, None));
    assert_eq!(rejected(&r[0]).0, RejectReason::Invalid);
    let r = h.call(c, mutate(5, "put", "", None, Some(json!({}))));
    assert_eq!(rejected(&r[0]).0, RejectReason::Invalid);
    let mut bad_channel = mutate(6, "put", "t1", None, Some(json!({})));
    bad_channel["channel"] = json!("no spaces");
    let r = h.call(c, bad_channel);
    assert_eq!(rejected(&r[0]).0, RejectReason::Invalid);
}

#[test]
fn same_mutation_twice_is_applied_once_and_answered_identically() {
    let mut h = H::new();
    let c = h.conn("c");
    let s = h.conn("s");
    h.subscribe(s, "tasks");
    let m = mutate(7, "put", "t1", Some(0), Some(json!({"a": 1})));
    h.send(c, m.clone());
    let first = h.drain();
    assert_eq!(H::to(&first, s).len(), 1, "one event");
    h.send(c, m);
    let second = h.drain();
    assert!(H::to(&second, s).is_empty(), "no new event");
    assert_eq!(H::to(&first, c), H::to(&second, c));
    assert_eq!(h.e.stats().mutations_applied, 1);
    assert_eq!(h.e.stats().mutations_deduped, 1);
    // A rejection is answered identically too.
    let conflict = mutate(8, "put", "t1", Some(0), Some(json!({})));
    let a = h.call(c, conflict.clone());
    h.call(c, mutate(9, "patch", "t1", None, Some(json!({"b": 1}))));
    let b = h.call(c, conflict);
    assert_eq!(a, b);
}

#[test]
fn an_old_id_without_a_record_is_invalid_not_applied() {
    let mut h = H::with(ServerConfig {
        dedupe_per_client: 2,
        ..ServerConfig::default()
    });
    let c = h.conn("c");
    for mid in [1, 2, 3] {
        h.call(
            c,
            mutate(mid, "put", &format!("t{mid}"), None, Some(json!({}))),
        );
    }
    // Record of 1 was dropped (only 2 kept); 2 gaps in ids are fine.
    let r = h.call(c, mutate(1, "put", "x", None, Some(json!({}))));
    let (reason, _) = rejected(&r[0]);
    assert_eq!(reason, RejectReason::Invalid);
    assert!(matches!(&r[0], ServerMessage::Reject { message, .. } if message.contains("highest")));
    let r = h.call(c, mutate(3, "put", "x", None, Some(json!({}))));
    assert_eq!(ack(&r[0]), (3, 1, 3));
    let r = h.call(c, mutate(10, "put", "x", None, Some(json!({}))));
    assert_eq!(ack(&r[0]).0, 10);
    assert!(h.e.store_mut().document("tasks", "x").unwrap().is_some());
}

#[test]
fn per_client_order_is_kept_and_events_precede_the_ack() {
    let mut h = H::new();
    let c = h.conn("c");
    h.subscribe(c, "tasks");
    for mid in 1..=20 {
        h.send(c, mutate(mid, "put", "t1", None, Some(json!({"n": mid}))));
    }
    let got = H::to(&h.drain(), c);
    assert_eq!(got.len(), 40);
    for (i, pair) in got.chunks(2).enumerate() {
        let mid = i as u64 + 1;
        match &pair[0] {
            ServerMessage::Event {
                offset,
                version,
                origin,
                doc,
                ..
            } => {
                assert_eq!((*offset, *version), (mid, mid));
                assert_eq!(origin.as_ref().map(|o| o.mutation_id), Some(mid));
                assert_eq!(doc, &Some(tether_protocol::Json::from(json!({"n": mid}))));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ack(&pair[1]), (mid, mid, mid));
    }
}

#[test]
fn client_id_override_adopts_another_outbox() {
    let mut h = H::new();
    let a = h.conn("tab-a");
    let mut m = mutate(1, "put", "t1", None, Some(json!({})));
    m["client_id"] = json!("tab-b");
    let first = h.call(a, m.clone());
    let b = h.conn("tab-b");
    m.as_object_mut().map(|o| o.remove("client_id"));
    let again = h.call(b, m);
    assert_eq!(
        first, again,
        "tab-b's own resend is answered from the record"
    );
}

#[test]
fn a_restarted_engine_on_the_same_store_keeps_documents_and_dedupe_records() {
    let mut h = H::new();
    let c = h.conn("c");
    let m = mutate(1, "put", "t1", None, Some(json!({"a": 1})));
    let before = h.call(c, m.clone());
    let store: MemoryStore = h.e.into_store();
    let mut e = ServerEngine::new(ServerConfig::default(), store);
    e.set_unix_time_ms(1_700_000_000_000);
    let mut h = H { e, now: 0 };
    let c = h.conn("c");
    assert_eq!(h.call(c, m), before);
    let r = h.call(c, mutate(2, "put", "t2", None, Some(json!({}))));
    assert_eq!(ack(&r[0]), (2, 1, 2), "offsets continue after the restart");
}
