//! A backend write with a stale `base_version` is refused 409 `CONFLICT` carrying the current
//! document; `base_version=0` on an existing document too; invalid writes are 400 `INVALID`
//! with the protocol's reason name, a patch of a missing document 404; nothing is applied.

use crate::common::api_client::{error_code, Req, API_KEY_ARG};
use crate::common::TestServer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_writes_get_the_current_document() {
    let server = TestServer::start(|o| o.api_keys = vec![API_KEY_ARG.into()]).await;
    let addr = server.addr();
    let doc = "/api/v1/channels/tasks/documents/t1";
    let (status, _) = Req::new("PUT", &format!("{doc}?base_version=0"))
        .json(json!({"title": "v1", "n": 1.50}))
        .send(addr)
        .await;
    assert_eq!(status, 200);
    let (status, _) = Req::new("PATCH", &format!("{doc}?base_version=1"))
        .json(json!({"title": "v2"}))
        .send(addr)
        .await;
    assert_eq!(status, 200);

    for path in [
        format!("{doc}?base_version=1"),
        format!("{doc}?base_version=0"),
    ] {
        let (status, body) = Req::new("PUT", &path)
            .json(json!({"title": "stale"}))
            .send(addr)
            .await;
        assert_eq!((status, error_code(&body)), (409, "CONFLICT"), "{body}");
        assert_eq!(body["error"]["reason"], "conflict");
        assert_eq!(body["error"]["current"]["version"], 2);
        assert_eq!(
            body["error"]["current"]["doc"],
            json!({"title": "v2", "n": 1.50})
        );
    }

    let (status, body) = Req::new("PUT", doc).json(json!([1, 2])).send(addr).await;
    assert_eq!((status, error_code(&body)), (400, "INVALID"), "{body}");
    assert_eq!(body["error"]["reason"], "invalid");
    let (status, body) = Req::new("PATCH", "/api/v1/channels/tasks/documents/none")
        .json(json!({"a": 1}))
        .send(addr)
        .await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"), "{body}");
    let (status, body) = Req::new("PUT", "/api/v1/channels/bad%20channel/documents/x")
        .json(json!({}))
        .send(addr)
        .await;
    assert_eq!((status, error_code(&body)), (400, "INVALID"), "{body}");
    let (status, body) = Req::new("PUT", doc).body_text("{not json").send(addr).await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"), "{body}");
    let big = format!("{{\"a\": \"{}\"}}", "x".repeat(300_000));
    let (status, body) = Req::new("PUT", doc).body_text(&big).send(addr).await;
    assert_eq!((status, error_code(&body)), (413, "TOO_LARGE"), "{body}");

    // Nothing of it was applied.
    let (status, body) = Req::new("GET", doc).send(addr).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["version"].clone(), body["doc"]["title"].clone()),
        (json!(2), json!("v2"))
    );
    server.stop().await;
}
