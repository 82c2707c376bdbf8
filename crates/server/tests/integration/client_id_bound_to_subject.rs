//! With two tokens (subjects alice and bob): bob cannot say hello as alice's client id
//! (CLIENT_ID_TAKEN, close 4003), cannot read her dedupe records or write under her id by
//! adoption (`reject forbidden`), so her own next mutation is applied; the binding is in the
//! SQLite file and survives a restart; `?token=` binds the same way as `hello.token`.

use crate::common::{ack, token as sign, Client, Closed, TestServer, SECRET};
use serde_json::json;
use tether_protocol::{ErrorCode, RejectReason, ServerMessage};
use tether_server::Claims;

fn token(sub: &str) -> String {
    sign(&Claims::new(sub).write(&["tasks"]))
}

async fn start(dir: tempfile::TempDir) -> TestServer {
    TestServer::start_in(dir, |o| {
        o.dev = false;
        o.auth_secret = Some(SECRET.into());
    })
    .await
}

async fn hello(url: &str, client_id: &str, sub: &str) -> (Client, ServerMessage) {
    let mut c = Client::connect(url).await;
    c.send(json!({"type": "hello", "protocol": 1, "client_id": client_id, "token": token(sub)}))
        .await;
    let answer = c.recv().await;
    (c, answer)
}

async fn refused(url: &str, client_id: &str, sub: &str) {
    let (mut c, answer) = hello(url, client_id, sub).await;
    assert!(
        matches!(
            answer,
            ServerMessage::Error {
                code: ErrorCode::ClientIdTaken,
                ..
            }
        ),
        "{answer:?}"
    );
    assert_eq!(c.closed().await, Closed::Code(4003));
}

fn put(mid: u64, id: &str) -> serde_json::Value {
    json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put", "id": id,
           "doc": {"by": id}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_subject_can_neither_connect_as_nor_write_under_a_bound_client_id() {
    let server = start(tempfile::tempdir().unwrap()).await;
    let url = server.url();
    let (mut alice, answer) = hello(&url, "c-alice", "alice").await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    alice.send(put(1, "a1")).await;
    let alice_ack = alice.recv().await;
    assert_eq!(ack(&alice_ack).0, 1);

    refused(&url, "c-alice", "bob").await;
    // Through `?token=` instead of `hello.token`: the same binding.
    let mut via_query = Client::connect(&format!("{url}?token={}", token("bob"))).await;
    via_query
        .send(json!({"type": "hello", "protocol": 1, "client_id": "c-alice"}))
        .await;
    assert!(matches!(
        via_query.recv().await,
        ServerMessage::Error {
            code: ErrorCode::ClientIdTaken,
            ..
        }
    ));
    assert_eq!(via_query.closed().await, Closed::Code(4003));

    let (mut bob, answer) = hello(&url, "c-bob", "bob").await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    for mid in [1, 2] {
        let mut m = put(mid, &format!("bob{mid}"));
        m["client_id"] = json!("c-alice");
        bob.send(m).await;
        match bob.recv().await {
            ServerMessage::Reject {
                mutation_id,
                reason: RejectReason::Forbidden,
                ..
            } => assert_eq!(mutation_id, mid),
            other => panic!("{other:?}"),
        }
    }
    alice.send(put(2, "a2")).await;
    assert_eq!(ack(&alice.recv().await).0, 2);
    let dir = server.stop().await;

    // Restarted on the same file: the binding holds, the owner is welcome.
    let server = start(dir).await;
    let url = server.url();
    refused(&url, "c-alice", "bob").await;
    let (mut alice, answer) = hello(&url, "c-alice", "alice").await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    alice.send(put(1, "a1")).await;
    assert_eq!(alice.recv().await, alice_ack);
    let got = alice.subscribe(json!({"channel": "tasks"})).await;
    match &got[0] {
        ServerMessage::Subscribed {
            snapshot: Some(docs),
            ..
        } => {
            let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
            assert_eq!(ids, ["a1", "a2"]);
        }
        other => panic!("{other:?}"),
    }
    server.stop().await;
}
