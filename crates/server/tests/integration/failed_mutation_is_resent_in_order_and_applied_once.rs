//! A mutation that fails in the store (a trigger makes SQLite refuse its dedupe record, after
//! its document and log entry were written, until a document `unlock` exists) is answered
//! `error INTERNAL` naming it and its connection is closed with 1011: none of that client's
//! later pipelined mutations is applied before it. Another client's mutations, pipelined into
//! the same group commits, are all applied. After reconnecting, the client's resend applies the
//! failed mutation exactly once and its later mutations in order; restarted, every answer is
//! recorded.
//!
//! (Replaces "failing_mutation_in_a_batch_spares_the_others", whose later mutations of the
//! *same* client committed after the failed one and so made its resend unappliable.)

use std::collections::BTreeSet;

use crate::common::{ack, Closed, TestServer};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tether_protocol::{ErrorCode, RejectReason, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

const DOOMED: u64 = 17;
const N: u64 = 40;

/// Mutation `mid` of client c: every 10th + 3 patches a missing document (not_found), every
/// 10th + 7 puts with a wrong base_version (conflict), [`DOOMED`] fails in the store while
/// locked, the rest are plain puts.
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

fn other(mid: u64) -> Value {
    json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put",
           "id": format!("d{mid}"), "doc": {"n": mid}})
}

/// Checks c's answer to `mid` (after the failure has been lifted, for DOOMED).
fn check(mid: u64, reply: &ServerMessage) {
    if mid == DOOMED || (mid % 10 != 3 && mid % 10 != 7) {
        let (m, version, _) = ack(reply);
        assert_eq!((m, version), (mid, 1), "{reply:?}");
        return;
    }
    let expected = if mid % 10 == 3 {
        RejectReason::NotFound
    } else {
        RejectReason::Conflict
    };
    match reply {
        ServerMessage::Reject {
            mutation_id,
            reason,
            ..
        } => assert_eq!((*mutation_id, *reason), (mid, expected)),
        other => panic!("mutation {mid}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failed_mutation_blocks_only_its_client_and_its_resend_applies_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tether.sqlite3");
    drop(crate::common::open_store(&db));
    let stored_id = (DOOMED ^ (1 << 63)) as i64; // mutation ids are stored order-preserving
    if crate::common::on_postgres() {
        // The same trigger in PL/pgSQL.
        #[cfg(feature = "postgres")]
        crate::common::store_choice::postgres_exec(
            dir.path(),
            &format!(
                "CREATE FUNCTION doom() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     IF NOT EXISTS (SELECT 1 FROM documents WHERE id = 'unlock') THEN
                         RAISE EXCEPTION 'injected failure';
                     END IF;
                     RETURN NEW;
                 END $$;
                 CREATE TRIGGER doom BEFORE INSERT ON dedupe FOR EACH ROW
                 WHEN (NEW.client_id = 'c' AND NEW.mutation_id = {stored_id})
                 EXECUTE FUNCTION doom();"
            ),
        );
    } else {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(&format!(
            "CREATE TRIGGER doom BEFORE INSERT ON dedupe
             WHEN NEW.client_id = 'c' AND NEW.mutation_id = {stored_id}
                  AND NOT EXISTS (SELECT 1 FROM documents WHERE id = 'unlock')
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
        ))
        .unwrap();
    }

    let server = TestServer::start_in(dir, |o| o.rate_per_sec = 0).await;
    let mut c = server.client("c").await;
    let mut d = server.client("d").await;
    for mid in 1..=N {
        c.ws.feed(Message::text(mutation(mid).to_string()))
            .await
            .unwrap();
        d.ws.feed(Message::text(other(mid).to_string()))
            .await
            .unwrap();
    }
    c.ws.flush().await.unwrap();
    d.ws.flush().await.unwrap();

    let mut replies = Vec::new();
    for mid in 1..DOOMED {
        let reply = c.recv().await;
        check(mid, &reply);
        replies.push((mid, reply));
    }
    match c.recv().await {
        ServerMessage::Error {
            code: ErrorCode::Internal,
            mutation_id: Some(DOOMED),
            message,
            ..
        } => assert!(message.contains("injected failure"), "{message}"),
        other => panic!("{other:?}"),
    }
    // Nothing for c's later mutations: they were never applied.
    assert_eq!(c.closed().await, Closed::Code(1011));
    // The other client's mutations in the same batches are all applied.
    for mid in 1..=N {
        let (m, version, _) = ack(&d.recv().await);
        assert_eq!((m, version), (mid, 1));
    }
    d.put(N + 1, "tasks", "unlock", json!({})).await;
    assert_eq!(ack(&d.recv().await).0, N + 1);

    // c reconnects and resends everything unanswered, in order: each applied once.
    let mut c = server.client("c").await;
    for mid in DOOMED..=N {
        c.send(mutation(mid)).await;
        let reply = c.recv().await;
        check(mid, &reply);
        replies.push((mid, reply));
    }
    c.send(mutation(DOOMED)).await;
    assert_eq!(c.recv().await, replies[(DOOMED - 1) as usize].1);
    c.silent_for(100).await;
    let dir = server.stop().await;

    // Restarted on the same file: every answer was recorded with its batch.
    let server = TestServer::start_in(dir, |o| o.rate_per_sec = 0).await;
    let mut c = server.client("c").await;
    let got = c.subscribe(json!({"channel": "tasks"})).await;
    let ServerMessage::Subscribed {
        snapshot: Some(docs),
        ..
    } = &got[0]
    else {
        panic!("{got:?}");
    };
    let ids: BTreeSet<String> = docs.iter().map(|d| d.id.clone()).collect();
    let mut expected: BTreeSet<String> = (1..=N)
        .filter(|m| *m != DOOMED && m % 10 != 3 && m % 10 != 7)
        .map(|m| format!("t{m}"))
        .collect();
    expected.extend((1..=N).map(|m| format!("d{m}")));
    expected.insert("doomed".into());
    expected.insert("unlock".into());
    assert_eq!(ids, expected);
    assert!(docs.iter().all(|d| d.version == 1), "each applied once");
    for (mid, reply) in &replies {
        c.send(mutation(*mid)).await;
        assert_eq!(&c.recv().await, reply, "resend of {mid}");
    }
    c.silent_for(100).await;
    server.stop().await;
}
