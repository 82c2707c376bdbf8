//! A malformed `mutate` with a readable `mutation_id` is answered `reject invalid` naming it,
//! recorded as its dedupe record (a resend gets the same answer), in its turn among the client's
//! mutations; without a readable `mutation_id` it stays `BAD_MESSAGE`.

use serde_json::{json, Value};
use tether_protocol::{ErrorCode, RejectReason, ServerMessage};

use super::{error_code, H};
use crate::engine::ServerConfig;
use crate::store::Store;

fn put(mid: u64, id: &str) -> Value {
    json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put", "id": id,
           "doc": {"n": mid}})
}

/// The mutation id and reason of a reject.
fn rejected(msg: &ServerMessage) -> (u64, RejectReason) {
    match msg {
        ServerMessage::Reject {
            mutation_id,
            reason,
            current: None,
            message,
        } => {
            assert!(!message.is_empty());
            (*mutation_id, *reason)
        }
        other => panic!("expected reject, got {other:?}"),
    }
}

#[test]
fn every_malformed_mutate_is_rejected_invalid_with_its_id_and_recorded() {
    let mut h = H::new();
    let c = h.conn("c");
    let mut frames = Vec::new();
    let edits: Vec<(&str, Option<Value>)> = vec![
        ("op", Some(json!("upsert_v2"))),
        ("op", None),
        ("id", Some(json!(42))),
        ("id", None),
        ("base_version", Some(json!("3"))),
        ("doc", Some(json!([1, 2]))),
        ("doc", Some(json!("text"))),
        ("channel", Some(json!("bad channel!"))),
        ("channel", Some(json!(7))),
        ("channel", None),
    ];
    for (i, (field, value)) in edits.into_iter().enumerate() {
        let mid = i as u64 + 1;
        let mut frame = put(mid, "t1");
        match value {
            Some(v) => frame[field] = v,
            None => {
                frame.as_object_mut().unwrap().remove(field);
            }
        }
        frames.push(frame.clone());
        let got = h.call(c, frame);
        assert_eq!(got.len(), 1, "{field}: {got:?}");
        assert_eq!(
            rejected(&got[0]),
            (mid, RejectReason::Invalid),
            "{field}: {got:?}"
        );
    }
    assert!(h.e.store_mut().document("tasks", "t1").unwrap().is_none());
    assert_eq!(h.e.stats().bad_messages, 0);
    // Each was recorded: a resend is answered identically.
    for (i, frame) in frames.iter().enumerate() {
        let first = h.call(c, frame.clone());
        let again = h.call(c, frame.clone());
        assert_eq!(first, again);
        assert_eq!(rejected(&again[0]).0, i as u64 + 1);
    }
    assert!(h.e.stats().mutations_deduped >= frames.len() as u64);
    // They count in the client's order: the next id applies, an older unused one does not.
    let got = h.call(c, put(20, "t1"));
    assert!(
        matches!(
            got[0],
            ServerMessage::Ack {
                mutation_id: 20,
                ..
            }
        ),
        "{got:?}"
    );
    let got = h.call(c, put(15, "t2"));
    assert_eq!(rejected(&got[0]), (15, RejectReason::Invalid));
}

#[test]
fn an_unreadable_client_id_is_rejected_but_not_recorded() {
    let mut h = H::new();
    let c = h.conn("c");
    let mut frame = put(1, "t1");
    frame["client_id"] = json!(5);
    let got = h.call(c, frame);
    assert_eq!(rejected(&got[0]), (1, RejectReason::Invalid));
    // Nothing was recorded under the session's id: its mutation 1 still applies.
    let got = h.call(c, put(1, "t1"));
    assert!(
        matches!(got[0], ServerMessage::Ack { mutation_id: 1, .. }),
        "{got:?}"
    );
}

#[test]
fn a_malformed_mutate_for_an_adopted_id_is_recorded_under_that_id() {
    let mut h = H::new();
    let a = h.conn("tab-a");
    let mut frame = put(3, "t1");
    frame["client_id"] = json!("tab-b");
    frame["op"] = json!("nope");
    let first = h.call(a, frame.clone());
    assert_eq!(rejected(&first[0]), (3, RejectReason::Invalid));
    let b = h.conn("tab-b");
    frame.as_object_mut().unwrap().remove("client_id");
    assert_eq!(h.call(b, frame), first);
}

#[test]
fn without_a_readable_mutation_id_it_stays_bad_message() {
    let mut h = H::new();
    let c = h.conn("c");
    for mid in [json!(null), json!("1"), json!(-1), json!(1.5)] {
        let mut frame = put(1, "t1");
        frame["op"] = json!("nope");
        frame["mutation_id"] = mid.clone();
        let got = h.call(c, frame);
        assert_eq!(got.len(), 1);
        assert_eq!(error_code(&got[0]), Some(ErrorCode::BadMessage), "{mid}");
        assert!(
            matches!(
                &got[0],
                ServerMessage::Error {
                    mutation_id: None,
                    ..
                }
            ),
            "{got:?}"
        );
    }
    let mut frame = put(1, "t1");
    frame.as_object_mut().unwrap().remove("mutation_id");
    let got = h.call(c, frame);
    assert_eq!(error_code(&got[0]), Some(ErrorCode::BadMessage));
}

#[test]
fn before_hello_it_needs_the_handshake_like_any_mutate() {
    let mut h = H::new();
    let c = h.raw();
    let mut frame = put(1, "t1");
    frame["op"] = json!("nope");
    let got = h.call(c, frame);
    assert_eq!(error_code(&got[0]), Some(ErrorCode::HandshakeRequired));
}

#[test]
fn a_malformed_mutate_waits_its_turn_behind_rate_delayed_mutations() {
    let mut h = H::with(ServerConfig {
        rate_per_sec: 10,
        rate_burst: 1,
        ..ServerConfig::default()
    });
    let c = h.conn("c");
    h.send(c, put(1, "t1"));
    h.send(c, put(2, "t2"));
    let mut bad = put(3, "t3");
    bad["op"] = json!("nope");
    h.send(c, bad);
    h.send(c, put(4, "t4"));
    let mut got = H::to(&h.drain(), c);
    got.extend(H::to(&h.advance(1_000), c));
    let answers: Vec<(u64, &str)> = got
        .iter()
        .map(|m| match m {
            ServerMessage::Ack { mutation_id, .. } => (*mutation_id, "ack"),
            ServerMessage::Reject { mutation_id, .. } => (*mutation_id, "reject"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(answers, [(1, "ack"), (2, "ack"), (3, "reject"), (4, "ack")]);
}
