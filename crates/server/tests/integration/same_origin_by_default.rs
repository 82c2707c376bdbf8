//! Outside `--dev` and without `--allowed-origin`, a WebSocket upgrade is accepted only from
//! the same origin (the Origin's host and port are the request's `Host`) or without an Origin
//! (a non-browser client); any other Origin gets 403. `--dev` accepts every upgrade.

use crate::common::{Client, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_same_origin_upgrades_are_accepted_outside_dev() {
    let server = TestServer::start(|o| {
        o.dev = false;
        o.auth_secret = Some("secret".into());
    })
    .await;
    let url = server.url();
    let port = server.addr().port();
    // The client sends `Host: 127.0.0.1:{port}`.
    for origin in [
        format!("http://127.0.0.1:{port}"),
        format!("https://127.0.0.1:{port}"),
    ] {
        assert!(
            Client::connect_with_origin(&url, &origin).await.is_ok(),
            "{origin}"
        );
    }
    for origin in [
        "https://evil.example".to_owned(),
        format!("http://127.0.0.1:{}", port.wrapping_add(1).max(1)),
        format!("http://localhost:{port}"),
        "null".to_owned(),
    ] {
        assert_eq!(
            Client::connect_with_origin(&url, &origin).await.err(),
            Some(403),
            "{origin}"
        );
    }
    // No Origin header at all: a non-browser client (tokio-tungstenite sends none).
    assert!(tokio_tungstenite::connect_async(url.as_str()).await.is_ok());
    let (_, metrics) = crate::common::http_get(server.addr(), "/metrics").await;
    assert!(
        metrics.contains("tether_refused_upgrades_total 4"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_accepts_every_origin() {
    let server = TestServer::start(|_| {}).await;
    assert!(
        Client::connect_with_origin(&server.url(), "https://evil.example")
            .await
            .is_ok()
    );
    server.stop().await;
}
