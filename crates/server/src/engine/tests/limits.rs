use serde_json::json;
use tether_protocol::{CloseCode, ErrorCode, ServerMessage};

use super::{Got, H};
use crate::engine::ServerConfig;

fn limited() -> H {
    H::with(ServerConfig {
        rate_per_sec: 10,
        rate_burst: 2,
        max_delayed_mutations: 3,
        ..ServerConfig::default()
    })
}

#[test]
fn other_frames_over_the_rate_are_dropped_with_retry_after() {
    let mut h = limited();
    let c = h.conn("c");
    assert_eq!(h.call(c, json!({"type": "ping", "nonce": 1})).len(), 1);
    assert_eq!(h.call(c, json!({"type": "ping", "nonce": 2})).len(), 1);
    let got = h.call(c, json!({"type": "ping", "nonce": 3}));
    match &got[..] {
        [ServerMessage::Error {
            code,
            retry_after_ms,
            ..
        }] => {
            assert_eq!(*code, ErrorCode::RateLimited);
            assert_eq!(*retry_after_ms, Some(100));
        }
        other => panic!("{other:?}"),
    }
    h.advance(100);
    assert_eq!(
        h.call(c, json!({"type": "ping", "nonce": 4})),
        vec![ServerMessage::Pong { nonce: 4 }]
    );
}

#[test]
fn mutations_over_the_rate_are_delayed_in_order_not_dropped() {
    let mut h = limited();
    let c = h.conn("c");
    let mut acks = Vec::new();
    for mid in 1..=5 {
        h.send(c, json!({"type": "mutate", "mutation_id": mid, "channel": "t", "op": "put", "id": "d", "doc": {"n": mid}}));
    }
    let collect = |got: Vec<Got>, acks: &mut Vec<u64>| {
        for g in got {
            match g {
                Got::Msg(_, ServerMessage::Ack { mutation_id, .. }) => acks.push(mutation_id),
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    collect(h.drain(), &mut acks);
    assert_eq!(acks, vec![1, 2], "burst of 2 applied at once");
    collect(h.advance(100), &mut acks);
    assert_eq!(acks, vec![1, 2, 3]);
    collect(h.advance(200), &mut acks);
    assert_eq!(acks, vec![1, 2, 3, 4, 5]);
    assert!(h.e.is_connected(c));
}

#[test]
fn overflowing_the_delay_queue_closes_4008() {
    let mut h = limited();
    let c = h.conn("c");
    for mid in 1..=6 {
        h.send(c, json!({"type": "mutate", "mutation_id": mid, "channel": "t", "op": "put", "id": "d", "doc": {}}));
    }
    let got = h.drain();
    assert_eq!(got.last(), Some(&Got::Close(c, CloseCode::RateLimited)));
    assert!(!h.e.is_connected(c));
}

#[test]
fn other_connections_are_unaffected_by_one_flooder() {
    let mut h = limited();
    let a = h.conn("a");
    let b = h.conn("b");
    for n in 0..10 {
        h.send(a, json!({"type": "ping", "nonce": n}));
    }
    h.drain();
    assert_eq!(
        h.call(b, json!({"type": "ping", "nonce": 1})),
        vec![ServerMessage::Pong { nonce: 1 }]
    );
}
