//! Unsubscribing while a subscribe is unanswered, then subscribing again with another
//! filter: the first answer is not mistaken for the second.

use crate::common::{doc, reset, Driver};
use tether_core::Config;
use tether_protocol::json;
use tether_protocol::{ClientMessage, Filter, ServerMessage};

#[test]
fn an_obsolete_answer_is_skipped() {
    let mut d = Driver::new(Config::default());
    let first = d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.engine.unsubscribe(d.now, first).unwrap();
    let todo = Filter::parse(&json!({"field": "s", "op": "eq", "value": "todo"})).unwrap();
    let view = d.engine.subscribe(d.now, "tasks", Some(todo)).unwrap();
    let sent = d.sent();
    assert!(matches!(
        &sent[..],
        [
            ClientMessage::Unsubscribe { .. },
            ClientMessage::Subscribe {
                filter: Some(_),
                ..
            }
        ]
    ));
    // The server answers in order: the unfiltered subscribe, the unsubscribe, the new one.
    d.server(reset("tasks", 5, vec![doc("a", 1, json!({"s": "done"}))]));
    assert!(!d.engine.is_live("tasks"));
    d.server(ServerMessage::Unsubscribed {
        channel: "tasks".into(),
    });
    d.server(reset("tasks", 5, vec![doc("b", 1, json!({"s": "todo"}))]));
    assert!(d.engine.is_live("tasks"));
    let ids: Vec<&str> = d
        .engine
        .confirmed("tasks")
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(ids, vec!["b"]);
    assert_eq!(d.engine.view(view).unwrap().len(), 1);
}
