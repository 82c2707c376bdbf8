//! subscribe -> mutate -> every subscriber gets the event; the mutator sees it before its ack.

use crate::common::{ack, event, TestServer};
use serde_json::json;
use tether_protocol::{Continuity, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_gets_the_event_and_the_mutator_sees_it_before_the_ack() {
    let server = TestServer::start(|_| {}).await;
    let mut clients = Vec::new();
    for name in ["a", "b", "c"] {
        let mut c = server.client(name).await;
        let got = c.subscribe(json!({"channel": "tasks"})).await;
        assert!(matches!(
            got[0],
            ServerMessage::Subscribed {
                continuity: Continuity::Reset,
                offset: 0,
                ..
            }
        ));
        clients.push(c);
    }
    clients[0]
        .put(
            1,
            "tasks",
            "t1",
            json!({"title": "Write docs", "status": "todo"}),
        )
        .await;
    let first = clients[0].recv().await;
    assert_eq!(event(&first), (1, 0, "t1".into()));
    assert_eq!(ack(&clients[0].recv().await), (1, 1, 1));
    for c in &mut clients[1..] {
        let got = c.recv().await;
        assert_eq!(
            got, first,
            "identical event for every subscriber of the view"
        );
        match got {
            ServerMessage::Event {
                doc,
                origin,
                version,
                ..
            } => {
                assert_eq!(
                    doc,
                    Some(tether_protocol::Json::from(
                        json!({"title": "Write docs", "status": "todo"})
                    ))
                );
                assert_eq!(version, 1);
                assert_eq!(
                    origin.map(|o| (o.client_id, o.mutation_id)),
                    Some(("a".into(), 1))
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // A client not subscribed gets nothing; a late subscriber gets the document in its snapshot.
    let mut late = server.client("late").await;
    let got = late.subscribe(json!({"channel": "tasks"})).await;
    match &got[0] {
        ServerMessage::Subscribed {
            snapshot: Some(docs),
            offset: 1,
            ..
        } => {
            assert_eq!(docs.len(), 1);
            assert_eq!(docs[0].id, "t1");
        }
        other => panic!("{other:?}"),
    }
    server.stop().await;
}
