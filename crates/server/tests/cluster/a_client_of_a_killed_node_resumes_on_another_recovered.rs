//! SIGKILL of the node a subscriber was on: it resumes on another node with `since` and gets
//! `recovered` with every event it missed, nothing twice, then live events.

use serde_json::json;
use tether_protocol::{Continuity, ServerMessage};

use crate::support::{chain, events_through, offsets, suite_redis, Database, Node};

async fn write(writer: &mut crate::common::Client, mids: std::ops::RangeInclusive<u64>) {
    for mid in mids {
        writer
            .put(mid, "tasks", &format!("t{mid}"), json!({"n": mid}))
            .await;
        while !matches!(writer.recv().await, ServerMessage::Ack { .. }) {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_a_killed_node_resumes_on_another_recovered() {
    let db = Database::new();
    let redis = suite_redis();
    let n1 = Node::start(&db.url(), Some(&redis));
    let mut n2 = Node::start(&db.url(), Some(&redis));
    let mut writer = n1.client("writer").await;
    let mut sub = n2.client("sub").await;
    let first = sub.subscribe(json!({"channel": "tasks"})).await;
    let epoch = match &first[0] {
        ServerMessage::Subscribed { epoch, .. } => epoch.clone(),
        other => panic!("expected subscribed, got {other:?}"),
    };
    write(&mut writer, 1..=5).await;
    assert_eq!(offsets(&events_through(&mut sub, 5).await), chain(1, 5));

    n2.kill9();
    write(&mut writer, 6..=10).await;
    let mut sub = n1.client("sub").await;
    let got = sub
        .subscribe(json!({"channel": "tasks", "since": {"epoch": epoch, "offset": 5}}))
        .await;
    match &got[0] {
        ServerMessage::Subscribed {
            continuity, offset, ..
        } => assert_eq!((*continuity, *offset), (Continuity::Recovered, 5)),
        other => panic!("expected subscribed, got {other:?}"),
    }
    let mut seen = crate::support::events(&got);
    if seen.last().is_none_or(|e| e.0 < 10) {
        seen.extend(events_through(&mut sub, 10).await);
    }
    assert_eq!(offsets(&seen), chain(6, 10), "the missed events, once each");
    write(&mut writer, 11..=11).await;
    assert_eq!(offsets(&events_through(&mut sub, 11).await), chain(11, 11));
}
