//! The engine keeps to the rate limit the server announced in `welcome`: broadcasts and
//! requests beyond it wait and go out as the budget refills (so the server never drops them),
//! a presence state the server dropped anyway is sent again after `retry_after_ms`, and that
//! hint affects only what it was for, never an unrelated reconnect.

use crate::common::{doc, reset, sent_of, welcome, Driver};
use tether_core::{Config, Output};
use tether_protocol::json;
use tether_protocol::{ClientMessage, ErrorCode, Limits, ServerMessage};

fn welcome_with(rate_per_sec: u32, rate_burst: u32) -> ServerMessage {
    let ServerMessage::Welcome {
        protocol,
        client_id,
        heartbeat_timeout_ms,
        limits,
    } = welcome()
    else {
        unreachable!()
    };
    ServerMessage::Welcome {
        protocol,
        client_id,
        heartbeat_timeout_ms,
        limits: Limits {
            rate_per_sec,
            rate_burst,
            ..limits
        },
    }
}

/// Subscribed to "cursors" on a connection whose server allows `rate`/s with `burst`.
fn connected(rate: u32, burst: u32) -> Driver {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "cursors", None).unwrap();
    d.engine.connect(0);
    d.drain();
    d.engine.socket_opened(0);
    d.drain();
    d.server(welcome_with(rate, burst));
    d.drain();
    d.server(reset("cursors", 0, vec![doc("x", 1, json!({}))]));
    d.drain();
    d
}

fn broadcasts(out: &[Output]) -> Vec<i64> {
    sent_of(out)
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::Broadcast { payload, .. } => payload.as_i64(),
            _ => None,
        })
        .collect()
}

#[test]
fn broadcasts_beyond_the_announced_burst_wait_for_the_budget() {
    // Burst 10, 10/s: the subscribe took one token.
    let mut d = connected(10, 10);
    for i in 0..20 {
        d.engine.broadcast(d.now, "cursors", json!(i)).unwrap();
    }
    let first = broadcasts(&d.drain());
    assert_eq!(
        first,
        (0..9).collect::<Vec<_>>(),
        "only what the budget allows"
    );
    assert_eq!(d.engine.status().queued_messages, 11);
    // One token per 100 ms: the rest follows in order, none lost, none twice.
    let mut rest = Vec::new();
    for t in 1..=12u64 {
        rest.extend(broadcasts(&d.advance(t * 100)));
    }
    assert_eq!(rest, (9..20).collect::<Vec<_>>());
    assert_eq!(d.engine.status().queued_messages, 0);
}

#[test]
fn mutations_are_charged_so_a_broadcast_after_a_drain_waits() {
    let mut d = connected(10, 5);
    for i in 0..5 {
        d.engine
            .mutate(
                d.now,
                "cursors",
                tether_protocol::Op::Put,
                &format!("m{i}"),
                Some(json!({})),
                tether_core::Precondition::Unconditional,
            )
            .unwrap();
    }
    d.drain();
    d.engine.broadcast(d.now, "cursors", json!(1)).unwrap();
    assert!(broadcasts(&d.drain()).is_empty(), "the bucket is empty");
    // Subscribe + 5 mutations = 6 charged of 5: two tokens (200 ms) until one is free.
    assert!(broadcasts(&d.advance(199)).is_empty());
    assert_eq!(broadcasts(&d.advance(200)), vec![1]);
}

#[test]
fn a_dropped_presence_is_sent_again_after_the_hint() {
    let mut d = connected(100, 200);
    d.engine
        .set_presence(d.now, "cursors", Some(json!({"user": "sarah"})))
        .unwrap();
    d.drain();
    d.server(ServerMessage::Error {
        code: ErrorCode::RateLimited,
        message: "too many messages; this frame was dropped".into(),
        channel: Some("cursors".into()),
        mutation_id: None,
        request_id: None,
        retry_after_ms: Some(300),
    });
    assert!(sent_of(&d.drain()).is_empty(), "not before the hint");
    let out = d.advance(299);
    assert!(sent_of(&out).is_empty());
    let again = sent_of(&d.advance(300));
    assert_eq!(
        again,
        vec![ClientMessage::Presence {
            channel: "cursors".into(),
            state: Some(json!({"user": "sarah"})),
        }]
    );
    // Once: nothing more later.
    assert!(sent_of(&d.advance(5_000))
        .iter()
        .all(|m| matches!(m, ClientMessage::Ping { .. })));
}

#[test]
fn a_rate_limit_hint_does_not_floor_an_unrelated_reconnect() {
    let mut d = connected(100, 200);
    d.server(ServerMessage::Error {
        code: ErrorCode::RateLimited,
        message: "too many messages; this frame was dropped".into(),
        channel: Some("cursors".into()),
        mutation_id: None,
        request_id: None,
        retry_after_ms: Some(60_000),
    });
    d.drain();
    // The connection drops for an unrelated reason: the usual backoff applies (first delay
    // at most `initial_ms`, 500 by default), not the minute of the hint.
    d.engine.socket_closed(d.now, 1006);
    let retry = d.engine.status().next_retry_at.expect("backing off");
    assert!(retry <= d.now + 500, "retry at {retry}, now {}", d.now);
}
