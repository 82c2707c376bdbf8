use serde_json::json;
use tether_protocol::{ErrorCode, PresenceEvent, PresenceMember, ServerMessage};

use super::{error_code, H};

fn presence(msg: &ServerMessage) -> (PresenceEvent, String) {
    match msg {
        ServerMessage::Presence {
            event, client_id, ..
        } => (*event, client_id.clone()),
        other => panic!("expected presence, got {other:?}"),
    }
}

#[test]
fn join_update_leave_go_to_the_other_subscribers() {
    let mut h = H::new();
    let a = h.conn("a");
    let b = h.conn("b");
    h.subscribe(a, "tasks");
    h.subscribe(b, "tasks");
    h.send(
        a,
        json!({"type": "presence", "channel": "tasks", "state": {"editing": "t1"}}),
    );
    let got = h.drain();
    assert!(H::to(&got, a).is_empty(), "not echoed to the sender");
    assert_eq!(
        presence(&H::to(&got, b)[0]),
        (PresenceEvent::Join, "a".into())
    );
    h.send(
        a,
        json!({"type": "presence", "channel": "tasks", "state": {"editing": "t2"}}),
    );
    let got = h.drain();
    assert_eq!(
        presence(&H::to(&got, b)[0]),
        (PresenceEvent::Update, "a".into())
    );
    h.send(
        a,
        json!({"type": "presence", "channel": "tasks", "state": null}),
    );
    let got = h.drain();
    assert_eq!(
        presence(&H::to(&got, b)[0]),
        (PresenceEvent::Leave, "a".into())
    );
}

#[test]
fn late_subscriber_gets_presence_sync() {
    let mut h = H::new();
    let a = h.conn("a");
    h.subscribe(a, "tasks");
    h.send(
        a,
        json!({"type": "presence", "channel": "tasks", "state": {"user": "Sarah"}}),
    );
    h.drain();
    let b = h.conn("b");
    let got = h.subscribe(b, "tasks");
    assert_eq!(
        got.last(),
        Some(&ServerMessage::PresenceSync {
            channel: "tasks".into(),
            members: vec![PresenceMember {
                client_id: "a".into(),
                state: tether_protocol::Json::from(json!({"user": "Sarah"}))
            }]
        })
    );
}

#[test]
fn disconnect_and_unsubscribe_leave() {
    let mut h = H::new();
    let a = h.conn("a");
    let b = h.conn("b");
    let c = h.conn("c");
    for x in [a, b, c] {
        h.subscribe(x, "tasks");
        h.send(
            x,
            json!({"type": "presence", "channel": "tasks", "state": {}}),
        );
    }
    h.drain();
    h.e.disconnect(h.now, a);
    let got = h.drain();
    assert_eq!(
        presence(&H::to(&got, b)[0]),
        (PresenceEvent::Leave, "a".into())
    );
    assert_eq!(
        presence(&H::to(&got, c)[0]),
        (PresenceEvent::Leave, "a".into())
    );
    h.send(b, json!({"type": "unsubscribe", "channel": "tasks"}));
    let got = h.drain();
    assert_eq!(
        presence(&H::to(&got, c)[0]),
        (PresenceEvent::Leave, "b".into())
    );
}

#[test]
fn presence_and_broadcast_need_a_subscription() {
    let mut h = H::new();
    let a = h.conn("a");
    let got = h.call(
        a,
        json!({"type": "presence", "channel": "tasks", "state": {}}),
    );
    assert_eq!(error_code(&got[0]), Some(ErrorCode::NotSubscribed));
    let got = h.call(
        a,
        json!({"type": "broadcast", "channel": "tasks", "payload": 1}),
    );
    assert_eq!(error_code(&got[0]), Some(ErrorCode::NotSubscribed));
}

#[test]
fn broadcast_reaches_other_subscribers_only() {
    let mut h = H::new();
    let a = h.conn("a");
    let b = h.conn("b");
    let c = h.conn("c");
    h.subscribe(a, "chat");
    h.subscribe(b, "chat");
    h.subscribe(c, "other");
    h.send(
        a,
        json!({"type": "broadcast", "channel": "chat", "payload": {"typing": true}}),
    );
    let got = h.drain();
    assert!(H::to(&got, a).is_empty());
    assert!(H::to(&got, c).is_empty());
    assert_eq!(
        H::to(&got, b),
        vec![ServerMessage::Broadcast {
            channel: "chat".into(),
            payload: tether_protocol::Json::from(json!({"typing": true})),
            from: "a".into()
        }]
    );
}
