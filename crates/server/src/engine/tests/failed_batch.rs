//! A batch that cannot be made durable (`end_batch` fails, its commits durable or lost): the
//! engine recovers without a restart. It sends nothing of the batch, closes with 1011 only the
//! connections the batch affected (an output of theirs was dropped, or they subscribe to a
//! channel it committed to), re-reads those channels' heads, holds back later mutations of the
//! batch's clients until the lost one is resent, answers the batch's API requests
//! `Unavailable`, and every resend applies exactly once.

use serde_json::json;
use tether_protocol::{Continuity, Op, ServerMessage};

use super::batch::{drain, engine, injected, kinds, put, send, subscribed, EndBatch, Faulty};
use super::Got;
use crate::engine::{ApiAnswer, ApiMutation, ApiRead, ApiRequestId, ConnId, ConnectInfo};
use crate::engine::{ServerEngine, Stats};
use crate::store::Store;

/// A connection that said hello as `client` and, with `Some`, subscribed to that channel.
fn conn_on(e: &mut ServerEngine<Faulty>, client: &str, channel: Option<&str>) -> ConnId {
    let c = e.connect(0, ConnectInfo::default());
    send(
        e,
        c,
        json!({"type": "hello", "protocol": 1, "client_id": client}),
    );
    if let Some(channel) = channel {
        send(e, c, json!({"type": "subscribe", "channel": channel}));
    }
    drain(e);
    c
}

/// Subscribes a new connection of `client` to `tasks`; the offset of its `subscribed`.
fn resubscribe(e: &mut ServerEngine<Faulty>, client: &str) -> (ConnId, u64) {
    let c = conn_on(e, client, None);
    send(e, c, json!({"type": "subscribe", "channel": "tasks"}));
    let got = drain(e);
    let offset = got.iter().find_map(|g| match g {
        Got::Msg(
            to,
            ServerMessage::Subscribed {
                offset,
                continuity: Continuity::Reset,
                ..
            },
        ) if *to == c => Some(*offset),
        _ => None,
    });
    (c, offset.expect("subscribed"))
}

/// The scene of the first tests: `a` and `b` subscribe to `tasks`, `c` to `other`, `d` to
/// nothing; `a` commits mutation 1 (durable), then a batch that ends as `end` holds `a`'s
/// mutation 2 and `d`'s ping. Returns `[a, b, c, d]` after checking what the failure output.
fn fail_a_batch(e: &mut ServerEngine<Faulty>, end: EndBatch) -> [ConnId; 4] {
    let a = subscribed(e, "a");
    let b = subscribed(e, "b");
    let c = conn_on(e, "c", Some("other"));
    let d = conn_on(e, "d", None);
    send(e, a, put(1, "t1"));
    assert_eq!(drain(e).len(), 3, "unbatched: events to a and b, ack to a");

    e.store_mut().end_batch = end;
    send(e, b, json!({"type": "ping", "nonce": 7})); // before the batch: still delivered
    e.begin_batch().unwrap();
    send(e, a, put(2, "t2"));
    send(e, d, json!({"type": "ping", "nonce": 8}));
    assert_eq!(e.end_batch(), Err(injected()));
    assert_eq!(
        kinds(&drain(e)),
        [
            format!("{b} pong 7"),
            // a: its event and ack were dropped; b: subscribes to the channel the batch wrote
            // (its event was dropped); d: its pong was dropped. c is untouched.
            format!("{a} close 1011"),
            format!("{b} close 1011"),
            format!("{d} close 1011"),
        ]
    );
    assert!(e.is_connected(c));
    assert_eq!(e.connection_count(), 1);
    let stats: &Stats = e.stats();
    assert_eq!(
        (
            stats.connections,
            stats.subscriptions,
            stats.failed_batches,
            stats.batch_closes,
            stats.store_errors
        ),
        (1, 1, 1, 3, 1)
    );
    e.store_mut().end_batch = EndBatch::Durable;
    [a, b, c, d]
}

/// The connection the batch did not touch goes on as if nothing happened, in and out of
/// batches.
fn untouched_goes_on(e: &mut ServerEngine<Faulty>, c: ConnId) {
    send(e, c, json!({"type": "ping", "nonce": 9}));
    assert_eq!(kinds(&drain(e)), [format!("{c} pong 9")]);
    e.begin_batch().unwrap();
    send(
        e,
        c,
        json!({"type": "mutate", "mutation_id": 1, "channel": "other", "op": "put", "id": "o1",
               "doc": {"n": 1}}),
    );
    e.end_batch().unwrap();
    assert_eq!(
        kinds(&drain(e)),
        [format!("{c} event 1"), format!("{c} ack 1")]
    );
}

#[test]
fn lost_batch_closes_only_affected_connections_and_the_resend_applies_once() {
    let mut e = engine();
    let [_, _, c, _] = fail_a_batch(&mut e, EndBatch::FailLost);
    assert!(e.store_mut().document("tasks", "t2").unwrap().is_none());
    untouched_goes_on(&mut e, c);

    // The head is read again (1: the batch's commit is gone), and the resend applies at 2.
    let (a, offset) = resubscribe(&mut e, "a");
    assert_eq!(offset, 1);
    send(&mut e, a, put(2, "t2"));
    assert_eq!(
        kinds(&drain(&mut e)),
        [format!("{a} event 2"), format!("{a} ack 2")]
    );
    assert_eq!(e.store().inner.log_len("tasks"), 2);
    assert_eq!(e.stats().mutations_deduped, 0);
}

#[test]
fn durable_batch_that_failed_answers_the_resend_from_its_record() {
    let mut e = engine();
    let [_, _, c, _] = fail_a_batch(&mut e, EndBatch::FailDurable);
    assert!(e.store_mut().document("tasks", "t2").unwrap().is_some());
    untouched_goes_on(&mut e, c);

    // The head is read again (2: the batch's commit is durable): no event is missed or twice.
    let (a, offset) = resubscribe(&mut e, "a");
    assert_eq!(offset, 2);
    send(&mut e, a, put(2, "t2"));
    assert_eq!(kinds(&drain(&mut e)), [format!("{a} ack 2")]);
    assert_eq!(e.stats().mutations_deduped, 1);
    // The next commit continues the log after the durable one.
    let (b, _) = resubscribe(&mut e, "b");
    send(&mut e, b, put(1, "b1"));
    assert_eq!(
        kinds(&drain(&mut e)),
        [
            format!("{a} event 3"),
            format!("{b} event 3"),
            format!("{b} ack 1")
        ]
    );
    assert_eq!(e.store().inner.log_len("tasks"), 3);
}

/// A node that cached a head the failed batch moved, while another node (here: a write
/// straight to the store) wrote the channel after the failure: the re-read head includes it.
#[test]
fn the_channels_head_is_read_again_after_the_failure() {
    for end in [EndBatch::FailLost, EndBatch::FailDurable] {
        let mut e = engine();
        fail_a_batch(&mut e, end);
        let before = e.store_mut().channel_head("tasks").unwrap().head;
        // Another writer of the same database commits the next offset.
        let mut other = ServerEngine::new(
            crate::engine::ServerConfig::default(),
            std::mem::replace(
                &mut e.store_mut().inner,
                crate::store::MemoryStore::new("x".into()),
            ),
        );
        let o = other.connect(0, ConnectInfo::default());
        other.handle_frame(
            0,
            o,
            br#"{"type":"hello","protocol":1,"client_id":"other-node"}"#,
        );
        other.handle_frame(0, o, put(1, "z").to_string().as_bytes());
        e.store_mut().inner = other.into_store();
        let (n, offset) = resubscribe(&mut e, "n");
        assert_eq!(offset, before + 1, "{end:?}");
        send(&mut e, n, put(1, "t3"));
        assert_eq!(
            kinds(&drain(&mut e)),
            [format!("{n} event {}", before + 2), format!("{n} ack 1")],
            "{end:?}"
        );
    }
}

#[test]
fn a_clients_later_mutation_on_an_untouched_connection_waits_for_the_lost_one() {
    let mut e = engine();
    let a1 = subscribed(&mut e, "a");
    let a2 = conn_on(&mut e, "a", Some("notes"));
    e.store_mut().end_batch = EndBatch::FailLost;
    e.begin_batch().unwrap();
    send(&mut e, a1, put(1, "t1"));
    assert_eq!(e.end_batch(), Err(injected()));
    assert_eq!(kinds(&drain(&mut e)), [format!("{a1} close 1011")]);
    assert!(e.is_connected(a2));
    e.store_mut().end_batch = EndBatch::Durable;

    // Applying 2 would make the lost 1 unappliable (below the client's highest id): held
    // back, not applied, that connection closed too.
    send(
        &mut e,
        a2,
        json!({"type": "mutate", "mutation_id": 2, "channel": "notes", "op": "put", "id": "n",
               "doc": {}}),
    );
    assert_eq!(kinds(&drain(&mut e)), [format!("{a2} close 1011")]);
    assert_eq!(e.stats().mutations_held_back, 1);
    assert!(e.store_mut().document("notes", "n").unwrap().is_none());

    // The client resends both, in order: each applies once.
    let (a3, _) = resubscribe(&mut e, "a");
    send(&mut e, a3, put(1, "t1"));
    send(
        &mut e,
        a3,
        json!({"type": "mutate", "mutation_id": 2, "channel": "notes", "op": "put", "id": "n",
               "doc": {}}),
    );
    assert_eq!(
        kinds(&drain(&mut e)),
        [
            format!("{a3} event 1"),
            format!("{a3} ack 1"),
            format!("{a3} ack 2")
        ]
    );
    assert!(e.store_mut().document("notes", "n").unwrap().is_some());
}

fn api_put(id: &str) -> ApiMutation {
    ApiMutation {
        key_name: "backend".into(),
        idempotency_key: Some(format!("key-{id}")),
        channel: "tasks".into(),
        id: id.into(),
        op: Op::Put,
        doc: Some(tether_protocol::json!({"n": 1})),
        base_version: None,
    }
}

#[test]
fn api_requests_of_a_failed_batch_are_answered_unavailable_and_a_retry_applies_once() {
    for end in [EndBatch::FailLost, EndBatch::FailDurable] {
        let mut e = engine();
        e.store_mut().end_batch = end;
        e.begin_batch().unwrap();
        e.api_mutate(ApiRequestId(1), api_put("t1"));
        e.api_read(
            ApiRequestId(2),
            ApiRead::Head {
                channel: "tasks".into(),
            },
        );
        assert!(e.poll_api_reply().is_none());
        assert_eq!(e.end_batch(), Err(injected()));
        let mut got = Vec::new();
        while let Some(reply) = e.poll_api_reply() {
            assert!(
                matches!(reply.answer, ApiAnswer::Unavailable(_)),
                "{end:?}: {reply:?}"
            );
            got.push(reply.request);
        }
        assert_eq!(got, [ApiRequestId(1), ApiRequestId(2)], "{end:?}");

        // The retry with the same idempotency key: applied once, whether the batch was durable.
        e.store_mut().end_batch = EndBatch::Durable;
        e.api_mutate(ApiRequestId(3), api_put("t1"));
        let reply = e.poll_api_reply().expect("answered");
        assert!(
            matches!(
                reply.answer,
                ApiAnswer::Mutation(ServerMessage::Ack {
                    mutation_id: 1,
                    version: 1,
                    offset: 1
                })
            ),
            "{end:?}: {reply:?}"
        );
        assert_eq!(e.store().inner.log_len("tasks"), 1, "{end:?}");
        let deduped = u64::from(end == EndBatch::FailDurable);
        assert_eq!(e.stats().mutations_deduped, deduped, "{end:?}");
    }
}

#[test]
fn a_connection_closed_inside_the_failed_batch_is_still_closed() {
    let mut e = engine();
    let a = subscribed(&mut e, "a");
    e.store_mut().end_batch = EndBatch::FailLost;
    e.begin_batch().unwrap();
    // An oversized frame is answered TOO_LARGE and closed 1009; both are dropped with the
    // batch, and the engine has already forgotten the connection.
    e.handle_oversized(0, a, Some(1 << 30));
    assert!(!e.is_connected(a));
    assert_eq!(e.end_batch(), Err(injected()));
    assert_eq!(
        drain(&mut e),
        [Got::Close(a, tether_protocol::CloseCode::Internal)]
    );
}
