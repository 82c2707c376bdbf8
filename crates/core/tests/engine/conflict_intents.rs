//! A conflict never loses an edit: for every pair of intents (this client's edit, delete or
//! create against someone else's edit, delete or create), the conflict carries the local intent
//! exactly, the base it was made against and the server's current document; outcomes both
//! sides agree on (delete vs delete, identical bodies) are not conflicts.

use crate::common::{doc, reset, upsert, Driver};
use tether_core::{Config, Conflict, MutationOutcome, Output, Precondition};
use tether_protocol::{json, Json};
use tether_protocol::{Document, EventOp, Op, RejectReason, ServerMessage};

#[derive(Clone, Copy, Debug)]
enum Local {
    Edit,
    Delete,
    Create,
}

#[derive(Clone, Copy, Debug)]
enum Remote {
    Edit,
    Delete,
    /// Deleted and created again (for a local create: created first).
    Create,
}

const BASE: fn() -> Json = || json!({"title": "before", "n": 1});

fn remove(offset: u64, id: &str, version: u64) -> ServerMessage {
    ServerMessage::Event {
        channel: "tasks".into(),
        epoch: "e1".into(),
        offset,
        prev: offset - 1,
        op: EventOp::Remove,
        kind: None,
        id: id.into(),
        version,
        doc: None,
        origin: None,
    }
}

/// Runs one pair: this client's intent, then the other writer's change reaches the server
/// first; returns what the engine reported for the rejected mutation.
fn run(local: Local, remote: Remote, remote_body: Json) -> MutationOutcome {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    let exists = !matches!(local, Local::Create);
    let snapshot = if exists {
        vec![doc("w", 1, BASE())]
    } else {
        vec![]
    };
    d.server(reset("tasks", 1, snapshot));
    let (op, body, pre) = match local {
        Local::Edit => (
            Op::Patch,
            Some(json!({"title": "mine"})),
            Precondition::Auto,
        ),
        Local::Delete => (Op::Delete, None, Precondition::Auto),
        Local::Create => (
            Op::Put,
            Some(json!({"title": "mine"})),
            Precondition::MustNotExist,
        ),
    };
    let m = d.engine.mutate(d.now, "tasks", op, "w", body, pre).unwrap();
    d.drain();
    // The other writer's change, as events, then the server's answer to ours.
    let current: Option<Document> = match (exists, remote) {
        (true, Remote::Edit) => {
            d.server(upsert("tasks", 2, 1, "w", 2, remote_body.clone(), None));
            Some(doc("w", 2, remote_body))
        }
        (true, Remote::Delete) => {
            d.server(remove(2, "w", 2));
            None
        }
        (true, Remote::Create) => {
            d.server(remove(2, "w", 2));
            d.server(upsert("tasks", 3, 2, "w", 3, remote_body.clone(), None));
            Some(doc("w", 3, remote_body))
        }
        (false, Remote::Create) => {
            d.server(upsert("tasks", 2, 1, "w", 1, remote_body.clone(), None));
            Some(doc("w", 1, remote_body))
        }
        (false, Remote::Edit) => {
            d.server(upsert(
                "tasks",
                2,
                1,
                "w",
                1,
                json!({"title": "first"}),
                None,
            ));
            d.server(upsert("tasks", 3, 2, "w", 2, remote_body.clone(), None));
            Some(doc("w", 2, remote_body))
        }
        (false, Remote::Delete) => unreachable!("a create is not refused by a deleted document"),
    };
    d.server(ServerMessage::Reject {
        mutation_id: m,
        reason: RejectReason::Conflict,
        current,
        message: "stale".into(),
    });
    let out = d.drain();
    let outcomes: Vec<MutationOutcome> = out
        .into_iter()
        .filter_map(|o| match o {
            Output::Mutation(outcome) => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(d.engine.status().pending_mutations, 0);
    outcomes.into_iter().next().unwrap()
}

fn conflict(outcome: MutationOutcome) -> Conflict {
    match outcome {
        MutationOutcome::Conflict(c) => c,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn theirs() -> Json {
    json!({"title": "theirs", "n": 2})
}

#[test]
fn edit_against_edit_carries_the_edit_the_base_and_the_server() {
    let c = conflict(run(Local::Edit, Remote::Edit, theirs()));
    assert_eq!(c.mutation.op, Op::Patch);
    assert_eq!(c.local, Some(json!({"title": "mine", "n": 1})));
    assert_eq!(c.base, Some(BASE()));
    assert_eq!(c.server_current, Some(doc("w", 2, theirs())));
}

#[test]
fn edit_against_delete_keeps_the_edited_body() {
    // The edit of a document someone deleted: "mine" must be able to re-create it.
    let c = conflict(run(Local::Edit, Remote::Delete, Json::Null));
    assert_eq!(c.local, Some(json!({"title": "mine", "n": 1})));
    assert_eq!(c.base, Some(BASE()));
    assert_eq!(c.server_current, None);
}

#[test]
fn edit_against_re_create_keeps_the_edited_body() {
    let c = conflict(run(Local::Edit, Remote::Create, theirs()));
    assert_eq!(c.local, Some(json!({"title": "mine", "n": 1})));
    assert_eq!(c.server_current, Some(doc("w", 3, theirs())));
}

#[test]
fn delete_against_edit_is_a_conflict_with_the_delete_as_intent() {
    let c = conflict(run(Local::Delete, Remote::Edit, theirs()));
    assert_eq!(c.mutation.op, Op::Delete);
    assert_eq!(c.local, None);
    assert_eq!(c.base, Some(BASE()));
    assert_eq!(c.server_current, Some(doc("w", 2, theirs())));
}

#[test]
fn delete_against_delete_is_no_conflict() {
    let outcome = run(Local::Delete, Remote::Delete, Json::Null);
    assert!(
        matches!(
            &outcome,
            MutationOutcome::Converged {
                server_current: None,
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn delete_against_re_create_is_a_conflict() {
    let c = conflict(run(Local::Delete, Remote::Create, theirs()));
    assert_eq!(c.local, None);
    assert_eq!(c.server_current, Some(doc("w", 3, theirs())));
}

#[test]
fn create_against_create_carries_both_bodies() {
    let c = conflict(run(Local::Create, Remote::Create, theirs()));
    assert_eq!(c.mutation.op, Op::Put);
    assert_eq!(c.mutation.base_version, Some(0));
    assert_eq!(c.local, Some(json!({"title": "mine"})));
    assert_eq!(c.base, None);
    assert_eq!(c.server_current, Some(doc("w", 1, theirs())));
}

#[test]
fn create_against_create_and_edit_carries_both_bodies() {
    let c = conflict(run(Local::Create, Remote::Edit, theirs()));
    assert_eq!(c.local, Some(json!({"title": "mine"})));
    assert_eq!(c.server_current, Some(doc("w", 2, theirs())));
}

#[test]
fn identical_results_are_no_conflict() {
    let same_edit = run(Local::Edit, Remote::Edit, json!({"title": "mine", "n": 1}));
    assert!(
        matches!(
            &same_edit,
            MutationOutcome::Converged {
                server_current: Some(d),
                ..
            } if d.version == 2
        ),
        "{same_edit:?}"
    );
    let same_create = run(Local::Create, Remote::Create, json!({"title": "mine"}));
    assert!(
        matches!(&same_create, MutationOutcome::Converged { .. }),
        "{same_create:?}"
    );
}

#[test]
fn conflicts_keep_the_base_across_a_restart() {
    // The base travels with the persisted outbox entry.
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 1, vec![doc("w", 1, BASE())]));
    d.engine
        .mutate(
            d.now,
            "tasks",
            Op::Patch,
            "w",
            Some(json!({"title": "mine"})),
            Precondition::Auto,
        )
        .unwrap();
    d.drain();
    let stored = d.persisted.outbox.values().next().expect("persisted entry");
    assert_eq!(stored.base, Some(BASE()));
    let text = serde_json::to_string(stored).unwrap();
    let back: tether_core::PendingMutation = serde_json::from_str(&text).unwrap();
    assert_eq!(back.base, Some(BASE()));
    // Entries written by builds without `base` still read.
    let old = r#"{"mutation_id":1,"channel":"tasks","op":"patch","id":"w","base_version":1,"doc":{"title":"x"}}"#;
    let old: tether_core::PendingMutation = serde_json::from_str(old).unwrap();
    assert_eq!(old.base, None);
}
