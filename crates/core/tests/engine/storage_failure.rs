//! A mutation the shell could not store durably is withdrawn: rolled back, reported once as a
//! storage rejection, and never sent again.

use crate::common::{doc, reset, sent_of, Driver};
use serde_json::json;
use tether_core::{Config, MutationOutcome, Output, Precondition, Rejection};
use tether_protocol::{ClientMessage, Op};

#[test]
fn failed_outbox_write_rolls_back_and_is_never_sent() {
    let mut d = Driver::new(Config {
        flush_interval_ms: 0,
        ..Config::default()
    });
    let view = d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 1, vec![doc("t1", 1, json!({"n": 1}))]));
    d.drain();

    let id = d
        .engine
        .mutate(
            d.now,
            "tasks",
            Op::Patch,
            "t1",
            Some(json!({"n": 2})),
            Precondition::Auto,
        )
        .unwrap();
    d.drain();
    assert_eq!(d.engine.view(view).unwrap()[0].doc, json!({"n": 2}));

    assert!(d.engine.storage_failed(d.now, id, "QuotaExceededError"));
    let out = d.drain();
    let outcome = out.iter().find_map(|o| match o {
        Output::Mutation(outcome) => Some(outcome.clone()),
        _ => None,
    });
    match outcome {
        Some(MutationOutcome::Rejected {
            mutation,
            reason: Rejection::Storage { message },
        }) => {
            assert_eq!(mutation.mutation_id, id);
            assert_eq!(message, "QuotaExceededError");
        }
        other => panic!("expected a storage rejection, got {other:?}"),
    }
    let view_doc = &d.engine.view(view).unwrap()[0];
    assert_eq!(view_doc.doc, json!({"n": 1}), "rolled back");
    assert!(!view_doc.pending);
    assert_eq!(d.engine.status().pending_mutations, 0);
    assert!(
        !d.engine.storage_failed(d.now, id, "again"),
        "reported once"
    );

    // A reconnect resends the outbox: the withdrawn mutation is not in it.
    d.engine.socket_closed(d.now, 1006);
    d.now += 60_000;
    d.engine.handle_timeout(d.now);
    let resent = d.connect_ready();
    assert!(
        !resent
            .iter()
            .chain(sent_of(&d.drain()).iter())
            .any(|m| matches!(m, ClientMessage::Mutate { .. })),
        "withdrawn mutation was sent: {resent:?}"
    );
}
