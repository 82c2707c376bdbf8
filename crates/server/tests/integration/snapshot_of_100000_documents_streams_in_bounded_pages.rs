//! Subscribing to a channel of 100,000 documents on default flags: the snapshot arrives in
//! pages far below `max_message_bytes`, the view is complete only at the page with
//! `more: false` (whose offset is the head), and another connection keeps its latency while
//! it streams.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::TestServer;
use crate::flow_support::{seed, Reader};
use serde_json::json;
use tether_protocol::{Continuity, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_bounded_and_the_view_completes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = 100_000u64;
    // About 250 bytes per document: 25 MB of JSON.
    seed(
        &dir.path().join("tether.sqlite3"),
        "tasks",
        n,
        n,
        200,
        10_000,
    );
    let server = TestServer::start_in(dir, |_| {}).await;
    let mut r = Reader::hello(&server.url(), "r", false).await;
    let mut other = Reader::hello(&server.url(), "o", false).await;
    r.send(json!({"type": "subscribe", "channel": "tasks"}))
        .await;
    // Meanwhile another connection's pings are answered promptly.
    let pinger = tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        for nonce in 0..20u64 {
            let at = Instant::now();
            other.send(json!({"type": "ping", "nonce": nonce})).await;
            assert!(matches!(
                other.next_batch().await[0],
                ServerMessage::Pong { .. }
            ));
            worst = worst.max(at.elapsed());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        worst
    });
    let mut ids = BTreeSet::new();
    let mut last = None;
    let mut pages = 0;
    loop {
        let batch = r.next_batch().await;
        let msg = batch.into_iter().next().expect("a message");
        match msg {
            ServerMessage::Subscribed {
                continuity,
                snapshot,
                more,
                ..
            } => {
                assert_eq!(continuity, Continuity::Reset);
                assert!(more, "a channel this large is paged");
                ids.extend(snapshot.unwrap_or_default().into_iter().map(|d| d.id));
            }
            ServerMessage::Snapshot {
                docs, more, offset, ..
            } => {
                assert!(last.is_none());
                pages += 1;
                ids.extend(docs.into_iter().map(|d| d.id));
                if !more {
                    last = Some(offset);
                }
            }
            ServerMessage::PresenceSync { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(last, Some(n), "the last page carries the head");
    assert_eq!(ids.len() as u64, n, "the view is complete");
    assert!(pages > 100, "{pages} pages");
    let biggest = r.message_sizes.iter().copied().max().unwrap_or(0);
    assert!(
        biggest < 64 * 1024,
        "every page is bounded: {biggest} bytes"
    );
    let worst = pinger.await.expect("pinger");
    assert!(
        worst < Duration::from_millis(500),
        "ping took {worst:?} while the snapshot streamed"
    );
    server.stop().await;
}
