//! The node-to-node relay (cluster mode): broadcasts and presence produced by one engine and
//! handled by another, with virtual time for the heartbeat and the expiry of a silent node.

use serde_json::json;
use tether_protocol::{PresenceEvent, PresenceMember, ServerMessage};

use super::H;
use crate::engine::{ApiAnswer, ApiRequestId, NodeMessage, RelayConfig};

const CONFIG: RelayConfig = RelayConfig {
    heartbeat_ms: 1_000,
    expiry_ms: 5_000,
};

/// An engine with the relay on as node `id`.
fn node(id: &str) -> H {
    let mut h = H::new();
    h.e.enable_relay(h.now, id.into(), CONFIG);
    h
}

/// Everything `from` relayed so far.
fn relayed(from: &mut H) -> Vec<(u64, NodeMessage)> {
    std::iter::from_fn(|| from.e.poll_node_message()).collect()
}

/// Hands `messages` of node `id` to `to`.
fn deliver(to: &mut H, id: &str, messages: &[(u64, NodeMessage)]) {
    for (seq, msg) in messages {
        to.e.handle_node_message(to.now, id, *seq, msg.clone());
    }
}

/// The (event, client, state) of presence messages among `msgs`.
fn presence(msgs: &[ServerMessage]) -> Vec<(PresenceEvent, String, Option<serde_json::Value>)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMessage::Presence {
                event,
                client_id,
                state,
                ..
            } => Some((
                *event,
                client_id.clone(),
                state
                    .as_ref()
                    .map(|s| serde_json::from_str(&s.to_text()).expect("json")),
            )),
            _ => None,
        })
        .collect()
}

fn broadcasts(msgs: &[ServerMessage]) -> Vec<(String, String)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMessage::Broadcast { payload, from, .. } => {
                Some((from.clone(), payload.to_text()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_broadcast_reaches_the_other_node_once_and_never_comes_back() {
    let (mut a, mut b) = (node("A"), node("B"));
    relayed(&mut a); // the first heartbeats
    relayed(&mut b);
    let sender = a.conn("sender");
    let local = a.conn("local");
    a.subscribe(sender, "chat");
    a.subscribe(local, "chat");
    let remote = b.conn("remote");
    b.subscribe(remote, "chat");
    a.send(
        sender,
        json!({"type": "broadcast", "channel": "chat", "payload": {"typing": true}}),
    );
    let got = a.drain();
    assert_eq!(broadcasts(&H::to(&got, local)).len(), 1, "local at once");
    assert!(H::to(&got, sender).is_empty());
    let out = relayed(&mut a);
    assert!(
        matches!(out.as_slice(), [(_, NodeMessage::Broadcast { channel, .. })] if channel == "chat"),
        "{out:?}"
    );
    deliver(&mut b, "A", &out);
    let got = b.drain();
    assert_eq!(
        broadcasts(&H::to(&got, remote)),
        vec![("sender".into(), r#"{"typing":true}"#.into())]
    );
    // A repeat of the same message (same node, same sequence number) is not delivered again.
    deliver(&mut b, "A", &out);
    assert!(b.drain().is_empty());
    // Node A's own message coming back over the link is ignored by A.
    deliver(&mut a, "A", &out);
    assert!(a.drain().is_empty());
    assert!(
        relayed(&mut b).is_empty(),
        "a relayed broadcast is not relayed again"
    );
}

#[test]
fn an_api_broadcast_is_relayed_too() {
    let (mut a, mut b) = (node("A"), node("B"));
    relayed(&mut a);
    let remote = b.conn("remote");
    b.subscribe(remote, "chat");
    a.e.api_broadcast(
        ApiRequestId(1),
        "jobs",
        "chat".into(),
        json!({"x": 1}).into(),
    );
    let reply = a.e.poll_api_reply().expect("answered");
    assert_eq!(reply.answer, ApiAnswer::Broadcast { delivered: 0 });
    deliver(&mut b, "A", &relayed(&mut a));
    let got = b.drain();
    assert_eq!(
        broadcasts(&H::to(&got, remote)),
        vec![("api:jobs".into(), r#"{"x":1}"#.into())]
    );
}

#[test]
fn without_a_relay_nothing_is_relayed_and_nothing_is_taken() {
    let mut h = H::new();
    let a = h.conn("a");
    h.subscribe(a, "chat");
    h.send(
        a,
        json!({"type": "broadcast", "channel": "chat", "payload": 1}),
    );
    h.send(
        a,
        json!({"type": "presence", "channel": "chat", "state": {"x": 1}}),
    );
    h.advance(10_000);
    assert_eq!(h.e.poll_node_message(), None);
    h.e.handle_node_message(
        h.now,
        "B",
        1,
        NodeMessage::Broadcast {
            channel: "chat".into(),
            payload: json!(2).into(),
            from: "x".into(),
        },
    );
    assert!(h.drain().is_empty());
}

#[test]
fn presence_joins_and_leaves_are_seen_on_the_other_node_and_in_its_sync() {
    let (mut a, mut b) = (node("A"), node("B"));
    relayed(&mut a);
    relayed(&mut b);
    let sarah = a.conn("sarah");
    a.subscribe(sarah, "tasks");
    let watcher = b.conn("watcher");
    b.subscribe(watcher, "tasks");
    a.send(
        sarah,
        json!({"type": "presence", "channel": "tasks", "state": {"editing": "t1"}}),
    );
    a.drain();
    deliver(&mut b, "A", &relayed(&mut a));
    let got = b.drain();
    assert_eq!(
        presence(&H::to(&got, watcher)),
        vec![(
            PresenceEvent::Join,
            "sarah".into(),
            Some(json!({"editing": "t1"}))
        )]
    );
    // A later subscriber on node B gets node A's member in its presence_sync, beside B's own.
    b.send(
        watcher,
        json!({"type": "presence", "channel": "tasks", "state": {"editing": "t2"}}),
    );
    b.drain();
    let late = b.conn("late");
    let sync = b.subscribe(late, "tasks");
    let members = sync.iter().find_map(|m| match m {
        ServerMessage::PresenceSync { members, .. } => Some(members.clone()),
        _ => None,
    });
    let expected: Vec<PresenceMember> = vec![
        PresenceMember {
            client_id: "sarah".into(),
            state: json!({"editing": "t1"}).into(),
        },
        PresenceMember {
            client_id: "watcher".into(),
            state: json!({"editing": "t2"}).into(),
        },
    ];
    assert_eq!(members, Some(expected));
    // Sarah disconnects from node A: node B's subscribers see her leave.
    a.e.disconnect(a.now, sarah);
    a.drain();
    deliver(&mut b, "A", &relayed(&mut a));
    let got = b.drain();
    for conn in [watcher, late] {
        assert_eq!(
            presence(&H::to(&got, conn)),
            vec![(PresenceEvent::Leave, "sarah".into(), None)]
        );
    }
}

#[test]
fn a_silent_node_s_members_leave_after_the_expiry_and_a_heartbeat_keeps_them() {
    let (mut a, mut b) = (node("A"), node("B"));
    let sarah = a.conn("sarah");
    a.subscribe(sarah, "tasks");
    a.send(
        sarah,
        json!({"type": "presence", "channel": "tasks", "state": {"u": 1}}),
    );
    a.drain();
    let watcher = b.conn("watcher");
    b.subscribe(watcher, "tasks");
    deliver(&mut b, "A", &relayed(&mut a));
    b.drain();
    // Heartbeats of A keep its members on B for as long as they come.
    for _ in 0..8 {
        a.advance(1_000);
        b.advance(1_000);
        let beats = relayed(&mut a);
        assert!(
            beats
                .iter()
                .any(|(_, m)| matches!(m, NodeMessage::Members(list) if list.len() == 1)),
            "{beats:?}"
        );
        deliver(&mut b, "A", &beats);
        assert!(presence(&H::to(&b.drain(), watcher)).is_empty());
    }
    // Node A dies without a goodbye: nothing before the expiry, the leave at it.
    b.advance(CONFIG.expiry_ms - 1);
    assert!(presence(&H::to(&b.drain(), watcher)).is_empty());
    let got = b.advance(1);
    assert_eq!(
        presence(&H::to(&got, watcher)),
        vec![(PresenceEvent::Leave, "sarah".into(), None)]
    );
    // The node is forgotten: the next presence_sync does not list Sarah.
    let late = b.conn("late");
    let sync = b.subscribe(late, "tasks");
    assert!(sync
        .iter()
        .any(|m| matches!(m, ServerMessage::PresenceSync { members, .. } if members.is_empty())));
}

#[test]
fn a_heartbeat_repairs_a_lost_presence_message() {
    let (mut a, mut b) = (node("A"), node("B"));
    relayed(&mut a);
    let sarah = a.conn("sarah");
    a.subscribe(sarah, "tasks");
    let watcher = b.conn("watcher");
    b.subscribe(watcher, "tasks");
    a.send(
        sarah,
        json!({"type": "presence", "channel": "tasks", "state": {"u": 1}}),
    );
    a.drain();
    relayed(&mut a); // the join is lost on the way
    a.advance(1_000);
    deliver(&mut b, "A", &relayed(&mut a));
    let got = b.drain();
    assert_eq!(
        presence(&H::to(&got, watcher)),
        vec![(PresenceEvent::Join, "sarah".into(), Some(json!({"u": 1})))]
    );
    // The leave is lost too: the next heartbeat (an empty list) repairs it.
    a.send(sarah, json!({"type": "unsubscribe", "channel": "tasks"}));
    a.drain();
    relayed(&mut a);
    a.advance(1_000);
    deliver(&mut b, "A", &relayed(&mut a));
    let got = b.drain();
    assert_eq!(
        presence(&H::to(&got, watcher)),
        vec![(PresenceEvent::Leave, "sarah".into(), None)]
    );
}

#[test]
fn a_client_present_on_two_nodes_leaves_only_when_gone_from_both() {
    let (mut a, mut b) = (node("A"), node("B"));
    relayed(&mut a);
    let on_a = a.conn("sarah");
    a.subscribe(on_a, "tasks");
    let on_b = b.conn("sarah");
    b.subscribe(on_b, "tasks");
    let watcher = b.conn("watcher");
    b.subscribe(watcher, "tasks");
    a.send(
        on_a,
        json!({"type": "presence", "channel": "tasks", "state": {"tab": "a"}}),
    );
    a.drain();
    deliver(&mut b, "A", &relayed(&mut a));
    b.drain();
    b.send(
        on_b,
        json!({"type": "presence", "channel": "tasks", "state": {"tab": "b"}}),
    );
    let got = b.drain();
    assert_eq!(
        presence(&H::to(&got, watcher)),
        vec![(
            PresenceEvent::Update,
            "sarah".into(),
            Some(json!({"tab": "b"}))
        )]
    );
    // Leaving node B: node A's state is what is left.
    b.e.disconnect(b.now, on_b);
    let got = b.drain();
    assert_eq!(
        presence(&H::to(&got, watcher)),
        vec![(
            PresenceEvent::Update,
            "sarah".into(),
            Some(json!({"tab": "a"}))
        )]
    );
    a.e.disconnect(a.now, on_a);
    deliver(&mut b, "A", &relayed(&mut a));
    let got = b.drain();
    assert_eq!(
        presence(&H::to(&got, watcher)),
        vec![(PresenceEvent::Leave, "sarah".into(), None)]
    );
}
