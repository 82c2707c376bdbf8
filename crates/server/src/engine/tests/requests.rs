use serde_json::json;
use tether_protocol::{ResponseError, ServerMessage};

use super::H;

#[test]
fn builtin_time_and_echo() {
    let mut h = H::new();
    let c = h.conn("c");
    let got = h.call(c, json!({"type": "request", "id": 1, "method": "time"}));
    assert_eq!(
        got,
        vec![ServerMessage::Response {
            id: 1,
            body: Some(tether_protocol::Json::from(
                json!({"unix_ms": 1_700_000_000_000u64})
            )),
            error: None
        }]
    );
    let got = h.call(
        c,
        json!({"type": "request", "id": 2, "method": "echo", "body": [1, "x"]}),
    );
    assert_eq!(
        got,
        vec![ServerMessage::Response {
            id: 2,
            body: Some(tether_protocol::Json::from(json!([1, "x"]))),
            error: None
        }]
    );
}

#[test]
fn registered_handlers_and_unknown_methods() {
    let mut h = H::new();
    h.e.register_handler("whoami", |ctx, _| {
        Ok(tether_protocol::Json::from(json!(ctx.client_id)))
    });
    h.e.register_handler("fail", |_, _| {
        Err(ResponseError {
            code: "NOPE".into(),
            message: "no".into(),
        })
    });
    let c = h.conn("c9");
    let got = h.call(c, json!({"type": "request", "id": 5, "method": "whoami"}));
    assert!(matches!(&got[0], ServerMessage::Response { id: 5, body: Some(b), .. } if b == "c9"));
    let got = h.call(c, json!({"type": "request", "id": 6, "method": "fail"}));
    assert!(matches!(&got[0], ServerMessage::Response { error: Some(e), .. } if e.code == "NOPE"));
    let got = h.call(c, json!({"type": "request", "id": 7, "method": "missing"}));
    assert!(
        matches!(&got[0], ServerMessage::Response { id: 7, error: Some(e), .. } if e.code == "UNKNOWN_METHOD")
    );
}
