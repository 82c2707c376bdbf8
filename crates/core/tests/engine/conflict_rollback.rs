//! A rejected mutation is rolled back alone, later pending edits stay, and the app gets a
//! typed conflict with both sides.

use crate::common::{changes, doc, reset, Driver};
use tether_core::{Config, MutationOutcome, Output, Precondition, Rejection};
use tether_protocol::json;
use tether_protocol::{ClientMessage, Op, RejectReason, ServerMessage};

#[test]
fn conflict_rolls_back_only_that_mutation() {
    let mut d = Driver::new(Config::default());
    let view = d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset(
        "tasks",
        2,
        vec![
            doc("t1", 1, json!({"title": "a", "status": "todo"})),
            doc("t2", 1, json!({"title": "b"})),
        ],
    ));
    let m1 = d
        .engine
        .mutate(
            d.now,
            "tasks",
            Op::Patch,
            "t1",
            Some(json!({"status": "doing"})),
            Precondition::Auto,
        )
        .unwrap();
    let m2 = d
        .engine
        .mutate(
            d.now,
            "tasks",
            Op::Patch,
            "t2",
            Some(json!({"title": "B"})),
            Precondition::Auto,
        )
        .unwrap();
    let sent = d.sent();
    assert!(matches!(
        sent[..],
        [
            ClientMessage::Mutate {
                base_version: Some(1),
                ..
            },
            ClientMessage::Mutate { .. }
        ]
    ));
    let shown = |d: &Driver, id: &str| {
        d.engine
            .view(view)
            .unwrap()
            .into_iter()
            .find(|v| v.id == id)
            .map(|v| v.doc.clone())
    };
    assert_eq!(
        shown(&d, "t1"),
        Some(json!({"title": "a", "status": "doing"}))
    );

    let current = doc("t1", 2, json!({"title": "a", "status": "done"}));
    d.server(ServerMessage::Reject {
        mutation_id: m1,
        reason: RejectReason::Conflict,
        current: Some(current.clone()),
        message: "stale".into(),
    });
    let out = d.drain();
    // The conflict comes first and the rollback is flushed with it, without waiting.
    let first = out
        .iter()
        .position(|o| matches!(o, Output::Mutation(_)))
        .unwrap();
    let Output::Mutation(MutationOutcome::Conflict(c)) = &out[first] else {
        panic!("{out:?}");
    };
    assert_eq!(c.mutation.mutation_id, m1);
    assert_eq!(c.local, Some(json!({"title": "a", "status": "doing"})));
    assert_eq!(c.server_current, Some(current));
    let sets = changes(&out[first..]);
    assert_eq!(sets.len(), 1, "{out:?}");
    let ids: Vec<&str> = sets[0].upserts.iter().map(|u| u.id.as_str()).collect();
    assert!(ids.contains(&"t1"));
    assert_eq!(
        shown(&d, "t1"),
        Some(json!({"title": "a", "status": "todo"}))
    );
    assert_eq!(shown(&d, "t2"), Some(json!({"title": "B"})));
    assert_eq!(
        d.engine.outbox().map(|m| m.mutation_id).collect::<Vec<_>>(),
        vec![m2]
    );
    assert_eq!(
        d.persisted.outbox.keys().copied().collect::<Vec<_>>(),
        vec![m2]
    );
}

#[test]
fn other_rejections_are_typed() {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 0, vec![]));
    let m = d
        .engine
        .mutate(
            d.now,
            "tasks",
            Op::Delete,
            "nope",
            None,
            Precondition::Unconditional,
        )
        .unwrap();
    d.drain();
    d.server(ServerMessage::Reject {
        mutation_id: m,
        reason: RejectReason::NotFound,
        current: None,
        message: "no such document".into(),
    });
    let out = d.drain();
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Mutation(MutationOutcome::Rejected {
            reason: Rejection::NotFound { .. },
            ..
        })
    )));
    assert_eq!(d.engine.status().pending_mutations, 0);
}
