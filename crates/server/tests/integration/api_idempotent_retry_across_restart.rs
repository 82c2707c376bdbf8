//! A backend write retried with the same `Idempotency-Key` gets the identical answer and
//! applies nothing twice, also after the server restarted on the same database (the key maps
//! onto the committed dedupe record of client `api:<key name>:<key>`); batches too, per item.

use crate::common::api_client::{Req, API_KEY_ARG};
use crate::common::TestServer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_answered_from_the_record_after_a_restart() {
    let tweak = |o: &mut tether_server::edge::Options| o.api_keys = vec![API_KEY_ARG.into()];
    let server = TestServer::start(tweak).await;
    let addr = server.addr();
    let doc = "/api/v1/channels/tasks/documents/t1";
    let (status, first) = Req::new("PUT", doc)
        .idempotent("order-42")
        .json(json!({"n": 1}))
        .send(addr)
        .await;
    assert_eq!(status, 200, "{first}");
    let batch = json!({"mutations": [
        {"op": "patch", "id": "t1", "doc": {"m": 1}},
        {"op": "put", "id": "t1", "doc": {"x": 1}, "base_version": 99},
    ]});
    let (status, first_batch) = Req::new("POST", "/api/v1/channels/tasks/batch")
        .idempotent("batch-7")
        .json(batch.clone())
        .send(addr)
        .await;
    assert_eq!(status, 200, "{first_batch}");
    assert_eq!(first_batch["results"][0]["status"], 200);
    assert_eq!(first_batch["results"][1]["status"], 409);
    // Same server: the same answer, nothing applied.
    let (status, again) = Req::new("PUT", doc)
        .idempotent("order-42")
        .json(json!({"n": 2}))
        .send(addr)
        .await;
    assert_eq!((status, &again), (200, &first));
    let dir = server.stop().await;

    let server = TestServer::start_in(dir, tweak).await;
    let addr = server.addr();
    let (status, again) = Req::new("PUT", doc)
        .idempotent("order-42")
        .json(json!({"n": 3}))
        .send(addr)
        .await;
    assert_eq!((status, &again), (200, &first));
    let (status, again_batch) = Req::new("POST", "/api/v1/channels/tasks/batch")
        .idempotent("batch-7")
        .json(batch)
        .send(addr)
        .await;
    assert_eq!((status, &again_batch), (200, &first_batch));

    let (_, head) = Req::new("GET", "/api/v1/channels/tasks").send(addr).await;
    assert_eq!(head["offset"], 2, "one put and one patch, each once");
    let (_, got) = Req::new("GET", doc).send(addr).await;
    assert_eq!(got["doc"], json!({"n": 1, "m": 1}));
    // A new key is a new write.
    let (status, new) = Req::new("PUT", doc)
        .idempotent("order-43")
        .json(json!({"n": 4}))
        .send(addr)
        .await;
    assert_eq!((status, new["version"].clone()), (200, json!(3)));
    server.stop().await;
}
