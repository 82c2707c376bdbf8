//! Flow control: credit, paced replays and snapshots, held inbound frames, and the
//! slow-consumer rule.

use serde_json::json;
use tether_protocol::{codec, CloseCode, Continuity, ServerMessage};

use super::{Got, H};
use crate::engine::{ConnId, Output, ServerConfig};

pub(super) fn config(capacity: usize) -> ServerConfig {
    ServerConfig {
        rate_per_sec: 0,
        retain_events: 1_000_000,
        outbound_capacity: capacity,
        ..ServerConfig::default()
    }
}

/// Polls every output without reporting anything written (a reader that does not read).
pub(super) fn poll(h: &mut H) -> Vec<Got> {
    let mut got = Vec::new();
    while let Some(out) = h.e.poll_output() {
        got.push(match out {
            Output::Send { conn, frame } => Got::Msg(
                conn,
                codec::decode_server(frame.as_bytes()).expect("decodable"),
            ),
            Output::Close { conn, code } => Got::Close(conn, code),
        });
    }
    got
}

/// Reports `conn`'s frames written one at a time, collecting what that releases, until
/// nothing is in flight.
pub(super) fn read_all(h: &mut H, conn: ConnId, mut got: Vec<Got>) -> Vec<Got> {
    let mut all = Vec::new();
    loop {
        let mine = got
            .iter()
            .filter(|g| matches!(g, Got::Msg(c, _) if *c == conn))
            .count();
        all.append(&mut got);
        if mine == 0 && h.e.in_flight(conn) == 0 {
            return all;
        }
        let capacity = h.e.config().capacity();
        assert!(h.e.in_flight(conn) <= capacity, "never above the capacity");
        h.e.handle_written(h.now, conn, 1);
        got = poll(h);
    }
}

pub(super) fn events(got: &[Got], conn: ConnId) -> Vec<(u64, u64)> {
    H::to(got, conn)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::Event { offset, prev, .. } => Some((offset, prev)),
            _ => None,
        })
        .collect()
}

pub(super) fn writes(h: &mut H, w: ConnId, from: u64, n: u64) {
    for mid in from..from + n {
        h.put(w, mid, &format!("t{}", mid % 50), json!({"n": mid}));
    }
}

pub(super) fn epoch(h: &H) -> String {
    use crate::store::Store;
    h.e.store().epoch().to_owned()
}

#[test]
fn a_replay_far_larger_than_the_capacity_is_paced_and_completes() {
    let mut h = H::with(config(16));
    let w = h.conn("w");
    writes(&mut h, w, 1, 3_000);
    let r = h.conn("r");
    let since = json!({"epoch": epoch(&h), "offset": 0});
    h.send(
        r,
        json!({"type": "subscribe", "channel": "tasks", "since": since}),
    );
    let first = poll(&mut h);
    // Only as much as the low watermark before anything was written.
    assert!(H::to(&first, r).len() <= 8, "{}", H::to(&first, r).len());
    let got = read_all(&mut h, r, first);
    assert!(!got.iter().any(|g| matches!(g, Got::Close(..))), "no close");
    let msgs = H::to(&got, r);
    assert!(matches!(
        msgs[0],
        ServerMessage::Subscribed {
            continuity: Continuity::Recovered,
            ..
        }
    ));
    let evs = events(&got, r);
    let want: Vec<(u64, u64)> = (1..=3_000).map(|o| (o, o - 1)).collect();
    assert_eq!(evs, want);
    assert!(matches!(
        msgs.last(),
        Some(ServerMessage::PresenceSync { .. })
    ));
}

#[test]
fn a_stalled_replay_is_not_a_slow_consumer_but_stalled_live_traffic_is() {
    let mut h = H::with(config(16));
    let w = h.conn("w");
    writes(&mut h, w, 1, 100);
    let r = h.conn("r");
    let since = json!({"epoch": epoch(&h), "offset": 0});
    h.send(
        r,
        json!({"type": "subscribe", "channel": "tasks", "since": since}),
    );
    let got = poll(&mut h);
    assert!(!got.iter().any(|g| matches!(g, Got::Close(..))));
    assert_eq!(h.e.in_flight(r), 8, "paused at the low watermark");
    // A reader that reads nothing more: the replay stays paused; no close however long.
    let got = h.advance(10_000);
    assert!(H::to(&got, r).is_empty());
    assert!(h.e.is_connected(r));
    // Another subscriber on live traffic that stops reading overflows at the capacity.
    let l = h.conn("l");
    h.subscribe(l, "tasks");
    let mut closed = false;
    for mid in 101..140 {
        h.send(
            w,
            json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put",
                   "id": "x", "doc": {"n": mid}}),
        );
        let mut got = Vec::new();
        while let Some(out) = h.e.poll_output() {
            match out {
                Output::Send { conn, .. } if conn == w => h.e.handle_written(h.now, w, 1),
                Output::Close { conn, code } => got.push((conn, code)),
                _ => {}
            }
        }
        if got.contains(&(l, CloseCode::SlowConsumer)) {
            closed = true;
            break;
        }
    }
    assert!(closed, "the stalled live reader is closed 4009");
    assert!(h.e.is_connected(r), "the paused replay is not");
    assert_eq!(h.e.stats().slow_consumers, 1);
}

#[test]
fn live_events_wait_behind_the_replay_in_offset_order() {
    let mut h = H::with(config(16));
    let w = h.conn("w");
    writes(&mut h, w, 1, 500);
    let r = h.conn("r");
    let since = json!({"epoch": epoch(&h), "offset": 100});
    h.send(
        r,
        json!({"type": "subscribe", "channel": "tasks", "since": since}),
    );
    let mut got = poll(&mut h);
    // Writes interleave with the replay as the reader reads.
    let mut mid = 501;
    for _ in 0..200 {
        h.e.handle_written(h.now, r, 1);
        got.extend(poll(&mut h));
        if mid <= 700 {
            h.send(
                w,
                json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put",
                       "id": "live", "doc": {"n": mid}}),
            );
            mid += 1;
            while let Some(out) = h.e.poll_output() {
                match out {
                    Output::Send { conn, frame } if conn == r => got.push(Got::Msg(
                        conn,
                        codec::decode_server(frame.as_bytes()).expect("decodable"),
                    )),
                    Output::Send { conn, .. } => h.e.handle_written(h.now, conn, 1),
                    Output::Close { conn, code } => got.push(Got::Close(conn, code)),
                }
            }
        }
    }
    let got = read_all(&mut h, r, got);
    let evs = events(&got, r);
    let want: Vec<(u64, u64)> = (101..=700).map(|o| (o, o - 1)).collect();
    assert_eq!(evs, want, "no gap, no duplicate, no reordering");
}

#[test]
fn a_pipelined_drain_is_held_and_answered_in_order_as_credit_returns() {
    let mut h = H::with(config(16));
    let c = h.conn("c");
    h.subscribe(c, "tasks");
    for mid in 1..=50u64 {
        h.send(
            c,
            json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put",
                   "id": format!("t{mid}"), "doc": {"n": mid}}),
        );
    }
    let first = poll(&mut h);
    assert!(
        H::to(&first, c).len() <= 9,
        "paced: {}",
        H::to(&first, c).len()
    );
    assert!(h.e.inbound_held(c) > 30);
    let got = read_all(&mut h, c, first);
    assert_eq!(h.e.inbound_held(c), 0);
    let acks: Vec<u64> = H::to(&got, c)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::Ack { mutation_id, .. } => Some(mutation_id),
            _ => None,
        })
        .collect();
    assert_eq!(acks, (1..=50).collect::<Vec<_>>());
    assert!(!got.iter().any(|g| matches!(g, Got::Close(..))));
}

#[test]
fn an_inbox_beyond_its_limit_closes_4008() {
    let mut h = H::with(ServerConfig {
        max_inbox: 10,
        ..config(4)
    });
    let c = h.conn("c");
    for mid in 1..=20u64 {
        h.send(c, json!({"type": "ping", "nonce": mid}));
    }
    let got = poll(&mut h);
    assert!(
        got.contains(&Got::Close(c, CloseCode::RateLimited)),
        "{got:?}"
    );
}

#[test]
fn resubscribing_alone_to_the_same_view_keeps_an_honest_prev() {
    let mut h = H::with(config(1_024));
    let w = h.conn("w");
    writes(&mut h, w, 1, 5);
    let r = h.conn("r");
    h.subscribe(r, "tasks");
    let since = json!({"epoch": epoch(&h), "offset": 5});
    h.call(
        r,
        json!({"type": "subscribe", "channel": "tasks", "since": since}),
    );
    let got = h.put(w, 6, "x", json!({"n": 6}));
    assert_eq!(
        events(&got, r),
        vec![(6, 5)],
        "prev is the previous offset, not 0"
    );
}
