//! Each API key has its own request rate (`--api-rate-per-sec`, `--api-rate-burst`): over it a
//! request is refused 429 `RATE_LIMITED` with `retry_after_ms` and a `Retry-After` header, and
//! nothing of it is applied; another key is not affected, and the key recovers at its rate.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::api_client::{error_code, Req, API_KEY_ARG};
use crate::common::auth_server;

const OTHER_KEY: &str = "fedcba9876543210-other";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_its_rate_is_refused_429_and_recovers() {
    let server = auth_server(|o| {
        o.api_keys = vec![API_KEY_ARG.into(), format!("other:{OTHER_KEY}")];
        // One request a second: the budget refills slowly enough that the few requests below
        // (milliseconds apart on loopback, even on a loaded machine) cannot earn a new one.
        o.api_rate_per_sec = 1;
        o.api_rate_burst = 3;
    })
    .await;
    let addr = server.addr();
    for i in 0..3 {
        let (status, body) = Req::new("PUT", &format!("/api/v1/channels/tasks/documents/t{i}"))
            .json(serde_json::json!({"n": i}))
            .send(addr)
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = Req::new("PUT", "/api/v1/channels/tasks/documents/t9")
        .json(serde_json::json!({"n": 9}))
        .send(addr)
        .await;
    assert_eq!((status, error_code(&body)), (429, "RATE_LIMITED"), "{body}");
    let wait = body["error"]["retry_after_ms"]
        .as_u64()
        .expect("retry_after_ms");
    assert!((1..=1_000).contains(&wait), "{wait}");

    // The raw answer carries Retry-After in whole seconds.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let key = API_KEY_ARG.split_once(':').unwrap().1;
    stream
        .write_all(
            format!(
                "GET /api/v1/channels/tasks HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
                 Authorization: Bearer {key}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 429"), "{raw}");
    assert!(
        raw.to_ascii_lowercase().contains("\r\nretry-after: 1\r\n"),
        "{raw}"
    );

    // Nothing of the refused write was applied.
    let (status, _) = Req::new("GET", "/api/v1/channels/tasks/documents/t9")
        .key(Some(OTHER_KEY))
        .send(addr)
        .await;
    assert_eq!(status, 404);
    // The other key has its own budget; the first recovers at 1/s.
    let (status, body) = Req::new("GET", "/api/v1/channels/tasks")
        .key(Some(OTHER_KEY))
        .send(addr)
        .await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    let (status, body) = Req::new("GET", "/api/v1/channels/tasks").send(addr).await;
    assert_eq!(status, 200, "{body}");
}
