//! The app's own write is visible in the very next change-set, without waiting for the batch
//! interval; server events still wait for it (and are coalesced).

use crate::common::{doc, reset, Driver};
use tether_core::{Config, Output, Precondition};
use tether_protocol::json;
use tether_protocol::Op;

#[test]
fn own_write_is_flushed_at_once() {
    let mut d = Driver::new(Config::default()); // flush_interval_ms = 16
    let view = d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 1, vec![doc("t1", 1, json!({"n": 1}))]));
    d.now = 100;
    d.engine.handle_timeout(d.now);
    d.drain();

    d.engine
        .mutate(
            d.now,
            "tasks",
            Op::Patch,
            "t1",
            Some(json!({"n": 2})),
            Precondition::Auto,
        )
        .unwrap();
    let out = d.drain();
    let change = out.iter().find_map(|o| match o {
        Output::Changes(sets) => Some(sets.clone()),
        _ => None,
    });
    let sets = change.expect("a change-set right after mutate, at the same instant");
    assert_eq!(sets[0].view, view);
    assert_eq!(sets[0].upserts[0].doc, json!({"n": 2}));
    assert!(sets[0].upserts[0].pending);
}
