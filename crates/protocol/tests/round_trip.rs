//! Property: every message encodes to a frame that decodes to the same message.

mod support;

use proptest::prelude::*;
use serde_json::{json, Value};
use support::{client_message, server_message};
use tether_protocol::{codec, ClientMessage, ErrorCode, Op, RejectReason, ServerMessage};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn client_messages_round_trip(msg in client_message()) {
        let frame = codec::encode_client(&msg);
        prop_assert_eq!(codec::decode_client(frame.as_bytes()), Ok(msg));
    }

    #[test]
    fn server_messages_round_trip(msg in server_message()) {
        let frame = codec::encode_server(&msg);
        prop_assert_eq!(codec::decode_server(frame.as_bytes()), Ok(msg));
    }
}

#[test]
fn frames_carry_the_documented_wire_names() {
    let frame = codec::encode_server(&ServerMessage::Error {
        code: ErrorCode::RateLimited,
        message: "slow down".into(),
        channel: None,
        mutation_id: Some(7),
        request_id: None,
        retry_after_ms: Some(250),
    });
    let value: Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(
        value,
        json!({"type": "error", "code": "RATE_LIMITED", "message": "slow down",
               "mutation_id": 7, "retry_after_ms": 250})
    );
    let mutate = codec::decode_client(
        br#"{"type":"mutate","mutation_id":1,"channel":"tasks","op":"patch","id":"t1","base_version":3,"doc":{"status":"doing"}}"#,
    )
    .unwrap();
    assert!(matches!(
        mutate,
        ClientMessage::Mutate {
            op: Op::Patch,
            base_version: Some(3),
            ..
        }
    ));
}

#[test]
fn unknown_codes_from_a_newer_peer_still_decode() {
    let msg =
        codec::decode_server(br#"{"type":"error","code":"SOMETHING_NEW","message":"x"}"#).unwrap();
    assert!(matches!(
        msg,
        ServerMessage::Error {
            code: ErrorCode::Unknown,
            ..
        }
    ));
    let msg =
        codec::decode_server(br#"{"type":"reject","mutation_id":1,"reason":"quota"}"#).unwrap();
    assert!(matches!(
        msg,
        ServerMessage::Reject {
            reason: RejectReason::Unknown,
            ..
        }
    ));
}
