//! A `reset` snapshot in pages: buffered until its last page, which replaces the view and sets
//! the cursor; a connection lost mid-snapshot keeps the old copy and cursor and starts over.

use crate::common::{changes, doc, reset, upsert, Driver};
use tether_core::{Config, Output};
use tether_protocol::json;
use tether_protocol::{ClientMessage, Continuity, Document, ServerMessage, Since};

fn first_page(offset: u64, docs: Vec<Document>) -> ServerMessage {
    ServerMessage::Subscribed {
        channel: "tasks".into(),
        epoch: "e1".into(),
        offset,
        continuity: Continuity::Reset,
        snapshot: Some(docs),
        more: true,
    }
}

fn page(offset: u64, docs: Vec<Document>, removed: &[&str], more: bool) -> ServerMessage {
    ServerMessage::Snapshot {
        channel: "tasks".into(),
        epoch: "e1".into(),
        offset,
        docs,
        removed: removed.iter().map(|s| (*s).to_owned()).collect(),
        more,
    }
}

fn ids(d: &Driver) -> Vec<String> {
    d.engine
        .confirmed("tasks")
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// A driver with a copy {old} at e1:3 that then reconnects and is answered in pages.
fn with_old_copy() -> Driver {
    with_old_copy_view().0
}

fn with_old_copy_view() -> (Driver, tether_core::ViewId) {
    let mut d = Driver::new(Config {
        flush_interval_ms: 0,
        ..Config::default()
    });
    let view = d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 3, vec![doc("old", 1, json!({}))]));
    d.drain();
    d.engine.socket_closed(d.now, 1001);
    d.drain();
    (d, view)
}

fn reconnect(d: &mut Driver) -> Vec<ClientMessage> {
    let mut opened = false;
    for _ in 0..600 {
        let to = d.now + 100;
        if d.advance(to).contains(&Output::OpenSocket) {
            opened = true;
            break;
        }
    }
    assert!(opened, "the engine reconnects");
    d.engine.socket_opened(d.now);
    d.drain();
    d.server(crate::common::welcome());
    d.sent()
}

#[test]
fn the_view_is_replaced_only_at_the_last_page() {
    let mut d = with_old_copy();
    reconnect(&mut d);
    d.server(first_page(
        10,
        vec![doc("a", 1, json!({})), doc("b", 1, json!({}))],
    ));
    let mut out = d.drain();
    out.extend(d.advance(d.now + 100));
    assert!(
        changes(&out).iter().all(|c| c.continuity.is_none()),
        "no continuity yet {out:?}"
    );
    assert_eq!(ids(&d), vec!["old"], "the shown copy is untouched");
    assert_eq!(d.engine.cursor("tasks").unwrap().offset, 3);
    // An event before the last page is not applied (the server sends none; it would be stale).
    d.server(page(11, vec![doc("c", 1, json!({}))], &["a"], true));
    d.server(page(12, vec![doc("b", 2, json!({"x": 1}))], &[], false));
    let mut out = d.drain();
    out.extend(d.advance(d.now + 100));
    let sets = changes(&out);
    assert!(
        !sets.is_empty(),
        "{out:?} {:?}",
        d.engine.confirmed("tasks")
    );
    assert_eq!(sets.last().unwrap().continuity, Some(Continuity::Reset));
    assert_eq!(ids(&d), vec!["b", "c"]);
    assert_eq!(d.engine.confirmed("tasks").unwrap()["b"].version, 2);
    assert_eq!(
        d.engine.cursor("tasks").unwrap(),
        &Since {
            epoch: "e1".into(),
            offset: 12
        }
    );
    // Events after it apply against the final offset.
    d.server(upsert("tasks", 13, 12, "d", 1, json!({}), None));
    assert_eq!(ids(&d), vec!["b", "c", "d"]);
}

#[test]
fn a_cut_mid_snapshot_keeps_the_old_copy_and_starts_over() {
    let mut d = with_old_copy();
    reconnect(&mut d);
    d.server(first_page(10, vec![doc("a", 1, json!({}))]));
    d.server(page(11, vec![doc("c", 1, json!({}))], &[], true));
    d.engine.socket_closed(d.now, 1006);
    d.drain();
    assert_eq!(ids(&d), vec!["old"]);
    assert_eq!(d.engine.cursor("tasks").unwrap().offset, 3);
    let sent = reconnect(&mut d);
    assert!(
        sent.iter().any(
            |m| matches!(m, ClientMessage::Subscribe { since: Some(s), .. }
            if s.offset == 3 && s.epoch == "e1")
        ),
        "resubscribes from the old cursor: {sent:?}"
    );
    // A stray page of the old answer finds no buffer.
    d.server(page(12, vec![doc("z", 1, json!({}))], &[], false));
    assert_eq!(ids(&d), vec!["old"]);
    d.server(first_page(12, vec![doc("a", 1, json!({}))]));
    d.server(page(12, vec![], &[], false));
    assert_eq!(ids(&d), vec!["a"]);
}

#[test]
fn an_unsubscribe_mid_snapshot_drops_its_pages_and_the_next_answer_counts() {
    let (mut d, view) = with_old_copy_view();
    reconnect(&mut d);
    d.server(first_page(10, vec![doc("a", 1, json!({}))]));
    d.engine.unsubscribe(d.now, view).unwrap();
    d.drain();
    // The rest of the abandoned snapshot changes nothing.
    d.server(page(11, vec![doc("c", 1, json!({}))], &[], false));
    d.engine.subscribe(d.now, "tasks", None).unwrap();
    let sent = d.sent();
    assert!(sent
        .iter()
        .any(|m| matches!(m, ClientMessage::Subscribe { .. })));
    // The answer to the new subscribe is taken (not skipped as a stale one).
    d.server(reset("tasks", 12, vec![doc("n", 1, json!({}))]));
    assert_eq!(ids(&d), vec!["n"]);
    assert_eq!(d.engine.cursor("tasks").unwrap().offset, 12);
}
