//! A rate limiter may drop a `subscribe` with an error that does not say which frame it
//! dropped (no channel, or only the channel, which an `unsubscribe`, `broadcast` or `presence`
//! of that channel shares): the engine sends it again (identically) after `retry_after_ms`,
//! keeps answers attributable (when the views changed meanwhile, on a new connection), and as
//! a last resort replaces a connection whose subscribe stays unanswered.

use crate::common::{doc, reset, Driver};
use tether_core::{Config, ConnectionError, Output};
use tether_protocol::json;
use tether_protocol::{ClientMessage, ErrorCode, Filter, ServerMessage};

fn rate_limited(channel: Option<&str>) -> ServerMessage {
    ServerMessage::Error {
        code: ErrorCode::RateLimited,
        message: "too many messages; this frame was dropped".into(),
        channel: channel.map(str::to_owned),
        mutation_id: None,
        request_id: None,
        retry_after_ms: Some(500),
    }
}

#[test]
fn unattributed_drop_resends_the_pending_subscribe() {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    let sent = d.connect_ready();
    assert!(matches!(&sent[..], [ClientMessage::Subscribe { .. }]));
    d.server(rate_limited(None));
    assert!(d.sent().is_empty());
    let out = d.advance(d.now + 500);
    let again: Vec<_> = crate::common::sent_of(&out);
    assert_eq!(again, sent, "the identical subscribe again");
    // The original was not dropped after all: both answers arrive.
    d.server(reset("tasks", 1, vec![doc("a", 1, json!({}))]));
    assert!(d.engine.is_live("tasks"));
    d.server(reset(
        "tasks",
        2,
        vec![doc("a", 1, json!({})), doc("b", 1, json!({}))],
    ));
    assert_eq!(d.engine.cursor("tasks").unwrap().offset, 2);
    assert_eq!(d.engine.confirmed("tasks").unwrap().len(), 2);
}

#[test]
fn a_filter_change_waits_for_the_pending_answer() {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    let f = Filter::parse(&json!({"field": "s", "op": "eq", "value": 1})).unwrap();
    let view = d.engine.subscribe(d.now, "tasks", Some(f)).unwrap();
    assert!(d.sent().is_empty(), "one answer awaited at a time");
    d.server(reset("tasks", 3, vec![]));
    assert!(d.sent().is_empty(), "the union filter is still unfiltered");
    d.engine.unsubscribe(d.now, tether_core::ViewId(1)).unwrap();
    let sent = d.sent();
    assert!(
        matches!(
            &sent[..],
            [ClientMessage::Subscribe {
                filter: Some(_),
                since: None,
                ..
            }]
        ),
        "{sent:?}"
    );
    assert!(d.engine.view(view).is_ok());
}

#[test]
fn an_unanswered_subscribe_replaces_the_connection() {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    let out = d.advance(9_999);
    assert!(!out.iter().any(|o| matches!(o, Output::CloseSocket { .. })));
    let out = d.advance(10_000);
    assert!(out.iter().any(|o| matches!(o, Output::CloseSocket { .. })));
    assert_eq!(
        d.engine.status().last_error,
        Some(ConnectionError::SubscribeTimeout)
    );
}

#[test]
fn attributed_refusal_resubscribes_after_the_wait() {
    let mut d = Driver::new(Config::default());
    d.engine.subscribe(0, "tasks", None).unwrap();
    let sent = d.connect_ready();
    d.server(rate_limited(Some("tasks")));
    assert!(!d.engine.is_live("tasks"));
    let out = d.advance(d.now + 500);
    assert_eq!(crate::common::sent_of(&out), sent);
}

#[test]
fn a_new_filter_after_a_resent_subscribe_moves_to_a_new_connection() {
    let mut d = Driver::new(Config::default());
    let view = d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(rate_limited(None));
    d.advance(d.now + 500);
    d.server(reset("tasks", 0, vec![]));
    assert!(d.engine.is_live("tasks"));
    // An identical answer may still come, so a different filter needs a new connection.
    d.engine.unsubscribe(d.now, view).unwrap();
    let f = Filter::parse(&json!({"field": "s", "op": "eq", "value": 1})).unwrap();
    d.engine.subscribe(d.now, "tasks", Some(f)).unwrap();
    let out = d.drain();
    assert!(out.iter().any(|o| matches!(o, Output::CloseSocket { .. })));
    let at = d.engine.status().next_retry_at.unwrap();
    assert!(d.advance(at).contains(&Output::OpenSocket));
    d.engine.socket_opened(d.now);
    d.drain();
    d.server(crate::common::welcome());
    let sent = d.sent();
    assert!(
        matches!(
            &sent[..],
            [ClientMessage::Subscribe {
                filter: Some(_),
                since: None,
                ..
            }]
        ),
        "{sent:?}"
    );
}

#[test]
fn a_drop_naming_the_channel_after_the_views_changed_replaces_the_connection() {
    let mut d = Driver::new(Config::default());
    let all = d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 4, vec![doc("a", 1, json!({"s": 1}))]));
    assert!(d.engine.is_live("tasks"));
    // The views are replaced in one instant: unsubscribe, subscribe with the first new
    // filter, and the second new view changes the channel's filter while that is awaited.
    d.engine.unsubscribe(d.now, all).unwrap();
    let one = Filter::parse(&json!({"field": "s", "op": "eq", "value": 1})).unwrap();
    let two = Filter::parse(&json!({"field": "s", "op": "eq", "value": 2})).unwrap();
    d.engine.subscribe(d.now, "tasks", Some(one)).unwrap();
    let sent = d.sent();
    assert!(
        matches!(
            &sent[..],
            [
                ClientMessage::Unsubscribe { .. },
                ClientMessage::Subscribe {
                    filter: Some(_),
                    ..
                }
            ]
        ),
        "{sent:?}"
    );
    d.engine.subscribe(d.now, "tasks", Some(two)).unwrap();
    assert!(d.sent().is_empty(), "the new filter waits for the answer");
    // The limiter dropped the unsubscribe (or the subscribe: the error cannot say which).
    d.server(rate_limited(Some("tasks")));
    let out = d.advance(d.now + 500);
    assert!(
        !crate::common::sent_of(&out)
            .iter()
            .any(|m| matches!(m, ClientMessage::Subscribe { .. })),
        "no subscribe of the new filter that the first one's answer could be taken for: {out:?}"
    );
    assert!(
        out.iter().any(|o| matches!(o, Output::CloseSocket { .. })),
        "{out:?}"
    );
    // The first subscribe's answer, had it been sent, finds the connection gone.
    d.server(reset("tasks", 5, vec![doc("a", 1, json!({"s": 1}))]));
    assert!(!d.engine.is_live("tasks"));
    let at = d.engine.status().next_retry_at.unwrap();
    assert!(d.advance(at).contains(&Output::OpenSocket));
    d.engine.socket_opened(d.now);
    d.drain();
    d.server(crate::common::welcome());
    let sent = d.sent();
    assert!(
        matches!(
            &sent[..],
            [ClientMessage::Subscribe {
                filter: Some(_),
                since: None,
                ..
            }]
        ),
        "both filters, from a snapshot: {sent:?}"
    );
}
