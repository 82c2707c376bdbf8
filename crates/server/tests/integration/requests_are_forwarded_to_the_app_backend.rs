//! `request` forwarded to the app's backend: a real HTTP backend on loopback receives a POST
//! with the caller's subject, client id, method and body (and the configured secret), and
//! its answer, its error status, its silence, its garbage or its absence each become exactly
//! one `response` with the documented body or error code.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json as AxumJson, Router};
use serde_json::{json, Value};
use tether_protocol::ServerMessage;
use tether_server::Claims;

use crate::common::{auth_server, hello_with, token, unix_secs};

/// The app's backend: a real HTTP server on a free loopback port.
async fn backend() -> SocketAddr {
    async fn approve(headers: HeaderMap, AxumJson(call): AxumJson<Value>) -> AxumJson<Value> {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        AxumJson(json!({"seen": call, "authorization": auth}))
    }
    let app = Router::new()
        .route("/approve", post(approve))
        .route(
            "/broken",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "database down") }),
        )
        .route(
            "/locked",
            post(|| async {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    AxumJson(json!({"code": "TASK_LOCKED", "message": "Sarah has it"})),
                )
            }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                AxumJson(json!("too late"))
            }),
        )
        .route("/garbage", post(|| async { "this is not JSON" }))
        .route("/nothing", post(|| async { StatusCode::NO_CONTENT }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A loopback port nothing listens on.
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

fn parts(msg: &ServerMessage) -> (u64, Option<Value>, Option<(String, String)>) {
    match msg {
        ServerMessage::Response { id, body, error } => (
            *id,
            body.as_ref()
                .map(|b| serde_json::from_str(&b.to_text()).unwrap()),
            error.as_ref().map(|e| (e.code.clone(), e.message.clone())),
        ),
        other => panic!("expected a response, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_the_backend_and_every_outcome_is_one_typed_response() {
    let app = backend().await;
    let gone = closed_port().await;
    let server = auth_server(|o| {
        o.forward_routes = vec![
            format!("approve=http://{app}/approve"),
            format!("report=http://{app}/broken"),
            format!("claim=http://{app}/locked"),
            format!("slow=http://{app}/slow"),
            format!("garbage=http://{app}/garbage"),
            format!("nothing=http://{app}/nothing"),
            format!("offline=http://{gone}/"),
        ];
        o.forward_timeout_ms = 1_000;
        o.forward_secret = Some("backend-secret-123".into());
    })
    .await;
    let jwt = token(
        &Claims::new("sarah")
            .write(&["tasks"])
            .expires(unix_secs() + 600),
    );
    let (mut c, welcome) = hello_with(&server.url(), "tab-1", Some(&jwt)).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );

    // The answer is relayed; the backend saw who asked, what, and the secret.
    c.send(json!({"type": "request", "id": 1, "method": "approve", "body": {"task": "t1"}}))
        .await;
    let (id, body, error) = parts(&c.recv().await);
    assert_eq!((id, error), (1, None));
    assert_eq!(
        body.unwrap(),
        json!({
            "seen": {"method": "approve", "body": {"task": "t1"}, "client_id": "tab-1",
                     "sub": "sarah", "request_id": 1},
            "authorization": "Bearer backend-secret-123"
        })
    );

    // The built-ins stay.
    c.send(json!({"type": "request", "id": 2, "method": "echo", "body": [1]}))
        .await;
    assert_eq!(parts(&c.recv().await), (2, Some(json!([1])), None));

    // Each way the backend can fail, in turn.
    let cases: [(&str, &str); 5] = [
        ("report", "UPSTREAM_STATUS"),
        ("claim", "TASK_LOCKED"),
        ("garbage", "UPSTREAM_BAD_RESPONSE"),
        ("offline", "UPSTREAM_UNAVAILABLE"),
        ("slow", "UPSTREAM_TIMEOUT"),
    ];
    for (i, (method, code)) in cases.iter().enumerate() {
        let id = 10 + i as u64;
        c.send(json!({"type": "request", "id": id, "method": method, "body": null}))
            .await;
        let (got_id, body, error) = parts(&c.recv().await);
        assert_eq!((got_id, body), (id, None), "{method}");
        let (got_code, message) = error.expect("an error");
        assert_eq!(&got_code, code, "{method}: {message}");
        match *method {
            "report" => assert!(message.contains("500"), "{message}"),
            "claim" => assert_eq!(message, "Sarah has it"),
            _ => {}
        }
    }
    // An empty 2xx body is a `null` body (decoded as no body), not an error.
    c.send(json!({"type": "request", "id": 20, "method": "nothing"}))
        .await;
    let (id, body, error) = parts(&c.recv().await);
    assert_eq!(
        (id, body.unwrap_or(Value::Null), error),
        (20, Value::Null, None)
    );
    // Methods without a route are still unknown (no fallback URL configured).
    c.send(json!({"type": "request", "id": 21, "method": "other"}))
        .await;
    let (_, _, error) = parts(&c.recv().await);
    assert_eq!(error.unwrap().0, "UNKNOWN_METHOD");
    // The slow backend's late answer (after 3 s) produces no second response.
    c.silent_for(2_500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_or_malformed_forward_url_stops_the_server_at_start() {
    for (routes, url, needle) in [
        (vec!["x=https://app.internal/x".to_owned()], None, "https"),
        (vec!["nourl".to_owned()], None, "METHOD=URL"),
        (Vec::new(), Some("ftp://app/".to_owned()), "http://"),
    ] {
        let mut options =
            tether_server::edge::Options::for_tests(std::path::PathBuf::from(":memory:"));
        options.forward_routes = routes;
        options.forward_url = url;
        let err = match tether_server::edge::spawn(options).await {
            Ok(_) => panic!("started with a bad forward URL"),
            Err(err) => err.to_string(),
        };
        assert!(err.contains(needle), "{err}");
    }
}
