//! Reconnecting with `since` replays exactly the missed events, in order, as `recovered`.

use crate::common::{event, TestServer};
use serde_json::json;
use tether_protocol::{Continuity, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_with_since_replays_exactly_the_missed_events() {
    let server = TestServer::start(|_| {}).await;
    let mut writer = server.client("w").await;
    let mut reader = server.client("r").await;
    let got = reader.subscribe(json!({"channel": "tasks"})).await;
    let epoch = match &got[0] {
        ServerMessage::Subscribed { epoch, .. } => epoch.clone(),
        other => panic!("{other:?}"),
    };
    for mid in 1..=3 {
        writer
            .put(mid, "tasks", &format!("t{mid}"), json!({"n": mid}))
            .await;
        writer.recv().await;
        assert_eq!(event(&reader.recv().await).0, mid);
    }
    // The reader drops off at offset 3; five changes happen meanwhile.
    reader.close().await;
    for mid in 4..=8 {
        writer
            .put(mid, "tasks", &format!("t{}", mid % 3), json!({"n": mid}))
            .await;
        writer.recv().await;
    }
    let mut reader = server.client("r").await;
    let got = reader
        .subscribe(json!({"channel": "tasks", "since": {"epoch": epoch, "offset": 3}}))
        .await;
    assert_eq!(
        got.len(),
        1 + 5 + 1,
        "subscribed, 5 events, presence_sync: {got:?}"
    );
    assert!(matches!(
        &got[0],
        ServerMessage::Subscribed {
            continuity: Continuity::Recovered,
            offset: 3,
            snapshot: None,
            ..
        }
    ));
    let replayed: Vec<_> = got[1..6].iter().map(event).collect();
    let expected: Vec<_> = (4..=8u64)
        .map(|o| (o, o - 1, format!("t{}", o % 3)))
        .collect();
    assert_eq!(replayed, expected);
    assert!(matches!(got[6], ServerMessage::PresenceSync { .. }));
    // Live events continue the chain.
    writer.put(9, "tasks", "t9", json!({})).await;
    assert_eq!(event(&reader.recv().await), (9, 8, "t9".into()));
    server.stop().await;
}
