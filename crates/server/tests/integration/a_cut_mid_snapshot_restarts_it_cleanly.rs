//! A connection lost in the middle of a paged snapshot leaves nothing behind on the server,
//! and subscribing again on a new connection streams the whole snapshot from the start, with
//! the writes made in between.

use std::collections::BTreeMap;

use crate::common::{http_get, TestServer};
use crate::flow_support::{seed, Reader};
use serde_json::json;
use tether_protocol::ServerMessage;

/// Reads a subscribe's answer to the end: (documents by id with their version, last offset).
async fn whole_snapshot(r: &mut Reader) -> (BTreeMap<String, u64>, u64) {
    let mut docs = BTreeMap::new();
    let mut last = None;
    loop {
        for msg in r.next_batch().await {
            match msg {
                ServerMessage::Subscribed { snapshot, .. } => {
                    docs.extend(
                        snapshot
                            .unwrap_or_default()
                            .into_iter()
                            .map(|d| (d.id, d.version)),
                    );
                }
                ServerMessage::Snapshot {
                    docs: page,
                    removed,
                    more,
                    offset,
                    ..
                } => {
                    docs.extend(page.into_iter().map(|d| (d.id, d.version)));
                    for id in removed {
                        docs.remove(&id);
                    }
                    if !more {
                        last = Some(offset);
                    }
                }
                ServerMessage::PresenceSync { .. } => {
                    return (docs, last.expect("a last page before presence_sync"));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_subscribe_gets_the_whole_current_view() {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = 20_000u64;
    seed(
        &dir.path().join("tether.sqlite3"),
        "tasks",
        n,
        n,
        100,
        10_000,
    );
    let server = TestServer::start_in(dir, |o| o.rate_per_sec = 0).await;
    let mut first = Reader::hello(&server.url(), "c", false).await;
    first
        .send(json!({"type": "subscribe", "channel": "tasks"}))
        .await;
    // Two pages, then the connection drops.
    let mut pages = 0;
    while pages < 2 {
        pages += first.next_batch().await.len();
    }
    drop(first);
    // Writes meanwhile: one changed, one deleted, one new.
    let mut w = Reader::hello(&server.url(), "w", false).await;
    for frame in [
        json!({"type": "mutate", "mutation_id": 1, "channel": "tasks", "op": "put",
               "id": "d000001", "doc": {"changed": true}}),
        json!({"type": "mutate", "mutation_id": 2, "channel": "tasks", "op": "delete",
               "id": "d000002"}),
        json!({"type": "mutate", "mutation_id": 3, "channel": "tasks", "op": "put",
               "id": "zz-new", "doc": {}}),
    ] {
        w.send(frame).await;
        assert!(matches!(w.next_batch().await[0], ServerMessage::Ack { .. }));
    }
    let mut again = Reader::hello(&server.url(), "c", false).await;
    again
        .send(json!({"type": "subscribe", "channel": "tasks"}))
        .await;
    let (docs, offset) = whole_snapshot(&mut again).await;
    assert_eq!(offset, n + 3);
    assert_eq!(docs.len() as u64, n, "one deleted, one new");
    assert_eq!(docs.get("d000001"), Some(&2));
    assert!(!docs.contains_key("d000002"));
    assert_eq!(docs.get("zz-new"), Some(&1));
    // The lost connection left nothing behind: the writer and the new reader remain.
    let (_, metrics) = http_get(server.addr(), "/metrics").await;
    assert!(metrics.contains("tether_connections 2"), "{metrics}");
    server.stop().await;
}
