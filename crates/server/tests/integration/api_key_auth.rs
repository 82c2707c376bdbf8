//! The backend API needs an API key: none → 401 `API_KEY_REQUIRED`, an unknown one → 403
//! `API_KEY_INVALID`, a configured one → the answer; without configured keys (outside `--dev`)
//! the API is off: 404 `API_DISABLED` (with `--dev` it is open without a key). A client token
//! is not an API key.

use crate::common::api_client::{error_code, Req, API_KEY_ARG};
use crate::common::{auth_server, token};
use tether_server::Claims;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_unknown_and_valid_keys() {
    let server = auth_server(|o| o.api_keys = vec![API_KEY_ARG.into()]).await;
    let addr = server.addr();
    let path = "/api/v1/channels/tasks";

    let (status, body) = Req::new("GET", path).key(None).send(addr).await;
    assert_eq!((status, error_code(&body)), (401, "API_KEY_REQUIRED"));

    let (status, body) = Req::new("GET", path)
        .key(Some("not-a-key-at-all"))
        .send(addr)
        .await;
    assert_eq!((status, error_code(&body)), (403, "API_KEY_INVALID"));

    // A valid client token is not an API key.
    let jwt = token(&Claims::new("sarah").write(&["*"]));
    let (status, body) = Req::new("GET", path).key(Some(&jwt)).send(addr).await;
    assert_eq!((status, error_code(&body)), (403, "API_KEY_INVALID"));

    let (status, body) = Req::new("GET", path).send(addr).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offset"], 0);
    assert!(body["epoch"].is_string());

    // Unknown routes and methods are typed errors too (after the key check).
    let (status, body) = Req::new("GET", "/api/v1/nope").key(None).send(addr).await;
    assert_eq!((status, error_code(&body)), (401, "API_KEY_REQUIRED"));
    let (status, body) = Req::new("GET", "/api/v1/nope").send(addr).await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"));
    let (status, body) = Req::new("POST", path).send(addr).await;
    assert_eq!((status, error_code(&body)), (405, "METHOD_NOT_ALLOWED"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keys_the_api_is_off() {
    let server = auth_server(|_| {}).await;
    let (status, body) = Req::new("GET", "/api/v1/channels/tasks")
        .send(server.addr())
        .await;
    assert_eq!((status, error_code(&body)), (404, "API_DISABLED"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_short_secret_stops_the_server_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let mut options = tether_server::edge::Options::for_tests(dir.path().join("tether.sqlite3"));
    options.api_keys = vec!["jobs:short".into()];
    let err = tether_server::edge::spawn(options)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("at least 16 bytes"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_without_keys_needs_none() {
    let server = crate::common::TestServer::start(|_| {}).await;
    let (status, body) = Req::new("PUT", "/api/v1/channels/tasks/documents/t1")
        .key(None)
        .json(serde_json::json!({"a": 1}))
        .send(server.addr())
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["origin"]["client_id"], "api:dev");
    server.stop().await;
}
