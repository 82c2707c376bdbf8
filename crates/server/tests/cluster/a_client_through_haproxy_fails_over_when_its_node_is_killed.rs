//! A real load balancer (HAProxy, health checks on `/healthz`) in front of two nodes: a
//! subscriber connected through it loses its connection when its node is SIGKILLed, connects
//! through HAProxy again (now to the other node) and resumes `recovered` with every event it
//! missed, once each.

use std::time::{Duration, Instant};

use serde_json::json;
use tether_protocol::{Continuity, ServerMessage};

use crate::common::{http_get, Client, Closed};
use crate::support::{chain, events, events_through, linked_nodes, offsets, Database, HaProxy};

async fn write(writer: &mut Client, mids: std::ops::RangeInclusive<u64>) {
    for mid in mids {
        writer
            .put(mid, "tasks", &format!("t{mid}"), json!({"n": mid}))
            .await;
        while !matches!(writer.recv().await, ServerMessage::Ack { .. }) {}
    }
}

/// Connects through the load balancer and says hello, retrying (bounded) while it still
/// routes to the dead node.
async fn hello_through(url: &str, client_id: &str) -> Client {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok((ws, _)) = tokio_tungstenite::connect_async(url).await {
            let mut c = Client { ws };
            c.send(json!({"type": "hello", "protocol": 1, "client_id": client_id}))
                .await;
            if let Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) =
                tokio::time::timeout(
                    Duration::from_secs(2),
                    futures_util::StreamExt::next(&mut c.ws),
                )
                .await
            {
                if text.contains("\"welcome\"") {
                    return c;
                }
            }
        }
        assert!(Instant::now() < deadline, "no node reached through HAProxy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_through_haproxy_fails_over_when_its_node_is_killed() {
    let db = Database::new();
    let mut nodes = linked_nodes(&db, 2, &[]).await;
    let lb = HaProxy::start(&[nodes[0].addr, nodes[1].addr]);
    let (status, body) = http_get(lb.addr, "/healthz").await;
    assert_eq!(
        (status, body.trim()),
        (200, "ok"),
        "healthz through HAProxy"
    );
    let mut writer = nodes[1].client("writer").await;
    // `balance first`: through HAProxy to node 1.
    let mut sub = hello_through(&lb.url(), "sub").await;
    let first = sub.subscribe(json!({"channel": "tasks"})).await;
    let epoch = match &first[0] {
        ServerMessage::Subscribed { epoch, .. } => epoch.clone(),
        other => panic!("expected subscribed, got {other:?}"),
    };
    write(&mut writer, 1..=3).await;
    assert_eq!(offsets(&events_through(&mut sub, 3).await), chain(1, 3));

    nodes[0].kill9();
    // The connection was to node 1: it ends.
    assert_ne!(sub.closed().await, Closed::Code(1000));
    write(&mut writer, 4..=6).await;
    let mut sub = hello_through(&lb.url(), "sub").await;
    let got = sub
        .subscribe(json!({"channel": "tasks", "since": {"epoch": epoch, "offset": 3}}))
        .await;
    match &got[0] {
        ServerMessage::Subscribed {
            continuity, offset, ..
        } => assert_eq!((*continuity, *offset), (Continuity::Recovered, 3)),
        other => panic!("expected subscribed, got {other:?}"),
    }
    let mut seen = events(&got);
    if seen.last().is_none_or(|e| e.0 < 6) {
        seen.extend(events_through(&mut sub, 6).await);
    }
    assert_eq!(offsets(&seen), chain(4, 6), "the missed events, once each");
    write(&mut writer, 7..=7).await;
    assert_eq!(offsets(&events_through(&mut sub, 7).await), chain(7, 7));
}
