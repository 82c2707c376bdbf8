//! Two nodes whose batches commit channels `a` and `b` in opposite orders at the same moment:
//! node 1's batch writes `a` then `b`, node 2's `b` then `a`. The test makes the race certain
//! by holding both heads locked from its own transaction until both nodes wait for them (with
//! both mutations in their batch), then releasing them at once. With head locks held in
//! whatever order a batch commits, each node would then hold one head and wait for the other
//! (a deadlock, broken by PostgreSQL after `deadlock_timeout` with an error: `error INTERNAL`
//! and a 1011 close for one client). Taken in ascending order per transaction, every mutation
//! is acknowledged, nothing is refused, and each channel's offsets stay gap-free.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tether_protocol::ServerMessage;

use crate::common::Client;
use crate::support::{suite_redis, Database, Node};

/// The acknowledgements of mutations 2 and 3 of `c` (panics on any other answer, or a close).
async fn two_acks(c: &mut Client) -> Vec<(u64, u64)> {
    let mut acks = Vec::new();
    while acks.len() < 2 {
        match c.recv().await {
            ServerMessage::Ack {
                mutation_id,
                offset,
                ..
            } => acks.push((mutation_id, offset)),
            msg @ (ServerMessage::Error { .. } | ServerMessage::Reject { .. }) => {
                panic!("a mutation was refused: {msg:?}")
            }
            _ => {}
        }
    }
    acks.sort_unstable();
    acks
}

/// Locks the heads of `a` and `b` in a transaction of its own; once two node connections wait
/// for them (and a moment more, for each node's second mutation to join its batch), commits.
fn hold_heads(url: String, locked: mpsc::Sender<()>) {
    let mut holder = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let mut watcher = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let mut tx = holder.transaction().expect("begin");
    let rows = tx
        .query(
            "SELECT channel FROM channels WHERE channel IN ('a', 'b') ORDER BY channel FOR UPDATE",
            &[],
        )
        .expect("lock both heads");
    assert_eq!(rows.len(), 2, "both channels have a head row");
    locked.send(()).expect("the test waits");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .expect("pg_stat_activity")
            .get(0);
        if waiting >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the nodes never waited for the heads"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Each node's second mutation was sent with its first: let it reach the node's queue,
    // so that it is decided in the batch that now waits.
    std::thread::sleep(Duration::from_millis(300));
    tx.commit().expect("release both heads");
}

/// The offsets of `channel`'s log, in order.
fn log_offsets(url: String, channel: &'static str) -> Vec<i64> {
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    c.query(
        "SELECT log_offset FROM events WHERE channel = $1 ORDER BY log_offset",
        &[&channel],
    )
    .expect("read the log")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_taking_two_heads_in_opposite_orders_do_not_deadlock() {
    let db = Database::new();
    let redis = suite_redis();
    let nodes: Vec<Node> = (0..2)
        .map(|_| Node::start(&db.url(), Some(&redis)))
        .collect();
    let mut x = nodes[0].client("x").await;
    let mut y = nodes[1].client("y").await;
    // Both channels get a head row, both clients their records (so that the mutations below
    // lock nothing but the heads, the documents of their channels and the clients' own rows).
    x.put(1, "a", "x1", serde_json::json!({})).await;
    y.put(1, "b", "y1", serde_json::json!({})).await;
    assert!(matches!(
        x.recv().await,
        ServerMessage::Ack { offset: 1, .. }
    ));
    assert!(matches!(
        y.recv().await,
        ServerMessage::Ack { offset: 1, .. }
    ));

    let (locked_tx, locked_rx) = mpsc::channel();
    let url = db.url();
    let holder = std::thread::spawn(move || hold_heads(url, locked_tx));
    locked_rx.recv().expect("the heads are locked");
    // Node 1's batch: a then b; node 2's: b then a.
    x.put(2, "a", "x2", serde_json::json!({})).await;
    x.put(3, "b", "x3", serde_json::json!({})).await;
    y.put(2, "b", "y2", serde_json::json!({})).await;
    y.put(3, "a", "y3", serde_json::json!({})).await;

    let (xa, ya) = tokio::join!(two_acks(&mut x), two_acks(&mut y));
    holder.join().expect("the holder released the heads");
    assert_eq!(xa.iter().map(|a| a.0).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(ya.iter().map(|a| a.0).collect::<Vec<_>>(), vec![2, 3]);
    let (url_a, url_b) = (db.url(), db.url());
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(move || log_offsets(url_a, "a"));
        let b = s.spawn(move || log_offsets(url_b, "b"));
        (a.join().expect("a"), b.join().expect("b"))
    });
    assert_eq!(a, vec![1, 2, 3], "channel a gap-free");
    assert_eq!(b, vec![1, 2, 3], "channel b gap-free");
    // Both connections are still open and usable.
    x.put(4, "a", "x4", serde_json::json!({})).await;
    assert!(matches!(
        x.recv().await,
        ServerMessage::Ack { offset: 4, .. }
    ));
    y.put(4, "b", "y4", serde_json::json!({})).await;
    assert!(matches!(
        y.recv().await,
        ServerMessage::Ack { offset: 4, .. }
    ));
}
