//! The stored text of persisted state (`tether_core::stored`, no serde) reads back to the same
//! state, is the same JSON value serde wrote for these types in earlier builds, and reads the
//! rows those builds stored.

use tether_core::SortedMap;

use tether_core::stored::{document_from_json_text, document_to_json_text};
use tether_core::{CachedChannel, PendingMutation, PersistedState, StoredError};
use tether_protocol::{json, Document, Json, Op, Since};

fn mutation(id: u64, op: Op, base_version: Option<u64>, base: Option<Json>) -> PendingMutation {
    PendingMutation {
        mutation_id: id,
        channel: "tasks".into(),
        op,
        id: format!("t{id}"),
        base_version,
        doc: (op != Op::Delete).then(
            || json!({"title": "é \"q\" \\ \n", "n": [1, -0.0, 1.5e300, 9007199254740991u64]}),
        ),
        base,
    }
}

fn state() -> PersistedState {
    let doc = Document {
        id: "a".into(),
        version: 3,
        doc: json!({"status": "todo", "x": 121.44729141098199}),
    };
    PersistedState {
        client_id: "c-1".into(),
        last_mutation_id: 9,
        outbox: [
            mutation(4, Op::Put, Some(0), None),
            mutation(5, Op::Patch, None, Some(json!({"title": "before"}))),
            mutation(9, Op::Delete, Some(2), None),
        ]
        .into_iter()
        .map(|m| (m.mutation_id, m))
        .collect(),
        channels: SortedMap::from([
            (
                "tasks".into(),
                CachedChannel {
                    documents: SortedMap::from([("a".into(), doc)]),
                    cursor: Some(Since {
                        epoch: "ep".into(),
                        offset: 12,
                    }),
                    filter_key: String::new(),
                },
            ),
            ("empty".into(), CachedChannel::default()),
        ]),
    }
}

#[test]
fn persisted_state_round_trips_through_its_stored_text() {
    let s = state();
    let text = s.to_json_text();
    assert_eq!(PersistedState::from_json_text(&text), Ok(s.clone()));
    for m in s.outbox.values() {
        assert_eq!(
            PendingMutation::from_json_text(&m.to_json_text()),
            Ok(m.clone())
        );
    }
    let doc = &s.channels["tasks"].documents["a"];
    assert_eq!(
        document_from_json_text(&document_to_json_text(doc)),
        Ok(doc.clone())
    );
}

#[test]
fn stored_text_is_the_json_serde_wrote() {
    let s = state();
    let ours = Json::parse(&s.to_json_text()).unwrap();
    let serde_text = serde_json::to_string(&s).unwrap();
    assert_eq!(ours, Json::parse(&serde_text).unwrap());
    assert_eq!(PersistedState::from_json_text(&serde_text), Ok(s.clone()));
    for m in s.outbox.values() {
        let row = serde_json::to_string(m).unwrap();
        assert_eq!(PendingMutation::from_json_text(&row), Ok(m.clone()));
        assert_eq!(
            Json::parse(&m.to_json_text()).unwrap(),
            Json::parse(&row).unwrap()
        );
    }
}

#[test]
fn rows_of_earlier_builds_read_and_bad_rows_are_typed_errors() {
    // No `base` (older builds), unknown fields ignored.
    let row = r#"{"mutation_id":2,"channel":"c","op":"put","id":"d","base_version":null,"doc":{"a":1},"extra":true}"#;
    let m = PendingMutation::from_json_text(row).unwrap();
    assert_eq!(
        (m.mutation_id, m.op, m.base_version, m.base),
        (2, Op::Put, None, None)
    );
    assert!(matches!(
        PendingMutation::from_json_text("{"),
        Err(StoredError::Syntax { .. })
    ));
    assert_eq!(
        PendingMutation::from_json_text(r#"{"mutation_id":2,"channel":"c","op":"move","id":"d"}"#),
        Err(StoredError::Field { field: "op" })
    );
    assert_eq!(
        document_from_json_text(r#"{"id":"a","version":-1,"doc":{}}"#),
        Err(StoredError::Field { field: "version" })
    );
}
