//! A server that cannot read a queued mutation (e.g. an older server and an op it does not
//! know) answers `reject {mutation_id, reason: "invalid"}`: the SDK drops exactly that mutation
//! from its outbox (memory and persisted) and reports a typed rejection; the others stay queued.

use crate::common::{reset, welcome, Driver};
use tether_core::{Config, MutationOutcome, Output, Precondition, Rejection};
use tether_protocol::json;
use tether_protocol::{ClientMessage, Op, RejectReason, ServerMessage};

#[test]
fn reject_invalid_drops_the_queued_mutation_and_reports_it() {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 0, vec![]));
    let mut ids = Vec::new();
    for n in 0..2 {
        let id = d
            .engine
            .mutate(
                d.now,
                "tasks",
                Op::Put,
                &format!("t{n}"),
                Some(json!({"n": n})),
                Precondition::Unconditional,
            )
            .unwrap();
        ids.push(id);
    }
    let sent = d.sent();
    assert_eq!(
        sent.iter()
            .filter(|m| matches!(m, ClientMessage::Mutate { .. }))
            .count(),
        2,
        "{sent:?}"
    );
    assert_eq!(d.persisted.outbox.len(), 2);

    d.server(ServerMessage::Reject {
        mutation_id: ids[0],
        reason: RejectReason::Invalid,
        current: None,
        message: "not a valid mutate: unknown variant `put`".into(),
    });
    let out = d.drain();
    let reported: Vec<&Output> = out
        .iter()
        .filter(|o| matches!(o, Output::Mutation(_)))
        .collect();
    assert_eq!(reported.len(), 1, "{out:?}");
    match reported[0] {
        Output::Mutation(MutationOutcome::Rejected {
            mutation,
            reason: Rejection::Invalid { message },
        }) => {
            assert_eq!(mutation.mutation_id, ids[0]);
            assert!(message.contains("not a valid mutate"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        d.engine.outbox().map(|m| m.mutation_id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    assert_eq!(
        d.persisted.outbox.keys().copied().collect::<Vec<_>>(),
        vec![ids[1]]
    );
    assert_eq!(d.engine.status().pending_mutations, 1);
    // It is not sent again on the next connection; the other one is.
    d.engine.socket_closed(d.now, 1011);
    let out = d.advance(d.now + 120_000);
    assert!(out.contains(&Output::OpenSocket), "{out:?}");
    d.engine.socket_opened(d.now);
    assert!(matches!(d.sent()[..], [ClientMessage::Hello { .. }]));
    d.server(welcome());
    let resent = d.sent();
    let mids: Vec<u64> = resent
        .iter()
        .filter_map(|m| match m {
            ClientMessage::Mutate { mutation_id, .. } => Some(*mutation_id),
            _ => None,
        })
        .collect();
    assert_eq!(mids, vec![ids[1]]);
}
