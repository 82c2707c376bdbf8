//! Two server engines, each over its own [`PgStore`], on one database: what cluster mode
//! stands on (CLUSTER.md). Concurrent writers get gap-free offsets, every subscriber sees the
//! same order, and a mutation retried at the other engine applies once with the first reply.

use serde_json::json;
use tether_protocol::{codec, ServerMessage};

use super::support::TestDb;
use crate::engine::{ConnId, ConnectInfo, Output, ServerConfig, ServerEngine};
use crate::store::PgStore;

fn engine(db: &TestDb) -> ServerEngine<PgStore> {
    let config = ServerConfig {
        shared_store: true,
        rate_per_sec: 0,
        ..ServerConfig::default()
    };
    let mut e = ServerEngine::new(config, db.store());
    e.set_unix_time_ms(1_700_000_000_000);
    e
}

fn send(e: &mut ServerEngine<PgStore>, conn: ConnId, v: serde_json::Value) {
    e.handle_frame(0, conn, v.to_string().as_bytes());
}

/// Every message output so far, by connection, in order.
fn drain(e: &mut ServerEngine<PgStore>, into: &mut Vec<(ConnId, ServerMessage)>) {
    while let Some(out) = e.poll_output() {
        if let Output::Send { conn, frame } = out {
            e.handle_written(0, conn, 1);
            into.push((conn, codec::decode_server(frame.as_bytes()).unwrap()));
        }
    }
}

fn connect(e: &mut ServerEngine<PgStore>, client: &str) -> ConnId {
    let c = e.connect(0, ConnectInfo::default());
    send(
        e,
        c,
        json!({"type": "hello", "protocol": 1, "client_id": client}),
    );
    c
}

fn put(mid: u64, id: &str) -> serde_json::Value {
    json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put", "id": id,
        "doc": {"n": mid}})
}

#[test]
fn two_engines_on_one_database_write_one_channel_gap_free_and_deliver_one_order() {
    const PER_NODE: u64 = 40;
    let db = TestDb::new();
    // Both subscribers are in place before either node writes: a later subscriber would get
    // the earlier commits as its snapshot, not as events.
    let subscribed = std::sync::Arc::new(std::sync::Barrier::new(2));
    let nodes: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|node| {
            let mut e = engine(&db);
            let subscribed = std::sync::Arc::clone(&subscribed);
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let sub = connect(&mut e, &format!("sub-{node}"));
                send(
                    &mut e,
                    sub,
                    json!({"type": "subscribe", "channel": "tasks"}),
                );
                subscribed.wait();
                let writer = connect(&mut e, &format!("w-{node}"));
                for mid in 1..=PER_NODE {
                    // As the edge runs it: every input inside a batch (group commit, which
                    // holds the head's lock until end_batch), here four mutations a batch.
                    if mid % 4 == 1 {
                        e.begin_batch().unwrap();
                    }
                    send(&mut e, writer, put(mid, &format!("{node}{mid}")));
                    if mid % 4 == 0 {
                        e.end_batch().unwrap();
                        drain(&mut e, &mut got);
                    }
                }
                (e, sub, writer, got)
            })
        })
        .collect();
    let mut done: Vec<_> = nodes.into_iter().map(|n| n.join().unwrap()).collect();
    let mut acked = Vec::new();
    for (e, sub, writer, got) in &mut done {
        // The other node's last commits arrive by the poll (no hint link here).
        e.sync_channels(0);
        drain(e, got);
        for (conn, msg) in got.iter() {
            if conn == writer {
                match msg {
                    ServerMessage::Ack { offset, .. } => acked.push(*offset),
                    ServerMessage::Welcome { .. } | ServerMessage::Event { .. } => {}
                    other => panic!("writer got {other:?}"),
                }
            }
        }
        let seen: Vec<(u64, u64)> = got
            .iter()
            .filter(|(c, _)| c == sub)
            .filter_map(|(_, m)| match m {
                ServerMessage::Event { offset, prev, .. } => Some((*offset, *prev)),
                _ => None,
            })
            .collect();
        let expected: Vec<(u64, u64)> = (1..=2 * PER_NODE).map(|o| (o, o - 1)).collect();
        assert_eq!(seen, expected, "every event once, in offset order");
    }
    acked.sort_unstable();
    assert_eq!(acked, (1..=2 * PER_NODE).collect::<Vec<_>>());
    let retries: u64 = done.iter().map(|(e, ..)| e.stats().commit_retries).sum();
    let learned: u64 = done.iter().map(|(e, ..)| e.stats().events_learned).sum();
    assert_eq!(
        learned,
        2 * PER_NODE,
        "each node learned the other's commits"
    );
    eprintln!("{retries} commits decided again");

    // The same mutation retried at the other node: the first node's reply, applied once.
    let (a, b) = done.split_at_mut(1);
    let (ea, _, wa, got_a) = &mut a[0];
    let (eb, ..) = &mut b[0];
    let first = got_a
        .iter()
        .find(|(c, m)| c == wa && matches!(m, ServerMessage::Ack { mutation_id: 1, .. }))
        .map(|(_, m)| m.clone())
        .unwrap();
    let again = connect(eb, "w-a");
    send(eb, again, put(1, "a1"));
    let mut got = Vec::new();
    drain(eb, &mut got);
    assert_eq!(got.last().map(|(_, m)| m), Some(&first));
    let _ = ea;
    let mut s = db.store();
    let log = crate::store::Store::log_after(&mut s, "tasks", 0, 1_000).unwrap();
    assert_eq!(log.len() as u64, 2 * PER_NODE);
}
