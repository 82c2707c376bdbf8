//! Backend reads: one document (404 when absent or deleted), documents in id order matching the
//! shared filter syntax with cursor paging (`limit`, `after`, `next`), bad filters answered 400
//! `INVALID_FILTER`, and the channel head.

use crate::common::api_client::{error_code, Req, API_KEY_ARG};
use crate::common::TestServer;
use serde_json::{json, Value};

fn ids(body: &Value) -> Vec<String> {
    body["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["id"].as_str().expect("id").to_owned())
        .collect()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_sort_and_cursor_pages() {
    let server = TestServer::start(|o| o.api_keys = vec![API_KEY_ARG.into()]).await;
    let addr = server.addr();
    let mut mutations = Vec::new();
    for i in 0..25u64 {
        let status = if i % 3 == 0 { "todo" } else { "done" };
        mutations.push(
            json!({"op": "put", "id": format!("t{i:02}"), "doc": {"status": status, "n": i}}),
        );
    }
    let (status, _) = Req::new("POST", "/api/v1/channels/tasks/batch")
        .json(json!({ "mutations": mutations }))
        .send(addr)
        .await;
    assert_eq!(status, 200);
    let (status, _) = Req::new("DELETE", "/api/v1/channels/tasks/documents/t03")
        .send(addr)
        .await;
    assert_eq!(status, 200);

    let filter = encode(
        &json!({"and": [
            {"field": "status", "op": "eq", "value": "todo"},
            {"field": "n", "op": "gte", "value": 3},
        ]})
        .to_string(),
    );
    let mut got = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/api/v1/channels/tasks/documents?limit=3&filter={filter}");
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let (status, body) = Req::new("GET", &path).send(addr).await;
        assert_eq!(status, 200, "{body}");
        got.extend(ids(&body));
        pages += 1;
        match body["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    // 6, 9, 12, 15, 18, 21, 24 (3 was deleted).
    assert_eq!(got, ["t06", "t09", "t12", "t15", "t18", "t21", "t24"]);
    assert!(pages >= 3);

    let (_, all) = Req::new("GET", "/api/v1/channels/tasks/documents?limit=1000")
        .send(addr)
        .await;
    assert_eq!(ids(&all).len(), 24);
    assert_eq!(all["next"], Value::Null);

    let (status, body) = Req::new("GET", "/api/v1/channels/tasks/documents/t05")
        .send(addr)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["doc"], json!({"status": "done", "n": 5}));
    assert_eq!(body["version"], 1);
    for missing in ["t03", "nope"] {
        let path = format!("/api/v1/channels/tasks/documents/{missing}");
        let (status, body) = Req::new("GET", &path).send(addr).await;
        assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"));
    }
    let bad = encode(r#"{"field":"n","op":"like","value":1}"#);
    let path = format!("/api/v1/channels/tasks/documents?filter={bad}");
    let (status, body) = Req::new("GET", &path).send(addr).await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "INVALID_FILTER"),
        "{body}"
    );
    let (status, body) = Req::new("GET", "/api/v1/channels/tasks/documents?limit=0")
        .send(addr)
        .await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"), "{body}");

    let (_, head) = Req::new("GET", "/api/v1/channels/tasks").send(addr).await;
    assert_eq!(head["offset"], 26);
    server.stop().await;
}
