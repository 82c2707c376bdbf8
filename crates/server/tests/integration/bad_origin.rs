//! With `--allowed-origin`, an upgrade from another Origin (or none) is refused with 403.

use crate::common::{Client, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_from_other_origins_are_refused_with_403() {
    let server = TestServer::start(|o| {
        o.allowed_origins = vec![
            "https://board.example".into(),
            "http://localhost:5173".into(),
        ];
    })
    .await;
    let url = server.url();
    assert_eq!(
        Client::connect_with_origin(&url, "https://evil.example")
            .await
            .err(),
        Some(403)
    );
    assert!(Client::connect_with_origin(&url, "https://board.example")
        .await
        .is_ok());
    assert!(Client::connect_with_origin(&url, "http://localhost:5173")
        .await
        .is_ok());
    // No Origin header at all (tokio-tungstenite sends none by default).
    let refused = tokio_tungstenite::connect_async(url.as_str()).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    let (_, metrics) = crate::common::http_get(server.addr(), "/metrics").await;
    assert!(
        metrics.contains("tether_refused_upgrades_total 2"),
        "{metrics}"
    );
    server.stop().await;
}
