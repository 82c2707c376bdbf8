//! By-id views (`subscribe.ids`): the channel is subscribed with the union of its by-id views'
//! ids; each view shows only its own ids, optimistic writes included (a write to an id outside
//! every view shows in none), and server events carry the kind the view sees.

use crate::common::{changes, doc, reset, upsert, Driver};
use tether_core::{Config, Precondition, ViewId};
use tether_protocol::{
    json, ClientMessage, ErrorCode, EventKind, IdSet, Json, Op, Selector, ServerMessage,
};

fn by_ids(ids: &[&str]) -> Selector {
    Selector {
        filter: None,
        ids: Some(IdSet::new(ids.iter().map(|s| s.to_string()).collect()).unwrap()),
    }
}

fn shown(d: &Driver, view: ViewId) -> Vec<String> {
    d.engine
        .view(view)
        .unwrap()
        .into_iter()
        .map(|doc| doc.id.clone())
        .collect()
}

fn subscribe_ids(sent: &[ClientMessage]) -> Vec<Option<Json>> {
    sent.iter()
        .filter_map(|m| match m {
            ClientMessage::Subscribe { ids, .. } => Some(ids.clone()),
            _ => None,
        })
        .collect()
}

/// Views of {t1} and {t2, t1}, live after a snapshot of t1 and t2.
fn ready() -> (Driver, ViewId, ViewId) {
    let mut d = Driver::new(Config::default());
    let one = d
        .engine
        .subscribe_selector(0, "tasks", by_ids(&["t1"]))
        .unwrap();
    let two = d
        .engine
        .subscribe_selector(0, "tasks", by_ids(&["t2", "t1"]))
        .unwrap();
    let sent = d.connect_ready();
    assert_eq!(subscribe_ids(&sent), vec![Some(json!(["t1", "t2"]))]);
    d.server(reset(
        "tasks",
        4,
        vec![doc("t1", 1, json!({"n": 1})), doc("t2", 1, json!({"n": 2}))],
    ));
    d.now = 100;
    d.engine.handle_timeout(d.now);
    d.drain();
    (d, one, two)
}

#[test]
fn each_by_id_view_shows_only_its_ids() {
    let (d, one, two) = ready();
    assert_eq!(shown(&d, one), vec!["t1"]);
    assert_eq!(shown(&d, two), vec!["t1", "t2"]);
}

#[test]
fn an_optimistic_write_shows_in_the_views_holding_its_id_only() {
    let (mut d, one, two) = ready();
    d.engine
        .mutate(
            d.now,
            "tasks",
            Op::Patch,
            "t2",
            Some(json!({"n": 3})),
            Precondition::Auto,
        )
        .unwrap();
    let sets = changes(&d.drain());
    assert!(sets.iter().all(|s| s.view != one), "{sets:?}");
    let mine = sets.iter().find(|s| s.view == two).expect("the view of t2");
    assert_eq!(mine.upserts.len(), 1);
    assert_eq!(mine.upserts[0].id, "t2");
    assert!(mine.upserts[0].pending);

    // A document outside every view's ids: in the channel's store, in no view.
    d.engine
        .mutate(
            d.now,
            "tasks",
            Op::Put,
            "t3",
            Some(json!({"n": 9})),
            Precondition::Auto,
        )
        .unwrap();
    let out = d.drain();
    let sets = changes(&out);
    assert!(sets.iter().all(|s| s.upserts.is_empty()), "{sets:?}");
    assert_eq!(shown(&d, one), vec!["t1"]);
    assert_eq!(shown(&d, two), vec!["t1", "t2"]);
    assert!(d.engine.visible("tasks").unwrap().get("t3").is_some());
    // Not authoritative for absent documents: a put of an unknown id is unconditional.
    let sent = crate::common::sent_of(&out);
    let put = sent.iter().find_map(|m| match m {
        ClientMessage::Mutate {
            id, base_version, ..
        } if id == "t3" => Some(*base_version),
        _ => None,
    });
    assert_eq!(put, Some(None));
}

#[test]
fn events_reach_the_views_of_their_id_with_their_kind() {
    let (mut d, one, two) = ready();
    d.server(upsert("tasks", 5, 4, "t2", 2, json!({"n": 5}), None));
    d.now = 200;
    d.engine.handle_timeout(d.now);
    let sets = changes(&d.drain());
    assert!(sets.iter().all(|s| s.view != one || s.events.is_empty()));
    let events: Vec<_> = sets
        .iter()
        .filter(|s| s.view == two)
        .flat_map(|s| s.events.iter().map(|e| (e.kind, e.id.clone())))
        .collect();
    assert_eq!(events, vec![(EventKind::Updated, "t2".to_string())]);
}

#[test]
fn a_view_without_ids_widens_the_subscription_and_closing_it_narrows_it() {
    let (mut d, _one, _two) = ready();
    let all = d.engine.subscribe(d.now, "tasks", None).unwrap();
    assert_eq!(subscribe_ids(&d.sent()), vec![None]);
    d.server(reset("tasks", 4, vec![doc("t3", 1, json!({}))]));
    d.drain();
    assert_eq!(shown(&d, all), vec!["t3"]);
    d.engine.unsubscribe(d.now, all).unwrap();
    assert_eq!(subscribe_ids(&d.sent()), vec![Some(json!(["t1", "t2"]))]);
}

#[test]
fn invalid_ids_answer_is_not_retried() {
    let (mut d, _one, _two) = ready();
    let _ = d.engine.subscribe_selector(d.now, "tasks", by_ids(&["t9"]));
    assert_eq!(
        subscribe_ids(&d.sent()),
        vec![Some(json!(["t1", "t2", "t9"]))]
    );
    d.server(ServerMessage::Error {
        code: ErrorCode::InvalidIds,
        message: "ids names too many documents".into(),
        channel: Some("tasks".into()),
        mutation_id: None,
        request_id: None,
        retry_after_ms: None,
    });
    let code = d.engine.status().last_error.map(|e| e.code());
    assert_eq!(code, Some("INVALID_IDS"));
    let out = d.advance(5_000);
    let resent: Vec<_> = crate::common::sent_of(&out);
    assert!(subscribe_ids(&resent).is_empty(), "{resent:?}");
}
