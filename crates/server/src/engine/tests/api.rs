//! The HTTP API's engine inputs: writes through the mutation path (fan-out, conflicts,
//! idempotency), reads, and the change feed with waiting.

use tether_protocol::{json, EventOp, Json, Op, RejectReason, ServerMessage};

use super::{Got, H};
use crate::engine::{ApiAnswer, ApiMutation, ApiRead, ApiReply, ApiRequestId};

fn put(id: &str, doc: Json, key: Option<&str>, base: Option<u64>) -> ApiMutation {
    ApiMutation {
        key_name: "backend".into(),
        idempotency_key: key.map(str::to_owned),
        channel: "tasks".into(),
        id: id.into(),
        op: Op::Put,
        doc: Some(doc),
        base_version: base,
    }
}

fn replies(h: &mut H) -> Vec<ApiReply> {
    let mut got = Vec::new();
    while let Some(r) = h.e.poll_api_reply() {
        got.push(r);
    }
    got
}

fn one(h: &mut H, request: u64) -> ApiAnswer {
    let got = replies(h);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].request, ApiRequestId(request));
    got[0].answer.clone()
}

#[test]
fn api_write_is_fanned_out_with_an_api_origin_and_acknowledged() {
    let mut h = H::new();
    let c = h.conn("c1");
    h.subscribe(c, "tasks");
    h.e.api_mutate(
        ApiRequestId(1),
        put("t1", json!({"a": 1}), Some("k-1"), None),
    );
    let got = h.drain();
    let [Got::Msg(to, ServerMessage::Event { op, origin, .. })] = got.as_slice() else {
        panic!("{got:?}");
    };
    assert_eq!(*to, c);
    assert_eq!(*op, EventOp::Upsert);
    let origin = origin.clone().expect("origin");
    assert_eq!(origin.client_id, "api:backend:k-1");
    assert_eq!(origin.mutation_id, 1);
    assert!(matches!(
        one(&mut h, 1),
        ApiAnswer::Mutation(ServerMessage::Ack {
            version: 1,
            offset: 1,
            ..
        })
    ));
}

#[test]
fn a_retry_with_the_same_idempotency_key_gets_the_same_answer_and_applies_nothing() {
    let mut h = H::new();
    h.e.api_mutate(ApiRequestId(1), put("t1", json!({"a": 1}), Some("k"), None));
    let first = one(&mut h, 1);
    h.e.api_mutate(ApiRequestId(2), put("t1", json!({"a": 2}), Some("k"), None));
    assert_eq!(one(&mut h, 2), first);
    h.e.api_read(
        ApiRequestId(3),
        ApiRead::Head {
            channel: "tasks".into(),
        },
    );
    assert!(matches!(one(&mut h, 3), ApiAnswer::Head { offset: 1, .. }));
}

#[test]
fn writes_without_a_key_are_each_applied() {
    let mut h = H::new();
    h.e.api_mutate(ApiRequestId(1), put("t1", json!({"a": 1}), None, None));
    h.e.api_mutate(ApiRequestId(2), put("t1", json!({"a": 2}), None, None));
    let got = replies(&mut h);
    assert!(matches!(
        got[1].answer,
        ApiAnswer::Mutation(ServerMessage::Ack { version: 2, .. })
    ));
}

#[test]
fn a_stale_base_version_is_a_conflict_carrying_the_current_document() {
    let mut h = H::new();
    h.e.api_mutate(ApiRequestId(1), put("t1", json!({"a": 1}), None, Some(0)));
    h.e.api_mutate(ApiRequestId(2), put("t1", json!({"a": 2}), None, Some(0)));
    let got = replies(&mut h);
    let ApiAnswer::Mutation(ServerMessage::Reject {
        reason, current, ..
    }) = &got[1].answer
    else {
        panic!("{got:?}");
    };
    assert_eq!(*reason, RejectReason::Conflict);
    let current = current.clone().expect("current");
    assert_eq!((current.version, current.doc), (1, json!({"a": 1})));
}

#[test]
fn bad_input_is_answered_invalid() {
    let mut h = H::new();
    let mut m = put("t1", json!({"a": 1}), Some("bad key"), None);
    h.e.api_mutate(ApiRequestId(1), m.clone());
    assert!(matches!(one(&mut h, 1), ApiAnswer::Invalid(_)));
    m.idempotency_key = None;
    m.channel = "bad channel!".into();
    h.e.api_mutate(ApiRequestId(2), m);
    assert!(matches!(
        one(&mut h, 2),
        ApiAnswer::Mutation(ServerMessage::Reject {
            reason: RejectReason::Invalid,
            ..
        })
    ));
}

#[test]
fn replies_wait_for_the_batch_to_be_durable() {
    let mut h = H::new();
    h.e.begin_batch().expect("batch");
    h.e.api_mutate(ApiRequestId(1), put("t1", json!({"a": 1}), None, None));
    assert!(h.e.poll_api_reply().is_none());
    h.e.end_batch().expect("durable");
    assert!(matches!(one(&mut h, 1), ApiAnswer::Mutation(_)));
}

#[test]
fn query_pages_by_id_with_a_filter() {
    let mut h = H::new();
    for (i, status) in ["a", "b", "a", "a"].iter().enumerate() {
        let id = format!("t{i}");
        h.e.api_mutate(ApiRequestId(0), put(&id, json!({"s": status}), None, None));
    }
    replies(&mut h);
    let filter = tether_protocol::Filter::parse(&json!({"field": "s", "op": "eq", "value": "a"}))
        .expect("filter");
    let read = |after: Option<&str>| ApiRead::Query {
        channel: "tasks".into(),
        filter: Some(filter.clone()),
        after: after.map(str::to_owned),
        limit: 2,
    };
    h.e.api_read(ApiRequestId(1), read(None));
    let ApiAnswer::Page { docs, next } = one(&mut h, 1) else {
        panic!()
    };
    let ids: Vec<_> = docs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!((ids, next.as_deref()), (vec!["t0", "t2"], Some("t2")));
    h.e.api_read(ApiRequestId(2), read(Some("t2")));
    let ApiAnswer::Page { docs, next } = one(&mut h, 2) else {
        panic!()
    };
    assert_eq!(docs.len(), 1);
    assert_eq!((docs[0].id.as_str(), next), ("t3", None));
}

fn events(since: u64, epoch: Option<&str>, wait: bool) -> ApiRead {
    ApiRead::Events {
        channel: "tasks".into(),
        epoch: epoch.map(str::to_owned),
        since,
        limit: 10,
        wait,
    }
}

#[test]
fn the_feed_resumes_from_an_offset_and_resets_on_another_epoch() {
    let mut h = H::new();
    for i in 0..3 {
        h.e.api_mutate(
            ApiRequestId(0),
            put(&format!("t{i}"), json!({}), None, None),
        );
    }
    replies(&mut h);
    h.e.api_read(ApiRequestId(1), events(1, Some("ep1"), false));
    let ApiAnswer::Events {
        events: got, head, ..
    } = one(&mut h, 1)
    else {
        panic!()
    };
    let offsets: Vec<u64> = got.iter().map(|e| e.offset).collect();
    assert_eq!((offsets, head), (vec![2, 3], 3));
    h.e.api_read(ApiRequestId(2), events(1, Some("other"), false));
    assert_eq!(
        one(&mut h, 2),
        ApiAnswer::Reset {
            epoch: "ep1".into(),
            offset: 3
        }
    );
    h.e.api_read(ApiRequestId(3), events(9, Some("ep1"), false));
    assert!(matches!(one(&mut h, 3), ApiAnswer::Reset { offset: 3, .. }));
}

#[test]
fn a_waiting_feed_is_answered_by_the_next_commit_or_on_expiry() {
    let mut h = H::new();
    h.e.api_read(ApiRequestId(1), events(0, None, true));
    assert!(replies(&mut h).is_empty());
    assert_eq!(h.e.api_waiting(), 1);
    h.e.api_mutate(ApiRequestId(2), put("t1", json!({}), None, None));
    let got = replies(&mut h);
    assert_eq!(got.len(), 2, "{got:?}");
    let feed = got
        .iter()
        .find(|r| r.request == ApiRequestId(1))
        .expect("feed");
    assert!(matches!(&feed.answer, ApiAnswer::Events { events, .. } if events.len() == 1));
    assert_eq!(h.e.api_waiting(), 0);

    h.e.api_read(ApiRequestId(3), events(1, Some("ep1"), true));
    assert!(replies(&mut h).is_empty());
    h.e.api_expire(ApiRequestId(3));
    assert!(
        matches!(one(&mut h, 3), ApiAnswer::Events { events, head: 1, .. } if events.is_empty())
    );
    h.e.api_expire(ApiRequestId(3));
    assert!(replies(&mut h).is_empty());
}

#[test]
fn websocket_clients_cannot_use_api_client_ids() {
    let mut h = H::new();
    let c = h.raw();
    h.send(
        c,
        serde_json::json!({"type": "hello", "protocol": 1, "client_id": "api:backend"}),
    );
    let got = h.drain();
    assert!(
        matches!(
            got.as_slice(),
            [Got::Msg(
                _,
                ServerMessage::Error {
                    code: tether_protocol::ErrorCode::BadMessage,
                    ..
                }
            )]
        ),
        "{got:?}"
    );
}

#[test]
fn an_api_broadcast_reaches_every_subscriber_and_is_not_stored() {
    let mut h = H::new();
    let a = h.conn("a");
    let b = h.conn("b");
    h.subscribe(a, "tasks");
    h.subscribe(b, "tasks");
    h.e.api_broadcast(
        ApiRequestId(1),
        "backend",
        "tasks".into(),
        json!({"ping": 1}),
    );
    let got = h.drain();
    assert_eq!(got.len(), 2, "{got:?}");
    for g in &got {
        let Got::Msg(_, ServerMessage::Broadcast { from, payload, .. }) = g else {
            panic!("{got:?}");
        };
        assert_eq!(
            (from.as_str(), payload),
            ("api:backend", &json!({"ping": 1}))
        );
    }
    assert_eq!(one(&mut h, 1), ApiAnswer::Broadcast { delivered: 2 });
    h.e.api_read(
        ApiRequestId(2),
        ApiRead::Head {
            channel: "tasks".into(),
        },
    );
    assert!(matches!(one(&mut h, 2), ApiAnswer::Head { offset: 0, .. }));
    h.e.api_broadcast(ApiRequestId(3), "backend", "bad channel!".into(), json!(1));
    assert!(matches!(one(&mut h, 3), ApiAnswer::Invalid(_)));
}
