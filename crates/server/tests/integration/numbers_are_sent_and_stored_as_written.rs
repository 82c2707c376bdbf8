//! Numbers pass through the server as written (PROTOCOL.md §1, "Numbers"): the text a client
//! writes reaches a live subscriber unchanged, and after a restart a fresh subscriber reads the
//! same text from the SQLite file (no number is reformatted on the way).

use serde_json::json;
use tether_protocol::{Continuity, ServerMessage};

use crate::common::{ack, TestServer};

const BODY: &str = r#"{"a":1.50,"b":1e2,"c":[0.1000000000000000055511151231257827,-0.0,2E-7],"d":12345678901234567890123}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn number_texts_reach_subscribers_and_survive_a_restart_unchanged() {
    let server = TestServer::start(|_| {}).await;
    let mut writer = server.client("w").await;
    let mut reader = server.client("r").await;
    reader.subscribe(json!({"channel": "nums"})).await;
    writer
        .send_text(format!(
            r#"{{"type":"mutate","mutation_id":1,"channel":"nums","op":"put","id":"n","doc":{BODY}}}"#
        ))
        .await;
    assert_eq!(ack(&writer.recv().await).0, 1);
    match reader.recv().await {
        ServerMessage::Event { doc: Some(doc), .. } => assert_eq!(doc.to_text(), BODY),
        other => panic!("expected the event, got {other:?}"),
    }
    writer.close().await;
    reader.close().await;

    let dir = server.stop().await;
    let server = TestServer::start_in(dir, |_| {}).await;
    let mut fresh = server.client("f").await;
    let got = fresh.subscribe(json!({"channel": "nums"})).await;
    match &got[0] {
        ServerMessage::Subscribed {
            continuity: Continuity::Reset,
            snapshot: Some(docs),
            ..
        } => {
            assert_eq!(docs.len(), 1);
            assert_eq!(docs[0].doc.to_text(), BODY);
        }
        other => panic!("expected a reset snapshot, got {other:?}"),
    }
    server.stop().await;
}
