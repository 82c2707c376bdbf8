//! A connection closed while its mutation is being decided: nothing is recorded for it, so
//! the client's resend is decided afresh. Found by the cluster schedules of the simulation
//! (`crates/sim`): a node behind the log learns other nodes' commits before deciding again,
//! finds the log trimmed past its subscriber's view and closes that subscriber (1011) — the
//! same connection that sent the mutation. The decision was then taken for a connection that
//! no longer existed and recorded as `forbidden`, which the resend got back: a write lost.

use serde_json::json;
use tether_protocol::{CloseCode, ServerMessage};

use super::cluster::{of, put, shared, Node};
use crate::engine::ServerConfig;
use crate::store::Store;

#[test]
fn a_mutation_whose_connection_closes_mid_decision_is_decided_afresh_on_resend() {
    let store = shared();
    let config = ServerConfig {
        retain_events: 3,
        ..ServerConfig::default()
    };
    let (mut a, mut b) = (
        Node::with(&store, config.clone()),
        Node::with(&store, config),
    );
    let w = a.conn("writer");
    a.call(w, json!({"type": "subscribe", "channel": "tasks"}));
    a.drain();
    // Node B commits more than the log keeps; A hears nothing of it (no hint, no poll).
    let other = b.conn("other");
    for i in 1..=6 {
        let got = b.call(other, put(i, &format!("b{i}"), None, json!({"n": i})));
        assert!(matches!(got[..], [ServerMessage::Ack { .. }]), "{got:?}");
    }

    // A's commit is refused (its cached head is 0); learning the log finds it trimmed past
    // A's view, which closes the view's subscriber: the writer itself.
    a.send(w, put(1, "t1", None, json!({"n": 1})));
    let got = a.drain();
    assert!(
        got.contains(&(w, Err(CloseCode::Internal))),
        "the subscriber is closed: {got:?}"
    );
    assert!(
        !of(&got, w)
            .iter()
            .any(|m| matches!(m, ServerMessage::Reject { .. } | ServerMessage::Ack { .. })),
        "no answer on the closed connection: {got:?}"
    );

    // The client reconnects (to either node) and resends: applied, once. A repeat at node A
    // is answered from the record: the same ack, nothing applied twice.
    let expected = ServerMessage::Ack {
        mutation_id: 1,
        version: 1,
        offset: 7,
    };
    let again = b.conn("writer");
    let got = b.call(again, put(1, "t1", None, json!({"n": 1})));
    assert_eq!(got, vec![expected.clone()], "the resend is applied");
    let repeat = a.conn("writer");
    let got = a.call(repeat, put(1, "t1", None, json!({"n": 1})));
    assert_eq!(got, vec![expected], "the repeat gets the same answer");
    assert_eq!(store.borrow_mut().channel_head("tasks").unwrap().head, 7);
}
