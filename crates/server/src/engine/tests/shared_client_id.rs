//! Two live connections with one client id are both served and share one dedupe stream, in
//! the order the engine receives their frames (what PROTOCOL.md §5 describes).

use serde_json::{json, Value};
use tether_protocol::{RejectReason, ServerMessage};

use super::H;

fn put(mid: u64, id: &str) -> Value {
    json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put", "id": id,
           "doc": {"n": mid}})
}

#[test]
fn two_connections_of_one_client_id_share_its_dedupe_stream() {
    let mut h = H::new();
    let old = h.conn("c");
    let new = h.conn("c");
    assert!(h.e.is_connected(old) && h.e.is_connected(new));
    let first = h.call(old, put(1, "t1"));
    assert!(
        matches!(first[..], [ServerMessage::Ack { .. }]),
        "{first:?}"
    );
    // The resend on the other connection is answered from the record.
    assert_eq!(h.call(new, put(1, "t1")), first);
    // Arrival order decides: 3 on one, then 2 on the other, is "not above the highest".
    assert!(matches!(
        h.call(new, put(3, "t3"))[..],
        [ServerMessage::Ack { mutation_id: 3, .. }]
    ));
    let got = h.call(old, put(2, "t2"));
    assert!(
        matches!(
            got[..],
            [ServerMessage::Reject {
                mutation_id: 2,
                reason: RejectReason::Invalid,
                ..
            }]
        ),
        "{got:?}"
    );
    assert!(h.e.is_connected(old) && h.e.is_connected(new));
}
