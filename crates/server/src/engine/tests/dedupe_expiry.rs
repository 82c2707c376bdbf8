//! Dedupe records expire by age (wall-clock time injected with `set_unix_time_ms`): a resend
//! older than the dedupe age is rejected `invalid` ("not above the highest"), never applied a
//! second time, and the client's next ids apply. Beyond `max_clients` the client inactive
//! longest is forgotten: it is then a new client to the server.

use serde_json::{json, Value};
use tether_protocol::{RejectReason, ServerMessage};

use super::H;
use crate::engine::ServerConfig;
use crate::store::Store;

const DAY: u64 = 86_400_000;
const T0: u64 = 1_700_000_000_000;

fn put(mid: u64, id: &str) -> Value {
    json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put", "id": id,
           "doc": {"n": mid}})
}

fn ack_id(got: &[ServerMessage]) -> u64 {
    match got {
        [ServerMessage::Ack { mutation_id, .. }] => *mutation_id,
        other => panic!("expected one ack, got {other:?}"),
    }
}

#[test]
fn a_resend_older_than_the_dedupe_age_is_rejected_invalid_never_applied_twice() {
    let mut h = H::with(ServerConfig {
        dedupe_max_age_ms: 30 * DAY,
        ..ServerConfig::default()
    });
    h.e.set_unix_time_ms(T0);
    let old = h.conn("old");
    let first = h.call(old, put(1, "t1"));
    assert_eq!(ack_id(&first), 1);
    // 29 days later the record is still there: the resend gets the identical ack.
    h.e.set_unix_time_ms(T0 + 29 * DAY);
    let other = h.conn("other");
    assert_eq!(ack_id(&h.call(other, put(1, "o1"))), 1);
    assert_eq!(h.call(old, put(1, "t1")), first);
    // 31 days after old's last commit, any write expires its records.
    h.e.set_unix_time_ms(T0 + 31 * DAY);
    assert_eq!(ack_id(&h.call(other, put(2, "o2"))), 2);
    assert_eq!(h.e.store_mut().dedupe("old", 1).unwrap().record, None);
    let got = h.call(old, put(1, "t1"));
    match &got[..] {
        [ServerMessage::Reject {
            mutation_id: 1,
            reason: RejectReason::Invalid,
            message,
            ..
        }] => assert!(message.contains("highest"), "{message}"),
        other => panic!("{other:?}"),
    }
    let t1 = h.e.store_mut().document("tasks", "t1").unwrap().unwrap();
    assert_eq!(t1.version, 1, "applied once");
    assert_eq!(ack_id(&h.call(old, put(2, "t2"))), 2);
}

#[test]
fn beyond_max_clients_the_longest_inactive_client_is_forgotten() {
    let mut h = H::with(ServerConfig {
        max_clients: 2,
        ..ServerConfig::default()
    });
    let mut conns = Vec::new();
    for (i, client) in ["a", "b", "c"].iter().enumerate() {
        h.e.set_unix_time_ms(T0 + i as u64 * 1_000);
        let conn = h.conn(client);
        assert_eq!(ack_id(&h.call(conn, put(1, &format!("{client}1")))), 1);
        conns.push(conn);
    }
    assert_eq!(h.e.store().client_count(), 2);
    assert_eq!(h.e.store_mut().dedupe("a", 1).unwrap().highest, None);
    assert!(h.e.store_mut().dedupe("b", 1).unwrap().record.is_some());
    // "a" is new to the server now: its resend is applied as a new mutation (a base_version
    // would have turned it into a conflict).
    let got = h.call(conns[0], put(1, "a1"));
    assert_eq!(ack_id(&got), 1);
    let a1 = h.e.store_mut().document("tasks", "a1").unwrap().unwrap();
    assert_eq!(a1.version, 2);
}
