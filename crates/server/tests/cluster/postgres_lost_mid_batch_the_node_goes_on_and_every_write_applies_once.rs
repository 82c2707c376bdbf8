//! PostgreSQL lost in the middle of a batch's transaction (writes in flight, pipelined): the
//! batch cannot be known durable, and the node recovers without a restart. It does not exit,
//! a connection the batch did not touch stays open, `/healthz` says 503 while the database is
//! away and 200 once it is back, and every writer, resending what was not acknowledged after
//! each 1011, ends with every mutation applied exactly once (one event and one document
//! version per mutation in the database).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tether_protocol::{codec, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{http_get, Client};
use crate::support::{suite_redis, Database, Forwarder, Node};

/// Writers per round, and mutations each writer sends without waiting.
const WRITERS: usize = 6;
const PER_WRITER: u64 = 150;

/// Sends mutations `1..=PER_WRITER` of `client_id` (a put of its own document each), pipelined,
/// and resends the unacknowledged ones in order after each close until all are acknowledged;
/// returns how many connections it took.
async fn write_all(url: String, client_id: String) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut acked = BTreeSet::new();
    let mut connections = 0;
    while (acked.len() as u64) < PER_WRITER {
        assert!(
            Instant::now() < deadline,
            "{client_id}: acked {}",
            acked.len()
        );
        connections += 1;
        let mut c = Client::hello(&url, &client_id).await;
        let mut open = true;
        for mid in (1..=PER_WRITER).filter(|m| !acked.contains(m)) {
            let frame = json!({"type": "mutate", "mutation_id": mid, "channel": "tasks",
                               "op": "put", "id": format!("{client_id}-{mid}"), "doc": {"n": mid}});
            if c.ws.send(Message::text(frame.to_string())).await.is_err() {
                open = false;
                break;
            }
        }
        while open && (acked.len() as u64) < PER_WRITER {
            match tokio::time::timeout(Duration::from_secs(20), c.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    if let Ok(ServerMessage::Ack { mutation_id, .. }) =
                        codec::decode_server(text.as_bytes())
                    {
                        acked.insert(mutation_id);
                    }
                }
                Ok(Some(Ok(_))) => {}
                // Closed (1011 after the failed batch or a failed commit), or cut.
                Ok(Some(Err(_)) | None) => open = false,
                Err(_) => panic!("{client_id}: no answer for 20 s"),
            }
        }
        if !open {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    connections
}

/// The node's counter `name` from `/metrics`.
async fn counter(node: &Node, name: &str) -> u64 {
    let (_, body) = http_get(node.addr, "/metrics").await;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lost_mid_batch_the_node_goes_on_and_every_write_applies_once() {
    let db = Database::new();
    let redis = suite_redis();
    let mut link = Forwarder::to_postgres();
    let mut node = Node::start(&link.url_of(&db.url()), Some(&redis));
    node.wait_health(200, "").await;
    // A connection no batch touches: subscribed to a channel nobody writes.
    let mut idle = node.client("idle").await;
    idle.subscribe(json!({"channel": "quiet"})).await;

    // Cut the database while writes are in flight, until a cut lands inside a batch's
    // transaction (almost always the first).
    let mut rounds = 0;
    while counter(&node, "tether_failed_batches_total").await == 0 {
        assert!(rounds < 5, "no cut landed inside a batch in 5 rounds");
        let writers: Vec<_> = (0..WRITERS)
            .map(|k| tokio::spawn(write_all(node.url(), format!("w{rounds}-{k}"))))
            .collect();
        tokio::time::sleep(Duration::from_millis(40)).await;
        link.down();
        node.wait_health(503, "").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        link.up();
        for writer in writers {
            writer.await.expect("writer");
        }
        rounds += 1;
    }
    let rounds = rounds;
    assert!(
        node.child
            .as_mut()
            .expect("child")
            .try_wait()
            .expect("status")
            .is_none(),
        "the node did not exit"
    );
    node.wait_health(200, "ok").await;

    // The untouched connection is still open and answers.
    idle.send(json!({"type": "ping", "nonce": 1})).await;
    assert!(matches!(
        idle.recv().await,
        ServerMessage::Pong { nonce: 1 }
    ));

    // Exactly once: one event per mutation, every document at version 1.
    let total = rounds as i64 * WRITERS as i64 * PER_WRITER as i64;
    let events = db.query(
        "SELECT count(*), count(DISTINCT (origin_client, origin_mutation)) FROM events \
         WHERE channel = 'tasks'",
    );
    let (count, distinct): (i64, i64) = (events[0].get(0), events[0].get(1));
    assert_eq!((count, distinct), (total, total), "one event per mutation");
    let docs = db.query(
        "SELECT count(*), max(version) FROM documents WHERE channel = 'tasks' AND body IS NOT NULL",
    );
    let (docs, max_version): (i64, Option<i64>) = (docs[0].get(0), docs[0].get(1));
    assert_eq!((docs, max_version), (total, Some(1)), "each applied once");
    // A new subscriber starts at the database's head: the node re-read it.
    let mut sub = node.client("late").await;
    let got = sub.subscribe(json!({"channel": "tasks"})).await;
    let offset = got.iter().find_map(|m| match m {
        ServerMessage::Subscribed { offset, .. } => Some(*offset as i64),
        _ => None,
    });
    assert_eq!(offset, Some(total));
}
