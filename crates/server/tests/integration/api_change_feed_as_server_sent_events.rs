//! The change feed as server-sent events: `Accept: text/event-stream` streams every committed
//! change (`event: change`, id `<epoch>:<offset>`) from `since`, then live ones as they commit;
//! `Last-Event-ID` resumes after an id; another epoch gets one `event: reset` and the end.

use std::time::Duration;

use crate::common::api_client::{Req, API_KEY, API_KEY_ARG};
use crate::common::{TestServer, WAIT};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a stream; returns the connection after writing the request.
async fn open(addr: std::net::SocketAddr, path: &str, last_event_id: Option<&str>) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {API_KEY}\r\n\
         Accept: text/event-stream\r\n"
    );
    if let Some(id) = last_event_id {
        head.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
}

/// Reads until `text` holds every needle (in order of appearance is not checked here).
async fn read_until(stream: &mut TcpStream, text: &mut String, needles: &[&str]) {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(WAIT, async {
        while !needles.iter().all(|n| text.contains(n)) {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "stream ended early: {text}");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("missing {needles:?} in {text}"));
}

async fn put(addr: std::net::SocketAddr, id: &str) {
    let path = format!("/api/v1/channels/tasks/documents/{id}");
    let (status, _) = Req::new("PUT", &path)
        .json(json!({"id": id}))
        .send(addr)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_stream_live_and_resume_by_last_event_id() {
    let server = TestServer::start(|o| o.api_keys = vec![API_KEY_ARG.into()]).await;
    let addr = server.addr();
    put(addr, "t1").await;
    put(addr, "t2").await;
    let (_, head) = Req::new("GET", "/api/v1/channels/tasks").send(addr).await;
    let epoch = head["epoch"].as_str().expect("epoch").to_owned();

    let mut s = open(addr, "/api/v1/channels/tasks/events", None).await;
    let mut text = String::new();
    let id1 = format!("id: {epoch}:1");
    let id2 = format!("id: {epoch}:2");
    read_until(
        &mut s,
        &mut text,
        &["200 OK", "text/event-stream", &id1, &id2],
    )
    .await;
    assert!(text.find(&id1) < text.find(&id2));
    put(addr, "t3").await;
    let id3 = format!("id: {epoch}:3");
    read_until(&mut s, &mut text, &[&id3, "\"id\":\"t3\""]).await;
    drop(s);

    // Resume after offset 2: only 3 (and later ones).
    let mut s = open(
        addr,
        "/api/v1/channels/tasks/events",
        Some(&format!("{epoch}:2")),
    )
    .await;
    let mut text = String::new();
    read_until(&mut s, &mut text, &[&id3]).await;
    assert!(!text.contains(&id1) && !text.contains(&id2), "{text}");
    drop(s);

    let mut s = open(
        addr,
        "/api/v1/channels/tasks/events?since=1&epoch=other",
        None,
    )
    .await;
    let mut text = String::new();
    read_until(&mut s, &mut text, &["event: reset", "\"offset\":3"]).await;
    assert!(!text.contains("event: change"), "{text}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop().await;
}
