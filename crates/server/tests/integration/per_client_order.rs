//! Mutations of one client are applied in the order sent, and each event precedes its ack.

use crate::common::{ack, event, TestServer};
use serde_json::json;
use tether_protocol::ServerMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_apply_in_order_and_events_precede_acks() {
    let server = TestServer::start(|o| {
        o.rate_per_sec = 0;
        o.sqlite_sync = tether_server::edge::SyncMode::Normal;
    })
    .await;
    let mut c = server.client("c").await;
    c.subscribe(json!({"channel": "tasks"})).await;
    let n = 200u64;
    for mid in 1..=n {
        c.send(
            json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put",
                      "id": "t1", "base_version": mid - 1, "doc": {"n": mid}}),
        )
        .await;
    }
    for mid in 1..=n {
        let ev = c.recv().await;
        assert_eq!(event(&ev), (mid, mid - 1, "t1".into()));
        match ev {
            ServerMessage::Event { version, doc, .. } => {
                assert_eq!(version, mid);
                assert_eq!(doc, Some(tether_protocol::Json::from(json!({"n": mid}))));
            }
            _ => unreachable!(),
        }
        assert_eq!(ack(&c.recv().await), (mid, mid, mid));
    }
    // A late resend of an early id is answered from its record, not applied again.
    c.put(1, "tasks", "x", json!({})).await;
    assert_eq!(ack(&c.recv().await), (1, 1, 1));
    c.silent_for(50).await;
    server.stop().await;
}
