//! Pipelined mutations share group commits; one that fails in the store (a trigger makes
//! SQLite refuse its dedupe record, after its document and log entry were written) is answered
//! `error INTERNAL` and leaves no trace, while rejects and acks around it commit as usual.

use crate::common::{ack, event, TestServer};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tether_protocol::{ErrorCode, RejectReason, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

const DOOMED: u64 = 17;

/// Mutation `mid` of the script: every 10th + 3 patches a missing document (not_found), every
/// 10th + 7 puts with a wrong base_version (conflict), [`DOOMED`] fails in the store, the rest
/// are plain puts.
fn mutation(mid: u64) -> Value {
    let mut m = json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put",
                       "id": format!("t{mid}"), "doc": {"n": mid}});
    if mid == DOOMED {
        m["id"] = json!("doomed");
    } else if mid % 10 == 3 {
        m["op"] = json!("patch");
        m["id"] = json!(format!("missing{mid}"));
    } else if mid % 10 == 7 {
        m["base_version"] = json!(5);
    }
    m
}

fn is_plain(mid: u64) -> bool {
    mid != DOOMED && mid % 10 != 3 && mid % 10 != 7
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_failing_in_the_store_does_not_disturb_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tether.sqlite3");
    drop(tether_server::SqliteStore::open(&db).unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let stored_id = (DOOMED ^ (1 << 63)) as i64; // mutation ids are stored order-preserving
    conn.execute_batch(&format!(
        "CREATE TRIGGER doom BEFORE INSERT ON dedupe WHEN NEW.mutation_id = {stored_id}
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
    ))
    .unwrap();
    drop(conn);

    let server = TestServer::start_in(dir, |o| o.rate_per_sec = 0).await;
    let mut c = server.client("c").await;
    c.subscribe(json!({"channel": "tasks"})).await;
    let n = 40u64;
    for mid in 1..=n {
        c.ws.feed(Message::text(mutation(mid).to_string()))
            .await
            .unwrap();
    }
    c.ws.flush().await.unwrap();
    let mut offset = 0;
    let mut replies = Vec::new();
    for mid in 1..=n {
        if is_plain(mid) {
            offset += 1;
            assert_eq!(
                event(&c.recv().await),
                (offset, offset - 1, format!("t{mid}"))
            );
            let reply = c.recv().await;
            assert_eq!(ack(&reply), (mid, 1, offset));
            replies.push((mid, reply));
            continue;
        }
        let reply = c.recv().await;
        match (&reply, mid) {
            (
                ServerMessage::Error {
                    code: ErrorCode::Internal,
                    mutation_id: Some(m),
                    message,
                    ..
                },
                DOOMED,
            ) => {
                assert_eq!(*m, DOOMED);
                assert!(message.contains("injected failure"), "{message}");
            }
            (ServerMessage::Reject { reason, .. }, _) => {
                let expected = if mid % 10 == 3 {
                    RejectReason::NotFound
                } else {
                    RejectReason::Conflict
                };
                assert_eq!(*reason, expected, "mutation {mid}");
                replies.push((mid, reply));
            }
            (other, _) => panic!("mutation {mid}: {other:?}"),
        }
    }
    let dir = server.stop().await;

    // Restarted on the same file: everything answered is there, the failed one is not.
    let server = TestServer::start_in(dir, |o| o.rate_per_sec = 0).await;
    let mut c = server.client("c").await;
    let got = c.subscribe(json!({"channel": "tasks"})).await;
    let plain: Vec<u64> = (1..=n).filter(|m| is_plain(*m)).collect();
    match &got[0] {
        ServerMessage::Subscribed {
            offset: head,
            snapshot: Some(docs),
            ..
        } => {
            assert_eq!(*head, offset);
            let mut ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
            ids.sort();
            let mut expected: Vec<String> = plain.iter().map(|m| format!("t{m}")).collect();
            expected.sort();
            assert_eq!(ids, expected);
        }
        other => panic!("{other:?}"),
    }
    // Acks and rejects were recorded with their batch: resends get the identical answers.
    for (mid, reply) in &replies {
        c.send(mutation(*mid)).await;
        assert_eq!(&c.recv().await, reply, "resend of {mid}");
    }
    c.silent_for(100).await;
    server.stop().await;
}
