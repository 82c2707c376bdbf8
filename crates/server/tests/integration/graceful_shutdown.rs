//! SIGTERM (or an in-process shutdown) closes every socket with 1001, after the frames
//! already received are processed, and the data stays in the file.

use crate::common::{ack, BinaryServer, Client, Closed, TestServer};
use serde_json::json;
use tether_protocol::ServerMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_every_socket_with_1001_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite3");
    let server = BinaryServer::start(&["--dev", "--db", db.to_str().unwrap()]);
    let mut a = Client::hello(&server.url(), "a").await;
    let mut b = Client::hello(&server.url(), "b").await;
    a.put(1, "tasks", "t1", json!({})).await;
    assert_eq!(ack(&a.recv().await).0, 1);
    let status = tokio::task::spawn_blocking(move || server.terminate());
    assert_eq!(a.closed().await, Closed::Code(1001));
    assert_eq!(b.closed().await, Closed::Code(1001));
    let status = status.await.unwrap();
    assert!(status.success(), "{status:?}");
    // A clean close leaves no WAL behind to recover (SQLite's write-ahead log; PostgreSQL's
    // is the PostgreSQL server's own business).
    let wal = dir.path().join("t.sqlite3-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_mutations_are_committed_before_the_1001_close() {
    let server = TestServer::start(|o| o.rate_per_sec = 0).await;
    let mut c = server.client("c").await;
    for mid in 1..=50 {
        c.put(mid, "tasks", &format!("t{mid}"), json!({})).await;
    }
    // Wait for the first ack so the frames are being processed, then stop.
    assert_eq!(ack(&c.recv().await).0, 1);
    let dir = server.stop().await;
    let mut acked = 1;
    loop {
        match tokio::time::timeout(
            crate::common::WAIT,
            futures_util::StreamExt::next(&mut c.ws),
        )
        .await
        {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                let msg = tether_protocol::codec::decode_server(t.as_bytes()).unwrap();
                assert!(matches!(msg, ServerMessage::Ack { .. }), "{msg:?}");
                acked += 1;
            }
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(f))))) => {
                assert_eq!(u16::from(f.code), 1001);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    // Every acked mutation is in the file.
    let server = TestServer::start_in(dir, |_| {}).await;
    let mut r = server.client("r").await;
    match &r.subscribe(json!({"channel": "tasks"})).await[0] {
        ServerMessage::Subscribed {
            snapshot: Some(docs),
            ..
        } => assert!(docs.len() >= acked),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}
