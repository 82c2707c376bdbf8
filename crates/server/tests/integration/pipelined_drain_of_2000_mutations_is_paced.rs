//! A client pipelining 2,000 mutations while reading promptly gets every event and ack, in
//! order, with the default outbound queue and with a queue of 16: a burst the server produces
//! itself is paced, never treated as a slow reader.

use crate::common::{ack, TestServer};
use crate::flow_support::Reader;
use serde_json::json;
use tether_protocol::ServerMessage;

async fn drain(outbound_queue: Option<usize>) {
    let server = TestServer::start(|o| {
        o.rate_per_sec = 0;
        o.sqlite_sync = tether_server::edge::SyncMode::Normal;
        if let Some(q) = outbound_queue {
            o.outbound_queue = q;
        }
    })
    .await;
    let mut c = Reader::hello(&server.url(), "c", false).await;
    c.send(json!({"type": "subscribe", "channel": "tasks"}))
        .await;
    c.until_presence_sync().await;
    let n = 2_000u64;
    // Write everything from another task while this one reads.
    let (mut sink, mut stream) = futures_util::StreamExt::split(c.ws);
    let writer = tokio::spawn(async move {
        use futures_util::SinkExt;
        for mid in 1..=n {
            let frame = json!({"type": "mutate", "mutation_id": mid, "channel": "tasks",
                               "op": "put", "id": format!("t{}", mid % 100), "doc": {"n": mid}});
            sink.send(tokio_tungstenite::tungstenite::Message::text(
                frame.to_string(),
            ))
            .await
            .expect("sent");
        }
        sink
    });
    let mut acks = Vec::new();
    let mut events = Vec::new();
    while acks.len() < n as usize {
        let msg = tokio::time::timeout(
            crate::common::WAIT,
            futures_util::StreamExt::next(&mut stream),
        )
        .await
        .expect("a frame within the wait")
        .expect("open")
        .expect("readable");
        let tokio_tungstenite::tungstenite::Message::Text(t) = msg else {
            panic!("unexpected {msg:?}");
        };
        match tether_protocol::codec::decode_server(t.as_bytes()).expect("decodable") {
            m @ ServerMessage::Ack { .. } => acks.push(ack(&m).0),
            ServerMessage::Event { offset, .. } => events.push(offset),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(acks, (1..=n).collect::<Vec<_>>(), "every ack, in order");
    assert_eq!(
        events,
        (1..=n).collect::<Vec<_>>(),
        "every event before its ack"
    );
    drop(writer.await.expect("writer"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_default_outbound_queue() {
    drain(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_outbound_queue_of_16() {
    drain(Some(16)).await;
}
