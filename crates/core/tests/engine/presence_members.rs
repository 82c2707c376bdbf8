//! The engine folds the server's `presence` events and `presence_sync` lists into who else is
//! on each channel and reports the whole list after each change; this client's own entry is
//! never listed.

use crate::common::{reset, Driver};
use tether_core::{Config, Output, PresenceChange};
use tether_protocol::json;
use tether_protocol::{PresenceEvent, PresenceMember, ServerMessage};

fn members(out: &[Output]) -> Vec<PresenceChange> {
    out.iter()
        .filter_map(|o| match o {
            Output::Presence(change) => Some(change.clone()),
            _ => None,
        })
        .collect()
}

fn event(
    event: PresenceEvent,
    client_id: &str,
    state: Option<tether_protocol::Json>,
) -> ServerMessage {
    ServerMessage::Presence {
        channel: "tasks".into(),
        event,
        client_id: client_id.into(),
        state,
    }
}

fn ids(change: &PresenceChange) -> Vec<&str> {
    change
        .members
        .iter()
        .map(|m| m.client_id.as_str())
        .collect()
}

#[test]
fn joins_updates_leaves_and_syncs_fold_into_the_member_list() {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 0, vec![]));
    d.drain();
    d.server(ServerMessage::PresenceSync {
        channel: "tasks".into(),
        members: vec![
            PresenceMember {
                client_id: "me".into(),
                state: json!({"user": "self"}),
            },
            PresenceMember {
                client_id: "sarah".into(),
                state: json!({"editing": "t1"}),
            },
        ],
    });
    let got = members(&d.drain());
    assert_eq!(got.len(), 1);
    assert_eq!(ids(&got[0]), vec!["sarah"], "own entry is not listed");

    d.server(event(
        PresenceEvent::Join,
        "bob",
        Some(json!({"editing": null})),
    ));
    let got = members(&d.drain());
    assert_eq!(ids(&got[0]), vec!["bob", "sarah"]);

    // The same state again changes nothing; this client's own events are ignored.
    d.server(event(
        PresenceEvent::Update,
        "bob",
        Some(json!({"editing": null})),
    ));
    d.server(event(PresenceEvent::Update, "me", Some(json!({"x": 1}))));
    assert!(members(&d.drain()).is_empty());

    d.server(event(
        PresenceEvent::Update,
        "sarah",
        Some(json!({"editing": "t2"})),
    ));
    let got = members(&d.drain());
    assert_eq!(got[0].members[1].state, json!({"editing": "t2"}));

    d.server(event(PresenceEvent::Leave, "bob", None));
    let got = members(&d.drain());
    assert_eq!(ids(&got[0]), vec!["sarah"]);
}
