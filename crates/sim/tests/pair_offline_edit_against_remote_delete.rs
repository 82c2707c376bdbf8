//! Scripted with `Pair` (real client engines, real server engine, no hand-built frames): A
//! edits a document offline, B deletes it, A comes back. The conflict carries A's whole edited
//! body and its base, and re-applying A's intent re-creates the document for both.

use tether_core::{Config, MutationOutcome, Output, Precondition};
use tether_protocol::json;
use tether_protocol::Op;
use tether_server::ServerConfig;
use tether_sim::Pair;

fn shown(p: &mut Pair, i: usize, id: &str) -> Option<tether_protocol::Json> {
    p.client(i)
        .confirmed("tasks")
        .and_then(|docs| docs.get(id).map(|d| d.doc.clone()))
}

#[test]
fn the_edit_survives_a_remote_delete_and_mine_re_creates_it() {
    let mut p = Pair::new(ServerConfig::default());
    let a = p.add_client(Config::default(), "a");
    let b = p.add_client(Config::default(), "b");
    for i in [a, b] {
        let now = p.now;
        p.client(i).subscribe(now, "tasks", None).unwrap();
    }
    p.drive();
    let now = p.now;
    p.client(a)
        .mutate(
            now,
            "tasks",
            Op::Put,
            "w",
            Some(json!({"title": "draft", "n": 1})),
            Precondition::MustNotExist,
        )
        .unwrap();
    p.drive();
    assert_eq!(
        shown(&mut p, b, "w"),
        Some(json!({"title": "draft", "n": 1}))
    );

    // A goes offline and edits; B deletes meanwhile.
    let now = p.now;
    p.client(a).went_offline(now);
    p.drive();
    p.client(a)
        .mutate(
            now,
            "tasks",
            Op::Patch,
            "w",
            Some(json!({"title": "edited offline"})),
            Precondition::Auto,
        )
        .unwrap();
    p.client(b)
        .mutate(now, "tasks", Op::Delete, "w", None, Precondition::Auto)
        .unwrap();
    p.drive();
    assert_eq!(shown(&mut p, b, "w"), None);
    p.take_outputs(a, |_| None::<()>);

    let now = p.now;
    p.client(a).went_online(now);
    p.drive();
    let conflicts = p.take_outputs(a, |o| match o {
        Output::Mutation(MutationOutcome::Conflict(c)) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(conflicts.len(), 1, "one conflict");
    let c = &conflicts[0];
    assert_eq!(c.local, Some(json!({"title": "edited offline", "n": 1})));
    assert_eq!(c.base, Some(json!({"title": "draft", "n": 1})));
    assert_eq!(c.server_current, None);

    // "Mine": re-apply the intent, creating the document again.
    let now = p.now;
    p.client(a)
        .mutate(
            now,
            "tasks",
            Op::Put,
            "w",
            c.local.clone(),
            Precondition::MustNotExist,
        )
        .unwrap();
    p.drive();
    assert_eq!(
        shown(&mut p, b, "w"),
        Some(json!({"title": "edited offline", "n": 1}))
    );
    assert_eq!(shown(&mut p, a, "w"), shown(&mut p, b, "w"));
}
