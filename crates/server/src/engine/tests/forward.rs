//! Requests forwarded to the app's backend: which methods leave, what the call carries, and
//! that every request gets exactly one `response` whatever the backend does.

use std::sync::Arc;

use serde_json::{json, Value};
use tether_protocol::{Json, ServerMessage};

use super::H;
use crate::engine::{
    ForwardConfig, ForwardOutcome, ServerConfig, TOO_MANY_REQUESTS, UPSTREAM_BAD_RESPONSE,
    UPSTREAM_STATUS, UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE,
};

fn forwarding(routes: &[(&str, &str)], fallback: Option<&str>) -> H {
    H::with(ServerConfig {
        forward: ForwardConfig {
            routes: routes
                .iter()
                .map(|(m, u)| ((*m).to_owned(), Arc::from(*u)))
                .collect(),
            fallback: fallback.map(Arc::from),
            timeout_ms: 1_000,
            max_in_flight: 2,
        },
        ..ServerConfig::default()
    })
}

fn request(id: u64, method: &str, body: Value) -> Value {
    json!({"type": "request", "id": id, "method": method, "body": body})
}

/// The `(id, body, error code)` of a response.
fn response(msg: &ServerMessage) -> (u64, Option<Json>, Option<String>) {
    match msg {
        ServerMessage::Response { id, body, error } => {
            (*id, body.clone(), error.as_ref().map(|e| e.code.clone()))
        }
        other => panic!("not a response: {other:?}"),
    }
}

#[test]
fn a_routed_method_becomes_one_call_carrying_the_caller_and_its_answer_is_relayed() {
    let mut h = forwarding(&[("approve", "http://127.0.0.1:9/approve")], None);
    let c = h.conn("c1");
    let got = h.call(c, request(7, "approve", json!({"task": "t1"})));
    assert!(
        got.is_empty(),
        "nothing is answered before the backend: {got:?}"
    );
    let call = h.e.poll_forward().expect("one call");
    assert!(h.e.poll_forward().is_none());
    assert_eq!(&*call.url, "http://127.0.0.1:9/approve");
    assert_eq!(call.timeout_ms, 1_000);
    let sent: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(
        sent,
        json!({"method": "approve", "body": {"task": "t1"}, "client_id": "c1", "sub": null,
               "request_id": 7})
    );
    h.e.handle_forward_result(
        h.now,
        call.id,
        ForwardOutcome::Answer(Json::from(json!({"ok": true}))),
    );
    let got = H::to(&h.drain(), c);
    assert_eq!(got.len(), 1);
    assert_eq!(
        response(&got[0]),
        (7, Some(Json::from(json!({"ok": true}))), None)
    );
    // A second outcome for the same call (a confused edge) answers nothing more.
    h.e.handle_forward_result(h.now, call.id, ForwardOutcome::Timeout);
    assert!(h.drain().is_empty());
}

#[test]
fn routes_override_builtins_and_the_fallback_comes_after_handlers() {
    let mut h = forwarding(
        &[("echo", "http://127.0.0.1:9/echo")],
        Some("http://127.0.0.1:9/any"),
    );
    let c = h.conn("c1");
    // `echo` has a route: it leaves.
    assert!(h.call(c, request(1, "echo", json!(1))).is_empty());
    assert_eq!(&*h.e.poll_forward().unwrap().url, "http://127.0.0.1:9/echo");
    // `time` is built in and has no route: answered here.
    let got = h.call(c, request(2, "time", Value::Null));
    assert_eq!(response(&got[0]).0, 2);
    assert!(response(&got[0]).2.is_none());
    assert!(h.e.poll_forward().is_none());
    // Anything else goes to the fallback.
    assert!(h.call(c, request(3, "report", Value::Null)).is_empty());
    assert_eq!(&*h.e.poll_forward().unwrap().url, "http://127.0.0.1:9/any");
}

#[test]
fn without_forwarding_an_unknown_method_is_still_unknown() {
    let mut h = H::new();
    let c = h.conn("c1");
    let got = h.call(c, request(1, "report", Value::Null));
    assert_eq!(response(&got[0]).2.as_deref(), Some("UNKNOWN_METHOD"));
    assert!(h.e.poll_forward().is_none());
}

#[test]
fn a_backend_that_does_not_answer_in_time_gives_upstream_timeout_once() {
    let mut h = forwarding(&[], Some("http://127.0.0.1:9/"));
    let c = h.conn("c1");
    h.call(c, request(4, "slow", Value::Null));
    let call = h.e.poll_forward().unwrap();
    assert_eq!(h.e.poll_timeout(), Some(h.now + 1_000));
    assert!(H::to(&h.advance(999), c).is_empty());
    let got = H::to(&h.advance(1), c);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(response(&got[0]), (4, None, Some(UPSTREAM_TIMEOUT.into())));
    // The answer arriving late is ignored: one response per request.
    h.e.handle_forward_result(h.now, call.id, ForwardOutcome::Answer(Json::Null));
    assert!(h.drain().is_empty());
}

#[test]
fn backend_failures_become_typed_errors_and_an_app_code_is_relayed() {
    let mut h = forwarding(&[], Some("http://127.0.0.1:9/"));
    let c = h.conn("c1");
    let cases = [
        (
            ForwardOutcome::Unavailable("connection refused".into()),
            UPSTREAM_UNAVAILABLE,
        ),
        (
            ForwardOutcome::BadResponse("not JSON".into()),
            UPSTREAM_BAD_RESPONSE,
        ),
        (
            ForwardOutcome::Status {
                status: 500,
                body: None,
            },
            UPSTREAM_STATUS,
        ),
        (
            // Not a valid app code (lower case): UPSTREAM_STATUS.
            ForwardOutcome::Status {
                status: 400,
                body: Some(Json::from(json!({"code": "bad", "message": "m"}))),
            },
            UPSTREAM_STATUS,
        ),
        (
            ForwardOutcome::Status {
                status: 422,
                body: Some(Json::from(
                    json!({"code": "TASK_LOCKED", "message": "someone else has it"}),
                )),
            },
            "TASK_LOCKED",
        ),
        (ForwardOutcome::Timeout, UPSTREAM_TIMEOUT),
    ];
    for (i, (outcome, code)) in cases.into_iter().enumerate() {
        let id = i as u64 + 10;
        h.call(c, request(id, "m", Value::Null));
        let call = h.e.poll_forward().unwrap();
        h.e.handle_forward_result(h.now, call.id, outcome);
        let got = H::to(&h.drain(), c);
        assert_eq!(got.len(), 1);
        let (got_id, body, got_code) = response(&got[0]);
        assert_eq!((got_id, body, got_code.as_deref()), (id, None, Some(code)));
        if code == "TASK_LOCKED" {
            let ServerMessage::Response { error: Some(e), .. } = &got[0] else {
                unreachable!()
            };
            assert_eq!(e.message, "someone else has it");
        }
    }
}

#[test]
fn a_connection_may_have_only_so_many_requests_waiting() {
    let mut h = forwarding(&[], Some("http://127.0.0.1:9/"));
    let c = h.conn("c1");
    assert!(h.call(c, request(1, "m", Value::Null)).is_empty());
    assert!(h.call(c, request(2, "m", Value::Null)).is_empty());
    let got = h.call(c, request(3, "m", Value::Null));
    assert_eq!(response(&got[0]), (3, None, Some(TOO_MANY_REQUESTS.into())));
    let first = h.e.poll_forward().unwrap();
    assert!(h.e.poll_forward().is_some());
    assert!(h.e.poll_forward().is_none(), "the refused one was not sent");
    // Once one is answered, there is room again.
    h.e.handle_forward_result(h.now, first.id, ForwardOutcome::Answer(Json::Null));
    h.drain();
    assert!(h.call(c, request(4, "m", Value::Null)).is_empty());
    assert!(h.e.poll_forward().is_some());
}

#[test]
fn a_closed_connection_forgets_its_calls() {
    let mut h = forwarding(&[], Some("http://127.0.0.1:9/"));
    let c = h.conn("c1");
    h.call(c, request(1, "m", Value::Null));
    let call = h.e.poll_forward().unwrap();
    h.e.disconnect(h.now, c);
    h.e.handle_forward_result(h.now, call.id, ForwardOutcome::Answer(Json::Null));
    assert!(h.drain().is_empty());
    // Its deadline passes without an answer to anyone.
    assert!(h.advance(2_000).is_empty());
    let d = h.conn("c2");
    h.call(d, request(1, "m", Value::Null));
    assert!(h.e.poll_forward().is_some());
}
