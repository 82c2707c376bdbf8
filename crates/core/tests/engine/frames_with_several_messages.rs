//! A frame may carry several messages separated by `\n` (the `tether-lines` subprotocol): each
//! is handled in order, duplicates inside the frame are dropped, a bad message is counted and
//! skipped without losing its neighbours, and the whole frame makes one change-set.

use crate::common::{changes, reset, upsert, Driver};
use tether_core::Config;
use tether_protocol::codec;
use tether_protocol::json;

#[test]
fn every_message_of_a_joined_frame_is_applied_once() {
    let mut d = Driver::new(Config {
        flush_interval_ms: 16,
        ..Config::default()
    });
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 0, vec![]));
    d.advance(100);
    d.drain();
    let e1 = codec::encode_server(&upsert("tasks", 1, 0, "a", 1, json!({"n": 1}), None));
    let e2 = codec::encode_server(&upsert("tasks", 2, 1, "b", 1, json!({"n": "x\ny"}), None));
    let e3 = codec::encode_server(&upsert("tasks", 3, 2, "a", 2, json!({"n": 3}), None));
    let frame = format!("{e1}\n{e2}\n{e2}\n{{not json\n{e3}\n");
    d.engine.handle_message(d.now, frame.as_bytes());
    let out = d.advance(200);
    let sets = changes(&out);
    assert_eq!(sets.len(), 1, "one change-set for the frame");
    let docs: Vec<_> = sets[0]
        .upserts
        .iter()
        .map(|u| (u.id.as_str(), u.doc.clone()))
        .collect();
    assert_eq!(
        docs,
        vec![("a", json!({"n": 3})), ("b", json!({"n": "x\ny"}))]
    );
    let c = d.engine.status().counters;
    assert_eq!(c.frames_received, 3, "welcome, reset, the joined frame");
    assert_eq!(c.events_received, 4);
    assert_eq!(c.events_deduped, 1);
    assert_eq!(c.decode_errors, 1);
    assert_eq!(d.engine.cursor("tasks").unwrap().offset, 3);
}
