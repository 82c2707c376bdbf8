//! The backend change feed: committed changes in offset order from any retained offset,
//! gap-free across pages, resumable by remembering `next`; 410 `RESET` with the head when the
//! epoch differs, the offset is past the head or the window was pruned; `wait` long-polls
//! until the next commit or the bound.

use std::time::{Duration, Instant};

use crate::common::api_client::{error_code, Req, API_KEY_ARG};
use crate::common::TestServer;
use serde_json::{json, Value};

fn offsets(body: &Value) -> Vec<u64> {
    body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["offset"].as_u64().expect("offset"))
        .collect()
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
async fn resume_by_offset_reset_on_epoch_and_long_poll() {
    let server = TestServer::start(|o| o.api_keys = vec![API_KEY_ARG.into()]).await;
    let addr = server.addr();
    for i in 1..=5 {
        put(addr, &format!("t{i}")).await;
    }
    let (_, first) = Req::new("GET", "/api/v1/channels/tasks/events?limit=2")
        .send(addr)
        .await;
    assert_eq!(offsets(&first), [1, 2]);
    let epoch = first["epoch"].as_str().expect("epoch").to_owned();
    let mut seen = offsets(&first);
    let mut next = first["next"].as_u64().expect("next");
    while next < 5 {
        let path = format!("/api/v1/channels/tasks/events?since={next}&epoch={epoch}&limit=2");
        let (status, body) = Req::new("GET", &path).send(addr).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(offsets(&body));
        next = body["next"].as_u64().expect("next");
    }
    assert_eq!(seen, [1, 2, 3, 4, 5]);

    for path in [
        "/api/v1/channels/tasks/events?since=2&epoch=another-epoch".to_owned(),
        format!("/api/v1/channels/tasks/events?since=9&epoch={epoch}"),
        "/api/v1/channels/tasks/events?since=2".to_owned(),
    ] {
        let (status, body) = Req::new("GET", &path).send(addr).await;
        assert_eq!(
            (status, error_code(&body)),
            (410, "RESET"),
            "{path}: {body}"
        );
        assert_eq!(body["error"]["epoch"], json!(epoch));
        assert_eq!(body["error"]["offset"], 5);
    }

    // Long-poll: answered by the next commit, well before the bound.
    let path = format!("/api/v1/channels/tasks/events?since=5&epoch={epoch}&wait=10");
    let started = Instant::now();
    let waiting = tokio::spawn(async move {
        Req::new("GET", &path)
            .send_raw(addr, Duration::from_secs(15))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    put(addr, "t6").await;
    let (status, text) = waiting.await.expect("task");
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(offsets(&body), [6]);
    assert_eq!(body["events"][0]["id"], "t6");
    assert_eq!(body["events"][0]["origin"]["client_id"], "api:jobs");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Nothing new: an empty answer after about `wait`.
    let path = format!("/api/v1/channels/tasks/events?since=6&epoch={epoch}&wait=1");
    let started = Instant::now();
    let (status, body) = Req::new("GET", &path).send(addr).await;
    assert_eq!(
        (status, offsets(&body), body["next"].clone()),
        (200, vec![], json!(6))
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    let (status, body) = Req::new("GET", "/api/v1/channels/tasks/events?wait=31")
        .send(addr)
        .await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pruned_window_is_a_reset() {
    let server = TestServer::start(|o| {
        o.api_keys = vec![API_KEY_ARG.into()];
        o.retain_events = 2;
    })
    .await;
    let addr = server.addr();
    for i in 1..=6 {
        put(addr, &format!("t{i}")).await;
    }
    let (_, head) = Req::new("GET", "/api/v1/channels/tasks").send(addr).await;
    let epoch = head["epoch"].as_str().expect("epoch").to_owned();
    let path = format!("/api/v1/channels/tasks/events?since=1&epoch={epoch}");
    let (status, body) = Req::new("GET", &path).send(addr).await;
    assert_eq!((status, error_code(&body)), (410, "RESET"), "{body}");
    assert_eq!(body["error"]["offset"], 6);
    let path = format!("/api/v1/channels/tasks/events?since=5&epoch={epoch}");
    let (status, body) = Req::new("GET", &path).send(addr).await;
    assert_eq!((status, offsets(&body)), (200, vec![6]));
    server.stop().await;
}
