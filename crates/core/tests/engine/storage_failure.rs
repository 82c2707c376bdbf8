//! The write barrier inside the engine: a `mutate` frame leaves only once the write batch with
//! its outbox entry is durable (frames behind it wait, in order); a batch that fails withdraws
//! its mutations (rolled back, reported once as a storage rejection) and their frames are never
//! sent, now or after a reconnect.

use crate::common::{doc, reset, sent_of, Driver};
use tether_core::{Config, MutationOutcome, Output, Precondition, Rejection};
use tether_protocol::json;
use tether_protocol::{ClientMessage, Op};

fn ready(manual: bool) -> (Driver, tether_core::ViewId) {
    let mut d = Driver::new(Config {
        flush_interval_ms: 0,
        ..Config::default()
    });
    let view = d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 1, vec![doc("t1", 1, json!({"n": 1}))]));
    d.drain();
    d.manual_writes = manual;
    (d, view)
}

fn patch(d: &mut Driver, n: i64) -> u64 {
    d.engine
        .mutate(
            d.now,
            "tasks",
            Op::Patch,
            "t1",
            Some(json!({ "n": n })),
            Precondition::Auto,
        )
        .unwrap()
}

fn mutates(out: &[Output]) -> Vec<u64> {
    sent_of(out)
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::Mutate { mutation_id, .. } => Some(mutation_id),
            _ => None,
        })
        .collect()
}

#[test]
fn a_mutate_frame_waits_for_its_write_and_frames_behind_it_wait_too() {
    let (mut d, view) = ready(true);
    let id = patch(&mut d, 2);
    d.engine.request(d.now, "time", json!(null)).unwrap();
    let out = d.drain();
    assert!(out.contains(&Output::WriteReady));
    assert!(
        sent_of(&out).is_empty(),
        "nothing leaves before the write: {out:?}"
    );
    assert_eq!(
        d.engine.view(view).unwrap()[0].doc,
        json!({"n": 2}),
        "shown at once"
    );
    // A second mutation made while the first batch is in flight goes in the next batch.
    let id2 = patch(&mut d, 3);
    assert!(sent_of(&d.drain()).is_empty());
    d.finish_write();
    let out = d.drain();
    let sent = sent_of(&out);
    assert!(matches!(sent[0], ClientMessage::Mutate { mutation_id, .. } if mutation_id == id));
    assert!(
        matches!(sent[1], ClientMessage::Request { .. }),
        "in order: {sent:?}"
    );
    assert_eq!(
        sent.len(),
        2,
        "the second mutation waits for its own batch: {sent:?}"
    );
    assert!(d.in_flight.is_some(), "the next batch was handed out");
    d.finish_write();
    assert_eq!(mutates(&d.drain()), vec![id2]);
    assert!(!d.engine.writes_pending());
}

#[test]
fn a_failed_batch_withdraws_its_mutations_and_never_sends_them() {
    let (mut d, view) = ready(true);
    let id = patch(&mut d, 2);
    d.drain();
    d.fail_next_write = Some("QuotaExceededError".into());
    d.finish_write();
    let out = d.drain();
    assert!(mutates(&out).is_empty(), "withdrawn, not sent: {out:?}");
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
    assert!(!d.engine.storage_ok());
    assert!(
        !d.engine.storage_failed(d.now, id, "again"),
        "reported once"
    );

    // A reconnect resends the outbox: the withdrawn mutation is not in it.
    d.manual_writes = false;
    d.finish_write();
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
    // The next write that succeeds clears the storage warning.
    patch(&mut d, 4);
    d.drain();
    assert!(d.engine.storage_ok());
}

#[test]
fn frames_held_when_the_socket_drops_are_not_sent_on_the_next_one() {
    let (mut d, _) = ready(true);
    let id = patch(&mut d, 2);
    d.drain();
    d.engine.socket_closed(d.now, 1006);
    d.finish_write();
    assert!(mutates(&d.drain()).is_empty(), "no socket to send on");
    // After the reconnect the outbox (now durable) is sent once.
    d.manual_writes = false;
    d.now += 60_000;
    d.engine.handle_timeout(d.now);
    let resent = d.connect_ready();
    let mut all = mutates(&d.drain());
    all.extend(resent.iter().filter_map(|m| match m {
        ClientMessage::Mutate { mutation_id, .. } => Some(*mutation_id),
        _ => None,
    }));
    assert_eq!(all, vec![id]);
}

#[test]
fn frames_that_need_no_write_leave_at_once() {
    let (mut d, _) = ready(true);
    // A cache write is pending, but a request needs nothing durable.
    d.engine.request(d.now, "time", json!(null)).unwrap();
    let sent = sent_of(&d.drain());
    assert!(
        matches!(sent[..], [ClientMessage::Request { .. }]),
        "{sent:?}"
    );
}
